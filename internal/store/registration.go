package store

// Registrations and the users' certificates (internal/registration): the
// writes that span the users, the key vault, the certificate authority, the
// CPR links and the outbox, each set made in one transaction, so that a
// crash leaves all of it or none.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/nemid-dk/nemid/oces"
)

// ErrPIDTaken: the PID of a registration is another user's already.
var ErrPIDTaken = fmt.Errorf("%w: the PID is taken", ErrDuplicate)

// errSerialTaken is ErrDuplicateSerial as a registration reports it: one
// of the unique values taken (ErrDuplicate).
var errSerialTaken = fmt.Errorf("%w: %w", ErrDuplicate, ErrDuplicateSerial)

// Registration is everything a NemID registration stores.
type Registration struct {
	// User is the user with their first key card and creation event, as
	// for CreateUser. User.User.PID must be set: it is linked to the CPR
	// number (CPRLink, at the user's CreatedAt).
	User NewUser
	// VaultKey makes the user's first vault key (Version 1, given as to
	// CreateVaultKey) once the store has assigned the user's ID, which the
	// key vault binds into the wrapped key. It runs inside the transaction,
	// so it must be quick (no key generation, no password derivation), and
	// it may run more than once (a retried transaction), so it must have no
	// effect but its result.
	VaultKey func(userID int64) (VaultKey, error)
	// Certificate is the user's POCES certificate for that key, given as
	// to InsertCertificate.
	Certificate Certificate
	// Outbox are the user's letters, sealed, given as to InsertOutboxMessage.
	Outbox []OutboxMessage
}

// UserCertificate is a certificate issued for one of a user's vault keys.
type UserCertificate struct {
	UserID int64
	// KeyVersion is the version of the user's vault key it certifies.
	KeyVersion  int64
	Certificate Certificate
}

// RegistrationStore keeps what spans a user's credentials, keys and
// certificates.
type RegistrationStore interface {
	// Register stores a registration in one transaction — the user, their
	// creation event and first key card, the vault key, the certificate and
	// its record as the user's, the PID's CPR link and the letters — and
	// returns the user's ID. A taken unique value changes nothing and is
	// an error wrapping ErrDuplicate: ErrNemIDNumberTaken, ErrCPRTaken,
	// ErrAliasTaken, ErrCardNumberTaken, ErrPIDTaken or (also)
	// ErrDuplicateSerial when it can tell which.
	Register(ctx context.Context, r Registration) (int64, error)
	// UserCertificates returns the certificates issued for the user's vault
	// keys, ordered by key version and then issue time.
	UserCertificates(ctx context.Context, userID int64) ([]UserCertificate, error)
}

// CredentialTx is the part of an AuthTx that changes what goes with a
// user's credentials: the vault key and the certificates. A password
// change re-wraps the key, an activation after a reset replaces it and
// its certificate, a block revokes and destroys them — each in the
// transaction that changes the credential, so that a crash cannot leave
// a password without its key, or a block without its revocation.
type CredentialTx interface {
	// RewrapVaultKey is VaultStore.RewrapVaultKey in the transaction.
	RewrapVaultKey(userID, version, generation int64, blob []byte, at time.Time) error
	// ReplaceVaultKey is VaultStore.ReplaceVaultKey in the transaction.
	ReplaceVaultKey(k VaultKey) error
	// DestroyVaultKey is VaultStore.DestroyVaultKey in the transaction.
	DestroyVaultKey(userID int64, at time.Time) (VaultKey, error)
	// InsertUserCertificate stores a new certificate (as
	// InsertCertificate) as the one that certifies the user's vault key
	// version keyVersion, which must exist.
	InsertUserCertificate(userID, keyVersion int64, c Certificate) error
	// RevokeCertificate is Store.Revoke in the transaction.
	RevokeCertificate(serial string, at time.Time, reason int) (Certificate, error)
	// UserCertificates is RegistrationStore.UserCertificates in the transaction.
	UserCertificates(userID int64) ([]UserCertificate, error)
}

