package revocation

import (
	"context"
	"crypto"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"hash/maphash"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// ocspEntry is one answer ready to send: the DER and every header value
// precomputed, so that serving it allocates (almost) nothing. Entries are
// immutable once built and shared between requests.
type ocspEntry struct {
	der           []byte
	contentLength []string
	counter       prometheus.Counter // responses served, by status
	// Signed answers only (nil for the unsigned error answers, which are
	// not HTTP-cacheable):
	nextUpdate                     time.Time
	etag, lastModified, expiresHdr []string
}

// newErrorEntry is an unsigned error answer (RFC 6960 §4.2.1).
func newErrorEntry(der []byte, c prometheus.Counter) *ocspEntry {
	return &ocspEntry{der: der, contentLength: []string{strconv.Itoa(len(der))}, counter: c}
}

// newSignedEntry precomputes the RFC 5019 §6.2 caching headers of a signed
// answer: Last-Modified = thisUpdate, Expires = nextUpdate, ETag = SHA-1 of
// the response.
func newSignedEntry(der []byte, thisUpdate, nextUpdate time.Time, c prometheus.Counter) *ocspEntry {
	sum := sha1.Sum(der)
	e := newErrorEntry(der, c)
	e.nextUpdate = nextUpdate
	e.etag = []string{`"` + hex.EncodeToString(sum[:]) + `"`}
	e.lastModified = []string{thisUpdate.UTC().Format(http.TimeFormat)}
	e.expiresHdr = []string{"0"} // already expired, if there is no nextUpdate
	if !nextUpdate.IsZero() {
		e.expiresHdr = []string{nextUpdate.UTC().Format(http.TimeFormat)}
	}
	return e
}

// ocspCacheKey names one answer: the CertID hash and the serial (hex). The
// issuer is implied: requests for another issuer never reach the cache.
type ocspCacheKey struct {
	hash   crypto.Hash
	serial string
}

// ocspCache keeps served answers for a short TTL, so that a burst of
// requests for one serial costs one store lookup (or one signature), and
// collapses concurrent misses for one key into one fill. Two levels:
//
//   - by (hash, serial), filled from the store or the signer;
//   - by the raw request — the POST body or the GET path — so that a repeated
//     identical request (OOAPI sends no nonce) skips decoding and ASN.1
//     parsing. A raw entry never outlives the keyed entry it was copied
//     from, so both levels give the same freshness bound. Only requests up
//     to maxRawKey bytes are kept there, bounding its memory.
//
// Both are sharded to keep lock contention low, and bounded in size.
type ocspCache struct {
	ttl      time.Duration // < 0: no caching (every request fills)
	perShard int
	now      func() time.Time
	hits     prometheus.Counter
	seed     maphash.Seed
	byKey    [ocspCacheShards]keyShard
	rawPOST  [ocspCacheShards]rawShard
	rawGET   [ocspCacheShards]rawShard
	// inflight holds the fills in progress; taken only on a miss.
	mu       sync.Mutex
	inflight map[ocspCacheKey]*ocspCall
}

const (
	ocspCacheShards = 64
	// maxRawKey: a single-CertID request is ~70–120 bytes of DER, ~100–160
	// of base64; with a nonce a little more.
	maxRawKey = 256
)

type keyShard struct {
	mu sync.RWMutex
	m  map[ocspCacheKey]ocspCached
}

type rawShard struct {
	mu sync.RWMutex
	m  map[string]ocspCached
}

type ocspCached struct {
	e     *ocspEntry
	until time.Time
}

// ocspCall is one fill in progress; waiters block on done.
type ocspCall struct {
	done  chan struct{}
	e     *ocspEntry
	until time.Time
	err   error
}

// errFillAborted is what waiters see if a fill panicked.
var errFillAborted = errors.New("ocsp: response fill aborted")

func newOCSPCache(ttl time.Duration, size int, now func() time.Time, hits prometheus.Counter) *ocspCache {
	c := &ocspCache{ttl: ttl, perShard: (size + ocspCacheShards - 1) / ocspCacheShards, now: now, hits: hits,
		seed: maphash.MakeSeed(), inflight: map[ocspCacheKey]*ocspCall{}}
	for i := range c.byKey {
		c.byKey[i].m = map[ocspCacheKey]ocspCached{}
		c.rawPOST[i].m = map[string]ocspCached{}
		c.rawGET[i].m = map[string]ocspCached{}
	}
	return c
}

// get returns the answer for k: cached if fresh at now; otherwise from
// fill — run once, however many requests ask meanwhile — and then cached.
// until is when the answer leaves the cache. A waiter whose ctx ends gets
// errTryLater.
func (c *ocspCache) get(ctx context.Context, k ocspCacheKey, now time.Time, fill func() (*ocspEntry, error)) (e *ocspEntry, until time.Time, err error) {
	if c.ttl < 0 {
		e, err = fill()
		return e, time.Time{}, err
	}
	s := &c.byKey[(maphash.String(c.seed, k.serial)+uint64(k.hash))%ocspCacheShards]
	s.mu.RLock()
	v, ok := s.m[k]
	s.mu.RUnlock()
	if ok && now.Before(v.until) {
		c.hits.Inc()
		return v.e, v.until, nil
	}

	c.mu.Lock()
	if call, ok := c.inflight[k]; ok {
		c.mu.Unlock()
		select {
		case <-call.done:
			return call.e, call.until, call.err
		case <-ctx.Done():
			return nil, time.Time{}, errTryLater
		}
	}
	call := &ocspCall{done: make(chan struct{}), err: errFillAborted}
	c.inflight[k] = call
	c.mu.Unlock()

	defer func() {
		if call.err == nil {
			call.until = c.until(call.e)
			s.mu.Lock()
			if call.until.After(c.now()) {
				evict(s.m, c.now(), c.perShard)
				s.m[k] = ocspCached{e: call.e, until: call.until}
			}
			s.mu.Unlock()
		}
		c.mu.Lock()
		delete(c.inflight, k)
		c.mu.Unlock()
		close(call.done)
	}()
	call.e, call.err = fill()
	return call.e, call.until, call.err
}

// until is when a freshly filled answer leaves the cache: after the TTL,
// but never past the answer's nextUpdate.
func (c *ocspCache) until(e *ocspEntry) time.Time {
	u := c.now().Add(c.ttl)
	if !e.nextUpdate.IsZero() && e.nextUpdate.Before(u) {
		u = e.nextUpdate
	}
	return u
}

// getPOST looks up an answer by the raw POST body.
func (c *ocspCache) getPOST(body []byte, now time.Time) *ocspEntry {
	if c.ttl < 0 || len(body) > maxRawKey {
		return nil
	}
	s := &c.rawPOST[maphash.Bytes(c.seed, body)%ocspCacheShards]
	s.mu.RLock()
	v, ok := s.m[string(body)] // no allocation: the compiler special-cases this lookup
	s.mu.RUnlock()
	return c.fresh(v, ok, now)
}

// getGET looks up an answer by the raw GET path.
func (c *ocspCache) getGET(path string, now time.Time) *ocspEntry {
	if c.ttl < 0 || len(path) > maxRawKey {
		return nil
	}
	s := &c.rawGET[maphash.String(c.seed, path)%ocspCacheShards]
	s.mu.RLock()
	v, ok := s.m[path]
	s.mu.RUnlock()
	return c.fresh(v, ok, now)
}

func (c *ocspCache) fresh(v ocspCached, ok bool, now time.Time) *ocspEntry {
	if ok && now.Before(v.until) {
		c.hits.Inc()
		return v.e
	}
	return nil
}

// putRaw remembers e for a raw request (the GET path if get, else the POST
// body) until the time its keyed entry expires.
func (c *ocspCache) putRaw(get bool, raw string, e *ocspEntry, until time.Time) {
	if c.ttl < 0 || len(raw) > maxRawKey || until.IsZero() {
		return
	}
	var s *rawShard
	if get {
		s = &c.rawGET[maphash.String(c.seed, raw)%ocspCacheShards]
	} else {
		s = &c.rawPOST[maphash.String(c.seed, raw)%ocspCacheShards]
	}
	now := c.now()
	s.mu.Lock()
	if now.Before(until) {
		evict(s.m, now, c.perShard)
		s.m[raw] = ocspCached{e: e, until: until}
	}
	s.mu.Unlock()
}

// evict makes room in a full shard map: it drops expired entries, then, if
// still full, arbitrary ones. With a 1 s TTL almost everything is expired
// by the time a shard fills.
func evict[K comparable](m map[K]ocspCached, now time.Time, max int) {
	if len(m) < max {
		return
	}
	for k, v := range m {
		if !now.Before(v.until) {
			delete(m, k)
		}
	}
	for k := range m {
		if len(m) < max {
			break
		}
		delete(m, k)
	}
}

// countCertIDs counts the Requests in an OCSPRequest's requestList (RFC 6960
// §4.1.1); ocsp.ParseRequest silently keeps only the first.
func countCertIDs(der []byte) (int, bool) {
	in := cryptobyte.String(der)
	var req, tbs, list cryptobyte.String
	if !in.ReadASN1(&req, cbasn1.SEQUENCE) || !req.ReadASN1(&tbs, cbasn1.SEQUENCE) ||
		!tbs.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) || // version
		!tbs.SkipOptionalASN1(cbasn1.Tag(1).Constructed().ContextSpecific()) || // requestorName
		!tbs.ReadASN1(&list, cbasn1.SEQUENCE) {
		return 0, false
	}
	n := 0
	for !list.Empty() {
		if !list.SkipASN1(cbasn1.SEQUENCE) {
			return 0, false
		}
		n++
	}
	return n, true
}

