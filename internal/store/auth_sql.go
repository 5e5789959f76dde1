package store

// The SQL implementation of AuthStore (auth.go): its queries and the
// methods that run outside a caller's transaction.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

const userColumns = `id, nemid_number, cpr, alias, name, address, state, quarantined_until, blocked_by, state_reason,
    password_hash, password_failures, password_pending, pending_until, after_quarantine,
    temp_mac, temp_expires_at, temp_used_at, challenge_seq, created_at, pid`

const keyCardColumns = `card_number, user_id, status, failures, issued_at, activated_at, finished_at, reason,
    (SELECT COUNT(*) FROM key_card_keys k WHERE k.card_number = key_cards.card_number AND k.challenged_at IS NULL)`

const flowColumns = `id_hash, user_id, step, activation, card_number, key_number, challenge_seq, created_at, expires_at`

// authQueries is the auth store's SQL, rebound for one dialect.
type authQueries struct {
	insertUser, userByID, userByNemID, userByCPR, userByAlias, lockUser, updateUser string
	insertEvent, events                                                             string
	insertCard, cardsOf, updateCard                                                 string
	unchallenged, challengeKey, keyMAC                                              string
	insertFlow, flow, lockFlow, updateFlow, deleteFlows                             string
	authSecret, createAuthSecret, touchDecoy                                        string
}

