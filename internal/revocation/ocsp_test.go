package revocation

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
	"golang.org/x/crypto/ocsp"

	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/server"
	"github.com/nemid-dk/nemid/internal/store"
)

// newTestResponder returns a responder over f with pre-signed responses
// valid for an hour.
func newTestResponder(t testing.TB, f *fakeCA, mod func(*OCSPConfig)) *OCSPResponder {
	t.Helper()
	f.presign(t, time.Hour)
	cfg := OCSPConfig{Issuer: f.pki.issuing, Presigned: f, Signer: f, Clock: f.clock}
	if mod != nil {
		mod(&cfg)
	}
	o, err := NewOCSPResponder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func doPOST(h http.Handler, body []byte) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/ocsp", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/ocsp-request")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func doGET(h http.Handler, target string, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// twoCertIDs splices two CertIDs into one request (x/crypto/ocsp cannot make one).
func twoCertIDs(t testing.TB, a, b []byte) []byte {
	reqOf := func(der []byte) []byte {
		in := cryptobyte.String(der)
		var req, tbs, list, one cryptobyte.String
		if !in.ReadASN1(&req, cbasn1.SEQUENCE) || !req.ReadASN1(&tbs, cbasn1.SEQUENCE) ||
			!tbs.ReadASN1(&list, cbasn1.SEQUENCE) || !list.ReadASN1Element(&one, cbasn1.SEQUENCE) {
			t.Fatal("cannot split request")
		}
		return one
	}
	var bld cryptobyte.Builder
	bld.AddASN1(cbasn1.SEQUENCE, func(b1 *cryptobyte.Builder) {
		b1.AddASN1(cbasn1.SEQUENCE, func(b2 *cryptobyte.Builder) {
			b2.AddASN1(cbasn1.SEQUENCE, func(b3 *cryptobyte.Builder) {
				b3.AddBytes(reqOf(a))
				b3.AddBytes(reqOf(b))
			})
		})
	})
	return bld.BytesOrPanic()
}

func TestOCSPAnswers(t *testing.T) {
	p := testPKI(t)
	issuing := p.issuing
	req := func(s *big.Int, h crypto.Hash) []byte { return ocspRequestDER(issuing, s, h) }
	good, revoked := p.good.SerialNumber, p.revoked.SerialNumber
	otherIssuer := ocspRequestDER(p.other, good, crypto.SHA1)
	wrongName := req(good, crypto.SHA1)
	wrongName[bytes.Index(wrongName, mustHash(crypto.SHA1, issuing.RawSubject))] ^= 1
	huge := new(big.Int).Lsh(big.NewInt(1), 200)

	tests := []struct {
		name      string
		body      []byte
		status    int                 // signed answers
		err       ocsp.ResponseStatus // unsigned answers (0: signed)
		hash      crypto.Hash
		liveSigns int64
	}{
		{"good pre-signed", req(good, crypto.SHA1), ocsp.Good, 0, crypto.SHA1, 0},
		{"revoked pre-signed", req(revoked, crypto.SHA1), ocsp.Revoked, 0, crypto.SHA1, 0},
		{"unknown serial", req(big.NewInt(0xdeadbeef), crypto.SHA1), ocsp.Unknown, 0, crypto.SHA1, 1},
		{"negative serial is unknown", req(big.NewInt(-5), crypto.SHA1), ocsp.Unknown, 0, crypto.SHA1, 1},
		{"good SHA-256", req(good, crypto.SHA256), ocsp.Good, 0, crypto.SHA256, 1},
		{"revoked SHA-384", req(revoked, crypto.SHA384), ocsp.Revoked, 0, crypto.SHA384, 1},
		{"good SHA-512", req(good, crypto.SHA512), ocsp.Good, 0, crypto.SHA512, 1},
		{"other issuer", otherIssuer, 0, ocsp.Unauthorized, 0, 0},
		{"issuer name hash wrong", wrongName, 0, ocsp.Unauthorized, 0, 0},
		{"two CertIDs", twoCertIDs(t, req(good, crypto.SHA1), req(revoked, crypto.SHA1)), 0, ocsp.Malformed, 0, 0},
		{"serial over 20 octets", req(huge, crypto.SHA1), 0, ocsp.Malformed, 0, 0},
		{"garbage", []byte("hello, OCSP"), 0, ocsp.Malformed, 0, 0},
		{"empty", nil, 0, ocsp.Malformed, 0, 0},
		{"trailing data", append(req(good, crypto.SHA1), 0), 0, ocsp.Malformed, 0, 0},
		{"too large", append(req(good, crypto.SHA1), make([]byte, maxOCSPRequest)...), 0, ocsp.Malformed, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeCA(p, clock.Real{})
			o := newTestResponder(t, f, nil)
			w := doPOST(o, tc.body)
			if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/ocsp-response" {
				t.Fatalf("HTTP %d %q", w.Code, w.Header().Get("Content-Type"))
			}
			if cc := w.Header().Get("Cache-Control"); cc != "" {
				t.Errorf("POST answer has Cache-Control %q", cc)
			}
			if got := f.signCalls.Load(); got != tc.liveSigns {
				t.Errorf("%d live signatures, want %d", got, tc.liveSigns)
			}
			resp, err := ocsp.ParseResponse(w.Body.Bytes(), issuing)
			if tc.err != 0 {
				if re, ok := err.(ocsp.ResponseError); !ok || re.Status != tc.err {
					t.Fatalf("got %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != tc.status || resp.IssuerHash != tc.hash {
				t.Fatalf("status %d hash %v, want %d %v", resp.Status, resp.IssuerHash, tc.status, tc.hash)
			}
			if resp.Certificate == nil || !resp.Certificate.Equal(p.responder) {
				t.Error("not signed by the delegated responder")
			}
			if tc.status == ocsp.Revoked && (!resp.RevokedAt.Equal(p.revokedAt) || resp.RevocationReason != ocsp.KeyCompromise) {
				t.Errorf("revoked at %v reason %d", resp.RevokedAt, resp.RevocationReason)
			}
		})
	}
}

func mustHash(h crypto.Hash, b []byte) []byte {
	x := h.New()
	x.Write(b)
	return x.Sum(nil)
}

// TestOCSPForCert checks the answers the way a relying party does, with
// ParseResponseForCert against the certificate and its issuer.
func TestOCSPForCert(t *testing.T) {
	p := testPKI(t)
	o := newTestResponder(t, newFakeCA(p, clock.Real{}), nil)
	for _, tc := range []struct {
		cert *x509.Certificate
		want int
	}{{p.good, ocsp.Good}, {p.revoked, ocsp.Revoked}, {p.slashy, ocsp.Good}} {
		der, err := ocsp.CreateRequest(tc.cert, p.issuing, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := ocsp.ParseResponseForCert(doPOST(o, der).Body.Bytes(), tc.cert, p.issuing)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status != tc.want {
			t.Errorf("serial %x: status %d, want %d", tc.cert.SerialNumber, resp.Status, tc.want)
		}
	}
}

// TestOCSPGET covers the GET forms of RFC 6960 appendix A.1 for a request
// whose base64 holds "//" (STACK.md G6), and the RFC 5019 caching headers.
func TestOCSPGET(t *testing.T) {
	p := testPKI(t)
	f := newFakeCA(p, clock.Real{})
	o := newTestResponder(t, f, nil)
	b64 := base64.StdEncoding.EncodeToString(ocspRequestDER(p.issuing, p.slashy.SerialNumber, crypto.SHA1))
	if !strings.Contains(b64, "//") {
		t.Fatalf("fixture: %s has no //", b64)
	}
	escaped := strings.NewReplacer("/", "%2F", "+", "%2B", "=", "%3D").Replace(b64)
	urlSafe := base64.RawURLEncoding.EncodeToString(ocspRequestDER(p.issuing, p.slashy.SerialNumber, crypto.SHA1))
	forms := map[string]string{
		"raw slashes":      "/ocsp/" + b64,
		"percent-encoded":  "/ocsp/" + escaped,
		"lowercase escape": "/ocsp/" + strings.ReplaceAll(escaped, "%2F", "%2f"),
		"url-safe":         "/ocsp/" + urlSafe,
		"no padding":       "/ocsp/" + strings.TrimRight(b64, "="),
		"plus as space":    "/ocsp/" + strings.ReplaceAll(escaped, "%2B", "%20"),
	}
	for name, target := range forms {
		t.Run(name, func(t *testing.T) {
			w := doGET(o, target)
			resp, err := ocsp.ParseResponseForCert(w.Body.Bytes(), p.slashy, p.issuing)
			if w.Code != http.StatusOK || err != nil || resp.Status != ocsp.Good {
				t.Fatalf("HTTP %d, %v", w.Code, err)
			}
			h := w.Header()
			if cc := h.Get("Cache-Control"); cc != "max-age=60, public, no-transform, must-revalidate" {
				t.Errorf("Cache-Control %q", cc)
			}
			if h.Get("Last-Modified") != resp.ThisUpdate.Format(http.TimeFormat) || h.Get("Expires") != resp.NextUpdate.Format(http.TimeFormat) {
				t.Errorf("Last-Modified %q Expires %q, want %v %v", h.Get("Last-Modified"), h.Get("Expires"), resp.ThisUpdate, resp.NextUpdate)
			}
			etag := h.Get("ETag")
			if len(etag) != 42 {
				t.Errorf("ETag %q", etag)
			}
			if w := doGET(o, target, "If-None-Match", etag); w.Code != http.StatusNotModified || w.Body.Len() != 0 {
				t.Errorf("revalidation: HTTP %d, %d bytes", w.Code, w.Body.Len())
			}
		})
	}
	for _, target := range []string{"/ocsp/", "/ocsp/not*base64", "/ocsp/" + base64.StdEncoding.EncodeToString([]byte("junk"))} {
		w := doGET(o, target)
		if !bytes.Equal(w.Body.Bytes(), ocsp.MalformedRequestErrorResponse) || w.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s: %x %q", target, w.Body.Bytes(), w.Header().Get("Cache-Control"))
		}
	}
	// A nearly expired answer must not be cached past its nextUpdate.
	f.presigned[p.good.SerialNumber.Text(16)] = func() store.OCSPResponse {
		now := time.Now()
		der, _ := p.sign(p.good.SerialNumber, crypto.SHA1, ocsp.Good, now, 20*time.Second)
		return store.OCSPResponse{Serial: p.good.SerialNumber.Text(16), DER: der, ThisUpdate: now, NextUpdate: now.Truncate(time.Second).Add(20 * time.Second)}
	}()
	w := doGET(o, "/ocsp/"+base64.StdEncoding.EncodeToString(ocspRequestDER(p.issuing, p.good.SerialNumber, crypto.SHA1)))
	var age int
	if _, err := fmt.Sscanf(w.Header().Get("Cache-Control"), "max-age=%d,", &age); err != nil || age > 20 || age < 15 {
		t.Errorf("Cache-Control %q, want max-age ≤ 20 (the answer's nextUpdate)", w.Header().Get("Cache-Control"))
	}
}

// TestOCSPRouting: through a bare ServeMux a raw "//" GET is redirected (the
// pitfall); through server.New, RawRoute serves it. POST and methods.
func TestOCSPRouting(t *testing.T) {
	p := testPKI(t)
	o := newTestResponder(t, newFakeCA(p, clock.Real{}), nil)
	mux := http.NewServeMux()
	o.Register(mux)
	b64 := base64.StdEncoding.EncodeToString(ocspRequestDER(p.issuing, p.slashy.SerialNumber, crypto.SHA1))
	if w := doGET(mux, "/ocsp/"+b64); w.Code != http.StatusTemporaryRedirect {
		t.Errorf("bare mux, raw //: HTTP %d (ServeMux changed? then RawRoute may be unneeded)", w.Code)
	}
	srv := server.New(server.Config{Log: slog.New(slog.DiscardHandler)}, o)
	for _, target := range []string{"/ocsp/" + b64, "/ocsp/" + url.PathEscape(b64)} {
		if w := doGET(srv.Handler(), target); w.Code != http.StatusOK || w.Header().Get("ETag") == "" {
			t.Errorf("server, %s: HTTP %d", target, w.Code)
		}
	}
	for _, path := range []string{"/ocsp", "/ocsp/"} {
		r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(ocspRequestDER(p.issuing, p.good.SerialNumber, crypto.SHA1)))
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, r)
		if _, err := ocsp.ParseResponseForCert(w.Body.Bytes(), p.good, p.issuing); err != nil {
			t.Errorf("POST %s: HTTP %d %v", path, w.Code, err)
		}
	}
	r := httptest.NewRequest(http.MethodHead, "/ocsp/"+b64, nil)
	w := httptest.NewRecorder()
	srv.Handler().ServeHTTP(w, r)
	if w.Code != http.StatusOK || w.Header().Get("Content-Length") == "" || w.Header().Get("Etag") == "" {
		t.Errorf("HEAD: HTTP %d %v", w.Code, w.Header())
	}
	w = httptest.NewRecorder()
	o.ServeHTTP(w, httptest.NewRequest(http.MethodPut, "/ocsp", nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("PUT: HTTP %d", w.Code)
	}
}

