package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nemid-dk/nemid/internal/letters"
	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/oces"
)

// Bounds of a registration's text fields, in characters.
const (
	MaxNameLength = 200
	// MaxAddressLines is what the window of a letter's envelope shows below
	// the name (letters.MaxAddressLines).
	MaxAddressLines  = letters.MaxAddressLines
	MaxAddressLength = 100
)

// Registration is what a new user is registered with.
type Registration struct {
	Name string
	// CPR is DDMMYYXXXX or DDMMYY-XXXX.
	CPR string
	// Alias is optional.
	Alias string
	// Address is the postal address for letters, one line each.
	Address []string
}

// Registered is a new user and their first secrets, in clear, returned
// once for printing; their letters are queued as well.
type Registered struct {
	User              User
	TemporaryPassword string
	ValidUntil        time.Time
	Card              *KeyCard
}

func checkText(what, s string, max int) error {
	switch {
	case strings.TrimSpace(s) == "":
		return fmt.Errorf("auth: %s is empty", what)
	case !utf8.ValidString(s):
		return fmt.Errorf("auth: %s is not valid UTF-8", what)
	case utf8.RuneCountInString(s) > max:
		return fmt.Errorf("auth: %s is longer than %d characters", what, max)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("auth: %s contains the unprintable character %U", what, r)
		}
	}
	return nil
}

// check checks a registration and brings it to the form stored: the CPR
// number without its dash, no blanks around the name and the address
// lines (a letter prints each on a line of its own).
func (r *Registration) check() error {
	r.Name = strings.TrimSpace(r.Name)
	address := make([]string, len(r.Address))
	for i, line := range r.Address {
		address[i] = strings.TrimSpace(line)
	}
	r.Address = address
	if err := checkText("the name", r.Name, MaxNameLength); err != nil {
		return err
	}
	if err := oces.ValidateCPR(r.CPR); err != nil {
		// The error of oces never shows the number.
		return fmt.Errorf("auth: %w", err)
	}
	if len(r.CPR) == 11 {
		r.CPR = r.CPR[:6] + r.CPR[7:]
	}
	if r.Alias != "" {
		if err := CheckAlias(r.Alias); err != nil {
			return err
		}
	}
	if len(r.Address) == 0 || len(r.Address) > MaxAddressLines {
		return fmt.Errorf("auth: the address must have 1 to %d lines", MaxAddressLines)
	}
	for i, line := range r.Address {
		if err := checkText(fmt.Sprintf("address line %d", i+1), line, MaxAddressLength); err != nil {
			return err
		}
	}
	return nil
}

// newTemporaryPassword returns 6 random digits and their MAC for the user.
func (s *Service) newTemporaryPassword(nemid string) (string, []byte, error) {
	pw, err := randomDigits(6)
	if err != nil {
		return "", nil, err
	}
	return pw, tempMAC(s.macKey, nemid, pw), nil
}

// PendingRegistration is a new user checked and made but not stored: the
// record the store keeps (no secret in clear in it) and the secrets in
// clear, for their letters. internal/registration stores it in one
// transaction with the user's key pair, certificate and letters.
type PendingRegistration struct {
	// Record is what the store keeps: the user, the creation event and the
	// first key card with the MACs of its codes.
	Record store.NewUser
	// TemporaryPassword is the 6-digit temporary password, working until
	// ValidUntil.
	TemporaryPassword string
	ValidUntil        time.Time
	// Card is the first key card, codes and all.
	Card *KeyCard
}

// User is the user as they will be once stored under the given ID.
func (p *PendingRegistration) User(id int64) User {
	u := userFromStore(p.Record.User)
	u.ID = id
	return u
}

