package idp_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/ca"
	"github.com/nemid-dk/nemid/internal/idp/idptest"
	"github.com/nemid-dk/nemid/internal/idpclient"
	"github.com/nemid-dk/nemid/oces"
	"github.com/nemid-dk/nemid/ooapi"
)

// TestParameterErrors sends, for each parameter error code of spec §2–3
// and §13, a parameter set with that fault, and expects the client to end
// with the code, delivered to the page that posted the parameters.
func TestParameterErrors(t *testing.T) {
	e := idptest.NewEnv(t, "sqlite")
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	certB64 := base64.StdEncoding.EncodeToString(e.Signer.Cert.Raw)
	base := func() []ooapi.Param {
		return []ooapi.Param{
			{Name: "CLIENTFLOW", Value: "OCESLOGIN2"},
			{Name: "SP_CERT", Value: certB64},
			{Name: "TIMESTAMP", Value: ooapi.FormatTimestamp(e.Clock.Now())},
			{Name: "ORIGIN", Value: idptest.SPOrigin},
			{Name: "SIGN_PROPERTIES", Value: "challenge=0123456789abcdef"},
		}
	}
	with := func(ps []ooapi.Param, name, value string) []ooapi.Param {
		for i := range ps {
			if ps[i].Name == name {
				ps[i].Value = value
				return ps
			}
		}
		return append(ps, ooapi.Param{Name: name, Value: value})
	}
	without := func(ps []ooapi.Param, name string) []ooapi.Param {
		out := ps[:0]
		for _, p := range ps {
			if p.Name != name {
				out = append(out, p)
			}
		}
		return out
	}
	signed := func(t *testing.T, ps []ooapi.Param) string {
		set, err := e.Signer.SignParams(ps)
		if err != nil {
			t.Fatal(err)
		}
		return string(set.JSON())
	}
	// A VOCES of our CA that is not registered for any service provider.
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	other, err := e.CA.Issue(context.Background(), ca.IssueRequest{Subject: oces.Request{Type: oces.VOCES, Name: "Ukendt butik",
		CVR: "87654321", Organization: "Ukendt A/S"}, PublicKey: otherKey.Public()})
	if err != nil {
		t.Fatal(err)
	}
	otherSigner, err := ooapi.NewSPSigner(other.Certificate, otherKey)
	if err != nil {
		t.Fatal(err)
	}
	otherSigner.Clock = e.Clock.Now

	cases := []struct {
		name   string
		json   func(t *testing.T) string
		origin string
		want   ooapi.Code
	}{
		{"not JSON", func(t *testing.T) string { return "{CLIENTFLOW: OCESLOGIN2" }, "", ooapi.APP001},
		{"digest of other parameters", func(t *testing.T) string {
			return strings.Replace(signed(t, base()), "OCESLOGIN2", "Oceslogin2", 1)
		}, "", ooapi.APP001},
		{"unsupported value", func(t *testing.T) string { return signed(t, with(base(), "LANGUAGE", "SV")) }, "", ooapi.APP001},
		{"unknown parameter", func(t *testing.T) string { return signed(t, with(base(), "FAVOURITE_COLOUR", "blue")) }, "", ooapi.APP007},
		{"missing SP_CERT", func(t *testing.T) string { return signed(t, without(base(), "SP_CERT")) }, "", ooapi.APP007},
		{"ORIGIN other than the posting page", func(t *testing.T) string { return signed(t, base()) }, "https://evil.example", ooapi.APP007},
		{"page origin not registered", func(t *testing.T) string {
			return signed(t, with(base(), "ORIGIN", "https://unregistered.example"))
		}, "https://unregistered.example", ooapi.APP007},
		{"sign text in a logon", func(t *testing.T) string { return signed(t, with(base(), "SIGNTEXT", b64("hej"))) }, "", ooapi.APP008},
		{"HTML sign text with a script", func(t *testing.T) string {
			ps := with(with(base(), "CLIENTFLOW", "OCESSIGN2"), "SIGNTEXT_FORMAT", "HTML")
			return signed(t, with(ps, "SIGNTEXT", b64(`<html><body><script>alert(1)</script></body></html>`)))
		}, "", ooapi.APP002},
		{"bad DIGEST_SIGNATURE", func(t *testing.T) string {
			ps, err := ooapi.SignParameters(base(), otherKey)
			if err != nil {
				t.Fatal(err)
			}
			return string(ps.JSON())
		}, "", ooapi.SRV001},
		{"TIMESTAMP 4 minutes old", func(t *testing.T) string {
			return signed(t, with(base(), "TIMESTAMP", ooapi.FormatTimestamp(e.Clock.Now().Add(-4*time.Minute))))
		}, "", ooapi.SRV003},
		{"unregistered SP certificate", func(t *testing.T) string {
			ps := with(base(), "SP_CERT", base64.StdEncoding.EncodeToString(other.Certificate.Raw))
			set, err := otherSigner.SignParams(ps)
			if err != nil {
				t.Fatal(err)
			}
			return string(set.JSON())
		}, "", ooapi.SRV005},
		{"TRANSACTION_CONTEXT of 101 characters", func(t *testing.T) string {
			return signed(t, with(base(), "TRANSACTION_CONTEXT", b64(strings.Repeat("x", 101))))
		}, "", ooapi.SRV011},
		{"XML sign text (not yet supported)", func(t *testing.T) string {
			ps := with(with(base(), "CLIENTFLOW", "OCESSIGN2"), "SIGNTEXT_FORMAT", "XML")
			ps = with(ps, "SIGNTEXT", b64("<a/>"))
			return signed(t, with(ps, "SIGNTEXT_TRANSFORMATION", b64(`<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"/>`)))
		}, "", ooapi.APP001},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			origin := tc.origin
			if origin == "" {
				origin = idptest.SPOrigin
			}
			_, a := e.Start(t, tc.json(t), origin)
			if a.Flow != "" || a.Code() != tc.want || a.Origin != origin || a.Message == "" {
				t.Errorf("answer %+v (code %q), want %s delivered to %s", a, a.Code(), tc.want, origin)
			}
		})
	}

	// A disabled service provider, and one whose certificate is revoked.
	t.Run("disabled SP", func(t *testing.T) {
		if _, err := e.St.DisableServiceProvider(context.Background(), e.SP.ID, e.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		_, a := e.Start(t, signed(t, base()), idptest.SPOrigin)
		if a.Code() != "SRV005" {
			t.Errorf("a disabled SP: %+v", a)
		}
	})
}

