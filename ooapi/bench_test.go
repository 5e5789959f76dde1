package ooapi

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"testing"
)

// BenchmarkSignParameters is what a service provider pays per page: build a
// logon parameter set (fresh challenge, timestamp, normalization, digest,
// RSA-2048 signature) and write its JSON. Compare it with
// BenchmarkRSA2048Sign, the bare signature, in the same run.
func BenchmarkSignParameters(b *testing.B) {
	s := fixtureSigner(b)
	opts := LogonOptions{ClientOptions: ClientOptions{Origin: testOrigin, Language: DA, RememberUserID: true}}
	for b.Loop() {
		ps, _, err := s.Logon(opts)
		if err != nil {
			b.Fatal(err)
		}
		_ = ps.JSON()
	}
}

// BenchmarkRSA2048Sign is the bare RSASSA-PKCS1-v1_5 SHA-256 signature with
// the same RSA-2048 key.
func BenchmarkRSA2048Sign(b *testing.B) {
	key := fixtureSigner(b).Key.(*rsa.PrivateKey)
	sum := sha256.Sum256([]byte("CLIENTFLOWOCESLOGIN2"))
	for b.Loop() {
		if _, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseAndVerify is the receiving side: parse the JSON and make
// every check (digest, signature, certificate, timestamp).
func BenchmarkParseAndVerify(b *testing.B) {
	s := fixtureSigner(b)
	ps, _, err := s.Logon(LogonOptions{ClientOptions: ClientOptions{Origin: testOrigin}})
	if err != nil {
		b.Fatal(err)
	}
	data := ps.JSON()
	for b.Loop() {
		got, err := ParseParameters(data)
		if err != nil {
			b.Fatal(err)
		}
		if p := VerifyParameters(got, vectorBTime, VerifyOptions{Origin: testOrigin}); len(p) > 0 {
			b.Fatal(p)
		}
	}
}
