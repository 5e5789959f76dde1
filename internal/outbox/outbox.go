// Package outbox delivers what NemID sends its users — letters by post and
// text messages by SMS — through a [Channel].
//
// The built-in channels, [SimulatedPost] and [SimulatedSMS], are SIMULATED:
// they send nothing. They keep every message in the database for the
// operator to read (`nemid outbox list`, `nemid outbox show`), which is
// how a test installation hands out temporary passwords and key cards. A
// real post or SMS adapter implements Channel and takes their place; the
// code that sends does not change.
//
// A message holds secrets by nature (a temporary password, the codes of a
// key card), so the outbox seals each body and attachment under the
// operator's master key (AES-256-GCM, see keys.MasterKey) before it
// reaches the database: a copy of the database alone reveals no code. The
// seal's additional data binds the message's ID and everything a listing
// shows of it (kind, user, recipient, subject, time), so a sealed body
// moved to another message, or a message whose listing was edited in the
// database, no longer opens. Nothing in this package logs a message or
// puts its body into an error.
package outbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nemid-dk/nemid/internal/ca/keys"
	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/store"
)

// Kind is how a message travels.
type Kind string

// The two kinds of message.
const (
	Post Kind = store.OutboxPost
	SMS  Kind = store.OutboxSMS
)

// Message is one message to a user.
type Message struct {
	// Kind is Post or SMS; empty means the kind of the channel it is sent through.
	Kind Kind
	// User is the user the message is for; the outbox lists messages by it.
	User string
	// To is where the message goes: for post the recipient's name and
	// postal address, one line each, separated by "\n"; for SMS a phone
	// number, 8 to 15 digits with an optional leading "+".
	To string
	// Subject names the message in listings, so it must hold no secret.
	// Required for post, optional for SMS.
	Subject string
	// Body is the text: the letter's words, or the SMS. It may hold secrets.
	Body string
	// Attachment is a PDF (post only), e.g. the printed letter; nil for none.
	Attachment []byte
	// CreatedAt is when the message was sent; Send sets it from its clock
	// when it is zero. Stored to the microsecond.
	CreatedAt time.Time
}

// Channel delivers messages of one kind.
type Channel interface {
	// Name says which channel this is, for the operator and for logs.
	Name() string
	// Send delivers m, or hands it to the delivery service, and returns
	// the message's ID.
	Send(ctx context.Context, m Message) (id string, err error)
}

// Limits on what a message may hold.
const (
	MaxBody       = 64 << 10
	MaxAttachment = 10 << 20
	maxLine       = 200 // a subject, a user, a line of an address
)

// Outbox is where the simulated channels keep what they "send", and
// where the operator reads it.
type Outbox struct {
	store store.OutboxStore
	key   keys.MasterKey
	clock clock.Clock
}

// New returns the outbox kept in st, sealing under key. A nil clock means
// the system clock.
func New(st store.OutboxStore, key keys.MasterKey, c clock.Clock) (*Outbox, error) {
	switch {
	case st == nil:
		return nil, errors.New("outbox: no store")
	case key == nil:
		return nil, errors.New("outbox: no master key: the outbox keeps secrets only sealed")
	}
	if c == nil {
		c = clock.Real{}
	}
	return &Outbox{store: st, key: key, clock: c}, nil
}

// Post returns the simulated post channel of this outbox.
func (o *Outbox) Post() *SimulatedPost { return &SimulatedPost{o} }

// SMS returns the simulated SMS channel of this outbox.
func (o *Outbox) SMS() *SimulatedSMS { return &SimulatedSMS{o} }

// SimulatedPost is the SIMULATED post channel: it prints nothing and posts
// nothing, but keeps each letter in the outbox.
type SimulatedPost struct{ o *Outbox }

// SimulatedSMS is the SIMULATED SMS channel: it sends nothing, but keeps
// each text message in the outbox.
type SimulatedSMS struct{ o *Outbox }

var (
	_ Channel = (*SimulatedPost)(nil)
	_ Channel = (*SimulatedSMS)(nil)
)

// Name implements Channel.
func (*SimulatedPost) Name() string {
	return "SIMULATED post (nothing is posted: letters are kept in the outbox)"
}

// Name implements Channel.
func (*SimulatedSMS) Name() string {
	return "SIMULATED SMS (nothing is sent: messages are kept in the outbox)"
}

// Send keeps the letter in the outbox and returns its ID.
func (p *SimulatedPost) Send(ctx context.Context, m Message) (string, error) {
	return p.o.keep(ctx, Post, m)
}

// Send keeps the text message in the outbox and returns its ID.
func (s *SimulatedSMS) Send(ctx context.Context, m Message) (string, error) {
	return s.o.keep(ctx, SMS, m)
}

