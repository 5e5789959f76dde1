package auth

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"time"

	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/ooapi"
)

// Step is what a logon flow waits for next.
type Step string

// The steps of a logon.
const (
	// StepOTP: the code of the key KeyNumber on card CardNumber (AnswerOTP).
	StepOTP Step = "otp"
	// StepActivate: the first personal password, after a logon with a
	// temporary password (Activate).
	StepActivate Step = "activate"
	// StepDone: the user is authenticated with two factors.
	StepDone Step = "done"
)

// Flow is a logon in progress, as its caller sees it. Its state is in the
// store; ID is what the caller keeps to continue it (a bearer secret: the
// store holds only its hash).
type Flow struct {
	ID   string
	Step Step
	// CardNumber and KeyNumber are the challenge, at StepOTP.
	CardNumber, KeyNumber string
	// Activation: the logon began with a temporary password, so the code
	// is followed by StepActivate.
	Activation bool
	// ExpiresAt is when the flow stops waiting for the next step.
	ExpiresAt time.Time
	// User is the user, after the key-card code (StepActivate, StepDone).
	User *User
	// Unlocked is what the password unlocked (Config.Keys), from
	// StartLogon; nil without Keys. As secret as the password: the caller
	// keeps it for the logon's signature only, and never in clear where
	// the operator can read it.
	Unlocked []byte
}

// maxPasswordInput is the longest password a logon reads, in bytes: 40
// characters of at most 4 bytes. Anything longer cannot match any user's
// password, so it is refused before any user is looked up.
const maxPasswordInput = 4 * MaxPasswordLength

// StartLogon checks a user-id and a password. On success the flow asks
// for a key of the user's key card (StepOTP); with a temporary password
// the flow goes on to activation after the code.
//
// An unknown user-id and a wrong password give the same answer,
// ErrInvalidCredentials, after the same work (two committed writes and one
// Argon2id computation).
// Wrong passwords count: QuarantineAfter in a row quarantine the NemID
// (LOCK001, then AUTH004), LockAfter more after a quarantine lock it
// (LOCK002, then AUTH005). While as many attempts as the user has left are
// being checked, another is refused unchecked (ErrTooManyAttempts). A
// blocked NemID is AUTH005, a revoked password AUTH007, a used or expired
// temporary password AUTH008, no key left and no next card AUTH006.
func (s *Service) StartLogon(ctx context.Context, userID, password string) (*Flow, error) {
	if len(password) > maxPasswordInput {
		return nil, ErrInvalidCredentials
	}
	u, err := s.resolve(ctx, userID)
	if errors.Is(err, ErrUnknownUser) {
		if err := s.decoyAttempt(ctx, password); err != nil {
			return nil, err
		}
		s.record(ctx, AuditEvent{Actor: ActorSystem, Action: ActionLogonAttempt, Outcome: OutcomeFailure, Detail: "unknown user-id"})
		return nil, ErrInvalidCredentials
	}
	if err != nil {
		return nil, err
	}
	flow, err := s.startLogon(ctx, u, password)
	s.recordResult(ctx, UserActor(u.NemID), ActionLogonAttempt, u, err, "")
	return flow, err
}

func (s *Service) startLogon(ctx context.Context, u store.User, password string) (*Flow, error) {
	c, err := s.claimPasswordAttempt(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	ok, rehash, unlocked, err := s.checkClaimed(ctx, c, password)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, s.wrongPassword(ctx, c)
	}
	flow, err := s.passwordAccepted(ctx, c)
	if err != nil {
		clear(unlocked)
		return nil, err
	}
	flow.Unlocked = unlocked
	if rehash {
		s.rehash(ctx, c.user, password)
	}
	return flow, nil
}

