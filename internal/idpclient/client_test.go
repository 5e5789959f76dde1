package idpclient_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/nemid-dk/nemid/internal/idp/idptest"
	"github.com/nemid-dk/nemid/internal/idpclient"
	"github.com/nemid-dk/nemid/ooapi"
)

// seen is one request as the server received it.
type seen struct {
	method, path, rawQuery string
	contentType, fetchSite string
	body                   string
}

// recorder serves the env's launcher and records every request.
type recorder struct {
	mu   sync.Mutex
	reqs []seen
}

func (rec *recorder) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Content-Type"),
			r.Header.Get("Sec-Fetch-Site"), string(body)})
		rec.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// TestLogonThroughTheClient: activation and a logon through the client
// against a real server; the response validates for the service provider;
// every call is a browser-like same-origin JSON POST with the flow secret
// in its body only.
func TestLogonThroughTheClient(t *testing.T) {
	e := idptest.NewEnv(t, "sqlite")
	rec := &recorder{}
	srv := httptest.NewServer(rec.wrap(e.Srv.Config.Handler))
	t.Cleanup(srv.Close)
	c := &idpclient.Client{BaseURL: srv.URL + "/"}
	ctx := context.Background()
	u := e.Register(t)

	start := func() (*idpclient.Flow, ooapi.Challenge) {
		t.Helper()
		ps, ch, err := e.Signer.Logon(ooapi.LogonOptions{ClientOptions: ooapi.ClientOptions{Origin: idptest.SPOrigin, RememberUserID: true}})
		if err != nil {
			t.Fatal(err)
		}
		f, a, err := c.Start(ctx, ps.JSON(), idptest.SPOrigin, idpclient.ModeLimited)
		if err != nil || f == nil {
			t.Fatalf("start: %v, %+v", err, a)
		}
		if a.Step != "credentials" || a.SP != idptest.SPName || a.Action != "logon" || a.Ended() || a.Code() != "" ||
			a.ShowCancel == nil || !*a.ShowCancel || a.TimeoutSeconds <= 0 || len(a.Texts) == 0 {
			t.Errorf("start answer: %+v", a)
		}
		return f, ch
	}

	// Activation: temporary password, code, a password that breaks a
	// rule (a retry), then a good one.
	f, _ := start()
	a, err := f.Password(ctx, u.NemID(), u.Password, false)
	if err != nil || a.Step != "otp" || a.Card != u.Card.Number || a.Key == "" {
		t.Fatalf("password: %v, %+v", err, a)
	}
	if a, err = f.OTP(ctx, u.Code(t, a.Key)); err != nil || a.Step != "activate" || !a.AliasAllowed {
		t.Fatalf("otp after a temporary password: %v, %+v", err, a)
	}
	if a, err = f.Activate(ctx, "abc", ""); err != nil || a.Retry == "" || a.Field != "newPassword" || a.Ended() {
		t.Fatalf("a too short password: %v, %+v", err, a)
	}
	alias := "bruger-" + u.NemID()[:4]
	if a, err = f.Activate(ctx, "Vinter2027", alias); err != nil || !a.Ended() {
		t.Fatalf("activate: %v, %+v", err, a)
	}
	secrets := []string{f.Secret()}

	// A logon with the alias and the new password, validated as the SP does.
	f, ch := start()
	secrets = append(secrets, f.Secret())
	if a, err = f.Password(ctx, u.NemID(), "Forkert2027", false); err != nil || a.Retry == "" || a.Field != "password" {
		t.Fatalf("a wrong password: %v, %+v", err, a)
	}
	a, err = f.Password(ctx, alias, "Vinter2027", true)
	if err != nil || a.Step != "otp" {
		t.Fatalf("password: %v, %+v", err, a)
	}
	if a, err = f.OTP(ctx, u.Code(t, a.Key)); err != nil || !a.Ended() || a.Origin != idptest.SPOrigin {
		t.Fatalf("otp: %v, %+v", err, a)
	}
	doc, code, err := a.Outcome()
	if err != nil || code != "" || !bytes.HasPrefix(doc, []byte("<")) {
		t.Fatalf("outcome: %v, code %q, document %.40q", err, code, doc)
	}
	challenges := &ooapi.MemoryChallenges{Now: e.Clock.Now}
	challenges.Put(ctx, "s", ch)
	res, err := e.ValidatorFor(t, idptest.SPName, challenges).Logon(ctx, "s", a.Done)
	if err != nil {
		t.Fatalf("validation: %v", err)
	}
	if res.Identity.PID != u.PID || res.RememberUseridToken == "" {
		t.Errorf("validated PID %q (want %q), remember token %t", res.Identity.PID, u.PID, res.RememberUseridToken != "")
	}

	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.reqs) != 9 {
		t.Errorf("%d requests, want 9", len(rec.reqs))
	}
	for _, r := range rec.reqs {
		if r.method != http.MethodPost || !strings.HasPrefix(r.path, "/launcher/api/") || r.rawQuery != "" ||
			r.contentType != "application/json" || r.fetchSite != "same-origin" {
			t.Errorf("request %+v: want a same-origin JSON POST to /launcher/api/<step> without a query", r)
		}
		inBody := false
		for _, s := range secrets {
			inBody = inBody || strings.Contains(r.body, `"flow":"`+s+`"`)
			if strings.Contains(r.path, s) {
				t.Errorf("the flow secret is in the URL %s", r.path)
			}
		}
		if !strings.HasSuffix(r.path, "/start") && !inBody {
			t.Errorf("%s without the flow in its body", r.path)
		}
	}
}

