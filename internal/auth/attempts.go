package auth

// Password attempts: each is admitted (counted as pending) before its
// password is checked, in one transaction holding the user's row, and
// settled after. So no number of parallel attempts gets more checks than
// the lock-out threshold allows, and every count is exact.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"time"

	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/ooapi"
)

// attemptLease is how long an admitted password attempt may take to be
// checked. A checker that died (a crashed process) holds its place no
// longer than this; a check that cannot get a hash slot in this time gives
// its place back and fails.
const attemptLease = time.Minute

// claim is one admitted password attempt.
type claim struct {
	// user is the user as the attempt was admitted: the credential it is
	// checked against.
	user store.User
}

// limit is the number of wrong passwords that ends the user's tries: the
// quarantine threshold, or after a quarantine the lock threshold.
func (s *Service) limit(u store.User) int {
	if u.AfterQuarantine {
		return s.limits.LockAfter
	}
	return s.limits.QuarantineAfter
}

// claimPasswordAttempt admits one password attempt, in one transaction
// that holds the user's row, before the password is checked. An attempt is
// admitted only while the wrong passwords so far plus the attempts still
// being checked are fewer than the threshold: so however many attempts run
// in parallel, no more passwords are ever checked than the threshold
// allows. One beyond that is refused unchecked with ErrTooManyAttempts (or,
// once the checks have quarantined the user, AUTH004). An ended quarantine
// is lifted here.
func (s *Service) claimPasswordAttempt(ctx context.Context, userID int64) (claim, error) {
	var (
		c      claim
		who    store.User
		result error
		events []store.UserEvent
	)
	now := s.clock.Now()
	err := s.st.UpdateAuth(ctx, func(tx store.AuthTx) error {
		c, result, events = claim{}, nil, nil
		u, err := tx.LockUser(userID)
		if err != nil {
			return err
		}
		who = u
		changed := false
		if u.State == StateQuarantined && !now.Before(u.QuarantinedUntil) {
			events = append(events, setState(&u, resumeState(u), u.QuarantinedUntil, ActorSystem, "the quarantine ended"))
			u.PasswordFailures = 0
			changed = true
		}
		if u.PasswordPending > 0 && !now.Before(u.PendingUntil) {
			u.PasswordPending, u.PendingUntil = 0, time.Time{} // their checkers died
			changed = true
		}
		if result = stateRefusal(u, now); result == nil {
			switch {
			case u.PasswordFailures >= s.limit(u):
				// Reached without the last check acting on it (the
				// thresholds were lowered since): act now.
				e, lock := s.lockOut(&u, now)
				events = append(events, e)
				result = refuse(laterCode[lock], "too many wrong passwords")
				changed = true
			case u.PasswordFailures+u.PasswordPending >= s.limit(u):
				result = ErrTooManyAttempts
			default:
				u.PasswordPending++
				u.PendingUntil = now.Add(attemptLease)
				c = claim{user: u}
				changed = true
			}
		}
		if !changed {
			return nil
		}
		return s.writeUser(tx, u, events)
	})
	if err != nil {
		return claim{}, err
	}
	s.recordStateChanges(ctx, who, events)
	return c, result
}

// laterCode is the code a lock-out gives in later sessions.
var laterCode = map[ooapi.Code]ooapi.Code{ooapi.LOCK001: ooapi.AUTH004, ooapi.LOCK002: ooapi.AUTH005}

// lockOut quarantines the user, or locks them after a quarantine, and
// returns the event and the code for the session that caused it.
func (s *Service) lockOut(u *store.User, now time.Time) (store.UserEvent, ooapi.Code) {
	u.PasswordFailures = 0
	if u.AfterQuarantine {
		return setState(u, StateLocked, now, ActorSystem,
			fmt.Sprintf("%d more wrong passwords after a quarantine", s.limits.LockAfter)), ooapi.LOCK002
	}
	e := setState(u, StateQuarantined, now, ActorSystem, fmt.Sprintf("%d wrong passwords", s.limits.QuarantineAfter))
	u.QuarantinedUntil = now.Add(s.limits.Quarantine)
	u.AfterQuarantine = true
	return e, ooapi.LOCK001
}

// writeUser updates the user and appends the events.
func (s *Service) writeUser(tx store.AuthTx, u store.User, events []store.UserEvent) error {
	if err := tx.UpdateUser(u); err != nil {
		return err
	}
	for _, e := range events {
		if err := tx.AddUserEvent(e); err != nil {
			return err
		}
	}
	return nil
}

// checkClaimed checks the password of an admitted attempt within the
// attempt's lease; if it cannot be checked, the attempt gives its place back.
func (s *Service) checkClaimed(ctx context.Context, c claim, password string) (ok, rehash bool, unlocked []byte, err error) {
	vctx, cancel := context.WithTimeout(ctx, attemptLease)
	defer cancel()
	ok, rehash, unlocked, err = s.checkPassword(vctx, c.user, password)
	if err != nil {
		s.releaseClaim(ctx, c)
	}
	return ok, rehash, unlocked, err
}

// settled is the user with one admitted attempt settled: no longer pending.
func settled(u store.User) store.User {
	u.PasswordPending = max(u.PasswordPending-1, 0)
	if u.PasswordPending == 0 {
		u.PendingUntil = time.Time{}
	}
	return u
}