// passwordAccepted settles an admitted attempt whose password was right:
// the wrong ones before it are forgiven, a temporary password is used up,
// and the flow is stored with a challenge from the key card.
func (s *Service) passwordAccepted(ctx context.Context, c claim) (*Flow, error) {
	var (
		result  error
		flow    *Flow
		ordered *KeyCard
	)
	now := s.clock.Now()
	err := s.withFreshNumbers(ctx, func() error {
		return s.st.UpdateAuth(ctx, func(tx store.AuthTx) error {
			result, flow, ordered = nil, nil, nil
			u, err := tx.LockUser(c.user.ID)
			if err != nil {
				return err
			}
			u = settled(u)
			if result = stateRefusal(u, now); result == nil && !sameCredential(u, c.user) {
				result = ErrInvalidCredentials
			}
			if result != nil {
				return tx.UpdateUser(u)
			}
			u.PasswordFailures, u.AfterQuarantine = 0, false
			activation := u.State == StateAwaitingActivation
			if activation {
				if !u.TempUsedAt.IsZero() || !now.Before(u.TempExpiresAt) {
					result = refuse(ooapi.AUTH008, "the temporary password is used or expired")
					return tx.UpdateUser(u)
				}
				u.TempUsedAt = now
			}
			ch, err := s.challenge(tx, u, now)
			if err != nil {
				return err
			}
			if ch.refusal != nil {
				result = ch.refusal
				return tx.UpdateUser(u)
			}
			ordered = ch.ordered
			u.ChallengeSeq++
			if err := tx.UpdateUser(u); err != nil {
				return err
			}
			id, idHash := newFlowID()
			f := store.LogonFlow{IDHash: idHash, UserID: u.ID, Step: store.FlowOTP, Activation: activation,
				Card: ch.card, Key: ch.key, ChallengeSeq: u.ChallengeSeq, CreatedAt: now, ExpiresAt: now.Add(s.limits.StepValidity)}
			if err := tx.InsertLogonFlow(f); err != nil {
				return err
			}
			flow = &Flow{ID: id, Step: StepOTP, CardNumber: ch.card, KeyNumber: ch.key, ExpiresAt: f.ExpiresAt, Activation: activation}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	if ordered != nil {
		// A failed letter revokes the card again (logged); the logon goes on.
		_ = s.deliverKeyCard(ctx, c.user, ordered, ActorSystem)
	}
	return flow, result
}

// challenge is the key a logon asks for, or why there is none.
type challenge struct {
	card, key string
	// ordered is a new next card ordered by this challenge, in clear, for
	// its letter.
	ordered *KeyCard
	refusal error
}

// challenge picks a random key never asked for from the user's current
// card and marks it asked for: every key is asked for once, and never
// again. A used-up current card gives way to the next card. When the
// challenge leaves NewCardAt keys and no next card exists, one is ordered.
func (s *Service) challenge(tx store.AuthTx, u store.User, now time.Time) (challenge, error) {
	cards, err := tx.KeyCards(u.ID)
	if err != nil {
		return challenge{}, err
	}
	var current, next *store.KeyCard
	for i := range cards {
		switch cards[i].Status {
		case store.CardCurrent:
			current = &cards[i]
		case store.CardNext:
			next = &cards[i]
		}
	}
	if current != nil && current.Remaining == 0 {
		current.Status, current.FinishedAt = store.CardSpent, now
		if err := tx.UpdateKeyCard(*current); err != nil {
			return challenge{}, err
		}
		current = nil
	}
	if current == nil {
		if next == nil {
			return challenge{refusal: refuse(ooapi.AUTH006, "no key left and no next card")}, nil
		}
		next.Status = store.CardCurrent
		if err := tx.UpdateKeyCard(*next); err != nil {
			return challenge{}, err
		}
		current, next = next, nil
	}
	keys, err := tx.UnchallengedKeys(current.Number)
	if err != nil {
		return challenge{}, err
	}
	if len(keys) == 0 {
		return challenge{}, fmt.Errorf("auth: card %s has no key left though the store counted %d", current.Number, current.Remaining)
	}
	i, err := randomBelow(len(keys))
	if err != nil {
		return challenge{}, err
	}
	ch := challenge{card: current.Number, key: keys[i]}
	if err := tx.ChallengeKey(ch.card, ch.key, now); err != nil {
		return challenge{}, err
	}
	if current.ActivatedAt.IsZero() {
		current.ActivatedAt = now
		if err := tx.UpdateKeyCard(*current); err != nil {
			return challenge{}, err
		}
	}
	if left := len(keys) - 1; left <= s.limits.NewCardAt && next == nil {
		ch.ordered, err = s.insertNextCard(tx, u.ID, now, fmt.Sprintf("ordered automatically: %d keys left on card %s", left, current.Number))
		if err != nil {
			return challenge{}, err
		}
	}
	return ch, nil
}

// rehash re-makes a password hash whose parameters are below the current
// ones, now that the password is known to be right. It replaces the hash
// only if it is still the one checked; a failure leaves the old hash.
func (s *Service) rehash(ctx context.Context, u store.User, password string) {
	ctx, cancel := withoutCancel(ctx)
	defer cancel()
	fresh, err := s.hasher.Hash(ctx, password)
	if err == nil {
		err = s.st.UpdateAuth(ctx, func(tx store.AuthTx) error {
			now, err := tx.LockUser(u.ID)
			if err != nil || now.PasswordHash != u.PasswordHash {
				return err
			}
			now.PasswordHash = fresh
			return tx.UpdateUser(now)
		})
	}
	if err != nil {
		s.log.Warn("auth: could not re-hash a password with the current parameters", "nemid", u.NemID, "err", err)
	}
}

// AnswerOTP checks the code the user typed for the key the flow asked for,
// in one transaction: each wrong code counts against the card, and
// RevokeAfter wrong codes in a row revoke the card and the password
// (LOCK003, then AUTH007). A flow that is not the user's latest challenge,
// or was answered already, is AUTH010; an expired one AUTH012; an unknown
// flow SRV006. On success the flow is done, or (after a temporary password)
// waits for the personal password.
func (s *Service) AnswerOTP(ctx context.Context, flowID, keyNumber, code string) (*Flow, error) {
	idHash := flowIDHash(flowID)
	f0, err := s.st.LogonFlow(ctx, idHash)
	if errors.Is(err, store.ErrNotFound) {
		return nil, refuse(ooapi.SRV006, "no such logon flow")
	}
	if err != nil {
		return nil, err
	}
	var (
		result error
		out    *Flow
		user   store.User
		events []store.UserEvent
		card   string
	)
	now := s.clock.Now()
	err = s.st.UpdateAuth(ctx, func(tx store.AuthTx) error {
		result, out, events, card = nil, nil, nil, ""
		u, err := tx.LockUser(f0.UserID)
		if err != nil {
			return err
		}
		user = u
		f, err := tx.LockLogonFlow(idHash)
		if err != nil {
			return err
		}
		if result = answerRefusal(u, f, keyNumber, now); result != nil {
			return nil
		}
		cards, err := tx.KeyCards(u.ID)
		if err != nil {
			return err
		}
		var c *store.KeyCard
		for i := range cards {
			if cards[i].Number == f.Card && cards[i].Status == store.CardCurrent {
				c = &cards[i]
			}
		}
		if c == nil {
			result = refuse(ooapi.AUTH010, "the challenged card is no longer the current one")
			return nil
		}
		want, err := tx.KeyCodeMAC(f.Card, f.Key)
		if err != nil {
			return err
		}
		if !hmac.Equal(codeMAC(s.macKey, f.Card, f.Key, code), want) {
			c.Failures++
			if c.Failures < s.limits.RevokeAfter {
				result = ErrWrongCode
				return tx.UpdateKeyCard(*c)
			}
			reason := fmt.Sprintf("%d wrong codes", c.Failures)
			c.Status, c.FinishedAt, c.Reason = store.CardRevoked, now, reason
			if err := tx.UpdateKeyCard(*c); err != nil {
				return err
			}
			events = append(events, setState(&u, StateRevoked, now, ActorSystem, reason+" for key card "+c.Number))
			if err := s.writeUser(tx, u, events); err != nil {
				return err
			}
			f.Step = store.FlowFailed
			card, result = c.Number, refuse(ooapi.LOCK003, "too many wrong codes")
			return tx.UpdateLogonFlow(f)
		}
		c.Failures = 0
		if err := tx.UpdateKeyCard(*c); err != nil {
			return err
		}
		f.Step, f.ExpiresAt = store.FlowDone, now.Add(s.limits.StepValidity)
		step := StepDone
		if f.Activation {
			f.Step, step = store.FlowActivate, StepActivate
		}
		if err := tx.UpdateLogonFlow(f); err != nil {
			return err
		}
		view := userFromStore(u)
		out = &Flow{ID: flowID, Step: step, ExpiresAt: f.ExpiresAt, User: &view}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.recordResult(ctx, UserActor(user.NemID), ActionOTPUse, user, result, "key "+f0.Key+" of card "+f0.Card)
	if card != "" {
		s.recordResult(ctx, ActorSystem, ActionKeycardRevoked, user, nil, "card "+card+": too many wrong codes")
	}
	s.recordStateChanges(ctx, user, events)
	return out, result
}

// answerRefusal is why a code for flow f cannot be checked, or nil.
func answerRefusal(u store.User, f store.LogonFlow, keyNumber string, now time.Time) error {
	if err := stateRefusal(u, now); err != nil {
		return err
	}
	switch {
	case f.Step != store.FlowOTP:
		return refuse(ooapi.AUTH010, "the challenge was answered or given up already")
	case f.ChallengeSeq != u.ChallengeSeq:
		return refuse(ooapi.AUTH010, "a newer challenge was given to the user")
	case keyNumber != f.Key:
		return refuse(ooapi.AUTH010, "the answer is for another key than the one asked for")
	case !now.Before(f.ExpiresAt):
		return refuse(ooapi.AUTH012, "the challenge expired")
	}
	return nil
}