const (
	qInsertUserCertificate = `INSERT INTO user_certificates (serial, user_id, key_version) VALUES (?, ?, ?)`
	qUserCertificates      = `SELECT u.user_id, u.key_version, c.serial, c.issuer, c.profile, c.subject, c.not_before,
    c.not_after, c.crl_partition, c.der, c.issued_at, c.status, c.revoked_at, c.reason
FROM user_certificates u JOIN certificates c ON c.serial = u.serial
WHERE u.user_id = ? ORDER BY u.key_version, c.issued_at, c.serial`
)

func (s *sqlStore) Register(ctx context.Context, r Registration) (int64, error) {
	nu := r.User
	fail := func(err error) (int64, error) {
		return 0, fmt.Errorf("store: register user %s: %w", nu.User.NemID, err)
	}
	if err := validNewUser(nu); err != nil {
		return fail(err)
	}
	if err := oces.ValidatePID(nu.User.PID); err != nil {
		return fail(fmt.Errorf("the user's PID: %w", err))
	}
	link := CPRLink{Identity: "PID:" + nu.User.PID, CPR: nu.User.CPR, CreatedAt: nu.User.CreatedAt}
	if err := validCPRLink(link); err != nil {
		return fail(fmt.Errorf("the user's PID: %w", err))
	}
	if r.VaultKey == nil {
		return fail(errors.New("no vault key"))
	}
	if err := validNewCertificate(r.Certificate); err != nil {
		return fail(fmt.Errorf("certificate %s: %w", r.Certificate.Serial, err))
	}
	for _, m := range r.Outbox {
		if err := validOutboxMessage(m); err != nil {
			return fail(fmt.Errorf("outbox message %s: %w", m.ID, err))
		}
	}
	var id int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		at := &authTx{ctx: ctx, s: s, tx: tx}
		var err error
		if id, err = at.insertNewUser(nu); err != nil {
			return err
		}
		k, err := r.VaultKey(id)
		if err != nil {
			return fmt.Errorf("vault key: %w", err)
		}
		if err := validNewVaultKey(k); err != nil || k.UserID != id || k.Version != 1 {
			return fmt.Errorf("vault key of user %d, version %d: want the new user's version 1: %v", k.UserID, k.Version, err)
		}
		if err := s.createVaultKey(ctx, tx, k); err != nil {
			return err
		}
		if err := at.insertUserCertificate(id, k.Version, r.Certificate); err != nil {
			return err
		}
		if n, err := s.linkCPR(ctx, tx, link); err != nil {
			return err
		} else if n != 1 {
			return ErrPIDTaken // linked to someone already (by `nemid cpr link`, say)
		}
		for _, m := range r.Outbox {
			if err := s.insertOutboxMessage(ctx, tx, m); err != nil {
				return err
			}
		}
		return nil
	})
	if s.d.isUnique(err) {
		return fail(s.whichRegistrationDuplicate(ctx, r))
	}
	if err != nil {
		return fail(err)
	}
	return id, nil
}

// whichRegistrationDuplicate says which unique value of a refused
// registration was taken, asking afresh after the rollback.
func (s *sqlStore) whichRegistrationDuplicate(ctx context.Context, r Registration) error {
	if err := s.whichUserDuplicate(ctx, r.User); err != ErrDuplicate {
		return err
	}
	if _, err := s.Certificate(ctx, r.Certificate.Serial); err == nil {
		return errSerialTaken
	}
	var n int
	err := s.r.QueryRowContext(ctx, s.d.rebind(`SELECT COUNT(*) FROM users WHERE pid = ?`), r.User.User.PID).Scan(&n)
	if err == nil && n > 0 {
		return ErrPIDTaken
	}
	return ErrDuplicate
}

func (s *sqlStore) UserCertificates(ctx context.Context, userID int64) ([]UserCertificate, error) {
	out, err := s.userCertificates(ctx, s.r, userID)
	if err != nil {
		return nil, fmt.Errorf("store: certificates of user %d: %w", userID, err)
	}
	return out, nil
}

