package revocation

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/ocsp"

	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/store"
)

// OCSP responder (RFC 6960, with the RFC 5019 lightweight profile for GET).
//
// What it answers:
//   - a request whose single CertID names the configured issuing CA, under
//     SHA-1, SHA-256, SHA-384 or SHA-512: a signed response — good or revoked
//     for a certificate this CA issued, unknown for any other serial (the
//     signer decides; this file only routes);
//   - a CertID naming another issuer: the unsigned "unauthorized" response;
//   - anything else — not DER, signed requests, more than one CertID, a
//     serial longer than the 20 octets RFC 5280 allows, a body over
//     maxOCSPRequest — the unsigned "malformedRequest" response.
//
// Multi-certificate requests are refused (malformedRequest) rather than
// answered for the first CertID only: x/crypto/ocsp can parse only one
// (STACK.md G5), RFC 5019 §2.1.1 makes clients send one, and an explicit
// refusal is better than a silent partial answer.
//
// Requests carry no nonce back: responses are pre-signed (RFC 5019 §4).
//
// Freshness bound: a revocation reaches OCSP clients at most
// (publisher re-signing delay) + CacheTTL (1 s) after it is recorded, for
// clients that ask the responder directly. Shared HTTP caches in front of
// GET may keep a response up to MaxHTTPAge (60 s) more.

// Defaults of OCSPConfig.
const (
	DefaultOCSPCacheTTL   = time.Second
	DefaultOCSPCacheSize  = 100_000
	DefaultOCSPMaxHTTPAge = 60 * time.Second
	// maxOCSPRequest caps a request's DER size; a single-CertID request is
	// about 70–120 bytes, so 10 KiB leaves room for extensions.
	maxOCSPRequest = 10 << 10
	// maxSerialBits: RFC 5280 §4.1.2.2 allows at most 20 octets.
	maxSerialBits = 160
	// ocspFillTimeout bounds one store lookup plus signature.
	ocspFillTimeout = 5 * time.Second
)

// OCSPConfig configures an OCSPResponder.
type OCSPConfig struct {
	// Issuer is the issuing CA. Request CertIDs must name it: issuerNameHash
	// over its subject DER and issuerKeyHash over its public key BIT STRING.
	Issuer *x509.Certificate
	// Presigned gives pre-signed SHA-1 CertID responses by serial
	// (lowercase hex, big.Int.Text(16)).
	Presigned OCSPSource
	// Signer signs at request time: other CertID hashes, serials not yet
	// pre-signed or whose pre-signed response expired, unknown serials.
	Signer OCSPSigner
	Clock  clock.Clock  // default clock.Real
	Log    *slog.Logger // default: discard
	// Metrics receives nemid_ocsp_* counters; nil: not registered.
	Metrics prometheus.Registerer

	// CacheTTL is how long a served response is kept in memory; it bounds
	// how stale an answer can be (see the freshness bound above). Default
	// DefaultOCSPCacheTTL; negative disables the cache.
	CacheTTL time.Duration
	// CacheSize bounds the number of cached responses. Default DefaultOCSPCacheSize.
	CacheSize int
	// MaxHTTPAge caps Cache-Control max-age on GET responses, so that
	// revocations spread through HTTP caches quickly. Default DefaultOCSPMaxHTTPAge.
	MaxHTTPAge time.Duration
	// MaxLiveSigns bounds concurrent request-time signatures (a flood of
	// random serials must not exhaust the key); beyond it, requests wait
	// briefly and then get "tryLater". Default 8.
	MaxLiveSigns int
}

// OCSPResponder serves OCSP requests for one issuing CA. It is an
// http.Handler for POST /ocsp and GET /ocsp/{base64}.
type OCSPResponder struct {
	issuer     *x509.Certificate
	hashes     map[crypto.Hash]issuerHashes
	presigned  OCSPSource
	signer     OCSPSigner
	clock      clock.Clock
	log        *slog.Logger
	cache      *ocspCache
	maxHTTPAge time.Duration
	maxAgeHdr  []string // Cache-Control with max-age = maxHTTPAge
	signSem    chan struct{}
	m          ocspMetrics

	// The unsigned error answers (RFC 6960 §4.2.1), each with its counter.
	malformedEntry, unauthorizedEntry, internalEntry, tryLaterEntry *ocspEntry
}

// issuerHashes are the issuer's CertID hashes under one algorithm.
type issuerHashes struct{ name, key []byte }

