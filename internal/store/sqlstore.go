package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

var _ Store = (*sqlStore)(nil)

// sqlStore is the one Store implementation, over database/sql, for every dialect.
type sqlStore struct {
	d *dialect
	r *sql.DB // reads
	w *sql.DB // writes; the same pool as r except on SQLite
	q queries
}

// newSQLStore runs the migrations and returns the store. It does not close
// the pools on error; the caller does.
func newSQLStore(ctx context.Context, d *dialect, r, w *sql.DB) (*sqlStore, error) {
	ms, err := loadMigrations(migrationFS, d.name)
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, w, d, ms); err != nil {
		return nil, err
	}
	return &sqlStore{d: d, r: r, w: w, q: newQueries(d.rebind)}, nil
}

func (s *sqlStore) Close() error {
	err := s.r.Close()
	if s.w != s.r {
		err = errors.Join(err, s.w.Close())
	}
	return err
}

// errRetry asks retry to run the function again.
var errRetry = errors.New("store: retry")

const maxAttempts = 10

// retry runs f until it succeeds, fails with an error that is not
// retryable, or has run maxAttempts times. f must have done nothing when it
// returns a retryable error (its statement or transaction did not commit).
func retry(ctx context.Context, d *dialect, f func() error) error {
	var err error
	for attempt := range maxAttempts {
		if attempt > 0 {
			// Jittered exponential back-off, 2 ms to ~250 ms, so that
			// colliding processes do not collide again in step.
			wait := time.Duration(1<<min(attempt, 7)) * time.Millisecond
			wait += rand.N(wait)
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return errors.Join(err, ctx.Err())
			case <-t.C:
			}
		}
		err = f()
		if err == nil || !(errors.Is(err, errRetry) || d.isRetryable(err)) {
			return err
		}
	}
	return err
}

// inTx runs f in a write transaction, retrying the whole transaction when
// the engine asks for it.
func (s *sqlStore) inTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	return retry(ctx, s.d, func() error {
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if err := f(tx); err != nil {
			_ = tx.Rollback()
			return err
		}
		return tx.Commit()
	})
}

// Times are stored as unix microseconds: exact, comparable, and the same in
// every engine (SQLite has no time type; PostgreSQL's has microseconds too).
func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func (s *sqlStore) Installation(ctx context.Context) (Installation, error) {
	var (
		inst    Installation
		created int64
	)
	err := s.r.QueryRowContext(ctx, s.q.installation).Scan(&inst.Environment, &inst.Config, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Installation{}, fmt.Errorf("store: installation: %w", ErrNotFound)
	}
	if err != nil {
		return Installation{}, fmt.Errorf("store: installation: %w", err)
	}
	inst.CreatedAt = fromMicros(created)
	return inst, nil
}

// Initialise implements Store.
func (s *sqlStore) Initialise(ctx context.Context, inst Installation, cas []CA, certs []Certificate) error {
	if inst.Environment != "preprod" && inst.Environment != "production" {
		return fmt.Errorf("store: initialise: environment %q: must be \"preprod\" or \"production\"", inst.Environment)
	}
	for _, ca := range cas {
		if err := validCA(ca); err != nil {
			return fmt.Errorf("store: initialise: %w", err)
		}
	}
	for _, c := range certs {
		if err := validNewCertificate(c); err != nil {
			return fmt.Errorf("store: initialise: certificate %s: %w", c.Serial, err)
		}
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// The installation row goes first: a second initialiser then stops
		// on it (waiting for the first to commit on PostgreSQL) before
		// touching any CA.
		_, err := tx.ExecContext(ctx, s.q.insertInstallation, inst.Environment, nonNil(inst.Config), micros(inst.CreatedAt))
		if s.d.isUnique(err) {
			return ErrAlreadyInitialised
		}
		if err != nil {
			return err
		}
		for _, ca := range cas {
			_, err := tx.ExecContext(ctx, s.q.insertCA, ca.Name, string(ca.Kind), nonNil(ca.CertDER), ca.KeyRef, micros(ca.CreatedAt))
			if s.d.isUnique(err) {
				return fmt.Errorf("CA %q is given twice", ca.Name)
			}
			if err != nil {
				return fmt.Errorf("CA %q: %w", ca.Name, err)
			}
		}
		for _, c := range certs {
			err := s.insertCertificate(ctx, tx, c)
			if s.d.isUnique(err) {
				return fmt.Errorf("certificate %s: %w", c.Serial, ErrDuplicateSerial)
			}
			if err != nil {
				return fmt.Errorf("certificate %s: %w", c.Serial, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: initialise: %w", err)
	}
	return nil
}

func validCA(ca CA) error {
	if ca.Name == "" {
		return errors.New("CA without a name")
	}
	switch ca.Kind {
	case KindRoot, KindIssuing, KindOCSP:
		return nil
	}
	return fmt.Errorf("CA %q: kind %q: must be root, issuing or ocsp", ca.Name, ca.Kind)
}

// nonNil keeps a nil slice from becoming SQL NULL in a NOT NULL column.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func (s *sqlStore) CA(ctx context.Context, name string) (CA, error) {
	ca, err := scanCA(s.r.QueryRowContext(ctx, s.q.ca, name))
	if errors.Is(err, sql.ErrNoRows) {
		return CA{}, fmt.Errorf("store: CA %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return CA{}, fmt.Errorf("store: CA %q: %w", name, err)
	}
	return ca, nil
}

func (s *sqlStore) CAs(ctx context.Context) ([]CA, error) {
	rows, err := s.r.QueryContext(ctx, s.q.cas)
	if err != nil {
		return nil, fmt.Errorf("store: CAs: %w", err)
	}
	defer rows.Close()
	var out []CA
	for rows.Next() {
		ca, err := scanCA(rows)
		if err != nil {
			return nil, fmt.Errorf("store: CAs: %w", err)
		}
		out = append(out, ca)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: CAs: %w", err)
	}
	return out, nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func scanCA(sc scanner) (CA, error) {
	var (
		ca      CA
		kind    string
		created int64
	)
	if err := sc.Scan(&ca.Name, &kind, &ca.CertDER, &ca.KeyRef, &created); err != nil {
		return CA{}, err
	}
	ca.Kind = CAKind(kind)
	ca.CreatedAt = fromMicros(created)
	return ca, nil
}

func (s *sqlStore) AllocatePartition(ctx context.Context, issuer string, size int) (int, error) {
	if issuer == "" {
		return 0, errors.New("store: allocate partition: no issuer given")
	}
	if size < 1 {
		return 0, fmt.Errorf("store: allocate partition for %q: size %d: must be at least 1", issuer, size)
	}
	var p int
	// One statement, so atomic in every engine: create the issuer's row at
	// partition 1, or take the next place, moving to a new partition when
	// the current one is full.
	err := retry(ctx, s.d, func() error {
		return s.w.QueryRowContext(ctx, s.q.allocatePartition, issuer, size, size).Scan(&p)
	})
	if err != nil {
		return 0, fmt.Errorf("store: allocate partition for %q: %w", issuer, err)
	}
	return p, nil
}
