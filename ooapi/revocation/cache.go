package revocation

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"sync"
	"time"
)

// maxCacheEntries bounds a cache. A CRL cache holds one entry per CA (or
// partition); an OCSP cache one per certificate seen within MaxAge, which
// for a busy service provider can be many.
const maxCacheEntries = 10_000

// cache holds verified revocation answers (CRLs, OCSP responses) and
// makes concurrent misses for one key share one fetch. What it holds has
// been verified against the issuer that is part of the key, but not
// against any time: every caller checks the answer at its own time.
//
// An entry is used while both hold: the caller's time is not after the
// answer's nextUpdate (the answer's own validity, judged by the caller's
// clock as everything else), and less than maxAge of wall-clock time has
// passed since it was fetched (how long we go without asking again). The
// zero cache is ready to use.
type cache[V any] struct {
	mu      sync.Mutex
	entries map[string]cacheEntry[V]
	flights map[string]*flight[V]
}

type cacheEntry[V any] struct {
	val        V
	nextUpdate time.Time
	fetched    time.Time
}

// flight is a fetch in progress; val and err are set before done closes.
type flight[V any] struct {
	done chan struct{}
	val  V
	err  error
	// joined counts the callers that found the fetch in progress and
	// waited for it instead of fetching (guarded by the cache's mu).
	joined int
}

// fetchFunc fetches and verifies an answer, and says until when it is
// valid (zero: it has no nextUpdate and must not be cached).
type fetchFunc[V any] func(ctx context.Context) (V, time.Time, error)

type cachePolicy struct {
	method  string
	maxAge  time.Duration // ≤ 0: never kept
	timeout time.Duration // bounds one fetch
	now     func() time.Time
}

// get returns the answer for key, from the cache when it is usable at at,
// else from fetch. The fetch runs detached from ctx's cancellation (other
// callers may be waiting for it) but bounded by the policy's timeout; ctx
// only bounds how long this caller waits.
func (c *cache[V]) get(ctx context.Context, key string, at time.Time, p cachePolicy, fetch fetchFunc[V]) (V, error) {
	c.mu.Lock()
	if e, ok := c.entries[key]; ok {
		if p.maxAge > 0 && !at.After(e.nextUpdate) && p.now().Sub(e.fetched) < p.maxAge {
			c.mu.Unlock()
			return e.val, nil
		}
	}
	f, ok := c.flights[key]
	if ok {
		f.joined++
	} else {
		f = &flight[V]{done: make(chan struct{})}
		if c.flights == nil {
			c.flights = map[string]*flight[V]{}
		}
		c.flights[key] = f
		go c.run(context.WithoutCancel(ctx), key, f, p, fetch)
	}
	c.mu.Unlock()
	select {
	case <-f.done:
		return f.val, f.err
	case <-ctx.Done():
		var zero V
		return zero, fail(p.method, ErrUnreachable, "gave up waiting for the answer", ctx.Err())
	}
}

func (c *cache[V]) run(ctx context.Context, key string, f *flight[V], p cachePolicy, fetch fetchFunc[V]) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	var next time.Time
	func() {
		// The fetch parses what a server sent. Should a parser panic on it,
		// the waiting callers get an error (and refuse the certificate)
		// rather than the process dying or the callers waiting forever.
		defer func() {
			if r := recover(); r != nil {
				f.err = fail(p.method, ErrInvalid, "internal error while reading the answer", fmt.Errorf("panic: %v", r))
			}
		}()
		f.val, next, f.err = fetch(ctx)
	}()
	c.mu.Lock()
	delete(c.flights, key)
	if f.err == nil && p.maxAge > 0 && !next.IsZero() {
		now := p.now()
		if c.entries == nil {
			c.entries = map[string]cacheEntry[V]{}
		}
		if len(c.entries) >= maxCacheEntries {
			c.prune(now, p.maxAge)
		}
		c.entries[key] = cacheEntry[V]{val: f.val, nextUpdate: next, fetched: now}
	}
	c.mu.Unlock()
	close(f.done)
}

// prune drops the entries older than maxAge, and if that is not enough,
// arbitrary ones down to 90 % of the limit. Called with mu held.
func (c *cache[V]) prune(now time.Time, maxAge time.Duration) {
	for k, e := range c.entries {
		if now.Sub(e.fetched) >= maxAge {
			delete(c.entries, k)
		}
	}
	for k := range c.entries {
		if len(c.entries) < maxCacheEntries*9/10 {
			break
		}
		delete(c.entries, k)
	}
}

// issuerKey identifies an issuer certificate exactly, for cache keys: an
// answer verified with one CA's key is never used for another CA, even
// one with the same name.
func issuerKey(issuer *x509.Certificate) string {
	sum := sha256.Sum256(issuer.Raw)
	return string(sum[:])
}

// policyDefaults fills a checker's zero settings.
func policyDefaults(method string, maxAge, defMaxAge, timeout, defTimeout time.Duration, now func() time.Time) cachePolicy {
	p := cachePolicy{method: method, maxAge: maxAge, timeout: timeout, now: now}
	if p.maxAge == 0 {
		p.maxAge = defMaxAge
	}
	if p.timeout <= 0 {
		p.timeout = defTimeout
	}
	if p.now == nil {
		p.now = time.Now
	}
	return p
}
