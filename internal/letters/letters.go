// Package letters renders the letters a NemID user gets by post: the welcome
// letter with the NemID number and the temporary password, and the key-card
// letter with the card itself to cut out. Each letter comes as a PDF for
// printing and as plain text with the same words (what an SMS or an
// operator's screen shows).
//
// The package renders from plain values and knows nothing of users or
// stores. A rendered letter holds secrets (a temporary password, key codes)
// by nature: callers keep it sealed (see internal/outbox) and never log it.
// Nothing in this package puts a password or a code into an error.
//
// The same input always renders to the same bytes (the PDF's creation date
// is the letter's date, and it carries no random document ID), so letters
// can be compared with golden files and re-rendered to check them.
package letters

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // letters print Danish time; the binary must not depend on the machine's zoneinfo
	"unicode"
	"unicode/utf8"
)

// DefaultSenderName is the sender printed when Sender.Name is empty.
const DefaultSenderName = "NemID"

// KeysPerCard is the number of keys on a key card (spec 10.3: 148 keys).
const KeysPerCard = 148

// Limits of what fits on the page; longer input is refused, never cut off.
const (
	// MaxAddressLines is how many lines the address may have below the
	// name: the window's address zone holds six lines in all (DIN 5008).
	MaxAddressLines = 5
	// MaxSenderAddressLines is how many lines of the sender's address the
	// letterhead prints.
	MaxSenderAddressLines = 3
)

// Sender is who the letters are from: this installation's NemID operator.
type Sender struct {
	// Name is the letterhead and the return address; empty means DefaultSenderName.
	Name string
	// AddressLines is the operator's postal address: 0 to MaxSenderAddressLines lines.
	AddressLines []string
}

// Recipient is the person a letter goes to, as the envelope's window shows it.
type Recipient struct {
	Name string
	// AddressLines is the postal address below the name: 1 to MaxAddressLines
	// lines, e.g. "Vestergade 12, 2. th." and "8000 Aarhus C".
	AddressLines []string
}

// Letter is what every letter has: who sends it, to whom, and when.
type Letter struct {
	From Sender
	To   Recipient
	// Date is the letter's date: printed in the letter (Danish time), and
	// the PDF's creation date, so the same letter renders to the same bytes.
	Date time.Time
}

// TemporaryPassword is what the welcome letter tells: the NemID number and
// the one-time temporary password to activate NemID with.
type TemporaryPassword struct {
	// NemIDNumber is the user's 9-digit NemID number.
	NemIDNumber string
	// Password is the 6-digit temporary password.
	Password string
	// ValidUntil is when the temporary password stops working; after the letter's date.
	ValidUntil time.Time
}

// Key is one key on a key card.
type Key struct {
	// Number is the 4-digit key number the logon asks for.
	Number string
	// Code is the 6-digit one-time code the user answers with.
	Code string
}

// KeyCardSheet is a key card to print.
type KeyCardSheet struct {
	// CardNumber is one capital letter and 9 digits, e.g. "G750159724".
	CardNumber string
	// Keys are the card's KeysPerCard keys, in any order: the card lists
	// them by ascending key number.
	Keys []Key
}

// Document is one rendered letter.
type Document struct {
	// Subject is the letter's heading. It holds no secret: it may be shown
	// in lists and logs.
	Subject string
	// Text is the whole letter as plain text, secrets included.
	Text string
	// PDF is the letter for printing, A4, secrets included.
	PDF []byte
}

// TemporaryPassword renders the welcome letter: the NemID number, the
// temporary password, until when it works, and how to activate NemID.
func (l Letter) TemporaryPassword(p TemporaryPassword) (Document, error) {
	if err := l.validate(); err != nil {
		return Document{}, err
	}
	if err := p.validate(l.Date); err != nil {
		return Document{}, err
	}
	c := temporaryPasswordContent(l, p)
	r := &render{pdf: newDocument(c.subject, l.Date)}
	r.page(l, c)
	r.body(l, c, pageH-20)
	pdf, err := r.output()
	if err != nil {
		return Document{}, err
	}
	return Document{Subject: c.subject, Text: l.text(c), PDF: pdf}, nil
}

// KeyCard renders the key-card letter: how to use the card, and the card
// itself at the foot of the page, to cut out and fold (front and back side
// by side, each 85.6 × 54 mm, the size of a payment card).
func (l Letter) KeyCard(card KeyCardSheet) (Document, error) {
	if err := l.validate(); err != nil {
		return Document{}, err
	}
	keys, err := card.sortedKeys()
	if err != nil {
		return Document{}, err
	}
	c := keyCardContent(l, card)
	r := &render{pdf: newDocument(c.subject, l.Date)}
	r.page(l, c)
	r.body(l, c, stripY-cutHintGap-3)
	r.cardStrip(card.CardNumber, keys)
	pdf, err := r.output()
	if err != nil {
		return Document{}, err
	}
	return Document{Subject: c.subject, Text: l.text(c), PDF: pdf}, nil
}

// danish is the time zone letters print times in: the recipients live in Denmark.
var danish = mustLoadLocation("Europe/Copenhagen")

func mustLoadLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err) // time/tzdata is embedded: this cannot happen
	}
	return loc
}

