package keyvault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// The blob layout; the package documentation describes it in full.
const (
	blobFormatV1   byte = 1 // byte 0 of a stored blob
	outerMasterKey byte = 1 // byte 1: the rest is a keys.MasterKey sealed blob
	blobHeaderLen       = 2
	innerFormatV1  byte = 1 // byte 0 of the inner layer
	kdfArgon2id    byte = 1 // Argon2id, version 0x13
	aeadAES256GCM  byte = 1
	saltLen             = 16
	minSaltLen          = 16
	maxSaltLen          = 64
	gcmNonceLen         = 12
	gcmTagLen           = 16
	kekLen              = 32                    // AES-256
	innerFixedLen       = 1 + 1 + 4 + 4 + 1 + 1 // version, KDF, memory, time, threads, salt length
	innerAfterSalt      = 1 + gcmNonceLen       // AEAD id, nonce
	aadPrefix           = "nemid vault v1\x00"
	outerAADLabel       = "outer\x00"
	innerAADLabel       = "inner\x00"
	innerMinLength      = innerFixedLen + minSaltLen + innerAfterSalt + gcmTagLen
)

// errMalformed marks a blob whose structure (not its authentication) is
// wrong; callers turn it into ErrCorrupt.
var errMalformed = errors.New("malformed")

// binding is the context every layer's additional data carries, so that a
// blob copied to another user, another key version or beside another
// public key fails to open.
type binding struct {
	userID  int64
	version int64
	// publicKey is the DER SubjectPublicKeyInfo stored beside the blob.
	publicKey []byte
}

func (b binding) append(aad []byte) []byte {
	aad = binary.BigEndian.AppendUint64(aad, uint64(b.userID))
	return binary.BigEndian.AppendUint64(aad, uint64(b.version))
}

// outerAAD is what the master-key layer authenticates besides its own
// header: purpose, user, version, the public key's hash, and the blob
// header (so the format bytes cannot be changed either).
func (b binding) outerAAD(header []byte) []byte {
	aad := make([]byte, 0, len(aadPrefix)+len(outerAADLabel)+16+sha256.Size+len(header))
	aad = append(aad, aadPrefix...)
	aad = append(aad, outerAADLabel...)
	aad = b.append(aad)
	sum := sha256.Sum256(b.publicKey)
	aad = append(aad, sum[:]...)
	return append(aad, header...)
}

// innerAAD is what the password layer authenticates besides its
// ciphertext: purpose, user, version, and the whole inner header (KDF,
// its parameters, the salt, the AEAD and its nonce).
func (b binding) innerAAD(header []byte) []byte {
	aad := make([]byte, 0, len(aadPrefix)+len(innerAADLabel)+16+len(header))
	aad = append(aad, aadPrefix...)
	aad = append(aad, innerAADLabel...)
	aad = b.append(aad)
	return append(aad, header...)
}

// inner is the parsed password layer.
type inner struct {
	kdf    KDFParams
	salt   []byte
	header []byte // everything before the ciphertext: the inner AAD's tail
	nonce  []byte
	sealed []byte // ciphertext and tag
}

// newInnerHeader lays out the inner header for fresh parameters, a fresh
// salt and a fresh nonce.
func newInnerHeader(p KDFParams) ([]byte, error) {
	h := make([]byte, 0, innerFixedLen+saltLen+innerAfterSalt)
	h = append(h, innerFormatV1, kdfArgon2id)
	h = binary.BigEndian.AppendUint32(h, p.Memory)
	h = binary.BigEndian.AppendUint32(h, p.Time)
	h = append(h, p.Threads, saltLen)
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("keyvault: reading random salt: %w", err)
	}
	h = append(h, salt...)
	h = append(h, aeadAES256GCM)
	nonce := make([]byte, gcmNonceLen)
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("keyvault: reading random nonce: %w", err)
	}
	return append(h, nonce...), nil
}

