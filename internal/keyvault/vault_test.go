package keyvault

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"errors"
	"strings"
	"testing"

	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/internal/store/storetest"
)

// TestLifeCycle runs a key through everything on both engines: create,
// sign, change the password, replace, destroy, reopen.
func TestLifeCycle(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		v := newVault(t, st, masterKey(t))
		k := create(t, v, 1, "temp123456")
		if k.UserID != 1 || k.Version != 1 || k.Public.N.BitLen() != KeyBits || !k.CreatedAt.Equal(t0) {
			t.Fatalf("Create = %+v", k)
		}
		active, err := v.ActiveKey(ctx(t), 1)
		if err != nil || active.Version != 1 || !active.Public.Equal(k.Public) {
			t.Fatalf("ActiveKey = %+v, %v", active, err)
		}
		mustSign(t, v, 1, "temp123456", "logon", k.Public)

		// (5) After a password change the new one signs and the old one does not.
		if err := v.ChangePassword(ctx(t), 1, "temp123456", "personal42"); err != nil {
			t.Fatalf("ChangePassword: %v", err)
		}
		mustSign(t, v, 1, "personal42", "logon", k.Public)
		signFails(t, v, 1, "temp123456", ErrWrongPassword)
		if row := activeRow(t, st, 1); row.Version != 1 || row.Generation != 1 {
			t.Fatalf("after ChangePassword: version %d generation %d, want 1 and 1", row.Version, row.Generation)
		}

		// After an operator reset: a new key pair as version 2; the old one
		// is superseded and its blob erased.
		k2, err := v.Replace(ctx(t), 1, "newpass77")
		if err != nil {
			t.Fatalf("Replace: %v", err)
		}
		if k2.Version != 2 || k2.Public.Equal(k.Public) {
			t.Fatalf("Replace = version %d, same public key %v", k2.Version, k2.Public.Equal(k.Public))
		}
		sig := mustSign(t, v, 1, "newpass77", "after reset", k2.Public)
		if rsa.VerifyPKCS1v15(k.Public, crypto.SHA256, digestOf("after reset"), sig) == nil {
			t.Fatal("the new key's signature verifies under the old public key")
		}
		signFails(t, v, 1, "personal42", ErrWrongPassword)
		all, err := st.VaultKeys(ctx(t), 1)
		if err != nil || len(all) != 2 || all[0].State != store.VaultKeySuperseded || all[0].Blob != nil || all[1].State != store.VaultKeyActive {
			t.Fatalf("VaultKeys after Replace = %+v, %v", all, err)
		}

		// Blocking destroys the key: nobody can sign with it any more.
		if err := v.Destroy(ctx(t), 1); err != nil {
			t.Fatalf("Destroy: %v", err)
		}
		signFails(t, v, 1, "newpass77", ErrNoKey)
		if _, err := v.ActiveKey(ctx(t), 1); !errors.Is(err, ErrNoKey) {
			t.Fatalf("ActiveKey after Destroy = %v, want ErrNoKey", err)
		}
		if err := v.Destroy(ctx(t), 1); !errors.Is(err, ErrNoKey) {
			t.Fatalf("second Destroy = %v, want ErrNoKey", err)
		}
		if err := v.ChangePassword(ctx(t), 1, "newpass77", "other1234"); !errors.Is(err, ErrNoKey) {
			t.Fatalf("ChangePassword after Destroy = %v, want ErrNoKey", err)
		}
		all, _ = st.VaultKeys(ctx(t), 1)
		if len(all) != 2 || all[1].State != store.VaultKeyDestroyed || all[1].Blob != nil {
			t.Fatalf("VaultKeys after Destroy = %+v", all)
		}
		// A blocked NemID is reopened with a new key, never the old one.
		if _, err := v.Create(ctx(t), 1, "again1234"); !errors.Is(err, ErrKeyExists) {
			t.Fatalf("Create after Destroy = %v, want ErrKeyExists", err)
		}
		k3, err := v.Replace(ctx(t), 1, "again1234")
		if err != nil || k3.Version != 3 {
			t.Fatalf("Replace after Destroy = %+v, %v", k3, err)
		}
		mustSign(t, v, 1, "again1234", "reopened", k3.Public)
	})
}

