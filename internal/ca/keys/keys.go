// Package keys holds the operator's authority private keys (root CA, issuing
// CA, OCSP responder) and the operator master key.
//
// Private keys never leave this package in clear form on disk: the file
// back-end seals each key under a [MasterKey] (AES-256-GCM) before it touches
// the file system, and the PKCS#11 back-end generates keys inside a token as
// sensitive and non-extractable. Callers only ever get a [crypto.Signer] and an
// opaque reference string to keep in the database.
//
// Two back-ends implement [Backend]:
//
//   - [NewFileBackend]: one sealed file per key, "<dir>/<label>.key.sealed".
//     The reference is the label itself.
//   - [NewPKCS11Backend]: keys in a PKCS#11 token (an HSM; SoftHSM2 in tests).
//     The reference is "pkcs11:label=<label>;id=<hex CKA_ID>" (see
//     [PKCS11Backend]).
//
// The [MasterKey] abstraction is shared with the key vault, which wraps user
// keys with the same primitive under its own additional-data prefix.
//
// Nothing in this package puts key bytes, the master key or a PKCS#11 PIN in
// an error message or a log line.
package keys

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"regexp"
)

// Backend creates and loads the operator's authority keys. Callers get a
// crypto.Signer and never the key bytes.
type Backend interface {
	// Generate makes a new RSA key of the given size under a label that must
	// not exist yet (refuse, never overwrite: ErrKeyExists) and returns an
	// opaque reference to store in the database.
	Generate(ctx context.Context, label string, bits int) (ref string, s crypto.Signer, err error)
	// Signer loads the key for a reference made by Generate.
	Signer(ctx context.Context, ref string) (crypto.Signer, error)
	// Describe says where keys live, for logs and `--help`-style output (no secret).
	Describe() string
	// Close releases the back-end. Signers obtained from it may stop working.
	Close() error
}

// MasterKey seals and opens small secrets (authority and, later, user keys)
// with authenticated encryption.
//
// additionalData is authenticated but not encrypted; every caller must bind
// the context of the secret into it (a purpose prefix and the secret's
// name), so that a sealed blob moved to another record fails to open. The CA
// key files use "nemid ca key v1\x00" + label; other users pick their own
// distinct prefix.
//
// Sealed output is self-describing and versioned (see [SealedFormatV1]), so
// the two implementations in this package (a key file and a PKCS#11 AES key)
// produce the same layout and a later format can be told apart.
type MasterKey interface {
	// Seal encrypts and authenticates plaintext, binding additionalData.
	Seal(plaintext, additionalData []byte) ([]byte, error)
	// Open authenticates and decrypts sealed with the same additionalData as
	// Seal was given. Any mismatch or corruption yields an error wrapping
	// ErrUnsealFailed and no plaintext.
	Open(sealed, additionalData []byte) ([]byte, error)
}

// Errors callers can test for with errors.Is.
var (
	// ErrKeyExists is returned when asked to create a key (or master key
	// file) under a name that is already taken. Nothing is ever overwritten.
	ErrKeyExists = errors.New("keys: a key with this name already exists; refusing to overwrite it")
	// ErrKeyNotFound is returned when a reference names no key.
	ErrKeyNotFound = errors.New("keys: key not found")
	// ErrInvalidLabel is returned for a label outside [a-z0-9-]{1,64}.
	ErrInvalidLabel = errors.New("keys: invalid key label (want 1-64 characters of a-z, 0-9 and '-', starting with a letter or digit)")
	// ErrInvalidKeySize is returned for an RSA size other than 2048, 3072 or 4096.
	ErrInvalidKeySize = errors.New("keys: unsupported RSA key size (want 2048, 3072 or 4096)")
	// ErrInvalidRef is returned for a reference this back-end did not make.
	ErrInvalidRef = errors.New("keys: malformed key reference")
	// ErrUnsealFailed is returned when sealed data does not authenticate.
	ErrUnsealFailed = errors.New("keys: cannot unseal: the data is corrupted or was tampered with, belongs to another label, or was sealed under a different master key")
	// ErrClosed is returned by a master key or back-end used after Close.
	ErrClosed = errors.New("keys: used after Close")
)

// labelRE is deliberately narrow: labels become file names and PKCS#11
// CKA_LABELs, so no '/', '.', or leading '-' (which tools read as an option).
var labelRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// ValidateLabel reports whether label is a valid key label: 1 to 64
// characters of a-z, 0-9 and '-', not starting with '-'.
func ValidateLabel(label string) error {
	if !labelRE.MatchString(label) {
		return fmt.Errorf("%w: %q", ErrInvalidLabel, label)
	}
	return nil
}

// validateBits accepts the RSA sizes the design uses: 2048 for users and
// the OCSP responder, 4096 for CAs, and 3072 in between.
func validateBits(bits int) error {
	switch bits {
	case 2048, 3072, 4096:
		return nil
	}
	return fmt.Errorf("%w: %d", ErrInvalidKeySize, bits)
}

// caKeyAADPrefix domain-separates sealed CA keys from every other use of the
// master key (the key vault uses its own prefix).
const caKeyAADPrefix = "nemid ca key v1\x00"

// caKeyAAD is the additional data that binds a sealed CA key to its label, so
// that a sealed file renamed to another label does not open.
func caKeyAAD(label string) []byte {
	return append([]byte(caKeyAADPrefix), label...)
}

// zero overwrites b. Best effort only: Go may have copied the bytes
// elsewhere (garbage collector moves, string conversions, cipher key
// schedules), so this shortens the life of a secret in memory but cannot
// guarantee its erasure.
func zero(b []byte) {
	clear(b)
}
