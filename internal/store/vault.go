package store

// The key vault's wrapped user keys (internal/keyvault). The store keeps
// opaque blobs: it never sees a key in clear and cannot tell a valid blob
// from a forged one; the vault authenticates every blob it reads.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// VaultKeyState is where a user's key is in its life.
type VaultKeyState string

// A user has at most one active key. Superseded and destroyed keys keep
// their row (version, public key, times) for the record, but not their blob.
const (
	// VaultKeyActive: the key signs; its wrapped blob is stored.
	VaultKeyActive VaultKeyState = "active"
	// VaultKeySuperseded: replaced by a newer version; the blob is erased.
	VaultKeySuperseded VaultKeyState = "superseded"
	// VaultKeyDestroyed: destroyed when the NemID was blocked; the blob is erased.
	VaultKeyDestroyed VaultKeyState = "destroyed"
)

// VaultKey is one version of one user's key pair as the vault stores it.
type VaultKey struct {
	// UserID is the user's id (the users table's key; not yet a foreign
	// key, see migration 0006).
	UserID int64
	// Version numbers the user's key pairs 1, 2, 3, … in order of creation.
	Version int64
	State   VaultKeyState
	// PublicKey is the public key as DER SubjectPublicKeyInfo.
	PublicKey []byte
	// Blob is the wrapped private key (format: package keyvault); nil
	// unless State is VaultKeyActive.
	Blob []byte
	// Generation counts the re-wrappings of this version (0 when made);
	// RewrapVaultKey compares it to detect a concurrent change.
	Generation int64
	CreatedAt  time.Time
	// UpdatedAt is when the blob was last written (CreatedAt until re-wrapped).
	UpdatedAt time.Time
	// EndedAt is when the key was superseded or destroyed; zero while active.
	EndedAt time.Time
}

// VaultStore keeps the key vault's blobs: per user, one active key and the
// record of the ones before it. Every change is one transaction.
type VaultStore interface {
	// CreateVaultKey stores a user's first key: k.Version must be 1, and
	// State, Generation, UpdatedAt and EndedAt are set by the store (active,
	// 0, CreatedAt, none). It returns ErrDuplicate, changing nothing, if
	// the user has any key already, active or not.
	CreateVaultKey(ctx context.Context, k VaultKey) error
	// ActiveVaultKey returns the user's active key, or ErrNotFound.
	ActiveVaultKey(ctx context.Context, userID int64) (VaultKey, error)
	// VaultKeys returns every key the user has had, ordered by version.
	VaultKeys(ctx context.Context, userID int64) ([]VaultKey, error)
	// RewrapVaultKey replaces the blob of the user's active key version
	// if its Generation is still generation, and counts the generation up.
	// It returns ErrConflict, changing nothing, if that version is no longer
	// active or was re-wrapped meanwhile.
	RewrapVaultKey(ctx context.Context, userID, version, generation int64, blob []byte, at time.Time) error
	// ReplaceVaultKey, in one transaction, marks the user's active key (if
	// any) superseded at k.CreatedAt, erasing its blob, and stores k as the
	// active key. k is given as to CreateVaultKey, with a Version one above
	// the user's highest. It returns ErrNotFound if the user has no key at
	// all (use CreateVaultKey) and ErrConflict, changing nothing, if
	// k.Version is not the next version (another replacement came first).
	ReplaceVaultKey(ctx context.Context, k VaultKey) error
	// DestroyVaultKey marks the user's active key destroyed at the given
	// time, erasing its blob, and returns it as it is now. ErrNotFound if
	// the user has no active key.
	DestroyVaultKey(ctx context.Context, userID int64, at time.Time) (VaultKey, error)
}

const vaultColumns = `user_id, version, state, public_key, blob, generation, created_at, updated_at, ended_at`

// The vault's SQL, rebound per call: each is run once per vault operation,
// which costs an Argon2id derivation, so rebinding is noise; keeping them
// here keeps the feature in one file.
const (
	qInsertVaultKey = `INSERT INTO vault_keys (` + vaultColumns + `) VALUES (?, ?, 'active', ?, ?, 0, ?, ?, NULL)`
	// "state = 'active'" is spelled as in the partial unique index, so
	// both engines read the one row from it.
	qActiveVaultKey = `SELECT ` + vaultColumns + ` FROM vault_keys WHERE user_id = ? AND state = 'active'`
	qVaultKeys      = `SELECT ` + vaultColumns + ` FROM vault_keys WHERE user_id = ? ORDER BY version`
	qMaxVaultKey    = `SELECT MAX(version) FROM vault_keys WHERE user_id = ?`
	// The conditions on state and generation make the write a
	// compare-and-swap: a re-wrap based on a stale read changes nothing.
	qRewrapVaultKey = `UPDATE vault_keys SET blob = ?, generation = generation + 1, updated_at = ?
WHERE user_id = ? AND version = ? AND state = 'active' AND generation = ?`
	// Ending a key erases its blob in the same statement that changes its
	// state: no superseded or destroyed key keeps a blob.
	qSupersedeVaultKey = `UPDATE vault_keys SET state = 'superseded', blob = NULL, ended_at = ?
WHERE user_id = ? AND state = 'active'`
	qDestroyVaultKey = `UPDATE vault_keys SET state = 'destroyed', blob = NULL, ended_at = ?
WHERE user_id = ? AND state = 'active'
RETURNING ` + vaultColumns
)