// TestRefusedStart: refused parameters give no flow and an end with the
// code, for the page that posted them.
func TestRefusedStart(t *testing.T) {
	e := idptest.NewEnv(t, "sqlite")
	ps, _, err := e.Signer.Logon(ooapi.LogonOptions{ClientOptions: ooapi.ClientOptions{Origin: idptest.SPOrigin}})
	if err != nil {
		t.Fatal(err)
	}
	f, a, err := e.Client.Start(context.Background(), ps.JSON(), "https://evil.example", idpclient.ModeStandard)
	if err != nil || f != nil {
		t.Fatalf("start from another origin: flow %v, %v", f, err)
	}
	if a.Code() != ooapi.APP007 || a.Origin != "https://evil.example" || a.Message == "" {
		t.Errorf("answer %+v (code %q), want APP007 for the posting page", a, a.Code())
	}
	if _, _, err := e.Client.Start(context.Background(), ps.JSON(), idptest.SPOrigin, "fullscreen"); !isHTTP(err, 400) {
		t.Errorf("an unknown mode: %v, want HTTP 400", err)
	}
}

// TestCancelAndTimeout: the ends the user chooses, and a step after the end.
func TestCancelAndTimeout(t *testing.T) {
	e := idptest.NewEnv(t, "sqlite")
	ctx := context.Background()
	s := e.StartLogon(t, ooapi.LogonOptions{})
	f := e.Client.Resume(s.Secret)
	if a, err := f.Cancel(ctx); err != nil || a.Code() != ooapi.CAN002 || a.Origin != idptest.SPOrigin {
		t.Errorf("cancel: %v, %+v", err, a)
	}
	if a, err := f.OTP(ctx, "123456"); err != nil || a.Code() != ooapi.SRV006 {
		t.Errorf("a step after the end: %v, %+v", err, a)
	}
	s = e.StartLogon(t, ooapi.LogonOptions{})
	if a, err := e.Client.Resume(s.Secret).Timeout(ctx); err != nil || a.Code() != ooapi.CAN003 {
		t.Errorf("timeout: %v, %+v", err, a)
	}
}

func isHTTP(err error, status int) bool {
	var he *idpclient.HTTPError
	return errors.As(err, &he) && he.Status == status
}

// TestErrorsKeepSecrets: an HTTP refusal is an *HTTPError, and neither it
// nor a transport error repeats the flow secret, the password or the code.
func TestErrorsKeepSecrets(t *testing.T) {
	const password, code = "Hemmelig2026", "271828"
	e := idptest.NewEnv(t, "sqlite")
	ctx := context.Background()
	malformed := strings.Repeat("!", 43)
	_, err := e.Client.Resume(malformed).Password(ctx, "123456789", password, false)
	if !isHTTP(err, 400) {
		t.Fatalf("a malformed flow: %v, want HTTP 400", err)
	}
	secret := e.StartLogon(t, ooapi.LogonOptions{}).Secret
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	c := &idpclient.Client{BaseURL: down.URL}
	_, err2 := c.Resume(secret).OTP(ctx, code)
	if err2 == nil {
		t.Fatal("no error from a server that is down")
	}
	for _, err := range []error{err, err2} {
		for _, s := range []string{malformed, secret, password, code} {
			if strings.Contains(err.Error(), s) {
				t.Errorf("the error %q repeats a secret", err)
			}
		}
	}
}

// TestOutcome: Done decodes to a document or a code, and nothing else.
func TestOutcome(t *testing.T) {
	enc := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, tc := range []struct {
		done    string
		doc     string
		code    ooapi.Code
		wantErr bool
	}{
		{done: enc("<openoces:signature/>"), doc: "<openoces:signature/>"},
		{done: enc("LOCK001"), code: ooapi.LOCK001},
		{done: "", wantErr: true},
		{done: "not base64!", wantErr: true},
		{done: enc("lock001"), wantErr: true},
		{done: enc("A SENTENCE, NOT A CODE"), wantErr: true},
	} {
		a := &idpclient.Answer{Done: tc.done}
		doc, code, err := a.Outcome()
		if (err != nil) != tc.wantErr || string(doc) != tc.doc || code != tc.code {
			t.Errorf("Outcome of %q: %q, %q, %v", tc.done, doc, code, err)
		}
		if a.Code() != tc.code {
			t.Errorf("Code of %q: %q, want %q", tc.done, a.Code(), tc.code)
		}
	}
}