// NewOCSPResponder checks cfg, fills in defaults and precomputes the
// issuer's CertID hashes for every algorithm x/crypto/ocsp parses.
func NewOCSPResponder(cfg OCSPConfig) (*OCSPResponder, error) {
	if cfg.Issuer == nil || cfg.Presigned == nil || cfg.Signer == nil {
		return nil, errors.New("ocsp responder: Issuer, Presigned and Signer are required")
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if rest, err := asn1.Unmarshal(cfg.Issuer.RawSubjectPublicKeyInfo, &spki); err != nil || len(rest) > 0 {
		return nil, fmt.Errorf("ocsp responder: issuer public key: %v", err)
	}
	o := &OCSPResponder{
		issuer:     cfg.Issuer,
		hashes:     map[crypto.Hash]issuerHashes{},
		presigned:  cfg.Presigned,
		signer:     cfg.Signer,
		clock:      cfg.Clock,
		log:        cfg.Log,
		maxHTTPAge: cfg.MaxHTTPAge,
	}
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		n, k := h.New(), h.New()
		n.Write(cfg.Issuer.RawSubject)
		k.Write(spki.PublicKey.RightAlign())
		o.hashes[h] = issuerHashes{name: n.Sum(nil), key: k.Sum(nil)}
	}
	if o.clock == nil {
		o.clock = clock.Real{}
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	if o.maxHTTPAge <= 0 {
		o.maxHTTPAge = DefaultOCSPMaxHTTPAge
	}
	o.maxAgeHdr = []string{"max-age=" + strconv.Itoa(int(o.maxHTTPAge/time.Second)) + ", public, no-transform, must-revalidate"}
	ttl, size := cfg.CacheTTL, cfg.CacheSize
	if ttl == 0 {
		ttl = DefaultOCSPCacheTTL
	}
	if size <= 0 {
		size = DefaultOCSPCacheSize
	}
	if cfg.MaxLiveSigns <= 0 {
		cfg.MaxLiveSigns = 8
	}
	o.signSem = make(chan struct{}, cfg.MaxLiveSigns)
	m, err := newOCSPMetrics(cfg.Metrics)
	if err != nil {
		return nil, err
	}
	o.m = m
	o.cache = newOCSPCache(ttl, size, o.clock.Now, m.cacheHits)
	o.malformedEntry = newErrorEntry(ocsp.MalformedRequestErrorResponse, m.malformed)
	o.unauthorizedEntry = newErrorEntry(ocsp.UnauthorizedErrorResponse, m.unauthorized)
	o.internalEntry = newErrorEntry(ocsp.InternalErrorErrorResponse, m.internal)
	o.tryLaterEntry = newErrorEntry(ocsp.TryLaterErrorResponse, m.tryLater)
	return o, nil
}

// Register adds POST /ocsp and GET /ocsp/<base64> to mux. Through the mux
// alone, a GET whose base64 holds "//" unescaped is redirected by ServeMux
// (STACK.md G6); server.New therefore asks RawRoute first.
func (o *OCSPResponder) Register(mux *http.ServeMux) {
	mux.Handle("POST /ocsp", o)
	mux.Handle("POST /ocsp/{$}", o) // some clients append a slash to the AIA URL
	// A subtree pattern, not "{req...}": ServeMux would unescape the whole
	// path for a named wildcard on every request, and we decode it ourselves.
	mux.Handle("GET /ocsp/", o)
}

// ocspGETRoute is the route label of GET requests taken by RawRoute.
const ocspGETRoute = "GET /ocsp/"

// RawRoute claims GET and HEAD requests under /ocsp/ before ServeMux can
// clean (and so corrupt) their path; it implements server.RawRouter.
func (o *OCSPResponder) RawRoute(r *http.Request) (string, http.Handler) {
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && strings.HasPrefix(requestPath(r), "/ocsp/") {
		return ocspGETRoute, o
	}
	return "", nil
}

// Shared header values: assigning these slices directly avoids an
// allocation per request. Nothing writes into a header value slice in
// place (Set replaces it; Add appends, which copies a full slice).
var (
	hdrOCSPResponse = []string{"application/ocsp-response"}
	hdrNoStore      = []string{"no-store"}
)

// bodyPool holds POST body buffers (one byte over the cap, to detect a
// body that is too large without reading all of it).
var bodyPool = sync.Pool{New: func() any { b := make([]byte, maxOCSPRequest+1); return &b }}

// ServeHTTP answers one OCSP request. Every OCSP answer, including the
// unsigned error responses, is sent with HTTP 200: the OCSP status is in the
// body (RFC 6960 §2.3), and clients such as openssl read it from there.
func (o *OCSPResponder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := o.clock.Now()
	var (
		e   *ocspEntry
		get bool
	)
	switch r.Method {
	case http.MethodPost:
		bp := bodyPool.Get().(*[]byte)
		if r.ContentLength > maxOCSPRequest {
			e = o.malformed("request body too large")
		} else if n, err := io.ReadFull(r.Body, *bp); err == nil {
			e = o.malformed("request body too large")
		} else if err == io.ErrUnexpectedEOF || err == io.EOF {
			body := (*bp)[:n]
			if e = o.cache.getPOST(body, now); e == nil {
				var until time.Time
				if e, until = o.answer(r.Context(), body, now); !until.IsZero() {
					o.cache.putRaw(false, string(body), e, until)
				}
			}
		} else {
			// The client went away or sent a broken body: nobody to answer.
			bodyPool.Put(bp)
			o.log.Debug("ocsp: reading request body", "err", err)
			return
		}
		bodyPool.Put(bp)
	case http.MethodGet, http.MethodHead:
		get = true
		path := requestPath(r)
		if e = o.cache.getGET(path, now); e == nil {
			if der, ok := decodeOCSPGET(path); !ok {
				e = o.malformed("GET path is not base64 of a request")
			} else {
				var until time.Time
				if e, until = o.answer(r.Context(), der, now); !until.IsZero() {
					o.cache.putRaw(true, path, e, until)
				}
			}
		}
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	e.counter.Inc()

	h := w.Header()
	h["Content-Type"] = hdrOCSPResponse
	h["Content-Length"] = e.contentLength
	if get {
		// RFC 5019 §6.2: GET answers are cacheable until nextUpdate; we cap
		// max-age so that a revocation spreads through caches quickly.
		if e.etag == nil {
			h["Cache-Control"] = hdrNoStore
		} else {
			h["Etag"] = e.etag // canonical form of ETag: Header.Get finds it
			h["Last-Modified"] = e.lastModified
			h["Expires"] = e.expiresHdr
			h["Cache-Control"] = o.cacheControl(e, now)
			if inm := r.Header["If-None-Match"]; len(inm) == 1 && inm[0] == e.etag[0] {
				delete(h, "Content-Length")
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
	}
	w.WriteHeader(http.StatusOK)
	w.Write(e.der) //nolint:errcheck // the client went away; nothing to do
}

// requestPath is the request's path as sent: "/" and "//" in base64 must
// survive. It prefers the raw request line (what the server read) to the
// re-escaped URL.
func requestPath(r *http.Request) string {
	if u := r.RequestURI; len(u) > 0 && u[0] == '/' {
		if i := strings.IndexByte(u, '?'); i >= 0 {
			u = u[:i]
		}
		return u
	}
	return r.URL.EscapedPath()
}

// cacheControl is the RFC 5019 §6.2 Cache-Control of a signed answer:
// max-age is the time to nextUpdate, capped at MaxHTTPAge (precomputed, the
// common case).
func (o *OCSPResponder) cacheControl(e *ocspEntry, now time.Time) []string {
	age := e.nextUpdate.Sub(now)
	if age >= o.maxHTTPAge {
		return o.maxAgeHdr
	}
	if age < 0 {
		age = 0
	}
	return []string{"max-age=" + strconv.FormatInt(int64(age/time.Second), 10) + ", public, no-transform, must-revalidate"}
}

// decodeOCSPGET extracts the DER request from a GET path
// /ocsp/<url-encoded base64> (RFC 6960 appendix A.1). It reads the path as
// sent, so "/" and "//" inside the base64 survive; it accepts %-escapes
// (%2F, %2B, %3D), the standard and the URL-safe alphabet, with or without
// padding, and a space where a form-decoding proxy turned "+" into one.
func decodeOCSPGET(escapedPath string) ([]byte, bool) {
	s, ok := strings.CutPrefix(escapedPath, "/ocsp/")
	if !ok || s == "" || len(s) > 3*(maxOCSPRequest*4/3+4) {
		return nil, false
	}
	if strings.IndexByte(s, '%') >= 0 {
		var err error
		if s, err = url.PathUnescape(s); err != nil {
			return nil, false
		}
	}
	b := []byte(strings.TrimRight(s, "="))
	for i, c := range b {
		switch c {
		case '-':
			b[i] = '+'
		case '_':
			b[i] = '/'
		case ' ':
			b[i] = '+'
		}
	}
	der := make([]byte, base64.RawStdEncoding.DecodedLen(len(b)))
	n, err := base64.RawStdEncoding.Decode(der, b)
	if err != nil || n > maxOCSPRequest {
		return nil, false
	}
	return der[:n], true
}

// answer maps a DER request to the entry to send, and for a signed answer
// until when the cache keeps it (zero otherwise). It never fails: errors
// become the unsigned OCSP error responses.
func (o *OCSPResponder) answer(ctx context.Context, der []byte, now time.Time) (*ocspEntry, time.Time) {
	if len(der) == 0 {
		return o.malformedAt("empty request")
	}
	req, err := ocsp.ParseRequest(der)
	if err != nil {
		return o.malformedAt(err.Error())
	}
	if n, ok := countCertIDs(der); !ok || n != 1 {
		return o.malformedAt("request must hold exactly one CertID")
	}
	if req.SerialNumber == nil || req.SerialNumber.BitLen() > maxSerialBits {
		return o.malformedAt("serial number longer than 20 octets")
	}
	ih, ok := o.hashes[req.HashAlgorithm]
	if !ok {
		return o.malformedAt("unsupported CertID hash")
	}
	if !bytes.Equal(ih.name, req.IssuerNameHash) || !bytes.Equal(ih.key, req.IssuerKeyHash) {
		return o.unauthorizedEntry, time.Time{}
	}
	key := ocspCacheKey{hash: req.HashAlgorithm, serial: req.SerialNumber.Text(16)}
	e, until, err := o.cache.get(ctx, key, now, func() (*ocspEntry, error) {
		return o.fill(ctx, key, req.SerialNumber)
	})
	if err != nil {
		if errors.Is(err, errTryLater) {
			return o.tryLaterEntry, time.Time{}
		}
		return o.internalEntry, time.Time{}
	}
	return e, until
}

// errTryLater marks failures the client should retry: store unavailable,
// signing capacity exhausted, request context done.
var errTryLater = errors.New("ocsp: try later")

// fill fetches (SHA-1, pre-signed) or signs the response for one key. It
// runs once per key per CacheTTL however many requests wait for it, so it
// does not inherit the first requester's cancellation.
func (o *OCSPResponder) fill(ctx context.Context, key ocspCacheKey, serial *big.Int) (*ocspEntry, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ocspFillTimeout)
	defer cancel()
	if key.hash == crypto.SHA1 {
		rec, err := o.presigned.OCSPResponse(ctx, key.serial)
		switch {
		case err == nil && o.clock.Now().Before(rec.NextUpdate):
			e, perr := o.newEntry(rec.DER, key.hash, serial)
			if perr == nil {
				return e, nil
			}
			// A broken stored response must not be served; sign afresh.
			o.log.Error("ocsp: stored response unusable, signing live", "serial", key.serial, "err", perr)
		case err == nil, errors.Is(err, store.ErrNotFound):
			// Expired, or not pre-signed yet (or never issued): sign live.
		default:
			o.log.Error("ocsp: reading pre-signed response", "serial", key.serial, "err", err)
			return nil, errTryLater
		}
	}
	select {
	case o.signSem <- struct{}{}:
	default:
		t := time.NewTimer(100 * time.Millisecond)
		select {
		case o.signSem <- struct{}{}:
			t.Stop()
		case <-t.C:
			o.log.Warn("ocsp: live signing saturated", "serial", key.serial, "hash", key.hash.String())
			return nil, errTryLater
		}
	}
	der, err := o.signer.SignOCSP(ctx, serial, key.hash)
	<-o.signSem
	o.m.liveSigns.Inc()
	if err != nil {
		o.log.Error("ocsp: signing response", "serial", key.serial, "hash", key.hash.String(), "err", err)
		if ctx.Err() != nil {
			return nil, errTryLater
		}
		return nil, err
	}
	e, err := o.newEntry(der, key.hash, serial)
	if err != nil {
		o.log.Error("ocsp: signer returned an unusable response", "serial", key.serial, "hash", key.hash.String(), "err", err)
		return nil, err
	}
	return e, nil
}

// newEntry parses a signed response once (checking its signature against
// the issuing CA, and that it answers the question asked) and precomputes
// everything serving it needs.
func (o *OCSPResponder) newEntry(der []byte, hash crypto.Hash, serial *big.Int) (*ocspEntry, error) {
	resp, err := ocsp.ParseResponse(der, o.issuer)
	if err != nil {
		return nil, err
	}
	if resp.SerialNumber == nil || resp.SerialNumber.Cmp(serial) != 0 || resp.IssuerHash != hash {
		return nil, fmt.Errorf("response is for serial %v under %v, not %v under %v", resp.SerialNumber, resp.IssuerHash, serial, hash)
	}
	var c prometheus.Counter
	switch resp.Status {
	case ocsp.Good:
		c = o.m.good
	case ocsp.Revoked:
		c = o.m.revoked
	default:
		c = o.m.unknown
	}
	return newSignedEntry(der, resp.ThisUpdate, resp.NextUpdate, c), nil
}

// malformed returns the malformedRequest answer; the reason is logged at
// debug level only (a client's garbage is not an operational event), and
// never the request bytes.
func (o *OCSPResponder) malformed(reason string) *ocspEntry {
	o.log.Debug("ocsp: malformed request", "reason", reason)
	return o.malformedEntry
}

func (o *OCSPResponder) malformedAt(reason string) (*ocspEntry, time.Time) {
	return o.malformed(reason), time.Time{}
}