func TestCreateRefusals(t *testing.T) {
	st := storetest.OpenSQLite(t)
	v := newVault(t, st, masterKey(t))
	create(t, v, 1, "first1234")
	if _, err := v.Create(ctx(t), 1, "second123"); !errors.Is(err, ErrKeyExists) {
		t.Fatalf("second Create = %v, want ErrKeyExists", err)
	}
	for _, pw := range []string{"", strings.Repeat("x", MaxPasswordBytes+1)} {
		if _, err := v.Create(ctx(t), 2, pw); !errors.Is(err, ErrInvalidPassword) {
			t.Errorf("Create with a %d-byte password = %v, want ErrInvalidPassword", len(pw), err)
		}
		if _, err := v.Replace(ctx(t), 1, pw); !errors.Is(err, ErrInvalidPassword) {
			t.Errorf("Replace with a %d-byte password = %v, want ErrInvalidPassword", len(pw), err)
		}
		if err := v.ChangePassword(ctx(t), 1, "first1234", pw); !errors.Is(err, ErrInvalidPassword) {
			t.Errorf("ChangePassword to a %d-byte password = %v, want ErrInvalidPassword", len(pw), err)
		}
	}
	for _, user := range []int64{0, -1} {
		if _, err := v.Create(ctx(t), user, "pass1234"); err == nil {
			t.Errorf("Create for user %d succeeded", user)
		}
		if _, err := v.Sign(ctx(t), user, "pass1234", digestOf("x"), crypto.SHA256); err == nil {
			t.Errorf("Sign for user %d succeeded", user)
		}
	}
	if _, err := v.Replace(ctx(t), 2, "pass1234"); !errors.Is(err, ErrNoKey) {
		t.Fatalf("Replace for a user without a key = %v, want ErrNoKey", err)
	}
	if err := v.Destroy(ctx(t), 2); !errors.Is(err, ErrNoKey) {
		t.Fatalf("Destroy for a user without a key = %v, want ErrNoKey", err)
	}
	signFails(t, v, 2, "pass1234", ErrNoKey)
	// Nothing of the refused calls was stored.
	for _, user := range []int64{2, 0, -1} {
		if all, err := st.VaultKeys(ctx(t), user); err != nil || len(all) != 0 {
			t.Errorf("user %d has keys %+v, %v", user, all, err)
		}
	}
	if all, _ := st.VaultKeys(ctx(t), 1); len(all) != 1 || all[0].Generation != 0 {
		t.Errorf("user 1 after refused calls: %+v", all)
	}
}

// TestWithoutMasterKey (1): the database with a different master key
// gives no signature, and nothing else either.
func TestWithoutMasterKey(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		right := newVault(t, st, masterKey(t))
		k := create(t, right, 1, "secret123")
		wrong := newVault(t, st, masterKey(t))
		signFails(t, wrong, 1, "secret123", ErrCorrupt)
		if _, err := wrong.ActiveKey(ctx(t), 1); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("ActiveKey with another master key = %v, want ErrCorrupt", err)
		}
		if err := wrong.ChangePassword(ctx(t), 1, "secret123", "chosen456"); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("ChangePassword with another master key = %v, want ErrCorrupt", err)
		}
		// The refused calls left the key as it was.
		mustSign(t, right, 1, "secret123", "still mine", k.Public)
	})
}

// TestWrongPassword (2): the master key with a wrong password gives no signature.
func TestWrongPassword(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		v := newVault(t, st, masterKey(t))
		k := create(t, v, 1, "Secret123")
		before := activeRow(t, st, 1)
		for _, pw := range []string{"secret123", "Secret1234", "Secret12", "", " Secret123", strings.Repeat("s", 2000)} {
			signFails(t, v, 1, pw, ErrWrongPassword)
		}
		if err := v.ChangePassword(ctx(t), 1, "wrong", "chosen456"); !errors.Is(err, ErrWrongPassword) {
			t.Fatalf("ChangePassword with a wrong old password = %v, want ErrWrongPassword", err)
		}
		if after := activeRow(t, st, 1); !bytes.Equal(after.Blob, before.Blob) || after.Generation != before.Generation {
			t.Fatal("a refused ChangePassword changed the stored key")
		}
		mustSign(t, v, 1, "Secret123", "right", k.Public)
	})
}

