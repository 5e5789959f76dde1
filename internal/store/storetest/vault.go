package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/store"
)

// vaultKey returns a new key record for CreateVaultKey or ReplaceVaultKey
// whose bytes say what they belong to, so a mix-up shows.
func vaultKey(user, version int64) store.VaultKey {
	return store.VaultKey{
		UserID:    user,
		Version:   version,
		PublicKey: []byte(fmt.Sprintf("public key %d/%d", user, version)),
		Blob:      []byte(fmt.Sprintf("blob %d/%d", user, version)),
		CreatedAt: t0.Add(time.Duration(version) * time.Hour),
	}
}

func createVaultKey(t *testing.T, s store.Store, k store.VaultKey) {
	t.Helper()
	if err := s.CreateVaultKey(ctx(t), k); err != nil {
		t.Fatalf("CreateVaultKey(%d): %v", k.UserID, err)
	}
}

// sameVaultKey fails unless got is want as stored.
func sameVaultKey(t *testing.T, got store.VaultKey, want store.VaultKey) {
	t.Helper()
	if got.UserID != want.UserID || got.Version != want.Version || got.State != want.State ||
		!bytes.Equal(got.PublicKey, want.PublicKey) || !bytes.Equal(got.Blob, want.Blob) ||
		(got.Blob == nil) != (want.Blob == nil) || got.Generation != want.Generation {
		t.Errorf("vault key = %+v\nwant %+v", got, want)
	}
	sameTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, "UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	sameTime(t, "EndedAt", got.EndedAt, want.EndedAt)
}

// storedVaultKey is k as the store returns it right after creation.
func storedVaultKey(k store.VaultKey) store.VaultKey {
	k.State, k.UpdatedAt = store.VaultKeyActive, k.CreatedAt
	return k
}

// endedVaultKey is k after being superseded or destroyed at the given time.
func endedVaultKey(k store.VaultKey, state store.VaultKeyState, at time.Time) store.VaultKey {
	k.State, k.Blob, k.EndedAt = state, nil, at
	return k
}

func vaultVersions(t *testing.T, s store.Store, user int64) string {
	t.Helper()
	all, err := s.VaultKeys(ctx(t), user)
	if err != nil {
		t.Fatalf("VaultKeys(%d): %v", user, err)
	}
	var out []string
	for _, k := range all {
		out = append(out, fmt.Sprintf("%d:%s", k.Version, k.State))
	}
	return fmt.Sprint(out)
}

func testVaultCreate(t *testing.T, s store.Store) {
	_, err := s.ActiveVaultKey(ctx(t), 7)
	mustErr(t, "ActiveVaultKey before any key", err, store.ErrNotFound)
	if got := vaultVersions(t, s, 7); got != "[]" {
		t.Fatalf("VaultKeys before any key = %s", got)
	}

	k := vaultKey(7, 1)
	createVaultKey(t, s, k)
	createVaultKey(t, s, vaultKey(8, 1)) // another user is independent
	got, err := s.ActiveVaultKey(ctx(t), 7)
	if err != nil {
		t.Fatal(err)
	}
	sameVaultKey(t, got, storedVaultKey(k))
	all, err := s.VaultKeys(ctx(t), 7)
	if err != nil || len(all) != 1 {
		t.Fatalf("VaultKeys = %+v, %v", all, err)
	}
	sameVaultKey(t, all[0], storedVaultKey(k))

	// A second first key is refused and changes nothing.
	again := vaultKey(7, 1)
	again.Blob = []byte("another blob")
	mustErr(t, "second CreateVaultKey", s.CreateVaultKey(ctx(t), again), store.ErrDuplicate)
	got, _ = s.ActiveVaultKey(ctx(t), 7)
	sameVaultKey(t, got, storedVaultKey(k))
}

