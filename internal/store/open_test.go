package store_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/internal/store/storetest"
)

func TestOpenRejects(t *testing.T) {
	t.Parallel()
	const secret = "s3cretPW"
	tests := []struct {
		name, database, dataDir string
	}{
		{"mysql", "mysql://u:" + secret + "@localhost/db", t.TempDir()},
		{"sqlite URL", "sqlite:///tmp/x.db", t.TempDir()},
		{"file path", "/var/lib/nemid/nemid.db", t.TempDir()},
		{"no data dir", "", ""},
		{"PG refused, password in user info", "postgres://nemid:" + secret + "@127.0.0.1:1/db?sslmode=disable&connect_timeout=2", ""},
		{"PG refused, password in query", "postgresql://127.0.0.1:1/db?sslmode=disable&password=" + secret + "&connect_timeout=2", ""},
		{"PG bad URL", "postgres://nemid:" + secret + "@[::1/db", ""},
		{"PG bad parameter", "postgres://nemid:" + secret + "@127.0.0.1:1/db?sslmode=sometimes", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s, err := store.Open(ctx, tc.database, tc.dataDir)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error shows the password: %v", err)
			}
			if !strings.HasPrefix(err.Error(), "store: ") {
				t.Errorf("error without context: %v", err)
			}
			t.Log(err)
		})
	}
}

func TestOpenSQLiteCreatesDataDir(t *testing.T) {
	t.Parallel()
	// A name with characters that mean something in a file: URI.
	dir := filepath.Join(t.TempDir(), "data dir?x=1#y%41", "nemid")
	ctx := context.Background()
	s, err := store.Open(ctx, "", dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if _, err := s.AllocatePartition(ctx, "issuing", 10); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{store.DefaultFile, store.DefaultFile + "-wal"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("database file: %v", err)
		} else if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", name, fi.Mode().Perm())
		}
	}
	s.Close()
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("data directory mode %v, want 0700", fi.Mode().Perm())
	}
	// Reopening finds the data (and runs no migration twice).
	s, err = store.Open(ctx, "", dir)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if p, err := s.AllocatePartition(ctx, "issuing", 1); err != nil || p != 2 {
		t.Errorf("after reopen AllocatePartition = %d, %v; want 2", p, err)
	}
}

// TestSQLitePragmas checks that every connection of both pools has the
// settings durability and integrity rely on.
func TestSQLitePragmas(t *testing.T) {
	t.Parallel()
	s := storetest.OpenSQLite(t)
	r, w := store.DBs(s)
	want := map[string]string{"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1", "busy_timeout": "5000"}
	for pool, db := range map[string]*sql.DB{"read": r, "write": w} {
		for pragma, v := range want {
			var got string
			if err := db.QueryRowContext(context.Background(), "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatalf("%s pool: PRAGMA %s: %v", pool, pragma, err)
			}
			if got != v {
				t.Errorf("%s pool: %s = %s, want %s", pool, pragma, got, v)
			}
		}
	}
}
