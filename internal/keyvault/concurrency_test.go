package keyvault

import (
	"context"
	"crypto"
	"crypto/rsa"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/internal/store/storetest"
)

// TestConcurrentSign (6): 20 signatures at once through a bound of 2
// derivations all succeed, and no more than 2 derivations ever run at once.
func TestConcurrentSign(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		v, err := New(Config{Store: st, MasterKey: masterKey(t), KDF: testKDF, MaxConcurrentDerivations: 2, Clock: clock.NewFrozen(t0)})
		if err != nil {
			t.Fatal(err)
		}
		const users, n = 4, 20
		keys := make([]Key, users+1)
		for u := int64(1); u <= users; u++ {
			keys[u] = create(t, v, u, fmt.Sprintf("password-%d", u))
		}
		var running, most atomic.Int32
		v.kdf = func(pw, salt []byte, p KDFParams) []byte {
			now := running.Add(1)
			defer running.Add(-1)
			for {
				m := most.Load()
				if now <= m || most.CompareAndSwap(m, now) {
					break
				}
			}
			return argon2id(pw, salt, p)
		}
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				u := int64(i%users + 1)
				msg := fmt.Sprintf("document %d", i)
				sig, err := v.Sign(context.Background(), u, fmt.Sprintf("password-%d", u), digestOf(msg), crypto.SHA256)
				if err == nil {
					err = verify(keys[u], msg, sig)
				}
				errs[i] = err
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("Sign %d: %v", i, err)
			}
		}
		if m := most.Load(); m > 2 || m < 1 {
			t.Fatalf("at most %d derivations ran at once; the bound is 2", m)
		}
		t.Logf("%d signatures, at most %d derivations at once", n, most.Load())
	})
}

// TestDerivationWaitCancelled: a caller waiting for a derivation slot
// gives up when its context ends, and the slot's holder is unaffected.
func TestDerivationWaitCancelled(t *testing.T) {
	st := storetest.OpenSQLite(t)
	v, err := New(Config{Store: st, MasterKey: masterKey(t), KDF: testKDF, MaxConcurrentDerivations: 1, Clock: clock.NewFrozen(t0)})
	if err != nil {
		t.Fatal(err)
	}
	k := create(t, v, 1, "pass1234")
	entered, release := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	v.kdf = func(pw, salt []byte, p KDFParams) []byte {
		if calls.Add(1) == 1 {
			close(entered)
			<-release
		}
		return argon2id(pw, salt, p)
	}
	holder := make(chan error, 1)
	go func() {
		sig, err := v.Sign(context.Background(), 1, "pass1234", digestOf("first"), crypto.SHA256)
		if err == nil {
			err = verify(k, "first", sig)
		}
		holder <- err
	}()
	<-entered // the only slot is taken

	c, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	sig, err := v.Sign(c, 1, "pass1234", digestOf("second"), crypto.SHA256)
	if !errors.Is(err, context.DeadlineExceeded) || sig != nil {
		t.Fatalf("Sign while the slot is taken = %x, %v; want context.DeadlineExceeded", sig, err)
	}
	c2, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if err := v.ChangePassword(c2, 1, "pass1234", "other1234"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ChangePassword while the slot is taken = %v, want context.DeadlineExceeded", err)
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d derivations started while the only slot was taken", n-1)
	}
	close(release)
	if err := <-holder; err != nil {
		t.Fatalf("the slot's holder: %v", err)
	}
	// The slot is free again.
	v.kdf = argon2id
	mustSign(t, v, 1, "pass1234", "third", k.Public)
}

// TestConcurrentChangePassword: two password changes racing from the same
// old password: one wins, the other changes nothing, and exactly the
// winner's password signs afterwards.
func TestConcurrentChangePassword(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		v := newVault(t, st, masterKey(t))
		k := create(t, v, 1, "start1234")
		news := []string{"first1234", "second123"}
		errs := make([]error, len(news))
		var wg sync.WaitGroup
		for i, pw := range news {
			wg.Go(func() { errs[i] = v.ChangePassword(context.Background(), 1, "start1234", pw) })
		}
		wg.Wait()
		won := -1
		for i, err := range errs {
			switch {
			case err == nil && won >= 0:
				t.Fatal("both password changes succeeded")
			case err == nil:
				won = i
			case !errors.Is(err, ErrConflict) && !errors.Is(err, ErrWrongPassword):
				// The loser either lost the compare-and-swap, or read
				// the winner's blob and found the old password wrong.
				t.Fatalf("change %d: %v, want ErrConflict or ErrWrongPassword", i, err)
			}
		}
		if won < 0 {
			t.Fatalf("no password change succeeded: %v", errs)
		}
		mustSign(t, v, 1, news[won], "winner", k.Public)
		signFails(t, v, 1, news[1-won], ErrWrongPassword)
		signFails(t, v, 1, "start1234", ErrWrongPassword)
		if row := activeRow(t, st, 1); row.Generation != 1 {
			t.Fatalf("generation %d after one successful change, want 1", row.Generation)
		}
	})
}