func testVaultCreateInvalid(t *testing.T, s store.Store) {
	tests := map[string]func(k *store.VaultKey){
		"user 0":           func(k *store.VaultKey) { k.UserID = 0 },
		"negative user":    func(k *store.VaultKey) { k.UserID = -3 },
		"version 0":        func(k *store.VaultKey) { k.Version = 0 },
		"version 2":        func(k *store.VaultKey) { k.Version = 2 },
		"state superseded": func(k *store.VaultKey) { k.State = store.VaultKeySuperseded },
		"generation set":   func(k *store.VaultKey) { k.Generation = 1 },
		"updated set":      func(k *store.VaultKey) { k.UpdatedAt = t0 },
		"ended set":        func(k *store.VaultKey) { k.EndedAt = t0 },
		"no public key":    func(k *store.VaultKey) { k.PublicKey = nil },
		"no blob":          func(k *store.VaultKey) { k.Blob = []byte{} },
		"no time":          func(k *store.VaultKey) { k.CreatedAt = time.Time{} },
	}
	for name, spoil := range tests {
		k := vaultKey(5, 1)
		spoil(&k)
		err := s.CreateVaultKey(ctx(t), k)
		if err == nil || errors.Is(err, store.ErrDuplicate) {
			t.Errorf("%s: CreateVaultKey = %v, want a validation error", name, err)
		}
		if err := s.ReplaceVaultKey(ctx(t), k); err == nil {
			t.Errorf("%s: ReplaceVaultKey succeeded", name)
		}
	}
	for _, user := range []int64{5, 0, -3} {
		if got := vaultVersions(t, s, user); got != "[]" {
			t.Errorf("after refused calls, user %d has keys %s", user, got)
		}
	}
	// An explicit active state is accepted: it is what the store sets.
	k := vaultKey(5, 1)
	k.State = store.VaultKeyActive
	createVaultKey(t, s, k)
}

func testVaultRewrap(t *testing.T, s store.Store) {
	k := vaultKey(3, 1)
	createVaultKey(t, s, k)
	at := t0.Add(5 * time.Hour)
	if err := s.RewrapVaultKey(ctx(t), 3, 1, 0, []byte("rewrapped"), at); err != nil {
		t.Fatalf("RewrapVaultKey: %v", err)
	}
	want := storedVaultKey(k)
	want.Blob, want.Generation, want.UpdatedAt = []byte("rewrapped"), 1, at
	got, _ := s.ActiveVaultKey(ctx(t), 3)
	sameVaultKey(t, got, want)

	// Every stale or wrong compare-and-swap changes nothing.
	for _, c := range []struct {
		name             string
		user, version, g int64
		want             error
	}{
		{"stale generation", 3, 1, 0, store.ErrConflict},
		{"future generation", 3, 1, 2, store.ErrConflict},
		{"other version", 3, 2, 1, store.ErrConflict},
		{"other user", 4, 1, 1, store.ErrConflict},
	} {
		err := s.RewrapVaultKey(ctx(t), c.user, c.version, c.g, []byte("lost"), at.Add(time.Hour))
		mustErr(t, c.name, err, c.want)
	}
	for name, call := range map[string]func() error{
		"no blob": func() error { return s.RewrapVaultKey(ctx(t), 3, 1, 1, nil, at) },
		"no time": func() error { return s.RewrapVaultKey(ctx(t), 3, 1, 1, []byte("x"), time.Time{}) },
	} {
		if err := call(); err == nil || errors.Is(err, store.ErrConflict) {
			t.Errorf("%s: RewrapVaultKey = %v, want a validation error", name, err)
		}
	}
	got, _ = s.ActiveVaultKey(ctx(t), 3)
	sameVaultKey(t, got, want)
}

