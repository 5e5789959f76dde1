package auth

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/ca/keys"
	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/store/storetest"
)

type nullMailer struct{}

func (nullMailer) KeyCardLetter(context.Context, User, *KeyCard) error { return nil }
func (nullMailer) TemporaryPasswordLetter(context.Context, User, string, time.Time) error {
	return nil
}

// TestUncheckedAttemptGivesBack: an admitted attempt whose password
// cannot be checked (the caller went away while it waited for a hash slot)
// gives its place back, so it counts neither as wrong nor as pending.
func TestUncheckedAttemptGivesBack(t *testing.T) {
	ctx := context.Background()
	st := storetest.OpenSQLite(t)
	path := filepath.Join(t.TempDir(), "mk")
	if err := keys.CreateMasterKeyFile(path); err != nil {
		t.Fatal(err)
	}
	mk, err := keys.LoadMasterKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer mk.Close()
	s, err := New(ctx, Config{Store: st, MasterKey: mk, Mailer: nullMailer{}, MaxConcurrentHashes: 1,
		Argon2: Argon2Params{Memory: 64, Time: 1, Threads: 1}, Clock: clock.NewFrozen(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := s.Register(ctx, OperatorActor("t"), Registration{Name: "A B", CPR: "0101901234", Address: []string{"Vej 1"}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.claimPasswordAttempt(ctx, reg.User.ID)
	if err != nil {
		t.Fatal(err)
	}
	if u, _ := st.User(ctx, reg.User.ID); u.PasswordPending != 1 {
		t.Fatalf("pending after the claim = %d, want 1", u.PasswordPending)
	}
	// Every hash slot taken; the caller gives up while waiting.
	if err := s.hasher.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.hasher.release()
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if _, _, _, err := s.checkClaimed(short, c, reg.TemporaryPassword); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("checkClaimed with no slot: %v, want the deadline", err)
	}
	u, _ := st.User(ctx, reg.User.ID)
	if u.PasswordPending != 0 || u.PasswordFailures != 0 || !u.PendingUntil.IsZero() {
		t.Errorf("after an unchecked attempt: pending %d, failures %d, lease %v", u.PasswordPending, u.PasswordFailures, u.PendingUntil)
	}
}
