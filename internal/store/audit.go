package store

// The audit log's persistence. The store is a careful but dumb keeper of
// records: internal/audit encodes, hashes and verifies them; the store
// serialises appends on the head row, so that the log is one chain, and
// refuses a record that does not continue the chain it holds.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// AuditGenesis is the hash the first audit record chains from (its
// PrevHash), and the head's hash while the log is empty: 64 zeros.
const AuditGenesis = "0000000000000000000000000000000000000000000000000000000000000000"

// AuditHead is the end of the audit chain: the last record's Seq and Hash,
// or Seq 0 and AuditGenesis while the log is empty.
type AuditHead struct {
	Seq  int64
	Hash string
}

// AuditRecord is one stored audit record. The store checks only that a new
// record continues the chain (Seq and PrevHash) and that the hashes are
// well-formed; the meaning of every other field, and the hash itself, are
// internal/audit's.
type AuditRecord struct {
	Seq     int64
	Version int
	// At is stored to the microsecond and returned in UTC.
	At      time.Time
	Actor   string
	Action  string
	Subject string
	Outcome string
	// Code is "" or a NemID error code.
	Code string
	// Detail is the record's detail as internal/audit encoded it (a JSON
	// object); the store does not interpret it.
	Detail string
	// PrevHash and Hash are lower-case hexadecimal SHA-256 values.
	PrevHash string
	Hash     string
}

// AuditStore keeps the audit log. Records are only ever appended.
type AuditStore interface {
	// AppendAudit appends one record in a transaction that holds the head
	// of the chain: it calls next with the current head, stores the record
	// next returns and moves the head to it. Appenders in any number of
	// goroutines and processes are serialised on the head, so the records
	// form one chain without gaps or forks. The record must have Seq
	// head.Seq+1, PrevHash head.Hash and a well-formed Hash, or nothing is
	// stored. next may be called again (when the transaction is retried),
	// always with the head as it then is, and must not take long: the head
	// stays locked while it runs. An error from next is returned, wrapped,
	// and nothing is stored.
	AppendAudit(ctx context.Context, next func(head AuditHead) (AuditRecord, error)) (AuditRecord, error)
	// AuditHead returns the head of the chain.
	AuditHead(ctx context.Context) (AuditHead, error)
	// AuditRecords returns up to limit (at least 1) records with Seq
	// greater than afterSeq, in Seq order.
	AuditRecords(ctx context.Context, afterSeq int64, limit int) ([]AuditRecord, error)
}

// auditQueries is the audit log's SQL, rebound per dialect once.
type auditQueries struct {
	lockHead, head, insert, moveHead, records string
}

func newAuditQueries(rebind func(string) string) auditQueries {
	const columns = `seq, version, at, actor, action, subject, outcome, code, detail, prev_hash, hash`
	return auditQueries{
		// An update that changes nothing, to take the head row's write
		// lock before reading it: PostgreSQL makes a second appender wait
		// here and then see the first one's committed head; SQLite's
		// write transaction holds the whole database already. Portable,
		// unlike SELECT … FOR UPDATE, which SQLite lacks.
		lockHead: rebind(`UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash`),
		head:     `SELECT seq, hash FROM audit_head WHERE id = 1`,
		insert:   rebind(`INSERT INTO audit_log (` + columns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		moveHead: rebind(`UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1`),
		records:  rebind(`SELECT ` + columns + ` FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?`),
	}
}

var auditSQL = map[*dialect]auditQueries{
	sqliteDialect:   newAuditQueries(sqliteDialect.rebind),
	postgresDialect: newAuditQueries(postgresDialect.rebind),
}

// errAuditHeadMissing: the head row, which the migration creates and
// nothing deletes, is gone. Appending or verifying against a guessed head
// would hide tampering, so both stop.
var errAuditHeadMissing = errors.New("the audit log's head row (table audit_head) is missing: the database has been tampered with")

func (s *sqlStore) AppendAudit(ctx context.Context, next func(head AuditHead) (AuditRecord, error)) (AuditRecord, error) {
	q := auditSQL[s.d]
	var out AuditRecord
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var head AuditHead
		err := tx.QueryRowContext(ctx, q.lockHead).Scan(&head.Seq, &head.Hash)
		if errors.Is(err, sql.ErrNoRows) {
			return errAuditHeadMissing
		}
		if err != nil {
			return err
		}
		rec, err := next(head)
		if err != nil {
			return err
		}
		if err := continuesChain(head, rec); err != nil {
			return err
		}
		rec.At = rec.At.Truncate(time.Microsecond).UTC()
		if _, err := tx.ExecContext(ctx, q.insert, rec.Seq, rec.Version, micros(rec.At), rec.Actor, rec.Action,
			rec.Subject, rec.Outcome, rec.Code, rec.Detail, rec.PrevHash, rec.Hash); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, q.moveHead, rec.Seq, rec.Hash); err != nil {
			return err
		}
		out = rec
		return nil
	})
	if err != nil {
		return AuditRecord{}, fmt.Errorf("store: append audit record: %w", err)
	}
	return out, nil
}

// continuesChain checks that rec is the next record after head.
func continuesChain(head AuditHead, rec AuditRecord) error {
	switch {
	case rec.Seq != head.Seq+1:
		return fmt.Errorf("record has seq %d, but the head is at %d: the next is %d", rec.Seq, head.Seq, head.Seq+1)
	case rec.PrevHash != head.Hash:
		return fmt.Errorf("record %d has previous hash %s, but the head's hash is %s", rec.Seq, rec.PrevHash, head.Hash)
	case !isHexSHA256(rec.Hash):
		return fmt.Errorf("record %d: hash %q is not 64 lower-case hexadecimal digits", rec.Seq, rec.Hash)
	case rec.Version < 1:
		return fmt.Errorf("record %d: version %d: must be at least 1", rec.Seq, rec.Version)
	case rec.At.IsZero():
		return fmt.Errorf("record %d: no time", rec.Seq)
	}
	return nil
}

func isHexSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func (s *sqlStore) AuditHead(ctx context.Context) (AuditHead, error) {
	var h AuditHead
	err := s.r.QueryRowContext(ctx, auditSQL[s.d].head).Scan(&h.Seq, &h.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		err = errAuditHeadMissing
	}
	if err != nil {
		return AuditHead{}, fmt.Errorf("store: audit head: %w", err)
	}
	return h, nil
}

func (s *sqlStore) AuditRecords(ctx context.Context, afterSeq int64, limit int) ([]AuditRecord, error) {
	if limit < 1 {
		return nil, fmt.Errorf("store: audit records: limit %d: must be at least 1", limit)
	}
	rows, err := s.r.QueryContext(ctx, auditSQL[s.d].records, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("store: audit records after %d: %w", afterSeq, err)
	}
	defer rows.Close()
	var out []AuditRecord
	last := afterSeq
	for rows.Next() {
		var (
			r  AuditRecord
			at int64
		)
		if err := rows.Scan(&r.Seq, &r.Version, &at, &r.Actor, &r.Action, &r.Subject, &r.Outcome,
			&r.Code, &r.Detail, &r.PrevHash, &r.Hash); err != nil {
			// A row that does not scan was written by hand: say where it is.
			return nil, fmt.Errorf("store: audit records: the row after seq %d does not read: %w", last, err)
		}
		r.At = fromMicros(at)
		out = append(out, r)
		last = r.Seq
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: audit records after %d: %w", afterSeq, err)
	}
	return out, nil
}
