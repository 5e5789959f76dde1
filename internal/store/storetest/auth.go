package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/store"
)

// newUser returns a valid registration: user n, with its first card.
func newUser(n int) store.NewUser {
	nemid := fmt.Sprintf("%09d", 100000000+n)
	return store.NewUser{
		User: store.User{
			NemID: nemid, CPR: fmt.Sprintf("01019%05d", n), Name: fmt.Sprintf("Bruger %d", n),
			Address: []string{"Vej " + fmt.Sprint(n), "1000 København K"}, State: store.StateAwaitingActivation,
			TempMAC: bytes.Repeat([]byte{byte(n)}, 32), TempExpiresAt: t0.Add(14 * 24 * time.Hour), CreatedAt: t0,
		},
		Event: store.UserEvent{At: t0, To: store.StateAwaitingActivation, Actor: "operator:test", Reason: "registered"},
		Card:  store.KeyCard{Number: fmt.Sprintf("A%09d", n), Status: store.CardCurrent, IssuedAt: t0, Reason: "first card"},
		Keys:  keys(3, byte(n)),
	}
}

// keys returns n keys numbered 0001, 0002, … with MACs derived from seed.
func keys(n int, seed byte) []store.KeyCardKey {
	out := make([]store.KeyCardKey, n)
	for i := range out {
		out[i] = store.KeyCardKey{Number: fmt.Sprintf("%04d", i+1), CodeMAC: bytes.Repeat([]byte{seed + byte(i)}, 32)}
	}
	return out
}

func createUser(t *testing.T, s store.Store, nu store.NewUser) store.User {
	t.Helper()
	id, err := s.CreateUser(ctx(t), nu)
	if err != nil {
		t.Fatalf("CreateUser(%s): %v", nu.User.NemID, err)
	}
	u, err := s.User(ctx(t), id)
	if err != nil {
		t.Fatalf("User(%d): %v", id, err)
	}
	return u
}

// sameUser fails unless got is want as stored.
func sameUser(t *testing.T, got, want store.User) {
	t.Helper()
	if got.NemID != want.NemID || got.CPR != want.CPR || got.Alias != want.Alias || got.Name != want.Name ||
		!slices.Equal(got.Address, want.Address) || got.State != want.State || got.BlockedBy != want.BlockedBy ||
		got.StateReason != want.StateReason || got.PasswordHash != want.PasswordHash ||
		got.PasswordFailures != want.PasswordFailures || got.PasswordPending != want.PasswordPending ||
		got.AfterQuarantine != want.AfterQuarantine ||
		!bytes.Equal(got.TempMAC, want.TempMAC) || got.ChallengeSeq != want.ChallengeSeq {
		t.Errorf("user = %+v\nwant %+v", got, want)
	}
	sameTime(t, "QuarantinedUntil", got.QuarantinedUntil, want.QuarantinedUntil)
	sameTime(t, "PendingUntil", got.PendingUntil, want.PendingUntil)
	sameTime(t, "TempExpiresAt", got.TempExpiresAt, want.TempExpiresAt)
	sameTime(t, "TempUsedAt", got.TempUsedAt, want.TempUsedAt)
	sameTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
}

