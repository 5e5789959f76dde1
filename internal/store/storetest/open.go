package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/store"
)

// DefaultPostgres is the test server used when NEMID_TEST_POSTGRES is unset.
const DefaultPostgres = "postgres://127.0.0.1:5432/test?sslmode=disable"

// PostgresURL returns the URL of the PostgreSQL server tests use:
// $NEMID_TEST_POSTGRES, or DefaultPostgres.
func PostgresURL() string {
	if v := os.Getenv("NEMID_TEST_POSTGRES"); v != "" {
		return v
	}
	return DefaultPostgres
}

// howToStart is printed when the test server is missing: the PostgreSQL
// tests fail rather than skip, so that a green run means both engines passed.
const howToStart = `start a PostgreSQL server with trust authentication, or point NEMID_TEST_POSTGRES at one. On Debian (see STACK.md G11):
  apt-get install -y postgresql
  d=$(mktemp -d) && chown postgres "$d"
  bin=$(dirname "$(dpkg -L postgresql-15 | grep 'bin/initdb$')")
  runuser -u postgres -- "$bin/initdb" -D "$d" -U "$(id -un)" --auth=trust
  runuser -u postgres -- "$bin/pg_ctl" -D "$d" -l "$d/log" -o "-p 5432 -k $d -c listen_addresses=127.0.0.1" -w start
  createdb -h 127.0.0.1 test`

// RequirePostgres fails the test now, with instructions, unless the test
// server answers. Call it once before many tests that each need a schema,
// so that a missing server gives one clear failure rather than one per test.
func RequirePostgres(tb testing.TB) {
	tb.Helper()
	admin(tb).Close()
}

// admin connects to the test server as given, or fails the test.
func admin(tb testing.TB) *sql.DB {
	tb.Helper()
	base := PostgresURL()
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("storetest: NEMID_TEST_POSTGRES does not parse as a URL")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, err := sql.Open("pgx", base)
	if err == nil {
		err = db.PingContext(ctx)
	}
	if err != nil {
		tb.Fatalf("storetest: PostgreSQL at %s is not reachable: %v\n%s", redacted(u), err, howToStart)
	}
	return db
}

// redacted is the URL without its passwords, for messages.
func redacted(u *url.URL) string {
	c := *u
	q := c.Query()
	for _, k := range []string{"password", "sslpassword"} {
		if q.Has(k) {
			q.Set(k, "xxxxx")
		}
	}
	c.RawQuery = q.Encode()
	return c.Redacted()
}

// NewPostgresSchema creates an empty schema with a random name on the test
// server, drops it when the test ends, and returns a URL whose connections
// use it (search_path), so that every test has a database of its own. The
// test fails if the server cannot be reached.
func NewPostgresSchema(tb testing.TB) string {
	tb.Helper()
	admin := admin(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var b [8]byte
	rand.Read(b[:])
	schema := "nemid_test_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		tb.Fatalf("storetest: create schema %s: %v", schema, err)
	}
	tb.Cleanup(func() {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("storetest: drop schema %s: %v", schema, err)
		}
	})
	u, _ := url.Parse(PostgresURL()) // parsed by admin already
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// OpenPostgres returns a store in a fresh schema of the test server (see
// NewPostgresSchema), closed and dropped when the test ends.
func OpenPostgres(tb testing.TB) store.Store {
	tb.Helper()
	return open(tb, NewPostgresSchema(tb), "")
}

// OpenSQLite returns a store in a fresh SQLite database in a temporary
// directory, closed when the test ends.
func OpenSQLite(tb testing.TB) store.Store {
	tb.Helper()
	return open(tb, "", tb.TempDir())
}

func open(tb testing.TB, database, dataDir string) store.Store {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := store.Open(ctx, database, dataDir)
	if err != nil {
		tb.Fatalf("storetest: open store: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("storetest: close store: %v", err)
		}
	})
	return s
}
