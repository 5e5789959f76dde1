package keys_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nemid-dk/nemid/internal/ca/keys"
	"github.com/nemid-dk/nemid/internal/ca/keys/softhsmtest"
)

// openPKCS11 opens a back-end on cfg and closes it when the test ends.
func openPKCS11(t *testing.T, cfg keys.PKCS11Config) *keys.PKCS11Backend {
	t.Helper()
	b, err := keys.NewPKCS11Backend(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestPKCS11GenerateSignVerify(t *testing.T) {
	ctx := context.Background()
	cfg := softhsmtest.NewToken(t)
	b, err := keys.NewPKCS11Backend(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	ref, s, err := b.Generate(ctx, "ocsp-0a1b2c3d", 2048)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^pkcs11:label=ocsp-0a1b2c3d;id=[0-9a-f]{32}$`).MatchString(ref) {
		t.Errorf("ref = %q, want pkcs11:label=ocsp-0a1b2c3d;id=<32 hex>", ref)
	}
	if pub, ok := s.Public().(*rsa.PublicKey); !ok || pub.N.BitLen() != 2048 || pub.E != 65537 {
		t.Fatalf("public key: %T", s.Public())
	}
	signAndVerify(t, s)
	// PSS works too (the OCSP and XMLDSig code may want it).
	digest := sha256.Sum256([]byte("pss"))
	pssOpts := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
	sig, err := s.Sign(rand.Reader, digest[:], pssOpts)
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPSS(s.Public().(*rsa.PublicKey), crypto.SHA256, digest[:], sig, pssOpts); err != nil {
		t.Fatalf("VerifyPSS: %v", err)
	}
	// An independent check of the signer: a self-signed CA through
	// crypto/x509, verified by openssl.
	opensslVerify(t, selfSignedCA(t, s, "PKCS#11 test root"))

	if _, s2, err := b.Generate(ctx, "ocsp-0a1b2c3d", 2048); !errors.Is(err, keys.ErrKeyExists) || s2 != nil {
		t.Fatalf("second Generate = %v, %v; want ErrKeyExists", s2, err)
	}
	pub := s.Public()

	// A fresh back-end: the first is closed, so the module is finalised and
	// loaded again, with a new session and login.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b2 := openPKCS11(t, cfg)
	s2, err := b2.Signer(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if !pub.(*rsa.PublicKey).Equal(s2.Public()) {
		t.Fatal("fresh back-end found a different key")
	}
	signAndVerify(t, s2)
	// Label-only references work; a wrong CKA_ID does not match.
	if s3, err := b2.Signer(ctx, "pkcs11:label=ocsp-0a1b2c3d"); err != nil || !pub.(*rsa.PublicKey).Equal(s3.Public()) {
		t.Fatalf("label-only ref: %v", err)
	}
	if _, err := b2.Signer(ctx, "pkcs11:label=ocsp-0a1b2c3d;id=00"); !errors.Is(err, keys.ErrKeyNotFound) {
		t.Fatalf("wrong id: %v, want ErrKeyNotFound", err)
	}
	if _, err := b2.Signer(ctx, "pkcs11:label=nothing"); !errors.Is(err, keys.ErrKeyNotFound) {
		t.Fatalf("missing label: %v, want ErrKeyNotFound", err)
	}
	if _, err := b2.Signer(ctx, "ocsp-0a1b2c3d"); !errors.Is(err, keys.ErrInvalidRef) {
		t.Fatalf("file-style ref: %v, want ErrInvalidRef", err)
	}
	if _, _, err := b2.Generate(ctx, "../x", 2048); !errors.Is(err, keys.ErrInvalidLabel) {
		t.Fatalf("bad label: %v, want ErrInvalidLabel", err)
	}
}

func TestPKCS11KeyIsNotExtractable(t *testing.T) {
	ctx := context.Background()
	cfg := softhsmtest.NewToken(t)
	b := openPKCS11(t, cfg)
	_, s, err := b.Generate(ctx, "root-ca", 2048)
	if err != nil {
		t.Fatal(err)
	}
	flags, err := keys.PKCS11KeyFlags(b, s)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{
		"sensitive": true, "always-sensitive": true, "extractable": false, "never-extractable": true,
		"private": true, "sign": true, "decrypt": false,
	}
	for name, v := range want {
		if flags[name] != v {
			t.Errorf("private key %s = %v, want %v", name, flags[name], v)
		}
	}

	// The same seen by an independent tool.
	tool, err := exec.LookPath("pkcs11-tool")
	if err != nil {
		t.Fatal("pkcs11-tool not found: install opensc")
	}
	out, err := exec.Command(tool, "--module", cfg.Module, "--token-label", cfg.TokenLabel,
		"--login", "--pin", cfg.PIN, "--list-objects", "--type", "privkey").CombinedOutput()
	if err != nil {
		t.Fatalf("pkcs11-tool: %v\n%s", err, out)
	}
	text := string(out)
	access := regexp.MustCompile(`(?m)^\s*Access:\s*(.*)$`).FindStringSubmatch(text)
	if !strings.Contains(text, "root-ca") || access == nil ||
		!strings.Contains(access[1], "never extractable") || !strings.Contains(access[1], "always sensitive") {
		t.Fatalf("pkcs11-tool does not show a sensitive, never-extractable root-ca key:\n%s", text)
	}
	if regexp.MustCompile(`(^|, )extractable`).MatchString(access[1]) {
		t.Fatalf("pkcs11-tool shows the key as extractable: %s", access[1])
	}
}

func TestPKCS11MasterKey(t *testing.T) {
	ctx := context.Background()
	cfg := softhsmtest.NewToken(t)
	b, err := keys.NewPKCS11Backend(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	mk, err := b.GenerateMasterKey(ctx, "master")
	if err != nil {
		t.Fatalf("GenerateMasterKey (SoftHSM2 AES-GCM): %v", err)
	}
	flags, err := keys.PKCS11KeyFlags(b, mk)
	if err != nil {
		t.Fatal(err)
	}
	if !flags["sensitive"] || flags["extractable"] || !flags["never-extractable"] {
		t.Errorf("master key flags %v: want sensitive and never extractable", flags)
	}

	pt := []byte("a user's PKCS#8 key")
	aad := []byte("nemid user key v1\x00user-42")
	sealed, err := mk.Seal(pt, aad)
	if err != nil {
		t.Fatal(err)
	}
	if len(sealed) != 2+12+len(pt)+16 || sealed[0] != keys.SealedFormatV1 {
		t.Fatalf("sealed layout: len %d header % x", len(sealed), sealed[:2])
	}
	if got, err := mk.Open(sealed, aad); err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := mk.Open(sealed, []byte("nemid user key v1\x00user-43")); !errors.Is(err, keys.ErrUnsealFailed) {
		t.Fatalf("Open with other aad = %v, want ErrUnsealFailed", err)
	}
	for _, pos := range []int{0, 2, 14, len(sealed) - 1} {
		c := bytes.Clone(sealed)
		c[pos] ^= 1
		if got, err := mk.Open(c, aad); !errors.Is(err, keys.ErrUnsealFailed) || got != nil {
			t.Fatalf("flip at %d: Open = %q, %v; want ErrUnsealFailed", pos, got, err)
		}
	}

	// Labels are one namespace across key kinds; nothing is overwritten.
	if _, err := b.GenerateMasterKey(ctx, "master"); !errors.Is(err, keys.ErrKeyExists) {
		t.Fatalf("second GenerateMasterKey = %v, want ErrKeyExists", err)
	}
	if _, _, err := b.Generate(ctx, "master", 2048); !errors.Is(err, keys.ErrKeyExists) {
		t.Fatalf("RSA Generate over a master key label = %v, want ErrKeyExists", err)
	}
	if _, err := b.LoadMasterKey(ctx, "nothing"); !errors.Is(err, keys.ErrKeyNotFound) {
		t.Fatalf("LoadMasterKey(missing) = %v, want ErrKeyNotFound", err)
	}

	// The same key from a fresh back-end opens what was sealed, and serves
	// the file back-end unchanged (the reuse the key vault will rely on).
	b.Close()
	b2 := openPKCS11(t, cfg)
	mk2, err := b2.LoadMasterKey(ctx, "master")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := mk2.Open(sealed, aad); err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("Open after reload = %q, %v", got, err)
	}
	fb := keys.NewFileBackend(t.TempDir(), mk2)
	ref, s, err := fb.Generate(ctx, "issuing", 2048)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := fb.Signer(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	samePublicKey(t, s, s2)
}

func TestPKCS11PINNeverShown(t *testing.T) {
	ctx := context.Background()
	cfg := softhsmtest.NewToken(t)
	pin := cfg.PIN
	var texts []string

	texts = append(texts, cfg.String(), fmt.Sprint(cfg), fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg))
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "pkcs11", cfg)
	texts = append(texts, logged.String())

	// Failures to open: no such token, bad module, wrong PIN. (No other
	// back-end is open here, so the wrong PIN really is checked.)
	bad := cfg
	bad.TokenLabel = "no-such-token"
	_, err := keys.NewPKCS11Backend(bad)
	texts = append(texts, mustErr(t, "unknown token", err))
	bad = cfg
	bad.Module = "/nonexistent/libpkcs11.so"
	_, err = keys.NewPKCS11Backend(bad)
	texts = append(texts, mustErr(t, "missing module", err))
	bad = cfg
	bad.PIN = pin + "-wrong"
	_, err = keys.NewPKCS11Backend(bad)
	texts = append(texts, mustErr(t, "wrong PIN", err))
	if !strings.Contains(err.Error(), "CKR_PIN_INCORRECT") {
		t.Errorf("wrong PIN error does not say so: %v", err)
	}

	b := openPKCS11(t, cfg)
	texts = append(texts, b.Describe())
	_, _, err = b.Generate(ctx, "k", 1024)
	texts = append(texts, mustErr(t, "bad size", err))
	if _, _, err := b.Generate(ctx, "k", 2048); err != nil {
		t.Fatal(err)
	}
	_, _, err = b.Generate(ctx, "k", 2048)
	texts = append(texts, mustErr(t, "exists", err))
	_, err = b.Signer(ctx, "pkcs11:label=absent")
	texts = append(texts, mustErr(t, "absent", err))

	for _, text := range texts {
		if strings.Contains(text, pin) {
			t.Errorf("PIN shown in %q", text)
		}
	}
	if !strings.Contains(b.Describe(), cfg.Module) || !strings.Contains(b.Describe(), cfg.TokenLabel) {
		t.Errorf("Describe() = %q, want module and token", b.Describe())
	}
}

func mustErr(t *testing.T, what string, err error) string {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error", what)
	}
	return err.Error()
}

func TestPKCS11ConfigValidate(t *testing.T) {
	ok := keys.PKCS11Config{Module: "/usr/lib/softhsm/libsofthsm2.so", TokenLabel: "nemid", PIN: "1234"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		cfg  keys.PKCS11Config
		want string
	}{
		"no module":       {keys.PKCS11Config{TokenLabel: "t", PIN: "1234"}, "module path is empty"},
		"relative module": {keys.PKCS11Config{Module: "libsofthsm2.so", TokenLabel: "t", PIN: "1234"}, "not absolute"},
		"no token":        {keys.PKCS11Config{Module: "/m.so", PIN: "1234"}, "token label is empty"},
		"long token":      {keys.PKCS11Config{Module: "/m.so", TokenLabel: strings.Repeat("t", 33), PIN: "1234"}, "32 characters"},
		"no PIN":          {keys.PKCS11Config{Module: "/m.so", TokenLabel: "t"}, "PIN is empty"},
	} {
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate() = %v, want %q", name, err, tc.want)
		}
	}
	if _, err := keys.NewPKCS11Backend(keys.PKCS11Config{}); err == nil {
		t.Fatal("NewPKCS11Backend accepted an empty config")
	}
}

// The token's AES-GCM and ours agree bit for bit: a blob sealed inside
// SoftHSM2 opens with the file master key holding the same 32 bytes, and
// the other way round. So both MasterKeys really share one format.
func TestPKCS11GCMMatchesFileMasterKey(t *testing.T) {
	cfg := softhsmtest.NewToken(t)
	b := openPKCS11(t, cfg)
	tokenMK, raw, err := keys.PKCS11GCMInterop(b, "interop")
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != 32 {
		t.Fatalf("extracted key is %d bytes", len(raw))
	}
	path := filepath.Join(t.TempDir(), "master.key")
	writeFile(t, path, pem.EncodeToMemory(&pem.Block{
		Type: "NEMID MASTER KEY", Headers: map[string]string{"Version": "1", "Algorithm": "AES-256-GCM"}, Bytes: raw,
	}))
	fileMK, err := keys.LoadMasterKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fileMK.Close()

	pt, aad := []byte("interop plaintext"), []byte("interop aad")
	for name, pair := range map[string][2]keys.MasterKey{"token→file": {tokenMK, fileMK}, "file→token": {fileMK, tokenMK}} {
		sealed, err := pair[0].Seal(pt, aad)
		if err != nil {
			t.Fatalf("%s: Seal: %v", name, err)
		}
		got, err := pair[1].Open(sealed, aad)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("%s: Open = %q, %v", name, got, err)
		}
		if _, err := pair[1].Open(sealed, []byte("other")); !errors.Is(err, keys.ErrUnsealFailed) {
			t.Fatalf("%s: Open with other aad = %v", name, err)
		}
	}
}
