package demo

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/ooapi/cpr"
)

// pidService is a PID-CPR service speaking pidxml: it knows one person.
type pidService struct {
	pid, cpr string
	mu       sync.Mutex
	asked    []cpr.PIDRequest
}

func (p *pidService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != cpr.PIDXMLPath || r.ParseForm() != nil {
		http.Error(w, "not here", http.StatusNotFound)
		return
	}
	req, err := cpr.ParsePIDXMLRequest([]byte(r.PostForm.Get(cpr.PIDXMLFormField)))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	p.asked = append(p.asked, req)
	p.mu.Unlock()
	code := cpr.StatusNoMatch
	switch {
	case req.ServiceID != "42":
		code = cpr.StatusNotAuthorizedForServiceLookup
	case req.PID != p.pid:
		code = cpr.StatusNoPID
	case req.CPR == p.cpr:
		code = cpr.StatusOK
	case req.CPR == "0000000016":
		code = cpr.StatusBruteForceAttemptDetected
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Write(cpr.MarshalPIDXMLReply(cpr.NewPIDReply(req, code)))
}

func TestCPRMatchForm(t *testing.T) {
	svc := &pidService{pid: testPID, cpr: "0101701234"}
	ts := httptest.NewTLSServer(svc)
	t.Cleanup(ts.Close)
	sh := newShop(t, func(c *Config) {
		c.CPR = &cpr.Config{BaseURL: ts.URL, SPID: "42", HTTPClient: ts.Client()}
	})
	b := sh.browser(t)
	if p := b.get("/cpr"); p.status != http.StatusSeeOther || p.header.Get("Location") != "/login" {
		t.Fatalf("/cpr before logon: status %d", p.status)
	}
	fp := readFlowPage(t, b.get("/login"))
	b.post("/login/response", url.Values{"csrf": {fp.csrf}, "response": {sh.pki.respond(t, sh.pki.person, logonProps(testSPName, fp.challenge))}})
	if me := b.get("/me"); !strings.Contains(me.body, `id="cpr-link"`) {
		t.Fatal("no CPR link on /me with a CPR service")
	}
	csrf := csrfOf(t, b.get("/cpr"))
	for _, tc := range []struct {
		typed, result string
		status        int
	}{
		{"010170-1234", "match", http.StatusOK},
		{"0202701234", "no-match", http.StatusOK},
		{"0000000016", "status", http.StatusOK},
		{"12345", "invalid", http.StatusBadRequest},
	} {
		p := b.post("/cpr", url.Values{"csrf": {csrf}, "cpr": {tc.typed}})
		if p.status != tc.status {
			t.Errorf("%s: status %d", tc.typed, p.status)
		}
		if got := find(t, p.body, `id="cpr-result" data-result="([^"]*)"`); got != tc.result {
			t.Errorf("%s: result %q, want %q", tc.typed, got, tc.result)
		}
		if strings.Contains(p.body, strings.ReplaceAll(tc.typed, "-", "")) {
			t.Errorf("%s: the CPR number is shown again", tc.typed)
		}
		if tc.result == "status" && find(t, p.body, `id="cpr-status" data-code="([^"]*)"`) != "16" {
			t.Errorf("%s: service status not shown:\n%s", tc.typed, p.body)
		}
	}
	svc.mu.Lock()
	asked := svc.asked
	svc.mu.Unlock()
	if len(asked) != 3 || asked[0].PID != testPID || asked[0].CPR != "0101701234" || asked[0].ServiceID != "42" {
		t.Errorf("the service was asked %+v", asked)
	}
	if p := b.post("/cpr", url.Values{"cpr": {"0101701234"}}); p.status != http.StatusForbidden {
		t.Errorf("no CSRF token: status %d", p.status)
	}
}

func TestCPRFormAbsentWithoutService(t *testing.T) {
	sh := newShop(t, nil)
	if p := sh.browser(t).get("/cpr"); p.status != http.StatusNotFound {
		t.Errorf("status %d, want 404", p.status)
	}
}

func TestServeStopsWithTheContext(t *testing.T) {
	sh := newShop(t, func(c *Config) { c.Listen = "127.0.0.1:0" })
	addr, err := sh.srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sh.srv.Serve(ctx) }()
	resp, err := http.Get("http://" + addr.String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("status %d", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Serve did not return after the context ended")
	}
}
