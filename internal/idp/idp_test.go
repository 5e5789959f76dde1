package idp_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/idp/idptest"
	"github.com/nemid-dk/nemid/internal/idpclient"
	"github.com/nemid-dk/nemid/ooapi"
)

// TestLogon: activation with a temporary password, then a logon with the
// personal password; each response validates with ooapi as the user's
// PID for this SP and challenge, and a replay is refused.
func TestLogon(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			e := idptest.NewEnv(t, engine)
			u := e.Active(t)

			c := e.StartLogon(t, ooapi.LogonOptions{})
			if c.Start.SP != idptest.SPName || c.Start.Action != "logon" || c.Start.Language != "da" || c.Start.Origin != idptest.SPOrigin ||
				len(c.Start.Texts) == 0 || c.Start.ShowCancel == nil || !*c.Start.ShowCancel {
				t.Errorf("start answer: %+v", c.Start)
			}
			a := c.Logon(t, u)
			if responseOf(t, a); a.Origin != idptest.SPOrigin {
				t.Errorf("the response goes to %q, want %q", a.Origin, idptest.SPOrigin)
			}
			v := e.Validator(t, c)
			res, err := v.Logon(context.Background(), "session", a.Done)
			if err != nil {
				t.Fatalf("ooapi refuses the response: %v", err)
			}
			if res.Identity.PID != u.PID || res.Status != ooapi.Valid || res.RequestIssuer != idptest.SPName {
				t.Errorf("result: PID %q (want %q), status %s, issuer %q", res.Identity.PID, u.PID, res.Status, res.RequestIssuer)
			}
			// The challenge is used: the same response again is refused.
			if _, err := v.Logon(context.Background(), "session", a.Done); !isReason(err, ooapi.NoChallenge) {
				t.Errorf("a replayed response: %v, want NoChallenge", err)
			}
			xmlsec1Verifies(t, a.Done, res.Certificate)
			// The flow is over: another step is refused.
			if again := c.OTP(t, "123456"); again.Code() != "SRV006" {
				t.Errorf("a step after the end: %+v", again)
			}
		})
	}
}

func isReason(err error, r ooapi.Reason) bool {
	var ve *ooapi.ValidationError
	return errors.As(err, &ve) && ve.Reason == r
}