// sameCredential reports whether the user's password (or temporary
// password) is still the one an attempt was checked against: a reset or a
// change in between makes the check void.
func sameCredential(u, checked store.User) bool {
	return u.State == checked.State && u.PasswordHash == checked.PasswordHash && bytes.Equal(u.TempMAC, checked.TempMAC)
}

// releaseClaim gives back the place of an attempt whose password could
// not be checked (the caller went away, or no hash slot came in time).
func (s *Service) releaseClaim(ctx context.Context, c claim) {
	ctx, cancel := withoutCancel(ctx)
	defer cancel()
	err := s.st.UpdateAuth(ctx, func(tx store.AuthTx) error {
		u, err := tx.LockUser(c.user.ID)
		if err != nil || u.PasswordPending == 0 {
			return err
		}
		return tx.UpdateUser(settled(u))
	})
	if err != nil {
		// The place is freed when the lease ends.
		s.log.Error("auth: could not give back an unchecked password attempt", "nemid", c.user.NemID, "err", err)
	}
}

// decoyAttempt does for an unknown user-id the work a wrong password
// does for a known one: a committed write, one Argon2id, another committed
// write. Without the writes an unknown user-id would answer a few
// milliseconds sooner (the commits' flushes), and the time would tell
// whether a user-id exists.
func (s *Service) decoyAttempt(ctx context.Context, password string) error {
	slot, err := randomBelow(64)
	if err != nil {
		return err
	}
	touch := func() error {
		return s.st.UpdateAuth(ctx, func(tx store.AuthTx) error { return tx.TouchDecoy(slot) })
	}
	if err := touch(); err != nil {
		return err
	}
	if err := s.burnHash(ctx, password); err != nil {
		return err
	}
	return touch()
}

// burnHash does the work of checking a password that cannot match, so
// that every attempt costs one Argon2id computation: the key vault's, when
// passwords unlock keys, else the password hash's.
func (s *Service) burnHash(ctx context.Context, password string) error {
	if s.keys != nil {
		return s.keys.Burn(ctx, password)
	}
	_, _, err := s.hasher.Verify(ctx, s.dummyHash, password)
	return err
}

// checkPassword checks the password the user logs on with: the personal
// one, or while awaiting activation the temporary one (a MAC). With Keys,
// the password is checked by unlocking the user's key, and what it
// unlocked is returned; a user without a key is checked against the hash
// (or, for a temporary password, the MAC after an Argon2id computation of
// the same cost as the others).
func (s *Service) checkPassword(ctx context.Context, u store.User, password string) (ok, rehash bool, unlocked []byte, err error) {
	temporary := u.State == StateAwaitingActivation || u.PasswordHash == ""
	if s.keys != nil {
		unlocked, ok, err := s.keys.Unlock(ctx, u.ID, password)
		switch {
		case errors.Is(err, ErrNoKey):
			// Checked below, at the same cost.
		case err != nil:
			return false, false, nil, err
		case temporary:
			// The key opens with the temporary password only while it is
			// the user's current one.
			ok = ok && u.TempMAC != nil && hmac.Equal(tempMAC(s.macKey, u.NemID, password), u.TempMAC)
			return ok, false, okOnly(ok, unlocked), nil
		default:
			return ok, false, okOnly(ok, unlocked), nil
		}
	}
	if temporary {
		if err := s.burnHash(ctx, password); err != nil {
			return false, false, nil, err
		}
		return u.TempMAC != nil && hmac.Equal(tempMAC(s.macKey, u.NemID, password), u.TempMAC), false, nil, nil
	}
	ok, rehash, err = s.hasher.Verify(ctx, u.PasswordHash, password)
	return ok, rehash, nil, err
}

// okOnly returns unlocked if ok, else wipes it.
func okOnly(ok bool, unlocked []byte) []byte {
	if ok {
		return unlocked
	}
	clear(unlocked)
	return nil
}

// wrongPassword settles an admitted attempt whose password was wrong: it
// counts, and the one that reaches the threshold quarantines (LOCK001) or,
// after a quarantine, locks (LOCK002) the user; the others answer
// ErrInvalidCredentials. A check made void by a reset or a lock-out in
// between does not count.
func (s *Service) wrongPassword(ctx context.Context, c claim) error {
	// The caller may have gone while the hash was checked: the wrong
	// password is counted all the same, or cancelling right after the check
	// would be a way to guess without being counted.
	ctx, cancel := withoutCancel(ctx)
	defer cancel()
	var (
		result error
		events []store.UserEvent
	)
	now := s.clock.Now()
	err := s.st.UpdateAuth(ctx, func(tx store.AuthTx) error {
		result, events = ErrInvalidCredentials, nil
		u, err := tx.LockUser(c.user.ID)
		if err != nil {
			return err
		}
		u = settled(u)
		if sameCredential(u, c.user) {
			u.PasswordFailures++
			if u.PasswordFailures >= s.limit(u) {
				e, lock := s.lockOut(&u, now)
				events = append(events, e)
				result = refuse(lock, "too many wrong passwords")
			}
		}
		return s.writeUser(tx, u, events)
	})
	if err != nil {
		return err
	}
	s.recordStateChanges(ctx, c.user, events)
	return result
}
