package revocation

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/store"
)

// mapCRLs is a CRLSource over a map, for handler tests.
type mapCRLs map[[2]any]store.CRL

func (m mapCRLs) CRL(_ context.Context, issuer string, partition int) (store.CRL, error) {
	c, ok := m[[2]any{issuer, partition}]
	if !ok {
		return store.CRL{}, store.ErrNotFound
	}
	return c, nil
}

func TestCRLHandler(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	full := store.CRL{Issuer: "issuing", Number: 7, ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(11 * time.Hour), DER: []byte("full-crl")}
	part := store.CRL{Issuer: "issuing", Partition: 3, Number: 8, ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(30 * time.Second), DER: []byte("partition-crl")}
	h := &CRLHandler{CRLs: mapCRLs{{"issuing", 0}: full, {"issuing", 3}: part}, Clock: clock.NewFrozen(now)}
	mux := http.NewServeMux()
	h.Register(mux)

	get := func(path string, hdr map[string]string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		return rec
	}
	rec := get("/crl/issuing.crl", nil)
	if rec.Code != 200 || rec.Body.String() != "full-crl" {
		t.Fatalf("full CRL: %d %q", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/pkix-crl" {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := rec.Header().Get("Cache-Control"); !strings.Contains(cc, "max-age=60") {
		t.Errorf("Cache-Control %q: want max-age capped at 60", cc)
	}
	if lm := rec.Header().Get("Last-Modified"); lm != full.ThisUpdate.Format(http.TimeFormat) {
		t.Errorf("Last-Modified %q", lm)
	}
	etag := rec.Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	if rec := get("/crl/issuing.crl", map[string]string{"If-None-Match": etag}); rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
		t.Errorf("conditional GET with the ETag: %d", rec.Code)
	}
	if rec := get("/crl/issuing.crl", map[string]string{"If-Modified-Since": full.ThisUpdate.Format(http.TimeFormat)}); rec.Code != http.StatusNotModified {
		t.Errorf("conditional GET with If-Modified-Since: %d", rec.Code)
	}
	// A partition CRL close to its nextUpdate may be cached only until then.
	rec = get("/crl/issuing/3.crl", nil)
	if rec.Code != 200 || rec.Body.String() != "partition-crl" {
		t.Fatalf("partition CRL: %d %q", rec.Code, rec.Body)
	}
	if cc := rec.Header().Get("Cache-Control"); !strings.Contains(cc, "max-age=30") {
		t.Errorf("Cache-Control %q: want max-age ending at nextUpdate", cc)
	}
	for _, path := range []string{"/crl/root.crl", "/crl/issuing/4.crl", "/crl/issuing/03.crl", "/crl/issuing/0.crl", "/crl/other/1.crl", "/crl/x.crl"} {
		if rec := get(path, nil); rec.Code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, rec.Code)
		}
	}
}