// ocspMetrics are the responder's counters, resolved once so that counting
// a response is one atomic add.
type ocspMetrics struct {
	good, revoked, unknown                      prometheus.Counter
	malformed, unauthorized, internal, tryLater prometheus.Counter
	liveSigns, cacheHits                        prometheus.Counter
}

func newOCSPMetrics(reg prometheus.Registerer) (ocspMetrics, error) {
	responses := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "nemid_ocsp_responses_total",
		Help: "OCSP responses served, by status: good, revoked, unknown (signed); malformed, unauthorized, internal, trylater (unsigned errors).",
	}, []string{"status"})
	live := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "nemid_ocsp_live_signatures_total",
		Help: "OCSP responses signed at request time rather than pre-signed.",
	})
	hits := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "nemid_ocsp_cache_hits_total",
		Help: "OCSP requests answered from the responder's in-memory cache.",
	})
	if reg != nil {
		for _, c := range []prometheus.Collector{responses, live, hits} {
			if err := reg.Register(c); err != nil {
				return ocspMetrics{}, err
			}
		}
	}
	return ocspMetrics{
		good: responses.WithLabelValues("good"), revoked: responses.WithLabelValues("revoked"),
		unknown: responses.WithLabelValues("unknown"), malformed: responses.WithLabelValues("malformed"),
		unauthorized: responses.WithLabelValues("unauthorized"), internal: responses.WithLabelValues("internal"),
		tryLater: responses.WithLabelValues("trylater"), liveSigns: live, cacheHits: hits,
	}, nil
}

// byStatus returns the response counter of a status label (for tests and tools).
func (m ocspMetrics) byStatus(s string) prometheus.Counter {
	return map[string]prometheus.Counter{"good": m.good, "revoked": m.revoked, "unknown": m.unknown,
		"malformed": m.malformed, "unauthorized": m.unauthorized, "internal": m.internal, "trylater": m.tryLater}[s]
}