func testCreateUser(t *testing.T, s store.Store) {
	nu := newUser(1)
	nu.User.Alias = "Min.Alias"
	u := createUser(t, s, nu)
	want := nu.User
	want.ID = u.ID
	sameUser(t, u, want)
	for name, lookup := range map[string]func() (store.User, error){
		"UserByNemID": func() (store.User, error) { return s.UserByNemID(ctx(t), nu.User.NemID) },
		"UserByCPR":   func() (store.User, error) { return s.UserByCPR(ctx(t), nu.User.CPR) },
		"UserByAlias": func() (store.User, error) { return s.UserByAlias(ctx(t), "mIN.aLIAS") },
	} {
		if got, err := lookup(); err != nil || got.ID != u.ID {
			t.Errorf("%s = %d, %v; want user %d", name, got.ID, err, u.ID)
		}
	}
	events, err := s.UserEvents(ctx(t), u.ID)
	if err != nil || len(events) != 1 || events[0].From != "" || events[0].To != store.StateAwaitingActivation ||
		events[0].Actor != "operator:test" || events[0].UserID != u.ID {
		t.Errorf("UserEvents = %+v, %v; want the creation", events, err)
	}
	cards, err := s.KeyCards(ctx(t), u.ID)
	if err != nil || len(cards) != 1 || cards[0].Number != nu.Card.Number || cards[0].Status != store.CardCurrent ||
		cards[0].Remaining != 3 || cards[0].UserID != u.ID {
		t.Errorf("KeyCards = %+v, %v; want the first card with 3 keys", cards, err)
	}
	// A second user gets another ID; no user is found for unknown ids.
	u2 := createUser(t, s, newUser(2))
	if u2.ID == u.ID {
		t.Errorf("two users have ID %d", u.ID)
	}
	for name, err := range map[string]error{
		"User":        func() error { _, err := s.User(ctx(t), u2.ID+100); return err }(),
		"UserByNemID": func() error { _, err := s.UserByNemID(ctx(t), "999999999"); return err }(),
		"UserByCPR":   func() error { _, err := s.UserByCPR(ctx(t), "0101990000"); return err }(),
		"UserByAlias": func() error { _, err := s.UserByAlias(ctx(t), "nosuch"); return err }(),
	} {
		mustErr(t, name, err, store.ErrNotFound)
	}
}

func testCreateUserDuplicate(t *testing.T, s store.Store) {
	first := newUser(1)
	first.User.Alias = "Alias"
	createUser(t, s, first)
	tests := []struct {
		name   string
		change func(nu *store.NewUser)
		want   error
	}{
		{"NemID number", func(nu *store.NewUser) { nu.User.NemID = first.User.NemID }, store.ErrNemIDNumberTaken},
		{"CPR", func(nu *store.NewUser) { nu.User.CPR = first.User.CPR }, store.ErrCPRTaken},
		{"alias in other case", func(nu *store.NewUser) { nu.User.Alias = "aLIAS" }, store.ErrAliasTaken},
		{"card number", func(nu *store.NewUser) { nu.Card.Number = first.Card.Number }, store.ErrCardNumberTaken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			nu := newUser(2)
			tc.change(&nu)
			_, err := s.CreateUser(ctx(t), nu)
			mustErr(t, "CreateUser", err, tc.want)
			mustErr(t, "CreateUser", err, store.ErrDuplicate)
			// Nothing of it was stored.
			if _, err := s.UserByNemID(ctx(t), newUser(2).User.NemID); !errors.Is(err, store.ErrNotFound) && tc.want != store.ErrNemIDNumberTaken {
				t.Errorf("user after a refused CreateUser: %v", err)
			}
			if _, err := s.UserByCPR(ctx(t), newUser(2).User.CPR); !errors.Is(err, store.ErrNotFound) && tc.want != store.ErrCPRTaken {
				t.Errorf("user by CPR after a refused CreateUser: %v", err)
			}
		})
	}
	// And the refused ones left room for the real second user.
	createUser(t, s, newUser(2))
}

