package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/nemid-dk/nemid/internal/auth"
	"github.com/nemid-dk/nemid/internal/letters"
	"github.com/nemid-dk/nemid/internal/store"
)

var keycardCommands = commandGroup{
	name: "keycard",
	subcommands: []command{
		{"new", "issue a new key card (a letter in the outbox); --revoke-current for a lost card", runKeycardNew},
		{"print", "print the user's latest key-card letter from the outbox, or write its PDF", runKeycardPrint},
	},
}

// newKeyCardView is `nemid keycard new --json`.
type newKeyCardView struct {
	NemID  string `json:"nemid"`
	Number string `json:"number"`
	// Status is "next" (used when the current card is used up) or
	// "current" (in use at once, after --revoke-current).
	Status string `json:"status"`
	// Revoked is the card --revoke-current revoked, if any.
	Revoked string `json:"revoked,omitempty"`
	Letter  string `json:"letter"`
	// Card is there with --print only.
	Card *cardView `json:"card,omitempty"`
}

// currentCard is the number of the user's current card, "" if none.
func currentCard(cards []auth.KeyCardInfo) string {
	for _, c := range cards {
		if c.Status == store.CardCurrent {
			return c.Number
		}
	}
	return ""
}

func runKeycardNew(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlagSet("nemid keycard new ID [--revoke-current] [--reason TEXT] [--print] [--json]", `
Issues a new key card to the user, with its letter (and PDF) in the
SIMULATED outbox. The new card is the user's next card: it replaces a next
card already on its way (which is revoked) and is used once the current card
is used up. With --revoke-current (a lost or stolen card) the current card
is revoked at once and the new card is used from the next logon.

--print also prints the card's codes: secrets, shown once.

`+userIDHelp)
	var c common
	c.register(fs)
	revokeCurrent := fs.Bool("revoke-current", false, "revoke the current card now (lost or stolen) and use the new one at once")
	reason := fs.String("reason", "", `why, for the card's record (default "ordered by the operator", or "the current card was lost" with --revoke-current)`)
	printSecrets := fs.Bool("print", false, "also print the key card (secrets)")
	asJSON := fs.Bool("json", false, "print JSON for scripts")
	id, err := parseWithTarget(fs, args, userIDWhat)
	if err != nil {
		return err
	}
	if *reason == "" {
		*reason = "ordered by the operator"
		if *revokeCurrent {
			*reason = "the current card was lost"
		}
	}
	s, u, err := c.openUser(ctx, id)
	if err != nil {
		return err
	}
	defer s.Close()
	before, err := s.auth().KeyCards(ctx, u.NemID)
	if err != nil {
		return err
	}
	card, err := s.reg.NewKeyCard(ctx, operator(), u.NemID, *revokeCurrent, *reason)
	if err != nil {
		if errors.Is(err, auth.ErrNotAllowed) {
			return fmt.Errorf("no key card was issued to NemID %s: %w", u.NemID, err)
		}
		return err
	}
	defer card.Wipe()
	after, err := s.auth().KeyCards(ctx, u.NemID)
	if err != nil {
		return err
	}
	v := newKeyCardView{NemID: u.NemID, Number: card.Number, Status: "unknown"}
	for _, k := range after {
		if k.Number == card.Number {
			v.Status = string(k.Status)
		}
	}
	if old := currentCard(before); *revokeCurrent && old != "" && old != currentCard(after) {
		v.Revoked = old
	}
	letter, err := latestLetter(ctx, s.outbox(), u.NemID, letters.KeyCardSubject)
	if err != nil {
		return err
	}
	v.Letter = letter.ID
	if *printSecrets {
		v.Card = newCardView(card)
		defer fmt.Fprintln(os.Stderr, secretsWarning)
	}
	if *asJSON {
		return writeJSON(out, v)
	}
	fmt.Fprintf(out, "Issued key card %s to NemID %s: ", v.Number, v.NemID)
	switch {
	case v.Revoked != "":
		fmt.Fprintf(out, "in use from the next logon; card %s is revoked.\n", v.Revoked)
	case v.Status == string(store.CardNext):
		fmt.Fprintln(out, "the next card, used when the current one is used up.")
	default:
		fmt.Fprintf(out, "%s.\n", v.Status)
	}
	fmt.Fprintf(out, "Its letter is in the SIMULATED outbox: nemid outbox show %s  (or nemid keycard print %s)\n", v.Letter, v.NemID)
	if *printSecrets {
		fmt.Fprintf(out, "\n%s", card.Text())
	}
	return nil
}

