package main_test

// End-to-end tests in a real headless Chromium, across two origins: the
// example service provider (Demo-butikken) and the NemID launcher it frames.
// One `nemid serve --demo` serves every scenario, in order: anne-demo is
// activated and then logs on and signs; the cancel needs nobody; mette-demo
// is locked out, so she cannot disturb the others. Each scenario has a
// browser context of its own (no cookies from another).

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/nemid-dk/nemid/ooapi"
	"github.com/nemid-dk/nemid/ooapi/revocation"
)

// anneNewPassword is what anne-demo chooses at activation: letters and
// digits, none of her user-ids.
const anneNewPassword = "Solsikke42hus"

// TestE2E runs the scenarios in order on one server and one browser.
func TestE2E(t *testing.T) {
	e := startE2E(t)
	scenarios := []struct {
		name string
		run  func(*testing.T, *e2eEnv)
	}{
		{"activation", e2eActivation},
		{"logon", e2eLogon},
		{"wrong-code", e2eWrongCode},
		{"sign-text", e2eSignText},
		{"sign-html", e2eSignHTML},
		{"credential-update", e2eCredentialUpdate},
		{"cancel", e2eCancel},
		{"lockout", e2eLockout},
		{"unregistered-origin", e2eUnregisteredOrigin},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) { s.run(t, e) })
	}
	if t.Failed() {
		t.Logf("server output:\n%s", e.srv.output())
	}
}

// startLogon opens the shop and clicks "Log på med nøglekort".
func startLogon(b *tab) *client {
	b.t.Helper()
	b.open("/")
	b.click("login")
	return b.client()
}

// wantLoggedOn checks the shop's /me page after a logon: the PID NemID
// vouched for, a valid certificate, checked by OCSP.
func wantLoggedOn(b *tab, u *demoUser) {
	b.t.Helper()
	if pid := b.text("pid"); pid != u.pid {
		b.fail("/me shows PID %q, want %s's %s", pid, u.alias, u.pid)
	}
	if name := b.text("name"); name != u.name {
		b.t.Errorf("/me shows the name %q, want %q", name, u.name)
	}
	status := run(b, "reading #status", chromedp.AttributeValue(chromedp.ID("status"), "data-status"))
	method := run(b, "reading #revocation", chromedp.AttributeValue(chromedp.ID("revocation"), "data-method"))
	if status.Value != string(ooapi.Valid) || method.Value != "ocsp" {
		b.t.Errorf("/me: status %q by %q, want %s by ocsp", status.Value, method.Value, ooapi.Valid)
	}
}

// wantLogonResponse checks what the client handed to the shop: a signed
// response document that xmlsec1 accepts.
func wantLogonResponse(b *tab, answer []byte, u *demoUser) {
	b.t.Helper()
	b.e.checkSignedDocument(b.t, "the logon response", answer, u)
	if issuer := signedProperty(b.t, answer, "RequestIssuer"); issuer != "Demo-butikken" {
		b.t.Errorf("RequestIssuer %q, want Demo-butikken", issuer)
	}
	if action := signedProperty(b.t, answer, "action"); action != "logon" {
		b.t.Errorf("action %q, want logon", action)
	}
}

// e2eActivation: a new user's first logon with the temporary password and a
// key-card code, choosing a password (twice), ends logged on at the shop.
func e2eActivation(t *testing.T, e *e2eEnv) {
	anne := e.users["anne-demo"]
	b := e.newTab(t, "activation")
	c := startLogon(b)
	c.credentials(anne.alias, anne.password)
	key := c.challenge(anne)
	c.enterCode(anne.code(t, key))
	c.waitScreen("activate")
	c.typeInto("new-password", anneNewPassword)
	c.typeInto("repeat-password", anneNewPassword)
	b.screenshot("new-password")
	loggedOnBy(b, anne, func() { c.click("#activate-form button[type=submit]") })
	if v := e.r.userShow(e.db, anne.alias); v.State != "active" {
		t.Errorf("after activation %s is %q, want active", anne.alias, v.State)
	}
	anne.password, anne.active = anneNewPassword, true
}

