package keys

import (
	"bytes"
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"strings"

	"github.com/ThalesGroup/crypto11"
)

// pkcs11MasterKey is a [MasterKey] whose AES-256 key lives in a PKCS#11
// token (sensitive, non-extractable); AES-GCM runs inside the token
// (CKM_AES_GCM). The nonce is drawn from crypto/rand on the host and passed
// in, so the output has exactly the layout of the file master key.
type pkcs11MasterKey struct {
	b     *PKCS11Backend
	label string
	key   *crypto11.SecretKey
	aead  cipher.AEAD
}

// GenerateMasterKey creates an AES-256 secret key in the token under label
// (refusing with ErrKeyExists if the label is taken by any key) and returns
// it as a MasterKey. The key is sensitive, never extractable, and usable
// only to encrypt and decrypt. A seal-and-open self-test runs before the key
// is returned; if the token cannot do AES-GCM the new key is deleted and
// the error says so.
func (b *PKCS11Backend) GenerateMasterKey(ctx context.Context, label string) (MasterKey, error) {
	if err := ValidateLabel(label); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.genMu.Lock()
	defer b.genMu.Unlock()
	if err := b.requireLabelFree(label); err != nil {
		return nil, err
	}
	id, err := newCKAID()
	if err != nil {
		return nil, err
	}
	tmpl, err := crypto11.NewAttributeSetWithIDAndLabel(id, []byte(label))
	if err != nil {
		return nil, err
	}
	for typ, val := range map[crypto11.AttributeType]bool{
		crypto11.CkaPrivate:     true,
		crypto11.CkaSensitive:   true,
		crypto11.CkaExtractable: false,
		crypto11.CkaEncrypt:     true,
		crypto11.CkaDecrypt:     true,
		crypto11.CkaWrap:        false,
		crypto11.CkaUnwrap:      false,
	} {
		if err := tmpl.Set(typ, val); err != nil {
			return nil, err
		}
	}
	key, err := b.p11.GenerateSecretKeyWithAttributes(tmpl, 256, crypto11.CipherAES)
	if err != nil {
		return nil, b.wrap("generating AES-256 master key %q", err, label)
	}
	if n, err := b.labelCount(label); err != nil || n != 1 {
		_ = key.Delete()
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: PKCS#11 label %q (created concurrently)", ErrKeyExists, label)
	}
	mk, err := b.newMasterKey(label, key)
	if err != nil {
		_ = key.Delete()
		return nil, err
	}
	return mk, nil
}

// LoadMasterKey finds the AES master key with the given label in the token
// and returns it as a MasterKey, after a seal-and-open self-test.
func (b *PKCS11Backend) LoadMasterKey(ctx context.Context, label string) (MasterKey, error) {
	if err := ValidateLabel(label); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	found, err := b.p11.FindKeys(nil, []byte(label))
	if err != nil {
		return nil, b.wrap("finding master key %q", err, label)
	}
	switch {
	case len(found) == 0:
		return nil, fmt.Errorf("%w: master key %q in PKCS#11 token %q", ErrKeyNotFound, label, b.cfg.TokenLabel)
	case len(found) > 1:
		return nil, fmt.Errorf("keys: %d secret keys labelled %q in PKCS#11 token %q; refusing to guess", len(found), label, b.cfg.TokenLabel)
	case found[0].Cipher != crypto11.CipherAES:
		return nil, fmt.Errorf("keys: secret key %q in PKCS#11 token %q is not an AES key", label, b.cfg.TokenLabel)
	}
	return b.newMasterKey(label, found[0])
}

// selfTestAAD keeps the self-test's additional data apart from every real use.
const selfTestAAD = "nemid master key self-test v1\x00"

func (b *PKCS11Backend) newMasterKey(label string, key *crypto11.SecretKey) (*pkcs11MasterKey, error) {
	aead, err := key.NewGCM()
	if err != nil {
		return nil, b.wrap("master key %q: AES-GCM", err, label)
	}
	mk := &pkcs11MasterKey{b: b, label: label, key: key, aead: aead}
	// The token may list CKM_AES_GCM yet reject our parameters; find out
	// now, with a clear message, rather than at the first real seal.
	if err := mk.selfTest(); err != nil {
		return nil, fmt.Errorf("keys: PKCS#11 token %q cannot use master key %q for AES-GCM (CKM_AES_GCM): %w", b.cfg.TokenLabel, label, err)
	}
	return mk, nil
}

// selfTest seals and opens a fixed message under additional data that no
// real use shares.
func (m *pkcs11MasterKey) selfTest() error {
	probe := []byte("nemid")
	aad := []byte(selfTestAAD + m.label)
	sealed, err := m.Seal(probe, aad)
	if err != nil {
		return err
	}
	got, err := m.open(sealed, aad)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, probe) {
		return errors.New("round trip returned different data")
	}
	return nil
}

// Seal encrypts plaintext inside the token with AES-256-GCM under a random
// nonce; the output layout is [SealedFormatV1].
func (m *pkcs11MasterKey) Seal(plaintext, additionalData []byte) ([]byte, error) {
	out, err := sealAEAD(m.aead, plaintext, additionalData)
	if err != nil {
		return nil, redactPIN(m.b.cfg.PIN, err)
	}
	return out, nil
}

// Open authenticates and decrypts inside the token. A failed tag check
// wraps ErrUnsealFailed; a token that is not working is reported as such.
func (m *pkcs11MasterKey) Open(sealed, additionalData []byte) ([]byte, error) {
	pt, err := m.open(sealed, additionalData)
	if err == nil || errors.Is(err, ErrUnsealFailed) {
		return pt, err
	}
	// crypto11 formats the PKCS#11 return value into its message with %v,
	// so the code can only be recognised by name. These are the codes the
	// standard gives for a bad tag (PKCS#11 2.40 and 3.0).
	msg := err.Error()
	for _, code := range []string{"CKR_ENCRYPTED_DATA_INVALID", "CKR_ENCRYPTED_DATA_LEN_RANGE", "CKR_AEAD_DECRYPT_FAILED"} {
		if strings.Contains(msg, code) {
			return nil, fmt.Errorf("%w (%s)", ErrUnsealFailed, code)
		}
	}
	// Some tokens give no specific code: SoftHSM2 2.6 answers a bad tag with
	// CKR_GENERAL_ERROR. If the same key still round-trips a probe, the token
	// is fine and the fault lies in the data.
	if m.selfTest() == nil {
		return nil, fmt.Errorf("%w (token reported %s)", ErrUnsealFailed, pkcs11Code(msg))
	}
	return nil, m.b.wrap("master key %q: decrypt", err, m.label)
}

// open parses the blob and decrypts it in the token, without diagnosing a
// token error; the self-test uses it directly.
func (m *pkcs11MasterKey) open(sealed, additionalData []byte) ([]byte, error) {
	header, nonce, ct, err := parseSealed(sealed)
	if err != nil {
		return nil, err
	}
	pt, err := m.aead.Open(nil, nonce, ct, sealAAD(header, additionalData))
	if err != nil {
		return nil, m.b.wrap("master key %q: decrypt", err, m.label)
	}
	return pt, nil
}

// pkcs11Code picks the CKR_* name out of a crypto11 error message.
func pkcs11Code(msg string) string {
	if i := strings.Index(msg, "CKR_"); i >= 0 {
		end := i
		for end < len(msg) && (msg[end] == '_' || msg[end] >= 'A' && msg[end] <= 'Z' || msg[end] >= '0' && msg[end] <= '9') {
			end++
		}
		return msg[i:end]
	}
	return "an unspecified error"
}
