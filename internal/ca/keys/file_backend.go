package keys

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Sealed key file format: one PEM block
//
//	-----BEGIN NEMID SEALED KEY-----
//	<base64 of MasterKey.Seal(PKCS#8 DER, "nemid ca key v1\x00" + label)>
//	-----END NEMID SEALED KEY-----
//
// The label is not written in the file: it is the file name, and the
// additional data binds the sealed key to it, so a file renamed to another
// label fails to open.
const (
	sealedKeyPEMType = "NEMID SEALED KEY"
	sealedKeySuffix  = ".key.sealed"
	// An RSA-4096 PKCS#8 key is about 2.4 KB, 3.3 KB in PEM.
	sealedKeyMaxFile = 64 << 10
)

// FileBackend keeps each authority key in its own file, sealed under a
// [MasterKey]. The reference it returns is the label. It is safe for
// concurrent use; creating a key is atomic and never overwrites, even
// between processes sharing the directory.
type FileBackend struct {
	dir string
	mk  MasterKey
}

var _ Backend = (*FileBackend)(nil)

// NewFileBackend returns a back-end that stores sealed keys in dir (created
// with mode 0700 on first Generate) under master key mk. The back-end does
// not own mk: whoever loaded the master key closes it.
func NewFileBackend(dir string, mk MasterKey) *FileBackend {
	return &FileBackend{dir: dir, mk: mk}
}

// Describe says where keys live. It never includes a secret.
func (b *FileBackend) Describe() string {
	return fmt.Sprintf("file: sealed key files %s/<label>%s (AES-256-GCM under the operator master key)", b.dir, sealedKeySuffix)
}

// Close does nothing: the back-end holds no resources of its own (the
// master key belongs to the caller).
func (b *FileBackend) Close() error { return nil }

func (b *FileBackend) path(label string) string {
	return filepath.Join(b.dir, label+sealedKeySuffix)
}

// Generate makes a new RSA key, seals its PKCS#8 encoding under the master
// key and writes it to "<dir>/<label>.key.sealed" (mode 0600). It refuses
// with ErrKeyExists if that file exists. The returned reference is label.
func (b *FileBackend) Generate(ctx context.Context, label string, bits int) (string, crypto.Signer, error) {
	if err := ValidateLabel(label); err != nil {
		return "", nil, err
	}
	if err := validateBits(bits); err != nil {
		return "", nil, err
	}
	if err := ctx.Err(); err != nil {
		return "", nil, err
	}
	if err := os.MkdirAll(b.dir, 0o700); err != nil {
		return "", nil, fmt.Errorf("keys: creating key directory: %w", err)
	}
	// Refuse before spending seconds on an RSA-4096 key; the exclusive
	// write below is the real guarantee.
	if _, err := os.Lstat(b.path(label)); err == nil {
		return "", nil, fmt.Errorf("%w: %s", ErrKeyExists, b.path(label))
	}

	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return "", nil, fmt.Errorf("keys: generating RSA-%d key: %w", bits, err)
	}
	if err := ctx.Err(); err != nil {
		return "", nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", nil, fmt.Errorf("keys: encoding key: %w", err)
	}
	sealed, err := b.mk.Seal(der, caKeyAAD(label))
	zero(der)
	if err != nil {
		return "", nil, fmt.Errorf("keys: sealing key %q: %w", label, err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: sealedKeyPEMType, Bytes: sealed})
	err = writeFileExclusive(b.dir, label+sealedKeySuffix, data)
	if errors.Is(err, errFileExists) {
		return "", nil, fmt.Errorf("%w: %s", ErrKeyExists, b.path(label))
	}
	if err != nil {
		return "", nil, fmt.Errorf("keys: writing sealed key %s: %w", b.path(label), err)
	}
	return label, key, nil
}

// Signer reads, authenticates and decrypts the sealed key for ref (a
// label). A file that was altered, renamed from another label or sealed
// under another master key yields an error wrapping ErrUnsealFailed.
func (b *FileBackend) Signer(ctx context.Context, ref string) (crypto.Signer, error) {
	label := ref
	if err := ValidateLabel(label); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidRef, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	path := b.path(label)
	data, err := readSmallFile(path, sealedKeyMaxFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrKeyNotFound, path)
	}
	if err != nil {
		return nil, fmt.Errorf("keys: reading sealed key: %w", err)
	}
	block, rest := pem.Decode(data)
	if block == nil || block.Type != sealedKeyPEMType || len(block.Headers) != 0 || len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%w (%s is not a well-formed %q PEM file)", ErrUnsealFailed, path, sealedKeyPEMType)
	}
	der, err := b.mk.Open(block.Bytes, caKeyAAD(label))
	if err != nil {
		return nil, fmt.Errorf("keys: sealed key %s: %w", path, err)
	}
	defer zero(der)
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		// Authenticated but unparsable: written by something else under
		// our master key. Do not echo parser details about key bytes.
		return nil, fmt.Errorf("keys: sealed key %s holds no valid PKCS#8 key", path)
	}
	key, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("keys: sealed key %s is a %T, want an RSA key", path, parsed)
	}
	return key, nil
}

// readSmallFile reads at most limit bytes; a larger file is an error rather
// than a memory sink.
func readSmallFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return data, nil
}