// validNewVaultKey checks a key for CreateVaultKey and ReplaceVaultKey.
func validNewVaultKey(k VaultKey) error {
	switch {
	case k.UserID < 1:
		return fmt.Errorf("user id %d: must be at least 1", k.UserID)
	case k.Version < 1:
		return fmt.Errorf("version %d: must be at least 1", k.Version)
	case k.State != "" && k.State != VaultKeyActive:
		return fmt.Errorf("state %q: a new key is active", k.State)
	case k.Generation != 0 || !k.UpdatedAt.IsZero() || !k.EndedAt.IsZero():
		return errors.New("the store sets Generation, UpdatedAt and EndedAt; they must be zero")
	case len(k.PublicKey) == 0:
		return errors.New("no public key")
	case len(k.Blob) == 0:
		return errors.New("no blob")
	case k.CreatedAt.IsZero():
		return errors.New("no creation time")
	}
	return nil
}

func (s *sqlStore) insertVaultKey(ctx context.Context, ex execer, k VaultKey) error {
	_, err := ex.ExecContext(ctx, s.d.rebind(qInsertVaultKey),
		k.UserID, k.Version, k.PublicKey, k.Blob, micros(k.CreatedAt), micros(k.CreatedAt))
	return err
}

func (s *sqlStore) CreateVaultKey(ctx context.Context, k VaultKey) error {
	if err := validNewVaultKey(k); err != nil {
		return fmt.Errorf("store: create vault key of user %d: %w", k.UserID, err)
	}
	if k.Version != 1 {
		return fmt.Errorf("store: create vault key of user %d: version %d: a first key is version 1", k.UserID, k.Version)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error { return s.createVaultKey(ctx, tx, k) })
	if err != nil {
		return fmt.Errorf("store: create vault key of user %d: %w", k.UserID, err)
	}
	return nil
}

// createVaultKey stores a user's first key in the transaction. The user's
// key history must be empty: checked in the transaction; the primary key
// (user_id, version) settles a race between two creators.
func (s *sqlStore) createVaultKey(ctx context.Context, tx *sql.Tx, k VaultKey) error {
	var highest sql.NullInt64
	if err := tx.QueryRowContext(ctx, s.d.rebind(qMaxVaultKey), k.UserID).Scan(&highest); err != nil {
		return err
	}
	if highest.Valid {
		return fmt.Errorf("the user has keys up to version %d: %w", highest.Int64, ErrDuplicate)
	}
	err := s.insertVaultKey(ctx, tx, k)
	if s.d.isUnique(err) {
		return fmt.Errorf("the user has a key: %w", ErrDuplicate)
	}
	return err
}

func (s *sqlStore) ActiveVaultKey(ctx context.Context, userID int64) (VaultKey, error) {
	k, err := scanVaultKey(s.r.QueryRowContext(ctx, s.d.rebind(qActiveVaultKey), userID))
	if errors.Is(err, sql.ErrNoRows) {
		return VaultKey{}, fmt.Errorf("store: active vault key of user %d: %w", userID, ErrNotFound)
	}
	if err != nil {
		return VaultKey{}, fmt.Errorf("store: active vault key of user %d: %w", userID, err)
	}
	return k, nil
}

