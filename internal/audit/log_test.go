package audit_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/audit"
	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/internal/store/storetest"
)

var t0 = time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.FixedZone("CET", 3600))

// fixture is a log on a fresh database, with a second, raw connection to
// the same database for the tests to tamper with, as an attacker with
// write access (or the sqlite3 tool) would.
type fixture struct {
	st    store.Store
	log   *audit.Log
	clock *clock.Frozen
	raw   *sql.DB
	dsn   string // of raw: the SQLite file, or the PostgreSQL URL
}

// engines opens a fixture on each engine. The PostgreSQL one fails, never
// skips, when the test server is missing.
var engines = map[string]func(tb testing.TB) (database, dataDir, driver, dsn string){
	"sqlite": func(tb testing.TB) (string, string, string, string) {
		dir := tb.TempDir()
		return "", dir, "sqlite", filepath.Join(dir, store.DefaultFile)
	},
	"postgres": func(tb testing.TB) (string, string, string, string) {
		url := storetest.NewPostgresSchema(tb)
		return url, "", "pgx", url
	},
}

func newFixture(tb testing.TB, engine string) *fixture {
	tb.Helper()
	database, dataDir, driver, dsn := engines[engine](tb)
	st, err := store.Open(ctx(tb), database, dataDir)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { raw.Close() })
	clk := clock.NewFrozen(t0)
	return &fixture{st: st, log: audit.New(st, clk), clock: clk, raw: raw, dsn: dsn}
}

// forEachEngine runs f on a fresh fixture per engine, in parallel.
func forEachEngine(t *testing.T, f func(t *testing.T, fx *fixture)) {
	for name := range engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f(t, newFixture(t, name))
		})
	}
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func entry(i int) audit.Entry {
	return audit.Entry{Actor: audit.Operator, Action: audit.CertificateIssued, Subject: audit.Certificate(fmt.Sprintf("%x", 0xc0ffee+i)),
		Outcome: audit.Success, Detail: map[string]string{"profile": "poces", "n": fmt.Sprint(i)}}
}

// appendN appends n entries, one second apart, and returns the records.
func (fx *fixture) appendN(t *testing.T, n int) []audit.Record {
	t.Helper()
	var out []audit.Record
	for i := range n {
		r, err := fx.log.Append(ctx(t), entry(i))
		if err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
		out = append(out, r)
		fx.clock.Advance(time.Second)
	}
	return out
}

