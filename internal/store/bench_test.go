package store_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/internal/store/storetest"
)

// The benchmarks run against a store of benchCerts certificates of one
// issuer, in partitions of benchPartition, one in benchRevokeEvery revoked,
// each with a pre-signed OCSP response, as in steady state: responses are
// valid for benchOCSPValid, signed at times spread evenly over
// benchOCSPRefresh and due again benchOCSPRefresh after signing, so that
// about one in 84 (an hour's worth) falls due per hour.
// Filling takes a while, so the filled database is kept between runs: a
// SQLite file under os.TempDir and a PostgreSQL schema on the test server,
// both named by benchKey, which includes the number of migrations (a schema
// change starts a new fill). Change benchVersion when the fill changes.
const (
	benchVersion     = "v3" // v3: ocsp_refresh_at and ocsp_responses (migration 2)
	benchCerts       = 1_000_000
	benchPartition   = 1000
	benchRevokeEvery = 100
	benchDERSize     = 1200 // about an RSA-2048 OCES certificate
	benchOCSPSize    = 1600 // about an RSA-2048 response with the responder's certificate
	benchIssuer      = "issuing"
	benchOCSPValid   = 7 * 24 * time.Hour
	benchOCSPRefresh = benchOCSPValid / 2
)

// benchStart is when the benchmark certificates were issued, and the first
// of their OCSP responses signed.
var benchStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// benchSigned is when the i-th certificate's OCSP response was signed: a
// permutation (7919 is prime to benchCerts) spreads the signing times over
// benchOCSPRefresh in an order unrelated to serial or partition.
func benchSigned(i int) time.Time {
	slot := int64(i) * 7919 % benchCerts
	return benchStart.Add(time.Duration(slot) * (benchOCSPRefresh / benchCerts)) // divide first: slot × 3.5 days in ns overflows
}

func benchKey() string {
	names, _ := store.MigrationVersions(store.MigrationFS, "sqlite")
	return fmt.Sprintf("nemid_bench_%s_m%d", benchVersion, len(names))
}

// benchSerial is the serial of the i-th benchmark certificate: random-looking
// 128-bit values, as the CA issues, but reproducible without storing them.
func benchSerial(i int) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(i))
	h := sha256.Sum256(b[:])
	return new(big.Int).SetBytes(h[:16]).Text(16)
}

var (
	benchMu     sync.Mutex
	benchStores = map[string]store.Store{} // open for the life of the benchmark process
)

// benchStore returns the filled store of the engine, filling it on first use.
func benchStore(b *testing.B, engine string) store.Store {
	b.Helper()
	benchMu.Lock()
	defer benchMu.Unlock()
	if s, ok := benchStores[engine]; ok {
		return s
	}
	ctx := context.Background()
	var (
		s   store.Store
		err error
	)
	switch engine {
	case "sqlite":
		s, err = benchSQLite(b, ctx)
	case "postgres":
		s, err = benchPostgres(b, ctx)
	}
	if err != nil {
		b.Fatal(err)
	}
	benchStores[engine] = s
	return s
}

func benchSQLite(b *testing.B, ctx context.Context) (store.Store, error) {
	dir := filepath.Join(os.TempDir(), benchKey())
	if _, err := os.Stat(dir); err == nil {
		return store.Open(ctx, "", dir)
	}
	// Fill a temporary directory and rename it into place when complete,
	// so an interrupted fill is never mistaken for a filled store.
	tmp := fmt.Sprintf("%s.tmp%d", dir, os.Getpid())
	s, err := store.Open(ctx, "", tmp)
	if err != nil {
		return nil, err
	}
	_, w := store.DBs(s)
	if err := benchFill(b, ctx, s, w); err != nil {
		s.Close()
		return nil, err
	}
	if _, err := w.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return nil, err
	}
	if err := s.Close(); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return nil, err
	}
	return store.Open(ctx, "", dir)
}