var danishMonths = [...]string{"januar", "februar", "marts", "april", "maj", "juni", "juli",
	"august", "september", "oktober", "november", "december"}

var englishMonths = [...]string{"January", "February", "March", "April", "May", "June", "July",
	"August", "September", "October", "November", "December"}

// danishDate formats a day the Danish way: "14. marts 2026".
func danishDate(t time.Time) string {
	t = t.In(danish)
	return fmt.Sprintf("%d. %s %d", t.Day(), danishMonths[t.Month()-1], t.Year())
}

// danishDateTime adds the time of day as Danes write it: "… kl. 09.30".
func danishDateTime(t time.Time) string {
	return danishDate(t) + " kl. " + t.In(danish).Format("15.04")
}

// englishDateTime is the same moment for the English line: "14 March 2026, 09:30 Danish time".
func englishDateTime(t time.Time) string {
	t = t.In(danish)
	return fmt.Sprintf("%d %s %d, %s Danish time", t.Day(), englishMonths[t.Month()-1], t.Year(), t.Format("15:04"))
}

// validate checks what every letter needs. Measuring the printed width is
// left to the PDF renderer, which knows the font.
func (l Letter) validate() error {
	if l.Date.IsZero() {
		return errors.New("letters: the letter has no date")
	}
	if err := printable("sender name", l.From.Name); err != nil {
		return err
	}
	if len(l.From.AddressLines) > MaxSenderAddressLines {
		return fmt.Errorf("letters: the sender's address has %d lines; at most %d are printed", len(l.From.AddressLines), MaxSenderAddressLines)
	}
	for i, line := range l.From.AddressLines {
		if err := printableRequired(fmt.Sprintf("sender address line %d", i+1), line); err != nil {
			return err
		}
	}
	if err := printableRequired("recipient name", l.To.Name); err != nil {
		return err
	}
	switch n := len(l.To.AddressLines); {
	case n == 0:
		return errors.New("letters: the recipient has no postal address")
	case n > MaxAddressLines:
		return fmt.Errorf("letters: the recipient's address has %d lines; the envelope window holds the name and at most %d", n, MaxAddressLines)
	}
	for i, line := range l.To.AddressLines {
		if err := printableRequired(fmt.Sprintf("recipient address line %d", i+1), line); err != nil {
			return err
		}
	}
	return nil
}

func (l Letter) senderName() string {
	if l.From.Name == "" {
		return DefaultSenderName
	}
	return l.From.Name
}

func printableRequired(what, s string) error {
	if s == "" {
		return fmt.Errorf("letters: %s is empty", what)
	}
	return printable(what, s)
}

// printable refuses text a letter cannot print on one line: invalid UTF-8,
// control characters (a newline would break the address layout), and
// surrounding spaces.
func printable(what, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("letters: %s is not valid UTF-8", what)
	}
	if strings.TrimSpace(s) != s {
		return fmt.Errorf("letters: %s has surrounding spaces", what)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("letters: %s contains the unprintable character %U", what, r)
		}
	}
	return nil
}

// digits reports whether s is exactly n ASCII digits.
func digits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validate checks the temporary password. Its errors say what is wrong
// with a value, never the value: it is a secret.
func (p TemporaryPassword) validate(date time.Time) error {
	switch {
	case !digits(p.NemIDNumber, 9):
		return errors.New("letters: the NemID number is not 9 digits")
	case !digits(p.Password, 6):
		return errors.New("letters: the temporary password is not 6 digits")
	case p.ValidUntil.IsZero():
		return errors.New("letters: the temporary password has no expiry (ValidUntil)")
	case !p.ValidUntil.After(date):
		return errors.New("letters: the temporary password expires before the letter's date")
	}
	return nil
}

// ValidateCardNumber checks a key card number: one capital letter A–Z and 9 digits.
func ValidateCardNumber(s string) error {
	if len(s) != 10 || s[0] < 'A' || s[0] > 'Z' || !digits(s[1:], 9) {
		return errors.New("letters: the card number is not one capital letter and 9 digits")
	}
	return nil
}

// sortedKeys checks the sheet and returns its keys by ascending key
// number. Errors name a key by its number (printed on the card next to
// the code, and asked for at every logon), never by its code.
func (c KeyCardSheet) sortedKeys() ([]Key, error) {
	if err := ValidateCardNumber(c.CardNumber); err != nil {
		return nil, err
	}
	if len(c.Keys) != KeysPerCard {
		return nil, fmt.Errorf("letters: the card has %d keys; a key card has %d", len(c.Keys), KeysPerCard)
	}
	seen := make(map[string]bool, len(c.Keys))
	for i, k := range c.Keys {
		switch {
		case !digits(k.Number, 4):
			return nil, fmt.Errorf("letters: key %d of the card: the key number is not 4 digits", i+1)
		case seen[k.Number]:
			return nil, fmt.Errorf("letters: key number %s is on the card twice", k.Number)
		case !digits(k.Code, 6):
			return nil, fmt.Errorf("letters: key number %s: the code is not 6 digits", k.Number)
		}
		seen[k.Number] = true
	}
	keys := slices.Clone(c.Keys)
	// Four digits each, so text order is numeric order.
	slices.SortFunc(keys, func(a, b Key) int { return strings.Compare(a.Number, b.Number) })
	return keys, nil
}
