// Package auth is NemID's authentication: users and their three user-ids
// (NemID number, CPR number, alias), passwords and temporary passwords,
// key cards, and the lock-out that stops guessing (spec section 10).
//
// The Service is the domain API: StartLogon checks a user-id and a
// password and asks for a key of the user's key card; AnswerOTP checks the
// code; Activate sets the first personal password after a logon with a
// temporary one. Operators register users, reset passwords, block and
// unblock, and issue key cards. Every state of a logon lives in the store,
// so any instance can continue any flow, and every counter is changed in
// one transaction that holds the user's row, so parallel attempts are
// counted exactly. docs/auth.md has the rules, thresholds and reasons.
//
// No secret leaves this package in an error or a log line: not a
// password, not a code, not a flow id, not a CPR number.
package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nemid-dk/nemid/internal/ca/keys"
	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/ooapi"
)

// Mailer delivers the letters that carry new secrets to a user: the
// outbox (a simulated post and SMS channel) implements it. It is called
// after the secret is stored; if it fails, the secret is withdrawn again,
// so that no usable secret exists without its letter.
type Mailer interface {
	// KeyCardLetter queues the letter with a new key card.
	KeyCardLetter(ctx context.Context, to User, card *KeyCard) error
	// TemporaryPasswordLetter queues the letter with a temporary password
	// and the time it stops working.
	TemporaryPasswordLetter(ctx context.Context, to User, password string, validUntil time.Time) error
}

// AuditEvent is one security event for the audit log, shaped as
// internal/audit's entries are, so that an adapter maps it field by field.
// It never holds a secret or a CPR number.
type AuditEvent struct {
	At    time.Time
	Actor Actor
	// Action is one of the Action… constants (internal/audit's names).
	Action string
	// UserID and NemID name the user; zero and "" for an unknown user-id.
	UserID int64
	NemID  string
	// Outcome is OutcomeSuccess, OutcomeFailure or OutcomeRefused.
	Outcome string
	// Code is the NemID error code the outcome carries, or "".
	Code   ooapi.Code
	Detail string
}

// The audit actions: internal/audit's names for them.
const (
	ActionRegistration   = "registration"
	ActionActivation     = "activation"
	ActionLogonAttempt   = "logon-attempt"
	ActionOTPUse         = "otp-use"
	ActionQuarantine     = "quarantine"
	ActionLock           = "lock"
	ActionUnlock         = "unlock"
	ActionBlock          = "block"
	ActionUnblock        = "unblock"
	ActionPasswordReset  = "password-reset"
	ActionPasswordChange = "password-change"
	ActionKeycardIssued  = "keycard-issued"
	ActionKeycardRevoked = "keycard-revoked"
)

// The audit outcomes.
const (
	// OutcomeSuccess: the operation was done.
	OutcomeSuccess = "success"
	// OutcomeFailure: it was tried and failed (a wrong password or code,
	// a cancelled logon, a letter that could not be queued).
	OutcomeFailure = "failure"
	// OutcomeRefused: it was not tried (the user's state, a stale
	// challenge, too many attempts at once).
	OutcomeRefused = "refused"
)

// Auditor appends security events to the audit log (internal/audit).
type Auditor interface {
	Record(ctx context.Context, e AuditEvent) error
}

// Limits are the lock-out thresholds and validity periods. Zero fields
// take the defaults (docs/auth.md gives the reasons).
type Limits struct {
	// QuarantineAfter wrong passwords in a row quarantine the user (LOCK001).
	QuarantineAfter int
	// Quarantine is how long a quarantine lasts (NemID: 8 hours).
	Quarantine time.Duration
	// LockAfter more wrong passwords after a quarantine, before a right
	// one, lock the user (LOCK002).
	LockAfter int
	// RevokeAfter wrong codes in a row for one key card revoke it and the
	// password (LOCK003).
	RevokeAfter int
	// NewCardAt: when a challenge leaves this many keys on the current
	// card, the next card is ordered (NemID: 20).
	NewCardAt int
	// StepValidity is how long a flow waits for each answer: the code
	// after the password, the new password after the code, and how long a
	// finished logon may change the password.
	StepValidity time.Duration
	// TemporaryPassword is how long a temporary password works.
	TemporaryPassword time.Duration
}

// The default limits.
const (
	DefaultQuarantineAfter   = 5
	DefaultQuarantine        = 8 * time.Hour
	DefaultLockAfter         = 3
	DefaultRevokeAfter       = 5
	DefaultNewCardAt         = 20
	DefaultStepValidity      = 10 * time.Minute
	DefaultTemporaryPassword = 14 * 24 * time.Hour
)

