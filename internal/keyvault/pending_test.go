package keyvault

import (
	"bytes"
	"errors"
	"testing"

	"github.com/nemid-dk/nemid/internal/store"
)

// TestPendingKey: a key made before its user exists is sealed for the user
// when it is recorded; each record is a fresh sealing that opens with the
// password, binds the user, and after Wipe no record can be made.
func TestPendingKey(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		v := newVault(t, st, masterKey(t))
		p, err := v.NewPendingKey(ctx(t), "123456")
		if err != nil {
			t.Fatal(err)
		}
		first, err := p.Record(7)
		if err != nil {
			t.Fatal(err)
		}
		second, err := p.Record(7)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(first.Blob, second.Blob) || first.Version != 1 || first.UserID != 7 {
			t.Fatalf("two records: same blob %v, version %d, user %d", bytes.Equal(first.Blob, second.Blob), first.Version, first.UserID)
		}
		// Stored for another user, the blob does not open: it binds user 7.
		moved := second
		moved.UserID = 8
		if err := st.CreateVaultKey(ctx(t), moved); err != nil {
			t.Fatal(err)
		}
		signFails(t, v, 8, "123456", ErrCorrupt)
		if err := st.CreateVaultKey(ctx(t), second); err != nil {
			t.Fatal(err)
		}
		mustSign(t, v, 7, "123456", "a document", p.Public())
		signFails(t, v, 7, "654321", ErrWrongPassword)
		p.Wipe()
		if _, err := p.Record(9); err == nil {
			t.Error("a wiped pending key was recorded")
		}
		if _, err := p.Record(0); err == nil {
			t.Error("a record for user 0")
		}
		if _, err := v.NewPendingKey(ctx(t), ""); !errors.Is(err, ErrInvalidPassword) {
			t.Errorf("an empty password: %v", err)
		}
	})
}

// TestRewrapAndNextKey: the store-less halves of ChangePassword and
// Replace return records that the caller writes; nothing is written by them.
func TestRewrapAndNextKey(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		v := newVault(t, st, masterKey(t))
		k := create(t, v, 3, "old-pw1")
		rec, err := v.Rewrap(ctx(t), 3, "old-pw1", "new-pw2")
		if err != nil {
			t.Fatal(err)
		}
		mustSign(t, v, 3, "old-pw1", "not yet written", k.Public) // nothing written
		if _, err := v.Rewrap(ctx(t), 3, "wrong-pw", "new-pw2"); !errors.Is(err, ErrWrongPassword) {
			t.Errorf("Rewrap with a wrong password: %v", err)
		}
		if err := st.RewrapVaultKey(ctx(t), 3, rec.Version, rec.Generation, rec.Blob, rec.UpdatedAt); err != nil {
			t.Fatal(err)
		}
		mustSign(t, v, 3, "new-pw2", "written", k.Public)
		// The record read at the old generation no longer writes.
		if err := st.RewrapVaultKey(ctx(t), 3, rec.Version, rec.Generation, rec.Blob, rec.UpdatedAt); !errors.Is(err, store.ErrConflict) {
			t.Errorf("a stale re-wrap: %v", err)
		}
		next, nrec, err := v.NextKey(ctx(t), 3, "third-pw3")
		if err != nil {
			t.Fatal(err)
		}
		if next.Version != 2 || nrec.Version != 2 || next.Public.Equal(k.Public) {
			t.Fatalf("NextKey: version %d/%d, same key %v", next.Version, nrec.Version, next.Public.Equal(k.Public))
		}
		mustSign(t, v, 3, "new-pw2", "still the old key", k.Public)
		if err := st.ReplaceVaultKey(ctx(t), nrec); err != nil {
			t.Fatal(err)
		}
		mustSign(t, v, 3, "third-pw3", "the new key", next.Public)
		if _, _, err := v.NextKey(ctx(t), 4, "pw"); !errors.Is(err, ErrNoKey) {
			t.Errorf("NextKey for a user without keys: %v", err)
		}
	})
}
