package demo

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/ooapi"
	"github.com/nemid-dk/nemid/ooapi/revocation"
)

const wantCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"frame-src http://idp.example:8080; form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'"

func TestPagesRenderWithCSP(t *testing.T) {
	sh := newShop(t, nil)
	b := sh.browser(t)
	for _, tc := range []struct {
		path   string
		status int
		ids    []string
	}{
		{"/", http.StatusOK, []string{`id="login"`, `id="sign-text"`, `id="sign-html"`, "Log på med nøglekort"}},
		{"/login", http.StatusOK, []string{`id="nemid_iframe"`, `id="nemid_parameters"`, `<script src="/static/sp.js">`}},
		{"/sign", http.StatusOK, []string{`id="sign-text-input"`, "Ordrebekræftelse"}},
		{"/sign-html", http.StatusOK, []string{`id="nemid_iframe"`, `action="/sign/response"`}},
		{"/me", http.StatusSeeOther, nil},
		{"/no-such-page", http.StatusNotFound, []string{`id="error-message"`}},
		{"/static/sp.js", http.StatusOK, []string{"changeResponseAndSubmit"}},
		{"/static/style.css", http.StatusOK, []string{"#nemid_iframe"}},
		{"/?lang=en", http.StatusOK, []string{`id="login"`, "Log on with key card", `lang="en"`}},
	} {
		p := b.get(tc.path)
		if p.status != tc.status {
			t.Errorf("GET %s: status %d, want %d", tc.path, p.status, tc.status)
		}
		if got := p.header.Get("Content-Security-Policy"); got != wantCSP {
			t.Errorf("GET %s: CSP %q, want %q", tc.path, got, wantCSP)
		}
		if p.header.Get("X-Content-Type-Options") != "nosniff" || p.header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("GET %s: missing nosniff or X-Frame-Options: %v", tc.path, p.header)
		}
		for _, id := range tc.ids {
			if !strings.Contains(p.body, id) {
				t.Errorf("GET %s: no %s in the page", tc.path, id)
			}
		}
		if strings.Contains(p.body, "style=") || strings.Contains(p.body, "<script>") {
			t.Errorf("GET %s: inline style or script, which the CSP blocks", tc.path)
		}
	}
	// The language chosen sticks in a cookie.
	if p := b.get("/"); !strings.Contains(p.body, "Log on with key card") {
		t.Error("the English choice was not remembered")
	}
}

func TestLoginParameters(t *testing.T) {
	sh := newShop(t, nil)
	b := sh.browser(t)
	fp := readFlowPage(t, b.get("/login"))
	if problems := ooapi.VerifyParameters(fp.params, testNow, ooapi.VerifyOptions{Origin: sh.srv.Origin()}); len(problems) > 0 {
		t.Fatalf("the parameters do not verify: %v", problems)
	}
	if got, _ := fp.params.Get(ooapi.ParamOrigin); got != sh.ts.URL {
		t.Errorf("ORIGIN %q, want the shop's origin %q", got, sh.ts.URL)
	}
	spCert, _ := fp.params.Get("SP_CERT")
	if spCert != base64.StdEncoding.EncodeToString(sh.pki.voces.cert.Raw) {
		t.Error("SP_CERT is not the shop's VOCES")
	}
	if got, _ := fp.params.Get(ooapi.ParamLanguage); got != "DA" {
		t.Errorf("LANGUAGE %q, want DA", got)
	}
	if !strings.HasPrefix(fp.frameSrc, testIdP+"/launcher/lmt/") || len(fp.frameSrc) <= len(testIdP+"/launcher/lmt/") {
		t.Errorf("iframe src %q, want %s/launcher/lmt/<random>", fp.frameSrc, testIdP)
	}
	if !strings.Contains(fp.raw.body, `data-origin="`+testIdP+`"`) {
		t.Error("the iframe does not name the launcher origin for sp.js")
	}
	if fp.action != "/login/response" {
		t.Errorf("form action %q", fp.action)
	}
	// Every load gets a new launcher URL and a new challenge.
	again := readFlowPage(t, b.get("/login"))
	if again.frameSrc == fp.frameSrc || again.challenge == fp.challenge {
		t.Error("a second load reused the launcher URL or the challenge")
	}
	// English pages start the client in English.
	en := readFlowPage(t, b.get("/login?lang=en"))
	if got, _ := en.params.Get(ooapi.ParamLanguage); got != "EN" {
		t.Errorf("LANGUAGE %q after ?lang=en, want EN", got)
	}
}

