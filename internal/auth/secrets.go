package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/nemid-dk/nemid/internal/ca/keys"
	"github.com/nemid-dk/nemid/internal/store"
)

// Key-card codes and temporary passwords have 10^6 values each: a slow
// password hash would still give them up to anyone holding the database
// (a million Argon2id runs is hours on one core). So they are stored as
// HMAC-SHA256 under a secret key that is not in the database: the key is
// random, made once per installation, and stored only sealed by the
// operator's master key (a key file or an HSM). The database alone then
// reveals no code; the database with the master key does, which is why the
// master key is the operator's most guarded secret.

// macKeyName names the sealed MAC key in the auth_secrets table.
const macKeyName = "otp-mac-v1"

// secretAAD binds a sealed installation secret to its name (keys.MasterKey
// asks every user of the master key for a distinct prefix).
const secretAAD = "nemid auth secret v1\x00"

// Domain separation of the two things the key MACs.
const (
	codeMACPrefix = "nemid key card code v1\x00"
	tempMACPrefix = "nemid temporary password v1\x00"
)

// SecretStore is what InstallationSecret needs of the store.
type SecretStore interface {
	AuthSecret(ctx context.Context, name string) ([]byte, error)
	CreateAuthSecret(ctx context.Context, name string, sealed []byte, at time.Time) ([]byte, error)
}

// InstallationSecret returns the installation's 32-byte secret of that
// name (the key-card MAC key here; the remember-user-id key of
// internal/idp), creating and storing it, sealed by the master key, the
// first time. Concurrent first starts agree on one key: the store keeps the
// first one written.
func InstallationSecret(ctx context.Context, st SecretStore, mk keys.MasterKey, name string, now time.Time) ([]byte, error) {
	sealed, err := st.AuthSecret(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("auth: secret %s: %w", name, err)
		}
		mine, err := mk.Seal(key, []byte(secretAAD+name))
		clear(key)
		if err != nil {
			return nil, fmt.Errorf("auth: sealing secret %s: %w", name, err)
		}
		sealed, err = st.CreateAuthSecret(ctx, name, mine, now)
		if err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	key, err := mk.Open(sealed, []byte(secretAAD+name))
	if err != nil {
		// Fail closed: with another master key every stored code would
		// simply be wrong, and users would be locked out one by one.
		return nil, fmt.Errorf("auth: the stored secret %s does not open with this master key: %w", name, err)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("auth: the stored secret %s has the wrong length", name)
	}
	return key, nil
}

// codeMAC is the MAC stored for one key of a key card, bound to the card
// and the key number so that a MAC copied to another key does not match.
func codeMAC(key []byte, card, keyNumber, code string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(codeMACPrefix + card + "\x00" + keyNumber + "\x00" + code))
	return m.Sum(nil)
}

// tempMAC is the MAC stored for a temporary password, bound to its user.
func tempMAC(key []byte, nemid, password string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(tempMACPrefix + nemid + "\x00" + password))
	return m.Sum(nil)
}

// randomDigits returns n (at most 18) decimal digits from crypto/rand,
// uniformly (rand.Int has no modulo bias).
func randomDigits(n int) (string, error) {
	max := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
	v, err := rand.Int(rand.Reader, max)
	if err != nil {
		return "", fmt.Errorf("auth: random digits: %w", err)
	}
	return fmt.Sprintf("%0*d", n, v.Int64()), nil
}

// randomBelow returns a uniform random int in [0, n) from crypto/rand.
func randomBelow(n int) (int, error) {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		return 0, fmt.Errorf("auth: random number: %w", err)
	}
	return int(v.Int64()), nil
}

// newFlowID returns a new flow id (128 random bits, hex) and the hash
// under which the store keeps it.
func newFlowID() (id, idHash string) {
	b := make([]byte, 16)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	id = hex.EncodeToString(b)
	return id, flowIDHash(id)
}

// flowIDHash is the store's key of a flow id: the id is a bearer secret of
// the client's session, so the database holds only its SHA-256.
func flowIDHash(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}
