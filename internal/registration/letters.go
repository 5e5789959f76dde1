package registration

import (
	"context"
	"strings"
	"time"

	"github.com/nemid-dk/nemid/internal/auth"
	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/letters"
	"github.com/nemid-dk/nemid/internal/outbox"
)

// mailer is auth's Mailer: it renders the letters that carry new secrets
// (internal/letters) and posts them through the outbox's post channel. A
// registration renders its two letters with the same functions, but seals
// them before its transaction and stores them in it (see Register).
type mailer struct {
	outbox *outbox.Outbox
	sender letters.Sender
	clock  clock.Clock
}

var _ auth.Mailer = (*mailer)(nil)

// KeyCardLetter implements auth.Mailer.
func (m *mailer) KeyCardLetter(ctx context.Context, to auth.User, card *auth.KeyCard) error {
	msg, err := m.keyCardLetter(to, card, m.clock.Now())
	if err != nil {
		return err
	}
	_, err = m.outbox.Post().Send(ctx, msg)
	return err
}

// TemporaryPasswordLetter implements auth.Mailer.
func (m *mailer) TemporaryPasswordLetter(ctx context.Context, to auth.User, password string, validUntil time.Time) error {
	msg, err := m.temporaryPasswordLetter(to, password, validUntil, m.clock.Now())
	if err != nil {
		return err
	}
	_, err = m.outbox.Post().Send(ctx, msg)
	return err
}

// letter is the frame of every letter to the user, dated at.
func (m *mailer) letter(to auth.User, at time.Time) letters.Letter {
	return letters.Letter{From: m.sender, To: letters.Recipient{Name: to.Name, AddressLines: to.Address}, Date: at}
}

// temporaryPasswordLetter renders the welcome letter with the NemID number
// and the temporary password, as a post message for the outbox.
func (m *mailer) temporaryPasswordLetter(to auth.User, password string, validUntil, at time.Time) (outbox.Message, error) {
	doc, err := m.letter(to, at).TemporaryPassword(letters.TemporaryPassword{
		NemIDNumber: to.NemID, Password: password, ValidUntil: validUntil,
	})
	if err != nil {
		return outbox.Message{}, err
	}
	return post(to, doc, at), nil
}

// keyCardLetter renders the letter with a key card, as a post message.
func (m *mailer) keyCardLetter(to auth.User, card *auth.KeyCard, at time.Time) (outbox.Message, error) {
	sheet := letters.KeyCardSheet{CardNumber: card.Number, Keys: make([]letters.Key, len(card.Keys))}
	for i, k := range card.Keys {
		sheet.Keys[i] = letters.Key{Number: k.Number, Code: k.Code}
	}
	doc, err := m.letter(to, at).KeyCard(sheet)
	clear(sheet.Keys)
	if err != nil {
		return outbox.Message{}, err
	}
	// The letter's text names the card; the codes follow in the card's own
	// text layout (auth's, like the developer site's), so that the body read
	// with `nemid outbox show` or `nemid keycard print` is a usable card.
	msg := post(to, doc, at)
	msg.Body += "\n" + card.Text()
	return msg, nil
}

// post is a rendered letter as the outbox keeps it: listed under the
// user's NemID number, addressed as the envelope's window shows it.
func post(to auth.User, doc letters.Document, at time.Time) outbox.Message {
	return outbox.Message{
		Kind:       outbox.Post,
		User:       to.NemID,
		To:         strings.Join(append([]string{to.Name}, to.Address...), "\n"),
		Subject:    doc.Subject,
		Body:       doc.Text,
		Attachment: doc.PDF,
		CreatedAt:  at,
	}
}