// TestOCSPCacheRevocation: a burst is served from memory, and a revocation
// is visible once the cache TTL has passed.
func TestOCSPCacheRevocation(t *testing.T) {
	p := testPKI(t)
	clk := clock.NewFrozen(time.Now())
	f := newFakeCA(p, clk)
	o := newTestResponder(t, f, nil)
	body := ocspRequestDER(p.issuing, p.good.SerialNumber, crypto.SHA1)
	status := func() int {
		resp, err := ocsp.ParseResponseForCert(doPOST(o, body).Body.Bytes(), p.good, p.issuing)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Status
	}
	for range 100 {
		if status() != ocsp.Good {
			t.Fatal("not good")
		}
	}
	if n := f.storeCalls.Load(); n != 1 {
		t.Errorf("%d store lookups for a burst, want 1", n)
	}
	// Revoke and publish (as the CA's publisher would).
	f.mu.Lock()
	f.issued[p.good.SerialNumber.Text(16)] = ocsp.Revoked
	f.mu.Unlock()
	f.presign(t, time.Hour)
	clk.Advance(DefaultOCSPCacheTTL - time.Millisecond)
	if status() != ocsp.Good {
		t.Error("cache TTL not honoured")
	}
	clk.Advance(2 * time.Millisecond)
	if status() != ocsp.Revoked {
		t.Error("revocation not visible after the cache TTL")
	}
	// A pre-signed response past its nextUpdate is not served: sign live.
	clk.Advance(2 * time.Hour)
	if status() != ocsp.Revoked || f.signCalls.Load() != 1 {
		t.Errorf("stale pre-signed response: %d live signatures", f.signCalls.Load())
	}
}

