package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver
)

// DefaultFile is the SQLite database's file name inside the data directory.
const DefaultFile = "nemid.db"

// Open connects to the database and brings its schema up to date.
//
// database selects the back-end: empty means the SQLite file DefaultFile in
// dataDir (created, mode 0700, if missing); a postgres:// or postgresql:// URL
// means PostgreSQL (or a PostgreSQL-compatible engine). Any other value is an
// error. Errors never include the URL's password.
func Open(ctx context.Context, database, dataDir string) (Store, error) {
	switch {
	case database == "":
		return openSQLite(ctx, dataDir)
	case hasPrefixFold(database, "postgres://"), hasPrefixFold(database, "postgresql://"):
		return openPostgres(ctx, database)
	default:
		// Say nothing about the value itself: it may hold a password.
		return nil, errors.New(`store: unsupported --database value: use "" (SQLite in the data directory) or a postgres://… / postgresql://… URL`)
	}
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// sqliteParams are set on every SQLite connection. synchronous(FULL): in WAL
// mode NORMAL can lose the last commits on power loss, and an acknowledged
// revocation must survive it. _txlock=immediate takes the write lock at BEGIN,
// so a read-then-write transaction never fails half-way on lock upgrade.
const sqliteParams = "_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate"

// sqliteDSN returns the driver DSN for the database file at path. The path
// goes into a file: URI, so it is percent-escaped: SQLite decodes %XX and
// would otherwise read a "?" or "#" in a directory name as URI syntax.
func sqliteDSN(path string) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: sqliteParams}
	return u.String()
}

func openSQLite(ctx context.Context, dataDir string) (Store, error) {
	if dataDir == "" {
		return nil, errors.New("store: open SQLite: no data directory given")
	}
	dir, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, fmt.Errorf("store: open SQLite: data directory %q: %w", dataDir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: open SQLite: %w", err)
	}
	path := filepath.Join(dir, DefaultFile)
	// Create the file ourselves, private: SQLite would use 0644, and gives
	// its -wal and -shm files the main file's mode.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: open SQLite: %w", err)
	}
	f.Close()
	return openSQLiteFile(ctx, path)
}

// openSQLiteFile opens (creating) the SQLite database at path.
func openSQLiteFile(ctx context.Context, path string) (Store, error) {
	dsn := sqliteDSN(path)
	// SQLite has one writer at a time. Writes go through a one-connection
	// pool so that this process's writers queue in Go (honouring their
	// contexts) instead of spinning on the busy timeout; the busy timeout
	// is then left for other processes. Reads use their own pool: WAL lets
	// them run beside the writer.
	w, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open SQLite %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	r, err := sql.Open("sqlite", dsn)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open SQLite %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)

	s, err := newSQLStore(ctx, sqliteDialect, r, w)
	if err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("%w (database %s)", err, path)
	}
	return s, nil
}

func openPostgres(ctx context.Context, dsn string) (Store, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		// url.Parse quotes the whole input, password included.
		return nil, errors.New("store: open PostgreSQL: the URL does not parse (not shown, as it may hold a password)")
	}
	secrets := pgSecrets(u)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, redact(fmt.Errorf("store: open PostgreSQL %s: %w", u.Redacted(), err), secrets)
	}
	// Bound the pool: PostgreSQL allows ~100 connections for all clients,
	// and several nemid processes may share one server.
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(20)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, redact(fmt.Errorf("store: connect to PostgreSQL %s: %w", u.Redacted(), err), secrets)
	}
	s, err := newSQLStore(ctx, postgresDialect, db, db)
	if err != nil {
		db.Close()
		return nil, redact(err, secrets)
	}
	return s, nil
}

// pgSecrets lists the values in a PostgreSQL URL that must never be shown.
func pgSecrets(u *url.URL) []string {
	var s []string
	if p, ok := u.User.Password(); ok && p != "" {
		s = append(s, p, url.QueryEscape(p), url.PathEscape(p))
	}
	for _, k := range []string{"password", "sslpassword"} {
		for _, p := range u.Query()[k] {
			if p != "" {
				s = append(s, p, url.QueryEscape(p))
			}
		}
	}
	return s
}

// redact returns err with every secret in its message replaced by "xxxxx".
// errors.Is and errors.As still see the original chain.
func redact(err error, secrets []string) error {
	if err == nil || len(secrets) == 0 {
		return err
	}
	msg := err.Error()
	for _, s := range secrets {
		msg = strings.ReplaceAll(msg, s, "xxxxx")
	}
	return &redactedError{msg: msg, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
