package keys

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// Master key file format: one PEM block
//
//	-----BEGIN NEMID MASTER KEY-----
//	Version: 1
//	Algorithm: AES-256-GCM
//
//	<base64 of 32 random bytes>
//	-----END NEMID MASTER KEY-----
//
// and nothing else. The headers make the file self-describing so that a
// later version (say, a key with an identifier for rotation) can be told
// apart instead of being misread.
const (
	masterKeyPEMType   = "NEMID MASTER KEY"
	masterKeyVersion   = "1"
	masterKeyAlgorithm = "AES-256-GCM"
	masterKeySize      = 32
	// A valid file is about 150 bytes; anything much larger is not ours.
	masterKeyMaxFile = 4096
)

// CreateMasterKeyFile writes a new master key of 32 bytes from crypto/rand
// to path, with mode 0600. It refuses (an error wrapping ErrKeyExists) if
// path exists, and never overwrites: losing the master key loses every key
// sealed under it. The parent directory is created (0700) if missing.
func CreateMasterKeyFile(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("keys: creating master key directory: %w", err)
	}
	key := make([]byte, masterKeySize)
	defer zero(key)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("keys: reading random master key: %w", err)
	}
	data := pem.EncodeToMemory(&pem.Block{
		Type:    masterKeyPEMType,
		Headers: map[string]string{"Version": masterKeyVersion, "Algorithm": masterKeyAlgorithm},
		Bytes:   key,
	})
	defer zero(data)
	err := writeFileExclusive(dir, filepath.Base(path), data)
	if errors.Is(err, errFileExists) {
		return fmt.Errorf("%w: master key file %s already exists (keep it: every sealed key depends on it)", ErrKeyExists, path)
	}
	if err != nil {
		return fmt.Errorf("keys: writing master key file %s: %w", path, err)
	}
	return nil
}

// FileMasterKey is a [MasterKey] whose 32-byte AES-256 key is read from a
// file made by [CreateMasterKeyFile]. It is safe for concurrent use.
type FileMasterKey struct {
	path string

	mu     sync.RWMutex
	key    []byte // nil after Close
	closed bool
}

// LoadMasterKeyFile reads a master key file made by [CreateMasterKeyFile].
// It refuses a file that group or others can access (the fix is given in
// the error: chmod 600), a file that is not a regular file, and any content
// that is not exactly one well-formed version-1 key. Call Close when done to
// wipe the key from memory (best effort).
func LoadMasterKeyFile(path string) (*FileMasterKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("keys: opening master key file: %w", err)
	}
	defer f.Close()
	// Stat the open file, not the path, so the checked file is the one read.
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("keys: master key file %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("keys: master key file %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("keys: master key file %s has mode %#o, so users other than its owner can access it; "+
			"refusing to use it. Fix with: chmod 600 %s (and consider the key exposed if others could read it)", path, perm, path)
	}
	raw, err := io.ReadAll(io.LimitReader(f, masterKeyMaxFile+1))
	defer zero(raw)
	if err != nil {
		return nil, fmt.Errorf("keys: reading master key file %s: %w", path, err)
	}
	key, err := parseMasterKey(raw)
	if err != nil {
		return nil, fmt.Errorf("keys: master key file %s: %w", path, err)
	}
	return &FileMasterKey{path: path, key: key}, nil
}

// parseMasterKey checks the format strictly and returns a copy of the key.
// Its errors never quote the file's contents.
func parseMasterKey(raw []byte) ([]byte, error) {
	if len(raw) > masterKeyMaxFile {
		return nil, errors.New("too large to be a master key file")
	}
	block, rest := pem.Decode(raw)
	if block == nil {
		return nil, errors.New("not a PEM file (want a \"" + masterKeyPEMType + "\" block)")
	}
	defer zero(block.Bytes)
	if block.Type != masterKeyPEMType {
		return nil, fmt.Errorf("PEM block type is %q, want %q", block.Type, masterKeyPEMType)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("unexpected data after the master key block")
	}
	if v := block.Headers["Version"]; v != masterKeyVersion {
		return nil, fmt.Errorf("unsupported master key version %q (this program reads version %s)", v, masterKeyVersion)
	}
	if a := block.Headers["Algorithm"]; a != masterKeyAlgorithm {
		return nil, fmt.Errorf("unsupported master key algorithm %q (want %s)", a, masterKeyAlgorithm)
	}
	if len(block.Headers) != 2 {
		return nil, errors.New("unexpected headers in master key block")
	}
	if len(block.Bytes) != masterKeySize {
		return nil, fmt.Errorf("master key is %d bytes, want %d", len(block.Bytes), masterKeySize)
	}
	return bytes.Clone(block.Bytes), nil
}

// Path returns the file the key was loaded from (for logs; not secret).
func (m *FileMasterKey) Path() string { return m.path }

// Seal encrypts plaintext with AES-256-GCM under a random nonce, binding
// additionalData; see [SealedFormatV1] for the output layout.
func (m *FileMasterKey) Seal(plaintext, additionalData []byte) ([]byte, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	a, err := m.aead()
	if err != nil {
		return nil, err
	}
	return sealAEAD(a, plaintext, additionalData)
}

// Open authenticates and decrypts a blob made by Seal with the same
// additionalData. Every failure wraps ErrUnsealFailed.
func (m *FileMasterKey) Open(sealed, additionalData []byte) ([]byte, error) {
	header, nonce, ct, err := parseSealed(sealed)
	if err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	a, err := m.aead()
	if err != nil {
		return nil, err
	}
	pt, err := a.Open(nil, nonce, ct, sealAAD(header, additionalData))
	if err != nil {
		return nil, fmt.Errorf("%w (GCM authentication failed)", ErrUnsealFailed)
	}
	return pt, nil
}

// aead builds the cipher for one operation. Building it per call (cheap)
// rather than keeping it means the raw key in m.key is the one long-lived
// copy, which Close can wipe. The caller holds m.mu.
func (m *FileMasterKey) aead() (cipher.AEAD, error) {
	if m.closed {
		return nil, ErrClosed
	}
	block, err := aes.NewCipher(m.key)
	if err != nil {
		return nil, fmt.Errorf("keys: master key: %w", err)
	}
	return cipher.NewGCMWithNonceSize(block, gcmNonceSize)
}

// Close overwrites the key bytes held by m and makes further use fail with
// ErrClosed. This is best effort: the Go runtime may have left copies (for
// instance AES key schedules of earlier operations) that only the garbage
// collector reclaims. Close is idempotent.
func (m *FileMasterKey) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	zero(m.key)
	m.key = nil
	m.closed = true
	return nil
}
