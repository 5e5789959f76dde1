package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one numbered schema change for one dialect.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations returns the migrations for the dialect in version order. A
// version is either one portable file (NNNN_name.sql) or one file per dialect
// (NNNN_name.sqlite.sql, NNNN_name.postgres.sql); versions start at 1 without gaps.
func loadMigrations(fsys fs.FS, dialectName string) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, "migrations")
	if err != nil {
		return nil, fmt.Errorf("store: read migrations: %w", err)
	}
	type file struct {
		name, dialect, path string
	}
	byVersion := map[int][]file{}
	for _, e := range entries {
		base := e.Name()
		if e.IsDir() || !strings.HasSuffix(base, ".sql") {
			continue
		}
		stem := strings.TrimSuffix(base, ".sql")
		num, rest, ok := strings.Cut(stem, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v < 1 || rest == "" {
			return nil, fmt.Errorf("store: migration %s: name must be NNNN_name[.dialect].sql", base)
		}
		f := file{name: rest, path: path.Join("migrations", base)}
		if n, d, ok := strings.Cut(rest, "."); ok {
			if d != sqliteDialect.name && d != postgresDialect.name {
				return nil, fmt.Errorf("store: migration %s: unknown dialect %q", base, d)
			}
			f.name, f.dialect = n, d
		}
		byVersion[v] = append(byVersion[v], f)
	}

	var out []migration
	for v := 1; v <= len(byVersion); v++ {
		files, ok := byVersion[v]
		if !ok {
			return nil, fmt.Errorf("store: migrations: version %d is missing", v)
		}
		var pick *file
		switch {
		case len(files) == 1 && files[0].dialect == "":
			pick = &files[0]
		case len(files) == 2 && files[0].dialect != "" && files[1].dialect != "" && files[0].dialect != files[1].dialect:
			for i := range files {
				if files[i].dialect == dialectName {
					pick = &files[i]
				}
			}
		}
		if pick == nil {
			return nil, fmt.Errorf("store: migrations: version %d needs one portable file or one file per dialect", v)
		}
		text, err := fs.ReadFile(fsys, pick.path)
		if err != nil {
			return nil, fmt.Errorf("store: read migration %s: %w", pick.path, err)
		}
		out = append(out, migration{version: v, name: pick.name, sql: string(text)})
	}
	return out, nil
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    BIGINT PRIMARY KEY,
    name       TEXT   NOT NULL,
    applied_at BIGINT NOT NULL
)`

// migrate brings the schema up to date. Several processes may run it at once
// against one database: each migration's transaction starts by claiming its
// version row, so a second runner either waits for the first and then finds
// the version taken (and moves on), or does the work itself if the first
// rolled back.
func migrate(ctx context.Context, db *sql.DB, d *dialect, ms []migration) error {
	// On PostgreSQL two concurrent CREATE TABLE IF NOT EXISTS can still clash
	// in the catalogue (unique_violation, duplicate_table or, for the row
	// type, duplicate_object); the second try sees the table.
	err := retry(ctx, d, func() error {
		_, err := db.ExecContext(ctx, createMigrationsTable)
		if err != nil && (d.isUnique(err) || pgCode(err) == "42P07" || pgCode(err) == "42710") {
			return errRetry
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("store: migrate: create schema_migrations: %w", err)
	}

	applied, err := appliedVersions(ctx, db)
	if err != nil {
		return err
	}
	for v := range applied {
		if v > len(ms) {
			return fmt.Errorf("store: migrate: the database is at schema version %d, newer than this program knows (%d); upgrade nemid", v, len(ms))
		}
	}
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		if err := retry(ctx, d, func() error { return applyMigration(ctx, db, d, m) }); err != nil {
			return fmt.Errorf("store: migrate: %04d_%s: %w", m.version, m.name, err)
		}
	}
	return nil
}

func appliedVersions(ctx context.Context, db *sql.DB) (map[int]bool, error) {
	rows, err := db.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("store: migrate: read schema_migrations: %w", err)
	}
	defer rows.Close()
	applied := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("store: migrate: read schema_migrations: %w", err)
		}
		applied[v] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: migrate: read schema_migrations: %w", err)
	}
	return applied, nil
}

// applyMigration runs one migration in its own transaction; it does nothing
// if another runner has applied it meanwhile.
func applyMigration(ctx context.Context, db *sql.DB, d *dialect, m migration) (err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	// Claim the version first: on PostgreSQL a concurrent claimant blocks
	// here until this transaction ends; on SQLite the transaction already
	// holds the write lock (BEGIN IMMEDIATE).
	_, err = tx.ExecContext(ctx, d.rebind(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
		m.version, m.name, time.Now().UnixMicro())
	if d.isUnique(err) {
		_ = tx.Rollback()
		return nil // someone else applied it
	}
	if err != nil {
		return err
	}
	if _, err = tx.ExecContext(ctx, m.sql); err != nil {
		return err
	}
	return tx.Commit()
}
