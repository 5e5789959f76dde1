package main_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/ca/keys"
	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/letters"
	"github.com/nemid-dk/nemid/internal/outbox"
	"github.com/nemid-dk/nemid/internal/store"
)

// outboxJSON is one entry of `nemid outbox list --json`.
type outboxJSON struct {
	ID        string    `json:"id"`
	Channel   string    `json:"channel"`
	Kind      string    `json:"kind"`
	CreatedAt time.Time `json:"created_at"`
	User      string    `json:"user"`
	To        []string  `json:"to"`
	Subject   string    `json:"subject"`
	HasPDF    bool      `json:"has_pdf"`
}

// outboxShowJSON is `nemid outbox show --json`.
type outboxShowJSON struct {
	outboxJSON
	Body     string `json:"body"`
	PDFBytes int    `json:"pdf_bytes"`
}

// sentLetters is what fillOutbox put into an installation's outbox.
type sentLetters struct {
	welcome, keyCard, sms string // message IDs
	welcomePDF            []byte
	card                  letters.KeyCardSheet
}

const (
	outboxUser     = "384920175"
	outboxPassword = "604815"
)

// fillOutbox sends, through the simulated channels and with the data
// directory's own master key, what registering a user would: the welcome
// letter, the key-card letter, and an SMS to another user.
func fillOutbox(t *testing.T, data string) sentLetters {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "", data)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	mk, err := keys.LoadMasterKeyFile(filepath.Join(data, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	defer mk.Close()
	t0 := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	clk := clock.NewFrozen(t0)
	o, err := outbox.New(st, mk, clk)
	if err != nil {
		t.Fatal(err)
	}
	to := letters.Recipient{Name: "Åse Ørsted Æbelø", AddressLines: []string{"Vestergade 12, 2. th.", "8000 Aarhus C"}}
	letter := letters.Letter{To: to, Date: t0}
	address := strings.Join(append([]string{to.Name}, to.AddressLines...), "\n")

	var sent sentLetters
	welcome, err := letter.TemporaryPassword(letters.TemporaryPassword{NemIDNumber: outboxUser, Password: outboxPassword, ValidUntil: t0.Add(14 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	sent.welcomePDF = welcome.PDF
	if sent.welcome, err = o.Post().Send(ctx, outbox.Message{User: outboxUser, To: address, Subject: welcome.Subject, Body: welcome.Text, Attachment: welcome.PDF}); err != nil {
		t.Fatal(err)
	}

	sent.card = letters.KeyCardSheet{CardNumber: "G750159724"}
	for i := range letters.KeysPerCard {
		sent.card.Keys = append(sent.card.Keys, letters.Key{Number: fmt.Sprintf("%04d", (i*7919+13)%10000), Code: fmt.Sprintf("%06d", (i*104729+271828)%1000000)})
	}
	card, err := letter.KeyCard(sent.card)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	if sent.keyCard, err = o.Post().Send(ctx, outbox.Message{User: outboxUser, To: address, Subject: card.Subject, Body: card.Text, Attachment: card.PDF}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	if sent.sms, err = o.SMS().Send(ctx, outbox.Message{User: "111222333", To: "+4512345678", Subject: "Engangskode", Body: "Din engangskode er 271828"}); err != nil {
		t.Fatal(err)
	}
	return sent
}

func TestOutbox(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	data := initialisedData(t)
	db := []string{"--data", data}

	empty := r.ok(append([]string{"outbox", "list"}, db...)...)
	if !strings.Contains(empty, "SIMULATED") || !strings.Contains(empty, "0 message(s)") {
		t.Errorf("an empty outbox lists:\n%s", empty)
	}

	sent := fillOutbox(t, data)
	secrets := []string{outboxPassword, sent.card.Keys[0].Code, sent.card.Keys[147].Code, "271828"}

	// The listing: newest first, SIMULATED, no secret.
	list := r.ok(append([]string{"outbox", "list"}, db...)...)
	if !strings.HasPrefix(list, "SIMULATED outbox") || !strings.Contains(list, "3 message(s)") {
		t.Errorf("outbox list:\n%s", list)
	}
	iSMS, iCard, iWelcome := strings.Index(list, sent.sms), strings.Index(list, sent.keyCard), strings.Index(list, sent.welcome)
	if iSMS < 0 || iCard < 0 || iWelcome < 0 || !(iSMS < iCard && iCard < iWelcome) {
		t.Errorf("outbox list is not newest first (SMS, key card, welcome):\n%s", list)
	}
	for _, want := range []string{"Din midlertidige adgangskode til NemID [PDF]", "Dit nøglekort til NemID [PDF]",
		"Åse Ørsted Æbelø, Vestergade 12, 2. th., 8000 Aarhus C", "+4512345678", "2026-03-14 09:00:00", "post", "sms"} {
		if !strings.Contains(list, want) {
			t.Errorf("outbox list lacks %q:\n%s", want, list)
		}
	}
	for _, s := range secrets {
		if strings.Contains(list, s) {
			t.Errorf("outbox list shows the secret %s:\n%s", s, list)
		}
	}

	var entries []outboxJSON
	listJSON := r.ok(append([]string{"outbox", "list", "--json", "--user", outboxUser}, db...)...)
	decodeStrict(t, "outbox list --json", listJSON, &entries)
	if len(entries) != 2 || entries[0].ID != sent.keyCard || entries[1].ID != sent.welcome {
		t.Fatalf("outbox list --user %s --json = %+v", outboxUser, entries)
	}
	if e := entries[1]; !strings.HasPrefix(e.Channel, "SIMULATED post") || e.Kind != "post" || !e.HasPDF ||
		e.User != outboxUser || strings.Join(e.To, "|") != "Åse Ørsted Æbelø|Vestergade 12, 2. th.|8000 Aarhus C" ||
		!e.CreatedAt.Equal(time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("the welcome letter in JSON: %+v", e)
	}
	for _, s := range secrets {
		if strings.Contains(listJSON, s) {
			t.Errorf("outbox list --json shows the secret %s", s)
		}
	}
	limited := r.ok(append([]string{"outbox", "list", "--limit", "1"}, db...)...)
	if !strings.Contains(limited, sent.sms) || strings.Contains(limited, sent.welcome) || !strings.Contains(limited, "1 message(s)") {
		t.Errorf("outbox list --limit 1:\n%s", limited)
	}

	// Reading a letter: the operator of the simulated channel sees the secrets.
	show := r.ok(append([]string{"outbox", "show", sent.welcome}, db...)...)
	for _, want := range []string{"SIMULATED post", sent.welcome, outboxUser, outboxPassword, "Din midlertidige adgangskode til NemID",
		"Åse Ørsted Æbelø", "8000 Aarhus C", "28. marts 2026 kl. 10.00", fmt.Sprintf("%d bytes (write it with --pdf FILE)", len(sent.welcomePDF))} {
		if !strings.Contains(show, want) {
			t.Errorf("outbox show lacks %q:\n%s", want, show)
		}
	}
	smsShow := r.ok(append([]string{"outbox", "show", sent.sms}, db...)...)
	if !strings.Contains(smsShow, "SIMULATED SMS") || !strings.Contains(smsShow, "Din engangskode er 271828") || strings.Contains(smsShow, "PDF") {
		t.Errorf("outbox show of the SMS:\n%s", smsShow)
	}
	var shown outboxShowJSON
	decodeStrict(t, "outbox show --json", r.ok(append([]string{"outbox", "show", "--json", sent.keyCard}, db...)...), &shown)
	if shown.ID != sent.keyCard || !strings.Contains(shown.Body, "G750159724") || shown.PDFBytes == 0 || !shown.HasPDF {
		t.Errorf("outbox show --json: %+v", shown)
	}

	// The PDF letters, judged by pdftotext.
	dir := t.TempDir()
	welcomeFile := filepath.Join(dir, "welcome.pdf")
	out := r.ok(append([]string{"outbox", "show", sent.welcome, "--pdf", welcomeFile}, db...)...)
	if !strings.Contains(out, "written to "+welcomeFile) {
		t.Errorf("outbox show --pdf does not say where the PDF went:\n%s", out)
	}
	got, err := os.ReadFile(welcomeFile)
	if err != nil || !bytes.Equal(got, sent.welcomePDF) {
		t.Fatalf("--pdf wrote %d bytes (%v); want the letter sent, %d bytes", len(got), err, len(sent.welcomePDF))
	}
	if fi, _ := os.Stat(welcomeFile); fi.Mode().Perm() != 0o600 {
		t.Errorf("the PDF has mode %v, want 0600 (it holds a password)", fi.Mode().Perm())
	}
	text := tool(t, "pdftotext", welcomeFile, "-")
	for _, want := range []string{outboxUser, outboxPassword, "Åse Ørsted Æbelø"} {
		if !strings.Contains(text, want) {
			t.Errorf("pdftotext does not find %q in the welcome letter", want)
		}
	}
	cardFile := filepath.Join(dir, "card.pdf")
	r.ok(append([]string{"outbox", "show", "--pdf", cardFile, sent.keyCard}, db...)...)
	cardText := tool(t, "pdftotext", "-layout", cardFile, "-")
	pairs := regexp.MustCompile(`\b(\d{4}) (\d{6})\b`).FindAllStringSubmatch(cardText, -1)
	found := map[string]string{}
	for _, p := range pairs {
		found[p[1]] = p[2]
	}
	for _, k := range sent.card.Keys {
		if found[k.Number] != k.Code {
			t.Errorf("pdftotext: key %s reads %q on the card", k.Number, found[k.Number])
		}
	}
	if len(found) != letters.KeysPerCard || !strings.Contains(cardText, "G750159724") {
		t.Errorf("pdftotext finds %d keys (want %d) and the card number: %v", len(found), letters.KeysPerCard, strings.Contains(cardText, "G750159724"))
	}

	// Refusals change nothing and say why.
	res := r.fail(append([]string{"outbox", "show", sent.keyCard, "--pdf", welcomeFile}, db...)...)
	if !strings.Contains(res.stderr, "refusing to overwrite") || res.stdout != "" {
		t.Errorf("--pdf onto an existing file:\n%s", res)
	}
	if got, _ := os.ReadFile(welcomeFile); !bytes.Equal(got, sent.welcomePDF) {
		t.Error("--pdf changed an existing file")
	}
	smsFile := filepath.Join(dir, "sms.pdf")
	res = r.fail(append([]string{"outbox", "show", sent.sms, "--pdf", smsFile}, db...)...)
	if !strings.Contains(res.stderr, "has no PDF") || strings.Contains(res.stdout+res.stderr, "271828") {
		t.Errorf("--pdf of an SMS:\n%s", res)
	}
	if _, err := os.Stat(smsFile); err == nil {
		t.Error("--pdf of an SMS left a file")
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"outbox", "show", "0123456789abcdef"}, "no message 0123456789abcdef in the outbox"},
		{[]string{"outbox", "show", "../etc/passwd"}, "is not a message ID"},
		{[]string{"outbox", "show"}, "give the message ID"},
		{[]string{"outbox", "show", sent.sms, sent.welcome}, "unexpected argument"},
		{[]string{"outbox", "list", "--limit", "-1"}, "--limit -1: must not be negative"},
		{[]string{"outbox", "list", "extra"}, "unexpected argument"},
		{[]string{"outbox", "send"}, "unknown outbox command"},
	} {
		if res := r.fail(append(c.args, db...)...); !strings.Contains(res.stderr, c.want) {
			t.Errorf("want %q:\n%s", c.want, res)
		}
	}
	if res := r.fail("outbox", "list", "--data", filepath.Join(dir, "nothing")); !strings.Contains(res.stderr, "init") {
		t.Errorf("outbox list without an installation:\n%s", res)
	}
}

// blobLiteral is a BLOB value in sqlite3's .dump output.
var blobLiteral = regexp.MustCompile(`X'[0-9A-Fa-f]*'`)

// TestOutboxSealed edits the database with the sqlite3 tool: a copy of the
// database shows no secret, a flipped bit in a sealed body is refused, and
// without the master key nothing is read.
func TestOutboxSealed(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	data := initialisedData(t)
	db := []string{"--data", data}
	sent := fillOutbox(t, data)
	file := filepath.Join(data, store.DefaultFile)

	dump := tool(t, "sqlite3", file, ".dump outbox")
	if !strings.Contains(dump, sent.welcome) {
		t.Fatalf("the dump of the outbox table lacks the message:\n%.400s", dump)
	}
	// Blobs appear in the dump as X'…' hex literals: a secret stored in a
	// blob shows there hex-encoded, one in a text column as itself. Plain
	// digits are looked for outside the blobs only, where random ciphertext
	// cannot produce them by chance.
	text := blobLiteral.ReplaceAllString(dump, "X''")
	for _, s := range []string{outboxPassword, sent.card.Keys[0].Code} {
		if strings.Contains(text, s) {
			t.Errorf("sqlite3 .dump outbox shows %q in a text column", s)
		}
	}
	for _, s := range []string{hex.EncodeToString([]byte(outboxPassword)), hex.EncodeToString([]byte(sent.card.Keys[0].Code)),
		hex.EncodeToString([]byte("%PDF-"))} {
		if strings.Contains(strings.ToLower(dump), s) {
			t.Errorf("sqlite3 .dump outbox shows %q", s)
		}
	}

	// Flip one bit in the middle of the welcome letter's sealed body.
	body := strings.TrimSpace(tool(t, "sqlite3", file, fmt.Sprintf("SELECT hex(body) FROM outbox WHERE id = '%s'", sent.welcome)))
	raw, err := hex.DecodeString(body)
	if err != nil || len(raw) < 100 {
		t.Fatalf("hex(body): %v (%d bytes)", err, len(raw))
	}
	raw[len(raw)/2] ^= 0x10
	tool(t, "sqlite3", file, fmt.Sprintf("UPDATE outbox SET body = x'%s' WHERE id = '%s'", hex.EncodeToString(raw), sent.welcome))
	res := r.fail(append([]string{"outbox", "show", sent.welcome, "--pdf", filepath.Join(t.TempDir(), "x.pdf")}, db...)...)
	if !strings.Contains(res.stderr, "changed in the database, or sealed under another master key") || res.stdout != "" ||
		strings.Contains(res.stderr, outboxPassword) {
		t.Errorf("a tampered letter:\n%s", res)
	}
	// The others still open; the listing still works.
	r.ok(append([]string{"outbox", "show", sent.keyCard}, db...)...)
	if list := r.ok(append([]string{"outbox", "list"}, db...)...); !strings.Contains(list, "3 message(s)") {
		t.Errorf("outbox list after the edit:\n%s", list)
	}

	// Another master key reads nothing.
	if err := os.Rename(filepath.Join(data, "master.key"), filepath.Join(data, "master.key.real")); err != nil {
		t.Fatal(err)
	}
	if err := keys.CreateMasterKeyFile(filepath.Join(data, "master.key")); err != nil {
		t.Fatal(err)
	}
	res = r.fail(append([]string{"outbox", "show", sent.keyCard}, db...)...)
	if !strings.Contains(res.stderr, "sealed under another master key") || strings.Contains(res.stdout, "G750159724") {
		t.Errorf("a letter under another master key:\n%s", res)
	}
	os.Remove(filepath.Join(data, "master.key"))
	res = r.fail(append([]string{"outbox", "show", sent.keyCard}, db...)...)
	if !strings.Contains(res.stderr, "no master key") {
		t.Errorf("no master key:\n%s", res)
	}
}

func TestOutboxHelp(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"-h"}, []string{"outbox ", "SIMULATED"}},
		{[]string{"outbox", "-h"}, []string{"Usage: nemid outbox", "list", "show", "SIMULATED", "real post or SMS adapter"}},
		{[]string{"outbox", "list", "-h"}, []string{"Usage: nemid outbox list", "-user", "-limit", "-json", "SIMULATED", "real post or SMS adapter"}},
		{[]string{"outbox", "show", "--help"}, []string{"Usage: nemid outbox show ID", "-pdf", "-json", "never overwritten", "SIMULATED", "real post or SMS adapter"}},
	} {
		r.help(c.args, c.want...)
	}
	if res := r.fail("outbox"); !strings.Contains(res.stderr, "no outbox command given") {
		t.Errorf("nemid outbox:\n%s", res)
	}
}