// TestRevokedSPCertificate: parameters signed with a revoked VOCES are SRV005.
func TestRevokedSPCertificate(t *testing.T) {
	e := idptest.NewEnv(t, "sqlite")
	if _, err := e.CA.Revoke(context.Background(), e.Signer.Cert.SerialNumber.Text(16), ca.ReasonKeyCompromise); err != nil {
		t.Fatal(err)
	}
	ps, _, err := e.Signer.Logon(ooapi.LogonOptions{ClientOptions: ooapi.ClientOptions{Origin: idptest.SPOrigin}})
	if err != nil {
		t.Fatal(err)
	}
	if a := startAnswer(t, e, ps, idptest.SPOrigin); a.Code() != "SRV005" {
		t.Errorf("a revoked SP certificate: %+v", a)
	}
}

// TestAPIRefusesCrossSite: the API answers only the launcher's own pages.
func TestAPIRefusesCrossSite(t *testing.T) {
	e := idptest.NewEnv(t, "sqlite")
	ps, _, err := e.Signer.Logon(ooapi.LogonOptions{ClientOptions: ooapi.ClientOptions{Origin: idptest.SPOrigin}})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"parameters":` + jsonString(string(ps.JSON())) + `,"origin":"` + idptest.SPOrigin + `","mode":"lmt"}`
	for name, h := range map[string]map[string]string{
		"cross-site fetch":               {"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"},
		"another Origin":                 {"Content-Type": "application/json", "Origin": "https://evil.example"},
		"form content type":              {"Content-Type": "application/x-www-form-urlencoded"},
		"text/plain (no CORS preflight)": {"Content-Type": "text/plain"},
	} {
		status := rawPost(t, e, "/launcher/api/start", body, h)
		if status != 403 && status != 415 {
			t.Errorf("%s: status %d, want 403 or 415", name, status)
		}
	}
	if status := rawPost(t, e, "/launcher/api/start", `{"parameters":"{}","origin":"x","mode":"lmt","extra":1}`,
		map[string]string{"Content-Type": "application/json"}); status != 400 {
		t.Errorf("an unknown field: status %d, want 400", status)
	}
	var he *idpclient.HTTPError
	if _, err := e.Client.Resume("short").OTP(context.Background(), "123456"); !errors.As(err, &he) || he.Status != 400 {
		t.Errorf("a malformed flow: %v, want HTTP 400", err)
	}
}

// TestLauncherPage: the page may be framed by registered origins only,
// runs only its own script, and the launcher answers its ping.
func TestLauncherPage(t *testing.T) {
	e := idptest.NewEnv(t, "sqlite")
	for _, path := range []string{"/launcher/lmt/1732540000000", "/launcher/std/abc", "/launcher/0"} {
		res, err := e.Srv.Client().Get(e.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		csp := res.Header.Get("Content-Security-Policy")
		if res.StatusCode != 200 || !strings.Contains(csp, "frame-ancestors "+idptest.SPOrigin) || !strings.Contains(csp, "script-src 'self'") ||
			strings.Contains(csp, "unsafe-inline") {
			t.Errorf("GET %s: %d, CSP %q", path, res.StatusCode, csp)
		}
	}
	for _, path := range []string{"/launcher/lmt/a%20b", "/launcher/lmt/" + strings.Repeat("1", 65)} {
		res, err := e.Srv.Client().Get(e.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", path, res.StatusCode)
		}
	}
	res, err := e.Srv.Client().Get(e.URL + "/launcher/ping")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(body) != "OK" {
		t.Errorf("ping: %d %q", res.StatusCode, body)
	}
	// Disabled, the SP's origin may frame the client no more (within a second).
	if _, err := e.St.DisableServiceProvider(context.Background(), e.SP.ID, e.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(2 * time.Second)
	res, err = e.Srv.Client().Get(e.URL + "/launcher/lmt/2")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("with no enabled SP: CSP %q", csp)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// rawPost posts body with the given headers and returns the status.
func rawPost(t *testing.T, e *idptest.Env, path, body string, headers map[string]string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := e.Srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}