func TestClientErrorCodeConsumesTheChallenge(t *testing.T) {
	sh := newShop(t, nil)
	b := sh.browser(t)
	fp := readFlowPage(t, b.get("/login"))
	p := b.post("/login/response", url.Values{"csrf": {fp.csrf}, "response": {base64.StdEncoding.EncodeToString([]byte("CAN002"))}})
	if p.status != http.StatusOK {
		t.Fatalf("status %d", p.status)
	}
	if got := find(t, p.body, `<code id="error-code">([^<]*)</code>`); got != "CAN002" {
		t.Errorf("error code %q", got)
	}
	if got := find(t, p.body, `<span id="error-text">([^<]*)</span>`); got != ooapi.CAN002.Text(ooapi.DA) {
		t.Errorf("error text %q, want %q", got, ooapi.CAN002.Text(ooapi.DA))
	}
	// The challenge went with the error code: a good response to it now
	// finds none.
	good := sh.pki.respond(t, sh.pki.person, logonProps(testSPName, fp.challenge))
	p = b.post("/login/response", url.Values{"csrf": {fp.csrf}, "response": {good}})
	if p.status != http.StatusBadRequest || find(t, p.body, `<code id="error-reason">([^<]*)</code>`) != ooapi.NoChallenge.String() {
		t.Fatalf("a response after the error code: status %d:\n%s", p.status, p.body)
	}
	if me := b.get("/me"); me.status != http.StatusSeeOther {
		t.Error("logged on after all")
	}
}