// TestOCSPFailures: store and signer failures become tryLater and
// internalError; the signer must answer the question asked.
func TestOCSPFailures(t *testing.T) {
	p := testPKI(t)
	unknown := ocspRequestDER(p.issuing, big.NewInt(0x77), crypto.SHA1)
	for _, tc := range []struct {
		name string
		set  func(*fakeCA)
		body []byte
		want ocsp.ResponseStatus
	}{
		{"store down", func(f *fakeCA) { f.storeErr = errInjected }, ocspRequestDER(p.issuing, p.good.SerialNumber, crypto.SHA1), ocsp.TryLater},
		{"signer down", func(f *fakeCA) { f.signErr = errInjected }, unknown, ocsp.InternalError},
		{"signer answers another serial", func(f *fakeCA) {
			f.presigned["77"] = f.presigned[p.good.SerialNumber.Text(16)] // a store bug: wrong response under a serial
			f.signErr = errInjected
		}, unknown, ocsp.InternalError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeCA(p, clock.Real{})
			o := newTestResponder(t, f, nil)
			tc.set(f)
			_, err := ocsp.ParseResponse(doPOST(o, tc.body).Body.Bytes(), nil)
			if re, ok := err.(ocsp.ResponseError); !ok || re.Status != tc.want {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			// Failures are not cached: once repaired, the answer is signed.
			f.mu.Lock()
			f.storeErr, f.signErr = nil, nil
			f.mu.Unlock()
			if _, err := ocsp.ParseResponse(doPOST(o, tc.body).Body.Bytes(), p.issuing); err != nil {
				t.Errorf("after repair: %v", err)
			}
		})
	}
}

