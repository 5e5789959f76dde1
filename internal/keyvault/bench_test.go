package keyvault

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"testing"

	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/store/storetest"
)

// The three benchmarks run together give the cost of a vault signature
// against its two unavoidable parts, with the vault's default parameters:
//
//	go test -run '^$' -bench . -benchtime 50x ./internal/keyvault/
//
// Sign ÷ (Argon2id + RSA2048Sign) is the vault's overhead: the store
// read, the master key's AES-GCM, parsing PKCS#8 and checking the
// signature. docs/keyvault.md records a run.

// BenchmarkSign: one Sign, from the stored blob to the verified signature.
func BenchmarkSign(b *testing.B) {
	st := storetest.OpenSQLite(b)
	v, err := New(Config{Store: st, MasterKey: masterKey(b), Clock: clock.NewFrozen(t0)})
	if err != nil {
		b.Fatal(err)
	}
	k := create(b, v, 1, "bench1234")
	d := digestOf("a document")
	for b.Loop() {
		sig, err := v.Sign(ctx(b), 1, "bench1234", d, crypto.SHA256)
		if err != nil {
			b.Fatal(err)
		}
		if len(sig) != KeyBits/8 {
			b.Fatalf("signature of %d bytes", len(sig))
		}
	}
	mustSign(b, v, 1, "bench1234", "a document", k.Public)
}

// BenchmarkArgon2id: the bare derivation with the same parameters.
func BenchmarkArgon2id(b *testing.B) {
	salt := make([]byte, saltLen)
	rand.Read(salt)
	pw := []byte("bench1234")
	for b.Loop() {
		if kek := argon2id(pw, salt, DefaultKDF); len(kek) != kekLen {
			b.Fatal("short key")
		}
	}
}

// BenchmarkRSA2048Sign: the bare PKCS#1 v1.5 signature with a parsed key.
func BenchmarkRSA2048Sign(b *testing.B) {
	priv, err := rsa.GenerateKey(rand.Reader, KeyBits)
	if err != nil {
		b.Fatal(err)
	}
	d := digestOf("a document")
	for b.Loop() {
		if _, err := rsa.SignPKCS1v15(nil, priv, crypto.SHA256, d); err != nil {
			b.Fatal(err)
		}
	}
}