// TestMovedBlob (7): a blob copied to another user, to another version, or
// next to another public key does not open.
func TestMovedBlob(t *testing.T) {
	st := storetest.OpenSQLite(t)
	v := newVault(t, st, masterKey(t))
	create(t, v, 1, "alice1234")
	create(t, v, 2, "bobby1234")
	alice, bob := activeRow(t, st, 1), activeRow(t, st, 2)

	// Bob's row gets Alice's blob (and her public key, to pass the check
	// of the public key too).
	if err := st.CreateVaultKey(ctx(t), store.VaultKey{UserID: 3, Version: 1, PublicKey: alice.PublicKey, Blob: alice.Blob, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	signFails(t, v, 3, "alice1234", ErrCorrupt)
	putBlob(t, st, 2, alice.Blob)
	signFails(t, v, 2, "alice1234", ErrCorrupt)
	signFails(t, v, 2, "bobby1234", ErrCorrupt)

	// Alice's blob as her version 2.
	if err := st.ReplaceVaultKey(ctx(t), store.VaultKey{UserID: 1, Version: 2, PublicKey: alice.PublicKey, Blob: alice.Blob, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	signFails(t, v, 1, "alice1234", ErrCorrupt)

	// Dave's own row, read with another public key (an edited public_key
	// column): the public key is bound too.
	create(t, v, 6, "david1234")
	dave := activeRow(t, st, 6)
	for name, pub := range map[string][]byte{"Bob's": bob.PublicKey, "a truncated": dave.PublicKey[:40]} {
		edited := newVault(t, editedStore{st, func(k *store.VaultKey) {
			if k.UserID == 6 {
				k.PublicKey = pub
			}
		}}, v.master)
		sig, err := edited.Sign(ctx(t), 6, "david1234", digestOf("x"), crypto.SHA256)
		if !errors.Is(err, ErrCorrupt) || sig != nil {
			t.Errorf("Sign with %s public key = %x, %v; want ErrCorrupt", name, sig, err)
		}
		if _, err := edited.ActiveKey(ctx(t), 6); !errors.Is(err, ErrCorrupt) {
			t.Errorf("ActiveKey with %s public key = %v; want ErrCorrupt", name, err)
		}
	}
	// The edit is what failed: the same key read unedited signs.
	mustSign(t, v, 6, "david1234", "x", parseSPKI(t, dave.PublicKey))
}

func parseSPKI(t *testing.T, spki []byte) *rsa.PublicKey {
	t.Helper()
	pub, err := parsePublic(spki)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// editedStore returns the rows of a VaultStore after edit, as a database
// edited behind the vault's back would.
type editedStore struct {
	store.VaultStore
	edit func(k *store.VaultKey)
}

func (e editedStore) ActiveVaultKey(ctx context.Context, userID int64) (store.VaultKey, error) {
	k, err := e.VaultStore.ActiveVaultKey(ctx, userID)
	e.edit(&k)
	return k, err
}

func TestSignInputs(t *testing.T) {
	st := storetest.OpenSQLite(t)
	v := newVault(t, st, masterKey(t))
	k := create(t, v, 1, "pass1234")
	derivations := 0
	v.kdf = func(pw, salt []byte, p KDFParams) []byte { derivations++; return argon2id(pw, salt, p) }

	for _, c := range []struct {
		name   string
		digest []byte
		hash   crypto.Hash
	}{
		{"SHA-1", make([]byte, 20), crypto.SHA1},
		{"MD5", make([]byte, 16), crypto.MD5},
		{"no hash", make([]byte, 32), 0},
		{"short SHA-256", make([]byte, 31), crypto.SHA256},
		{"long SHA-256", make([]byte, 33), crypto.SHA256},
		{"SHA-512 length for SHA-256", make([]byte, 64), crypto.SHA256},
		{"no digest", nil, crypto.SHA512},
	} {
		sig, err := v.Sign(ctx(t), 1, "pass1234", c.digest, c.hash)
		if !errors.Is(err, ErrInvalidDigest) || sig != nil {
			t.Errorf("%s: Sign = %x, %v; want ErrInvalidDigest", c.name, sig, err)
		}
	}
	if derivations != 0 {
		t.Errorf("refused digests cost %d derivations, want none", derivations)
	}
	// The three accepted hashes sign and verify.
	for _, hash := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		h := hash.New()
		h.Write([]byte("text"))
		d := h.Sum(nil)
		sig, err := v.Sign(ctx(t), 1, "pass1234", d, hash)
		if err != nil {
			t.Fatalf("Sign with %v: %v", hash, err)
		}
		if err := rsa.VerifyPKCS1v15(k.Public, hash, d, sig); err != nil {
			t.Fatalf("%v signature does not verify: %v", hash, err)
		}
	}
}

// TestFaultGuard: a signature that does not verify is withheld.
func TestFaultGuard(t *testing.T) {
	st := storetest.OpenSQLite(t)
	v := newVault(t, st, masterKey(t))
	create(t, v, 1, "pass1234")
	v.sign = func(priv *rsa.PrivateKey, hash crypto.Hash, digest []byte) ([]byte, error) {
		sig, err := signPKCS1v15(priv, hash, digest)
		sig[len(sig)/2] ^= 0x10 // the effect of a fault in one CRT half
		return sig, err
	}
	signFails(t, v, 1, "pass1234", ErrSignatureFault)
}

// TestNoSecretInErrors: no error message quotes a password.
func TestNoSecretInErrors(t *testing.T) {
	st := storetest.OpenSQLite(t)
	v := newVault(t, st, masterKey(t))
	const pw, other = "Hemmelig-Kode-991", "Andet-Kodeord-552"
	create(t, v, 1, pw)
	var errs []error
	_, err := v.Sign(ctx(t), 1, other, digestOf("x"), crypto.SHA256)
	errs = append(errs, err)
	errs = append(errs, v.ChangePassword(ctx(t), 1, other, pw))
	_, err = v.Create(ctx(t), 1, other)
	errs = append(errs, err)
	wrong := newVault(t, st, masterKey(t))
	_, err = wrong.Sign(ctx(t), 1, pw, digestOf("x"), crypto.SHA256)
	errs = append(errs, err)
	for _, err := range errs {
		if err == nil {
			t.Fatal("a call that should fail succeeded")
		}
		if strings.Contains(err.Error(), pw) || strings.Contains(err.Error(), other) {
			t.Errorf("error quotes a password: %v", err)
		}
	}
}

func TestNewConfig(t *testing.T) {
	st := storetest.OpenSQLite(t)
	mk := masterKey(t)
	for name, cfg := range map[string]Config{
		"no store":             {MasterKey: mk},
		"no master key":        {Store: st},
		"negative concurrency": {Store: st, MasterKey: mk, MaxConcurrentDerivations: -1},
		"weak KDF":             {Store: st, MasterKey: mk, KDF: KDFParams{Memory: 8 * 1024, Time: 2, Threads: 1}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
	v, err := New(Config{Store: st, MasterKey: mk})
	if err != nil {
		t.Fatal(err)
	}
	if v.Params() != DefaultKDF || cap(v.slots) < 2 {
		t.Fatalf("defaults: params %v, %d slots", v.Params(), cap(v.slots))
	}
}

func TestKDFParamsValidate(t *testing.T) {
	for _, c := range []struct {
		p  KDFParams
		ok bool
	}{
		{DefaultKDF, true},
		{KDFParams{Memory: 19 * 1024, Time: 2, Threads: 1}, true}, // OWASP's floor
		{KDFParams{Memory: 46 * 1024, Time: 1, Threads: 1}, true}, // OWASP's one-pass floor
		{KDFParams{Memory: 19*1024 - 1, Time: 2, Threads: 1}, false},
		{KDFParams{Memory: 46*1024 - 1, Time: 1, Threads: 1}, false},
		{KDFParams{Memory: 19 * 1024, Time: 0, Threads: 1}, false},
		{KDFParams{Memory: 19 * 1024, Time: 2, Threads: 0}, false},
		{KDFParams{Memory: 1 << 20, Time: 16, Threads: 16}, true},
		{KDFParams{Memory: 1<<20 + 1, Time: 2, Threads: 1}, false},
		{KDFParams{Memory: 64 * 1024, Time: 17, Threads: 1}, false},
		{KDFParams{Memory: 64 * 1024, Time: 2, Threads: 17}, false},
	} {
		if err := c.p.Validate(); (err == nil) != c.ok {
			t.Errorf("%v: Validate = %v, want ok=%v", c.p, err, c.ok)
		}
	}
}