// TestReplaceRacesChangePassword: a password change that read the old key
// cannot write it back over the key a replacement made.
func TestReplaceRacesChangePassword(t *testing.T) {
	st := storetest.OpenSQLite(t)
	v := newVault(t, st, masterKey(t))
	create(t, v, 1, "start1234")
	// Hold the password change inside its derivation of the new wrapping
	// (the second derivation: the first unwraps) while Replace runs.
	calls := 0
	entered, release := make(chan struct{}), make(chan struct{})
	v.kdf = func(pw, salt []byte, p KDFParams) []byte {
		calls++
		if calls == 2 {
			close(entered)
			<-release
		}
		return argon2id(pw, salt, p)
	}
	done := make(chan error, 1)
	go func() { done <- v.ChangePassword(context.Background(), 1, "start1234", "changed12") }()
	<-entered
	v2 := *v
	v2.kdf = argon2id
	k2, err := v2.Replace(ctx(t), 1, "replaced1")
	if err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-done; !errors.Is(err, ErrConflict) {
		t.Fatalf("ChangePassword overtaken by Replace = %v, want ErrConflict", err)
	}
	v.kdf = argon2id
	mustSign(t, v, 1, "replaced1", "new key", k2.Public)
	if row := activeRow(t, st, 1); row.Version != 2 {
		t.Fatalf("active version %d, want 2", row.Version)
	}
}

// TestParamsUpgrade: a key wrapped with weaker parameters than the vault's
// is re-wrapped with the vault's at its next signature, once.
func TestParamsUpgrade(t *testing.T) {
	st := storetest.OpenSQLite(t)
	mk := masterKey(t)
	old := newVault(t, st, mk)
	k := create(t, old, 1, "pass1234")
	stronger := KDFParams{Memory: 24 * 1024, Time: 3, Threads: 1}
	v, err := New(Config{Store: st, MasterKey: mk, KDF: stronger, Clock: clock.NewFrozen(t0)})
	if err != nil {
		t.Fatal(err)
	}
	mustSign(t, v, 1, "pass1234", "first", k.Public)
	row := activeRow(t, st, 1)
	in, err := parseInner(openInnerLayer(t, mk, row))
	if err != nil {
		t.Fatal(err)
	}
	if in.kdf != stronger || row.Generation != 1 {
		t.Fatalf("after signing: parameters %v generation %d; want %v and 1", in.kdf, row.Generation, stronger)
	}
	// Now current: no further re-wrap. The old vault, with weaker
	// parameters, reads the stronger blob and does not downgrade it.
	mustSign(t, v, 1, "pass1234", "second", k.Public)
	mustSign(t, old, 1, "pass1234", "third", k.Public)
	if row := activeRow(t, st, 1); row.Generation != 1 {
		t.Fatalf("generation %d after signing with current parameters, want 1", row.Generation)
	}
	signFails(t, v, 1, "wrong1234", ErrWrongPassword)
}

func verify(k Key, msg string, sig []byte) error {
	return rsa.VerifyPKCS1v15(k.Public, crypto.SHA256, digestOf(msg), sig)
}

// TestParamsUpgradeAtUnlock: a logon's Unlock re-wraps a key wrapped with
// weaker parameters, and what it returns opens the key as stored then.
func TestParamsUpgradeAtUnlock(t *testing.T) {
	st := storetest.OpenSQLite(t)
	mk := masterKey(t)
	k := create(t, newVault(t, st, mk), 1, "pass1234")
	stronger := KDFParams{Memory: 24 * 1024, Time: 3, Threads: 1}
	v, err := New(Config{Store: st, MasterKey: mk, KDF: stronger, Clock: clock.NewFrozen(t0)})
	if err != nil {
		t.Fatal(err)
	}
	u, err := v.Unlock(ctx(t), 1, "pass1234")
	if err != nil {
		t.Fatal(err)
	}
	row := activeRow(t, st, 1)
	in, err := parseInner(openInnerLayer(t, mk, row))
	if err != nil {
		t.Fatal(err)
	}
	if in.kdf != stronger || row.Generation != 1 {
		t.Fatalf("after Unlock: parameters %v generation %d; want %v and 1", in.kdf, row.Generation, stronger)
	}
	sig, err := v.SignUnlocked(ctx(t), 1, u, digestOf("after the upgrade"), crypto.SHA256)
	if err != nil || verify(k, "after the upgrade", sig) != nil {
		t.Fatalf("SignUnlocked after the upgrade: %v", err)
	}
}
