// Package clock gives every package one source of the current time, so that
// tests can freeze it (real NemID fixtures are valid only at fixed past moments).
package clock

import (
	"sync"
	"time"
)

// Clock tells the current time.
type Clock interface {
	Now() time.Time
}

// Real is the system clock.
type Real struct{}

// Now returns the system time in UTC.
func (Real) Now() time.Time { return time.Now().UTC() }

// Frozen is a clock that stands still until it is moved. It is safe for
// concurrent use.
type Frozen struct {
	mu sync.Mutex
	t  time.Time
}

// NewFrozen returns a clock frozen at t.
func NewFrozen(t time.Time) *Frozen { return &Frozen{t: t.UTC()} }

// Now returns the frozen time.
func (f *Frozen) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

// Set moves the clock to t.
func (f *Frozen) Set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = t.UTC()
}

// Advance moves the clock forward by d.
func (f *Frozen) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = f.t.Add(d)
}
