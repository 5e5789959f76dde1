package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/internal/store/storetest"
)

// TestPublishingPlans checks that the publishers' queries over the whole
// certificates table read an index in the order asked for, with no sort:
// their cost must be that of the rows returned, not of the table. The
// benchmarks show it at scale; this catches a regression without them.
func TestPublishingPlans(t *testing.T) {
	t.Parallel()
	args := map[string][]any{
		"OCSPDue":    {"issuing", time.Now().UnixMicro(), 100},
		"Partitions": {"issuing"},
	}
	wantIndex := map[string]string{"OCSPDue": "certificates_ocsp_due", "Partitions": "certificates_partition"}
	engines := map[string]struct {
		open    func(t *testing.T) store.Store
		explain string
		setup   string // run first in the same transaction
		sort    string // what a sort step is called in the plan
	}{
		"sqlite": {func(t *testing.T) store.Store { return storetest.OpenSQLite(t) }, "EXPLAIN QUERY PLAN ", "", "TEMP B-TREE"},
		// An empty table is cheapest to scan whole; forbid that to see
		// whether the index serves the order.
		"postgres": {func(t *testing.T) store.Store { return storetest.OpenPostgres(t) }, "EXPLAIN ", "SET LOCAL enable_seqscan = off", "Sort"},
	}
	for name, e := range engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := e.open(t)
			r, _ := store.DBs(s)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			for q, sql := range store.PublishingQueries(s) {
				tx, err := r.BeginTx(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				if e.setup != "" {
					if _, err := tx.ExecContext(ctx, e.setup); err != nil {
						t.Fatal(err)
					}
				}
				rows, err := tx.QueryContext(ctx, e.explain+sql, args[q]...)
				if err != nil {
					t.Fatalf("%s: %v", q, err)
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
				rows.Close()
				_ = tx.Rollback()
				p := plan.String()
				if !strings.Contains(p, wantIndex[q]) || strings.Contains(p, e.sort) {
					t.Errorf("%s: plan does not read %s in order:\n%s", q, wantIndex[q], p)
				}
			}
		})
	}
}
