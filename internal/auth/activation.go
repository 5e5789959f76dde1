package auth

import (
	"bytes"
	"context"
	"crypto/hmac"
	"errors"
	"time"

	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/ooapi"
)

// openFlow returns the flow for a flow id as the store has it now; an
// unknown id is SRV006 (the server does not know the session).
func (s *Service) openFlow(ctx context.Context, flowID string) (store.LogonFlow, error) {
	f, err := s.st.LogonFlow(ctx, flowIDHash(flowID))
	if errors.Is(err, store.ErrNotFound) {
		return store.LogonFlow{}, refuse(ooapi.SRV006, "no such logon flow")
	}
	return f, err
}

// flowStepRefusal is why flow f cannot take the operation that needs
// step want, or nil: another step is AUTH009 (the session cannot go on:
// a step skipped or replayed), an expired flow CAN003 (timed out).
func flowStepRefusal(f store.LogonFlow, want store.FlowStep, now time.Time) error {
	switch {
	case f.Step != want:
		return refuse(ooapi.AUTH009, "the logon flow is at step "+string(f.Step)+", not "+string(want))
	case !now.Before(f.ExpiresAt):
		return refuse(ooapi.CAN003, "the logon flow timed out")
	}
	return nil
}

// hasKeyCard reports whether the user has a card to log on with: 4-digit
// passwords are for key-card users only.
func (s *Service) hasKeyCard(ctx context.Context, userID int64) (bool, error) {
	cards, err := s.st.KeyCards(ctx, userID)
	if err != nil {
		return false, err
	}
	for _, c := range cards {
		if c.Status == store.CardCurrent || c.Status == store.CardNext {
			return true, nil
		}
	}
	return false, nil
}

// Activate ends a logon begun with a temporary password: after the
// key-card code, the user chooses a personal password (and optionally an
// alias, spec 10.2). The new password must pass CheckPassword, the alias
// CheckAlias and be free (ErrAliasTaken); a broken rule changes nothing and
// the flow still waits. Then the user is active and the flow done. A flow
// at another step is AUTH009, an expired one CAN003.
//
// Activate changes auth's records alone; internal/registration activates
// with ActivateWith, re-wrapping the user's vault key in the same
// transaction.
func (s *Service) Activate(ctx context.Context, flowID, newPassword, alias string) (*Flow, error) {
	return s.activate(ctx, flowID, nil, newPassword, alias, CredentialChange{})
}

// ActivateWith is Activate with the temporary password the logon began
// with (a mismatch is ErrWrongTemporaryPassword, and changes nothing) and
// with change done as part of it: change.Prepare after every check, before
// the transaction, and change.Apply inside it.
func (s *Service) ActivateWith(ctx context.Context, flowID, temporaryPassword, newPassword, alias string, change CredentialChange) (*Flow, error) {
	return s.activate(ctx, flowID, &temporaryPassword, newPassword, alias, change)
}