func TestLogonShowsIdentityAndRefusesReplay(t *testing.T) {
	sh := newShop(t, nil)
	b := sh.browser(t)
	fp := readFlowPage(t, b.get("/login"))
	response := sh.pki.respond(t, sh.pki.person, logonProps(testSPName, fp.challenge))
	p := b.post("/login/response", url.Values{"csrf": {fp.csrf}, "response": {response}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/me" {
		t.Fatalf("logon: status %d, Location %q:\n%s", p.status, p.header.Get("Location"), p.body)
	}
	me := b.get("/me")
	if me.status != http.StatusOK {
		t.Fatalf("/me: status %d", me.status)
	}
	if got := find(t, me.body, `<dd id="pid">([^<]*)</dd>`); got != testPID {
		t.Errorf("PID %q, want %q", got, testPID)
	}
	if got := find(t, me.body, `<dd id="name">([^<]*)</dd>`); got != "Anne Sofie Jensen" {
		t.Errorf("name %q", got)
	}
	if got := find(t, me.body, `<dd id="status" data-status="([^"]*)"`); got != "valid" {
		t.Errorf("status %q", got)
	}
	if got := find(t, me.body, `<code>([0-9a-f]+)</code>`); got != sh.pki.person.cert.SerialNumber.Text(16) {
		t.Errorf("certificate serial %q", got)
	}
	if got := find(t, me.body, `data-method="([^"]*)"`); got != "none" || !strings.Contains(me.body, `class="warning"`) {
		t.Errorf("revocation %q shown without a warning", got)
	}
	if !strings.Contains(me.body, `id="logout"`) {
		t.Error("no log-out button")
	}
	if strings.Contains(me.body, `id="cpr-link"`) {
		t.Error("a CPR link without a CPR service")
	}

	// The remember-user-id token is kept for the next logon.
	next := readFlowPage(t, b.get("/login"))
	// (The token is passed on exactly as signed: still base64.)
	if got, _ := next.params.Get("REMEMBER_USERID"); got != base64.StdEncoding.EncodeToString([]byte("opaque-token-from-nemid")) {
		t.Errorf("REMEMBER_USERID %q, want the token of the last response", got)
	}

	// The same response again: its challenge is spent (the one of the new
	// /login differs), so it is refused, and a replay without any
	// outstanding challenge too.
	p = b.post("/login/response", url.Values{"csrf": {next.csrf}, "response": {response}})
	if p.status != http.StatusBadRequest || find(t, p.body, `<code id="error-reason">([^<]*)</code>`) != ooapi.ChallengeMismatch.String() {
		t.Errorf("replay against a new challenge: status %d:\n%s", p.status, p.body)
	}
	p = b.post("/login/response", url.Values{"csrf": {next.csrf}, "response": {response}})
	if p.status != http.StatusBadRequest || find(t, p.body, `<code id="error-reason">([^<]*)</code>`) != ooapi.NoChallenge.String() {
		t.Errorf("replay without a challenge: status %d:\n%s", p.status, p.body)
	}

	// Logging off ends the session.
	p = b.post("/logout", url.Values{"csrf": {csrfOf(t, b.get("/me"))}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("logout: status %d", p.status)
	}
	if b.get("/me").status != http.StatusSeeOther {
		t.Error("/me still shows the user after logging off")
	}
}

func TestLogonRenewsTheSession(t *testing.T) {
	sh := newShop(t, nil)
	b := sh.browser(t)
	fp := readFlowPage(t, b.get("/login"))
	before := sessionCookieOf(t, b)
	p := b.post("/login/response", url.Values{"csrf": {fp.csrf}, "response": {sh.pki.respond(t, sh.pki.person, logonProps(testSPName, fp.challenge))}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("logon: status %d", p.status)
	}
	if after := sessionCookieOf(t, b); after == before {
		t.Error("the session id was not changed at logon")
	}
	// The old id (planted before the logon) is worth nothing.
	stale := sh.browser(t)
	u, _ := url.Parse(sh.ts.URL)
	stale.c.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: before}})
	if stale.get("/me").status != http.StatusSeeOther {
		t.Error("the session id from before the logon is logged on")
	}
}

func sessionCookieOf(t *testing.T, b *browser) string {
	t.Helper()
	u, _ := url.Parse(b.shop.ts.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == sessionCookie {
			return c.Value
		}
	}
	t.Fatal("no session cookie")
	return ""
}

