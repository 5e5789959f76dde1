package outbox_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/ca/keys"
	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/letters"
	"github.com/nemid-dk/nemid/internal/outbox"
	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/internal/store/storetest"
)

var t0 = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

// engine opens a fresh store on one back-end, and the same database
// directly, to read and edit the rows as someone with a copy of the
// database (and nothing else) could.
type engine struct {
	name string
	open func(t *testing.T) (store.Store, rawDB)
}

var engines = []engine{
	{"sqlite", func(t *testing.T) (store.Store, rawDB) {
		dir := t.TempDir()
		return openStore(t, "", dir), rawDB{openRaw(t, "sqlite", filepath.Join(dir, store.DefaultFile)), false}
	}},
	{"postgres", func(t *testing.T) (store.Store, rawDB) {
		url := storetest.NewPostgresSchema(t)
		return openStore(t, url, ""), rawDB{openRaw(t, "pgx", url), true}
	}},
}

// rawDB is a direct connection to a store's database.
type rawDB struct {
	db *sql.DB
	// dollar: the engine's placeholders are $1, $2, … (PostgreSQL), not "?".
	dollar bool
}

func (r rawDB) rebind(q string) string {
	if !r.dollar {
		return q
	}
	n := 0
	var b strings.Builder
	for _, c := range q {
		if c == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

func openStore(t *testing.T, database, dir string) store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), database, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openRaw(t *testing.T, driver, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func forEachEngine(t *testing.T, f func(t *testing.T, s store.Store, raw rawDB)) {
	storetest.RequirePostgres(t)
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			s, raw := e.open(t)
			f(t, s, raw)
		})
	}
}

func masterKey(t *testing.T) keys.MasterKey {
	t.Helper()
	path := filepath.Join(t.TempDir(), "master.key")
	if err := keys.CreateMasterKeyFile(path); err != nil {
		t.Fatal(err)
	}
	mk, err := keys.LoadMasterKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mk.Close() })
	return mk
}

func newOutbox(t *testing.T, s store.Store, mk keys.MasterKey) *outbox.Outbox {
	t.Helper()
	o, err := outbox.New(s, mk, clock.NewFrozen(t0))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

const (
	nemIDNumber = "384920175"
	password    = "604815"
)

var recipient = letters.Recipient{Name: "Åse Ørsted Æbelø", AddressLines: []string{"Vestergade 12, 2. th.", "8000 Aarhus C"}}

// welcomeLetter is the real welcome letter as a post message.
func welcomeLetter(t *testing.T) outbox.Message {
	t.Helper()
	doc, err := letters.Letter{To: recipient, Date: t0}.TemporaryPassword(letters.TemporaryPassword{
		NemIDNumber: nemIDNumber, Password: password, ValidUntil: t0.Add(14 * 24 * time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	return outbox.Message{
		User:       nemIDNumber,
		To:         strings.Join(append([]string{recipient.Name}, recipient.AddressLines...), "\n"),
		Subject:    doc.Subject,
		Body:       doc.Text,
		Attachment: doc.PDF,
	}
}

func sms(user, body string) outbox.Message {
	return outbox.Message{User: user, To: "+4512345678", Subject: "Engangskode", Body: body}
}

func send(t *testing.T, c outbox.Channel, m outbox.Message) string {
	t.Helper()
	id, err := c.Send(context.Background(), m)
	if err != nil {
		t.Fatalf("%s: Send: %v", c.Name(), err)
	}
	if !store.ValidOutboxID(id) {
		t.Fatalf("Send returned the ID %q", id)
	}
	return id
}

func TestSendListShow(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s store.Store, _ rawDB) {
		ctx := context.Background()
		clk := clock.NewFrozen(t0)
		o, err := outbox.New(s, masterKey(t), clk)
		if err != nil {
			t.Fatal(err)
		}
		letter := welcomeLetter(t)
		letterID := send(t, o.Post(), letter)
		smsID := send(t, o.SMS(), sms(nemIDNumber, "Din kode er 123456"))
		clk.Advance(time.Minute)
		otherID := send(t, o.SMS(), sms("111222333", "Hej"))

		got, err := o.Show(ctx, letterID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != letterID || got.Kind != outbox.Post || got.User != letter.User || got.To != letter.To ||
			got.Subject != letter.Subject || got.Body != letter.Body || !bytes.Equal(got.Attachment, letter.Attachment) ||
			!got.CreatedAt.Equal(t0) {
			t.Errorf("Show returned another letter than was sent: %+v", got.Message)
		}
		got, err = o.Show(ctx, smsID)
		if err != nil || got.Kind != outbox.SMS || got.Body != "Din kode er 123456" || got.Attachment != nil {
			t.Errorf("Show(SMS) = %+v, %v", got.Message, err)
		}

		list, err := o.List(ctx, outbox.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range list {
			ids = append(ids, m.ID)
		}
		// Newest first; the two of one moment, the later sent first.
		if want := []string{otherID, smsID, letterID}; fmt.Sprint(ids) != fmt.Sprint(want) {
			t.Errorf("List = %v, want %v (newest first)", ids, want)
		}
		if l := list[2]; l.Kind != outbox.Post || !l.HasAttachment || l.Subject != letter.Subject || l.To != letter.To || l.User != nemIDNumber {
			t.Errorf("the letter's summary: %+v", l)
		}
		if l := list[1]; l.Kind != outbox.SMS || l.HasAttachment {
			t.Errorf("the SMS's summary: %+v", l)
		}
		mine, err := o.List(ctx, outbox.Filter{User: nemIDNumber, Limit: 1})
		if err != nil || len(mine) != 1 || mine[0].ID != smsID {
			t.Errorf("List(user, limit 1) = %+v, %v; want the SMS", mine, err)
		}

		_, err = o.Show(ctx, "0123456789abcdef")
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Show(unknown) err = %v, want ErrNotFound", err)
		}
		_, err = o.Show(ctx, "../../etc/passwd")
		if !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "not a message ID") {
			t.Errorf("Show(malformed) err = %v", err)
		}
	})
}

// TestSealedAtRest reads the rows as a copy of the database shows them:
// no body, password, NemID number in the body, nor any of the PDF is there in clear.
func TestSealedAtRest(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s store.Store, raw rawDB) {
		o := newOutbox(t, s, masterKey(t))
		letter := welcomeLetter(t)
		id := send(t, o.Post(), letter)
		var body, attachment []byte
		if err := raw.db.QueryRow(raw.rebind(`SELECT body, attachment FROM outbox WHERE id = ?`), id).Scan(&body, &attachment); err != nil {
			t.Fatal(err)
		}
		for what, clear := range map[string][]byte{
			"the password":          []byte(password),
			"the body's first line": []byte(strings.SplitN(letter.Body, "\n", 2)[0]),
			"the PDF header":        []byte("%PDF-"),
			"the PDF's fonts":       []byte("DejaVu"),
		} {
			if bytes.Contains(body, clear) || bytes.Contains(attachment, clear) {
				t.Errorf("the stored message shows %s in clear", what)
			}
		}
		if len(body) < len(letter.Body) || len(attachment) < len(letter.Attachment) {
			t.Errorf("stored parts are shorter than the message (%d < %d or %d < %d)", len(body), len(letter.Body), len(attachment), len(letter.Attachment))
		}
	})
}