// parseInner splits the inner layer and checks everything that can be
// checked before the password is used: format, algorithms, and that the KDF
// parameters are within the bounds the vault accepts (so that a forged
// blob cannot ask for a weak derivation or for gigabytes of memory).
func parseInner(b []byte) (inner, error) {
	if len(b) < innerMinLength {
		return inner{}, fmt.Errorf("%w: inner layer of %d bytes, shorter than the minimum %d", errMalformed, len(b), innerMinLength)
	}
	if b[0] != innerFormatV1 {
		return inner{}, fmt.Errorf("%w: unknown inner format %d", errMalformed, b[0])
	}
	if b[1] != kdfArgon2id {
		return inner{}, fmt.Errorf("%w: unknown key derivation %d", errMalformed, b[1])
	}
	p := KDFParams{
		Memory:  binary.BigEndian.Uint32(b[2:6]),
		Time:    binary.BigEndian.Uint32(b[6:10]),
		Threads: b[10],
	}
	if err := p.Validate(); err != nil {
		return inner{}, fmt.Errorf("%w: stored %v", errMalformed, err)
	}
	n := int(b[11])
	if n < minSaltLen || n > maxSaltLen {
		return inner{}, fmt.Errorf("%w: salt of %d bytes (want %d to %d)", errMalformed, n, minSaltLen, maxSaltLen)
	}
	headerLen := innerFixedLen + n + innerAfterSalt
	if len(b) < headerLen+gcmTagLen {
		return inner{}, fmt.Errorf("%w: inner layer of %d bytes, too short for its header", errMalformed, len(b))
	}
	if b[innerFixedLen+n] != aeadAES256GCM {
		return inner{}, fmt.Errorf("%w: unknown inner cipher %d", errMalformed, b[innerFixedLen+n])
	}
	return inner{
		kdf:    p,
		salt:   b[innerFixedLen : innerFixedLen+n],
		header: b[:headerLen],
		nonce:  b[headerLen-gcmNonceLen : headerLen],
		sealed: b[headerLen:],
	}, nil
}

// gcm builds AES-256-GCM under a key-encryption key.
func gcm(kek []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// sealInner encrypts the PKCS#8 key under kek behind header (from
// newInnerHeader) and returns the whole inner layer.
func sealInner(header, kek, pkcs8 []byte, b binding) ([]byte, error) {
	a, err := gcm(kek)
	if err != nil {
		return nil, fmt.Errorf("keyvault: %w", err)
	}
	nonce := header[len(header)-gcmNonceLen:]
	out := make([]byte, len(header), len(header)+len(pkcs8)+gcmTagLen)
	copy(out, header)
	return a.Seal(out, nonce, pkcs8, b.innerAAD(header)), nil
}

// openInner decrypts the inner layer. The only failure is the tag check,
// which means the derived key is wrong: the outer layer has already
// authenticated these bytes.
func openInner(in inner, kek []byte, b binding) ([]byte, bool) {
	a, err := gcm(kek)
	if err != nil {
		return nil, false
	}
	pkcs8, err := a.Open(nil, in.nonce, in.sealed, b.innerAAD(in.header))
	return pkcs8, err == nil
}

// splitBlob checks a stored blob's header and returns it and the master-key
// sealed rest.
func splitBlob(blob []byte) (header, sealed []byte, err error) {
	if len(blob) < blobHeaderLen {
		return nil, nil, fmt.Errorf("%w: blob of %d bytes", errMalformed, len(blob))
	}
	if blob[0] != blobFormatV1 {
		return nil, nil, fmt.Errorf("%w: unknown blob format %d", errMalformed, blob[0])
	}
	if blob[1] != outerMasterKey {
		return nil, nil, fmt.Errorf("%w: unknown outer layer %d", errMalformed, blob[1])
	}
	return blob[:blobHeaderLen], blob[blobHeaderLen:], nil
}

// newBlobHeader is the header of every blob this version writes.
func newBlobHeader() []byte { return []byte{blobFormatV1, outerMasterKey} }
