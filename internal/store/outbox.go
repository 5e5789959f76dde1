package store

// The outbox of the simulated post and SMS channels (internal/outbox):
// messages as sent, their secret parts sealed by the caller.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// OutboxStore keeps the messages of the simulated delivery channels. It
// stores what it is given and never sees a secret in clear: the outbox
// seals each body and attachment under the operator's master key first.
type OutboxStore interface {
	// InsertOutboxMessage stores a new message. It returns ErrDuplicate,
	// changing nothing, when a message with that ID exists.
	InsertOutboxMessage(ctx context.Context, m OutboxMessage) error
	// OutboxMessage returns the message with that ID, sealed parts
	// included, or ErrNotFound.
	OutboxMessage(ctx context.Context, id string) (OutboxMessage, error)
	// OutboxMessages lists messages newest first (by CreatedAt; among
	// equal times, the later stored first), without their sealed parts.
	OutboxMessages(ctx context.Context, f OutboxFilter) ([]OutboxMessage, error)
}

// Outbox message kinds: the two simulated channels.
const (
	OutboxPost = "post"
	OutboxSMS  = "sms"
)

// OutboxIDLength is the length of a message ID: 16 lower-case hexadecimal
// digits (64 random bits).
const OutboxIDLength = 16

// OutboxMessage is one message as the outbox stores it.
type OutboxMessage struct {
	// ID is chosen by the caller before sealing, so that the seals can
	// bind it: OutboxIDLength lower-case hexadecimal digits.
	ID string
	// Kind is OutboxPost or OutboxSMS.
	Kind string
	// User is the user the message is for.
	User string
	// To is where the message goes: a postal address (lines separated by
	// "\n") or a phone number.
	To      string
	Subject string
	// SealedBody is the message text, sealed; never empty. Empty in listings.
	SealedBody []byte
	// SealedAttachment is the attached PDF, sealed; nil when there is none,
	// and in listings.
	SealedAttachment []byte
	// HasAttachment tells whether the message has an attachment, in
	// listings too.
	HasAttachment bool
	CreatedAt     time.Time
}

// OutboxFilter selects messages for OutboxMessages. Zero values select everything.
type OutboxFilter struct {
	// User selects the messages for one user.
	User string
	// Limit caps the number of messages (the newest); 0 means no limit.
	Limit int
}

// ValidOutboxID reports whether id has the form of a message ID.
func ValidOutboxID(id string) bool {
	if len(id) != OutboxIDLength {
		return false
	}
	for _, c := range []byte(id) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func validOutboxMessage(m OutboxMessage) error {
	switch {
	case !ValidOutboxID(m.ID):
		return fmt.Errorf("ID %q: want %d lower-case hexadecimal digits", m.ID, OutboxIDLength)
	case m.Kind != OutboxPost && m.Kind != OutboxSMS:
		return fmt.Errorf("kind %q: want %q or %q", m.Kind, OutboxPost, OutboxSMS)
	case m.User == "":
		return errors.New("no user")
	case m.To == "":
		return errors.New("no recipient")
	case len(m.SealedBody) == 0:
		return errors.New("no body")
	case m.SealedAttachment != nil && len(m.SealedAttachment) == 0:
		return errors.New("an empty attachment (nil means none)")
	case m.HasAttachment != (m.SealedAttachment != nil):
		return errors.New("HasAttachment disagrees with SealedAttachment")
	case m.CreatedAt.IsZero():
		return errors.New("no time")
	}
	return nil
}

const outboxColumns = `id, kind, user_id, recipient, subject, created_at`

func (s *sqlStore) InsertOutboxMessage(ctx context.Context, m OutboxMessage) error {
	if err := validOutboxMessage(m); err != nil {
		return fmt.Errorf("store: insert outbox message: %w", err)
	}
	err := retry(ctx, s.d, func() error { return s.insertOutboxMessage(ctx, s.w, m) })
	if s.d.isUnique(err) {
		return fmt.Errorf("store: insert outbox message %s: %w", m.ID, ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("store: insert outbox message %s: %w", m.ID, err)
	}
	return nil
}

// insertOutboxMessage stores a checked message (validOutboxMessage) on a
// database or in a transaction.
func (s *sqlStore) insertOutboxMessage(ctx context.Context, ex execer, m OutboxMessage) error {
	_, err := ex.ExecContext(ctx, s.d.rebind(`INSERT INTO outbox (`+outboxColumns+`, body, attachment)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		m.ID, m.Kind, m.User, m.To, m.Subject, micros(m.CreatedAt), m.SealedBody, m.SealedAttachment)
	return err
}

func (s *sqlStore) OutboxMessage(ctx context.Context, id string) (OutboxMessage, error) {
	var (
		m       OutboxMessage
		created int64
	)
	err := s.r.QueryRowContext(ctx, s.d.rebind(`SELECT `+outboxColumns+`, body, attachment FROM outbox WHERE id = ?`), id).
		Scan(&m.ID, &m.Kind, &m.User, &m.To, &m.Subject, &created, &m.SealedBody, &m.SealedAttachment)
	if errors.Is(err, sql.ErrNoRows) {
		return OutboxMessage{}, fmt.Errorf("store: outbox message %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return OutboxMessage{}, fmt.Errorf("store: outbox message %q: %w", id, err)
	}
	m.CreatedAt = fromMicros(created)
	m.HasAttachment = m.SealedAttachment != nil
	return m, nil
}

func (s *sqlStore) OutboxMessages(ctx context.Context, f OutboxFilter) ([]OutboxMessage, error) {
	if f.Limit < 0 {
		return nil, fmt.Errorf("store: outbox messages: limit %d: must not be negative", f.Limit)
	}
	q := `SELECT ` + outboxColumns + `, attachment IS NOT NULL FROM outbox`
	var args []any
	if f.User != "" {
		q += ` WHERE user_id = ?`
		args = append(args, f.User)
	}
	q += ` ORDER BY created_at DESC, seq DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := s.r.QueryContext(ctx, s.d.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("store: outbox messages: %w", err)
	}
	defer rows.Close()
	var out []OutboxMessage
	for rows.Next() {
		var (
			m       OutboxMessage
			created int64
		)
		if err := rows.Scan(&m.ID, &m.Kind, &m.User, &m.To, &m.Subject, &created, &m.HasAttachment); err != nil {
			return nil, fmt.Errorf("store: outbox messages: %w", err)
		}
		m.CreatedAt = fromMicros(created)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: outbox messages: %w", err)
	}
	return out, nil
}
