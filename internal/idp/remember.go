package idp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"time"
)

// The remember-user-id token (REMEMBER_USERID, response property
// rememberUseridToken) is opaque to the service provider (spec 2, §8 of
// the implementation guide): base64 of a random nonce and, sealed with
// AES-256-GCM under an installation secret, the time it was issued and the
// user's NemID number, bound to the service provider it was issued to.
// Only this server can read or make one; it works only at that SP (so no
// SP can have another's token read out), and only for rememberFor.

const (
	rememberAAD     = "nemid remember user-id v1\x00"
	rememberVersion = 1
	// rememberFor is how long a token fills in the user-id.
	rememberFor = 365 * 24 * time.Hour
)

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

func rememberAD(sp int64) []byte {
	return binary.BigEndian.AppendUint64([]byte(rememberAAD), uint64(sp))
}

// token seals a NemID number for the service provider sp.
func (r *rememberer) token(nemid string, sp int64, now time.Time) (string, error) {
	nonce := make([]byte, r.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	plain := binary.BigEndian.AppendUint64([]byte{rememberVersion}, uint64(now.Unix()))
	plain = append(plain, nemid...)
	return base64.StdEncoding.EncodeToString(r.aead.Seal(nonce, nonce, plain, rememberAD(sp))), nil
}

// user opens a token presented by the service provider sp; ok is false
// for anything that is not a current token of this installation for sp
// (which the client treats as no token, spec 2).
func (r *rememberer) user(token string, sp int64, now time.Time) (nemid string, ok bool) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(token))
	n := r.aead.NonceSize()
	if err != nil || len(b) < n+r.aead.Overhead() {
		return "", false
	}
	plain, err := r.aead.Open(nil, b[:n], b[n:], rememberAD(sp))
	if err != nil || len(plain) < 9 || plain[0] != rememberVersion {
		return "", false
	}
	issued := time.Unix(int64(binary.BigEndian.Uint64(plain[1:9])), 0)
	if now.Before(issued.Add(-time.Minute)) || !now.Before(issued.Add(rememberFor)) {
		return "", false
	}
	return string(plain[9:]), true
}
