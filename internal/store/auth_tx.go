package store

// The SQL implementation of AuthTx (auth.go): one write transaction.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// authTx implements AuthTx over one *sql.Tx.
type authTx struct {
	ctx context.Context
	s   *sqlStore
	tx  *sql.Tx
}

func (t *authTx) q() *authQueries { return t.s.aq() }

func (t *authTx) LockUser(id int64) (User, error) {
	u, err := scanUser(t.tx.QueryRowContext(t.ctx, t.q().lockUser, id))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("store: user with ID %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("store: user with ID %d: %w", id, err)
	}
	return u, nil
}

func (t *authTx) UpdateUser(u User) error {
	if err := validUser(u); err != nil {
		return fmt.Errorf("store: update user: %w", err)
	}
	address, err := addressJSON(u.Address)
	if err != nil {
		return fmt.Errorf("store: update user %s: %w", u.NemID, err)
	}
	res, err := t.tx.ExecContext(t.ctx, t.q().updateUser,
		nullString(u.Alias), aliasKey(u.Alias), u.Name, address, string(u.State), nullMicros(u.QuarantinedUntil),
		u.BlockedBy, u.StateReason, u.PasswordHash, u.PasswordFailures, u.PasswordPending, nullMicros(u.PendingUntil),
		u.AfterQuarantine, u.TempMAC, nullMicros(u.TempExpiresAt), nullMicros(u.TempUsedAt), u.ChallengeSeq, u.ID)
	if t.s.d.isUnique(err) {
		return fmt.Errorf("store: update user %s: %w", u.NemID, ErrAliasTaken)
	}
	return oneRow(res, err, fmt.Sprintf("user %s", u.NemID))
}