// exec runs SQL on the raw connection: the tampering.
func (fx *fixture) exec(t *testing.T, query string, args ...any) {
	t.Helper()
	if _, err := fx.raw.ExecContext(ctx(t), query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// verify runs Verify and fails the test on a read error.
func (fx *fixture) verify(t *testing.T, recorded ...audit.Head) audit.Report {
	t.Helper()
	rep, err := fx.log.Verify(ctx(t), recorded...)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return rep
}

// intact fails unless the report says n records verified and no problem.
func intact(t *testing.T, rep audit.Report, n int64) {
	t.Helper()
	if rep.Problem != nil || rep.Verified != n || rep.Last.Seq != n {
		t.Fatalf("Verify = %+v (problem %v); want %d records verified, no problem", rep, rep.Problem, n)
	}
}

// problem fails unless the report names the given first bad record.
func problem(t *testing.T, rep audit.Report, seq int64, kind audit.ProblemKind, verified int64) {
	t.Helper()
	p := rep.Problem
	if p == nil {
		t.Fatalf("Verify found no problem (%d verified); want %s at seq %d", rep.Verified, kind, seq)
	}
	if p.Seq != seq || p.Kind != kind || rep.Verified != verified {
		t.Fatalf("Verify: %v (%d verified); want %s at seq %d with %d verified", p, rep.Verified, kind, seq, verified)
	}
	if !strings.Contains(p.Error(), fmt.Sprintf("seq %d %s", seq, kind)) {
		t.Errorf("Problem.Error() = %q: want it to name seq %d and %s", p.Error(), seq, kind)
	}
}

func TestAppend(t *testing.T) {
	forEachEngine(t, func(t *testing.T, fx *fixture) {
		if h, err := fx.log.Head(ctx(t)); err != nil || h != (audit.Head{Seq: 0, Hash: audit.Genesis}) {
			t.Fatalf("Head of an empty log = %v, %v; want 0:genesis", h, err)
		}
		intact(t, fx.verify(t), 0)

		e := entry(1)
		e.Outcome, e.Code = audit.Failure, "LOCK001"
		r1, err := fx.log.Append(ctx(t), e)
		if err != nil {
			t.Fatal(err)
		}
		e.Detail["n"] = "changed after the append" // must not reach the record
		if r1.Seq != 1 || r1.PrevHash != audit.Genesis || r1.Version != audit.Version || r1.Detail["n"] != "1" {
			t.Fatalf("first record = %+v", r1)
		}
		if want := t0.Truncate(time.Microsecond).UTC(); !r1.At.Equal(want) || r1.At.Location() != time.UTC {
			t.Errorf("At = %v, want the clock's time to the microsecond in UTC (%v)", r1.At, want)
		}
		if h, _ := audit.Hash(r1); h != r1.Hash {
			t.Errorf("Hash = %s, want the hash of its encoding %s", r1.Hash, h)
		}
		fx.clock.Advance(time.Minute)
		r2, err := fx.log.Append(ctx(t), audit.Entry{Actor: audit.ServiceProvider(3), Action: audit.SPDisabled,
			Subject: audit.ServiceProvider(3), Outcome: audit.Success})
		if err != nil {
			t.Fatal(err)
		}
		if r2.Seq != 2 || r2.PrevHash != r1.Hash || r2.Detail != nil {
			t.Fatalf("second record = %+v, want seq 2 chained from %s", r2, r1.Hash)
		}
		if h, err := fx.log.Head(ctx(t)); err != nil || h != (audit.Head{Seq: 2, Hash: r2.Hash}) {
			t.Fatalf("Head = %v, %v; want 2:%s", h, err, r2.Hash)
		}

		// Reading gives back exactly what was appended.
		got, err := fx.log.Records(ctx(t), 0, 10)
		if err != nil || len(got) != 2 {
			t.Fatalf("Records = %v, %v", got, err)
		}
		for i, want := range []audit.Record{r1, r2} {
			if fmt.Sprint(got[i]) != fmt.Sprint(want) || !got[i].At.Equal(want.At) {
				t.Errorf("record %d read back as\n%+v\nwant\n%+v", i+1, got[i], want)
			}
		}
		if got, err := fx.log.Records(ctx(t), 1, 10); err != nil || len(got) != 1 || got[0].Seq != 2 {
			t.Errorf("Records after 1 = %+v, %v; want seq 2", got, err)
		}
		intact(t, fx.verify(t), 2)
		intact(t, fx.verify(t, audit.Head{Seq: 1, Hash: r1.Hash}, audit.Head{Seq: 2, Hash: r2.Hash}), 2)
	})
}

// TestAppendRefused: an invalid entry changes nothing.
func TestAppendRefused(t *testing.T) {
	forEachEngine(t, func(t *testing.T, fx *fixture) {
		fx.appendN(t, 1)
		e := entry(9)
		e.Detail["password"] = "hunter22"
		_, err := fx.log.Append(ctx(t), e)
		if !errors.Is(err, audit.ErrInvalidEntry) || strings.Contains(err.Error(), "hunter22") {
			t.Fatalf("Append with a password: err = %v; want ErrInvalidEntry without the password", err)
		}
		if h, _ := fx.log.Head(ctx(t)); h.Seq != 1 {
			t.Errorf("head moved to %d after a refused append", h.Seq)
		}
		intact(t, fx.verify(t), 1)
	})
}

// TestVerifyPages: a chain longer than one page is walked whole.
func TestVerifyPages(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, "sqlite")
	const n = 1500 // Verify reads 1000 at a time
	fx.appendN(t, n)
	intact(t, fx.verify(t), n)
	fx.exec(t, `UPDATE audit_log SET actor = 'system' WHERE seq = 1201`)
	problem(t, fx.verify(t), 1201, audit.Changed, 1200)
}
