package store

import (
	"errors"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect is what differs between the SQL engines. Everything else — the
// queries, the transactions, the error wrapping — is shared, so that one
// implementation serves both back-ends and the conformance suite tests the
// same code paths for each.
type dialect struct {
	// name selects the per-dialect migration files ("sqlite" or "postgres").
	name string
	// rebind turns the portable "?" placeholders into the engine's own.
	rebind func(query string) string
	// isUnique reports whether err is a unique or primary-key violation.
	isUnique func(err error) bool
	// isForeignKey reports whether err is a foreign-key violation.
	isForeignKey func(err error) bool
	// isRetryable reports whether err means "nothing was done, try again":
	// lock contention or a serialisation failure.
	isRetryable func(err error) bool
}

var sqliteDialect = &dialect{
	name:   "sqlite",
	rebind: func(q string) string { return q },
	isUnique: func(err error) bool {
		var e *sqlite.Error
		if !errors.As(err, &e) {
			return false
		}
		return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	},
	isForeignKey: func(err error) bool {
		var e *sqlite.Error
		return errors.As(err, &e) && e.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	},
	isRetryable: func(err error) bool {
		var e *sqlite.Error
		if !errors.As(err, &e) {
			return false
		}
		// The primary code is the low byte; SQLITE_BUSY_SNAPSHOT and
		// SQLITE_BUSY_RECOVERY are extended forms of SQLITE_BUSY.
		return e.Code()&0xff == sqlite3.SQLITE_BUSY || e.Code()&0xff == sqlite3.SQLITE_LOCKED
	},
}

var postgresDialect = &dialect{
	name:   "postgres",
	rebind: rebindDollar,
	isUnique: func(err error) bool {
		return pgCode(err) == "23505" // unique_violation
	},
	isForeignKey: func(err error) bool {
		return pgCode(err) == "23503" // foreign_key_violation
	},
	isRetryable: func(err error) bool {
		// serialization_failure is what CockroachDB (always SERIALIZABLE)
		// returns for a transaction it wants retried; deadlock_detected can
		// happen on PostgreSQL itself.
		c := pgCode(err)
		return c == "40001" || c == "40P01"
	},
}

func pgCode(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// rebindDollar rewrites "?" placeholders as $1, $2, … It does not look inside
// string literals: the store's queries never put a "?" in one.
func rebindDollar(q string) string {
	n := strings.Count(q, "?")
	if n == 0 {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 2*n)
	i := 0
	for _, r := range q {
		if r != '?' {
			b.WriteRune(r)
			continue
		}
		i++
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(i))
	}
	return b.String()
}
