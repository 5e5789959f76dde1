package store

// Users, their credentials, key cards and logon flows (internal/auth). The
// store keeps the rows and guarantees atomicity; the rules (what a wrong
// password does, which key to ask for) live in internal/auth, which runs
// each decision inside one AuthTx.

import (
	"context"
	"fmt"
	"time"
)

// Errors of the auth store, each wrapping ErrDuplicate, so that the caller
// can tell which unique value was taken.
var (
	ErrNemIDNumberTaken = fmt.Errorf("%w: the NemID number is taken", ErrDuplicate)
	ErrCPRTaken         = fmt.Errorf("%w: a user with that CPR number exists", ErrDuplicate)
	ErrAliasTaken       = fmt.Errorf("%w: the alias is taken", ErrDuplicate)
	ErrCardNumberTaken  = fmt.Errorf("%w: the key card number is taken", ErrDuplicate)
)

// UserState is where a user is in their life cycle (docs/auth.md).
type UserState string

// The user states.
const (
	// StateAwaitingActivation: the user has a temporary password and no
	// personal one (a new user, or after a reset).
	StateAwaitingActivation UserState = "awaiting_activation"
	StateActive             UserState = "active"
	// StateQuarantined: too many wrong passwords; until QuarantinedUntil.
	StateQuarantined UserState = "quarantined"
	// StateLocked: too many wrong passwords after a quarantine.
	StateLocked UserState = "locked"
	// StateRevoked: too many wrong key-card codes; the password and the
	// card are revoked.
	StateRevoked UserState = "revoked"
	// StateBlocked: blocked by the user or by the operator.
	StateBlocked UserState = "blocked"
)

// Valid reports whether s is one of the user states.
func (s UserState) Valid() bool {
	switch s {
	case StateAwaitingActivation, StateActive, StateQuarantined, StateLocked, StateRevoked, StateBlocked:
		return true
	}
	return false
}

// User is one person with a NemID and their credentials' state.
type User struct {
	// ID is the internal key other tables refer to (the key vault's
	// UserID), assigned by CreateUser; never shown to anyone.
	ID int64
	// NemID is the 9-digit NemID number: unique, random, never reused.
	NemID string
	// CPR is the CPR number, 10 digits without a dash.
	CPR string
	// Alias is the self-chosen user-id, "" if none. Unique case-insensitively.
	Alias   string
	Name    string
	Address []string
	State   UserState
	// QuarantinedUntil is set exactly when State is StateQuarantined.
	QuarantinedUntil time.Time
	// BlockedBy is "user" or "operator" exactly when State is StateBlocked.
	BlockedBy   string
	StateReason string
	// PasswordHash is the Argon2id PHC string, "" when the user has none.
	PasswordHash string
	// PasswordFailures counts wrong passwords since the last right one.
	PasswordFailures int
	// PasswordPending counts attempts admitted and still being checked,
	// until PendingUntil.
	PasswordPending int
	PendingUntil    time.Time
	AfterQuarantine bool
	// TempMAC is the HMAC of the temporary password, nil if none;
	// TempExpiresAt is set exactly when TempMAC is.
	TempMAC       []byte
	TempExpiresAt time.Time
	TempUsedAt    time.Time
	ChallengeSeq  int64
	CreatedAt     time.Time
	// PID is the person's OCES identifier (without "PID:"), set at
	// registration and never changed; "" for a user without certificates.
	PID string
}

// UserEvent is one recorded state change of a user.
type UserEvent struct {
	UserID int64
	At     time.Time
	// From is "" for the creation of the user.
	From, To UserState
	// Actor is who caused it: "system", "user:<NemID number>" or "operator:<name>".
	Actor  string
	Reason string
}

// KeyCardStatus is where a key card is in its life.
type KeyCardStatus string

// The key card statuses.
const (
	CardCurrent KeyCardStatus = "current" // challenges come from it
	CardNext    KeyCardStatus = "next"    // ordered; becomes current when the current one is used up
	CardSpent   KeyCardStatus = "spent"   // every key has been asked for
	CardRevoked KeyCardStatus = "revoked"
)

// KeyCard is one key card's record; its codes are not in it (see KeyCardKey).
type KeyCard struct {
	// Number is one letter and nine digits, e.g. G750159724.
	Number string
	UserID int64
	Status KeyCardStatus
	// Failures counts wrong codes since the card's last right one.
	Failures    int
	IssuedAt    time.Time
	ActivatedAt time.Time // zero until its first challenge
	FinishedAt  time.Time // zero until spent or revoked
	Reason      string
	// Remaining is the number of keys never asked for. Filled by reads;
	// ignored by writes.
	Remaining int
}

// KeyCardKey is one key of a card: its number and the MAC of its code.
type KeyCardKey struct {
	Number  string // 4 digits
	CodeMAC []byte // 32 bytes
}

// FlowStep is where a logon flow is.
type FlowStep string

// The flow steps.
const (
	FlowOTP       FlowStep = "otp"      // waiting for the key-card code
	FlowActivate  FlowStep = "activate" // waiting for the personal password
	FlowDone      FlowStep = "done"
	FlowUsed      FlowStep = "used" // done, and its one signature made
	FlowCancelled FlowStep = "cancelled"
	FlowFailed    FlowStep = "failed"
)

// LogonFlow is one logon in progress.
type LogonFlow struct {
	// IDHash is the lower-case hex SHA-256 of the flow's secret id.
	IDHash string
	UserID int64
	Step   FlowStep
	// Activation: the flow was started with a temporary password.
	Activation bool
	// Card and Key are the challenge: the key the user was asked for.
	Card, Key    string
	ChallengeSeq int64
	CreatedAt    time.Time
	ExpiresAt    time.Time
}