func TestResponseFormNeedsTheCSRFToken(t *testing.T) {
	sh := newShop(t, nil)
	b := sh.browser(t)
	fp := readFlowPage(t, b.get("/login"))
	response := sh.pki.respond(t, sh.pki.person, logonProps(testSPName, fp.challenge))
	for name, form := range map[string]url.Values{
		"no token":    {"response": {response}},
		"wrong token": {"response": {response}, "csrf": {fp.csrf + "x"}},
	} {
		if p := b.post("/login/response", form); p.status != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", name, p.status)
		}
	}
	// Another site's page posting with the right token (it cannot know it,
	// but the Origin check stands alone too).
	req, _ := http.NewRequest(http.MethodPost, sh.ts.URL+"/login/response",
		strings.NewReader(url.Values{"csrf": {fp.csrf}, "response": {response}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	if p := b.do(req); p.status != http.StatusForbidden {
		t.Errorf("foreign Origin: status %d, want 403", p.status)
	}
	// Refused forms did not touch the challenge: the real post succeeds.
	if p := b.post("/login/response", url.Values{"csrf": {fp.csrf}, "response": {response}}); p.status != http.StatusSeeOther {
		t.Errorf("the genuine post after refused ones: status %d:\n%s", p.status, p.body)
	}
	// Without a session at all.
	if p := sh.browser(t).post("/login/response", url.Values{"response": {response}}); p.status != http.StatusBadRequest {
		t.Errorf("no session: status %d, want 400", p.status)
	}
}

func TestWrongRequestIssuerIsRefused(t *testing.T) {
	sh := newShop(t, nil)
	b := sh.browser(t)
	fp := readFlowPage(t, b.get("/login"))
	p := b.post("/login/response", url.Values{"csrf": {fp.csrf}, "response": {sh.pki.respond(t, sh.pki.person, logonProps("Another shop", fp.challenge))}})
	if p.status != http.StatusBadRequest || find(t, p.body, `<code id="error-reason">([^<]*)</code>`) != ooapi.RequestIssuerMismatch.String() {
		t.Fatalf("status %d:\n%s", p.status, p.body)
	}
	if strings.Contains(p.body, "Another shop") {
		t.Error("the refusal's detail reached the page")
	}
}

// revokedChecker reports the person's certificate revoked.
type revokedChecker struct{ serial string }

func (c revokedChecker) Check(_ context.Context, cert, _ *x509.Certificate, _ time.Time) (revocation.Status, error) {
	if cert.SerialNumber.Text(16) == c.serial {
		return revocation.Status{Revoked: true, RevokedAt: testNow.Add(-time.Hour), Reason: 1, Method: revocation.MethodOCSP}, nil
	}
	return revocation.Status{Method: revocation.MethodOCSP}, nil
}

func TestRevokedCertificateDoesNotLogOn(t *testing.T) {
	p := thePKI(t)
	sh := newShop(t, func(c *Config) { c.Revocation = revokedChecker{serial: p.person.cert.SerialNumber.Text(16)} })
	b := sh.browser(t)
	fp := readFlowPage(t, b.get("/login"))
	page := b.post("/login/response", url.Values{"csrf": {fp.csrf}, "response": {p.respond(t, p.person, logonProps(testSPName, fp.challenge))}})
	if page.status != http.StatusBadRequest {
		t.Fatalf("status %d", page.status)
	}
	if got := find(t, page.body, `<span id="status" data-status="([^"]*)"`); got != "revoked" {
		t.Errorf("status %q, want revoked", got)
	}
	if b.get("/me").status != http.StatusSeeOther {
		t.Error("a revoked certificate logged on")
	}
}

func TestEmployeeLogon(t *testing.T) {
	sh := newShop(t, nil)
	b := sh.browser(t)
	fp := readFlowPage(t, b.get("/login"))
	b.post("/login/response", url.Values{"csrf": {fp.csrf}, "response": {sh.pki.respond(t, sh.pki.employee, logonProps(testSPName, fp.challenge))}})
	me := b.get("/me")
	if find(t, me.body, `<dd id="rid">([^<]*)</dd>`) != "12345678" || find(t, me.body, `<dd id="cvr">([^<]*)</dd>`) != testCVR {
		t.Errorf("RID and CVR not shown:\n%s", me.body)
	}
	if strings.Contains(me.body, `id="pid"`) {
		t.Error("a PID shown for an employee")
	}
}

func TestSignTextStoresEvidence(t *testing.T) {
	sh := newShop(t, nil)
	b := sh.browser(t)
	form := b.get("/sign")
	text := "Jeg køber 2 kopper.\r\nPris: 258,00 kr."
	fp := readFlowPage(t, b.post("/sign", url.Values{"csrf": {csrfOf(t, form)}, "text": {text}}))
	if problems := ooapi.VerifyParameters(fp.params, testNow, ooapi.VerifyOptions{Origin: sh.srv.Origin()}); len(problems) > 0 {
		t.Fatalf("the parameters do not verify: %v", problems)
	}
	if f, _ := fp.params.Get(ooapi.ParamSignTextFormat); f != ooapi.FormatText {
		t.Errorf("SIGNTEXT_FORMAT %q", f)
	}
	signText, _ := fp.params.Get(ooapi.ParamSignText)
	if got, _ := base64.StdEncoding.DecodeString(signText); string(got) != "Jeg køber 2 kopper.\nPris: 258,00 kr." {
		t.Errorf("SIGNTEXT %q: want the posted text with \\n line ends", got)
	}
	response := sh.pki.respond(t, sh.pki.person, signProps(t, testSPName, fp))
	p := b.post("/sign/response", url.Values{"csrf": {fp.csrf}, "response": {response}})
	if p.status != http.StatusOK || !strings.Contains(p.body, `id="signed"`) {
		t.Fatalf("sign response: status %d:\n%s", p.status, p.body)
	}
	link := find(t, p.body, `<a id="document-link"[^>]*href="([^"]+)"`)

	// The download is the document the client sent, byte for byte.
	doc := b.get(link)
	want, _ := base64.StdEncoding.DecodeString(response)
	if doc.status != http.StatusOK || doc.body != string(want) {
		t.Fatalf("download: status %d, %d bytes, want the %d bytes posted", doc.status, len(doc.body), len(want))
	}
	if ct, cd := doc.header.Get("Content-Type"), doc.header.Get("Content-Disposition"); ct != "application/xml" || !strings.HasPrefix(cd, "attachment;") {
		t.Errorf("download headers: %q, %q", ct, cd)
	}
	// Only for the session that signed: not for a browser without a
	// session, nor for one with a session of its own.
	if other := sh.browser(t).get(link); other.status != http.StatusNotFound || strings.Contains(other.body, "openoces") {
		t.Errorf("a browser without a session got the document: status %d", other.status)
	}
	other := sh.browser(t)
	other.get("/sign")
	if p := other.get(link); p.status != http.StatusNotFound || strings.Contains(p.body, "openoces") {
		t.Errorf("another session got the document: status %d", p.status)
	}

	// The evidence on disk: the document and its index entry.
	id := strings.TrimPrefix(link, "/documents/")
	onDisk, err := os.ReadFile(filepath.Join(sh.dir, "documents", id+".xml"))
	if err != nil || string(onDisk) != string(want) {
		t.Fatalf("evidence file: %v", err)
	}
	var index []Record
	raw, err := os.ReadFile(filepath.Join(sh.dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &index); err != nil {
		t.Fatal(err)
	}
	if len(index) != 1 || index[0].ID != id || index[0].Signer != "PID:"+testPID || index[0].Format != ooapi.FormatText ||
		index[0].Title != "Jeg køber 2 kopper." || !index[0].SignedAt.Equal(testNow) {
		t.Errorf("index: %+v", index)
	}

	// A second answer for the same signing finds nothing in progress.
	p = b.post("/sign/response", url.Values{"csrf": {fp.csrf}, "response": {response}})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, texts["da"]["error_no_signing"]) {
		t.Errorf("second answer: status %d", p.status)
	}

	// The index survives a restart of the shop.
	ev, err := openEvidence(sh.dir)
	if err != nil || len(ev.index) != 1 {
		t.Errorf("reopened evidence: %v, %d records", err, len(ev.index))
	}
}

func TestSignHTMLAgreement(t *testing.T) {
	sh := newShop(t, nil)
	b := sh.browser(t)
	fp := readFlowPage(t, b.get("/sign-html?lang=en"))
	if problems := ooapi.VerifyParameters(fp.params, testNow, ooapi.VerifyOptions{Origin: sh.srv.Origin()}); len(problems) > 0 {
		t.Fatalf("the parameters do not verify: %v", problems)
	}
	if f, _ := fp.params.Get(ooapi.ParamSignTextFormat); f != ooapi.FormatHTML {
		t.Errorf("SIGNTEXT_FORMAT %q", f)
	}
	p := b.post("/sign/response", url.Values{"csrf": {fp.csrf}, "response": {sh.pki.respond(t, sh.pki.person, signProps(t, testSPName, fp))}})
	if p.status != http.StatusOK || find(t, p.body, `<dd id="document-title">([^<]*)</dd>`) != htmlAgreement["en"].title {
		t.Fatalf("status %d:\n%s", p.status, p.body)
	}
}

func TestSignedTextMustBeTheAgreement(t *testing.T) {
	sh := newShop(t, nil)
	b := sh.browser(t)
	fp := readFlowPage(t, b.post("/sign", url.Values{"csrf": {csrfOf(t, b.get("/sign"))}, "text": {"Jeg betaler 10 kr."}}))
	props := signProps(t, testSPName, fp)
	props[4].Value, props[4].Raw = "Jeg betaler 10.000 kr.", ""
	p := b.post("/sign/response", url.Values{"csrf": {fp.csrf}, "response": {sh.pki.respond(t, sh.pki.person, props)}})
	if p.status != http.StatusBadRequest || find(t, p.body, `<code id="error-reason">([^<]*)</code>`) != ooapi.SignTextMismatch.String() {
		t.Fatalf("status %d:\n%s", p.status, p.body)
	}
	entries, _ := os.ReadDir(filepath.Join(sh.dir, "documents"))
	if len(entries) != 0 {
		t.Errorf("a refused signature left %d files of evidence", len(entries))
	}
}

func TestSignFormRefusesBadText(t *testing.T) {
	sh := newShop(t, nil)
	b := sh.browser(t)
	csrf := csrfOf(t, b.get("/sign"))
	for name, text := range map[string]string{
		"empty":    "  \r\n ",
		"too long": strings.Repeat("a", maxSignTextRunes+1),
	} {
		p := b.post("/sign", url.Values{"csrf": {csrf}, "text": {text}})
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="form-error"`) {
			t.Errorf("%s: status %d", name, p.status)
		}
	}
}

func TestHTMLAgreementsPassTheWhitelist(t *testing.T) {
	for lang, a := range htmlAgreement {
		if err := ooapi.ValidateHTML(a.doc); err != nil {
			t.Errorf("%s: %v", lang, err)
		}
	}
}

func TestTextsHaveBothLanguages(t *testing.T) {
	for key := range texts["da"] {
		if texts["en"][key] == "" {
			t.Errorf("%q has no English text", key)
		}
	}
	for key := range texts["en"] {
		if texts["da"][key] == "" {
			t.Errorf("%q has no Danish text", key)
		}
	}
	for r := ooapi.Malformed; r <= ooapi.SignTextMismatch; r++ {
		if texts["da"]["reason_"+strconv.Itoa(int(r))] == "" {
			t.Errorf("reason %v has no text", r)
		}
	}
}

func TestConfigFailsClosed(t *testing.T) {
	p := thePKI(t)
	signer, err := ooapi.NewSPSigner(p.voces.cert, p.voces.key)
	if err != nil {
		t.Fatal(err)
	}
	good := Config{Listen: "127.0.0.1:8090", IdPURL: testIdP, Signer: signer, Name: testSPName, Trust: p.trust,
		Revocation: revocation.None(), DataDir: t.TempDir()}
	if s, err := New(good); err != nil || s.Origin() != "http://127.0.0.1:8090" {
		t.Fatalf("good config: %v", err)
	}
	for name, mod := range map[string]func(*Config){
		"no signer":        func(c *Config) { c.Signer = nil },
		"no name":          func(c *Config) { c.Name = " " },
		"no trust":         func(c *Config) { c.Trust = nil },
		"no revocation":    func(c *Config) { c.Revocation = nil },
		"no data dir":      func(c *Config) { c.DataDir = "" },
		"IdP not http":     func(c *Config) { c.IdPURL = "ftp://idp.example" },
		"public URL path":  func(c *Config) { c.PublicURL = "http://shop.example/shop" },
		"wildcard listen":  func(c *Config) { c.Listen = "0.0.0.0:8090" },
		"same origin":      func(c *Config) { c.PublicURL = testIdP },
		"unknown language": func(c *Config) { c.Language = "DE" },
	} {
		c := good
		mod(&c)
		if _, err := New(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
