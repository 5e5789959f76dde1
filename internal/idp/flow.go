package idp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
)

// secretLength is the length of a flow secret as the client holds it:
// base64url of 32 random bytes.
const secretLength = 43

// newFlowSecret returns a fresh flow secret and the hash the store keeps.
func newFlowSecret() (secret, idHash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	secret = base64.RawURLEncoding.EncodeToString(b)
	return secret, flowHash(secret), nil
}

// flowHash is the store's key for a flow: the hex SHA-256 of its secret.
func flowHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// validSecret reports whether s has the form of a flow secret, so that
// anything else is refused before the store is asked.
func validSecret(s string) bool {
	if len(s) != secretLength {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil
}

// flowRef names a flow in logs and the audit log without revealing it:
// the first 12 hex digits of the hash of its secret.
func flowRef(idHash string) string { return idHash[:12] }

// sealedState is what a flow's later steps need and the database must not
// hold readable: it is sealed under a key derived from the flow secret,
// which only the browser holds. Its secrets are wiped (wipe) once used.
type sealedState struct {
	// AuthFlow is the secret of internal/auth's logon flow.
	AuthFlow string `json:"a"`
	// Unlocked is what the password unlocked in the vault (auth.Flow.Unlocked):
	// the signature at the end uses it, with no second derivation.
	Unlocked []byte `json:"u,omitempty"`
	// Temporary is the temporary password the logon began with, until the
	// activation (which needs it to re-wrap the key); empty otherwise.
	Temporary string `json:"t,omitempty"`
	// Card and Key are the key-card challenge being asked.
	Card string `json:"c"`
	Key  string `json:"k"`
	// Remember: the user asked to be remembered (REMEMBER_USERID).
	Remember bool `json:"r"`
	// User is the NemID number of the user, once the code is answered and
	// a credential update (CREDENTIAL_UPDATE) comes before the response.
	User string `json:"n,omitempty"`
}

const (
	sealKeyLabel = "nemid idp flow seal v1"
	sealAADLabel = "nemid idp flow v1\x00"
)

// sealState encrypts st (AES-256-GCM) under a key derived from the flow
// secret, bound to the flow's hash.
func sealState(secret, idHash string, st sealedState) ([]byte, error) {
	plain, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	aead, err := flowAEAD(secret)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, plain, []byte(sealAADLabel+idHash)), nil
}

// errSealed: the sealed state does not open with this secret.
var errSealed = errors.New("idp: the flow's sealed state does not open")

func openState(secret, idHash string, sealed []byte) (sealedState, error) {
	aead, err := flowAEAD(secret)
	if err != nil {
		return sealedState{}, err
	}
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return sealedState{}, errSealed
	}
	n := aead.NonceSize()
	plain, err := aead.Open(nil, sealed[:n], sealed[n:], []byte(sealAADLabel+idHash))
	if err != nil {
		return sealedState{}, errSealed
	}
	defer clear(plain)
	var st sealedState
	if err := json.Unmarshal(plain, &st); err != nil {
		return sealedState{}, errSealed
	}
	return st, nil
}

func flowAEAD(secret string) (cipher.AEAD, error) {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(sealKeyLabel))
	key := m.Sum(nil)
	defer clear(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// wipe clears the secrets of a state that is no longer needed.
func (st *sealedState) wipe() {
	clear(st.Unlocked)
	st.Temporary = ""
}