// TestTampering edits the database as an intruder would: every change to a
// sealed part, or to what a listing shows of a message, stops it from
// opening — and Show then returns nothing of it.
func TestTampering(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s store.Store, raw rawDB) {
		ctx := context.Background()
		o := newOutbox(t, s, masterKey(t))
		for _, c := range []struct {
			name string
			edit func(t *testing.T, id, other string)
		}{
			{"a flipped bit in the body", func(t *testing.T, id, _ string) { flipBit(t, raw, id, "body", 40) }},
			{"a flipped bit in the attachment", func(t *testing.T, id, _ string) { flipBit(t, raw, id, "attachment", 1000) }},
			{"a flipped bit in the seal's header", func(t *testing.T, id, _ string) { flipBit(t, raw, id, "body", 0) }},
			{"the body of another message", func(t *testing.T, id, other string) {
				exec(t, raw, `UPDATE outbox SET body = (SELECT body FROM outbox WHERE id = ?) WHERE id = ?`, other, id)
			}},
			{"another subject", func(t *testing.T, id, _ string) {
				exec(t, raw, `UPDATE outbox SET subject = ? WHERE id = ?`, "Nyhedsbrev", id)
			}},
			{"another recipient", func(t *testing.T, id, _ string) {
				exec(t, raw, `UPDATE outbox SET recipient = ? WHERE id = ?`, "Mallory\nHovedgaden 1\n1000 København K", id)
			}},
			{"another user", func(t *testing.T, id, _ string) {
				exec(t, raw, `UPDATE outbox SET user_id = ? WHERE id = ?`, "999999999", id)
			}},
			{"another time", func(t *testing.T, id, _ string) {
				exec(t, raw, `UPDATE outbox SET created_at = created_at + 1 WHERE id = ?`, id)
			}},
		} {
			t.Run(c.name, func(t *testing.T) {
				id := send(t, o.Post(), welcomeLetter(t))
				other := send(t, o.Post(), welcomeLetter(t))
				if _, err := o.Show(ctx, id); err != nil {
					t.Fatalf("before the edit: %v", err)
				}
				c.edit(t, id, other)
				got, err := o.Show(ctx, id)
				if !errors.Is(err, outbox.ErrUnreadable) || !errors.Is(err, keys.ErrUnsealFailed) {
					t.Fatalf("after the edit: err = %v, want ErrUnreadable", err)
				}
				if got.Body != "" || got.Attachment != nil || got.ID != "" {
					t.Errorf("Show returned part of a tampered message: %+v", got)
				}
				if strings.Contains(err.Error(), password) {
					t.Errorf("the error shows the password: %v", err)
				}
				if _, err := o.Show(ctx, other); err != nil {
					t.Errorf("the untouched message no longer opens: %v", err)
				}
			})
		}
	})
}

