package auth_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/nemid-dk/nemid/internal/auth"
	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/ooapi"
)

const racers = 100

// countEvents counts the user's events into a state.
func countEvents(t *testing.T, e *env, nemid string, to auth.State) int {
	t.Helper()
	events, err := e.svc.Events(bg, nemid)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range events {
		if ev.To == to {
			n++
		}
	}
	return n
}

// TestParallelWrongPasswords: 100 wrong passwords at once are counted
// exactly: exactly QuarantineAfter of them are checked (the last of which
// quarantines), the other 95 are refused unchecked with AUTH004; after the
// quarantine, 100 more: LockAfter checked, one locks, 97 refused with AUTH005.
func TestParallelWrongPasswords(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		r := e.register(t, "")
		e.activate(t, r, "Hemmelig42")
		id := r.User.NemID
		round := func(wantLock ooapi.Code, checked int, refused ooapi.Code) {
			t.Helper()
			errs := parallel(racers, func(int) error {
				_, err := e.svc.StartLogon(bg, id, "Forkert42")
				return err
			})
			got := tally(errs)
			// Refused unchecked: while the checks run, "too many attempts";
			// once one has locked the user out, the lock-out's code.
			unchecked := got["too-many-attempts"] + got[string(refused)]
			if got[string(wantLock)] != 1 || got["invalid-credentials"] != checked-1 || unchecked != racers-checked ||
				len(got) > 4 {
				t.Fatalf("answers %v: want 1 %s, %d invalid-credentials and %d refused unchecked", got, wantLock, checked-1, racers-checked)
			}
		}
		round(ooapi.LOCK001, auth.DefaultQuarantineAfter, ooapi.AUTH004)
		if n := countEvents(t, e, id, auth.StateQuarantined); n != 1 {
			t.Errorf("%d quarantines recorded, want 1", n)
		}
		e.clock.Advance(auth.DefaultQuarantine)
		round(ooapi.LOCK002, auth.DefaultLockAfter, ooapi.AUTH005)
		if n := countEvents(t, e, id, auth.StateLocked); n != 1 {
			t.Errorf("%d locks recorded, want 1", n)
		}
		if s := e.state(t, id); s != auth.StateLocked {
			t.Errorf("state %s, want locked", s)
		}
	})
}

// TestParallelRightAndWrongPasswords: right passwords among parallel wrong
// ones: no run of wrong passwords between two right ones gets more checks
// than the threshold.
func TestParallelRightAndWrongPasswords(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		r := e.register(t, "")
		e.activate(t, r, "Hemmelig42")
		errs := parallel(racers, func(i int) error {
			pw := "Forkert42"
			if i%10 == 0 {
				pw = "Hemmelig42"
			}
			_, err := e.svc.StartLogon(bg, r.User.NemID, pw)
			return err
		})
		got := tally(errs)
		// 90 wrong, 10 right. A right password forgives the wrong ones
		// before it, so the wrong ones checked split into runs, one after
		// each success and one before the first: every run but the last
		// stays below the threshold (else it would have quarantined), the
		// last reaches it at most.
		limit := auth.DefaultQuarantineAfter
		if wrong := got["invalid-credentials"] + got["LOCK001"]; wrong > (limit-1)*got["ok"]+limit || got["LOCK001"] > 1 {
			t.Errorf("answers %v: more wrong passwords checked than the threshold allows", got)
		}
		if got["ok"]+got["invalid-credentials"]+got["LOCK001"]+got["AUTH004"]+got["too-many-attempts"] != racers {
			t.Errorf("answers %v: unexpected kinds", got)
		}
	})
}

// TestParallelWrongCodes: 100 wrong codes at once for one challenge:
// exactly RevokeAfter are counted (the last revokes), the other 95 are
// refused with AUTH007.
func TestParallelWrongCodes(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		r := e.register(t, "")
		e.activate(t, r, "Hemmelig42")
		f, err := e.svc.StartLogon(bg, r.User.NemID, "Hemmelig42")
		if err != nil {
			t.Fatal(err)
		}
		wrong := e.wrongCode(t, f)
		errs := parallel(racers, func(int) error {
			_, err := e.svc.AnswerOTP(bg, f.ID, f.KeyNumber, wrong)
			return err
		})
		got := tally(errs)
		want := map[string]int{"LOCK003": 1, "wrong-code": auth.DefaultRevokeAfter - 1, "AUTH007": racers - auth.DefaultRevokeAfter}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("answers %v, want %v", got, want)
		}
		cards, _ := e.svc.KeyCards(bg, r.User.NemID)
		if cards[0].Status != store.CardRevoked || cards[0].Failures != auth.DefaultRevokeAfter {
			t.Errorf("card %+v, want revoked after exactly %d failures", cards[0], auth.DefaultRevokeAfter)
		}
		if n := countEvents(t, e, r.User.NemID, auth.StateRevoked); n != 1 {
			t.Errorf("%d revocations recorded, want 1", n)
		}
	})
}

// TestParallelLogonsDistinctKeys: parallel logons never get one key twice.
func TestParallelLogonsDistinctKeys(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		r := e.register(t, "")
		e.activate(t, r, "Hemmelig42")
		const n = 20
		keys := make([]string, n)
		errs := parallel(n, func(i int) error {
			for {
				f, err := e.svc.StartLogon(bg, r.User.NemID, "Hemmelig42")
				if errors.Is(err, auth.ErrTooManyAttempts) {
					continue // as many are being checked as may be: try again
				}
				if err == nil {
					keys[i] = f.KeyNumber
				}
				return err
			}
		})
		seen := map[string]bool{}
		for i, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
			if seen[keys[i]] {
				t.Fatalf("key %s was asked for twice", keys[i])
			}
			seen[keys[i]] = true
		}
		cards, _ := e.svc.KeyCards(bg, r.User.NemID)
		if cards[0].Remaining != auth.KeysPerCard-1-n {
			t.Errorf("%d keys left, want %d", cards[0].Remaining, auth.KeysPerCard-1-n)
		}
	})
}
