package keyvault

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/nemid-dk/nemid/internal/ca/keys"
	"github.com/nemid-dk/nemid/internal/ca/keys/softhsmtest"
	"github.com/nemid-dk/nemid/internal/store/storetest"
)

// TestSoftHSMMasterKey (4): with the master key an AES key in a SoftHSM2
// token, a key is made, signs, and the signature verifies with crypto/rsa
// and with `openssl dgst -verify`; after the token is closed and opened
// again (a restart), the key still signs; a file master key cannot open it.
func TestSoftHSMMasterKey(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatal("openssl not found on PATH: install openssl")
	}
	cfg := softhsmtest.NewToken(t)
	b, err := keys.NewPKCS11Backend(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mk, err := b.GenerateMasterKey(ctx(t), "vault-master")
	if err != nil {
		b.Close()
		t.Fatal(err)
	}
	st := storetest.OpenSQLite(t)
	v := newVault(t, st, mk)
	k := create(t, v, 7, "hsm-secret-1")
	const msg = "Jeg bekræfter hermed min underskrift."
	sig := mustSign(t, v, 7, "hsm-secret-1", msg, k.Public)
	signFails(t, v, 7, "hsm-secret-2", ErrWrongPassword)
	if err := v.ChangePassword(ctx(t), 7, "hsm-secret-1", "hsm-secret-3"); err != nil {
		t.Fatal(err)
	}
	b.Close()

	// The independent check: openssl verifies the signature with the public key.
	dir := t.TempDir()
	spki, err := x509.MarshalPKIXPublicKey(k.Public)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"pub.pem": pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki}),
		"msg.txt": []byte(msg),
		"sig.bin": sig,
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(openssl, "dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig.bin", "msg.txt")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil || string(out) != "Verified OK\n" {
		t.Fatalf("openssl dgst -verify: %v\n%s", err, out)
	}
	// And rejects a signature of another text (the oracle can say no).
	if err := os.WriteFile(filepath.Join(dir, "msg.txt"), []byte(msg+"!"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command(openssl, "dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig.bin", "msg.txt")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("openssl verified a signature over another text:\n%s", out)
	}

	// A restart: the token opened again, the master key found by its label.
	b2, err := keys.NewPKCS11Backend(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	mk2, err := b2.LoadMasterKey(ctx(t), "vault-master")
	if err != nil {
		t.Fatal(err)
	}
	v2 := newVault(t, st, mk2)
	mustSign(t, v2, 7, "hsm-secret-3", "after restart", k.Public)
	signFails(t, v2, 7, "hsm-secret-1", ErrWrongPassword)

	// The same database with a key file instead of the token's key: nothing.
	other := newVault(t, st, masterKey(t))
	signFails(t, other, 7, "hsm-secret-3", ErrCorrupt)
	if _, err := other.ActiveKey(ctx(t), 7); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("ActiveKey with a file master key = %v, want ErrCorrupt", err)
	}
	// And a flipped bit in a token-sealed blob is found by the token's GCM.
	row := activeRow(t, st, 7)
	putBlob(t, st, 7, flipped(row.Blob, 8*20+1))
	signFails(t, v2, 7, "hsm-secret-3", ErrCorrupt)
}