// xmlsec1Verifies checks a response with xmlsec1, given the signer's
// certificate explicitly (the document's KeyInfo holds three).
func xmlsec1Verifies(t *testing.T, done string, signer *x509.Certificate) {
	t.Helper()
	doc, err := base64.StdEncoding.DecodeString(done)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	xmlFile, certFile := filepath.Join(dir, "response.xml"), filepath.Join(dir, "user.pem")
	if err := os.WriteFile(xmlFile, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: signer.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("xmlsec1", "--verify", "--enabled-key-data", "key-name", "--pubkey-cert-pem", certFile, xmlFile).CombinedOutput()
	if err != nil {
		t.Fatalf("xmlsec1 --verify: %v\n%s", err, out)
	}
}

// TestSign: a plain text and an HTML agreement, each signed and validated
// by ooapi as matching the agreement.
func TestSign(t *testing.T) {
	e := idptest.NewEnv(t, "sqlite")
	u := e.Active(t)
	for name, text := range map[string]ooapi.SignText{
		"text": ooapi.PlainSignText("Jeg køber 1 stk. cykel til 2.999 kr.\nLevering: 3 dage."),
		"html": ooapi.HTMLSignText(`<html><body><h1>Aftale</h1><p style="color:#333">Jeg accepterer <b>vilkårene</b>.</p></body></html>`),
	} {
		t.Run(name, func(t *testing.T) {
			c := e.StartSign(t, ooapi.SignOptions{Text: text})
			if c.Start.Action != "sign" || c.Start.SignText == nil || c.Start.SignText.Format != name {
				t.Fatalf("start: %+v", c.Start)
			}
			signTextShows(t, e, c, name)
			a := c.Logon(t, u)
			res, err := e.Validator(t, c).Sign(context.Background(), "session", a.Done, text)
			if err != nil {
				t.Fatalf("ooapi refuses the signature (code %q): %v", a.Code(), err)
			}
			if res.Identity.PID != u.PID {
				t.Errorf("signed by %q, want %q", res.Identity.PID, u.PID)
			}
			// Another agreement does not match what was signed.
			c2 := e.StartSign(t, ooapi.SignOptions{Text: text})
			signTextShows(t, e, c2, name)
			a2 := c2.Logon(t, u)
			if _, err := e.Validator(t, c2).Sign(context.Background(), "session", a2.Done, ooapi.PlainSignText("something else")); !isReason(err, ooapi.SignTextMismatch) {
				t.Errorf("validated against another text: %v, want SignTextMismatch", err)
			}
		})
	}
}

// signTextShows checks /launcher/signtext: the flow's text, sandboxed.
func signTextShows(t *testing.T, e *idptest.Env, c *idptest.Session, format string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.URL+"/launcher/signtext", strings.NewReader(url.Values{"flow": {c.Secret}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := e.Srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	csp := res.Header.Get("Content-Security-Policy")
	if res.StatusCode != 200 || !strings.Contains(csp, "sandbox") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("signtext: status %d, CSP %q", res.StatusCode, csp)
	}
	// Without a valid flow there is nothing to see.
	res2, err := e.Srv.Client().PostForm(e.URL+"/launcher/signtext", url.Values{"flow": {strings.Repeat("A", 43)}})
	if err != nil {
		t.Fatal(err)
	}
	res2.Body.Close()
	if res2.StatusCode != http.StatusNotFound {
		t.Errorf("signtext of an unknown flow: %d", res2.StatusCode)
	}
}

// TestRestartMidLogon: after the password, the server restarts; the code
// then completes the logon on the new process.
func TestRestartMidLogon(t *testing.T) {
	e := idptest.NewEnv(t, "sqlite")
	u := e.Active(t)
	c := e.StartLogon(t, ooapi.LogonOptions{})
	a := c.Password(t, u.NemID(), u.Password)
	if a.Step != "otp" {
		t.Fatalf("after the password: %+v", a)
	}
	e.Restart(t)
	a = c.OTP(t, u.Code(t, a.Key))
	if _, err := e.Validator(t, c).Logon(context.Background(), "session", a.Done); err != nil {
		t.Fatalf("after the restart the logon does not validate (code %q): %v", a.Code(), err)
	}
}

// TestWrongCodeThenRight: a wrong code is a retry with the same key; the
// right one then logs on.
func TestWrongCodeThenRight(t *testing.T) {
	e := idptest.NewEnv(t, "sqlite")
	u := e.Active(t)
	c := e.StartLogon(t, ooapi.LogonOptions{Language: ooapi.EN})
	a := c.Password(t, u.NemID(), u.Password)
	right := u.Code(t, a.Key)
	wrong := "000000"
	if right == wrong {
		wrong = "000001"
	}
	r := c.OTP(t, wrong)
	if r.Retry == "" || r.Field != "code" || r.Key != a.Key || r.Card != a.Card || r.Done != "" {
		t.Fatalf("wrong code: %+v", r)
	}
	if !strings.Contains(strings.ToLower(r.Retry), "code") {
		t.Errorf("the English retry text %q does not speak of the code", r.Retry)
	}
	responseOf(t, c.OTP(t, right))
}

// TestCancel: CAN002 in a normal flow, CAN001 once a temporary password
// was used (which is then spent), CAN003 when the flow timed out.
func TestCancel(t *testing.T) {
	e := idptest.NewEnv(t, "sqlite")
	u := e.Active(t)

	c := e.StartLogon(t, ooapi.LogonOptions{})
	if a := c.Cancel(t); a.Code() != "CAN002" || a.Origin != idptest.SPOrigin || a.Message == "" {
		t.Errorf("cancel before the password: %+v", a)
	}
	c = e.StartLogon(t, ooapi.LogonOptions{})
	c.Password(t, u.NemID(), u.Password)
	if a := c.Cancel(t); a.Code() != "CAN002" {
		t.Errorf("cancel at the code: %+v", a)
	}

	fresh := e.Register(t)
	c = e.StartLogon(t, ooapi.LogonOptions{})
	c.Password(t, fresh.NemID(), fresh.Password)
	if a := c.Cancel(t); a.Code() != "CAN001" {
		t.Errorf("cancel after a temporary password: %+v", a)
	}
	c = e.StartLogon(t, ooapi.LogonOptions{})
	if a := c.Password(t, fresh.NemID(), fresh.Password); a.Code() != "AUTH008" {
		t.Errorf("the temporary password after CAN001: %+v, want AUTH008", a)
	}

	c = e.StartLogon(t, ooapi.LogonOptions{})
	e.Clock.Advance(idpTimeout)
	if a := c.Password(t, u.NemID(), u.Password); a.Code() != "CAN003" {
		t.Errorf("a step after the time-out: %+v", a)
	}
	c = e.StartLogon(t, ooapi.LogonOptions{})
	if a := c.Timeout(t); a.Code() != "CAN003" {
		t.Errorf("the client's time-out: %+v", a)
	}
}

const idpTimeout = 10 * time.Minute

// TestLockOut: wrong passwords are retries until the quarantine, which
// ends the flow with LOCK001; the next logon gets AUTH004.
func TestLockOut(t *testing.T) {
	e := idptest.NewEnv(t, "sqlite")
	u := e.Active(t)
	c := e.StartLogon(t, ooapi.LogonOptions{})
	var a *idpclient.Answer
	for i := 0; i < 10; i++ {
		a = c.Password(t, u.NemID(), "Forkert2026")
		if a.Done != "" {
			break
		}
		if a.Retry == "" || a.Field != "password" {
			t.Fatalf("wrong password %d: %+v", i+1, a)
		}
	}
	if a.Code() != "LOCK001" {
		t.Fatalf("after repeated wrong passwords: %+v, want LOCK001", a)
	}
	c = e.StartLogon(t, ooapi.LogonOptions{})
	if a := c.Password(t, u.NemID(), u.Password); a.Code() != "AUTH004" {
		t.Errorf("logon while quarantined: %+v, want AUTH004", a)
	}
}

// TestRememberUserID: the token of one response fills in the user-id of
// the next flow; a foreign token counts as none.
func TestRememberUserID(t *testing.T) {
	e := idptest.NewEnv(t, "sqlite")
	u := e.Active(t)
	c := e.StartLogon(t, ooapi.LogonOptions{ClientOptions: ooapi.ClientOptions{RememberUserID: true}})
	if !c.Start.ShowRemember || !c.Start.RememberChecked || c.Start.RememberedUserID != "" {
		t.Errorf("start with REMEMBER_USERID empty: %+v", c.Start)
	}
	a := c.PasswordRemember(t, u.NemID(), u.Password)
	a = c.OTP(t, u.Code(t, a.Key))
	res, err := e.Validator(t, c).Logon(context.Background(), "session", a.Done)
	if err != nil || res.RememberUseridToken == "" {
		t.Fatalf("no remember token: %+v, %v", res, err)
	}
	c = e.StartLogon(t, ooapi.LogonOptions{ClientOptions: ooapi.ClientOptions{RememberUserIDToken: res.RememberUseridToken}})
	if c.Start.RememberedUserID != u.NemID() || !c.Start.RememberChecked {
		t.Errorf("start with the token: %+v", c.Start)
	}
	c = e.StartLogon(t, ooapi.LogonOptions{ClientOptions: ooapi.ClientOptions{RememberUserIDToken: base64.StdEncoding.EncodeToString([]byte("not ours at all, but base64"))}})
	if c.Start.RememberedUserID != "" || !c.Start.ShowRemember {
		t.Errorf("start with a foreign token: %+v", c.Start)
	}
}

// TestSignNeedsTheTextShown: a signing whose sign text the launcher never
// served cannot go on to the password.
func TestSignNeedsTheTextShown(t *testing.T) {
	e := idptest.NewEnv(t, "sqlite")
	u := e.Active(t)
	c := e.StartSign(t, ooapi.SignOptions{Text: ooapi.PlainSignText("Jeg skylder 100 kr.")})
	a := c.Password(t, u.NemID(), u.Password)
	if a.Code() != "AUTH009" {
		t.Fatalf("the password before the sign text was shown: %+v, want AUTH009", a)
	}
}
