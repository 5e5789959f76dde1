package revocation

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// noCaching keeps nothing (maxAge < 0), so only the shared flight can
// explain a single fetch.
var noCaching = cachePolicy{method: "test", maxAge: -1, timeout: time.Minute, now: time.Now}

// waitJoined waits until n callers have joined the fetch in progress for key.
func waitJoined[V any](t *testing.T, c *cache[V], key string, n int) {
	t.Helper()
	for {
		c.mu.Lock()
		f := c.flights[key]
		joined := f != nil && f.joined >= n
		c.mu.Unlock()
		if joined {
			return
		}
		runtime.Gosched()
	}
}

func TestCacheSharesOneFetch(t *testing.T) {
	var c cache[*int]
	var fetches atomic.Int32
	started, release := make(chan struct{}), make(chan struct{})
	fetch := func(context.Context) (*int, time.Time, error) {
		fetches.Add(1)
		close(started)
		<-release
		v := 42
		return &v, caAt.Add(time.Hour), nil
	}
	const callers = 8
	results := make(chan *int, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := c.get(context.Background(), "k", caAt, noCaching, fetch)
			if err != nil {
				t.Error(err)
			}
			results <- v
		}()
		if i == 0 {
			<-started // the others arrive while the first fetch runs
		}
	}
	waitJoined(t, &c, "k", callers-1)
	close(release)
	wg.Wait()
	close(results)
	var first *int
	for v := range results {
		if first == nil {
			first = v
		}
		if v != first {
			t.Error("callers got different answers")
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Fatalf("%d fetches for %d concurrent callers, want 1", n, callers)
	}
}

// A caller that gives up does not cancel the fetch others wait for, and
// its answer is kept.
func TestCacheCallerGivesUp(t *testing.T) {
	var c cache[string]
	p := cachePolicy{method: "test", maxAge: time.Minute, timeout: time.Minute, now: time.Now}
	var fetches atomic.Int32
	started, release := make(chan struct{}), make(chan struct{})
	fetchErr := make(chan error, 1)
	fetch := func(ctx context.Context) (string, time.Time, error) {
		fetches.Add(1)
		close(started)
		<-release
		fetchErr <- ctx.Err()
		return "crl", caAt.Add(time.Hour), nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := c.get(ctx, "k", caAt, p, fetch)
		done <- err
	}()
	<-started
	cancel()
	err := <-done
	if !errors.Is(err, ErrUnreachable) || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want ErrUnreachable caused by the cancellation", err)
	}
	close(release)
	if err := <-fetchErr; err != nil {
		t.Fatalf("the fetch was cancelled with its first caller: %v", err)
	}
	// Wait for the flight to land in the cache, then the next caller uses it.
	for {
		c.mu.Lock()
		_, flying := c.flights["k"]
		c.mu.Unlock()
		if !flying {
			break
		}
		runtime.Gosched()
	}
	v, err := c.get(context.Background(), "k", caAt, p, fetch)
	if err != nil || v != "crl" || fetches.Load() != 1 {
		t.Fatalf("got %q, %v after %d fetches; want the kept answer after 1", v, err, fetches.Load())
	}
}

func TestCachePanickingFetch(t *testing.T) {
	var c cache[int]
	calls := 0
	fetch := func(context.Context) (int, time.Time, error) {
		calls++
		if calls == 1 {
			var m map[string]int
			m["boom"] = 1 // a parser bug
		}
		return 7, caAt.Add(time.Hour), nil
	}
	_, err := c.get(context.Background(), "k", caAt, noCaching, fetch)
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("got %v, want ErrInvalid", err)
	}
	// Nothing is left behind: the next call fetches afresh.
	if v, err := c.get(context.Background(), "k", caAt, noCaching, fetch); err != nil || v != 7 {
		t.Fatalf("after the panic: %d, %v", v, err)
	}
}

func TestCacheErrorsAreNotKept(t *testing.T) {
	var c cache[int]
	p := cachePolicy{method: "test", maxAge: time.Hour, timeout: time.Minute, now: time.Now}
	calls := 0
	fetch := func(context.Context) (int, time.Time, error) {
		calls++
		return 0, time.Time{}, fail("test", ErrUnreachable, "down", nil)
	}
	for range 2 {
		if _, err := c.get(context.Background(), "k", caAt, p, fetch); !errors.Is(err, ErrUnreachable) {
			t.Fatal(err)
		}
	}
	if calls != 2 {
		t.Fatalf("%d fetches, want 2: a failure was kept", calls)
	}
}

func TestCacheIsBounded(t *testing.T) {
	var c cache[int]
	p := cachePolicy{method: "test", maxAge: time.Hour, timeout: time.Minute, now: time.Now}
	fetch := func(context.Context) (int, time.Time, error) { return 1, caAt.Add(time.Hour), nil }
	for i := range maxCacheEntries + 10 {
		if _, err := c.get(context.Background(), fmt.Sprint(i), caAt, p, fetch); err != nil {
			t.Fatal(err)
		}
	}
	c.mu.Lock()
	n := len(c.entries)
	c.mu.Unlock()
	if n > maxCacheEntries {
		t.Fatalf("%d entries, limit %d", n, maxCacheEntries)
	}
}
