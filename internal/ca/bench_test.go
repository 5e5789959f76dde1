package ca_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"sync"
	"testing"

	"github.com/nemid-dk/nemid/internal/ca"
	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/internal/store/storetest"
	"github.com/nemid-dk/nemid/oces"
	"github.com/zmap/zlint/v3/lint"
)

// Run the benchmarks together, so that their ratios are meaningful:
//
//	go test -run '^$' -bench 'RSA4096Sign|IssueFromCSR|LintCertificate' -benchtime 200x -count 3 ./internal/ca/
//
// BenchmarkRSA4096Sign is the floor: one issuance makes exactly one RSA-4096
// signature with the issuing CA's key. What Issue costs above it is the CSR
// check, the template, the lint copy (an RSA-2048 signature), zlint and the
// store's durable insert.

// benchRSA4096 is one RSA-4096 key for the whole run (making one takes seconds).
var benchRSA4096 = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 4096) })

func BenchmarkRSA4096Sign(b *testing.B) {
	k, err := benchRSA4096()
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256([]byte("the to-be-signed part of a certificate"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, digest[:]); err != nil {
			b.Fatal(err)
		}
	}
}

// benchCSRs are a few distinct CSRs (RSA-2048), made once and reused.
var benchCSRs = sync.OnceValues(func() ([][]byte, error) {
	csrs := make([][]byte, 4)
	for i := range csrs {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		if csrs[i], err = x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "ignored"}}, k); err != nil {
			return nil, err
		}
	}
	return csrs, nil
})

// benchAuthority initialises a preprod CA with file keys on st.
func benchAuthority(b *testing.B, st store.Store) *ca.Authority {
	b.Helper()
	ctx := context.Background()
	kb := fileBackend(b, b.TempDir())
	b.Cleanup(func() { kb.Close() })
	clk := clock.NewFrozen(testNow)
	if err := ca.Initialise(ctx, st, kb, clk, ca.PreprodDefaults()); err != nil {
		b.Fatalf("Initialise: %v", err)
	}
	a, err := ca.Open(ctx, st, kb, clk)
	if err != nil {
		b.Fatalf("Open: %v", err)
	}
	return a
}

func benchIssue(b *testing.B, st store.Store) {
	a := benchAuthority(b, st)
	csrs, err := benchCSRs()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	req := oces.Request{Type: oces.POCES, Name: "Anne Sofie Ærø Hansen"}
	// One issuance outside the timer, so that loading the issuing key (an
	// unseal, once per Authority) is not counted.
	if _, err := a.Issue(ctx, ca.IssueRequest{Subject: req, CSR: csrs[0]}); err != nil {
		b.Fatalf("Issue: %v", err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := a.Issue(ctx, ca.IssueRequest{Subject: req, CSR: csrs[i%len(csrs)]}); err != nil {
			b.Fatalf("Issue: %v", err)
		}
		i++
	}
}

// BenchmarkIssueFromCSR is Authority.Issue end to end on SQLite (WAL,
// synchronous=FULL: every issuance is a durable commit).
func BenchmarkIssueFromCSR(b *testing.B) { benchIssue(b, storetest.OpenSQLite(b)) }

// BenchmarkIssueFromCSRPostgres is the same on PostgreSQL.
func BenchmarkIssueFromCSRPostgres(b *testing.B) { benchIssue(b, storetest.OpenPostgres(b)) }

// BenchmarkLintCertificate is zlint alone on one issued POCES certificate.
func BenchmarkLintCertificate(b *testing.B) {
	a := benchAuthority(b, storetest.OpenSQLite(b))
	k := newKey(b)
	is, err := a.Issue(context.Background(), ca.IssueRequest{Subject: oces.Request{Type: oces.POCES, Name: "Anne Sofie Ærø Hansen"}, PublicKey: k.Public()})
	if err != nil {
		b.Fatal(err)
	}
	der := is.Certificate.Raw
	b.ReportAllocs()
	for b.Loop() {
		fs, err := ca.LintCertificate(der, lint.Error)
		if err != nil || len(fs) != 0 {
			b.Fatalf("LintCertificate: %v, %v", fs, err)
		}
	}
}