// keep validates, seals and stores one message.
func (o *Outbox) keep(ctx context.Context, kind Kind, m Message) (string, error) {
	if m.Kind == "" {
		m.Kind = kind
	}
	if m.Kind != kind {
		return "", fmt.Errorf("outbox: a %s message cannot go by %s", m.Kind, kind)
	}
	// A collision of 64 random bits will not happen; if the store ever
	// reports one, a fresh ID (and fresh seals) is the answer.
	for range 3 {
		sm, err := o.Prepare(m)
		if err != nil {
			return "", err
		}
		err = o.store.InsertOutboxMessage(ctx, sm)
		if errors.Is(err, store.ErrDuplicate) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("outbox: keeping the %s message: %w", kind, err)
		}
		return sm.ID, nil
	}
	return "", errors.New("outbox: no free message ID after 3 tries")
}

// Prepare validates m (its Kind must be set), gives it an ID and seals it,
// and returns it as the store keeps it, without storing it: the caller
// stores it in its own transaction with what the message belongs to (a
// registration stores its letters with the user). m.CreatedAt defaults to
// now.
func (o *Outbox) Prepare(m Message) (store.OutboxMessage, error) {
	if m.Kind == "" {
		return store.OutboxMessage{}, fmt.Errorf("outbox: the message has no kind: want %q or %q", Post, SMS)
	}
	if err := m.validate(); err != nil {
		return store.OutboxMessage{}, fmt.Errorf("outbox: %s: %w", m.Kind, err)
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = o.clock.Now()
	}
	// As the store keeps it, so that the seals bind what is stored.
	m.CreatedAt = m.CreatedAt.Truncate(time.Microsecond).UTC()
	id, err := newID()
	if err != nil {
		return store.OutboxMessage{}, err
	}
	return o.seal(id, m)
}

