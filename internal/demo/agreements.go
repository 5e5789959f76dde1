package demo

import (
	"strings"

	"github.com/nemid-dk/nemid/ooapi"
)

// maxSignTextRunes bounds the plain text a visitor may ask to sign.
const maxSignTextRunes = 16000

// agreement is a document the shop asked a user to sign: the SignText the
// parameters were built with, which the response must match exactly.
type agreement struct {
	text  ooapi.SignText
	title string
	// retry is the page that starts this signing again.
	retry string
}

// defaultSignText is the text the sign form starts with.
var defaultSignText = map[string]string{
	"da": `Ordrebekræftelse fra Demo-butikken

Jeg bestiller hermed:
  1 stk. Kaffekop i stentøj      129,00 kr.
  1 stk. Uldplaid                499,00 kr.
  Fragt                           39,00 kr.
  I alt                          667,00 kr.

Jeg har læst handelsbetingelserne og ved, at jeg har 14 dages fortrydelsesret.`,
	"en": `Order confirmation from Demo-butikken

I hereby order:
  1 Stoneware coffee cup       DKK 129.00
  1 Wool throw                 DKK 499.00
  Shipping                     DKK  39.00
  Total                        DKK 667.00

I have read the terms of sale and know that I may cancel within 14 days.`,
}

// htmlAgreement is the HTML agreement of /sign-html. It stays inside the
// client's whitelist (spec §2.2; ooapi.ValidateHTML), or the client would
// refuse it with APP002.
var htmlAgreement = map[string]struct{ title, doc string }{
	"da": {"Kundeaftale med Demo-butikken", `<html><head><title>Kundeaftale</title><style type="text/css">` +
		`h1 { font-size: 18px; color: #234; } td { padding: 4px; border-bottom: 1px solid #ccc; }` +
		`</style></head><body><h1>Kundeaftale med Demo-butikken</h1>` +
		`<p>Denne aftale gælder dit kundeforhold hos <b>Demo-butikken</b>.</p>` +
		`<table border="0" cellspacing="0" cellpadding="0" width="100%">` +
		`<tr><th align="left">Vilkår</th><th align="left">Indhold</th></tr>` +
		`<tr><td>Betaling</td><td>Netto 14 dage fra levering.</td></tr>` +
		`<tr><td>Levering</td><td>2–4 hverdage med posten.</td></tr>` +
		`<tr><td>Fortrydelsesret</td><td>14 dage fra modtagelsen.</td></tr></table>` +
		`<ul><li>Du kan opsige aftalen når som helst.</li><li>Vi gemmer den underskrevne aftale som dokumentation.</li></ul>` +
		`<p><i>Ved at underskrive bekræfter du, at du har læst og accepterer aftalen.</i></p></body></html>`},
	"en": {"Customer agreement with Demo-butikken", `<html><head><title>Customer agreement</title><style type="text/css">` +
		`h1 { font-size: 18px; color: #234; } td { padding: 4px; border-bottom: 1px solid #ccc; }` +
		`</style></head><body><h1>Customer agreement with Demo-butikken</h1>` +
		`<p>This agreement covers your customer relationship with <b>Demo-butikken</b>.</p>` +
		`<table border="0" cellspacing="0" cellpadding="0" width="100%">` +
		`<tr><th align="left">Term</th><th align="left">Content</th></tr>` +
		`<tr><td>Payment</td><td>Net 14 days from delivery.</td></tr>` +
		`<tr><td>Delivery</td><td>2–4 working days by post.</td></tr>` +
		`<tr><td>Right of cancellation</td><td>14 days from receipt.</td></tr></table>` +
		`<ul><li>You may end the agreement at any time.</li><li>We keep the signed agreement as evidence.</li></ul>` +
		`<p><i>By signing you confirm that you have read and accept the agreement.</i></p></body></html>`},
}

// plainAgreement checks a visitor's text and makes it an agreement. Line
// ends are made "\n": browsers send a textarea's as "\r\n".
func plainAgreement(text string) (agreement, string) {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	if strings.TrimSpace(text) == "" {
		return agreement{}, "error_text_empty"
	}
	if len([]rune(text)) > maxSignTextRunes {
		return agreement{}, "error_text_long"
	}
	title := strings.TrimSpace(strings.SplitN(strings.TrimSpace(text), "\n", 2)[0])
	if r := []rune(title); len(r) > 80 {
		title = string(r[:80]) + "…"
	}
	return agreement{text: ooapi.PlainSignText(text), title: title}, ""
}
