package keyvault

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/ca/keys"
	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/internal/store/storetest"
)

// testKDF is OWASP's floor, the cheapest set the vault accepts, so that
// tests that derive many keys stay quick.
var testKDF = KDFParams{Memory: 19 * 1024, Time: 2, Threads: 1}

var t0 = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// masterKey makes a fresh master key file and loads it.
func masterKey(t testing.TB) *keys.FileMasterKey {
	t.Helper()
	path := filepath.Join(t.TempDir(), "master.key")
	if err := keys.CreateMasterKeyFile(path); err != nil {
		t.Fatal(err)
	}
	mk, err := keys.LoadMasterKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mk.Close() })
	return mk
}

// newVault returns a vault over st and mk with the test parameters.
func newVault(t testing.TB, st store.VaultStore, mk keys.MasterKey) *Vault {
	t.Helper()
	v, err := New(Config{Store: st, MasterKey: mk, KDF: testKDF, Clock: clock.NewFrozen(t0)})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// engines runs f against a fresh SQLite store and a fresh PostgreSQL store.
func engines(t *testing.T, f func(t *testing.T, st store.Store)) {
	t.Run("sqlite", func(t *testing.T) { f(t, storetest.OpenSQLite(t)) })
	t.Run("postgres", func(t *testing.T) { f(t, storetest.OpenPostgres(t)) })
}

func digestOf(msg string) []byte {
	d := sha256.Sum256([]byte(msg))
	return d[:]
}

func create(t testing.TB, v *Vault, user int64, password string) Key {
	t.Helper()
	k, err := v.Create(ctx(t), user, password)
	if err != nil {
		t.Fatalf("Create(%d): %v", user, err)
	}
	return k
}

// mustSign signs a digest of msg and checks the signature against pub.
func mustSign(t testing.TB, v *Vault, user int64, password, msg string, pub *rsa.PublicKey) []byte {
	t.Helper()
	sig, err := v.Sign(ctx(t), user, password, digestOf(msg), crypto.SHA256)
	if err != nil {
		t.Fatalf("Sign(%d): %v", user, err)
	}
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digestOf(msg), sig); err != nil {
		t.Fatalf("signature of user %d does not verify: %v", user, err)
	}
	return sig
}

// signFails fails the test unless Sign fails with want and returns no signature.
func signFails(t testing.TB, v *Vault, user int64, password string, want error) {
	t.Helper()
	sig, err := v.Sign(ctx(t), user, password, digestOf("hello"), crypto.SHA256)
	if !errors.Is(err, want) || sig != nil {
		t.Fatalf("Sign(%d) = %x, %v; want no signature and %v", user, sig, err, want)
	}
}

// putBlob overwrites the user's active blob in the store, as anyone with
// write access to the database can.
func putBlob(t testing.TB, st store.VaultStore, user int64, blob []byte) {
	t.Helper()
	row, err := st.ActiveVaultKey(ctx(t), user)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.RewrapVaultKey(ctx(t), user, row.Version, row.Generation, blob, t0); err != nil {
		t.Fatal(err)
	}
}

func activeRow(t testing.TB, st store.VaultStore, user int64) store.VaultKey {
	t.Helper()
	row, err := st.ActiveVaultKey(ctx(t), user)
	if err != nil {
		t.Fatal(err)
	}
	return row
}
