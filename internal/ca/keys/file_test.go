package keys_test

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/nemid-dk/nemid/internal/ca/keys"
)

func TestFileBackendGenerateSignVerify(t *testing.T) {
	ctx := context.Background()
	mk, _ := newFileMasterKey(t)
	dir := filepath.Join(t.TempDir(), "ca-keys")
	b := keys.NewFileBackend(dir, mk)

	ref, s, err := b.Generate(ctx, "root-0a1b2c3d", 2048)
	if err != nil {
		t.Fatal(err)
	}
	if ref != "root-0a1b2c3d" {
		t.Errorf("ref = %q, want the label", ref)
	}
	signAndVerify(t, s)
	opensslVerify(t, selfSignedCA(t, s, "file backend root"))

	path := filepath.Join(dir, "root-0a1b2c3d.key.sealed")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("sealed key mode = %#o, want 0600", fi.Mode().Perm())
	}
	// The temporary file used for the atomic write must be gone.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("key directory holds %d entries, want only the sealed key: %v", len(entries), entries)
	}
	data, _ := os.ReadFile(path)
	if block, _ := pem.Decode(data); block == nil || block.Type != "NEMID SEALED KEY" {
		t.Errorf("sealed key file is not a NEMID SEALED KEY PEM block:\n%s", data)
	}

	// A second back-end (as after a restart) loads the same key.
	s2, err := keys.NewFileBackend(dir, mk).Signer(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	samePublicKey(t, s, s2)
	signAndVerify(t, s2)

	if d := b.Describe(); !strings.Contains(d, dir) {
		t.Errorf("Describe() = %q, want it to name %s", d, dir)
	}
	if _, err := b.Signer(ctx, "no-such-key"); !errors.Is(err, keys.ErrKeyNotFound) {
		t.Errorf("Signer(missing) = %v, want ErrKeyNotFound", err)
	}
}

func TestFileBackendRefusesExistingLabel(t *testing.T) {
	ctx := context.Background()
	mk, _ := newFileMasterKey(t)
	dir := t.TempDir()
	b := keys.NewFileBackend(dir, mk)
	if _, _, err := b.Generate(ctx, "issuing", 2048); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "issuing.key.sealed")
	before, _ := os.ReadFile(path)
	if _, s, err := b.Generate(ctx, "issuing", 2048); !errors.Is(err, keys.ErrKeyExists) || s != nil {
		t.Fatalf("second Generate = %v, %v; want ErrKeyExists and no signer", s, err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatal("second Generate changed the existing sealed key")
	}
}

// Two Generates racing for one label: exactly one wins, and the link-based
// write leaves one complete file.
func TestFileBackendConcurrentGenerate(t *testing.T) {
	ctx := context.Background()
	mk, _ := newFileMasterKey(t)
	dir := t.TempDir()
	b := keys.NewFileBackend(dir, mk)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { _, _, errs[i] = b.Generate(ctx, "race", 2048) })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, keys.ErrKeyExists):
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d Generates succeeded, want exactly 1", ok)
	}
	if _, err := b.Signer(ctx, "race"); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("key directory holds %d entries, want 1", len(entries))
	}
}

func TestFileBackendDetectsFlippedBit(t *testing.T) {
	ctx := context.Background()
	mk, _ := newFileMasterKey(t)
	dir := t.TempDir()
	b := keys.NewFileBackend(dir, mk)
	if _, _, err := b.Generate(ctx, "ocsp", 2048); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ocsp.key.sealed")
	orig, _ := os.ReadFile(path)
	block, _ := pem.Decode(orig)
	n := len(block.Bytes)
	// Header bytes, nonce, ciphertext start and middle, tag.
	for _, pos := range []int{0, 1, 2, 13, 14, n / 2, n - 16, n - 1} {
		for _, bit := range []byte{0x01, 0x80} {
			blob := bytes.Clone(block.Bytes)
			blob[pos] ^= bit
			writeFile(t, path, pem.EncodeToMemory(&pem.Block{Type: block.Type, Bytes: blob}))
			s, err := b.Signer(ctx, "ocsp")
			if !errors.Is(err, keys.ErrUnsealFailed) || s != nil {
				t.Fatalf("byte %d bit %#x flipped: Signer = %v, %v; want ErrUnsealFailed", pos, bit, s, err)
			}
		}
	}
	// A flip in the file text itself (base64 or armour) must fail as well.
	for _, pos := range []int{3, len(orig) / 2, len(orig) - 3} {
		text := bytes.Clone(orig)
		text[pos] ^= 0x02
		writeFile(t, path, text)
		if s, err := b.Signer(ctx, "ocsp"); err == nil || s != nil {
			t.Fatalf("file byte %d flipped: Signer returned a key", pos)
		}
	}
	// Truncation too.
	writeFile(t, path, pem.EncodeToMemory(&pem.Block{Type: block.Type, Bytes: block.Bytes[:n-1]}))
	if _, err := b.Signer(ctx, "ocsp"); !errors.Is(err, keys.ErrUnsealFailed) {
		t.Fatalf("truncated: %v, want ErrUnsealFailed", err)
	}
	writeFile(t, path, orig)
	if _, err := b.Signer(ctx, "ocsp"); err != nil {
		t.Fatalf("restored file: %v", err)
	}
}