func newAuthQueries(d *dialect) *authQueries {
	// Row locks: PostgreSQL (and the engines that speak its dialect) need
	// FOR UPDATE; SQLite has no row locks and needs none, because its write
	// transactions hold the database's write lock from BEGIN (IMMEDIATE).
	forUpdate := ""
	if d == postgresDialect {
		forUpdate = " FOR UPDATE"
	}
	r := d.rebind
	return &authQueries{
		// The id is left to the engine (identity or AUTOINCREMENT).
		insertUser: r(`INSERT INTO users (nemid_number, cpr, alias, alias_key, name, address, state, quarantined_until,
    blocked_by, state_reason, password_hash, password_failures, password_pending, pending_until, after_quarantine,
    temp_mac, temp_expires_at, temp_used_at, challenge_seq, created_at, pid)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
RETURNING id`),
		userByID:    r(`SELECT ` + userColumns + ` FROM users WHERE id = ?`),
		userByNemID: r(`SELECT ` + userColumns + ` FROM users WHERE nemid_number = ?`),
		userByCPR:   r(`SELECT ` + userColumns + ` FROM users WHERE cpr = ?`),
		userByAlias: r(`SELECT ` + userColumns + ` FROM users WHERE alias_key = ?`),
		lockUser:    r(`SELECT ` + userColumns + ` FROM users WHERE id = ?` + forUpdate),
		updateUser: r(`UPDATE users SET alias = ?, alias_key = ?, name = ?, address = ?, state = ?, quarantined_until = ?,
    blocked_by = ?, state_reason = ?, password_hash = ?, password_failures = ?, password_pending = ?, pending_until = ?,
    after_quarantine = ?,
    temp_mac = ?, temp_expires_at = ?, temp_used_at = ?, challenge_seq = ?
WHERE id = ?`),

		insertEvent: r(`INSERT INTO user_events (user_id, at, from_state, to_state, actor, reason) VALUES (?, ?, ?, ?, ?, ?)`),
		events:      r(`SELECT user_id, at, from_state, to_state, actor, reason FROM user_events WHERE user_id = ? ORDER BY id`),

		insertCard: r(`INSERT INTO key_cards (card_number, user_id, status, failures, issued_at, activated_at, finished_at, reason)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		cardsOf:    r(`SELECT ` + keyCardColumns + ` FROM key_cards WHERE user_id = ? ORDER BY issued_at, card_number`),
		updateCard: r(`UPDATE key_cards SET status = ?, failures = ?, activated_at = ?, finished_at = ?, reason = ? WHERE card_number = ?`),

		unchallenged: r(`SELECT key_number FROM key_card_keys WHERE card_number = ? AND challenged_at IS NULL ORDER BY key_number`),
		challengeKey: r(`UPDATE key_card_keys SET challenged_at = ? WHERE card_number = ? AND key_number = ? AND challenged_at IS NULL`),
		keyMAC:       r(`SELECT code_mac FROM key_card_keys WHERE card_number = ? AND key_number = ?`),

		insertFlow:  r(`INSERT INTO logon_flows (` + flowColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		flow:        r(`SELECT ` + flowColumns + ` FROM logon_flows WHERE id_hash = ?`),
		lockFlow:    r(`SELECT ` + flowColumns + ` FROM logon_flows WHERE id_hash = ?` + forUpdate),
		updateFlow:  r(`UPDATE logon_flows SET step = ?, card_number = ?, key_number = ?, challenge_seq = ?, expires_at = ? WHERE id_hash = ?`),
		deleteFlows: r(`DELETE FROM logon_flows WHERE expires_at < ?`),

		touchDecoy: r(`INSERT INTO auth_decoys (slot, attempts) VALUES (?, 1)
ON CONFLICT (slot) DO UPDATE SET attempts = auth_decoys.attempts + 1`),

		authSecret: r(`SELECT sealed FROM auth_secrets WHERE name = ?`),
		createAuthSecret: r(`INSERT INTO auth_secrets (name, sealed, created_at) VALUES (?, ?, ?)
ON CONFLICT (name) DO NOTHING`),
	}
}

// The queries are built once per dialect, not per store, and kept apart
// from queries.go so that this feature adds no field to shared structs.
var (
	sqliteAuthQueries   = newAuthQueries(sqliteDialect)
	postgresAuthQueries = newAuthQueries(postgresDialect)
)

func (s *sqlStore) aq() *authQueries {
	if s.d == postgresDialect {
		return postgresAuthQueries
	}
	return sqliteAuthQueries
}

// nullMicros is NULL for the zero time.
func nullMicros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: micros(t), Valid: true}
}

func fromNullMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMicros(v.Int64)
}

func nullString(s string) sql.NullString {
	return sql.NullString{String: s, Valid: s != ""}
}

// validUser checks the invariants the schema also checks, so that the
// caller gets a clear message rather than a constraint name. Errors never
// show the CPR number.
func validUser(u User) error {
	switch {
	case len(u.NemID) != 9 || !digitsOnly(u.NemID):
		return fmt.Errorf("NemID number %q: want 9 digits", u.NemID)
	case len(u.CPR) != 10 || !digitsOnly(u.CPR):
		return errors.New("CPR number: want 10 digits without a dash")
	case !u.State.Valid():
		return fmt.Errorf("state %q is not a user state", u.State)
	case (u.State == StateQuarantined) != !u.QuarantinedUntil.IsZero():
		return errors.New("a quarantined user, and only one, has a quarantine end")
	case (u.State == StateBlocked) != (u.BlockedBy != ""):
		return errors.New("a blocked user, and only one, says who blocked them")
	case u.BlockedBy != "" && u.BlockedBy != "user" && u.BlockedBy != "operator":
		return fmt.Errorf("blocked by %q: want user or operator", u.BlockedBy)
	case (u.TempMAC == nil) != u.TempExpiresAt.IsZero():
		return errors.New("a temporary password has an expiry, and only it")
	case u.PasswordFailures < 0 || u.PasswordPending < 0:
		return errors.New("negative password counts")
	}
	return nil
}

func digitsOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func scanUser(sc scanner) (User, error) {
	var (
		u                    User
		alias                sql.NullString
		address, state       string
		quarantined, pending sql.NullInt64
		expires, used        sql.NullInt64
		created              int64
		pid                  sql.NullString
	)
	err := sc.Scan(&u.ID, &u.NemID, &u.CPR, &alias, &u.Name, &address, &state, &quarantined, &u.BlockedBy, &u.StateReason,
		&u.PasswordHash, &u.PasswordFailures, &u.PasswordPending, &pending, &u.AfterQuarantine, &u.TempMAC, &expires, &used, &u.ChallengeSeq, &created, &pid)
	if err != nil {
		return User{}, err
	}
	u.Alias, u.PID = alias.String, pid.String
	if err := json.Unmarshal([]byte(address), &u.Address); err != nil {
		return User{}, fmt.Errorf("user %s: stored address: %w", u.NemID, err)
	}
	u.State = UserState(state)
	u.QuarantinedUntil = fromNullMicros(quarantined)
	u.PendingUntil = fromNullMicros(pending)
	u.TempExpiresAt = fromNullMicros(expires)
	u.TempUsedAt = fromNullMicros(used)
	u.CreatedAt = fromMicros(created)
	return u, nil
}

// aliasKey is the unique key of an alias, NULL for none.
func aliasKey(alias string) sql.NullString {
	if alias == "" {
		return sql.NullString{}
	}
	return sql.NullString{String: foldName(alias), Valid: true}
}

func addressJSON(lines []string) (string, error) {
	if lines == nil {
		lines = []string{}
	}
	b, err := json.Marshal(lines)
	return string(b), err
}

func (s *sqlStore) CreateUser(ctx context.Context, nu NewUser) (int64, error) {
	if err := validNewUser(nu); err != nil {
		return 0, fmt.Errorf("store: create user %s: %w", nu.User.NemID, err)
	}
	var id int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = (&authTx{ctx: ctx, s: s, tx: tx}).insertNewUser(nu)
		return err
	})
	if s.d.isUnique(err) {
		return 0, fmt.Errorf("store: create user %s: %w", nu.User.NemID, s.whichUserDuplicate(ctx, nu))
	}
	if err != nil {
		return 0, fmt.Errorf("store: create user %s: %w", nu.User.NemID, err)
	}
	return id, nil
}

// validNewUser checks a user for CreateUser and Register.
func validNewUser(nu NewUser) error {
	u := nu.User
	if err := validUser(u); err != nil {
		return err
	}
	switch {
	case u.ID != 0:
		return fmt.Errorf("ID %d given: it is assigned by the store", u.ID)
	case u.State != StateAwaitingActivation || u.TempMAC == nil || u.PasswordHash != "":
		return errors.New("a new user awaits activation with a temporary password and no password")
	case nu.Card.Status != CardCurrent:
		return errors.New("the first key card must be current")
	case u.CreatedAt.IsZero():
		return errors.New("no creation time")
	}
	return nil
}

// insertNewUser stores a checked new user (validNewUser), their creation
// event and first key card in the transaction, and returns the user's ID.
func (t *authTx) insertNewUser(nu NewUser) (int64, error) {
	u := nu.User
	address, err := addressJSON(u.Address)
	if err != nil {
		return 0, err
	}
	var id int64
	err = t.tx.QueryRowContext(t.ctx, t.q().insertUser,
		u.NemID, u.CPR, nullString(u.Alias), aliasKey(u.Alias), u.Name, address, string(u.State),
		nullMicros(u.QuarantinedUntil), u.BlockedBy, u.StateReason, u.PasswordHash, u.PasswordFailures,
		u.PasswordPending, nullMicros(u.PendingUntil), u.AfterQuarantine, u.TempMAC, nullMicros(u.TempExpiresAt), nullMicros(u.TempUsedAt), u.ChallengeSeq,
		micros(u.CreatedAt), nullString(u.PID)).Scan(&id)
	if err != nil {
		return 0, err
	}
	ev := nu.Event
	ev.UserID = id
	if err := t.AddUserEvent(ev); err != nil {
		return 0, err
	}
	card := nu.Card
	card.UserID = id
	return id, t.insertKeyCard(card, nu.Keys)
}

// whichUserDuplicate says which unique value of a refused user was taken.
// The transaction has rolled back (on PostgreSQL it could not go on after
// the violation), so it asks afresh.
func (s *sqlStore) whichUserDuplicate(ctx context.Context, nu NewUser) error {
	if _, err := s.UserByNemID(ctx, nu.User.NemID); err == nil {
		return ErrNemIDNumberTaken
	}
	if _, err := s.UserByCPR(ctx, nu.User.CPR); err == nil {
		return ErrCPRTaken
	}
	if nu.User.Alias != "" {
		if _, err := s.UserByAlias(ctx, nu.User.Alias); err == nil {
			return ErrAliasTaken
		}
	}
	var n int
	err := s.r.QueryRowContext(ctx, s.d.rebind(`SELECT COUNT(*) FROM key_cards WHERE card_number = ?`), nu.Card.Number).Scan(&n)
	if err == nil && n > 0 {
		return ErrCardNumberTaken
	}
	return ErrDuplicate
}

func (s *sqlStore) userBy(ctx context.Context, query, what string, arg any) (User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, query, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("store: user %s: %w", what, ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("store: user %s: %w", what, err)
	}
	return u, nil
}

func (s *sqlStore) User(ctx context.Context, id int64) (User, error) {
	return s.userBy(ctx, s.aq().userByID, fmt.Sprintf("with ID %d", id), id)
}

func (s *sqlStore) UserByNemID(ctx context.Context, nemid string) (User, error) {
	return s.userBy(ctx, s.aq().userByNemID, nemid, nemid)
}

// UserByCPR never puts the CPR number in its errors: it is personal data.
func (s *sqlStore) UserByCPR(ctx context.Context, cpr string) (User, error) {
	return s.userBy(ctx, s.aq().userByCPR, "with that CPR number", cpr)
}

func (s *sqlStore) UserByAlias(ctx context.Context, alias string) (User, error) {
	return s.userBy(ctx, s.aq().userByAlias, fmt.Sprintf("with alias %q", alias), foldName(alias))
}

func (s *sqlStore) UserEvents(ctx context.Context, userID int64) ([]UserEvent, error) {
	events, err := queryUserEvents(ctx, s.r, s.aq().events, userID)
	if err != nil {
		return nil, fmt.Errorf("store: events of user %d: %w", userID, err)
	}
	return events, nil
}

func queryUserEvents(ctx context.Context, db querier, query string, userID int64) ([]UserEvent, error) {
	rows, err := db.QueryContext(ctx, query, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []UserEvent
	for rows.Next() {
		var (
			e        UserEvent
			at       int64
			from, to string
		)
		if err := rows.Scan(&e.UserID, &at, &from, &to, &e.Actor, &e.Reason); err != nil {
			return nil, err
		}
		e.At, e.From, e.To = fromMicros(at), UserState(from), UserState(to)
		out = append(out, e)
	}
	return out, rows.Err()
}

func (s *sqlStore) KeyCards(ctx context.Context, userID int64) ([]KeyCard, error) {
	cards, err := queryKeyCards(ctx, s.r, s.aq().cardsOf, userID)
	if err != nil {
		return nil, fmt.Errorf("store: key cards of user %d: %w", userID, err)
	}
	return cards, nil
}

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func queryKeyCards(ctx context.Context, db querier, query string, userID int64) ([]KeyCard, error) {
	rows, err := db.QueryContext(ctx, query, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []KeyCard
	for rows.Next() {
		var (
			c                   KeyCard
			status              string
			issued              int64
			activated, finished sql.NullInt64
		)
		if err := rows.Scan(&c.Number, &c.UserID, &status, &c.Failures, &issued, &activated, &finished, &c.Reason, &c.Remaining); err != nil {
			return nil, err
		}
		c.Status = KeyCardStatus(status)
		c.IssuedAt, c.ActivatedAt, c.FinishedAt = fromMicros(issued), fromNullMicros(activated), fromNullMicros(finished)
		out = append(out, c)
	}
	return out, rows.Err()
}

func scanFlow(sc scanner) (LogonFlow, error) {
	var (
		f                LogonFlow
		step             string
		created, expires int64
	)
	if err := sc.Scan(&f.IDHash, &f.UserID, &step, &f.Activation, &f.Card, &f.Key, &f.ChallengeSeq, &created, &expires); err != nil {
		return LogonFlow{}, err
	}
	f.Step, f.CreatedAt, f.ExpiresAt = FlowStep(step), fromMicros(created), fromMicros(expires)
	return f, nil
}

func (s *sqlStore) LogonFlow(ctx context.Context, idHash string) (LogonFlow, error) {
	f, err := scanFlow(s.r.QueryRowContext(ctx, s.aq().flow, idHash))
	if errors.Is(err, sql.ErrNoRows) {
		return LogonFlow{}, fmt.Errorf("store: logon flow: %w", ErrNotFound)
	}
	if err != nil {
		return LogonFlow{}, fmt.Errorf("store: logon flow: %w", err)
	}
	return f, nil
}

func (s *sqlStore) UpdateAuth(ctx context.Context, f func(tx AuthTx) error) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		return f(&authTx{ctx: ctx, s: s, tx: tx})
	})
}

func (s *sqlStore) DeleteLogonFlows(ctx context.Context, expiredBefore time.Time) (int64, error) {
	var n int64
	err := retry(ctx, s.d, func() error {
		res, err := s.w.ExecContext(ctx, s.aq().deleteFlows, micros(expiredBefore))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: delete logon flows: %w", err)
	}
	return n, nil
}

func (s *sqlStore) AuthSecret(ctx context.Context, name string) ([]byte, error) {
	var sealed []byte
	err := s.r.QueryRowContext(ctx, s.aq().authSecret, name).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: auth secret %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: auth secret %q: %w", name, err)
	}
	return sealed, nil
}

func (s *sqlStore) CreateAuthSecret(ctx context.Context, name string, sealed []byte, at time.Time) ([]byte, error) {
	if name == "" || len(sealed) == 0 {
		return nil, errors.New("store: create auth secret: a name and a sealed value are required")
	}
	// ON CONFLICT DO NOTHING, then read through the writer: the row read is
	// either ours or the one that won, committed before our insert ended.
	var stored []byte
	err := retry(ctx, s.d, func() error {
		if _, err := s.w.ExecContext(ctx, s.aq().createAuthSecret, name, sealed, micros(at)); err != nil {
			return err
		}
		return s.w.QueryRowContext(ctx, s.aq().authSecret, name).Scan(&stored)
	})
	if err != nil {
		return nil, fmt.Errorf("store: create auth secret %q: %w", name, err)
	}
	return stored, nil
}
