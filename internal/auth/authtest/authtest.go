// Package authtest helps tests of internal/auth and of the packages that
// use it: a Mailer that keeps the letters, so a test can read the key card
// and the temporary password a user was sent, and an Auditor that keeps
// the events.
package authtest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/nemid-dk/nemid/internal/auth"
)

// Letter is one letter a RecordingMailer received.
type Letter struct {
	To auth.User
	// Card is set for a key-card letter: a copy of the card, codes and all.
	Card *auth.KeyCard
	// TemporaryPassword and ValidUntil are set for a temporary-password letter.
	TemporaryPassword string
	ValidUntil        time.Time
}

// RecordingMailer is an auth.Mailer that keeps every letter in memory. Set
// Fail to make it refuse letters. It is safe for concurrent use.
type RecordingMailer struct {
	mu      sync.Mutex
	letters []Letter
	// Fail, when set, is returned for every letter (and nothing is kept).
	Fail error
}

var _ auth.Mailer = (*RecordingMailer)(nil)

// KeyCardLetter implements auth.Mailer.
func (m *RecordingMailer) KeyCardLetter(_ context.Context, to auth.User, card *auth.KeyCard) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Fail != nil {
		return m.Fail
	}
	c := &auth.KeyCard{Number: card.Number, Keys: slices.Clone(card.Keys)}
	m.letters = append(m.letters, Letter{To: to, Card: c})
	return nil
}

// TemporaryPasswordLetter implements auth.Mailer.
func (m *RecordingMailer) TemporaryPasswordLetter(_ context.Context, to auth.User, password string, validUntil time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Fail != nil {
		return m.Fail
	}
	m.letters = append(m.letters, Letter{To: to, TemporaryPassword: password, ValidUntil: validUntil})
	return nil
}

// SetFail sets (or with nil clears) the error every letter gets.
func (m *RecordingMailer) SetFail(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.Fail = err
}

// Letters returns the letters received so far, oldest first.
func (m *RecordingMailer) Letters() []Letter {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.letters)
}

// ErrNoLetter: the mailer has no such letter.
var ErrNoLetter = errors.New("authtest: no such letter")

// LatestCard returns the newest key card sent to the user with that NemID number.
func (m *RecordingMailer) LatestCard(nemid string) (*auth.KeyCard, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.letters) - 1; i >= 0; i-- {
		if l := m.letters[i]; l.To.NemID == nemid && l.Card != nil {
			return l.Card, nil
		}
	}
	return nil, ErrNoLetter
}

// CardByNumber returns the key card with that number, from any letter.
func (m *RecordingMailer) CardByNumber(number string) (*auth.KeyCard, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, l := range m.letters {
		if l.Card != nil && l.Card.Number == number {
			return l.Card, nil
		}
	}
	return nil, ErrNoLetter
}

// LatestTemporaryPassword returns the newest temporary password sent to the user.
func (m *RecordingMailer) LatestTemporaryPassword(nemid string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.letters) - 1; i >= 0; i-- {
		if l := m.letters[i]; l.To.NemID == nemid && l.TemporaryPassword != "" {
			return l.TemporaryPassword, nil
		}
	}
	return "", ErrNoLetter
}

// RecordingAuditor is an auth.Auditor that keeps the events in memory.
type RecordingAuditor struct {
	mu     sync.Mutex
	events []auth.AuditEvent
}

var _ auth.Auditor = (*RecordingAuditor)(nil)

// Record implements auth.Auditor.
func (a *RecordingAuditor) Record(_ context.Context, e auth.AuditEvent) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.events = append(a.events, e)
	return nil
}

// Events returns the events recorded so far, oldest first.
func (a *RecordingAuditor) Events() []auth.AuditEvent {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.events)
}