// rowsQueryer is a *sql.DB or *sql.Tx.
type rowsQueryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (s *sqlStore) userCertificates(ctx context.Context, q rowsQueryer, userID int64) ([]UserCertificate, error) {
	rows, err := q.QueryContext(ctx, s.d.rebind(qUserCertificates), userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []UserCertificate
	for rows.Next() {
		var uc UserCertificate
		c, err := scanCertificate(prefixScanner{rows, []any{&uc.UserID, &uc.KeyVersion}})
		if err != nil {
			return nil, err
		}
		uc.Certificate = c
		out = append(out, uc)
	}
	return out, rows.Err()
}

// prefixScanner scans the first len(lead) columns into lead and hands the
// rest to the caller's destinations, so that scanCertificate reads a
// certificate after other columns.
type prefixScanner struct {
	sc   scanner
	lead []any
}

func (p prefixScanner) Scan(dest ...any) error { return p.sc.Scan(append(p.lead, dest...)...) }

// The CredentialTx methods of authTx.

func (t *authTx) RewrapVaultKey(userID, version, generation int64, blob []byte, at time.Time) error {
	if err := t.s.rewrapVaultKey(t.ctx, t.tx, userID, version, generation, blob, at); err != nil {
		return fmt.Errorf("store: re-wrap vault key %d of user %d: %w", version, userID, err)
	}
	return nil
}

func (t *authTx) ReplaceVaultKey(k VaultKey) error {
	if err := validNewVaultKey(k); err != nil {
		return fmt.Errorf("store: replace vault key of user %d: %w", k.UserID, err)
	}
	if err := t.s.replaceVaultKey(t.ctx, t.tx, k); err != nil {
		return fmt.Errorf("store: replace vault key of user %d: %w", k.UserID, err)
	}
	return nil
}

func (t *authTx) DestroyVaultKey(userID int64, at time.Time) (VaultKey, error) {
	k, err := t.s.destroyVaultKey(t.ctx, t.tx, userID, at)
	if err != nil {
		return VaultKey{}, fmt.Errorf("store: destroy vault key of user %d: %w", userID, err)
	}
	return k, nil
}

func (t *authTx) InsertUserCertificate(userID, keyVersion int64, c Certificate) error {
	if err := validNewCertificate(c); err != nil {
		return fmt.Errorf("store: insert certificate %s: %w", c.Serial, err)
	}
	err := t.insertUserCertificate(userID, keyVersion, c)
	switch {
	case t.s.d.isUnique(err):
		return fmt.Errorf("store: insert certificate %s: %w", c.Serial, ErrDuplicateSerial)
	case t.s.d.isForeignKey(err):
		return fmt.Errorf("store: insert certificate %s: user %d has no vault key %d: %w", c.Serial, userID, keyVersion, ErrNotFound)
	case err != nil:
		return fmt.Errorf("store: insert certificate %s: %w", c.Serial, err)
	}
	return nil
}

// insertUserCertificate stores a checked certificate and its record as
// the user's.
func (t *authTx) insertUserCertificate(userID, keyVersion int64, c Certificate) error {
	if err := t.s.insertCertificate(t.ctx, t.tx, c); err != nil {
		return err
	}
	_, err := t.tx.ExecContext(t.ctx, t.s.d.rebind(qInsertUserCertificate), c.Serial, userID, keyVersion)
	return err
}

func (t *authTx) RevokeCertificate(serial string, at time.Time, reason int) (Certificate, error) {
	if err := ValidReason(reason); err != nil {
		return Certificate{}, fmt.Errorf("store: revoke %s: %w", serial, err)
	}
	if at.IsZero() {
		return Certificate{}, fmt.Errorf("store: revoke %s: no revocation time", serial)
	}
	c, err := t.s.revoke(t.ctx, t.tx, serial, at, reason)
	if errors.Is(err, sql.ErrNoRows) {
		err = t.s.whyNotRevoked(t.ctx, t.tx, serial)
	}
	if err != nil {
		return Certificate{}, fmt.Errorf("store: revoke %s: %w", serial, err)
	}
	return c, nil
}

func (t *authTx) UserCertificates(userID int64) ([]UserCertificate, error) {
	out, err := t.s.userCertificates(t.ctx, t.tx, userID)
	if err != nil {
		return nil, fmt.Errorf("store: certificates of user %d: %w", userID, err)
	}
	return out, nil
}
