package keyvault

import (
	"context"
	"crypto"
	"crypto/rsa"
	"encoding/binary"
	"fmt"

	"github.com/nemid-dk/nemid/internal/store"
)

// A logon costs one Argon2id derivation, not two: the password is checked
// by unlocking the user's key (Unlock: derive the key-encryption key and
// open the inner layer with it, which only the right password does), and
// the signature at the end of the logon uses the key-encryption key the
// caller kept, sealed, from that moment (SignUnlocked) — no second
// derivation. internal/auth counts the attempts around Unlock; the caller
// keeps the Unlocked secret no longer than the logon lasts, and never
// where the operator alone can read it (internal/idp seals it under a key
// only the user's browser holds).

// UnlockedLen is the length of an Unlocked: key version (8) and
// key-encryption key.
const UnlockedLen = 8 + kekLen

// Unlocked is a user's active key unlocked by their password: its version
// and the key-encryption key derived from the password. It is as secret as
// the password (with the master key it opens the user's private key); it
// holds nothing else.
type Unlocked []byte

// Unlock derives the key-encryption key of the user's active key from the
// password and checks it opens the key. ErrWrongPassword, ErrNoKey or
// ErrCorrupt otherwise. The private key itself is wiped at once. A key
// wrapped under weaker parameters than the vault's is re-wrapped on the way
// (as Sign does), so that raised parameters reach every key that is used.
func (v *Vault) Unlock(ctx context.Context, userID int64, password string) (Unlocked, error) {
	return v.unlock(ctx, userID, password, true)
}

// unlock is Unlock; with upgrade, a key wrapped under weaker Argon2id
// parameters than the vault's is re-wrapped first (the password is at
// hand) and unlocked as it is stored then — one more derivation, once.
func (v *Vault) unlock(ctx context.Context, userID int64, password string, upgrade bool) (Unlocked, error) {
	fail := func(err error) (Unlocked, error) {
		return nil, fmt.Errorf("keyvault: unlock for user %d: %w", userID, err)
	}
	if err := checkUser(userID); err != nil {
		return fail(err)
	}
	o, err := v.openActive(ctx, userID, password)
	if err != nil {
		return fail(err)
	}
	defer o.wipe()
	if upgrade && v.upgradeIfWeak(ctx, o, password) {
		return v.unlock(ctx, userID, password, false)
	}
	u := make(Unlocked, 0, UnlockedLen)
	u = binary.BigEndian.AppendUint64(u, uint64(o.row.Version))
	return append(u, o.kek...), nil
}

// Burn does the work of one Unlock for a password that cannot match, so
// that a logon with an unknown user-id costs what one with a known user-id
// costs (internal/auth's decoy).
func (v *Vault) Burn(ctx context.Context, password string) error {
	if len(password) > MaxPasswordBytes {
		password = password[:MaxPasswordBytes]
	}
	pw := []byte(password)
	defer clear(pw)
	var salt [16]byte
	kek, err := v.derive(ctx, pw, salt[:], v.params)
	clear(kek)
	return err
}

// SignUnlocked is Sign with the key unlocked earlier instead of the
// password: no derivation. ErrWrongPassword if the key was re-wrapped or
// replaced since the Unlock (the key-encryption key no longer opens it).
func (v *Vault) SignUnlocked(ctx context.Context, userID int64, unlocked Unlocked, digest []byte, hash crypto.Hash) ([]byte, error) {
	fail := func(err error) ([]byte, error) {
		return nil, fmt.Errorf("keyvault: sign for user %d: %w", userID, err)
	}
	if err := checkUser(userID); err != nil {
		return fail(err)
	}
	if err := checkDigest(digest, hash); err != nil {
		return fail(err)
	}
	row, err := v.active(ctx, userID)
	if err != nil {
		return fail(err) // ErrNoKey before anything else: a user without a key
	}
	if len(unlocked) != UnlockedLen {
		return fail(ErrWrongPassword)
	}
	if int64(binary.BigEndian.Uint64(unlocked)) != row.Version {
		return fail(ErrWrongPassword)
	}
	pub, err := parsePublic(row.PublicKey)
	if err != nil {
		return fail(err)
	}
	in, err := v.openOuter(row)
	if err != nil {
		return fail(err)
	}
	pkcs8, ok := openInner(in, unlocked[8:], bindingOf(row))
	defer clear(pkcs8)
	if !ok {
		return fail(ErrWrongPassword)
	}
	return v.signWith(pkcs8, pub, digest, hash, fail)
}

func bindingOf(row store.VaultKey) binding {
	return binding{userID: row.UserID, version: row.Version, publicKey: row.PublicKey}
}

// signWith signs with a PKCS#8 key and withholds a signature that does
// not verify under the stored public key (the fault-attack guard).
func (v *Vault) signWith(pkcs8 []byte, pub *rsa.PublicKey, digest []byte, hash crypto.Hash, fail func(error) ([]byte, error)) ([]byte, error) {
	priv, err := privateKey(pkcs8, pub)
	if err != nil {
		return fail(err)
	}
	defer wipe(priv)
	sig, err := v.sign(priv, hash, digest)
	if err != nil {
		return fail(err)
	}
	// A signature computed wrongly (a glitch in the CRT computation) can
	// give away a factor of the modulus: one that does not verify never
	// leaves.
	if err := rsa.VerifyPKCS1v15(pub, hash, digest, sig); err != nil {
		return fail(ErrSignatureFault)
	}
	return sig, nil
}