// activate is Activate, checking the temporary password when one is given.
func (s *Service) activate(ctx context.Context, flowID string, temporaryPassword *string, newPassword, alias string, change CredentialChange) (*Flow, error) {
	f0, err := s.openFlow(ctx, flowID)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	if err := flowStepRefusal(f0, store.FlowActivate, now); err != nil {
		return nil, err
	}
	u0, err := s.st.User(ctx, f0.UserID)
	if err != nil {
		return nil, err
	}
	if alias != "" {
		if err := CheckAlias(alias); err != nil {
			return nil, err
		}
	}
	owner := PasswordOwner{CPR: u0.CPR, NemID: u0.NemID, Alias: u0.Alias}
	if alias != "" {
		owner.Alias = alias
	}
	if owner.HasKeyCard, err = s.hasKeyCard(ctx, u0.ID); err != nil {
		return nil, err
	}
	if err := CheckPassword(newPassword, owner); err != nil {
		return nil, err
	}
	if temporaryPassword != nil && !(u0.TempMAC != nil && hmac.Equal(tempMAC(s.macKey, u0.NemID, *temporaryPassword), u0.TempMAC)) {
		return nil, ErrWrongTemporaryPassword
	}
	hash, err := s.hasher.Hash(ctx, newPassword)
	if err != nil {
		return nil, err
	}
	if err := change.prepare(ctx, userFromStore(u0)); err != nil {
		return nil, err
	}
	var (
		result error
		out    *Flow
		events []store.UserEvent
	)
	err = s.st.UpdateAuth(ctx, func(tx store.AuthTx) error {
		result, out, events = nil, nil, nil
		u, err := tx.LockUser(f0.UserID)
		if err != nil {
			return err
		}
		f, err := tx.LockLogonFlow(f0.IDHash)
		if err != nil {
			return err
		}
		if result = stateRefusal(u, now); result == nil {
			result = flowStepRefusal(f, store.FlowActivate, now)
		}
		switch {
		case result != nil:
		case u.State != StateAwaitingActivation:
			result = refuse(ooapi.AUTH009, "the user is not awaiting activation")
		case f.ChallengeSeq != u.ChallengeSeq:
			result = refuse(ooapi.AUTH009, "the password was reset after this logon began")
		case !bytes.Equal(u.TempMAC, u0.TempMAC):
			// The temporary password checked (and the key it wraps) is no
			// longer the user's.
			result = refuse(ooapi.AUTH009, "the temporary password was changed after this logon began")
		}
		if result != nil {
			return nil
		}
		events = append(events, setState(&u, StateActive, now, UserActor(u.NemID), "activated"))
		u.PasswordHash, u.PasswordFailures, u.AfterQuarantine = hash, 0, false
		u.TempMAC, u.TempExpiresAt, u.TempUsedAt = nil, time.Time{}, time.Time{}
		if alias != "" {
			u.Alias = alias
		}
		if err := s.writeUser(tx, u, events); err != nil {
			return err
		}
		f.Step, f.ExpiresAt = store.FlowDone, now.Add(s.limits.StepValidity)
		if err := tx.UpdateLogonFlow(f); err != nil {
			return err
		}
		user := userFromStore(u)
		if err := change.apply(tx, user); err != nil {
			return err
		}
		out = &Flow{ID: flowID, Step: StepDone, ExpiresAt: f.ExpiresAt, User: &user}
		return nil
	})
	if errors.Is(err, store.ErrAliasTaken) {
		return nil, ErrAliasTaken
	}
	if err != nil {
		return nil, err
	}
	s.recordResult(ctx, UserActor(u0.NemID), ActionActivation, u0, result, "")
	return out, result
}

// CancelFlow ends a logon the user cancelled and returns the code the
// client answers the service provider with: CAN001 for a flow begun with a
// temporary password (which is used up, spec 10.2), else CAN002. A flow
// that has ended already is left as it is.
func (s *Service) CancelFlow(ctx context.Context, flowID string) (ooapi.Code, error) {
	f0, err := s.openFlow(ctx, flowID)
	if err != nil {
		return "", err
	}
	code := ooapi.CAN002
	if f0.Activation {
		code = ooapi.CAN001
	}
	var u store.User
	err = s.st.UpdateAuth(ctx, func(tx store.AuthTx) error {
		var err error
		if u, err = tx.LockUser(f0.UserID); err != nil {
			return err
		}
		f, err := tx.LockLogonFlow(f0.IDHash)
		if err != nil || (f.Step != store.FlowOTP && f.Step != store.FlowActivate) {
			return err
		}
		f.Step = store.FlowCancelled
		return tx.UpdateLogonFlow(f)
	})
	if err != nil {
		return "", err
	}
	s.recordResult(ctx, UserActor(u.NemID), ActionLogonAttempt, u, refuse(code, "cancelled"), "cancelled by the user")
	return code, nil
}

// ChangePassword changes the password of a user who has just logged on
// with two factors (flowID is a done flow, within StepValidity). The
// current password is asked again and counts like a logon attempt; the new
// one must pass CheckPassword (a broken rule changes nothing and counts
// nothing). A flow at another step is AUTH009, an expired one CAN003.
//
// ChangePassword changes auth's records alone; internal/registration
// changes passwords with ChangePasswordWith, re-wrapping the user's vault
// key in the same transaction.
func (s *Service) ChangePassword(ctx context.Context, flowID, current, newPassword string) error {
	return s.ChangePasswordWith(ctx, flowID, current, newPassword, "", CredentialChange{})
}