func testCreateUserInvalid(t *testing.T, s store.Store) {
	tests := map[string]func(nu *store.NewUser){
		"short NemID number":  func(nu *store.NewUser) { nu.User.NemID = "12345678" },
		"CPR with dash":       func(nu *store.NewUser) { nu.User.CPR = "010190-0001" },
		"state":               func(nu *store.NewUser) { nu.User.State = "sleeping" },
		"active":              func(nu *store.NewUser) { nu.User.State = store.StateActive },
		"no temp password":    func(nu *store.NewUser) { nu.User.TempMAC, nu.User.TempExpiresAt = nil, time.Time{} },
		"temp without expiry": func(nu *store.NewUser) { nu.User.TempExpiresAt = time.Time{} },
		"card not current":    func(nu *store.NewUser) { nu.Card.Status = store.CardNext },
		"no keys":             func(nu *store.NewUser) { nu.Keys = nil },
		"short MAC":           func(nu *store.NewUser) { nu.Keys[0].CodeMAC = []byte{1} },
		"ID given":            func(nu *store.NewUser) { nu.User.ID = 7 },
		"no creation time":    func(nu *store.NewUser) { nu.User.CreatedAt = time.Time{} },
		"quarantine end":      func(nu *store.NewUser) { nu.User.QuarantinedUntil = t0 },
	}
	for name, change := range tests {
		nu := newUser(1)
		change(&nu)
		if _, err := s.CreateUser(ctx(t), nu); err == nil || errors.Is(err, store.ErrDuplicate) {
			t.Errorf("%s: CreateUser: err = %v, want a validation error", name, err)
		}
	}
	// None of them left anything behind.
	createUser(t, s, newUser(1))
}

