package ca_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/ca"
	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/store"
)

// CRL regeneration with 100,000 revoked certificates of the issuing CA, in
// partitions of 1,000 (so a partition CRL lists 1,000 entries):
//
//	go test -run '^$' -bench 'SignCRL|RSA4096Sign' -benchtime 20x ./internal/ca/
//
// One revocation costs one partition CRL plus the full CRL.

const benchRevoked = 100_000

// crlBenchEnv initialises a CA on a SQLite file and bulk-loads the revoked
// rows straight into its certificates table: issuing 100,000 real
// certificates would take minutes, and a CRL only needs the rows.
func crlBenchEnv(b *testing.B) *ca.Authority {
	b.Helper()
	ctx := context.Background()
	dir := b.TempDir()
	st, err := store.Open(ctx, "", dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	kb := fileBackend(b, dir)
	clk := clock.NewFrozen(testNow)
	if err := ca.Initialise(ctx, st, kb, clk, ca.PreprodDefaults()); err != nil {
		b.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, store.DefaultFile)+"?_pragma=busy_timeout(5000)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	ins, err := tx.Prepare(`INSERT INTO certificates (serial, issuer, profile, subject, not_before, not_after,
		crl_partition, der, issued_at, status, revoked_at, reason) VALUES (?, 'issuing', 'poces', 'CN=x', ?, ?, ?, x'00', ?, 'revoked', ?, 1)`)
	if err != nil {
		b.Fatal(err)
	}
	t0 := testNow.UnixMicro()
	for i := 0; i < benchRevoked; i++ {
		serial := fmt.Sprintf("4%031x", i+1)
		if _, err := ins.Exec(serial, t0, t0+int64(3*365*24*time.Hour/time.Microsecond), 1+i/1000, t0, t0); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	a, err := ca.Open(ctx, st, kb, clk)
	if err != nil {
		b.Fatal(err)
	}
	return a
}

func BenchmarkSignCRL(b *testing.B) {
	a := crlBenchEnv(b)
	ctx := context.Background()
	for _, bc := range []struct {
		name      string
		partition int
	}{{"full-100000", 0}, {"partition-1000", 42}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.SignCRL(ctx, ca.IssuingCA, bc.partition, ca.DefaultCRLValidity); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