// ChangePasswordWith is ChangePassword with a new alias too (unless alias
// is "": it must pass CheckAlias and be free, ErrAliasTaken) and with
// change done as part of it: change.Prepare once the current password is
// verified, before the transaction, and change.Apply inside it.
func (s *Service) ChangePasswordWith(ctx context.Context, flowID, current, newPassword, alias string, change CredentialChange) error {
	f, err := s.openFlow(ctx, flowID)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	if err := flowStepRefusal(f, store.FlowDone, now); err != nil {
		return err
	}
	u, err := s.st.User(ctx, f.UserID)
	if err != nil {
		return err
	}
	if err := stateRefusal(u, now); err != nil {
		return err
	}
	if u.State != StateActive {
		return refuse(ooapi.AUTH009, "the user is not active")
	}
	owner := PasswordOwner{CPR: u.CPR, NemID: u.NemID, Alias: u.Alias}
	if alias != "" {
		if err := CheckAlias(alias); err != nil {
			return err
		}
		owner.Alias = alias
	}
	if owner.HasKeyCard, err = s.hasKeyCard(ctx, u.ID); err != nil {
		return err
	}
	if err := CheckPassword(newPassword, owner); err != nil {
		return err
	}
	err = s.changePassword(ctx, u, current, newPassword, alias, change)
	s.recordResult(ctx, UserActor(u.NemID), ActionPasswordChange, u, err, "")
	return err
}

func (s *Service) changePassword(ctx context.Context, u store.User, current, newPassword, alias string, change CredentialChange) error {
	if len(current) > maxPasswordInput {
		return ErrInvalidCredentials
	}
	c, err := s.claimPasswordAttempt(ctx, u.ID)
	if err != nil {
		return err
	}
	ok, _, unlocked, err := s.checkClaimed(ctx, c, current)
	clear(unlocked)
	if err != nil {
		return err
	}
	if !ok {
		return s.wrongPassword(ctx, c)
	}
	hash, err := s.hasher.Hash(ctx, newPassword)
	if err != nil {
		s.releaseClaim(ctx, c)
		return err
	}
	if err := change.prepare(ctx, userFromStore(c.user)); err != nil {
		s.releaseClaim(ctx, c)
		return err
	}
	var result error
	err = s.st.UpdateAuth(ctx, func(tx store.AuthTx) error {
		result = nil
		locked, err := tx.LockUser(u.ID)
		if err != nil {
			return err
		}
		locked = settled(locked)
		if result = stateRefusal(locked, s.clock.Now()); result == nil && (locked.State != StateActive || !sameCredential(locked, c.user)) {
			result = ErrInvalidCredentials // reset or changed meanwhile: the check is void
		}
		if result == nil {
			locked.PasswordFailures, locked.AfterQuarantine = 0, false
			locked.PasswordHash = hash
			if alias != "" {
				locked.Alias = alias
			}
		}
		if err := tx.UpdateUser(locked); err != nil || result != nil {
			return err
		}
		return change.apply(tx, userFromStore(locked))
	})
	if err != nil {
		// Rolled back, the settling of the attempt with it: give its place back.
		s.releaseClaim(ctx, c)
		if errors.Is(err, store.ErrAliasTaken) {
			return ErrAliasTaken
		}
		return err
	}
	return result
}

// UseFlow uses up a done logon flow for the one signature it allows (the
// logon or sign response): the flow must be done, within StepValidity,
// and its user still active. A second use is AUTH009, an expired flow
// CAN003; a user blocked, locked or quarantined meanwhile is refused with
// the code a new logon would get (AUTH004, AUTH005, AUTH007). Nothing is signed on a flow that this
// has not returned for.
func (s *Service) UseFlow(ctx context.Context, flowID string) (User, error) {
	f0, err := s.openFlow(ctx, flowID)
	if err != nil {
		return User{}, err
	}
	var u store.User
	err = s.st.UpdateAuth(ctx, func(tx store.AuthTx) error {
		var err error
		if u, err = tx.LockUser(f0.UserID); err != nil {
			return err
		}
		f, err := tx.LockLogonFlow(f0.IDHash)
		if err != nil {
			return err
		}
		now := s.clock.Now()
		if err := flowStepRefusal(f, store.FlowDone, now); err != nil {
			return err
		}
		if err := stateRefusal(u, now); err != nil {
			return err
		}
		if u.State != StateActive {
			return refuse(ooapi.AUTH009, "the user is "+string(u.State)+", not active")
		}
		f.Step = store.FlowUsed
		return tx.UpdateLogonFlow(f)
	})
	if err != nil {
		return User{}, err
	}
	return userFromStore(u), nil
}