func (l *Limits) setDefaults() error {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defD := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&l.QuarantineAfter, DefaultQuarantineAfter)
	def(&l.LockAfter, DefaultLockAfter)
	def(&l.RevokeAfter, DefaultRevokeAfter)
	def(&l.NewCardAt, DefaultNewCardAt)
	defD(&l.Quarantine, DefaultQuarantine)
	defD(&l.StepValidity, DefaultStepValidity)
	defD(&l.TemporaryPassword, DefaultTemporaryPassword)
	switch {
	case l.QuarantineAfter < 1 || l.LockAfter < 1 || l.RevokeAfter < 1:
		return errors.New("auth: the lock-out thresholds must be at least 1")
	case l.QuarantineAfter > 100 || l.LockAfter > 100 || l.RevokeAfter > 100:
		// NIST SP 800-63B 5.2.2: at most 100 consecutive failed attempts.
		return errors.New("auth: the lock-out thresholds must be at most 100 (NIST SP 800-63B)")
	case l.NewCardAt < 0 || l.NewCardAt >= KeysPerCard:
		return fmt.Errorf("auth: NewCardAt %d: want 0 to %d", l.NewCardAt, KeysPerCard-1)
	case l.Quarantine < 0 || l.StepValidity < 0 || l.TemporaryPassword < 0:
		return errors.New("auth: durations must not be negative")
	}
	return nil
}

// Config configures a Service.
type Config struct {
	Store store.AuthStore
	// MasterKey seals the key under which codes and temporary passwords
	// are MACed (see secrets.go).
	MasterKey keys.MasterKey
	Mailer    Mailer
	// Audit receives security events; nil: none are recorded.
	Audit Auditor
	// Argon2 are the parameters of new password hashes; zero: DefaultArgon2.
	Argon2 Argon2Params
	// MaxConcurrentHashes bounds the Argon2id computations running at once
	// (each takes Argon2.Memory); 0: GOMAXPROCS.
	MaxConcurrentHashes int
	Limits              Limits
	// Keys, if set, checks passwords by unlocking the user's key (the key
	// vault), so that a logon derives from the password once; users
	// without a key, and every Service without Keys, are checked against
	// the password hash.
	Keys  KeyPasswords
	Clock clock.Clock  // default clock.Real
	Log   *slog.Logger // default: discard
}

// KeyPasswords checks a password where it unlocks the user's private key
// (internal/keyvault through internal/registration). What the password
// unlocked comes back in Flow.Unlocked, so that the signature at the end
// of the logon needs no second Argon2id derivation.
type KeyPasswords interface {
	// Unlock returns what password unlocks for the user, ok false for a
	// wrong password, or ErrNoKey when the user has no key.
	Unlock(ctx context.Context, userID int64, password string) (unlocked []byte, ok bool, err error)
	// Burn costs what an Unlock costs, for a password that cannot match
	// (so that an unknown user-id costs what a known one does).
	Burn(ctx context.Context, password string) error
}

// ErrNoKey is KeyPasswords' answer for a user without a key: the password
// hash decides.
var ErrNoKey = errors.New("auth: the user has no key to check the password with")

// Service is the authentication domain. It is safe for concurrent use, and
// many Services (in many processes) may share one store.
type Service struct {
	st     store.AuthStore
	mailer Mailer
	audit  Auditor
	hasher *Hasher
	limits Limits
	clock  clock.Clock
	log    *slog.Logger
	macKey []byte
	keys   KeyPasswords
	// dummyHash is checked for unknown user-ids, so that they cost what a
	// wrong password costs.
	dummyHash string
}

// New checks cfg, loads (or, on the installation's first start, makes) the
// MAC key, and returns the service.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.MasterKey == nil || cfg.Mailer == nil {
		return nil, errors.New("auth: Store, MasterKey and Mailer are required")
	}
	if err := cfg.Limits.setDefaults(); err != nil {
		return nil, err
	}
	if cfg.Argon2 == (Argon2Params{}) {
		cfg.Argon2 = DefaultArgon2
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	hasher, err := NewHasher(cfg.Argon2, cfg.MaxConcurrentHashes)
	if err != nil {
		return nil, err
	}
	macKey, err := InstallationSecret(ctx, cfg.Store, cfg.MasterKey, macKeyName, cfg.Clock.Now())
	if err != nil {
		return nil, err
	}
	dummy, err := randomDigits(18)
	if err != nil {
		return nil, err
	}
	dummyHash, err := hasher.Hash(ctx, dummy)
	if err != nil {
		return nil, err
	}
	return &Service{
		st: cfg.Store, mailer: cfg.Mailer, audit: cfg.Audit, hasher: hasher, limits: cfg.Limits,
		clock: cfg.Clock, log: cfg.Log, macKey: macKey, dummyHash: dummyHash, keys: cfg.Keys,
	}, nil
}

