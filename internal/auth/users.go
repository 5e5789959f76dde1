package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nemid-dk/nemid/internal/store"
)

// State is where a user is in their life cycle. The transitions
// (docs/auth.md has the table):
//
//   - awaiting_activation → active: the first logon with the temporary
//     password and a key-card code, then a personal password (Activate).
//   - active or awaiting_activation → quarantined: too many wrong
//     passwords (LOCK001); back by itself after the quarantine.
//   - → locked: too many wrong passwords after a quarantine (LOCK002).
//   - → revoked: too many wrong key-card codes (LOCK003).
//   - → blocked: by the user or the operator; Unblock goes back.
//   - any but blocked → awaiting_activation: ResetPassword (operator).
//   - quarantined or locked → back: Unlock (operator).
type State = store.UserState

// The states (see store.UserState).
const (
	StateAwaitingActivation = store.StateAwaitingActivation
	StateActive             = store.StateActive
	StateQuarantined        = store.StateQuarantined
	StateLocked             = store.StateLocked
	StateRevoked            = store.StateRevoked
	StateBlocked            = store.StateBlocked
)

// User is a user as the rest of the system sees them: no credential in it.
type User struct {
	// ID is the store's internal key (the key vault's UserID).
	ID int64
	// NemID is the 9-digit NemID number.
	NemID string
	// CPR is the CPR number (10 digits). Personal data: never log it
	// (LogValue leaves it out).
	CPR     string
	Alias   string
	Name    string
	Address []string
	State   State
	// QuarantinedUntil is set while State is StateQuarantined.
	QuarantinedUntil time.Time
	// BlockedBy is "user" or "operator" while State is StateBlocked.
	BlockedBy   string
	StateReason string
	CreatedAt   time.Time
	// PID is the person's OCES identifier in their POCES certificates
	// (without "PID:"); "" for a user registered by auth alone.
	PID string
}

// LogValue keeps the CPR number, the name and the address out of logs.
func (u User) LogValue() slog.Value {
	return slog.GroupValue(slog.String("nemid", u.NemID), slog.String("state", string(u.State)))
}

func userFromStore(u store.User) User {
	return User{
		ID: u.ID, NemID: u.NemID, CPR: u.CPR, Alias: u.Alias, Name: u.Name, Address: u.Address, State: u.State,
		QuarantinedUntil: u.QuarantinedUntil, BlockedBy: u.BlockedBy, StateReason: u.StateReason, CreatedAt: u.CreatedAt,
		PID: u.PID,
	}
}

// Actor says who caused a change, as recorded in events and the audit log.
type Actor string

// ActorSystem is the service itself (lock-outs, automatic card orders).
const ActorSystem Actor = "system"

// OperatorActor is an operator of the installation, by name.
func OperatorActor(name string) Actor { return Actor("operator:" + name) }

// UserActor is the user themself, by NemID number.
func UserActor(nemid string) Actor { return Actor("user:" + nemid) }

func (a Actor) valid() bool {
	if a == ActorSystem {
		return true
	}
	kind, name, ok := strings.Cut(string(a), ":")
	return ok && name != "" && (kind == "operator" || kind == "user")
}

// blockedBy is the users.blocked_by value for a block by this actor.
func (a Actor) blockedBy() string {
	if strings.HasPrefix(string(a), "user:") {
		return "user"
	}
	return "operator"
}

// Event is one recorded state change of a user.
type Event = store.UserEvent

// userIDKind is which of the three user-ids a logon string is.
type userIDKind int

const (
	kindNemID userIDKind = iota
	kindCPR
	kindAlias
)

// classifyUserID tells the three user-ids apart by form alone: 9 digits is
// a NemID number, 10 digits or DDMMYY-XXXX a CPR number (returned without
// the dash), anything else an alias. The alias rules keep aliases from
// looking like either number, so the forms never overlap.
func classifyUserID(s string) (userIDKind, string) {
	switch {
	case len(s) == 9 && allDigits(s):
		return kindNemID, s
	case len(s) == 10 && allDigits(s):
		return kindCPR, s
	case len(s) == 11 && s[6] == '-' && allDigits(s[:6]) && allDigits(s[7:]):
		return kindCPR, s[:6] + s[7:]
	}
	return kindAlias, s
}

// Resolve finds the user a user-id names: a NemID number, a CPR number
// (with or without the dash) or an alias (case-insensitively). Blanks
// around it are ignored. An unknown user-id is ErrUnknownUser.
func (s *Service) Resolve(ctx context.Context, userID string) (User, error) {
	u, err := s.resolve(ctx, userID)
	if err != nil {
		return User{}, err
	}
	return userFromStore(u), nil
}

func (s *Service) resolve(ctx context.Context, userID string) (store.User, error) {
	kind, id := classifyUserID(strings.TrimSpace(userID))
	var (
		u   store.User
		err error
	)
	switch kind {
	case kindNemID:
		u, err = s.st.UserByNemID(ctx, id)
	case kindCPR:
		u, err = s.st.UserByCPR(ctx, id)
	default:
		if id == "" {
			return store.User{}, ErrUnknownUser
		}
		u, err = s.st.UserByAlias(ctx, id)
	}
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, ErrUnknownUser
	}
	if err != nil {
		return store.User{}, fmt.Errorf("auth: resolving a user-id: %w", err)
	}
	return u, nil
}

// newNemIDNumber returns a random 9-digit number without a leading zero,
// from crypto/rand: numbers say nothing about when or in which order
// users were registered. Uniqueness is the store's (ErrNemIDNumberTaken:
// draw again).
func newNemIDNumber() (string, error) {
	n, err := randomBelow(900_000_000)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%09d", 100_000_000+n), nil
}

// Events returns the user's recorded state changes, oldest first.
func (s *Service) Events(ctx context.Context, userID string) ([]Event, error) {
	u, err := s.resolve(ctx, userID)
	if err != nil {
		return nil, err
	}
	return s.st.UserEvents(ctx, u.ID)
}

// KeyCardInfo is what may be shown of a key card: no code.
type KeyCardInfo = store.KeyCard

// KeyCards returns the user's key cards, oldest first.
func (s *Service) KeyCards(ctx context.Context, userID string) ([]KeyCardInfo, error) {
	u, err := s.resolve(ctx, userID)
	if err != nil {
		return nil, err
	}
	return s.st.KeyCards(ctx, u.ID)
}
