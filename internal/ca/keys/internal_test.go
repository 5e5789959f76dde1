package keys

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"
)

// Close wipes the one long-lived copy of the key bytes.
func TestFileMasterKeyCloseZeroesKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	if err := CreateMasterKeyFile(path); err != nil {
		t.Fatal(err)
	}
	mk, err := LoadMasterKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	held := mk.key
	if bytes.Equal(held, make([]byte, 32)) {
		t.Fatal("loaded key is all zeros")
	}
	mk.Close()
	if !bytes.Equal(held, make([]byte, 32)) || mk.key != nil {
		t.Fatal("Close did not wipe the key bytes")
	}
}

func TestParsePKCS11Ref(t *testing.T) {
	good := map[string]struct {
		label string
		id    []byte
	}{
		"pkcs11:label=root-1;id=0a0b":   {"root-1", []byte{10, 11}},
		"pkcs11:id=ff;label=ocsp":       {"ocsp", []byte{0xff}},
		"pkcs11:label=issuing":          {"issuing", nil},
		formatPKCS11Ref("x", []byte{1}): {"x", []byte{1}},
	}
	for ref, want := range good {
		label, id, err := parsePKCS11Ref(ref)
		if err != nil || label != want.label || !bytes.Equal(id, want.id) {
			t.Errorf("parsePKCS11Ref(%q) = %q, %x, %v", ref, label, id, err)
		}
	}
	for _, ref := range []string{
		"", "root", "label=root", "pkcs11:", "pkcs11:label=", "pkcs11:label=../x", "pkcs11:label=Root",
		"pkcs11:id=0a", "pkcs11:label=a;id=zz", "pkcs11:label=a;id=", "pkcs11:label=a;label=b",
		"pkcs11:label=a;pin-value=1234", "pkcs11:label=a;", "PKCS11:label=a",
	} {
		if _, _, err := parsePKCS11Ref(ref); !errors.Is(err, ErrInvalidRef) {
			t.Errorf("parsePKCS11Ref(%q) = %v, want ErrInvalidRef", ref, err)
		}
	}
}
