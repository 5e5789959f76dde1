package store

// Revocation publishing: CRL numbers, the latest CRLs, the marks that say
// which CRLs a revocation has made stale, and the pre-signed OCSP responses
// with the schedule that says which are due.
//
// The publishers' protocol, which these methods make safe with several
// publishers in several processes:
//
//   - CRLs: read StaleCRLs, then (after that, so the CRL includes every
//     revocation that set the mark read) the revoked list, reserve a
//     number with NextCRLNumber, sign, PutCRL, and ClearStaleCRL with the
//     generation read. A revocation that lands meanwhile raises the
//     generation, so its mark survives the clear.
//   - OCSP: OCSPDue, sign each certificate's status, PutOCSPResponse with
//     the status signed. A revocation that lands meanwhile makes the put
//     refuse, and leaves the certificate due.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// markStale marks the certificate's partition CRL and its issuer's full CRL
// stale, inside the revocation's transaction. The partition's row is taken
// before the full CRL's, in every transaction, so concurrent revocations
// lock the rows in one order and cannot deadlock.
func (s *sqlStore) markStale(ctx context.Context, tx *sql.Tx, issuer string, partition int) error {
	if partition != 0 { // partition 0: the certificate is on the full CRL only
		if _, err := tx.ExecContext(ctx, s.q.markStale, issuer, partition); err != nil {
			return fmt.Errorf("mark CRL partition %d stale: %w", partition, err)
		}
	}
	if _, err := tx.ExecContext(ctx, s.q.markStale, issuer, 0); err != nil {
		return fmt.Errorf("mark full CRL stale: %w", err)
	}
	return nil
}

func (s *sqlStore) Partitions(ctx context.Context, issuer string) (int, error) {
	if issuer == "" {
		return 0, errors.New("store: partitions: no issuer given")
	}
	var n int
	err := s.r.QueryRowContext(ctx, s.q.partitions, issuer).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: partitions of %s: %w", issuer, err)
	}
	return n, nil
}