func testUpdateAuth(t *testing.T, s store.Store) {
	u := createUser(t, s, newUser(1))
	other := createUser(t, s, newUser(2))
	// A committed change.
	err := s.UpdateAuth(ctx(t), func(tx store.AuthTx) error {
		got, err := tx.LockUser(u.ID)
		if err != nil {
			return err
		}
		got.State, got.QuarantinedUntil, got.AfterQuarantine = store.StateQuarantined, t0.Add(8*time.Hour), true
		got.PasswordFailures, got.Alias, got.ChallengeSeq = 0, "Nyt.Alias", 7
		got.PasswordPending, got.PendingUntil = 2, t0.Add(time.Minute)
		got.TempUsedAt = t0.Add(time.Minute)
		if err := tx.UpdateUser(got); err != nil {
			return err
		}
		return tx.AddUserEvent(store.UserEvent{UserID: u.ID, At: t0, From: store.StateAwaitingActivation, To: store.StateQuarantined, Actor: "system", Reason: "5 wrong passwords"})
	})
	if err != nil {
		t.Fatalf("UpdateAuth: %v", err)
	}
	want := u
	want.State, want.QuarantinedUntil, want.AfterQuarantine, want.Alias, want.ChallengeSeq = store.StateQuarantined, t0.Add(8*time.Hour), true, "Nyt.Alias", 7
	want.TempUsedAt = t0.Add(time.Minute)
	want.PasswordPending, want.PendingUntil = 2, t0.Add(time.Minute)
	got, err := s.User(ctx(t), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameUser(t, got, want)
	if events, _ := s.UserEvents(ctx(t), u.ID); len(events) != 2 || events[1].To != store.StateQuarantined {
		t.Errorf("events = %+v, want the creation and the quarantine", events)
	}

	// A failed function changes nothing.
	boom := errors.New("boom")
	err = s.UpdateAuth(ctx(t), func(tx store.AuthTx) error {
		got, err := tx.LockUser(u.ID)
		if err != nil {
			return err
		}
		got.PasswordFailures = 3
		if err := tx.UpdateUser(got); err != nil {
			return err
		}
		return boom
	})
	mustErr(t, "UpdateAuth returning an error", err, boom)
	if got, _ := s.User(ctx(t), u.ID); got.PasswordFailures != 0 {
		t.Errorf("PasswordFailures = %d after a rolled-back update", got.PasswordFailures)
	}

	// A taken alias, an invalid user and an unknown user.
	err = s.UpdateAuth(ctx(t), func(tx store.AuthTx) error {
		o, err := tx.LockUser(other.ID)
		if err != nil {
			return err
		}
		o.Alias = "NYT.alias"
		return tx.UpdateUser(o)
	})
	mustErr(t, "UpdateUser with a taken alias", err, store.ErrAliasTaken)
	err = s.UpdateAuth(ctx(t), func(tx store.AuthTx) error {
		o, err := tx.LockUser(other.ID)
		if err != nil {
			return err
		}
		o.State = store.StateBlocked // without BlockedBy
		return tx.UpdateUser(o)
	})
	if err == nil {
		t.Error("UpdateUser of a blocked user without BlockedBy: no error")
	}
	err = s.UpdateAuth(ctx(t), func(tx store.AuthTx) error {
		for _, slot := range []int{0, 63, 63} {
			if err := tx.TouchDecoy(slot); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Errorf("TouchDecoy: %v", err)
	}
	if err := s.UpdateAuth(ctx(t), func(tx store.AuthTx) error { return tx.TouchDecoy(64) }); err == nil {
		t.Error("TouchDecoy(64): no error")
	}
	err = s.UpdateAuth(ctx(t), func(tx store.AuthTx) error { _, err := tx.LockUser(other.ID + 100); return err })
	mustErr(t, "LockUser(unknown)", err, store.ErrNotFound)
	err = s.UpdateAuth(ctx(t), func(tx store.AuthTx) error {
		return tx.AddUserEvent(store.UserEvent{UserID: other.ID + 100, At: t0, To: store.StateActive, Actor: "system"})
	})
	mustErr(t, "AddUserEvent(unknown user)", err, store.ErrNotFound)
}

func testKeyCards(t *testing.T, s store.Store) {
	u := createUser(t, s, newUser(1))
	first := newUser(1).Card.Number
	err := s.UpdateAuth(ctx(t), func(tx store.AuthTx) error {
		if _, err := tx.LockUser(u.ID); err != nil {
			return err
		}
		keys, err := tx.UnchallengedKeys(first)
		if err != nil {
			return err
		}
		if want := []string{"0001", "0002", "0003"}; !slices.Equal(keys, want) {
			return fmt.Errorf("UnchallengedKeys = %v, want %v", keys, want)
		}
		if err := tx.ChallengeKey(first, "0002", t0); err != nil {
			return err
		}
		if err := tx.ChallengeKey(first, "0002", t0); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("ChallengeKey twice: %v, want ErrNotFound", err)
		}
		if err := tx.ChallengeKey(first, "9999", t0); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("ChallengeKey(unknown key): %v, want ErrNotFound", err)
		}
		keys, err = tx.UnchallengedKeys(first)
		if err != nil || !slices.Equal(keys, []string{"0001", "0003"}) {
			return fmt.Errorf("UnchallengedKeys after a challenge = %v, %v", keys, err)
		}
		mac, err := tx.KeyCodeMAC(first, "0002")
		if err != nil || !bytes.Equal(mac, newUser(1).Keys[1].CodeMAC) {
			return fmt.Errorf("KeyCodeMAC = %x, %v", mac, err)
		}
		if _, err := tx.KeyCodeMAC(first, "0009"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("KeyCodeMAC(unknown key): %v, want ErrNotFound", err)
		}
		next := store.KeyCard{Number: "B000000001", UserID: u.ID, Status: store.CardNext, IssuedAt: t0.Add(time.Hour), Reason: "ordered"}
		if err := tx.InsertKeyCard(next, keys2()); err != nil {
			return err
		}
		second := next
		second.Number = "B000000002"
		if err := tx.InsertKeyCard(second, keys2()); !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("a second next card: %v, want ErrConflict", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.UpdateAuth(ctx(t), func(tx store.AuthTx) error {
		taken := store.KeyCard{Number: first, UserID: u.ID, Status: store.CardSpent, IssuedAt: t0}
		return tx.InsertKeyCard(taken, keys2())
	})
	mustErr(t, "InsertKeyCard with a taken number", err, store.ErrCardNumberTaken)
	err = s.UpdateAuth(ctx(t), func(tx store.AuthTx) error {
		c := store.KeyCard{Number: "B000000003", UserID: u.ID + 100, Status: store.CardSpent, IssuedAt: t0}
		return tx.InsertKeyCard(c, keys2())
	})
	mustErr(t, "InsertKeyCard for an unknown user", err, store.ErrNotFound)

	cards, err := s.KeyCards(ctx(t), u.ID)
	if err != nil || len(cards) != 2 || cards[0].Remaining != 2 || cards[1].Number != "B000000001" ||
		cards[1].Status != store.CardNext || cards[1].Remaining != 2 {
		t.Fatalf("KeyCards = %+v, %v", cards, err)
	}
	// Promote: the current card spent, the next current. In the other
	// order the unique index refuses a second current card.
	err = s.UpdateAuth(ctx(t), func(tx store.AuthTx) error {
		next := cards[1]
		next.Status = store.CardCurrent
		return tx.UpdateKeyCard(next)
	})
	mustErr(t, "UpdateKeyCard making a second current card", err, store.ErrConflict)
	err = s.UpdateAuth(ctx(t), func(tx store.AuthTx) error {
		cur, next := cards[0], cards[1]
		cur.Status, cur.FinishedAt, cur.Failures = store.CardSpent, t0.Add(time.Hour), 2
		if err := tx.UpdateKeyCard(cur); err != nil {
			return err
		}
		next.Status, next.ActivatedAt = store.CardCurrent, t0.Add(time.Hour)
		return tx.UpdateKeyCard(next)
	})
	if err != nil {
		t.Fatal(err)
	}
	cards, _ = s.KeyCards(ctx(t), u.ID)
	if cards[0].Status != store.CardSpent || cards[0].Failures != 2 || cards[1].Status != store.CardCurrent {
		t.Errorf("after the promotion: %+v", cards)
	}
	sameTime(t, "FinishedAt", cards[0].FinishedAt, t0.Add(time.Hour))
	sameTime(t, "ActivatedAt", cards[1].ActivatedAt, t0.Add(time.Hour))
}

func keys2() []store.KeyCardKey { return keys(2, 200) }

func testLogonFlows(t *testing.T, s store.Store) {
	u := createUser(t, s, newUser(1))
	hash := fmt.Sprintf("%064x", 1)
	f := store.LogonFlow{IDHash: hash, UserID: u.ID, Step: store.FlowOTP, Activation: true, Card: "A100000001",
		Key: "0002", ChallengeSeq: 1, CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}
	err := s.UpdateAuth(ctx(t), func(tx store.AuthTx) error { return tx.InsertLogonFlow(f) })
	if err != nil {
		t.Fatal(err)
	}
	err = s.UpdateAuth(ctx(t), func(tx store.AuthTx) error { return tx.InsertLogonFlow(f) })
	mustErr(t, "InsertLogonFlow twice", err, store.ErrDuplicate)
	got, err := s.LogonFlow(ctx(t), hash)
	if err != nil || got.UserID != u.ID || got.Step != store.FlowOTP || !got.Activation || got.Card != f.Card || got.Key != f.Key || got.ChallengeSeq != 1 {
		t.Fatalf("LogonFlow = %+v, %v", got, err)
	}
	sameTime(t, "ExpiresAt", got.ExpiresAt, f.ExpiresAt)
	err = s.UpdateAuth(ctx(t), func(tx store.AuthTx) error {
		f, err := tx.LockLogonFlow(hash)
		if err != nil {
			return err
		}
		f.Step, f.ExpiresAt = store.FlowDone, t0.Add(20*time.Minute)
		return tx.UpdateLogonFlow(f)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := s.LogonFlow(ctx(t), hash); got.Step != store.FlowDone {
		t.Errorf("step after update = %s", got.Step)
	}
	_, err = s.LogonFlow(ctx(t), fmt.Sprintf("%064x", 2))
	mustErr(t, "LogonFlow(unknown)", err, store.ErrNotFound)
	err = s.UpdateAuth(ctx(t), func(tx store.AuthTx) error { _, err := tx.LockLogonFlow(fmt.Sprintf("%064x", 2)); return err })
	mustErr(t, "LockLogonFlow(unknown)", err, store.ErrNotFound)
	err = s.UpdateAuth(ctx(t), func(tx store.AuthTx) error {
		bad := f
		bad.IDHash, bad.UserID = fmt.Sprintf("%064x", 3), u.ID+100
		return tx.InsertLogonFlow(bad)
	})
	mustErr(t, "InsertLogonFlow for an unknown user", err, store.ErrNotFound)

	// Only flows expired before the time go.
	n, err := s.DeleteLogonFlows(ctx(t), t0.Add(20*time.Minute))
	if err != nil || n != 0 {
		t.Errorf("DeleteLogonFlows at the expiry = %d, %v; want 0", n, err)
	}
	n, err = s.DeleteLogonFlows(ctx(t), t0.Add(21*time.Minute))
	if err != nil || n != 1 {
		t.Errorf("DeleteLogonFlows after the expiry = %d, %v; want 1", n, err)
	}
}

func testAuthSecret(t *testing.T, s store.Store) {
	_, err := s.AuthSecret(ctx(t), "mac")
	mustErr(t, "AuthSecret before creation", err, store.ErrNotFound)
	const n = 10
	got := make([][]byte, n)
	errs := parallel(n, func(i int) error {
		var err error
		got[i], err = s.CreateAuthSecret(ctx(t), "mac", []byte{byte(i + 1)}, t0)
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("CreateAuthSecret %d: %v", i, err)
		}
	}
	for i := range got {
		if !bytes.Equal(got[i], got[0]) {
			t.Fatalf("concurrent creators got different secrets: %v and %v", got[0], got[i])
		}
	}
	stored, err := s.AuthSecret(ctx(t), "mac")
	if err != nil || !bytes.Equal(stored, got[0]) {
		t.Errorf("AuthSecret = %v, %v; want %v", stored, err, got[0])
	}
	if _, err := s.CreateAuthSecret(ctx(t), "", []byte{1}, t0); err == nil {
		t.Error("CreateAuthSecret without a name: no error")
	}
}

// testUpdateAuthConcurrent: the user's row lock makes read-modify-write
// exact: 100 goroutines each adding one to a counter leave exactly 100.
func testUpdateAuthConcurrent(t *testing.T, s store.Store) {
	u := createUser(t, s, newUser(1))
	const n = 100
	var runs atomic.Int64
	errs := parallel(n, func(int) error {
		return s.UpdateAuth(ctx(t), func(tx store.AuthTx) error {
			runs.Add(1)
			got, err := tx.LockUser(u.ID)
			if err != nil {
				return err
			}
			got.PasswordFailures++
			return tx.UpdateUser(got)
		})
	})
	for _, err := range errs {
		if err != nil {
			t.Fatalf("UpdateAuth: %v", err)
		}
	}
	got, err := s.User(ctx(t), u.ID)
	if err != nil || got.PasswordFailures != n {
		t.Fatalf("PasswordFailures = %d, %v; want %d (%d runs of the function)", got.PasswordFailures, err, n, runs.Load())
	}
}

func testAuthContextCancelled(t *testing.T, s store.Store) {
	u := createUser(t, s, newUser(1))
	c, cancel := context.WithCancel(context.Background())
	cancel()
	calls := map[string]func() error{
		"CreateUser": func() error { _, err := s.CreateUser(c, newUser(2)); return err },
		"UpdateAuth": func() error {
			return s.UpdateAuth(c, func(tx store.AuthTx) error {
				got, err := tx.LockUser(u.ID)
				if err != nil {
					return err
				}
				got.PasswordFailures = 9
				return tx.UpdateUser(got)
			})
		},
		"DeleteLogonFlows": func() error { _, err := s.DeleteLogonFlows(c, t0); return err },
		"CreateAuthSecret": func() error { _, err := s.CreateAuthSecret(c, "x", []byte{1}, t0); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: err = %v, want context.Canceled", name, err)
		}
	}
	if _, err := s.UserByNemID(ctx(t), newUser(2).User.NemID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after a cancelled CreateUser: %v", err)
	}
	if got, _ := s.User(ctx(t), u.ID); got.PasswordFailures != 0 {
		t.Errorf("after a cancelled UpdateAuth: PasswordFailures = %d", got.PasswordFailures)
	}
}
