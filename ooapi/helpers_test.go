package ooapi

import (
	"crypto/x509"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// fixtureDir holds the real NemID preproduction files (spec 12.2). Tests
// that need them fail, never skip, when they are missing.
const fixtureDir = "../../shared/fixtures/nemid-preprod"

// vectorBTime is TIMESTAMP of test vector B (2021-01-19 14:44:00 UTC),
// inside the validity of the fixture VOCES (2019-12-16 to 2022-12-16).
var vectorBTime = time.Date(2021, 1, 19, 14, 44, 0, 0, time.UTC)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		t.Fatalf("fixture %s (the shared NemID fixtures must be at %s): %v", name, fixtureDir, err)
	}
	return b
}

// fixtureSigner is the PP VOCES "NETS DANID A/S - TU VOCES gyldig" with its
// key, its clock frozen at vectorBTime.
func fixtureSigner(t testing.TB) *SPSigner {
	t.Helper()
	s, err := ParseSPSigner(readFixture(t, "sp-test.cert.pem"), readFixture(t, "sp-test.key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	s.Clock = func() time.Time { return vectorBTime }
	return s
}

// codes returns the codes of problems, in order.
func problemCodes(problems []Problem) []Code {
	var out []Code
	for _, p := range problems {
		out = append(out, p.Code)
	}
	return out
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustCert(t testing.TB, fixture string) *x509.Certificate {
	t.Helper()
	c, err := ParseCertificatePEM(readFixture(t, fixture))
	if err != nil {
		t.Fatal(err)
	}
	return c
}
