package ca_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"math/big"
	"slices"
	"testing"

	"github.com/nemid-dk/nemid/internal/ca"
	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/internal/store/storetest"
	"github.com/nemid-dk/nemid/oces"
)

// TestIssueRefusesFermatFactorableKey: the subject key comes from the
// client, and nothing before zlint looks at more than its size. A 2048-bit
// modulus whose primes are too close together (factorable in one Fermat
// step) must be refused by the lint (e_rsa_fermat_factorization) and no
// certificate stored.
func TestIssueRefusesFermatFactorableKey(t *testing.T) {
	p, err := rand.Prime(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	q := new(big.Int).Add(p, big.NewInt(2))
	for !q.ProbablyPrime(20) {
		q.Add(q, big.NewInt(2))
	}
	weak := &rsa.PublicKey{N: new(big.Int).Mul(p, q), E: 65537}
	if weak.N.BitLen() != 2048 {
		t.Fatalf("test key has %d bits, want 2048 (so only the lint can refuse it)", weak.N.BitLen())
	}

	e := newEnv(t, storetest.OpenSQLite(t), nil)
	ctx := context.Background()
	_, err = e.ca.Issue(ctx, ca.IssueRequest{Subject: oces.Request{Type: oces.POCES, Name: "Svag Nøgle"}, PublicKey: weak})
	var le *ca.LintError
	if !errors.As(err, &le) {
		t.Fatalf("Issue with a Fermat-factorable key: %v, want a *ca.LintError", err)
	}
	names := make([]string, len(le.Findings))
	for i, f := range le.Findings {
		names[i] = f.Name
	}
	if !slices.Contains(names, "e_rsa_fermat_factorization") {
		t.Errorf("lint findings %v do not name e_rsa_fermat_factorization", le.Findings)
	}
	certs, err := e.store.ListCertificates(ctx, store.ListFilter{Issuer: ca.IssuingCA})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range certs {
		if c.Profile != "ocsp" {
			t.Errorf("a refused issuance stored a certificate: %+v", c)
		}
	}
	// Nor did it take a CRL partition place.
	if p, err := e.store.AllocatePartition(ctx, ca.IssuingCA, 1); err != nil || p != 1 {
		t.Errorf("first partition place after a refused issuance: %d, %v; want 1 (nothing allocated)", p, err)
	}
}