// record sends an event to the auditor. A failure is logged, not
// returned: the change it describes has been committed already, and the
// caller must learn what happened to it.
func (s *Service) record(ctx context.Context, e AuditEvent) {
	if s.audit == nil {
		return
	}
	if e.At.IsZero() {
		e.At = s.clock.Now()
	}
	if err := s.audit.Record(ctx, e); err != nil {
		s.log.Error("auth: audit event not recorded", "action", e.Action, "nemid", e.NemID, "outcome", e.Outcome, "err", err)
	}
}

// recordResult records an operation on a user with the outcome err gives.
func (s *Service) recordResult(ctx context.Context, actor Actor, action string, u store.User, err error, detail string) {
	e := AuditEvent{Actor: actor, Action: action, UserID: u.ID, NemID: u.NemID, Detail: detail}
	e.Outcome, e.Code = outcome(err)
	if e.Detail == "" && e.Outcome != OutcomeSuccess && e.Code == "" {
		var ue *UserError
		if errors.As(err, &ue) {
			e.Detail = ue.ID
		} else {
			e.Detail = "error"
		}
	}
	s.record(ctx, e)
}

// outcome classifies the result of an operation for the audit log.
func outcome(err error) (string, ooapi.Code) {
	if err == nil {
		return OutcomeSuccess, ""
	}
	if code, ok := CodeOf(err); ok {
		switch code {
		case ooapi.LOCK001, ooapi.LOCK002, ooapi.LOCK003, ooapi.CAN001, ooapi.CAN002:
			return OutcomeFailure, code
		}
		return OutcomeRefused, code
	}
	if errors.Is(err, ErrTooManyAttempts) {
		return OutcomeRefused, ""
	}
	return OutcomeFailure, ""
}

// recordStateChanges audits the state changes the system made by itself
// (lock-outs, the end of a quarantine); those an operation makes are
// audited as that operation.
func (s *Service) recordStateChanges(ctx context.Context, u store.User, events []store.UserEvent) {
	for _, e := range events {
		if Actor(e.Actor) != ActorSystem {
			continue
		}
		action := ActionUnlock
		switch e.To {
		case StateQuarantined:
			action = ActionQuarantine
		case StateLocked, StateRevoked:
			action = ActionLock
		}
		s.record(ctx, AuditEvent{At: e.At, Actor: ActorSystem, Action: action, UserID: u.ID, NemID: u.NemID,
			Outcome: OutcomeSuccess, Detail: fmt.Sprintf("%s -> %s: %s", e.From, e.To, e.Reason)})
	}
}

// withoutCancel gives clean-up work its own deadline, so that a caller
// that went away cannot leave a counted attempt or a withdrawn secret
// half undone.
func withoutCancel(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
}

// resumeState is the state a user returns to from a quarantine, a lock or
// a block: active if they have a personal password, else awaiting
// activation.
func resumeState(u store.User) State {
	if u.PasswordHash == "" {
		return StateAwaitingActivation
	}
	return StateActive
}

// stateRefusal is the refusal a user's state gives every logon step, or
// nil. A blocked NemID answers AUTH005, whose text is NemID's "Dit NemID
// er spærret" (NemID had no code of its own for a block).
func stateRefusal(u store.User, now time.Time) error {
	switch u.State {
	case StateBlocked:
		return refuse(ooapi.AUTH005, "the NemID is blocked by the "+u.BlockedBy)
	case StateLocked:
		return refuse(ooapi.AUTH005, "the NemID is locked after too many wrong passwords")
	case StateRevoked:
		return refuse(ooapi.AUTH007, "the password and key card are revoked after too many wrong codes")
	case StateQuarantined:
		if now.Before(u.QuarantinedUntil) {
			return refuse(ooapi.AUTH004, "the NemID is quarantined")
		}
	}
	return nil
}

// setState moves the user to a new state and returns the event recording it.
func setState(u *store.User, to State, at time.Time, actor Actor, reason string) store.UserEvent {
	from := u.State
	u.State = to
	if to != StateQuarantined {
		u.QuarantinedUntil = time.Time{}
	}
	if to != StateBlocked {
		u.BlockedBy = ""
	}
	u.StateReason = reason
	return store.UserEvent{UserID: u.ID, At: at, From: from, To: to, Actor: string(actor), Reason: reason}
}

// PurgeFlows deletes the logon flows that expired more than olderThan
// ago (a finished or abandoned flow is of no use after its expiry).
func (s *Service) PurgeFlows(ctx context.Context, olderThan time.Duration) (int64, error) {
	return s.st.DeleteLogonFlows(ctx, s.clock.Now().Add(-olderThan))
}