// loggedOnBy does the last action of a logon and checks its end: the
// client says the user is logged on, the shop shows them on /me, and the
// response it handed over is theirs.
func loggedOnBy(b *tab, u *demoUser, lastAction func()) {
	b.t.Helper()
	end, answer := b.finish("done", lastAction)
	if want := "Logget på"; !strings.Contains(end, want) {
		b.t.Errorf("the client ends with %q, want %q", end, want)
	}
	b.do("waiting for /me", chromedp.WaitVisible(chromedp.ID("pid")))
	b.screenshot("me")
	wantLoggedOn(b, u)
	wantLogonResponse(b, answer, u)
}

// activeUser is a demo user the activation scenario activated; the
// scenarios run in order on one server, and these need its result.
func activeUser(t *testing.T, e *e2eEnv, alias string) *demoUser {
	t.Helper()
	u := e.users[alias]
	if !u.active {
		t.Fatalf("%s is not active: this scenario needs TestE2E/activation to have passed before it", alias)
	}
	return u
}

// e2eLogon: an active user logs on with user-id, password and key card, in
// a browser of their own (no session from before).
func e2eLogon(t *testing.T, e *e2eEnv) {
	anne := activeUser(t, e, "anne-demo")
	b := e.newTab(t, "logon")
	b.open("/")
	b.screenshot("shop")
	b.click("login")
	c := b.client()
	c.waitScreen("credentials")
	b.screenshot("credentials")
	c.credentials(anne.alias, anne.password)
	key := c.challenge(anne)
	code := anne.code(t, key)
	c.typeInto("code", code)
	b.screenshot("key-card")
	loggedOnBy(b, anne, func() { c.click("#otp-submit") })
}

// e2eWrongCode: a wrong code is refused with a message under the field and
// the client asks again; the right code then logs on. The user gives her
// NemID number this time, not her alias.
func e2eWrongCode(t *testing.T, e *e2eEnv) {
	anne := activeUser(t, e, "anne-demo")
	b := e.newTab(t, "wrong-code")
	c := startLogon(b)
	c.credentials(anne.nemid, anne.password)
	key := c.challenge(anne)
	right := anne.code(t, key)
	wrong := right[:5] + string('0'+(right[5]-'0'+1)%10)
	c.enterCode(wrong)
	msg := c.waitRetry("code")
	b.screenshot("retry")
	if msg == "" || strings.Contains(msg, right) {
		t.Errorf("the client's message after a wrong code: %q", msg)
	}
	if v := c.value("code"); v != "" {
		t.Errorf("the code field still holds %q after a wrong code", v)
	}
	key = c.challenge(anne)
	c.typeInto("code", anne.code(t, key))
	_, answer := b.finish("done", func() { c.click("#otp-submit") })
	b.do("waiting for /me", chromedp.WaitVisible(chromedp.ID("pid")))
	b.screenshot("me")
	wantLoggedOn(b, anne)
	wantLogonResponse(b, answer, anne)
}

// signFlow takes the client from the sign text to the signed response:
// the sign text is shown first, then user-id, password and code.
func signFlow(b *tab, u *demoUser) (signTextShown string, answer []byte) {
	b.t.Helper()
	c := b.client()
	c.waitScreen("signtext")
	signTextShown = c.signText()
	b.screenshot("sign-text")
	c.click("#signtext-continue")
	c.credentials(u.alias, u.password)
	key := c.challenge(u)
	c.typeInto("code", u.code(b.t, key))
	if got := c.text("otp-submit"); got != "Underskriv" {
		b.t.Errorf("the key-card screen of a signing offers %q, want Underskriv", got)
	}
	end, answer := b.finish("done", func() { c.click("#otp-submit") })
	if want := "Underskrevet"; !strings.Contains(end, want) {
		b.t.Errorf("the client ends with %q, want %q", end, want)
	}
	b.do("waiting for the signed page", chromedp.WaitVisible(chromedp.ID("signed")))
	return signTextShown, answer
}