// PrepareRegistration checks r and makes a new user's random NemID
// number, temporary password and first key card, recording pid (the PID of
// the POCES certificate that will be issued with them; "" for none),
// without storing anything. Call it again for new numbers when the store
// finds one taken (store.ErrNemIDNumberTaken, store.ErrCardNumberTaken).
func (s *Service) PrepareRegistration(actor Actor, r Registration, pid string) (*PendingRegistration, error) {
	if !actor.valid() {
		return nil, fmt.Errorf("auth: register: actor %q: want system, user:… or operator:…", actor)
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	nemid, err := newNemIDNumber()
	if err != nil {
		return nil, err
	}
	pw, mac, err := s.newTemporaryPassword(nemid)
	if err != nil {
		return nil, err
	}
	card, err := NewKeyCard()
	if err != nil {
		return nil, err
	}
	u := store.User{NemID: nemid, CPR: r.CPR, Alias: r.Alias, Name: r.Name, Address: r.Address, PID: pid,
		State: StateAwaitingActivation, TempMAC: mac, TempExpiresAt: now.Add(s.limits.TemporaryPassword), CreatedAt: now}
	return &PendingRegistration{
		Record: store.NewUser{
			User:  u,
			Event: store.UserEvent{At: now, To: StateAwaitingActivation, Actor: string(actor), Reason: "registered"},
			Card:  store.KeyCard{Number: card.Number, Status: store.CardCurrent, IssuedAt: now, Reason: "first card"},
			Keys:  s.keyRecords(card),
		},
		TemporaryPassword: pw, ValidUntil: u.TempExpiresAt, Card: card,
	}, nil
}

// Register creates a user with auth's credentials alone: a random NemID
// number, a temporary password and a first key card, stored with the
// creation event in one transaction, and queues the two letters. It makes
// no key pair and no certificate: a NemID is issued with
// internal/registration, which stores those with the user in one
// transaction; this is for auth's own tests and tools. If a letter cannot
// be queued, both secrets are withdrawn (the user exists; reset the
// password and issue a card). A CPR number already registered is
// ErrCPRRegistered, a taken alias ErrAliasTaken.
func (s *Service) Register(ctx context.Context, actor Actor, r Registration) (*Registered, error) {
	var (
		u    store.User
		pw   string
		card *KeyCard
	)
	err := s.withFreshNumbers(ctx, func() error {
		p, err := s.PrepareRegistration(actor, r, "")
		if err != nil {
			return err
		}
		u, pw, card = p.Record.User, p.TemporaryPassword, p.Card
		u.ID, err = s.st.CreateUser(ctx, p.Record)
		return err
	})
	switch {
	case errors.Is(err, store.ErrCPRTaken):
		return nil, ErrCPRRegistered
	case errors.Is(err, store.ErrAliasTaken):
		return nil, ErrAliasTaken
	case err != nil:
		return nil, err
	}
	s.recordResult(ctx, actor, ActionRegistration, u, nil, "")
	out := &Registered{User: userFromStore(u), TemporaryPassword: pw, ValidUntil: u.TempExpiresAt,
		Card: &KeyCard{Number: card.Number, Keys: append([]Key(nil), card.Keys...)}}
	if err := s.deliverTemporaryPassword(ctx, u, pw, actor); err != nil {
		_ = s.revokeCard(ctx, u.ID, card.Number, "the letters of the registration could not be queued")
		return nil, err
	}
	if err := s.deliverKeyCard(ctx, u, card, actor); err != nil {
		_ = s.withdrawTemporaryPassword(ctx, u.ID, u.TempMAC)
		return nil, err
	}
	return out, nil
}

// deliverTemporaryPassword queues the letter with a temporary password;
// if it cannot, the password is withdrawn.
func (s *Service) deliverTemporaryPassword(ctx context.Context, u store.User, pw string, actor Actor) error {
	err := s.mailer.TemporaryPasswordLetter(ctx, userFromStore(u), pw, u.TempExpiresAt)
	if err == nil {
		return nil
	}
	s.log.Error("auth: the letter with a temporary password could not be queued; withdrawing it", "nemid", u.NemID, "err", err)
	if werr := s.withdrawTemporaryPassword(ctx, u.ID, u.TempMAC); werr != nil {
		s.log.Error("auth: could not withdraw a temporary password without a letter", "nemid", u.NemID, "err", werr)
	}
	s.recordResult(ctx, actor, ActionPasswordReset, u, err, "the letter with the temporary password could not be queued; the password is withdrawn")
	return fmt.Errorf("%w: %w", ErrLetter, err)
}

// withdrawTemporaryPassword removes the temporary password with that MAC,
// if it is still the user's.
func (s *Service) withdrawTemporaryPassword(ctx context.Context, userID int64, mac []byte) error {
	ctx, cancel := withoutCancel(ctx)
	defer cancel()
	return s.st.UpdateAuth(ctx, func(tx store.AuthTx) error {
		u, err := tx.LockUser(userID)
		if err != nil || string(u.TempMAC) != string(mac) {
			return err
		}
		u.TempMAC, u.TempExpiresAt, u.TempUsedAt = nil, time.Time{}, time.Time{}
		return tx.UpdateUser(u)
	})
}

// ResetPassword gives the user a new temporary password (an operator's
// reset, spec 10.2) and queues its letter. Until it is used the NemID
// cannot be used otherwise: the personal password is removed, and the user
// awaits activation. A reset also ends a quarantine, a lock and a
// revocation (the revoked card stays revoked: issue a new one), and every
// logon in progress (AUTH010 at the code, AUTH009 at activation). A blocked
// NemID must be unblocked first (ErrNotAllowed). The password is returned
// in clear, once, for printing.
func (s *Service) ResetPassword(ctx context.Context, actor Actor, userID string) (string, time.Time, error) {
	return s.ResetPasswordWith(ctx, actor, userID, CredentialChange{})
}

// ResetPasswordWith is ResetPassword with change done as part of it:
// change.Prepare before the transaction, change.Apply inside it.
func (s *Service) ResetPasswordWith(ctx context.Context, actor Actor, userID string, change CredentialChange) (string, time.Time, error) {
	if !actor.valid() {
		return "", time.Time{}, fmt.Errorf("auth: reset password: actor %q: want system, user:… or operator:…", actor)
	}
	u, err := s.resolve(ctx, userID)
	if err != nil {
		return "", time.Time{}, err
	}
	pw, mac, err := s.newTemporaryPassword(u.NemID)
	if err != nil {
		return "", time.Time{}, err
	}
	if err := change.prepare(ctx, userFromStore(u)); err != nil {
		return "", time.Time{}, err
	}
	now := s.clock.Now()
	var events []store.UserEvent
	err = s.st.UpdateAuth(ctx, func(tx store.AuthTx) error {
		events = nil
		locked, err := tx.LockUser(u.ID)
		if err != nil {
			return err
		}
		if locked.State == StateBlocked {
			return fmt.Errorf("%w: the NemID is blocked; unblock it first", ErrNotAllowed)
		}
		events = append(events, setState(&locked, StateAwaitingActivation, now, actor, "password reset"))
		locked.PasswordHash, locked.PasswordFailures, locked.AfterQuarantine = "", 0, false
		// No logon begun before the reset may go on: not one at its code,
		// not an activation begun with the old temporary password.
		locked.ChallengeSeq++
		locked.TempMAC, locked.TempExpiresAt, locked.TempUsedAt = mac, now.Add(s.limits.TemporaryPassword), time.Time{}
		u = locked
		if err := s.writeUser(tx, locked, events); err != nil {
			return err
		}
		return change.apply(tx, userFromStore(locked))
	})
	if err != nil {
		return "", time.Time{}, err
	}
	s.recordResult(ctx, actor, ActionPasswordReset, u, nil, "")
	if err := s.deliverTemporaryPassword(ctx, u, pw, actor); err != nil {
		return "", time.Time{}, err
	}
	return pw, u.TempExpiresAt, nil
}

// Block blocks the NemID (spærring), by the user themself or by an
// operator as the actor says, with a reason: no logon step works until an
// operator unblocks it. Blocking a blocked NemID is ErrNotAllowed.
//
// Block changes auth's records alone; internal/registration blocks with
// BlockWith, revoking the certificate and destroying the key in the same
// transaction.
func (s *Service) Block(ctx context.Context, actor Actor, userID, reason string) error {
	return s.BlockWith(ctx, actor, userID, reason, CredentialChange{})
}

// BlockWith is Block with change done as part of it: change.Prepare before
// the transaction, change.Apply inside it.
func (s *Service) BlockWith(ctx context.Context, actor Actor, userID, reason string, change CredentialChange) error {
	return s.changeState(ctx, actor, userID, ActionBlock, change, func(u *store.User, _ []store.UserEvent, now time.Time) (store.UserEvent, error) {
		if u.State == StateBlocked {
			return store.UserEvent{}, fmt.Errorf("%w: the NemID is blocked already", ErrNotAllowed)
		}
		e := setState(u, StateBlocked, now, actor, reason)
		u.BlockedBy = actor.blockedBy()
		return e, nil
	})
}

// Unblock ends a block: the user returns to the state they had before it
// (a quarantine running then is over). Only a blocked NemID can be
// unblocked (ErrNotAllowed).
func (s *Service) Unblock(ctx context.Context, actor Actor, userID, reason string) error {
	return s.changeState(ctx, actor, userID, ActionUnblock, CredentialChange{}, func(u *store.User, events []store.UserEvent, now time.Time) (store.UserEvent, error) {
		if u.State != StateBlocked {
			return store.UserEvent{}, fmt.Errorf("%w: the NemID is not blocked", ErrNotAllowed)
		}
		back := resumeState(*u)
		for i := len(events) - 1; i >= 0; i-- {
			if events[i].To == StateBlocked {
				if from := events[i].From; from == StateLocked || from == StateRevoked {
					back = from
				}
				break
			}
		}
		return setState(u, back, now, actor, reason), nil
	})
}

// Unlock ends a quarantine or a lock before its time (an operator's
// decision after support has identified the user); the password counters
// start again. Other states are ErrNotAllowed.
func (s *Service) Unlock(ctx context.Context, actor Actor, userID, reason string) error {
	return s.changeState(ctx, actor, userID, ActionUnlock, CredentialChange{}, func(u *store.User, _ []store.UserEvent, now time.Time) (store.UserEvent, error) {
		if u.State != StateQuarantined && u.State != StateLocked {
			return store.UserEvent{}, fmt.Errorf("%w: the NemID is neither quarantined nor locked", ErrNotAllowed)
		}
		u.PasswordFailures, u.AfterQuarantine = 0, false
		return setState(u, resumeState(*u), now, actor, reason), nil
	})
}

// MaxReason is the longest reason an operator or user may give for a state
// change or a new key card, in bytes.
const MaxReason = 150

// checkReason refuses a reason the event log and the audit log cannot hold
// as written: too long, not UTF-8, or with a control character (a line
// break in a reason would otherwise be refused by the audit log after the
// change had been made, and the event lost from it).
func checkReason(reason string) error {
	switch {
	case len(reason) > MaxReason:
		return fmt.Errorf("%w: the reason is %d bytes long; at most %d are allowed", ErrInvalidReason, len(reason), MaxReason)
	case !utf8.ValidString(reason):
		return fmt.Errorf("%w: the reason is not valid UTF-8", ErrInvalidReason)
	case strings.IndexFunc(reason, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		return fmt.Errorf("%w: the reason holds a control character (write it on one line)", ErrInvalidReason)
	}
	return nil
}

// changeState runs one operator state change in a transaction holding the
// user, records its event and audits it.
func (s *Service) changeState(ctx context.Context, actor Actor, userID, action string, also CredentialChange,
	change func(u *store.User, events []store.UserEvent, now time.Time) (store.UserEvent, error)) error {
	if !actor.valid() {
		return fmt.Errorf("auth: %s: actor %q: want system, user:… or operator:…", action, actor)
	}
	u, err := s.resolve(ctx, userID)
	if err != nil {
		return err
	}
	if err := also.prepare(ctx, userFromStore(u)); err != nil {
		return err
	}
	now := s.clock.Now()
	var event store.UserEvent
	err = s.st.UpdateAuth(ctx, func(tx store.AuthTx) error {
		locked, err := tx.LockUser(u.ID)
		if err != nil {
			return err
		}
		events, err := tx.UserEvents(u.ID)
		if err != nil {
			return err
		}
		if event, err = change(&locked, events, now); err != nil {
			return err
		}
		if err := checkReason(event.Reason); err != nil {
			return err
		}
		if err := s.writeUser(tx, locked, []store.UserEvent{event}); err != nil {
			return err
		}
		return also.apply(tx, userFromStore(locked))
	})
	detail := event.Reason
	if err == nil {
		detail = fmt.Sprintf("%s -> %s: %s", event.From, event.To, event.Reason)
	}
	s.recordResult(ctx, actor, action, u, err, detail)
	return err
}
