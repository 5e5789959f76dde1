package keys

import (
	"crypto/cipher"
	"crypto/rand"
	"fmt"
)

// SealedFormatV1 is the first byte of every blob a [MasterKey] in this
// package produces. The layout is
//
//	byte 0      format version (1)
//	byte 1      algorithm (1 = AES-256-GCM, 96-bit nonce, 128-bit tag)
//	bytes 2-13  random nonce
//	bytes 14-   ciphertext followed by the 16-byte GCM tag
//
// The two header bytes are authenticated too (they are prepended to the
// caller's additional data), so a blob cannot be reinterpreted under another
// version or algorithm.
const SealedFormatV1 byte = 1

const (
	algAES256GCM  byte = 1
	gcmNonceSize       = 12
	gcmTagSize         = 16
	sealHeaderLen      = 2
	sealMinLen         = sealHeaderLen + gcmNonceSize + gcmTagSize
)

// sealAEAD seals plaintext with a under a fresh random nonce in the v1
// layout. A random 96-bit nonce is safe for far more messages than a master
// key will ever seal (the NIST limit is 2^32 per key).
func sealAEAD(a cipher.AEAD, plaintext, additionalData []byte) (out []byte, err error) {
	// crypto11's AEAD panics when the token fails (cipher.AEAD.Seal has no
	// error result); turn that into an error instead of crashing the server.
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("keys: seal failed: %v", r)
		}
	}()
	if a.Overhead() != gcmTagSize {
		return nil, fmt.Errorf("keys: seal: unexpected AEAD tag size %d", a.Overhead())
	}
	header := [sealHeaderLen]byte{SealedFormatV1, algAES256GCM}
	out = make([]byte, sealHeaderLen+gcmNonceSize, sealHeaderLen+gcmNonceSize+len(plaintext)+gcmTagSize)
	copy(out, header[:])
	nonce := out[sealHeaderLen:]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("keys: seal: reading random nonce: %w", err)
	}
	ct := a.Seal(nil, nonce, plaintext, sealAAD(header, additionalData))
	return append(out, ct...), nil
}

// parseSealed checks the header of a v1 blob and splits it.
func parseSealed(sealed []byte) (header [sealHeaderLen]byte, nonce, ct []byte, err error) {
	if len(sealed) < sealMinLen {
		return header, nil, nil, fmt.Errorf("%w (sealed data is %d bytes, shorter than the minimum %d)", ErrUnsealFailed, len(sealed), sealMinLen)
	}
	if sealed[0] != SealedFormatV1 {
		return header, nil, nil, fmt.Errorf("%w (unknown sealed format version %d)", ErrUnsealFailed, sealed[0])
	}
	if sealed[1] != algAES256GCM {
		return header, nil, nil, fmt.Errorf("%w (unknown sealing algorithm %d)", ErrUnsealFailed, sealed[1])
	}
	copy(header[:], sealed[:sealHeaderLen])
	return header, sealed[sealHeaderLen : sealHeaderLen+gcmNonceSize], sealed[sealHeaderLen+gcmNonceSize:], nil
}

// sealAAD is what the AEAD actually authenticates: the blob header, then
// the caller's additional data.
func sealAAD(header [sealHeaderLen]byte, additionalData []byte) []byte {
	aad := make([]byte, 0, sealHeaderLen+len(additionalData))
	aad = append(aad, header[:]...)
	return append(aad, additionalData...)
}
