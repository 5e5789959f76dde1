package keys_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/ca/keys"
)

// newFileMasterKey creates and loads a master key file in a temp dir.
func newFileMasterKey(t *testing.T) (*keys.FileMasterKey, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "master.key")
	if err := keys.CreateMasterKeyFile(path); err != nil {
		t.Fatal(err)
	}
	mk, err := keys.LoadMasterKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mk.Close() })
	return mk, path
}

// signAndVerify signs a SHA-256 digest with PKCS#1 v1.5 and checks the
// signature with the signer's public key using crypto/rsa only.
func signAndVerify(t *testing.T, s crypto.Signer) {
	t.Helper()
	digest := sha256.Sum256([]byte("NemID test message"))
	sig, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	pub, ok := s.Public().(*rsa.PublicKey)
	if !ok {
		t.Fatalf("public key is %T, want *rsa.PublicKey", s.Public())
	}
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
		t.Fatalf("VerifyPKCS1v15: %v", err)
	}
	other := sha256.Sum256([]byte("another message"))
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, other[:], sig) == nil {
		t.Fatal("signature verified for a different message")
	}
}

// selfSignedCA makes a self-signed CA certificate with s via crypto/x509.
func selfSignedCA(t *testing.T, s crypto.Signer, cn string) []byte {
	t.Helper()
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{Country: []string{"DK"}, Organization: []string{"nemid test"}, CommonName: cn},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, s.Public(), s)
	if err != nil {
		t.Fatalf("CreateCertificate: %v", err)
	}
	return der
}

// opensslVerify checks a self-signed certificate with `openssl verify`, an
// oracle independent of Go's crypto.
func opensslVerify(t *testing.T, der []byte) {
	t.Helper()
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatal("openssl not found on PATH: install openssl")
	}
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(openssl, "verify", "-x509_strict", "-CAfile", path, path).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != path+": OK" {
		t.Fatalf("openssl verify: %v\n%s", err, out)
	}
}

// samePublicKey reports whether two signers share a public key.
func samePublicKey(t *testing.T, a, b crypto.Signer) {
	t.Helper()
	pa, ok := a.Public().(*rsa.PublicKey)
	if !ok || !pa.Equal(b.Public()) {
		t.Fatal("signers have different public keys")
	}
}
