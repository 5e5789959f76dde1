package store

import (
	"database/sql"
	"io/fs"
)

// Hooks for the external tests (package store_test), which cannot reach
// unexported names but need storetest, which imports this package.

// DBs returns the store's read and write pools.
func DBs(s Store) (r, w *sql.DB) {
	ss := s.(*sqlStore)
	return ss.r, ss.w
}

// Rebind rewrites a "?" query for the store's engine.
func Rebind(s Store, q string) string { return s.(*sqlStore).d.rebind(q) }

// MigrationFS is the embedded migration set.
var MigrationFS fs.FS = migrationFS

// MigrationVersions loads the migrations of one dialect from fsys and
// returns their versions and names.
func MigrationVersions(fsys fs.FS, dialect string) ([]string, error) {
	ms, err := loadMigrations(fsys, dialect)
	var out []string
	for _, m := range ms {
		out = append(out, m.name)
	}
	return out, err
}

// RebindDollar is the PostgreSQL placeholder rewrite.
var RebindDollar = rebindDollar

// SQLiteDSN is the DSN Open uses for a SQLite file.
var SQLiteDSN = sqliteDSN

// PublishingQueries returns the SQL of the queries whose plans
// TestPublishingPlans checks, by name, as the store runs them.
func PublishingQueries(s Store) map[string]string {
	q := s.(*sqlStore).q
	return map[string]string{"OCSPDue": q.ocspDue, "Partitions": q.partitions}
}

// CPRQueryCountsQuery returns the SQL of CPRQueryCounts as the store runs it.
func CPRQueryCountsQuery(s Store) string { return s.(*sqlStore).q.cprQueryCounts }
