package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/internal/store/storetest"
)

func TestRebindDollar(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"SELECT 1":                         "SELECT 1",
		"a = ? AND b = ?":                  "a = $1 AND b = $2",
		"VALUES (?,?,?,?,?,?,?,?,?,?)":     "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)",
		"name = ? -- the CA's name, ø too": "name = $1 -- the CA's name, ø too",
	} {
		if got := store.RebindDollar(in); got != want {
			t.Errorf("rebind(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEmbeddedMigrations(t *testing.T) {
	t.Parallel()
	for _, d := range []string{"sqlite", "postgres"} {
		names, err := store.MigrationVersions(store.MigrationFS, d)
		if err != nil || len(names) == 0 || names[0] != "initial" {
			t.Errorf("%s: migrations %v, %v", d, names, err)
		}
	}
}

func TestMigrationSetRules(t *testing.T) {
	t.Parallel()
	file := &fstest.MapFile{Data: []byte("SELECT 1")}
	tests := []struct {
		name  string
		files []string
		want  string // names for sqlite, or "error"
	}{
		{"portable", []string{"0001_a.sql", "0002_b.sql"}, "[a b]"},
		{"per dialect", []string{"0001_a.sqlite.sql", "0001_a.postgres.sql", "0002_b.sql"}, "[a b]"},
		{"gap", []string{"0001_a.sql", "0003_c.sql"}, "error"},
		{"no 1", []string{"0002_b.sql"}, "error"},
		{"portable and dialect", []string{"0001_a.sql", "0001_a.sqlite.sql"}, "error"},
		{"one dialect only", []string{"0001_a.sqlite.sql"}, "error"},
		{"two portable", []string{"0001_a.sql", "0001_b.sql"}, "error"},
		{"unknown dialect", []string{"0001_a.mysql.sql", "0001_a.sqlite.sql"}, "error"},
		{"bad name", []string{"first.sql"}, "error"},
		{"no name", []string{"0001.sql"}, "error"},
		{"other files ignored", []string{"0001_a.sql", "README.md"}, "[a]"},
	}
	for _, tc := range tests {
		fsys := fstest.MapFS{}
		for _, f := range tc.files {
			fsys["migrations/"+f] = file
		}
		names, err := store.MigrationVersions(fsys, "sqlite")
		got := fmt.Sprint(names)
		if err != nil {
			got = "error"
		}
		if got != tc.want {
			t.Errorf("%s: %s (%v), want %s", tc.name, got, err, tc.want)
		}
	}
}

// TestConcurrentOpen starts several stores at once on one empty database,
// as several processes starting together would: every one must come up,
// and each migration must be applied exactly once.
func TestConcurrentOpen(t *testing.T) {
	t.Parallel()
	engines := map[string]func(t *testing.T) (database, dataDir string){
		"sqlite":   func(t *testing.T) (string, string) { return "", t.TempDir() },
		"postgres": func(t *testing.T) (string, string) { return storetest.NewPostgresSchema(t), "" },
	}
	for name, newDB := range engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			database, dataDir := newDB(t)
			const n = 8
			stores := make([]store.Store, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					stores[i], errs[i] = store.Open(context.Background(), database, dataDir)
				}()
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("Open %d: %v", i, err)
				}
				defer stores[i].Close()
			}
			r, _ := store.DBs(stores[0])
			var rows, versions int
			err := r.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations`).Scan(&rows, &versions)
			want, _ := store.MigrationVersions(store.MigrationFS, name)
			if err != nil || rows != len(want) || versions != len(want) {
				t.Fatalf("schema_migrations: %d rows, %d versions, %v; want %d", rows, versions, err, len(want))
			}
		})
	}
}

// TestNewerSchemaRefused: a program must not run against a schema migrated
// by a newer version of itself, whose meaning it does not know.
func TestNewerSchemaRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := store.Open(context.Background(), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	_, w := store.DBs(s)
	if _, err := w.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = store.Open(context.Background(), "", dir)
	if err == nil {
		s.Close()
		t.Fatal("Open accepted a schema newer than the program")
	}
	if !strings.Contains(err.Error(), "999") {
		t.Errorf("error does not name the version: %v", err)
	}
}