// oneRow turns an update that touched no row into ErrNotFound.
func oneRow(res sql.Result, err error, what string) error {
	if err != nil {
		return fmt.Errorf("store: update %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: update %s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("store: update %s: %w", what, ErrNotFound)
	}
	return nil
}

func (t *authTx) AddUserEvent(e UserEvent) error {
	if e.UserID == 0 || e.At.IsZero() || !e.To.Valid() || (e.From != "" && !e.From.Valid()) || e.Actor == "" {
		return fmt.Errorf("store: user event %+v: user, time, valid states and actor are required", e)
	}
	_, err := t.tx.ExecContext(t.ctx, t.q().insertEvent, e.UserID, micros(e.At), string(e.From), string(e.To), e.Actor, e.Reason)
	if t.s.d.isForeignKey(err) {
		return fmt.Errorf("store: user event: user %d: %w", e.UserID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("store: user event: %w", err)
	}
	return nil
}

func (t *authTx) UserEvents(userID int64) ([]UserEvent, error) {
	events, err := queryUserEvents(t.ctx, t.tx, t.q().events, userID)
	if err != nil {
		return nil, fmt.Errorf("store: events of user %d: %w", userID, err)
	}
	return events, nil
}

func (t *authTx) KeyCards(userID int64) ([]KeyCard, error) {
	cards, err := queryKeyCards(t.ctx, t.tx, t.q().cardsOf, userID)
	if err != nil {
		return nil, fmt.Errorf("store: key cards of user %d: %w", userID, err)
	}
	return cards, nil
}

func validKeyCardStatus(s KeyCardStatus) bool {
	switch s {
	case CardCurrent, CardNext, CardSpent, CardRevoked:
		return true
	}
	return false
}

func (t *authTx) InsertKeyCard(c KeyCard, keys []KeyCardKey) error {
	// The second current or next card is found by reading first, not from
	// the unique violation: on PostgreSQL a violation aborts the
	// transaction, and nothing could be asked after it. The caller holds
	// the user's lock, so the user's cards cannot change in between.
	if c.Status == CardCurrent || c.Status == CardNext {
		cards, err := t.KeyCards(c.UserID)
		if err != nil {
			return err
		}
		for _, have := range cards {
			if have.Status == c.Status {
				return fmt.Errorf("store: insert key card %s: user %d has the %s card %s already: %w",
					c.Number, c.UserID, c.Status, have.Number, ErrConflict)
			}
		}
	}
	err := t.insertKeyCard(c, keys)
	switch {
	case t.s.d.isUnique(err):
		return fmt.Errorf("store: insert key card %s: %w", c.Number, ErrCardNumberTaken)
	case t.s.d.isForeignKey(err):
		return fmt.Errorf("store: insert key card %s: user %d: %w", c.Number, c.UserID, ErrNotFound)
	case err != nil:
		return fmt.Errorf("store: insert key card %s: %w", c.Number, err)
	}
	return nil
}

func (t *authTx) insertKeyCard(c KeyCard, keys []KeyCardKey) error {
	if len(c.Number) != 10 || !validKeyCardStatus(c.Status) || c.IssuedAt.IsZero() || len(keys) == 0 {
		return fmt.Errorf("key card %q: want a 10-character number, a valid status, an issue time and keys", c.Number)
	}
	_, err := t.tx.ExecContext(t.ctx, t.q().insertCard, c.Number, c.UserID, string(c.Status), c.Failures,
		micros(c.IssuedAt), nullMicros(c.ActivatedAt), nullMicros(c.FinishedAt), c.Reason)
	if err != nil {
		return err
	}
	// One multi-row INSERT for all the keys: one round trip, not 148.
	query := `INSERT INTO key_card_keys (card_number, key_number, code_mac) VALUES `
	args := make([]any, 0, 3*len(keys))
	for i, k := range keys {
		if len(k.Number) != 4 || len(k.CodeMAC) != 32 {
			return fmt.Errorf("key card %s: key %d: want a 4-digit number and a 32-byte MAC", c.Number, i)
		}
		if i > 0 {
			query += ", "
		}
		query += "(?, ?, ?)"
		args = append(args, c.Number, k.Number, k.CodeMAC)
	}
	_, err = t.tx.ExecContext(t.ctx, t.s.d.rebind(query), args...)
	return err
}

func (t *authTx) UpdateKeyCard(c KeyCard) error {
	if !validKeyCardStatus(c.Status) || c.Failures < 0 {
		return fmt.Errorf("store: update key card %s: status %q, failures %d", c.Number, c.Status, c.Failures)
	}
	res, err := t.tx.ExecContext(t.ctx, t.q().updateCard, string(c.Status), c.Failures,
		nullMicros(c.ActivatedAt), nullMicros(c.FinishedAt), c.Reason, c.Number)
	if t.s.d.isUnique(err) {
		return fmt.Errorf("store: update key card %s: the user has a %s card already: %w", c.Number, c.Status, ErrConflict)
	}
	return oneRow(res, err, "key card "+c.Number)
}

func (t *authTx) UnchallengedKeys(card string) ([]string, error) {
	rows, err := t.tx.QueryContext(t.ctx, t.q().unchallenged, card)
	if err != nil {
		return nil, fmt.Errorf("store: keys of card %s: %w", card, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("store: keys of card %s: %w", card, err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: keys of card %s: %w", card, err)
	}
	return out, nil
}

func (t *authTx) ChallengeKey(card, key string, at time.Time) error {
	res, err := t.tx.ExecContext(t.ctx, t.q().challengeKey, micros(at), card, key)
	return oneRow(res, err, fmt.Sprintf("key %s of card %s (unchallenged)", key, card))
}

func (t *authTx) KeyCodeMAC(card, key string) ([]byte, error) {
	var mac []byte
	err := t.tx.QueryRowContext(t.ctx, t.q().keyMAC, card, key).Scan(&mac)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: key %s of card %s: %w", key, card, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: key %s of card %s: %w", key, card, err)
	}
	return mac, nil
}

func validFlowStep(s FlowStep) bool {
	switch s {
	case FlowOTP, FlowActivate, FlowDone, FlowUsed, FlowCancelled, FlowFailed:
		return true
	}
	return false
}

func (t *authTx) InsertLogonFlow(f LogonFlow) error {
	if len(f.IDHash) != 64 || !validFlowStep(f.Step) || f.UserID == 0 || f.CreatedAt.IsZero() || f.ExpiresAt.IsZero() {
		return errors.New("store: insert logon flow: want a 64-character id hash, a valid step, a user and times")
	}
	_, err := t.tx.ExecContext(t.ctx, t.q().insertFlow, f.IDHash, f.UserID, string(f.Step), f.Activation,
		f.Card, f.Key, f.ChallengeSeq, micros(f.CreatedAt), micros(f.ExpiresAt))
	switch {
	case t.s.d.isUnique(err):
		return fmt.Errorf("store: insert logon flow: %w", ErrDuplicate)
	case t.s.d.isForeignKey(err):
		return fmt.Errorf("store: insert logon flow: user %d: %w", f.UserID, ErrNotFound)
	case err != nil:
		return fmt.Errorf("store: insert logon flow: %w", err)
	}
	return nil
}

func (t *authTx) LockLogonFlow(idHash string) (LogonFlow, error) {
	f, err := scanFlow(t.tx.QueryRowContext(t.ctx, t.q().lockFlow, idHash))
	if errors.Is(err, sql.ErrNoRows) {
		return LogonFlow{}, fmt.Errorf("store: logon flow: %w", ErrNotFound)
	}
	return f, err
}

func (t *authTx) UpdateLogonFlow(f LogonFlow) error {
	if !validFlowStep(f.Step) || f.ExpiresAt.IsZero() {
		return fmt.Errorf("store: update logon flow: step %q, expiry %v", f.Step, f.ExpiresAt)
	}
	res, err := t.tx.ExecContext(t.ctx, t.q().updateFlow, string(f.Step), f.Card, f.Key, f.ChallengeSeq, micros(f.ExpiresAt), f.IDHash)
	return oneRow(res, err, "logon flow")
}

func (t *authTx) TouchDecoy(slot int) error {
	if slot < 0 || slot > 63 {
		return fmt.Errorf("store: decoy slot %d: want 0 to 63", slot)
	}
	if _, err := t.tx.ExecContext(t.ctx, t.q().touchDecoy, slot); err != nil {
		return fmt.Errorf("store: decoy slot %d: %w", slot, err)
	}
	return nil
}