func exec(t *testing.T, raw rawDB, q string, args ...any) {
	t.Helper()
	res, err := raw.db.Exec(raw.rebind(q), args...)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("%s changed %d rows", q, n)
	}
}

// flipBit flips the lowest bit of byte at (counted from the start) of a stored column.
func flipBit(t *testing.T, raw rawDB, id, column string, at int) {
	t.Helper()
	var b []byte
	if err := raw.db.QueryRow(raw.rebind(`SELECT `+column+` FROM outbox WHERE id = ?`), id).Scan(&b); err != nil {
		t.Fatal(err)
	}
	if at >= len(b) {
		t.Fatalf("%s has only %d bytes", column, len(b))
	}
	b[at] ^= 1
	exec(t, raw, `UPDATE outbox SET `+column+` = ? WHERE id = ?`, b, id)
}

// TestOtherMasterKey: with the database but another master key, nothing
// opens; listing, which needs no key, still works.
func TestOtherMasterKey(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s store.Store, _ rawDB) {
		ctx := context.Background()
		id := send(t, newOutbox(t, s, masterKey(t)).Post(), welcomeLetter(t))
		stranger := newOutbox(t, s, masterKey(t))
		got, err := stranger.Show(ctx, id)
		if !errors.Is(err, outbox.ErrUnreadable) || got.Body != "" {
			t.Errorf("Show under another master key: %+v, %v; want ErrUnreadable", got, err)
		}
		list, err := stranger.List(ctx, outbox.Filter{})
		if err != nil || len(list) != 1 || list[0].ID != id {
			t.Errorf("List under another master key = %+v, %v", list, err)
		}
	})
}

// TestInvalidMessages: a wrong message is refused with an error naming
// the field — never quoting the body — and nothing is stored.
func TestInvalidMessages(t *testing.T) {
	s := storetest.OpenSQLite(t)
	o := newOutbox(t, s, masterKey(t))
	const secretBody = "Din midlertidige adgangskode er 604815"
	text := func(edit func(m *outbox.Message)) outbox.Message {
		m := sms("384920175", secretBody)
		edit(&m)
		return m
	}
	cases := []struct {
		name    string
		channel outbox.Channel
		m       outbox.Message
		want    string
	}{
		{"SMS through the post", o.Post(), text(func(m *outbox.Message) { m.Kind = outbox.SMS }), "a sms message cannot go by post"},
		{"letter as SMS", o.SMS(), text(func(m *outbox.Message) { m.Kind = outbox.Post }), "a post message cannot go by sms"},
		{"unknown kind", o.SMS(), text(func(m *outbox.Message) { m.Kind = "fax" }), "cannot go by sms"},
		{"no user", o.SMS(), text(func(m *outbox.Message) { m.User = "" }), "the user is empty"},
		{"user with newline", o.SMS(), text(func(m *outbox.Message) { m.User = "a\nb" }), "unprintable character U+000A"},
		{"phone number too short", o.SMS(), text(func(m *outbox.Message) { m.To = "1234567" }), "is not 8 to 15 digits"},
		{"phone number with letters", o.SMS(), text(func(m *outbox.Message) { m.To = "+45 1234 5678" }), "is not 8 to 15 digits"},
		{"SMS with attachment", o.SMS(), text(func(m *outbox.Message) { m.Attachment = []byte("%PDF-1.3") }), "an SMS has no attachment"},
		{"empty body", o.SMS(), text(func(m *outbox.Message) { m.Body = "" }), "the body is empty"},
		{"body too long", o.SMS(), text(func(m *outbox.Message) { m.Body = strings.Repeat("x", outbox.MaxBody+1) }), "at most 65536"},
		{"body not UTF-8", o.SMS(), text(func(m *outbox.Message) { m.Body = secretBody + "\xff" }), "not valid UTF-8"},
		{"subject of two lines", o.SMS(), text(func(m *outbox.Message) { m.Subject = "a\nb" }), "the subject contains the unprintable"},
		{"letter without address", o.Post(), letterWith(func(m *outbox.Message) { m.To = "" }), "no recipient address"},
		{"address with an empty line", o.Post(), letterWith(func(m *outbox.Message) { m.To = "Åse\n\n8000 Aarhus C" }), "line 2 of the recipient address is empty"},
		{"letter without subject", o.Post(), letterWith(func(m *outbox.Message) { m.Subject = "" }), "a letter needs a subject"},
		{"attachment not a PDF", o.Post(), letterWith(func(m *outbox.Message) { m.Attachment = []byte("<html>") }), "the attachment is not a PDF"},
		{"empty attachment", o.Post(), letterWith(func(m *outbox.Message) { m.Attachment = []byte{} }), "the attachment is not a PDF"},
		{"attachment too large", o.Post(), letterWith(func(m *outbox.Message) {
			m.Attachment = append([]byte("%PDF-"), make([]byte, outbox.MaxAttachment)...)
		}), "at most 10485760"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.channel.Send(context.Background(), c.m)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one containing %q", err, c.want)
			}
			if strings.Contains(err.Error(), "604815") {
				t.Errorf("the error quotes the body: %v", err)
			}
		})
	}
	if list, err := o.List(context.Background(), outbox.Filter{}); err != nil || len(list) != 0 {
		t.Errorf("refused messages were kept: %v, %v", list, err)
	}
	if _, err := o.List(context.Background(), outbox.Filter{Limit: -1}); err == nil {
		t.Error("List(Limit: -1): no error")
	}
}

