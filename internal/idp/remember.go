package idp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"strings"
)

// The remember-user-id token (REMEMBER_USERID, response property
// rememberUseridToken) is opaque to the service provider (spec 2, §8 of
// the implementation guide): base64 of a random nonce and the user's NemID
// number sealed (AES-256-GCM) under an installation secret. Only this
// server can read or forge one; an SP sees a different token each time.

const rememberAAD = "nemid remember user-id v1"

type rememberer struct{ aead cipher.AEAD }

func newRememberer(key []byte) (*rememberer, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &rememberer{aead: aead}, nil
}

// token seals a NemID number.
func (r *rememberer) token(nemid string) (string, error) {
	nonce := make([]byte, r.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(r.aead.Seal(nonce, nonce, []byte(nemid), []byte(rememberAAD))), nil
}

// user opens a token; ok is false for anything that is not a token of
// this installation (which the client treats as no token, spec 2).
func (r *rememberer) user(token string) (nemid string, ok bool) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(token))
	n := r.aead.NonceSize()
	if err != nil || len(b) < n+r.aead.Overhead() {
		return "", false
	}
	plain, err := r.aead.Open(nil, b[:n], b[n:], []byte(rememberAAD))
	if err != nil {
		return "", false
	}
	return string(plain), true
}