// cardNumberInLetter finds the card number in a key-card letter's text,
// where the letter's heading names it.
var cardNumberInLetter = regexp.MustCompile(`Nøglekortnummer: ([A-Z][0-9]{9})`)

func runKeycardPrint(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlagSet("nemid keycard print ID [--pdf FILE]", `
Prints the user's latest key-card letter, with the card's codes, or writes
its PDF (the letter with the card to cut out) to a new FILE (mode 0600; an
existing file is never overwritten).

The database holds no code of any key card (only keyed hashes of them), so
a card cannot be rendered again from it: this reads the letter the card was
sent in from the SIMULATED outbox, where it is kept sealed under the master
key — as nemid outbox show does. A card issued later than the letter, or
a letter for a card since revoked, is said so on stderr.

`+userIDHelp)
	var c common
	c.register(fs)
	pdfFile := fs.String("pdf", "", "write the letter's PDF to this new `FILE` instead of printing its text")
	id, err := parseWithTarget(fs, args, userIDWhat)
	if err != nil {
		return err
	}
	if *pdfFile != "" {
		if err := mustNotExist(*pdfFile); err != nil {
			return fmt.Errorf("--pdf: %w", err)
		}
	}
	s, u, err := c.openUser(ctx, id)
	if err != nil {
		return err
	}
	defer s.Close()
	summary, err := latestLetter(ctx, s.outbox(), u.NemID, letters.KeyCardSubject)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("the SIMULATED outbox holds no key-card letter for NemID %s (issue a card with nemid keycard new)", u.NemID)
	}
	if err != nil {
		return err
	}
	m, err := s.outbox().Show(ctx, summary.ID)
	if err != nil {
		return err
	}
	if match := cardNumberInLetter.FindStringSubmatch(m.Body); match != nil {
		if err := describeLetterCard(ctx, s, u.NemID, match[1]); err != nil {
			return err
		}
	}
	if *pdfFile != "" {
		if m.Attachment == nil {
			return fmt.Errorf("the key-card letter %s has no PDF", m.ID)
		}
		if err := writeNewFile(*pdfFile, m.Attachment, 0o600); err != nil {
			return fmt.Errorf("--pdf: %w", err)
		}
		_, err := fmt.Fprintf(out, "Wrote the key-card letter %s of %s UTC (%d bytes of PDF) to %s\n", m.ID, outboxTime(m.CreatedAt), len(m.Attachment), *pdfFile)
		return err
	}
	_, err = fmt.Fprint(out, strings.TrimRight(m.Body, "\n")+"\n")
	return err
}

// describeLetterCard says on stderr which card a letter holds, and warns
// when that card no longer works or another card has been issued since.
func describeLetterCard(ctx context.Context, s *services, nemid, number string) error {
	cards, err := s.auth().KeyCards(ctx, nemid)
	if err != nil {
		return err
	}
	for i, k := range cards {
		if k.Number != number {
			continue
		}
		fmt.Fprintf(os.Stderr, "nemid: key card %s of NemID %s: %s, %d keys left\n", k.Number, nemid, k.Status, k.Remaining)
		if k.Status == store.CardRevoked || k.Status == store.CardSpent {
			fmt.Fprintf(os.Stderr, "nemid: warning: key card %s no longer works (%s)\n", k.Number, k.Status)
		}
		if i < len(cards)-1 {
			fmt.Fprintf(os.Stderr, "nemid: warning: a later card, %s, was issued without a letter in the outbox\n", cards[len(cards)-1].Number)
		}
		return nil
	}
	fmt.Fprintf(os.Stderr, "nemid: warning: the letter's key card %s is not among the cards of NemID %s\n", number, nemid)
	return nil
}
