package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/internal/store/storetest"
)

// TestCPRQueryCountsPlan checks that both counts of CPRQueryCounts are read
// from a range of their partial index, never from the whole table: the CPR
// services ask for them on every query, and the table only grows.
func TestCPRQueryCountsPlan(t *testing.T) {
	t.Parallel()
	engines := map[string]struct {
		open    func(t *testing.T) store.Store
		explain string
		setup   string // run first in the same transaction
		scan    string // what reading the whole table is called in the plan
		only    string // what reading only an index is called, before its name
	}{
		"sqlite": {func(t *testing.T) store.Store { return storetest.OpenSQLite(t) }, "EXPLAIN QUERY PLAN ", "", "SCAN cpr_queries", "USING COVERING INDEX "},
		// An empty table is cheapest to scan whole; forbid that to see
		// whether the indexes serve the counts.
		"postgres": {func(t *testing.T) store.Store { return storetest.OpenPostgres(t) }, "EXPLAIN ", "SET LOCAL enable_seqscan = off", "Seq Scan", "Index Only Scan using "},
	}
	for name, e := range engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := e.open(t)
			r, w := store.DBs(s)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			populateCPRQueries(t, s, w)
			tx, err := r.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			if e.setup != "" {
				if _, err := tx.ExecContext(ctx, e.setup); err != nil {
					t.Fatal(err)
				}
			}
			since := time.Now().UnixMicro()
			rows, err := tx.QueryContext(ctx, e.explain+store.CPRQueryCountsQuery(s), 1, "PID:9208-2002-2-000000000001", since, 1, since)
			if err != nil {
				t.Fatal(err)
			}
			var plan strings.Builder
			cols, _ := rows.Columns()
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
				for _, v := range vals {
					if s, ok := v.(string); ok {
						plan.WriteString(s + "\n")
					}
				}
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			rows.Close()
			p := plan.String()
			for _, index := range []string{"cpr_queries_failed_sp", "cpr_queries_failed_identity"} {
				if !strings.Contains(p, e.only+index) {
					t.Errorf("plan does not read %s alone:\n%s", index, p)
				}
			}
			if strings.Contains(p, e.scan) {
				t.Errorf("plan reads the whole table:\n%s", p)
			}
		})
	}
}

// populateCPRQueries stores what a busy SP's history looks like — many
// identities, a few failures each, over a long time — and has the engine
// gather statistics, so that the planner chooses as it would in production
// (on an empty table every index costs the same).
func populateCPRQueries(t *testing.T, s store.Store, w *sql.DB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sp, err := s.RegisterServiceProvider(ctx, store.ServiceProvider{
		Name: "Busy Shop", Origins: []string{"https://busy.example"}, CertDER: []byte("cert"), AllowCPRMatch: true})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	insert := store.Rebind(s, `INSERT INTO cpr_queries (sp, identity, failed, queried_at) VALUES (?, ?, ?, ?)`)
	start := time.Now().Add(-24 * time.Hour)
	for i := range 3000 {
		id := fmt.Sprintf("PID:9208-2002-2-%012d", i%600)
		at := start.Add(time.Duration(i) * time.Second).UnixMicro()
		if _, err := tx.ExecContext(ctx, insert, sp.ID, id, i%4 == 0, at); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tx.ExecContext(ctx, "ANALYZE"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}