func (s *sqlStore) VaultKeys(ctx context.Context, userID int64) ([]VaultKey, error) {
	rows, err := s.r.QueryContext(ctx, s.d.rebind(qVaultKeys), userID)
	if err != nil {
		return nil, fmt.Errorf("store: vault keys of user %d: %w", userID, err)
	}
	defer rows.Close()
	var out []VaultKey
	for rows.Next() {
		k, err := scanVaultKey(rows)
		if err != nil {
			return nil, fmt.Errorf("store: vault keys of user %d: %w", userID, err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: vault keys of user %d: %w", userID, err)
	}
	return out, nil
}

func (s *sqlStore) RewrapVaultKey(ctx context.Context, userID, version, generation int64, blob []byte, at time.Time) error {
	err := retry(ctx, s.d, func() error { return s.rewrapVaultKey(ctx, s.w, userID, version, generation, blob, at) })
	if err != nil {
		return fmt.Errorf("store: re-wrap vault key %d of user %d: %w", version, userID, err)
	}
	return nil
}

// rewrapVaultKey is RewrapVaultKey on a database or in a transaction.
func (s *sqlStore) rewrapVaultKey(ctx context.Context, ex execer, userID, version, generation int64, blob []byte, at time.Time) error {
	switch {
	case len(blob) == 0:
		return errors.New("no blob")
	case at.IsZero():
		return errors.New("no time")
	}
	// One UPDATE: the old blob is replaced in one step, so a crash leaves
	// the old blob or the new one, never neither.
	res, err := ex.ExecContext(ctx, s.d.rebind(qRewrapVaultKey), blob, micros(at), userID, version, generation)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n != 1 {
		return fmt.Errorf("it is no longer active at generation %d: %w", generation, ErrConflict)
	}
	return nil
}

func (s *sqlStore) ReplaceVaultKey(ctx context.Context, k VaultKey) error {
	if err := validNewVaultKey(k); err != nil {
		return fmt.Errorf("store: replace vault key of user %d: %w", k.UserID, err)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error { return s.replaceVaultKey(ctx, tx, k) })
	if err != nil {
		return fmt.Errorf("store: replace vault key of user %d: %w", k.UserID, err)
	}
	return nil
}

// replaceVaultKey is ReplaceVaultKey in a transaction.
func (s *sqlStore) replaceVaultKey(ctx context.Context, tx *sql.Tx, k VaultKey) error {
	var highest sql.NullInt64
	if err := tx.QueryRowContext(ctx, s.d.rebind(qMaxVaultKey), k.UserID).Scan(&highest); err != nil {
		return err
	}
	switch {
	case !highest.Valid:
		return fmt.Errorf("the user has no key to replace: %w", ErrNotFound)
	case k.Version != highest.Int64+1:
		return fmt.Errorf("version %d given, but the next version is %d: %w", k.Version, highest.Int64+1, ErrConflict)
	}
	// The active key (if the user has one; a destroyed key leaves none)
	// is superseded before the new one is stored: the partial unique
	// index allows one active key per user at any moment.
	if _, err := tx.ExecContext(ctx, s.d.rebind(qSupersedeVaultKey), micros(k.CreatedAt), k.UserID); err != nil {
		return err
	}
	err := s.insertVaultKey(ctx, tx, k)
	if s.d.isUnique(err) {
		// On PostgreSQL a concurrent replacer that committed after this
		// transaction read the highest version lands here.
		return fmt.Errorf("another replacement stored version %d concurrently: %w", k.Version, ErrConflict)
	}
	return err
}

func (s *sqlStore) DestroyVaultKey(ctx context.Context, userID int64, at time.Time) (VaultKey, error) {
	var k VaultKey
	err := retry(ctx, s.d, func() error {
		var err error
		k, err = s.destroyVaultKey(ctx, s.w, userID, at)
		return err
	})
	if err != nil {
		return VaultKey{}, fmt.Errorf("store: destroy vault key of user %d: %w", userID, err)
	}
	return k, nil
}

// rowQueryer is a *sql.DB or *sql.Tx.
type rowQueryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// destroyVaultKey is DestroyVaultKey on a database or in a transaction.
func (s *sqlStore) destroyVaultKey(ctx context.Context, q rowQueryer, userID int64, at time.Time) (VaultKey, error) {
	if at.IsZero() {
		return VaultKey{}, errors.New("no time")
	}
	k, err := scanVaultKey(q.QueryRowContext(ctx, s.d.rebind(qDestroyVaultKey), micros(at), userID))
	if errors.Is(err, sql.ErrNoRows) {
		return VaultKey{}, fmt.Errorf("no active key: %w", ErrNotFound)
	}
	return k, err
}

func scanVaultKey(sc scanner) (VaultKey, error) {
	var (
		k                VaultKey
		state            string
		created, updated int64
		ended            sql.NullInt64
	)
	if err := sc.Scan(&k.UserID, &k.Version, &state, &k.PublicKey, &k.Blob, &k.Generation, &created, &updated, &ended); err != nil {
		return VaultKey{}, err
	}
	k.State = VaultKeyState(state)
	k.CreatedAt, k.UpdatedAt = fromMicros(created), fromMicros(updated)
	if ended.Valid {
		k.EndedAt = fromMicros(ended.Int64)
	}
	if len(k.Blob) == 0 {
		k.Blob = nil
	}
	return k, nil
}