func newID() (string, error) {
	var b [store.OutboxIDLength / 2]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("outbox: reading a random message ID: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// phoneRE is a phone number as an SMS gateway takes it.
var phoneRE = regexp.MustCompile(`^\+?[0-9]{8,15}$`)

// validate checks a message. Its errors name the field, never the body.
func (m Message) validate() error {
	if err := oneLine("the user", m.User, true); err != nil {
		return err
	}
	switch m.Kind {
	case Post:
		if m.To == "" {
			return errors.New("no recipient address")
		}
		for i, line := range strings.Split(m.To, "\n") {
			if err := oneLine(fmt.Sprintf("line %d of the recipient address", i+1), line, true); err != nil {
				return err
			}
		}
		if m.Subject == "" {
			return errors.New("a letter needs a subject")
		}
		if m.Attachment != nil && !bytes.HasPrefix(m.Attachment, []byte("%PDF-")) {
			return errors.New("the attachment is not a PDF")
		}
		if len(m.Attachment) > MaxAttachment {
			return fmt.Errorf("the attachment is %d bytes; at most %d are kept", len(m.Attachment), MaxAttachment)
		}
	case SMS:
		if !phoneRE.MatchString(m.To) {
			return fmt.Errorf("the phone number %q is not 8 to 15 digits with an optional leading +", m.To)
		}
		if m.Attachment != nil {
			return errors.New("an SMS has no attachment")
		}
	default:
		return fmt.Errorf("unknown kind %q: want %q or %q", m.Kind, Post, SMS)
	}
	if err := oneLine("the subject", m.Subject, false); err != nil {
		return err
	}
	switch {
	case m.Body == "":
		return errors.New("the body is empty")
	case len(m.Body) > MaxBody:
		return fmt.Errorf("the body is %d bytes; at most %d are kept", len(m.Body), MaxBody)
	case !utf8.ValidString(m.Body):
		return errors.New("the body is not valid UTF-8")
	}
	return nil
}

// oneLine checks a short single line of text: valid UTF-8, printable, not
// too long, no surrounding spaces.
func oneLine(what, s string, required bool) error {
	switch {
	case s == "" && required:
		return fmt.Errorf("%s is empty", what)
	case !utf8.ValidString(s):
		return fmt.Errorf("%s is not valid UTF-8", what)
	case utf8.RuneCountInString(s) > maxLine:
		return fmt.Errorf("%s is longer than %d characters", what, maxLine)
	case strings.TrimSpace(s) != s:
		return fmt.Errorf("%s has surrounding spaces", what)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("%s contains the unprintable character %U", what, r)
		}
	}
	return nil
}

// sealPurpose separates the outbox's seals from every other use of the
// master key (CA keys, the key vault).
const sealPurpose = "nemid outbox v1\x00"

// Parts of a message that are sealed, each under its own additional data.
const (
	partBody       = "body"
	partAttachment = "attachment"
)

// additionalData binds a sealed part to its message: the part, the ID, and
// everything a listing shows, each length-prefixed so that no two
// messages encode alike.
func additionalData(part string, m store.OutboxMessage) []byte {
	ad := []byte(sealPurpose)
	for _, f := range []string{part, m.ID, m.Kind, m.User, m.To, m.Subject} {
		ad = binary.BigEndian.AppendUint32(ad, uint32(len(f)))
		ad = append(ad, f...)
	}
	return binary.BigEndian.AppendUint64(ad, uint64(m.CreatedAt.UnixMicro()))
}

// seal makes the stored form of m under the ID id.
func (o *Outbox) seal(id string, m Message) (store.OutboxMessage, error) {
	sm := store.OutboxMessage{
		ID: id, Kind: string(m.Kind), User: m.User, To: m.To, Subject: m.Subject, CreatedAt: m.CreatedAt,
	}
	var err error
	sm.SealedBody, err = o.key.Seal([]byte(m.Body), additionalData(partBody, sm))
	if err != nil {
		return store.OutboxMessage{}, fmt.Errorf("outbox: sealing the message: %w", err)
	}
	if m.Attachment != nil {
		sm.SealedAttachment, err = o.key.Seal(m.Attachment, additionalData(partAttachment, sm))
		if err != nil {
			return store.OutboxMessage{}, fmt.Errorf("outbox: sealing the attachment: %w", err)
		}
		sm.HasAttachment = true
	}
	return sm, nil
}

// Summary is what a listing shows of a message: everything but the body
// and the attachment.
type Summary struct {
	ID            string
	Kind          Kind
	User          string
	To            string
	Subject       string
	HasAttachment bool
	CreatedAt     time.Time
}

// Filter selects messages for List. Zero values select everything.
type Filter struct {
	// User selects the messages for one user.
	User string
	// Limit caps the number of messages (the newest); 0 means no limit.
	Limit int
}

// List returns the messages the filter selects, newest first. It opens no
// seal: a listing shows no secret.
func (o *Outbox) List(ctx context.Context, f Filter) ([]Summary, error) {
	if f.Limit < 0 {
		return nil, fmt.Errorf("outbox: limit %d: must not be negative", f.Limit)
	}
	ms, err := o.store.OutboxMessages(ctx, store.OutboxFilter{User: f.User, Limit: f.Limit})
	if err != nil {
		return nil, fmt.Errorf("outbox: list: %w", err)
	}
	out := make([]Summary, len(ms))
	for i, m := range ms {
		out[i] = Summary{ID: m.ID, Kind: Kind(m.Kind), User: m.User, To: m.To, Subject: m.Subject,
			HasAttachment: m.HasAttachment, CreatedAt: m.CreatedAt}
	}
	return out, nil
}

// ErrUnreadable is returned by Show when a message's seal does not open:
// the message was changed in the database, or the outbox's master key is
// not the one it was sealed under.
var ErrUnreadable = errors.New("outbox: the message does not open: it was changed in the database, or sealed under another master key")

// Sent is a message as the outbox keeps it, opened.
type Sent struct {
	ID string
	Message
}

// Show opens one message, body and attachment. It returns an error
// wrapping store.ErrNotFound for an unknown ID, and one wrapping
// ErrUnreadable (with no part of the message) when a seal does not open.
func (o *Outbox) Show(ctx context.Context, id string) (Sent, error) {
	if !store.ValidOutboxID(id) {
		return Sent{}, fmt.Errorf("outbox: %q is not a message ID (%d hexadecimal digits): %w", id, store.OutboxIDLength, store.ErrNotFound)
	}
	sm, err := o.store.OutboxMessage(ctx, id)
	if err != nil {
		return Sent{}, fmt.Errorf("outbox: message %s: %w", id, err)
	}
	body, err := o.key.Open(sm.SealedBody, additionalData(partBody, sm))
	if err != nil {
		return Sent{}, fmt.Errorf("outbox: message %s: body: %w (%w)", id, ErrUnreadable, err)
	}
	var attachment []byte
	if sm.SealedAttachment != nil {
		attachment, err = o.key.Open(sm.SealedAttachment, additionalData(partAttachment, sm))
		if err != nil {
			return Sent{}, fmt.Errorf("outbox: message %s: attachment: %w (%w)", id, ErrUnreadable, err)
		}
	}
	return Sent{ID: sm.ID, Message: Message{
		Kind: Kind(sm.Kind), User: sm.User, To: sm.To, Subject: sm.Subject,
		Body: string(body), Attachment: attachment, CreatedAt: sm.CreatedAt,
	}}, nil
}