func (s *sqlStore) NextCRLNumber(ctx context.Context, issuer string) (int64, error) {
	if issuer == "" {
		return 0, errors.New("store: next CRL number: no issuer given")
	}
	var n int64
	// One statement, so atomic in every engine, as AllocatePartition.
	err := retry(ctx, s.d, func() error {
		return s.w.QueryRowContext(ctx, s.q.nextCRLNumber, issuer).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("store: next CRL number of %s: %w", issuer, err)
	}
	return n, nil
}

// validCRL checks what the schema cannot say, or says less clearly.
func validCRL(c CRL) error {
	switch {
	case c.Issuer == "":
		return errors.New("no issuer")
	case c.Partition < 0:
		return fmt.Errorf("partition %d: must be 0 (the full CRL) or more", c.Partition)
	case c.Number < 1:
		return fmt.Errorf("number %d: must be at least 1", c.Number)
	case c.ThisUpdate.IsZero():
		return errors.New("no thisUpdate")
	case micros(c.NextUpdate) <= micros(c.ThisUpdate): // as stored
		return fmt.Errorf("nextUpdate %v: must be after thisUpdate %v", c.NextUpdate, c.ThisUpdate)
	case len(c.DER) == 0:
		return errors.New("no DER")
	}
	return nil
}

func (s *sqlStore) PutCRL(ctx context.Context, c CRL) (bool, error) {
	if err := validCRL(c); err != nil {
		return false, fmt.Errorf("store: put CRL %s/%d number %d: %w", c.Issuer, c.Partition, c.Number, err)
	}
	var n int64
	err := retry(ctx, s.d, func() error {
		res, err := s.w.ExecContext(ctx, s.q.putCRL, c.Issuer, c.Partition, c.Number,
			micros(c.ThisUpdate), micros(c.NextUpdate), c.DER)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: put CRL %s/%d number %d: %w", c.Issuer, c.Partition, c.Number, err)
	}
	return n > 0, nil
}

func (s *sqlStore) CRL(ctx context.Context, issuer string, partition int) (CRL, error) {
	var (
		c          CRL
		this, next int64
	)
	err := s.r.QueryRowContext(ctx, s.q.crl, issuer, partition).
		Scan(&c.Issuer, &c.Partition, &c.Number, &this, &next, &c.DER)
	if errors.Is(err, sql.ErrNoRows) {
		return CRL{}, fmt.Errorf("store: CRL %s/%d: %w", issuer, partition, ErrNotFound)
	}
	if err != nil {
		return CRL{}, fmt.Errorf("store: CRL %s/%d: %w", issuer, partition, err)
	}
	c.ThisUpdate, c.NextUpdate = fromMicros(this), fromMicros(next)
	return c, nil
}

func (s *sqlStore) CRLs(ctx context.Context) ([]CRL, error) {
	rows, err := s.r.QueryContext(ctx, s.q.crls)
	if err != nil {
		return nil, fmt.Errorf("store: CRLs: %w", err)
	}
	defer rows.Close()
	var out []CRL
	for rows.Next() {
		var (
			c          CRL
			this, next int64
		)
		if err := rows.Scan(&c.Issuer, &c.Partition, &c.Number, &this, &next); err != nil {
			return nil, fmt.Errorf("store: CRLs: %w", err)
		}
		c.ThisUpdate, c.NextUpdate = fromMicros(this), fromMicros(next)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: CRLs: %w", err)
	}
	return out, nil
}

// StaleCRLs implements Store. The table holds one row per CRL that was ever
// marked (a few per thousand certificates), so reading it whole is cheap.
func (s *sqlStore) StaleCRLs(ctx context.Context) ([]StaleCRL, error) {
	rows, err := s.r.QueryContext(ctx, s.q.staleCRLs)
	if err != nil {
		return nil, fmt.Errorf("store: stale CRLs: %w", err)
	}
	defer rows.Close()
	var out []StaleCRL
	for rows.Next() {
		var m StaleCRL
		if err := rows.Scan(&m.Issuer, &m.Partition, &m.Generation); err != nil {
			return nil, fmt.Errorf("store: stale CRLs: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: stale CRLs: %w", err)
	}
	return out, nil
}

// ClearStaleCRL implements Store. It records the generation as published
// rather than deleting the row: a deleted row would restart at generation 1
// on the next revocation, and a second publisher still holding an older
// "generation 1" would then clear a mark its CRL does not cover. Clearing a
// mark that is already clear, or was raised since, does nothing.
func (s *sqlStore) ClearStaleCRL(ctx context.Context, m StaleCRL) error {
	switch {
	case m.Issuer == "":
		return errors.New("store: clear stale CRL: no issuer given")
	case m.Partition < 0:
		return fmt.Errorf("store: clear stale CRL %s/%d: partition must be 0 (the full CRL) or more", m.Issuer, m.Partition)
	case m.Generation < 1:
		return fmt.Errorf("store: clear stale CRL %s/%d: generation %d: must be at least 1", m.Issuer, m.Partition, m.Generation)
	}
	err := retry(ctx, s.d, func() error {
		_, err := s.w.ExecContext(ctx, s.q.clearStaleCRL, m.Issuer, m.Partition, m.Generation)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: clear stale CRL %s/%d generation %d: %w", m.Issuer, m.Partition, m.Generation, err)
	}
	return nil
}

// OCSPDue implements Store. Certificates never signed and revoked ones have
// refresh time 0, so they come first; ties go in serial order. The rows come
// in index order, so the cost is that of limit rows, however many are due.
func (s *sqlStore) OCSPDue(ctx context.Context, issuer string, now time.Time, limit int) ([]Certificate, error) {
	switch {
	case issuer == "":
		return nil, errors.New("store: OCSP due: no issuer given")
	case now.IsZero():
		return nil, fmt.Errorf("store: OCSP due for %s: no time given", issuer)
	case limit < 1:
		return nil, fmt.Errorf("store: OCSP due for %s: limit %d: must be at least 1", issuer, limit)
	}
	rows, err := s.r.QueryContext(ctx, s.q.ocspDue, issuer, micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("store: OCSP due for %s: %w", issuer, err)
	}
	defer rows.Close()
	out := make([]Certificate, 0, min(limit, 128))
	for rows.Next() {
		c, err := scanCertificate(rows)
		if err != nil {
			return nil, fmt.Errorf("store: OCSP due for %s: %w", issuer, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: OCSP due for %s: %w", issuer, err)
	}
	return out, nil
}

// validOCSPResponse checks what the schema cannot say, or says less clearly.
func validOCSPResponse(r OCSPResponse, refreshAt time.Time) error {
	this, next, refresh := micros(r.ThisUpdate), micros(r.NextUpdate), micros(refreshAt)
	switch {
	case !canonicalSerial(r.Serial):
		return errors.New("serial: must be positive lowercase hexadecimal without leading zeros")
	case r.Status != StatusGood && r.Status != StatusRevoked:
		return fmt.Errorf("status %q: must be %q or %q", r.Status, StatusGood, StatusRevoked)
	case r.ThisUpdate.IsZero():
		return errors.New("no thisUpdate")
	case next <= this:
		return fmt.Errorf("nextUpdate %v: must be after thisUpdate %v", r.NextUpdate, r.ThisUpdate)
	case len(r.DER) == 0:
		return errors.New("no DER")
	case refresh <= 0:
		// 0 and below would sort with "never signed".
		return fmt.Errorf("refresh time %v: must be after 1970", refreshAt)
	case refresh < this:
		return fmt.Errorf("refresh time %v: must not be before thisUpdate %v", refreshAt, r.ThisUpdate)
	}
	// A refresh time after nextUpdate is allowed on purpose: an expired
	// certificate's last response may stand for good (refresh "never").
	return nil
}

// errNotStored rolls PutOCSPResponse's transaction back without an error.
var errNotStored = errors.New("store: OCSP response not stored")

// PutOCSPResponse implements Store. The response is not stored (false, and
// nothing changes) when the certificate's status is no longer r.Status, or
// when the stored response has the same status and a later thisUpdate (a
// slower signer finishing after a faster one). It returns ErrNotFound for an
// unknown serial.
func (s *sqlStore) PutOCSPResponse(ctx context.Context, r OCSPResponse, refreshAt time.Time) (bool, error) {
	if err := validOCSPResponse(r, refreshAt); err != nil {
		return false, fmt.Errorf("store: put OCSP response %s: %w", r.Serial, err)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// First the certificate row, conditional on the status: on
		// PostgreSQL it waits for a revocation in progress and then sees
		// its result; either way this row lock orders the put and the
		// revocation, so the later of the two decides what is due.
		res, err := tx.ExecContext(ctx, s.q.ocspRefresh, micros(refreshAt), r.Serial, string(r.Status))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err != nil {
				return err
			}
			var status string
			err := tx.QueryRowContext(ctx, s.q.certificateStatus, r.Serial).Scan(&status)
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			if err != nil {
				return err
			}
			return errNotStored // the status changed: a revocation won
		}
		res, err = tx.ExecContext(ctx, s.q.putOCSP, r.Serial, string(r.Status),
			micros(r.ThisUpdate), micros(r.NextUpdate), r.DER)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			// A newer response is stored; keep its refresh time too.
			return errNotStored
		}
		return nil
	})
	switch {
	case errors.Is(err, errNotStored):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("store: put OCSP response %s: %w", r.Serial, err)
	}
	return true, nil
}

func (s *sqlStore) OCSPResponse(ctx context.Context, serial string) (OCSPResponse, error) {
	var (
		r          OCSPResponse
		status     string
		this, next int64
	)
	err := s.r.QueryRowContext(ctx, s.q.ocspResponse, serial).Scan(&r.Serial, &status, &this, &next, &r.DER)
	if errors.Is(err, sql.ErrNoRows) {
		return OCSPResponse{}, fmt.Errorf("store: OCSP response %s: %w", serial, ErrNotFound)
	}
	if err != nil {
		return OCSPResponse{}, fmt.Errorf("store: OCSP response %s: %w", serial, err)
	}
	r.Status = Status(status)
	r.ThisUpdate, r.NextUpdate = fromMicros(this), fromMicros(next)
	return r, nil
}