func letterWith(edit func(m *outbox.Message)) outbox.Message {
	m := outbox.Message{User: "384920175", To: "Åse Ørsted\n8000 Aarhus C", Subject: "Brev",
		Body: "Din midlertidige adgangskode er 604815", Attachment: []byte("%PDF-1.3 …")}
	edit(&m)
	return m
}

func TestNew(t *testing.T) {
	s := storetest.OpenSQLite(t)
	if _, err := outbox.New(s, nil, nil); err == nil || !strings.Contains(err.Error(), "no master key") {
		t.Errorf("New without a master key: %v", err)
	}
	if _, err := outbox.New(nil, masterKey(t), nil); err == nil {
		t.Error("New without a store: no error")
	}
	o, err := outbox.New(s, masterKey(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Without a clock the real one stamps the message.
	before := time.Now().Add(-time.Second)
	id := send(t, o.SMS(), sms("384920175", "Hej"))
	got, err := o.Show(context.Background(), id)
	if err != nil || got.CreatedAt.Before(before) || got.CreatedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("CreatedAt = %v, %v; want now", got.CreatedAt, err)
	}
}

// TestChannelNames: the simulated channels say so wherever they are named.
func TestChannelNames(t *testing.T) {
	o := newOutbox(t, storetest.OpenSQLite(t), masterKey(t))
	for _, c := range []outbox.Channel{o.Post(), o.SMS()} {
		if !strings.HasPrefix(c.Name(), "SIMULATED ") {
			t.Errorf("channel name %q does not say it is simulated", c.Name())
		}
	}
}

// TestPrepare: a prepared message is sealed but not stored; stored by its
// caller, it lists and opens like a sent one. Invalid messages are refused.
func TestPrepare(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s store.Store, _ rawDB) {
		o := newOutbox(t, s, masterKey(t))
		ctx := context.Background()
		m := welcomeLetter(t)
		m.Kind = outbox.Post
		sm, err := o.Prepare(m)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(sm.SealedBody, []byte(m.Body)) || !store.ValidOutboxID(sm.ID) {
			t.Fatalf("prepared message: ID %q, body in clear", sm.ID)
		}
		if list, err := o.List(ctx, outbox.Filter{}); err != nil || len(list) != 0 {
			t.Fatalf("Prepare stored the message: %v, %v", list, err)
		}
		if err := s.InsertOutboxMessage(ctx, sm); err != nil {
			t.Fatal(err)
		}
		got, err := o.Show(ctx, sm.ID)
		if err != nil || got.Body != m.Body || !bytes.Equal(got.Attachment, m.Attachment) {
			t.Fatalf("Show of a prepared message: %v", err)
		}
		if _, err := o.Prepare(letterWith(func(m *outbox.Message) { m.Kind, m.Subject = outbox.Post, "" })); err == nil {
			t.Error("Prepare accepted a letter without a subject")
		}
		if _, err := o.Prepare(letterWith(func(m *outbox.Message) { m.Kind = "" })); err == nil {
			t.Error("Prepare accepted a message without a kind")
		}
	})
}
