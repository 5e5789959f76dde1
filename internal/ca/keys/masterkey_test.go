package keys_test

import (
	"bytes"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nemid-dk/nemid/internal/ca/keys"
)

func TestCreateMasterKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "master.key")
	if err := keys.CreateMasterKeyFile(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %#o, want 0600", fi.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	block, rest := pem.Decode(data)
	if block == nil || block.Type != "NEMID MASTER KEY" || len(block.Bytes) != 32 ||
		block.Headers["Version"] != "1" || len(bytes.TrimSpace(rest)) != 0 {
		t.Fatalf("unexpected master key file:\n%s", data)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the key file", len(entries))
	}
}

func TestCreateMasterKeyFileRefusesOverwrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	if err := keys.CreateMasterKeyFile(path); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	err := keys.CreateMasterKeyFile(path)
	if !errors.Is(err, keys.ErrKeyExists) {
		t.Fatalf("second CreateMasterKeyFile = %v, want ErrKeyExists", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("second CreateMasterKeyFile changed the file")
	}
	// Any existing file counts, even an empty one.
	empty := filepath.Join(t.TempDir(), "empty.key")
	writeFile(t, empty, nil)
	if err := keys.CreateMasterKeyFile(empty); !errors.Is(err, keys.ErrKeyExists) {
		t.Fatalf("CreateMasterKeyFile over an empty file = %v, want ErrKeyExists", err)
	}
}

func TestLoadMasterKeyFileRefusesLooseMode(t *testing.T) {
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o620, 0o602, 0o660, 0o610} {
		path := filepath.Join(t.TempDir(), "master.key")
		if err := keys.CreateMasterKeyFile(path); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		mk, err := keys.LoadMasterKeyFile(path)
		if err == nil || mk != nil {
			t.Fatalf("mode %#o: LoadMasterKeyFile succeeded, want a refusal", mode)
		}
		if !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("mode %#o: error does not say how to fix it: %v", mode, err)
		}
		if err := os.Chmod(path, 0o400); err != nil {
			t.Fatal(err)
		}
		mk, err = keys.LoadMasterKeyFile(path)
		if err != nil {
			t.Fatalf("mode 0400: %v", err)
		}
		mk.Close()
	}
}

func TestLoadMasterKeyFileRejectsBadFormat(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	good := map[string]string{"Version": "1", "Algorithm": "AES-256-GCM"}
	enc := func(typ string, h map[string]string, b []byte) []byte {
		return pem.EncodeToMemory(&pem.Block{Type: typ, Headers: h, Bytes: b})
	}
	cases := map[string][]byte{
		"empty":          nil,
		"raw bytes":      key,
		"base64 only":    []byte(base64.StdEncoding.EncodeToString(key)),
		"wrong type":     enc("PRIVATE KEY", good, key),
		"short key":      enc("NEMID MASTER KEY", good, key[:31]),
		"long key":       enc("NEMID MASTER KEY", good, append(bytes.Clone(key), 0)),
		"no version":     enc("NEMID MASTER KEY", map[string]string{"Algorithm": "AES-256-GCM"}, key),
		"version 2":      enc("NEMID MASTER KEY", map[string]string{"Version": "2", "Algorithm": "AES-256-GCM"}, key),
		"other alg":      enc("NEMID MASTER KEY", map[string]string{"Version": "1", "Algorithm": "AES-128-GCM"}, key),
		"extra header":   enc("NEMID MASTER KEY", map[string]string{"Version": "1", "Algorithm": "AES-256-GCM", "X": "y"}, key),
		"trailing block": append(enc("NEMID MASTER KEY", good, key), enc("NEMID MASTER KEY", good, key)...),
		"huge":           bytes.Repeat([]byte("a"), 1<<20),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "master.key")
			writeFile(t, path, data)
			if mk, err := keys.LoadMasterKeyFile(path); err == nil || mk != nil {
				t.Fatal("LoadMasterKeyFile accepted a malformed file")
			} else if strings.Contains(err.Error(), base64.StdEncoding.EncodeToString(key)[:20]) {
				t.Fatalf("error quotes the key: %v", err)
			}
		})
	}
	// The well-formed variant of the same key loads.
	path := filepath.Join(t.TempDir(), "master.key")
	writeFile(t, path, enc("NEMID MASTER KEY", good, key))
	mk, err := keys.LoadMasterKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	mk.Close()
	if _, err := keys.LoadMasterKeyFile(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("missing file loaded")
	}
	if _, err := keys.LoadMasterKeyFile(t.TempDir()); err == nil {
		t.Fatal("directory loaded as a master key")
	}
}

func TestFileMasterKeySealOpen(t *testing.T) {
	mk, _ := newFileMasterKey(t)
	pt := []byte("a user's PKCS#8 key")
	aad := []byte("nemid user key v1\x00user-42")
	a, err := mk.Seal(pt, aad)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := mk.Seal(pt, aad)
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same plaintext are equal: nonce reuse")
	}
	if len(a) != 2+12+len(pt)+16 || a[0] != keys.SealedFormatV1 || a[1] != 1 {
		t.Fatalf("sealed layout: len %d, header % x", len(a), a[:2])
	}
	got, err := mk.Open(a, aad)
	if err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	for name, tc := range map[string]struct{ sealed, aad []byte }{
		"other aad":  {a, []byte("nemid user key v1\x00user-43")},
		"nil aad":    {a, nil},
		"truncated":  {a[:len(a)-1], aad},
		"too short":  {a[:10], aad},
		"empty":      {nil, aad},
		"version 2":  {append([]byte{2}, a[1:]...), aad},
		"alg 2":      {append([]byte{1, 2}, a[2:]...), aad},
		"extra byte": {append(bytes.Clone(a), 0), aad},
	} {
		if got, err := mk.Open(tc.sealed, tc.aad); !errors.Is(err, keys.ErrUnsealFailed) || got != nil {
			t.Errorf("%s: Open = %q, %v; want ErrUnsealFailed", name, got, err)
		}
	}
	// Every bit of the blob is covered by the tag.
	for i := range a {
		c := bytes.Clone(a)
		c[i] ^= 0x10
		if _, err := mk.Open(c, aad); !errors.Is(err, keys.ErrUnsealFailed) {
			t.Fatalf("flip in byte %d not detected: %v", i, err)
		}
	}
}

func TestFileMasterKeyClose(t *testing.T) {
	mk, _ := newFileMasterKey(t)
	sealed, err := mk.Seal([]byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := mk.Close(); err != nil {
		t.Fatal(err)
	}
	if err := mk.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := mk.Seal([]byte("x"), nil); !errors.Is(err, keys.ErrClosed) {
		t.Errorf("Seal after Close = %v, want ErrClosed", err)
	}
	if _, err := mk.Open(sealed, nil); !errors.Is(err, keys.ErrClosed) {
		t.Errorf("Open after Close = %v, want ErrClosed", err)
	}
}