func benchPostgres(b *testing.B, ctx context.Context) (store.Store, error) {
	base := storetest.PostgresURL()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	if err := admin.PingContext(ctx); err != nil {
		return nil, fmt.Errorf("PostgreSQL for benchmarks (NEMID_TEST_POSTGRES) is not reachable: %w", err)
	}
	schema := benchKey()
	var filled bool
	if err := admin.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, schema).Scan(&filled); err != nil {
		return nil, err
	}
	if !filled {
		// As for SQLite: fill under a temporary name, rename when complete.
		tmp := schema + "_tmp"
		for _, q := range []string{"DROP SCHEMA IF EXISTS " + tmp + " CASCADE", "CREATE SCHEMA " + tmp} {
			if _, err := admin.ExecContext(ctx, q); err != nil {
				return nil, err
			}
		}
		s, err := store.Open(ctx, withSearchPath(base, tmp), "")
		if err != nil {
			return nil, err
		}
		_, w := store.DBs(s)
		err = benchFill(b, ctx, s, w)
		if err == nil {
			// Fresh statistics and visibility map: index-only scans for the CRL queries.
			_, err = w.ExecContext(ctx, "VACUUM ANALYZE certificates, ocsp_responses")
		}
		s.Close()
		if err != nil {
			return nil, err
		}
		if _, err := admin.ExecContext(ctx, "ALTER SCHEMA "+tmp+" RENAME TO "+schema); err != nil {
			return nil, err
		}
	}
	return store.Open(ctx, withSearchPath(base, schema), "")
}

