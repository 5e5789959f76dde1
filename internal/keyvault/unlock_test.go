package keyvault

import (
	"crypto"
	"crypto/rsa"
	"errors"
	"testing"

	"github.com/nemid-dk/nemid/internal/store"
)

// TestUnlockThenSign: the password unlocks the key once; the Unlocked
// secret then signs without the password, until the key is re-wrapped or
// replaced; a wrong password unlocks nothing.
func TestUnlockThenSign(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		v := newVault(t, st, masterKey(t))
		k := create(t, v, 7, "temp123456")

		if _, err := v.Unlock(ctx(t), 7, "wrong12345"); !errors.Is(err, ErrWrongPassword) {
			t.Fatalf("Unlock with a wrong password: %v", err)
		}
		if _, err := v.Unlock(ctx(t), 8, "temp123456"); !errors.Is(err, ErrNoKey) {
			t.Fatalf("Unlock of a user without a key: %v", err)
		}
		u, err := v.Unlock(ctx(t), 7, "temp123456")
		if err != nil || len(u) != UnlockedLen {
			t.Fatalf("Unlock = %d bytes, %v", len(u), err)
		}
		sig, err := v.SignUnlocked(ctx(t), 7, u, digestOf("logon"), crypto.SHA256)
		if err != nil {
			t.Fatalf("SignUnlocked: %v", err)
		}
		if err := rsa.VerifyPKCS1v15(k.Public, crypto.SHA256, digestOf("logon"), sig); err != nil {
			t.Fatalf("the signature does not verify: %v", err)
		}
		// Another user's key does not open with it.
		create(t, v, 9, "temp123456")
		if _, err := v.SignUnlocked(ctx(t), 9, u, digestOf("x"), crypto.SHA256); !errors.Is(err, ErrWrongPassword) {
			t.Errorf("SignUnlocked for another user: %v", err)
		}
		// A damaged secret signs nothing.
		bad := append(Unlocked(nil), u...)
		bad[len(bad)-1] ^= 1
		if _, err := v.SignUnlocked(ctx(t), 7, bad, digestOf("x"), crypto.SHA256); !errors.Is(err, ErrWrongPassword) {
			t.Errorf("SignUnlocked with a damaged secret: %v", err)
		}
		if _, err := v.SignUnlocked(ctx(t), 7, u[:10], digestOf("x"), crypto.SHA256); !errors.Is(err, ErrWrongPassword) {
			t.Errorf("SignUnlocked with a short secret: %v", err)
		}
		// A password change re-wraps the key: the old secret no longer opens it.
		if err := v.ChangePassword(ctx(t), 7, "temp123456", "personal42"); err != nil {
			t.Fatal(err)
		}
		if _, err := v.SignUnlocked(ctx(t), 7, u, digestOf("x"), crypto.SHA256); !errors.Is(err, ErrWrongPassword) {
			t.Errorf("SignUnlocked after a password change: %v", err)
		}
		// A replaced key (a new version) neither.
		u2, err := v.Unlock(ctx(t), 7, "personal42")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Replace(ctx(t), 7, "newpass77"); err != nil {
			t.Fatal(err)
		}
		if _, err := v.SignUnlocked(ctx(t), 7, u2, digestOf("x"), crypto.SHA256); !errors.Is(err, ErrWrongPassword) {
			t.Errorf("SignUnlocked after a replacement: %v", err)
		}
		if err := v.Burn(ctx(t), "anything"); err != nil {
			t.Errorf("Burn: %v", err)
		}
	})
}