func testVaultReplace(t *testing.T, s store.Store) {
	mustErr(t, "ReplaceVaultKey without a key", s.ReplaceVaultKey(ctx(t), vaultKey(9, 1)), store.ErrNotFound)
	v1 := vaultKey(9, 1)
	createVaultKey(t, s, v1)
	mustErr(t, "ReplaceVaultKey version 1 again", s.ReplaceVaultKey(ctx(t), vaultKey(9, 1)), store.ErrConflict)
	mustErr(t, "ReplaceVaultKey skipping a version", s.ReplaceVaultKey(ctx(t), vaultKey(9, 3)), store.ErrConflict)
	if got := vaultVersions(t, s, 9); got != "[1:active]" {
		t.Fatalf("after refused replacements: %s", got)
	}

	v2 := vaultKey(9, 2)
	if err := s.ReplaceVaultKey(ctx(t), v2); err != nil {
		t.Fatalf("ReplaceVaultKey: %v", err)
	}
	all, err := s.VaultKeys(ctx(t), 9)
	if err != nil || len(all) != 2 {
		t.Fatalf("VaultKeys = %+v, %v", all, err)
	}
	// The old key is superseded at the new one's creation, its blob erased.
	sameVaultKey(t, all[0], endedVaultKey(storedVaultKey(v1), store.VaultKeySuperseded, v2.CreatedAt))
	sameVaultKey(t, all[1], storedVaultKey(v2))
	got, _ := s.ActiveVaultKey(ctx(t), 9)
	sameVaultKey(t, got, storedVaultKey(v2))

	// A re-wrap of the superseded version is refused.
	mustErr(t, "RewrapVaultKey of a superseded key", s.RewrapVaultKey(ctx(t), 9, 1, 0, []byte("x"), t0), store.ErrConflict)
}

func testVaultDestroy(t *testing.T, s store.Store) {
	_, err := s.DestroyVaultKey(ctx(t), 11, t0)
	mustErr(t, "DestroyVaultKey without a key", err, store.ErrNotFound)
	v1 := vaultKey(11, 1)
	createVaultKey(t, s, v1)
	if _, err := s.DestroyVaultKey(ctx(t), 11, time.Time{}); err == nil {
		t.Fatal("DestroyVaultKey without a time succeeded")
	}
	at := t0.Add(24 * time.Hour)
	got, err := s.DestroyVaultKey(ctx(t), 11, at)
	if err != nil {
		t.Fatalf("DestroyVaultKey: %v", err)
	}
	want := endedVaultKey(storedVaultKey(v1), store.VaultKeyDestroyed, at)
	sameVaultKey(t, got, want)
	_, err = s.ActiveVaultKey(ctx(t), 11)
	mustErr(t, "ActiveVaultKey after destroy", err, store.ErrNotFound)
	_, err = s.DestroyVaultKey(ctx(t), 11, at)
	mustErr(t, "second DestroyVaultKey", err, store.ErrNotFound)
	mustErr(t, "CreateVaultKey after destroy", s.CreateVaultKey(ctx(t), vaultKey(11, 1)), store.ErrDuplicate)
	mustErr(t, "RewrapVaultKey after destroy", s.RewrapVaultKey(ctx(t), 11, 1, 0, []byte("x"), at), store.ErrConflict)

	// A blocked NemID is reopened with a new version; the destroyed one stays destroyed.
	v2 := vaultKey(11, 2)
	if err := s.ReplaceVaultKey(ctx(t), v2); err != nil {
		t.Fatalf("ReplaceVaultKey after destroy: %v", err)
	}
	all, _ := s.VaultKeys(ctx(t), 11)
	if len(all) != 2 {
		t.Fatalf("VaultKeys = %+v", all)
	}
	sameVaultKey(t, all[0], want)
	sameVaultKey(t, all[1], storedVaultKey(v2))
}

