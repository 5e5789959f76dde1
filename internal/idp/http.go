package idp

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/internal/web"
	"github.com/nemid-dk/nemid/ooapi"
)

// Request body limits: the parameters may carry an HTML sign text; the
// other steps carry a few short fields.
const (
	maxStartBody = 1 << 20
	maxStepBody  = 4 << 10
)

// randomSegment is the launcher URL's cache-defeating part (spec 1.1): any
// short run of URL-safe characters, numeric or not.
var randomSegment = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// Register adds the launcher's routes (docs/idp.md).
func (s *Service) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /launcher/ping", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, "OK")
	})
	mux.HandleFunc("GET /launcher/lmt/{random}", func(w http.ResponseWriter, r *http.Request) { s.page(w, r, "lmt") })
	mux.HandleFunc("GET /launcher/std/{random}", func(w http.ResponseWriter, r *http.Request) { s.page(w, r, "std") })
	mux.HandleFunc("GET /launcher/{random}", func(w http.ResponseWriter, r *http.Request) { s.page(w, r, "lmt") })
	mux.Handle("GET "+web.StaticPrefix, web.Static())
	mux.HandleFunc("POST /launcher/api/{step}", s.api)
	mux.HandleFunc("POST /launcher/signtext", s.signText)
}

// securityHeaders are set on everything the launcher answers.
func securityHeaders(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	// same-origin: the launcher's own requests (the sign text's form post)
	// carry their Origin; nothing goes to other sites.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}

func (s *Service) page(w http.ResponseWriter, r *http.Request, mode string) {
	if !randomSegment.MatchString(r.PathValue("random")) {
		http.NotFound(w, r)
		return
	}
	ancestors, err := s.frames.list(r.Context())
	if err != nil {
		s.log.Error("idp: listing the service providers' origins", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	securityHeaders(h)
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors "+ancestors)
	h.Set("Content-Type", "text/html; charset=utf-8")
	if err := web.WriteLauncher(w, mode); err != nil {
		s.log.Error("idp: writing the launcher page", "err", err)
	}
}

// sameOrigin refuses what a page of another site may have sent. Browsers
// mark every request with Sec-Fetch-Site, which no page can forge: the
// client's own calls are same-origin. Browsers without it send Origin,
// which must then name this host ("null" does not). A caller with neither
// (a tool, not a browser) is allowed: it gains nothing a browser would not
// — it can only run flows with parameters an SP signed.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin"
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return false
		}
	}
	return true
}

func (s *Service) api(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w.Header())
	step := r.PathValue("step")
	handle, ok := map[string]func(context.Context, request) (*answer, error){
		"start": s.start, "password": s.password, "otp": s.otp, "activate": s.activate, "update": s.update,
		"cancel": s.cancel, "timeout": s.idle,
	}[step]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if !sameOrigin(r) {
		http.Error(w, "cross-site request refused", http.StatusForbidden)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		http.Error(w, "want Content-Type application/json", http.StatusUnsupportedMediaType)
		return
	}
	limit := int64(maxStepBody)
	if step == "start" {
		limit = maxStartBody
	}
	var req request
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || dec.More() {
		http.Error(w, "malformed request", http.StatusBadRequest)
		return
	}
	a, err := handle(r.Context(), req)
	switch {
	case errors.Is(err, errBadRequest):
		http.Error(w, "malformed request", http.StatusBadRequest)
		return
	case err != nil:
		// The details go to the log; the client shows a technical error.
		s.log.Error("idp: step failed", "step", step, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(a)
}

// signText shows the flow's sign text as a document of its own in a
// nested frame: posted (the flow secret stays out of URLs), sandboxed,
// able to run and fetch nothing.
func (s *Service) signText(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	securityHeaders(h)
	if !sameOrigin(r) {
		http.Error(w, "cross-site request refused", http.StatusForbidden)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxStepBody)
	secret := r.PostFormValue("flow")
	if !validSecret(secret) {
		http.Error(w, "malformed request", http.StatusBadRequest)
		return
	}
	row, err := s.st.IdPFlow(r.Context(), flowHash(secret))
	if err != nil || row.Step == store.IdPEnded || !s.clock.Now().Before(row.ExpiresAt) {
		http.NotFound(w, r)
		return
	}
	fc := &flowCtx{row: row}
	if fc.ps, err = parseStored(row); err != nil || actionOf(fc.ps) != actionSign {
		http.NotFound(w, r)
		return
	}
	text, err := base64.StdEncoding.DecodeString(valueOf(fc.ps, ooapi.ParamSignText))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	// The text is rendered first: only a text that was written out moves
	// the flow on to the credentials.
	var page bytes.Buffer
	format := strings.ToLower(valueOr(fc.ps, ooapi.ParamSignTextFormat, "TEXT"))
	if err := web.WriteSignText(&page, format, string(text), isTrue(valueOf(fc.ps, ooapi.ParamSignTextMonospaceFont))); err != nil {
		s.log.Error("idp: writing the sign text", "flow", flowRef(row.IDHash), "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if row.Step == store.IdPSignText {
		next := row
		next.Step, next.UpdatedAt = store.IdPCredentials, s.clock.Now()
		if err := s.st.UpdateIdPFlow(r.Context(), next); err != nil && !errors.Is(err, store.ErrConflict) {
			s.log.Error("idp: recording that the sign text was shown", "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
	}
	// frame-ancestors is checked against every ancestor: the launcher
	// (self) and the service provider's page that frames it.
	ancestors := "'self'"
	if originToken.MatchString(row.Origin) {
		ancestors += " " + row.Origin
	}
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors "+ancestors+"; sandbox")
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.Write(page.Bytes())
}

// frameAncestors is the CSP frame-ancestors list: the origins of every
// enabled service provider, read at most once a second.
type frameAncestors struct {
	st    store.Store
	clock clock.Clock
	mu    sync.Mutex
	at    time.Time
	value string
}

// originToken matches an origin that is safe to write into a CSP header.
var originToken = regexp.MustCompile(`^https?://[A-Za-z0-9.\-\[\]:]+$`)

func (f *frameAncestors) list(ctx context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.clock.Now()
	if f.value != "" && now.Sub(f.at) < time.Second && now.Sub(f.at) >= 0 {
		return f.value, nil
	}
	sps, err := f.st.ServiceProviders(ctx)
	if err != nil {
		return "", err
	}
	var origins []string
	seen := map[string]bool{}
	for _, sp := range sps {
		if sp.Disabled {
			continue
		}
		for _, o := range sp.Origins {
			if originToken.MatchString(o) && !seen[o] {
				seen[o] = true
				origins = append(origins, o)
			}
		}
	}
	f.value = "'none'"
	if len(origins) > 0 {
		f.value = strings.Join(origins, " ")
	}
	f.at = now
	return f.value, nil
}