// TestOCSPCollapsesMisses: concurrent requests for one uncached serial
// cost one store lookup.
func TestOCSPCollapsesMisses(t *testing.T) {
	p := testPKI(t)
	f := newFakeCA(p, clock.NewFrozen(time.Now()))
	o := newTestResponder(t, f, nil)
	f.block = make(chan struct{})
	body := ocspRequestDER(p.issuing, p.revoked.SerialNumber, crypto.SHA1)
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 {
		wg.Go(func() {
			resp, err := ocsp.ParseResponseForCert(doPOST(o, body).Body.Bytes(), p.revoked, p.issuing)
			if err == nil && resp.Status != ocsp.Revoked {
				err = fmt.Errorf("status %d", resp.Status)
			}
			errs <- err
		})
	}
	time.Sleep(50 * time.Millisecond) // let them pile up behind the first
	close(f.block)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := f.storeCalls.Load(); n != 1 {
		t.Errorf("%d store lookups, want 1", n)
	}
}

func TestOCSPCacheBounded(t *testing.T) {
	now := time.Now()
	c := newOCSPCache(time.Hour, 128, func() time.Time { return now }, prometheus.NewCounter(prometheus.CounterOpts{Name: "x"}))
	e := newErrorEntry([]byte{1}, nil)
	for i := range 10_000 {
		if _, _, err := c.get(context.Background(), ocspCacheKey{crypto.SHA1, fmt.Sprint(i)}, now, func() (*ocspEntry, error) { return e, nil }); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for i := range c.byKey {
		n += len(c.byKey[i].m)
	}
	if n > 128 || n < 64 {
		t.Errorf("%d entries cached, want at most 128", n)
	}
	for i := range 10_000 {
		c.putRaw(i%2 == 0, fmt.Sprint(i), e, now.Add(time.Second))
	}
	n = 0
	for i := range c.rawGET {
		n += len(c.rawGET[i].m) + len(c.rawPOST[i].m)
	}
	if n > 256 {
		t.Errorf("%d raw entries cached, want at most 2×128", n)
	}
	c.putRaw(false, strings.Repeat("x", maxRawKey+1), e, now.Add(time.Second))
	if c.getPOST([]byte(strings.Repeat("x", maxRawKey+1)), now) != nil {
		t.Error("oversized raw key cached")
	}
}

// TestOCSPSigningSaturated: when every live-signing slot is taken, a
// request that needs one gets tryLater instead of queueing without bound.
func TestOCSPSigningSaturated(t *testing.T) {
	p := testPKI(t)
	o := newTestResponder(t, newFakeCA(p, clock.Real{}), func(c *OCSPConfig) { c.MaxLiveSigns = 1 })
	o.signSem <- struct{}{}
	_, err := ocsp.ParseResponse(doPOST(o, ocspRequestDER(p.issuing, big.NewInt(0x99), crypto.SHA1)).Body.Bytes(), nil)
	if re, ok := err.(ocsp.ResponseError); !ok || re.Status != ocsp.TryLater {
		t.Fatalf("got %v, want tryLater", err)
	}
	<-o.signSem
	if _, err := ocsp.ParseResponse(doPOST(o, ocspRequestDER(p.issuing, big.NewInt(0x99), crypto.SHA1)).Body.Bytes(), p.issuing); err != nil {
		t.Fatal(err)
	}
}

func TestOCSPMetricsAndConfig(t *testing.T) {
	p := testPKI(t)
	reg := prometheus.NewRegistry()
	o := newTestResponder(t, newFakeCA(p, clock.Real{}), func(c *OCSPConfig) { c.Metrics = reg })
	doPOST(o, ocspRequestDER(p.issuing, p.good.SerialNumber, crypto.SHA1))
	doPOST(o, ocspRequestDER(p.issuing, p.good.SerialNumber, crypto.SHA1))
	doPOST(o, ocspRequestDER(p.issuing, big.NewInt(9), crypto.SHA256))
	doPOST(o, []byte("x"))
	doPOST(o, ocspRequestDER(p.other, big.NewInt(9), crypto.SHA1))
	for status, want := range map[string]float64{"good": 2, "unknown": 1, "malformed": 1, "unauthorized": 1, "revoked": 0} {
		if got := counterValue(o.m.byStatus(status)); got != want {
			t.Errorf("%s: %v, want %v", status, got, want)
		}
	}
	if got := counterValue(o.m.cacheHits); got != 1 {
		t.Errorf("cache hits %v", got)
	}
	if got := counterValue(o.m.liveSigns); got != 1 {
		t.Errorf("live signatures %v", got)
	}
	if mfs, err := reg.Gather(); err != nil || len(mfs) != 3 {
		t.Errorf("%d metric families gathered, %v", len(mfs), err)
	}
	if _, err := NewOCSPResponder(OCSPConfig{Issuer: p.issuing}); err == nil {
		t.Error("config without source and signer accepted")
	}
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}
