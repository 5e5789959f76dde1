package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

func (s *sqlStore) InsertCertificate(ctx context.Context, c Certificate) error {
	if err := validNewCertificate(c); err != nil {
		return fmt.Errorf("store: insert certificate %s: %w", c.Serial, err)
	}
	err := retry(ctx, s.d, func() error { return s.insertCertificate(ctx, s.w, c) })
	if s.d.isUnique(err) {
		return fmt.Errorf("store: insert certificate %s: %w", c.Serial, ErrDuplicateSerial)
	}
	if err != nil {
		return fmt.Errorf("store: insert certificate %s: %w", c.Serial, err)
	}
	return nil
}

// execer is a *sql.DB or *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func (s *sqlStore) insertCertificate(ctx context.Context, db execer, c Certificate) error {
	_, err := db.ExecContext(ctx, s.q.insertCertificate,
		c.Serial, c.Issuer, c.Profile, c.Subject, micros(c.NotBefore), micros(c.NotAfter),
		c.Partition, c.DER, micros(c.IssuedAt))
	return err
}

// validNewCertificate checks what the schema cannot say, or says less clearly.
func validNewCertificate(c Certificate) error {
	switch {
	case !canonicalSerial(c.Serial):
		return fmt.Errorf("serial %q: must be positive lowercase hexadecimal without leading zeros", c.Serial)
	case c.Status != StatusGood:
		return fmt.Errorf("status %q: a new certificate must be %q", c.Status, StatusGood)
	case !c.RevokedAt.IsZero() || c.Reason != 0:
		return errors.New("a new certificate cannot carry a revocation time or reason")
	case c.Issuer == "":
		return errors.New("no issuer")
	case c.Partition < 0:
		return fmt.Errorf("partition %d: must be 0 (none) or more", c.Partition)
	case len(c.DER) == 0:
		return errors.New("no DER")
	}
	return nil
}

// canonicalSerial reports whether s is big.Int.Text(16) of a positive number.
// One spelling per serial keeps "0a" and "a" from being two certificates.
func canonicalSerial(s string) bool {
	if s == "" || s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func (s *sqlStore) Certificate(ctx context.Context, serial string) (Certificate, error) {
	c, err := scanCertificate(s.r.QueryRowContext(ctx, s.q.certificate, serial))
	if errors.Is(err, sql.ErrNoRows) {
		return Certificate{}, fmt.Errorf("store: certificate %s: %w", serial, ErrNotFound)
	}
	if err != nil {
		return Certificate{}, fmt.Errorf("store: certificate %s: %w", serial, err)
	}
	return c, nil
}

func scanCertificate(sc scanner) (Certificate, error) {
	var (
		c                           Certificate
		status                      string
		notBefore, notAfter, issued int64
		revokedAt, reason           sql.NullInt64
	)
	err := sc.Scan(&c.Serial, &c.Issuer, &c.Profile, &c.Subject, &notBefore, &notAfter,
		&c.Partition, &c.DER, &issued, &status, &revokedAt, &reason)
	if err != nil {
		return Certificate{}, err
	}
	c.NotBefore, c.NotAfter, c.IssuedAt = fromMicros(notBefore), fromMicros(notAfter), fromMicros(issued)
	c.Status = Status(status)
	if revokedAt.Valid {
		c.RevokedAt = fromMicros(revokedAt.Int64)
	}
	c.Reason = int(reason.Int64)
	return c, nil
}

func (s *sqlStore) ListCertificates(ctx context.Context, f ListFilter) ([]Certificate, error) {
	if f.Limit < 0 {
		return nil, fmt.Errorf("store: list certificates: limit %d: must not be negative", f.Limit)
	}
	var (
		q     strings.Builder
		args  []any
		conds []string
	)
	q.WriteString(s.q.listPrefix)
	if f.Issuer != "" {
		conds = append(conds, "issuer = ?")
		args = append(args, f.Issuer)
	}
	if f.RevokedOnly {
		conds = append(conds, "status = 'revoked'")
	}
	if f.AfterSerial != "" {
		conds = append(conds, "serial > ?")
		args = append(args, f.AfterSerial)
	}
	if len(conds) > 0 {
		q.WriteString(" WHERE " + strings.Join(conds, " AND "))
	}
	q.WriteString(" ORDER BY serial")
	if f.Limit > 0 {
		q.WriteString(" LIMIT ?")
		args = append(args, f.Limit)
	}
	rows, err := s.r.QueryContext(ctx, s.d.rebind(q.String()), args...)
	if err != nil {
		return nil, fmt.Errorf("store: list certificates: %w", err)
	}
	defer rows.Close()
	var out []Certificate
	for rows.Next() {
		c, err := scanCertificate(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list certificates: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list certificates: %w", err)
	}
	return out, nil
}

// ValidReason returns nil if reason may be recorded for a revocation, and
// otherwise an error saying why not. Allowed are the RFC 5280 CRLReason codes
// except certificateHold (6: a revocation here is final), removeFromCRL (8:
// it only undoes a hold) and the unused 7.
func ValidReason(reason int) error {
	switch reason {
	case 0, 1, 2, 3, 4, 5, 9, 10:
		return nil
	case 6:
		return errors.New("reason 6 (certificateHold) is not allowed: a revocation is final")
	case 8:
		return errors.New("reason 8 (removeFromCRL) is not allowed: it only undoes a hold, and there are no holds")
	}
	return fmt.Errorf("reason %d is not an RFC 5280 CRLReason code", reason)
}

func (s *sqlStore) Revoke(ctx context.Context, serial string, at time.Time, reason int) (Certificate, error) {
	if err := ValidReason(reason); err != nil {
		return Certificate{}, fmt.Errorf("store: revoke %s: %w", serial, err)
	}
	if at.IsZero() {
		return Certificate{}, fmt.Errorf("store: revoke %s: no revocation time", serial)
	}
	var c Certificate
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		c, err = s.revoke(ctx, tx, serial, at, reason)
		return err
	})
	if err == nil {
		return c, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return Certificate{}, fmt.Errorf("store: revoke %s: %w", serial, err)
	}
	return Certificate{}, fmt.Errorf("store: revoke %s: %w", serial, s.whyNotRevoked(ctx, s.r, serial))
}