// NewUser is everything a registration stores, in one transaction.
type NewUser struct {
	// User's State must be StateAwaitingActivation and it must have a
	// temporary password; its ID is assigned.
	User User
	// Event records the creation (From ""). Its UserID is set by the store.
	Event UserEvent
	// Card is the first key card (Status CardCurrent) with its keys.
	Card KeyCard
	Keys []KeyCardKey
}

// AuthStore keeps users, their credentials and logon flows.
type AuthStore interface {
	// CreateUser stores a new user with their first key card, its keys and
	// the creation event, all or nothing, and returns the user's ID. It
	// returns an error wrapping ErrNemIDNumberTaken, ErrCPRTaken,
	// ErrAliasTaken or ErrCardNumberTaken (all ErrDuplicate), changing
	// nothing, when a unique value is taken.
	CreateUser(ctx context.Context, nu NewUser) (int64, error)
	// User returns the user with that ID, or ErrNotFound.
	User(ctx context.Context, id int64) (User, error)
	// UserByNemID returns the user with that NemID number, or ErrNotFound.
	UserByNemID(ctx context.Context, nemid string) (User, error)
	// UserByCPR returns the user with that CPR number (10 digits), or ErrNotFound.
	UserByCPR(ctx context.Context, cpr string) (User, error)
	// UserByAlias returns the user whose alias equals alias
	// case-insensitively, or ErrNotFound.
	UserByAlias(ctx context.Context, alias string) (User, error)
	// UserEvents returns the user's events, oldest first.
	UserEvents(ctx context.Context, userID int64) ([]UserEvent, error)
	// KeyCards returns the user's key cards, oldest first, with Remaining.
	KeyCards(ctx context.Context, userID int64) ([]KeyCard, error)
	// LogonFlow returns the flow with that id hash, or ErrNotFound.
	LogonFlow(ctx context.Context, idHash string) (LogonFlow, error)
	// UpdateAuth runs f in one write transaction and commits if f returns
	// nil. f may be run more than once (when the engine asks for a retry),
	// so it must have no effect outside tx, and it must not keep tx.
	UpdateAuth(ctx context.Context, f func(tx AuthTx) error) error
	// DeleteLogonFlows removes the flows that expired before the given
	// time and says how many.
	DeleteLogonFlows(ctx context.Context, expiredBefore time.Time) (int64, error)

	// AuthSecret returns the sealed secret with that name, or ErrNotFound.
	AuthSecret(ctx context.Context, name string) ([]byte, error)
	// CreateAuthSecret stores sealed under name unless a secret of that
	// name exists, and returns the one stored: the first writer's, so
	// that concurrent creators all end up with one secret.
	CreateAuthSecret(ctx context.Context, name string, sealed []byte, at time.Time) ([]byte, error)
}

// AuthTx is one write transaction of the auth store. Every method works on
// the rows as the transaction sees them; LockUser and LockLogonFlow also
// keep every other transaction from changing the row until this one ends.
type AuthTx interface {
	// LockUser reads the user and holds their row, or returns ErrNotFound.
	// Lock the user before anything of theirs (cards, flows), so that
	// transactions on one user always take locks in the same order.
	LockUser(id int64) (User, error)
	// UpdateUser writes every field of u but ID, NemID, CPR and CreatedAt.
	// An alias that another user has is ErrAliasTaken.
	UpdateUser(u User) error
	// AddUserEvent appends an event.
	AddUserEvent(e UserEvent) error
	// UserEvents returns the user's events, oldest first.
	UserEvents(userID int64) ([]UserEvent, error)
	// KeyCards returns the user's cards, oldest first, with Remaining.
	KeyCards(userID int64) ([]KeyCard, error)
	// InsertKeyCard stores a card and its keys. A taken card number is
	// ErrCardNumberTaken; a second current or next card of one user is ErrConflict.
	InsertKeyCard(c KeyCard, keys []KeyCardKey) error
	// UpdateKeyCard writes the card's Status, Failures, ActivatedAt,
	// FinishedAt and Reason. A second current or next card is ErrConflict.
	UpdateKeyCard(c KeyCard) error
	// UnchallengedKeys lists the numbers of the card's keys never asked
	// for, in ascending order.
	UnchallengedKeys(card string) ([]string, error)
	// ChallengeKey marks the key as asked for. It is ErrNotFound unless
	// the key exists and was never asked for.
	ChallengeKey(card, key string, at time.Time) error
	// KeyCodeMAC returns the MAC of the key's code, or ErrNotFound.
	KeyCodeMAC(card, key string) ([]byte, error)
	// InsertLogonFlow stores a new flow; an id hash in use is ErrDuplicate.
	InsertLogonFlow(f LogonFlow) error
	// LockLogonFlow reads the flow and holds its row, or returns ErrNotFound.
	LockLogonFlow(idHash string) (LogonFlow, error)
	// UpdateLogonFlow writes the flow's Step, Card, Key, ChallengeSeq and ExpiresAt.
	UpdateLogonFlow(f LogonFlow) error
	// TouchDecoy counts one write in a decoy slot (0 to 63): the write a
	// logon with an unknown user-id makes, so that it takes as long as one
	// with a known user-id.
	TouchDecoy(slot int) error

	CredentialTx // the vault key and certificates that change with a credential (registration.go)
}
