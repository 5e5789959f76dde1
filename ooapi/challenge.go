package ooapi

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrNoChallenge is returned by ChallengeStore.Take when no challenge is
// stored for the session.
var ErrNoChallenge = errors.New("ooapi: no challenge stored for the session")

// ChallengeStore keeps each session's outstanding challenge on the service
// provider's side between building the parameters and validating the
// response. Validator takes the challenge out of the store before it looks
// at a response, whatever the outcome: a challenge is good for one response
// only, so a captured response cannot be replayed, and a failed attempt
// means starting the flow again.
//
// MemoryChallenges is an implementation for a single process; a service
// provider with several servers implements the interface on its shared
// session store (for example Redis GETDEL, or DELETE … RETURNING in SQL),
// keeping Take atomic.
type ChallengeStore interface {
	// Put stores c as the session's outstanding challenge, replacing any
	// earlier one (the user started the flow again).
	Put(ctx context.Context, session string, c Challenge) error
	// Take removes the session's challenge and returns it, atomically: of
	// two concurrent Takes at most one gets it. It returns ErrNoChallenge
	// when there is none (never put, taken already, or expired).
	Take(ctx context.Context, session string) (Challenge, error)
}

// MemoryChallenges is a ChallengeStore in memory, for one process. A
// challenge expires TTL after it was put (DefaultChallengeTTL if zero).
type MemoryChallenges struct {
	TTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu      sync.Mutex
	entries map[string]challengeEntry
	puts    int
}

// DefaultChallengeTTL is how long MemoryChallenges keeps a challenge: long
// enough for a user to find a key card, short enough not to pile up.
const DefaultChallengeTTL = 30 * time.Minute

type challengeEntry struct {
	c       Challenge
	expires time.Time
}

func (m *MemoryChallenges) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// Put implements ChallengeStore.
func (m *MemoryChallenges) Put(_ context.Context, session string, c Challenge) error {
	if session == "" || c == "" {
		return errors.New("ooapi: MemoryChallenges.Put: empty session or challenge")
	}
	ttl := m.TTL
	if ttl <= 0 {
		ttl = DefaultChallengeTTL
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.entries == nil {
		m.entries = map[string]challengeEntry{}
	}
	now := m.now()
	m.entries[session] = challengeEntry{c: c, expires: now.Add(ttl)}
	// Sweep expired entries now and then, so abandoned flows do not pile up.
	if m.puts++; m.puts%256 == 0 {
		for k, e := range m.entries {
			if !now.Before(e.expires) {
				delete(m.entries, k)
			}
		}
	}
	return nil
}

// Take implements ChallengeStore.
func (m *MemoryChallenges) Take(_ context.Context, session string) (Challenge, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[session]
	if !ok {
		return "", ErrNoChallenge
	}
	delete(m.entries, session)
	if !m.now().Before(e.expires) {
		return "", ErrNoChallenge
	}
	return e.c, nil
}
