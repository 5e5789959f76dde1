package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nemid-dk/nemid/internal/store"
)

// keyRecords are the store's records of a card's keys: the number and the
// MAC of the code.
func (s *Service) keyRecords(card *KeyCard) []store.KeyCardKey {
	out := make([]store.KeyCardKey, len(card.Keys))
	for i, k := range card.Keys {
		out[i] = store.KeyCardKey{Number: k.Number, CodeMAC: codeMAC(s.macKey, card.Number, k.Number, k.Code)}
	}
	return out
}

// insertNextCard makes a new card and stores it as the user's next card.
func (s *Service) insertNextCard(tx store.AuthTx, userID int64, now time.Time, reason string) (*KeyCard, error) {
	card, err := NewKeyCard()
	if err != nil {
		return nil, err
	}
	rec := store.KeyCard{Number: card.Number, UserID: userID, Status: store.CardNext, IssuedAt: now, Reason: reason}
	if err := tx.InsertKeyCard(rec, s.keyRecords(card)); err != nil {
		return nil, err
	}
	return card, nil
}

// withFreshNumbers runs f again, a few times, when a random NemID number
// or card number it drew was taken: a collision is rare, but with millions
// of users not negligible, and f draws new numbers each time.
func (s *Service) withFreshNumbers(ctx context.Context, f func() error) error {
	var err error
	for range 5 {
		err = f()
		if !errors.Is(err, store.ErrNemIDNumberTaken) && !errors.Is(err, store.ErrCardNumberTaken) {
			return err
		}
		if ctx.Err() != nil {
			return err
		}
	}
	return err
}

// deliverKeyCard queues the letter with a new card. If the letter cannot
// be queued, the card is revoked again: nobody will ever hold its codes.
func (s *Service) deliverKeyCard(ctx context.Context, u store.User, card *KeyCard, actor Actor) error {
	defer card.Wipe()
	err := s.mailer.KeyCardLetter(ctx, userFromStore(u), card)
	if err == nil {
		s.recordResult(ctx, actor, ActionKeycardIssued, u, nil, "card "+card.Number)
		return nil
	}
	s.log.Error("auth: the letter with a new key card could not be queued; revoking the card", "nemid", u.NemID, "card", card.Number, "err", err)
	if werr := s.revokeCard(ctx, u.ID, card.Number, "its letter could not be queued"); werr != nil {
		s.log.Error("auth: could not revoke a key card without a letter", "nemid", u.NemID, "card", card.Number, "err", werr)
	}
	s.recordResult(ctx, actor, ActionKeycardIssued, u, err, "card "+card.Number+": the letter could not be queued; the card is revoked")
	return fmt.Errorf("%w: %w", ErrLetter, err)
}

// revokeCard revokes one card of the user, if it is current or next.
func (s *Service) revokeCard(ctx context.Context, userID int64, number, reason string) error {
	ctx, cancel := withoutCancel(ctx)
	defer cancel()
	now := s.clock.Now()
	return s.st.UpdateAuth(ctx, func(tx store.AuthTx) error {
		if _, err := tx.LockUser(userID); err != nil {
			return err
		}
		cards, err := tx.KeyCards(userID)
		if err != nil {
			return err
		}
		for _, c := range cards {
			if c.Number == number && (c.Status == store.CardCurrent || c.Status == store.CardNext) {
				c.Status, c.FinishedAt, c.Reason = store.CardRevoked, now, reason
				return tx.UpdateKeyCard(c)
			}
		}
		return nil
	})
}

// IssueKeyCard makes a new key card for the user (an operator's order, or
// the user's own in self-service) and queues its letter. The new card is
// the user's next card: it replaces a next card on its way (revoked), and
// becomes current when the current card is used up, or at once when
// revokeCurrent revokes the current card (a lost card). The card is
// returned in clear, once, for printing; the store keeps no code.
func (s *Service) IssueKeyCard(ctx context.Context, actor Actor, userID string, revokeCurrent bool, reason string) (*KeyCard, error) {
	if !actor.valid() {
		return nil, fmt.Errorf("auth: issue key card: actor %q: want system, user:… or operator:…", actor)
	}
	if err := checkReason(reason); err != nil {
		return nil, err
	}
	u, err := s.resolve(ctx, userID)
	if err != nil {
		return nil, err
	}
	var (
		card    *KeyCard
		revoked []string
	)
	now := s.clock.Now()
	err = s.withFreshNumbers(ctx, func() error {
		return s.st.UpdateAuth(ctx, func(tx store.AuthTx) error {
			card, revoked = nil, nil
			locked, err := tx.LockUser(u.ID)
			if err != nil {
				return err
			}
			if locked.State == StateBlocked {
				return fmt.Errorf("%w: the NemID is blocked; unblock it first", ErrNotAllowed)
			}
			cards, err := tx.KeyCards(u.ID)
			if err != nil {
				return err
			}
			for _, c := range cards {
				why := ""
				switch {
				case c.Status == store.CardNext:
					why = "replaced by a newer card"
				case c.Status == store.CardCurrent && revokeCurrent:
					why = "revoked when a new card was issued: " + reason
				default:
					continue
				}
				c.Status, c.FinishedAt, c.Reason = store.CardRevoked, now, why
				if err := tx.UpdateKeyCard(c); err != nil {
					return err
				}
				revoked = append(revoked, c.Number)
			}
			card, err = s.insertNextCard(tx, u.ID, now, reason)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	for _, n := range revoked {
		s.recordResult(ctx, actor, ActionKeycardRevoked, u, nil, "card "+n)
	}
	clearCard := &KeyCard{Number: card.Number, Keys: append([]Key(nil), card.Keys...)}
	if err := s.deliverKeyCard(ctx, u, card, actor); err != nil {
		return nil, err
	}
	return clearCard, nil
}