// A sealed file renamed to another label must not open: the label is bound
// in the additional data.
func TestFileBackendDetectsLabelSwap(t *testing.T) {
	ctx := context.Background()
	mk, _ := newFileMasterKey(t)
	dir := t.TempDir()
	b := keys.NewFileBackend(dir, mk)
	for _, l := range []string{"root", "issuing"} {
		if _, _, err := b.Generate(ctx, l, 2048); err != nil {
			t.Fatal(err)
		}
	}
	// Rename to a fresh label.
	if err := os.Rename(filepath.Join(dir, "root.key.sealed"), filepath.Join(dir, "attacker.key.sealed")); err != nil {
		t.Fatal(err)
	}
	if s, err := b.Signer(ctx, "attacker"); !errors.Is(err, keys.ErrUnsealFailed) || s != nil {
		t.Fatalf("renamed file: Signer = %v, %v; want ErrUnsealFailed", s, err)
	}
	// Put the root key in place of the issuing key.
	if err := os.Rename(filepath.Join(dir, "attacker.key.sealed"), filepath.Join(dir, "issuing.key.sealed")); err != nil {
		t.Fatal(err)
	}
	if s, err := b.Signer(ctx, "issuing"); !errors.Is(err, keys.ErrUnsealFailed) || s != nil {
		t.Fatalf("swapped file: Signer = %v, %v; want ErrUnsealFailed", s, err)
	}
}

func TestFileBackendWrongMasterKey(t *testing.T) {
	ctx := context.Background()
	mk1, _ := newFileMasterKey(t)
	mk2, _ := newFileMasterKey(t)
	dir := t.TempDir()
	if _, _, err := keys.NewFileBackend(dir, mk1).Generate(ctx, "root", 2048); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.NewFileBackend(dir, mk2).Signer(ctx, "root"); !errors.Is(err, keys.ErrUnsealFailed) {
		t.Fatalf("Signer under another master key = %v, want ErrUnsealFailed", err)
	}
}

func TestFileBackendRejectsBadLabels(t *testing.T) {
	ctx := context.Background()
	mk, _ := newFileMasterKey(t)
	parent := t.TempDir()
	dir := filepath.Join(parent, "keys")
	b := keys.NewFileBackend(dir, mk)
	// Plant a sealed-looking file outside dir that traversal would reach.
	writeFile(t, filepath.Join(parent, "outside.key.sealed"), []byte("x"))
	bad := []string{
		"", "../outside", "..", ".", "a/b", "/etc/passwd", `a\b`, "Root", "-rf", "a.b", "a b",
		"a\x00b", "æøå", strings.Repeat("a", 65), "root\n",
	}
	for _, label := range bad {
		if _, _, err := b.Generate(ctx, label, 2048); !errors.Is(err, keys.ErrInvalidLabel) {
			t.Errorf("Generate(%q) = %v, want ErrInvalidLabel", label, err)
		}
		if _, err := b.Signer(ctx, label); !errors.Is(err, keys.ErrInvalidRef) {
			t.Errorf("Signer(%q) = %v, want ErrInvalidRef", label, err)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a rejected label created the key directory: %v", err)
	}
	for _, good := range []string{"a", "root-0a1b2c3d", strings.Repeat("z", 64), "0"} {
		if err := keys.ValidateLabel(good); err != nil {
			t.Errorf("ValidateLabel(%q) = %v, want nil", good, err)
		}
	}
}

func TestFileBackendRejectsBadKeySizes(t *testing.T) {
	mk, _ := newFileMasterKey(t)
	b := keys.NewFileBackend(t.TempDir(), mk)
	for _, bits := range []int{0, 512, 1024, 2047, 8192} {
		if _, _, err := b.Generate(context.Background(), "k", bits); !errors.Is(err, keys.ErrInvalidKeySize) {
			t.Errorf("Generate(bits=%d) = %v, want ErrInvalidKeySize", bits, err)
		}
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
