package auth

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// KeysPerCard is the number of keys on a NemID key card (spec 10.3).
const KeysPerCard = 148

// Key is one key of a key card: the key number the logon asks for and the
// code the user types.
type Key struct {
	Number string // 4 digits, unique on the card
	Code   string // 6 digits
}

// KeyCard is a key card in clear: its number and every code. It exists
// only when a card is made (to print it and put it in its letter) and in
// tests; the store keeps MACs of the codes, never the codes (see secrets.go).
type KeyCard struct {
	// Number is one letter and nine digits, e.g. G750159724.
	Number string
	// Keys are ordered by key number.
	Keys []Key
}

// NewKeyCard makes a card with a random number, KeysPerCard distinct
// random key numbers and a random code for each, all from crypto/rand.
func NewKeyCard() (*KeyCard, error) {
	letter, err := randomBelow(26)
	if err != nil {
		return nil, err
	}
	digits, err := randomDigits(9)
	if err != nil {
		return nil, err
	}
	card := &KeyCard{Number: string(rune('A'+letter)) + digits}
	// Draw distinct key numbers by rejection: 148 of 10,000, so a repeat
	// is rare and redrawing keeps every set of numbers equally likely.
	seen := make(map[string]bool, KeysPerCard)
	for len(card.Keys) < KeysPerCard {
		number, err := randomDigits(4)
		if err != nil {
			return nil, err
		}
		if seen[number] {
			continue
		}
		seen[number] = true
		code, err := randomDigits(6)
		if err != nil {
			return nil, err
		}
		card.Keys = append(card.Keys, Key{Number: number, Code: code})
	}
	slices.SortFunc(card.Keys, func(a, b Key) int { return strings.Compare(a.Number, b.Number) })
	return card, nil
}

// Code returns the code of a key number.
func (c *KeyCard) Code(keyNumber string) (string, bool) {
	i, ok := slices.BinarySearchFunc(c.Keys, keyNumber, func(k Key, n string) int { return strings.Compare(k.Number, n) })
	if !ok {
		return "", false
	}
	return c.Keys[i].Code, true
}

// Wipe overwrites the codes in memory (best effort: Go may have copied the
// strings' bytes elsewhere) once the card is printed or queued.
func (c *KeyCard) Wipe() {
	for i := range c.Keys {
		c.Keys[i].Code = ""
	}
}

// The text layout of NemID's preproduction developer site (spec 10.3): the
// card number, a header of four "Nøgle nr." / "Nøgle" pairs, then the keys
// in four columns, key numbers ascending down each column, fields split by
// a tab and pairs by two.
const (
	cardNumberLabel = "Nøglekortnummer: "
	textColumns     = 4
	headerPair      = " Nøgle nr.\tNøgle"
)

// Text renders the card as the preproduction developer site did.
func (c *KeyCard) Text() string {
	var b strings.Builder
	b.WriteString(cardNumberLabel + c.Number + "\n")
	b.WriteString(strings.Repeat(headerPair+"\t\t", textColumns-1) + headerPair + "\n")
	rows := (len(c.Keys) + textColumns - 1) / textColumns
	for r := range rows {
		for col := range textColumns {
			i := col*rows + r
			if i >= len(c.Keys) {
				break
			}
			if col > 0 {
				b.WriteString("\t\t")
			}
			b.WriteString(c.Keys[i].Number + "\t" + c.Keys[i].Code)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// ParseKeyCardText reads a card in the layout of Text (a test or demo
// reading a printed card). It checks the card number, every key number
// (4 digits, no repeats) and code (6 digits).
func ParseKeyCardText(s string) (*KeyCard, error) {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) < 3 {
		return nil, errors.New("auth: key card text: want a card number line, a header line and keys")
	}
	number, ok := strings.CutPrefix(lines[0], cardNumberLabel)
	if !ok || !validCardNumber(number) {
		return nil, errors.New(`auth: key card text: the first line must be "Nøglekortnummer: " and a letter and 9 digits`)
	}
	if strings.Join(strings.Fields(lines[1]), " ") != strings.TrimSuffix(strings.Repeat("Nøgle nr. Nøgle ", textColumns), " ") {
		return nil, errors.New("auth: key card text: the second line must be the header")
	}
	card := &KeyCard{Number: number}
	seen := map[string]bool{}
	for n, line := range lines[2:] {
		fields := strings.Fields(line)
		if len(fields) == 0 || len(fields)%2 != 0 || len(fields) > 2*textColumns {
			return nil, fmt.Errorf("auth: key card text: line %d: want up to %d pairs of key number and code", n+3, textColumns)
		}
		for i := 0; i < len(fields); i += 2 {
			k := Key{Number: fields[i], Code: fields[i+1]}
			if len(k.Number) != 4 || !allDigits(k.Number) || len(k.Code) != 6 || !allDigits(k.Code) {
				return nil, fmt.Errorf("auth: key card text: line %d: want a 4-digit key number and a 6-digit code", n+3)
			}
			if seen[k.Number] {
				return nil, fmt.Errorf("auth: key card text: key number %s is given twice", k.Number)
			}
			seen[k.Number] = true
			card.Keys = append(card.Keys, k)
		}
	}
	slices.SortFunc(card.Keys, func(a, b Key) int { return strings.Compare(a.Number, b.Number) })
	return card, nil
}

func validCardNumber(s string) bool {
	return len(s) == 10 && 'A' <= s[0] && s[0] <= 'Z' && allDigits(s[1:])
}