// testVaultConcurrent: racing writers to one user's key each either win
// alone or change nothing.
func testVaultConcurrent(t *testing.T, s store.Store) {
	const n = 10
	errs := parallel(n, func(i int) error {
		k := vaultKey(21, 1)
		k.Blob = []byte{byte(i)}
		return s.CreateVaultKey(ctx(t), k)
	})
	winner := vaultOnlyWinner(t, "CreateVaultKey", errs, store.ErrDuplicate)
	if got, _ := s.ActiveVaultKey(ctx(t), 21); !bytes.Equal(got.Blob, []byte{byte(winner)}) {
		t.Fatalf("active blob %x, want the winner's (%d)", got.Blob, winner)
	}

	errs = parallel(n, func(i int) error {
		return s.RewrapVaultKey(ctx(t), 21, 1, 0, []byte{byte(100 + i)}, t0)
	})
	winner = vaultOnlyWinner(t, "RewrapVaultKey", errs, store.ErrConflict)
	if got, _ := s.ActiveVaultKey(ctx(t), 21); !bytes.Equal(got.Blob, []byte{byte(100 + winner)}) || got.Generation != 1 {
		t.Fatalf("after racing re-wraps: blob %x generation %d, want the winner's (%d) and 1", got.Blob, got.Generation, winner)
	}

	errs = parallel(n, func(i int) error {
		k := vaultKey(21, 2)
		k.Blob = []byte{byte(200 + i)}
		return s.ReplaceVaultKey(ctx(t), k)
	})
	winner = vaultOnlyWinner(t, "ReplaceVaultKey", errs, store.ErrConflict)
	if got, _ := s.ActiveVaultKey(ctx(t), 21); got.Version != 2 || !bytes.Equal(got.Blob, []byte{byte(200 + winner)}) {
		t.Fatalf("after racing replacements: version %d blob %x, want 2 and the winner's (%d)", got.Version, got.Blob, winner)
	}
	if got := vaultVersions(t, s, 21); got != "[1:superseded 2:active]" {
		t.Fatalf("after racing replacements: %s", got)
	}

	// A replacement racing a destruction and a re-wrap: whatever the order,
	// at most one key is active and no ended key keeps a blob.
	errs = parallel(3, func(i int) error {
		switch i {
		case 0:
			return s.ReplaceVaultKey(ctx(t), vaultKey(21, 3))
		case 1:
			_, err := s.DestroyVaultKey(ctx(t), 21, t0)
			return err
		default:
			return s.RewrapVaultKey(ctx(t), 21, 2, 0, []byte("late"), t0)
		}
	})
	for i, err := range errs {
		if err != nil && !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
			t.Errorf("racing call %d: %v", i, err)
		}
	}
	all, _ := s.VaultKeys(ctx(t), 21)
	active := 0
	for _, k := range all {
		if k.State == store.VaultKeyActive {
			active++
		}
		if (k.State == store.VaultKeyActive) != (k.Blob != nil) {
			t.Errorf("key %d is %s with blob %x", k.Version, k.State, k.Blob)
		}
	}
	if active > 1 {
		t.Errorf("%d active keys: %s", active, vaultVersions(t, s, 21))
	}
}

// vaultOnlyWinner fails unless exactly one call succeeded and every other
// failed with loser; it returns the winner's index.
func vaultOnlyWinner(t *testing.T, what string, errs []error, loser error) int {
	t.Helper()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won >= 0:
			t.Fatalf("%s succeeded twice (callers %d and %d)", what, won, i)
		case err == nil:
			won = i
		case !errors.Is(err, loser):
			t.Fatalf("%s caller %d: %v, want %v", what, i, err, loser)
		}
	}
	if won < 0 {
		t.Fatalf("no %s succeeded", what)
	}
	return won
}

func testVaultContextCancelled(t *testing.T, s store.Store) {
	createVaultKey(t, s, vaultKey(31, 1))
	c, cancel := context.WithCancel(context.Background())
	cancel()
	calls := map[string]func() error{
		"CreateVaultKey":  func() error { return s.CreateVaultKey(c, vaultKey(32, 1)) },
		"ActiveVaultKey":  func() error { _, err := s.ActiveVaultKey(c, 31); return err },
		"VaultKeys":       func() error { _, err := s.VaultKeys(c, 31); return err },
		"RewrapVaultKey":  func() error { return s.RewrapVaultKey(c, 31, 1, 0, []byte("x"), t0) },
		"ReplaceVaultKey": func() error { return s.ReplaceVaultKey(c, vaultKey(31, 2)) },
		"DestroyVaultKey": func() error { _, err := s.DestroyVaultKey(c, 31, t0); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: err = %v, want context.Canceled", name, err)
		}
	}
	got, err := s.ActiveVaultKey(ctx(t), 31)
	if err != nil {
		t.Fatal(err)
	}
	sameVaultKey(t, got, storedVaultKey(vaultKey(31, 1)))
	if v := vaultVersions(t, s, 32); v != "[]" {
		t.Errorf("user 32 after a cancelled create: %s", v)
	}
}