// revoke revokes a good certificate in the transaction, or returns
// sql.ErrNoRows, changing nothing, when there is no good certificate with
// that serial (whyNotRevoked says why).
func (s *sqlStore) revoke(ctx context.Context, tx *sql.Tx, serial string, at time.Time, reason int) (Certificate, error) {
	// The condition on status makes the change and the check one atomic
	// step: of two concurrent revokers exactly one gets the row back.
	// The same statement makes the OCSP response due (see queries.go).
	c, err := scanCertificate(tx.QueryRowContext(ctx, s.q.revoke, micros(at), reason, serial))
	if err != nil {
		return Certificate{}, err
	}
	// The stale marks commit with the status, so a crash between the
	// revocation and its publication cannot lose the publication.
	return c, s.markStale(ctx, tx, c.Issuer, c.Partition)
}

// whyNotRevoked is ErrNotFound or ErrAlreadyRevoked for a serial that a
// revocation found no good certificate for. There is no un-revoke, so a
// row seen revoked now was revoked when the update ran. A row seen good
// was inserted after it, so "not found" was the truth at that moment.
func (s *sqlStore) whyNotRevoked(ctx context.Context, q rowQueryer, serial string) error {
	var status string
	err := q.QueryRowContext(ctx, s.q.certificateStatus, serial).Scan(&status)
	switch {
	case errors.Is(err, sql.ErrNoRows) || (err == nil && status == string(StatusGood)):
		return ErrNotFound
	case err != nil:
		return err
	}
	return ErrAlreadyRevoked
}

func (s *sqlStore) RevokedInPartition(ctx context.Context, issuer string, partition int) ([]Revoked, error) {
	out, err := s.revoked(ctx, s.q.revokedInPartition, issuer, partition)
	if err != nil {
		return nil, fmt.Errorf("store: revoked in %s partition %d: %w", issuer, partition, err)
	}
	return out, nil
}

func (s *sqlStore) RevokedByIssuer(ctx context.Context, issuer string) ([]Revoked, error) {
	out, err := s.revoked(ctx, s.q.revokedByIssuer, issuer)
	if err != nil {
		return nil, fmt.Errorf("store: revoked by %s: %w", issuer, err)
	}
	return out, nil
}

func (s *sqlStore) revoked(ctx context.Context, query string, args ...any) ([]Revoked, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Revoked
	for rows.Next() {
		var (
			r  Revoked
			at int64
		)
		if err := rows.Scan(&r.Serial, &at, &r.Reason); err != nil {
			return nil, err
		}
		r.RevokedAt = fromMicros(at)
		out = append(out, r)
	}
	return out, rows.Err()
}
