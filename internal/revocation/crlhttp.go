package revocation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/store"
)

// maxCRLCacheAge caps how long an HTTP cache may keep a CRL: far below the
// CRL's own validity, so that a revocation (published within seconds) also
// reaches relying parties behind caches quickly.
const maxCRLCacheAge = 60 * time.Second

// CRLHandler serves the full CRLs at the URLs written into certificates
// (`/crl/root.crl`, `/crl/issuing.crl`), and every partition CRL at
// `/crl/<issuer>/<n>.crl` for clients that prefer HTTP to LDAP.
type CRLHandler struct {
	CRLs  CRLSource
	Clock clock.Clock
}

// Register adds the CRL routes to mux.
func (h *CRLHandler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /crl/{file}", func(w http.ResponseWriter, r *http.Request) {
		switch r.PathValue("file") {
		case "root.crl":
			h.serve(w, r, "root", 0)
		case "issuing.crl":
			h.serve(w, r, "issuing", 0)
		default:
			http.NotFound(w, r)
		}
	})
	mux.HandleFunc("GET /crl/{issuer}/{file}", func(w http.ResponseWriter, r *http.Request) {
		issuer := r.PathValue("issuer")
		var n int
		if _, err := fmt.Sscanf(r.PathValue("file"), "%d.crl", &n); err != nil || n < 1 || strconv.Itoa(n)+".crl" != r.PathValue("file") {
			http.NotFound(w, r)
			return
		}
		if issuer != "root" && issuer != "issuing" {
			http.NotFound(w, r)
			return
		}
		h.serve(w, r, issuer, n)
	})
}

func (h *CRLHandler) serve(w http.ResponseWriter, r *http.Request, issuer string, partition int) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	crl, err := h.CRLs.CRL(ctx, issuer, partition)
	if errors.Is(err, store.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		http.Error(w, "CRL temporarily unavailable", http.StatusServiceUnavailable)
		return
	}
	now := h.Clock.Now()
	maxAge := crl.NextUpdate.Sub(now)
	if maxAge > maxCRLCacheAge {
		maxAge = maxCRLCacheAge
	}
	if maxAge < 0 {
		maxAge = 0
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "application/pkix-crl")
	// The CRL number identifies the content: a new CRL always has a new number.
	hdr.Set("ETag", fmt.Sprintf(`"%s-%d-%d"`, issuer, partition, crl.Number))
	hdr.Set("Cache-Control", fmt.Sprintf("public, max-age=%d, no-transform", int(maxAge.Seconds())))
	hdr.Set("Expires", crl.NextUpdate.UTC().Format(http.TimeFormat))
	// ServeContent answers If-None-Match / If-Modified-Since with 304 and
	// sets Last-Modified from thisUpdate.
	http.ServeContent(w, r, "", crl.ThisUpdate, bytes.NewReader(crl.DER))
}