func withSearchPath(dsn, schema string) string {
	u, _ := url.Parse(dsn)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// benchFill bulk-loads the certificates: multi-row INSERTs, many rows per
// transaction, far faster than InsertCertificate one by one.
func benchFill(b *testing.B, ctx context.Context, s store.Store, db *sql.DB) error {
	const rowsPerInsert, insertsPerTx = 500, 100
	b.Logf("filling %d certificates (once; kept for later runs)…", benchCerts)
	began := time.Now()
	der := make([]byte, benchDERSize)
	r := rand.NewChaCha8([32]byte{})
	r.Read(der)
	resp := make([]byte, benchOCSPSize)
	r.Read(resp)
	at := benchStart.UnixMicro()

	values := func(row string) string { return strings.TrimSuffix(strings.Repeat(row+", ", rowsPerInsert), ", ") }
	const cols = "(serial, issuer, profile, subject, not_before, not_after, crl_partition, der, issued_at, status, revoked_at, reason, ocsp_refresh_at)"
	query := store.Rebind(s, "INSERT INTO certificates "+cols+" VALUES "+values("(?, ?, 'poces', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"))
	ocspQuery := store.Rebind(s, "INSERT INTO ocsp_responses (serial, status, this_update, next_update, der) VALUES "+values("(?, ?, ?, ?, ?)"))
	args := make([]any, 0, rowsPerInsert*13)
	ocspArgs := make([]any, 0, rowsPerInsert*5)
	for i := 0; i < benchCerts; {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		for range insertsPerTx {
			args, ocspArgs = args[:0], ocspArgs[:0]
			for range rowsPerInsert {
				d := append([]byte(nil), der...)
				binary.BigEndian.PutUint64(d, uint64(i)) // distinct DER, as in life
				var status, revokedAt, reason any = "good", nil, nil
				if i%benchRevokeEvery == 0 {
					status, revokedAt, reason = "revoked", at+int64(i), 1
				}
				signed := benchSigned(i)
				args = append(args, benchSerial(i), benchIssuer, fmt.Sprintf("CN=Bench Person %d,O=Ingen organisatorisk tilknytning,C=DK", i),
					at, at+4*365*24*3600*1e6, i/benchPartition+1, d, at, status, revokedAt, reason,
					signed.Add(benchOCSPRefresh).UnixMicro())
				o := append([]byte(nil), resp...)
				binary.BigEndian.PutUint64(o, uint64(i))
				ocspArgs = append(ocspArgs, benchSerial(i), status, signed.UnixMicro(), signed.Add(benchOCSPValid).UnixMicro(), o)
				i++
			}
			if _, err := tx.ExecContext(ctx, query, args...); err != nil {
				tx.Rollback()
				return fmt.Errorf("fill: %w", err)
			}
			if _, err := tx.ExecContext(ctx, ocspQuery, ocspArgs...); err != nil {
				tx.Rollback()
				return fmt.Errorf("fill OCSP responses: %w", err)
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	b.Logf("filled in %v", time.Since(began).Round(time.Second))
	return nil
}

var benchEngines = []string{"sqlite", "postgres"}

// BenchmarkCertificate looks certificates up by serial (the OCSP responder's query).
func BenchmarkCertificate(b *testing.B) {
	for _, engine := range benchEngines {
		b.Run(engine, func(b *testing.B) {
			s := benchStore(b, engine)
			ctx := context.Background()
			r := rand.New(rand.NewPCG(1, 2))
			serials := make([]string, 4096)
			for i := range serials {
				serials[i] = benchSerial(r.IntN(benchCerts))
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := s.Certificate(ctx, serials[i%len(serials)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkRevokedInPartition reads one CRL partition's entries (10 of 1000).
func BenchmarkRevokedInPartition(b *testing.B) {
	for _, engine := range benchEngines {
		b.Run(engine, func(b *testing.B) {
			s := benchStore(b, engine)
			ctx := context.Background()
			r := rand.New(rand.NewPCG(1, 2))
			b.ReportAllocs()
			for b.Loop() {
				got, err := s.RevokedInPartition(ctx, benchIssuer, r.IntN(benchCerts/benchPartition)+1)
				if err != nil || len(got) != benchPartition/benchRevokeEvery {
					b.Fatalf("RevokedInPartition: %d entries, %v", len(got), err)
				}
			}
		})
	}
}

// BenchmarkRevokedByIssuer reads the issuer's full CRL (10,000 entries).
func BenchmarkRevokedByIssuer(b *testing.B) {
	for _, engine := range benchEngines {
		b.Run(engine, func(b *testing.B) {
			s := benchStore(b, engine)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				got, err := s.RevokedByIssuer(ctx, benchIssuer)
				if err != nil || len(got) != benchCerts/benchRevokeEvery {
					b.Fatalf("RevokedByIssuer: %d entries, %v", len(got), err)
				}
			}
		})
	}
}

// BenchmarkAllocatePartition measures one durable write (a commit with fsync).
func BenchmarkAllocatePartition(b *testing.B) {
	for _, engine := range benchEngines {
		b.Run(engine, func(b *testing.B) {
			s := benchStore(b, engine)
			ctx := context.Background()
			issuer := fmt.Sprintf("bench-%d", time.Now().UnixNano()) // a fresh row each run
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.AllocatePartition(ctx, issuer, benchPartition); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOCSPDue takes the next batch of 100 due OCSP responses (the
// signer's query), at a random moment of the refresh cycle, so each batch
// comes from a different part of the index.
func BenchmarkOCSPDue(b *testing.B) {
	for _, engine := range benchEngines {
		b.Run(engine, func(b *testing.B) {
			s := benchStore(b, engine)
			ctx := context.Background()
			r := rand.New(rand.NewPCG(1, 2))
			first := benchStart.Add(benchOCSPRefresh + time.Hour) // ~12,000 due
			b.ReportAllocs()
			for b.Loop() {
				now := first.Add(time.Duration(r.Int64N(int64(benchOCSPRefresh - time.Hour))))
				got, err := s.OCSPDue(ctx, benchIssuer, now, 100)
				if err != nil || len(got) != 100 {
					b.Fatalf("OCSPDue: %d certificates, %v", len(got), err)
				}
			}
		})
	}
}

// BenchmarkOCSPResponse reads pre-signed responses by serial (what the OCSP
// responder serves).
func BenchmarkOCSPResponse(b *testing.B) {
	for _, engine := range benchEngines {
		b.Run(engine, func(b *testing.B) {
			s := benchStore(b, engine)
			ctx := context.Background()
			r := rand.New(rand.NewPCG(1, 2))
			serials := make([]string, 4096)
			for i := range serials {
				serials[i] = benchSerial(r.IntN(benchCerts))
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				resp, err := s.OCSPResponse(ctx, serials[i%len(serials)])
				if err != nil || len(resp.DER) != benchOCSPSize {
					b.Fatalf("OCSPResponse: %d bytes, %v", len(resp.DER), err)
				}
				i++
			}
		})
	}
}

// BenchmarkPartitions finds the issuer's highest partition (the CRL publisher's question).
func BenchmarkPartitions(b *testing.B) {
	for _, engine := range benchEngines {
		b.Run(engine, func(b *testing.B) {
			s := benchStore(b, engine)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				n, err := s.Partitions(ctx, benchIssuer)
				if err != nil || n != benchCerts/benchPartition {
					b.Fatalf("Partitions = %d, %v", n, err)
				}
			}
		})
	}
}