// wantEvidence downloads the evidence the shop keeps and checks that it is
// the document the client handed over, signed by the user; ooapi, as any
// service provider would use it, finds it to be the agreement and not
// another text.
func wantEvidence(b *tab, answer []byte, u *demoUser, agreement, another ooapi.SignText) {
	b.t.Helper()
	name, doc := b.download("document-link")
	if !strings.HasSuffix(name, ".xml") {
		b.t.Errorf("the evidence downloads as %q, want an .xml file", name)
	}
	if !bytes.Equal(doc, answer) {
		b.t.Errorf("the evidence (%d bytes) is not the document the client handed over (%d bytes)", len(doc), len(answer))
	}
	if err := os.WriteFile(filepath.Join(b.e.artifacts, b.name+"-evidence.xml"), doc, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.e.checkSignedDocument(b.t, "the evidence", doc, u)
	if action := signedProperty(b.t, doc, "action"); action != "sign" {
		b.t.Errorf("the evidence's action is %q, want sign", action)
	}
	v := b.e.validator(b.t)
	response := base64.StdEncoding.EncodeToString(doc)
	res, err := v.Sign(context.Background(), "", response, agreement)
	if err != nil {
		b.t.Errorf("ooapi refuses the evidence as a signature of the agreement: %v", err)
	} else if res.Identity.PID != u.pid {
		b.t.Errorf("ooapi finds the evidence signed by PID %q, want %s", res.Identity.PID, u.pid)
	}
	var refused *ooapi.ValidationError
	if _, err := v.Sign(context.Background(), "", response, another); !errors.As(err, &refused) || refused.Reason != ooapi.SignTextMismatch {
		b.t.Errorf("ooapi validating the evidence against another text: %v, want %s", err, ooapi.SignTextMismatch)
	}
}

// validator is ooapi's validator for responses to the shop, trusting this
// installation's CA and asking its OCSP responder. It skips the challenge:
// the shop has used it up already.
func (e *e2eEnv) validator(t *testing.T) *ooapi.Validator {
	t.Helper()
	v, err := ooapi.NewValidator(ooapi.Config{Trust: exportedTrust(t, e.caDir), Revocation: &revocation.OCSP{},
		InsecureSkipChallenge: true, RequestIssuers: []string{"Demo-butikken"}})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// e2eSignText: the user edits the shop's order confirmation, signs it, and
// the shop shows it signed (after ooapi validated it against the text the
// shop kept); the evidence is the signed XML with exactly that text.
func e2eSignText(t *testing.T, e *e2eEnv) {
	anne := activeUser(t, e, "anne-demo")
	b := e.newTab(t, "sign-text")
	b.open("/")
	b.click("sign-text")
	text := "Ordrebekræftelse nr. 4711\nSolsikkefrø, 3 poser: 87,00 kr.\nJeg godkender købet."
	b.do("writing the text to sign",
		chromedp.WaitVisible(chromedp.ID("sign-text-input")),
		chromedp.Clear(chromedp.ID("sign-text-input")),
		chromedp.SendKeys(chromedp.ID("sign-text-input"), text))
	b.click("start-sign")
	shown, answer := signFlow(b, anne)
	if normalizeSpace(shown) != normalizeSpace(text) {
		t.Errorf("the client shows the sign text %q, want %q", shown, text)
	}
	b.screenshot("signed")
	if title := b.text("document-title"); title == "" {
		t.Error("the signed page names no document")
	}
	if got := signedProperty(t, answer, "signtext"); got != text {
		t.Errorf("the response signs the text %q, want %q", got, text)
	}
	wantEvidence(b, answer, anne, ooapi.PlainSignText(text), ooapi.PlainSignText(strings.Replace(text, "87,00", "8,70", 1)))
}

func normalizeSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

// e2eSignHTML: the shop's HTML agreement is shown in the client, signed,
// validated and kept.
func e2eSignHTML(t *testing.T, e *e2eEnv) {
	anne := activeUser(t, e, "anne-demo")
	b := e.newTab(t, "sign-html")
	b.open("/")
	b.click("sign-html")
	shown, answer := signFlow(b, anne)
	b.screenshot("signed")
	signed := signedProperty(t, answer, "signtext")
	if !strings.Contains(signed, "<") || !strings.Contains(strings.ToLower(signed), "<body") {
		t.Errorf("the response does not sign an HTML document:\n%.300s", signed)
	}
	if shown == "" || strings.Contains(shown, "<") {
		t.Errorf("the client shows the HTML agreement as %q, want it rendered", shown)
	}
	wantEvidence(b, answer, anne, ooapi.HTMLSignText(signed), ooapi.HTMLSignText(strings.Replace(signed, "14", "4", 1)))
}

// e2eCancel: the user cancels in the client (the ✕ of the limited mode);
// the shop is told CAN002 and shows its text.
// e2eCredentialUpdate: from her page, anne asks to change her password
// (the shop sends CREDENTIAL_UPDATE=PASSWORD); after the code the client
// asks for the current and a new password, and she is logged on again; the
// new password works from then on.
func e2eCredentialUpdate(t *testing.T, e *e2eEnv) {
	anne := activeUser(t, e, "anne-demo")
	b := e.newTab(t, "credential-update")
	b.open("/login?update=password")
	c := b.client()
	c.waitScreen("credentials")
	c.credentials(anne.alias, anne.password)
	key := c.challenge(anne)
	c.enterCode(anne.code(t, key))
	c.waitScreen("activate")
	if title := c.text("activate-title"); title != "Skift din adgangskode" {
		t.Errorf("the update screen says %q", title)
	}
	c.typeInto("current-password", anne.password)
	c.typeInto("new-password", anneChangedPassword)
	c.typeInto("repeat-password", anneChangedPassword)
	b.screenshot("update")
	loggedOnBy(b, anne, func() { c.click("#activate-form button[type=submit]") })
	anne.password = anneChangedPassword

	// The new password logs on.
	b2 := e.newTab(t, "credential-update-after")
	c2 := startLogon(b2)
	c2.credentials(anne.alias, anne.password)
	c2.challenge(anne)
}

// anneChangedPassword is anne's password after the credential update.
const anneChangedPassword = "Efteraar2026"

func e2eCancel(t *testing.T, e *e2eEnv) {
	b := e.newTab(t, "cancel")
	c := startLogon(b)
	c.waitScreen("credentials")
	end, answer := b.finish("done", func() { c.click("#close") })
	if string(answer) != "CAN002" {
		t.Errorf("the client answered %q, want CAN002", answer)
	}
	if want := ooapi.CAN002.Text(ooapi.DA); end != want {
		t.Errorf("the client ends with %q, want %q", end, want)
	}
	b.do("waiting for the shop's error page", chromedp.WaitVisible(chromedp.ID("error-code")))
	b.screenshot("shop")
	if code, text := b.text("error-code"), b.text("error-text"); code != "CAN002" || text != ooapi.CAN002.Text(ooapi.DA) {
		t.Errorf("the shop shows %q %q, want CAN002 %q", code, text, ooapi.CAN002.Text(ooapi.DA))
	}
}

// e2eLockout: wrong passwords are refused with a message until the fifth
// in a row locks the NemID for a while (LOCK001), told by the client and by
// the shop.
func e2eLockout(t *testing.T, e *e2eEnv) {
	mette := e.users["mette-demo"]
	b := e.newTab(t, "lockout")
	c := startLogon(b)
	c.waitScreen("credentials")
	c.typeInto("userid", mette.alias)
	for i := 1; i <= 4; i++ {
		c.typeInto("password", fmt.Sprintf("Forkert%d", i))
		c.click("#credentials-form button[type=submit]")
		if msg := c.waitRetry("password"); msg == "" {
			t.Errorf("wrong password %d: no message", i)
		}
	}
	b.screenshot("wrong-password")
	c.typeInto("password", "Forkert5")
	end, answer := b.finish("done", func() { c.click("#credentials-form button[type=submit]") })
	if string(answer) != "LOCK001" {
		t.Errorf("the client answered %q, want LOCK001", answer)
	}
	if want := ooapi.LOCK001.Text(ooapi.DA); end != want {
		t.Errorf("the client ends with %q, want %q", end, want)
	}
	b.do("waiting for the shop's error page", chromedp.WaitVisible(chromedp.ID("error-code")))
	b.screenshot("shop")
	if code := b.text("error-code"); code != "LOCK001" {
		t.Errorf("the shop shows %q, want LOCK001", code)
	}
	if v := e.r.userShow(e.db, mette.alias); v.State != "quarantined" {
		t.Errorf("after five wrong passwords %s is %q, want quarantined", mette.alias, v.State)
	}
}

// e2eUnregisteredOrigin: a page on an origin no service provider registered
// frames the launcher and posts real, validly signed parameters (made with
// the shop's own VOCES key). The browser refuses to show the launcher there
// (frame-ancestors), so no flow starts: no API call reaches the server, no
// credentials field can be reached, the page gets no message at all.
func e2eUnregisteredOrigin(t *testing.T, e *e2eEnv) {
	signer, err := readSPSignerFiles(e.data)
	if err != nil {
		t.Fatal(err)
	}
	var page []byte
	rogue := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	}))
	defer rogue.Close()
	ps, _, err := signer.Logon(ooapi.LogonOptions{ClientOptions: ooapi.ClientOptions{Origin: rogue.URL}})
	if err != nil {
		t.Fatal(err)
	}
	page = []byte(`<!DOCTYPE html><html lang="da"><head><meta charset="utf-8"><title>Ikke registreret</title></head><body>
<h1>A page on an origin no service provider registered</h1>
<iframe id="nemid_iframe" title="NemID" width="320" height="460" src="` + e.launcher + `/launcher/lmt/e2e"></iframe>
` + ps.ScriptElement() + `
<script>
window.received = [];
window.frameLoaded = false;
var frame = document.getElementById("nemid_iframe");
frame.addEventListener("load", function () { window.frameLoaded = true; });
window.addEventListener("message", function (event) {
  window.received.push(String(event.data));
  var message;
  try { message = JSON.parse(event.data); } catch (e) { return; }
  if (message.command === "SendParameters") {
    frame.contentWindow.postMessage(JSON.stringify({command: "parameters",
      content: document.getElementById("nemid_parameters").textContent}), "*");
  }
});
</script></body></html>`)

	pages, calls := e.httpCount(t, "GET /launcher/lmt/{random}"), e.httpCount(t, "POST /launcher/api/{step}")
	b := e.newTab(t, "unregistered-origin")
	// Collect what the browser says in the page's console meanwhile.
	consoleCtx, stopConsole := context.WithCancel(b.ctx)
	defer stopConsole()
	said := make(chan []string, 1)
	go func() {
		var lines []string
		for m, err := range chromedp.Console(consoleCtx) {
			if err != nil {
				break
			}
			lines = append(lines, m.Text)
		}
		said <- lines
	}()
	b.do("opening the page on the unregistered origin", chromedp.Navigate(rogue.URL))
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool]("window.frameLoaded", chromedp.WithPollingTimeout(e2eStepTimeout))); err != nil {
		b.fail("the iframe never finished loading: %v", err)
	}
	// Give a client that did run the time to ask for the parameters and to
	// call the server (a flow starts within milliseconds on this page).
	time.Sleep(2 * time.Second)
	b.screenshot("refused")

	if got := e.httpCount(t, "GET /launcher/lmt/{random}"); got != pages+1 {
		t.Errorf("the launcher page was requested %d times, want once (the browser must ask, then refuse to show it)", got-pages)
	}
	if got := e.httpCount(t, "POST /launcher/api/{step}"); got != calls {
		t.Errorf("%d calls of the client's API reached the server from a page on an unregistered origin", got-calls)
	}
	received := run(b, "reading the page's messages", chromedp.Evaluate[[]string]("window.received"))
	if len(received) != 0 {
		t.Errorf("the page on the unregistered origin got messages from the launcher: %q", received)
	}
	// Nothing of the launcher runs in the frame: the field the shop's
	// scenarios type into is not there.
	frame := run(b, "finding the iframe", chromedp.Nodes(chromedp.ID("nemid_iframe")))[0]
	ctx, cancel := context.WithTimeout(b.ctx, 3*time.Second)
	defer cancel()
	if found, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("userid") !== null`,
		chromedp.WithPollingInFrame(frame), chromedp.WithPollingTimeout(2*time.Second))); err == nil && found {
		t.Error("the launcher's user-id field is reachable in the frame of the unregistered page")
	}
	// The browser says why: the launcher's CSP does not list the origin.
	stopConsole()
	refused := false
	for _, line := range <-said {
		if strings.Contains(line, "frame-ancestors") {
			refused = true
			t.Logf("the browser said: %s", line)
		}
	}
	if !refused {
		t.Error("the browser's console does not say that frame-ancestors refused the launcher")
	}
}

// readSPSignerFiles reads the shop's VOCES and key from <data>/demo-sp.
func readSPSignerFiles(data string) (*ooapi.SPSigner, error) {
	certPEM, err := os.ReadFile(filepath.Join(data, "demo-sp", "sp.pem"))
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(filepath.Join(data, "demo-sp", "sp-key.pem"))
	if err != nil {
		return nil, err
	}
	return ooapi.ParseSPSigner(certPEM, keyPEM)
}
