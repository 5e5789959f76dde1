package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nemid-dk/nemid/internal/auth"
	"github.com/nemid-dk/nemid/internal/ca"
	"github.com/nemid-dk/nemid/internal/letters"
	"github.com/nemid-dk/nemid/internal/outbox"
	"github.com/nemid-dk/nemid/internal/registration"
	"github.com/nemid-dk/nemid/internal/store"
)

var userCommands = commandGroup{
	name: "user",
	subcommands: []command{
		{"create", "register a person: NemID number, temporary password, key card, key pair, POCES, letters", runUserCreate},
		{"show", "show a user: state, user-ids, key cards, certificates, letters, recent events", runUserShow},
		{"list", "list the users in the order they were registered", runUserList},
		{"block", "block (spærre) a NemID: revoke its certificate and destroy its key", runUserBlock},
		{"unblock", "lift a block", runUserUnblock},
		{"reset-password", "give a user a new temporary password (a letter in the outbox)", runUserResetPassword},
	},
}

// userIDWhat names the positional argument of the commands on one user.
const userIDWhat = "user-id (NemID number, CPR number or alias)"

// userIDHelp is said in the help of every command on one user.
const userIDHelp = `ID is any of the user's three user-ids: the 9-digit NemID number, the CPR
number (DDMMYYXXXX or DDMMYY-XXXX) or the alias.`

// secretsWarning goes to stderr when a command prints secrets.
const secretsWarning = "nemid: the output above holds secrets (a temporary password, key-card codes), shown this once: " +
	"pass them on only to the user. The same letters are in the SIMULATED outbox (nemid outbox list), where nothing is posted."

// resolveUser finds the user an ID names, with an error that does not
// repeat a CPR number.
func (s *services) resolveUser(ctx context.Context, id string) (auth.User, error) {
	u, err := s.auth().Resolve(ctx, id)
	if err != nil {
		return auth.User{}, userNotFound(id, err)
	}
	return u, nil
}

// maskCPR shows the date of birth of a CPR number and hides the rest.
func maskCPR(cpr string) string {
	if len(cpr) != 10 {
		return "**********"
	}
	return cpr[:6] + "-****"
}

func runUserCreate(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlagSet("nemid user create --name NAME --cpr CPR [--alias A] --address LINE [--address LINE …] [--print] [--json]", `
Registers a person and issues their NemID, all or nothing: a random NemID
number, a temporary password (6 digits), the first key card (148 keys), an
RSA-2048 key pair in the key vault, a POCES certificate with the person's
PID, and two letters in the SIMULATED outbox (the temporary password; the
key card), each with a PDF. Prints the NemID number and the letters' IDs.

--print also prints the temporary password and the key card's codes: they
are secrets, shown once (the letters in the outbox keep them, sealed under
the master key). The database keeps no password or code in clear.

The CPR number must be a valid one, and no other user may have it (one
NemID per person); the alias (optional, 5-48 characters) must be free and
must not look like a NemID or CPR number. A refused registration changes
nothing.`)
	var c common
	c.register(fs)
	name := fs.String("name", "", "the person's full name, as on the letters and in the certificate")
	cpr := fs.String("cpr", "", "the person's CPR number, DDMMYYXXXX or DDMMYY-XXXX")
	alias := fs.String("alias", "", "an optional alias the user can log on with")
	var address stringList
	fs.Var(&address, "address", "a `LINE` of the postal address for the letters (1 to 6; repeat the flag)")
	printSecrets := fs.Bool("print", false, "also print the temporary password and the key card (secrets)")
	asJSON := fs.Bool("json", false, "print JSON for scripts")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case strings.TrimSpace(*name) == "":
		return errors.New("--name is required")
	case *cpr == "":
		return errors.New("--cpr is required")
	case len(address) == 0:
		return errors.New("--address is required: the letters need a postal address (repeat --address for each line)")
	}
	s, err := c.openServices(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	reg, err := s.reg.Register(ctx, operator(), registration.Request{Name: *name, CPR: *cpr, Alias: *alias, Address: address})
	switch {
	case errors.Is(err, auth.ErrCPRRegistered):
		return errors.New("a user with that CPR number is registered already (one NemID per person): nothing was created")
	case aliasTaken(err):
		return fmt.Errorf("the alias %q is taken: nothing was created", *alias)
	case err != nil:
		return fmt.Errorf("registration refused, nothing was created: %w", err)
	}
	defer reg.Card.Wipe()
	v := createdView{
		NemID: reg.User.NemID, Alias: reg.User.Alias, Name: reg.User.Name, State: string(reg.User.State), PID: reg.PID,
		Certificate: reg.Certificate.SerialNumber.Text(16), ValidUntil: reg.ValidUntil.UTC(), KeyCardNumber: reg.Card.Number,
	}
	if len(reg.Letters) == 2 {
		v.Letters = &createdLetters{TemporaryPassword: reg.Letters[0], KeyCard: reg.Letters[1]}
	}
	if *printSecrets {
		v.TemporaryPassword = reg.TemporaryPassword
		v.KeyCard = newCardView(reg.Card)
		defer fmt.Fprintln(os.Stderr, secretsWarning)
	}
	if *asJSON {
		return writeJSON(out, v)
	}
	who := v.NemID
	if v.Alias != "" {
		who += " (alias " + v.Alias + ")"
	}
	fmt.Fprintf(out, "Registered %s: NemID number %s, %s.\n", v.Name, who, v.State)
	fmt.Fprintf(out, "POCES certificate %s, PID %s.\n", v.Certificate, v.PID)
	fmt.Fprintln(out, "Letters in the SIMULATED outbox (nothing was posted):")
	if v.Letters != nil {
		fmt.Fprintf(out, "  temporary password (valid until %s UTC): nemid outbox show %s\n", outboxTime(v.ValidUntil), v.Letters.TemporaryPassword)
		fmt.Fprintf(out, "  key card %s: nemid outbox show %s  (or nemid keycard print %s)\n", v.KeyCardNumber, v.Letters.KeyCard, v.NemID)
	} else {
		fmt.Fprintf(out, "  nemid outbox list --user %s\n", v.NemID)
	}
	if *printSecrets {
		fmt.Fprintf(out, "\nTemporary password: %s (valid until %s UTC, once)\n\n%s", v.TemporaryPassword, outboxTime(v.ValidUntil), reg.Card.Text())
	}
	return nil
}

// aliasTaken tells whether a registration was refused for its alias.
func aliasTaken(err error) bool {
	return errors.Is(err, auth.ErrAliasTaken) || errors.Is(err, store.ErrAliasTaken)
}

// createdView is `nemid user create --json`. The secrets are there only
// with --print.
type createdView struct {
	NemID         string          `json:"nemid"`
	Alias         string          `json:"alias,omitempty"`
	Name          string          `json:"name"`
	State         string          `json:"state"`
	PID           string          `json:"pid"`
	Certificate   string          `json:"certificate_serial"`
	Letters       *createdLetters `json:"letters,omitempty"`
	ValidUntil    time.Time       `json:"temporary_password_valid_until"`
	KeyCardNumber string          `json:"key_card_number"`
	// With --print only:
	TemporaryPassword string    `json:"temporary_password,omitempty"`
	KeyCard           *cardView `json:"key_card,omitempty"`
}

// createdLetters are the outbox IDs of a registration's letters.
type createdLetters struct {
	TemporaryPassword string `json:"temporary_password"`
	KeyCard           string `json:"key_card"`
}

// cardView is a key card in clear, for --print --json.
type cardView struct {
	Number string    `json:"number"`
	Keys   []keyView `json:"keys"`
	Text   string    `json:"text"`
}

type keyView struct {
	Number string `json:"number"`
	Code   string `json:"code"`
}

func newCardView(c *auth.KeyCard) *cardView {
	v := &cardView{Number: c.Number, Text: c.Text()}
	for _, k := range c.Keys {
		v.Keys = append(v.Keys, keyView{Number: k.Number, Code: k.Code})
	}
	return v
}

// userView is `nemid user show --json`, and a row of `nemid user list --json`.
type userView struct {
	NemID string `json:"nemid"`
	// CPR is masked (DDMMYY-****) unless --show-cpr.
	CPR              string     `json:"cpr"`
	Alias            string     `json:"alias,omitempty"`
	PID              string     `json:"pid,omitempty"`
	Name             string     `json:"name"`
	Address          []string   `json:"address"`
	State            string     `json:"state"`
	QuarantinedUntil *time.Time `json:"quarantined_until,omitempty"`
	BlockedBy        string     `json:"blocked_by,omitempty"`
	StateReason      string     `json:"state_reason,omitempty"`
	RegisteredAt     time.Time  `json:"registered_at"`
}

func newUserView(u auth.User, showCPR bool) userView {
	v := userView{
		NemID: u.NemID, CPR: maskCPR(u.CPR), Alias: u.Alias, PID: u.PID, Name: u.Name, Address: u.Address, State: string(u.State),
		BlockedBy: u.BlockedBy, StateReason: u.StateReason, RegisteredAt: u.CreatedAt.UTC(),
	}
	if showCPR {
		v.CPR = u.CPR[:6] + "-" + u.CPR[6:]
	}
	if !u.QuarantinedUntil.IsZero() {
		t := u.QuarantinedUntil.UTC()
		v.QuarantinedUntil = &t
	}
	if v.Address == nil {
		v.Address = []string{}
	}
	return v
}

// userDetailView is the whole of `nemid user show --json`.
type userDetailView struct {
	userView
	KeyCards     []keyCardView     `json:"key_cards"`
	Certificates []certificateView `json:"certificates"`
	Letters      []messageView     `json:"letters"`
	// Events are the newest state changes, oldest first; EventCount is
	// how many there are in all.
	Events     []eventView `json:"events"`
	EventCount int         `json:"event_count"`
}

type keyCardView struct {
	Number     string     `json:"number"`
	Status     string     `json:"status"`
	KeysLeft   int        `json:"keys_left"`
	IssuedAt   time.Time  `json:"issued_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	Reason     string     `json:"reason,omitempty"`
}

type certificateView struct {
	Serial     string     `json:"serial"`
	KeyVersion int64      `json:"key_version"`
	Subject    string     `json:"subject"`
	Status     string     `json:"status"`
	NotAfter   time.Time  `json:"not_after"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	Reason     string     `json:"revocation_reason,omitempty"`
}

type eventView struct {
	At     time.Time `json:"at"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	Actor  string    `json:"actor"`
	Reason string    `json:"reason,omitempty"`
}

func runUserShow(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlagSet("nemid user show ID [--show-cpr] [--events N] [--json]", `
Shows one user: the user-ids (the CPR number masked, DDMMYY-****, unless
--show-cpr), name, address and state; the key cards with the keys each has
left; the POCES certificates with their status; the letters in the outbox
(without their secrets: read them with nemid outbox show); and the newest
state changes.

`+userIDHelp)
	var c common
	c.register(fs)
	showCPR := fs.Bool("show-cpr", false, "show the whole CPR number (personal data)")
	nEvents := fs.Int("events", 10, "show this many of the newest state changes")
	asJSON := fs.Bool("json", false, "print JSON for scripts")
	id, err := parseWithTarget(fs, args, userIDWhat)
	if err != nil {
		return err
	}
	if *nEvents < 0 {
		return fmt.Errorf("--events %d: must not be negative", *nEvents)
	}
	s, u, err := c.openUser(ctx, id)
	if err != nil {
		return err
	}
	defer s.Close()
	v, err := s.describeUser(ctx, u, *showCPR, *nEvents)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(out, v)
	}
	return printUser(out, v)
}

// describeUser gathers everything `nemid user show` says about a user.
func (s *services) describeUser(ctx context.Context, u auth.User, showCPR bool, nEvents int) (userDetailView, error) {
	v := userDetailView{userView: newUserView(u, showCPR), KeyCards: []keyCardView{}, Certificates: []certificateView{},
		Letters: []messageView{}, Events: []eventView{}}
	cards, err := s.auth().KeyCards(ctx, u.NemID)
	if err != nil {
		return v, err
	}
	for _, k := range cards {
		kv := keyCardView{Number: k.Number, Status: string(k.Status), KeysLeft: k.Remaining, IssuedAt: k.IssuedAt.UTC(), Reason: k.Reason}
		if !k.FinishedAt.IsZero() {
			t := k.FinishedAt.UTC()
			kv.FinishedAt = &t
		}
		v.KeyCards = append(v.KeyCards, kv)
	}
	certs, err := s.reg.Certificates(ctx, u.NemID)
	if err != nil {
		return v, err
	}
	for _, uc := range certs {
		c := uc.Certificate
		cv := certificateView{Serial: c.Serial, KeyVersion: uc.KeyVersion, Subject: c.Subject, Status: string(c.Status), NotAfter: c.NotAfter.UTC()}
		if c.Status == store.StatusRevoked {
			t := c.RevokedAt.UTC()
			cv.RevokedAt, cv.Reason = &t, ca.Reason(c.Reason).String()
		}
		v.Certificates = append(v.Certificates, cv)
	}
	msgs, err := s.outbox().List(ctx, outbox.Filter{User: u.NemID})
	if err != nil {
		return v, err
	}
	for _, m := range msgs {
		v.Letters = append(v.Letters, viewOf(s.outbox(), m))
	}
	events, err := s.auth().Events(ctx, u.NemID)
	if err != nil {
		return v, err
	}
	v.EventCount = len(events)
	for _, e := range events[max(0, len(events)-nEvents):] {
		v.Events = append(v.Events, eventView{At: e.At.UTC(), From: string(e.From), To: string(e.To), Actor: e.Actor, Reason: e.Reason})
	}
	return v, nil
}

func printUser(out io.Writer, v userDetailView) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "NemID number:\t%s\n", v.NemID)
	fmt.Fprintf(tw, "CPR number:\t%s\n", v.CPR)
	if v.Alias != "" {
		fmt.Fprintf(tw, "Alias:\t%s\n", v.Alias)
	}
	if v.PID != "" {
		fmt.Fprintf(tw, "PID:\t%s\n", v.PID)
	}
	fmt.Fprintf(tw, "Name:\t%s\n", v.Name)
	fmt.Fprintf(tw, "Address:\t%s\n", strings.Join(v.Address, "\n\t"))
	state := v.State
	switch {
	case v.QuarantinedUntil != nil:
		state += " until " + outboxTime(*v.QuarantinedUntil) + " UTC"
	case v.BlockedBy != "":
		state += " by the " + v.BlockedBy
	}
	if v.StateReason != "" {
		state += " (" + v.StateReason + ")"
	}
	fmt.Fprintf(tw, "State:\t%s\n", state)
	fmt.Fprintf(tw, "Registered:\t%s UTC\n", outboxTime(v.RegisteredAt))
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintf(out, "\nKey cards (%d):\n", len(v.KeyCards))
	tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  NUMBER\tSTATUS\tKEYS LEFT\tISSUED (UTC)\tREASON")
	for _, k := range v.KeyCards {
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%s\n", k.Number, k.Status, k.KeysLeft, outboxTime(k.IssuedAt), k.Reason)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintf(out, "\nCertificates (%d):\n", len(v.Certificates))
	tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  SERIAL\tKEY\tSTATUS\tNOT AFTER (UTC)\tSUBJECT")
	for _, c := range v.Certificates {
		status := c.Status
		if c.RevokedAt != nil {
			status += " (" + c.Reason + ", " + outboxTime(*c.RevokedAt) + ")"
		}
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\t%s\n", c.Serial, c.KeyVersion, status, outboxTime(c.NotAfter), c.Subject)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintf(out, "\nLetters in the SIMULATED outbox (%d; read one with nemid outbox show ID):\n", len(v.Letters))
	tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  ID\tTIME (UTC)\tKIND\tSUBJECT")
	for _, m := range v.Letters {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", m.ID, outboxTime(m.CreatedAt), m.Kind, m.Subject)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintf(out, "\nState changes (the newest %d of %d):\n", len(v.Events), v.EventCount)
	tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  TIME (UTC)\tFROM\tTO\tBY\tREASON")
	for _, e := range v.Events {
		from := e.From
		if from == "" {
			from = "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", outboxTime(e.At), from, e.To, e.Actor, e.Reason)
	}
	return tw.Flush()
}

func runUserList(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlagSet("nemid user list [--state STATE] [--after NEMID] [--limit N] [--json]", `
Lists the users in the order they were registered: NemID number, alias,
name, state and when they were registered. No CPR number is listed (see
nemid user show --show-cpr).`)
	var c common
	c.register(fs)
	state := fs.String("state", "", "only the users in this state: awaiting_activation, active, quarantined, locked, revoked or blocked")
	after := fs.String("after", "", "list the users registered after the one with this `NEMID` number (the next page)")
	limit := fs.Int("limit", 100, "at most this many users (1 to 10000)")
	asJSON := fs.Bool("json", false, "print JSON (one array) for scripts")
	if err := parse(fs, args); err != nil {
		return err
	}
	f := store.UserFilter{State: store.UserState(*state), Limit: *limit}
	switch {
	case *limit < 1 || *limit > 10000:
		return fmt.Errorf("--limit %d: want 1 to 10000", *limit)
	case *state != "" && !f.State.Valid():
		return fmt.Errorf("--state %q: want awaiting_activation, active, quarantined, locked, revoked or blocked", *state)
	}
	st, err := c.openExistingStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if *after != "" {
		u, err := st.UserByNemID(ctx, *after)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("--after %q: no user has that NemID number", *after)
		}
		if err != nil {
			return err
		}
		f.AfterID = u.ID
	}
	users, err := st.Users(ctx, f)
	if err != nil {
		return err
	}
	views := make([]userView, len(users))
	for i, u := range users {
		views[i] = newUserView(auth.User{NemID: u.NemID, Alias: u.Alias, PID: u.PID, Name: u.Name, Address: u.Address, State: u.State,
			QuarantinedUntil: u.QuarantinedUntil, BlockedBy: u.BlockedBy, StateReason: u.StateReason, CreatedAt: u.CreatedAt}, false)
		views[i].CPR = "" // a listing holds no CPR number, not even masked
	}
	if *asJSON {
		return writeJSON(out, views)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NEMID\tALIAS\tNAME\tSTATE\tREGISTERED (UTC)")
	for _, v := range views {
		alias := v.Alias
		if alias == "" {
			alias = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", v.NemID, alias, v.Name, v.State, outboxTime(v.RegisteredAt))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(views) == *limit {
		_, err = fmt.Fprintf(out, "%d user(s); there may be more: nemid user list --after %s\n", len(views), views[len(views)-1].NemID)
		return err
	}
	_, err = fmt.Fprintf(out, "%d user(s)\n", len(views))
	return err
}

// blockRevocationReason reads --revocation-reason: the two reasons a
// user gives when blocking a NemID.
func blockRevocationReason(s string) (ca.Reason, error) {
	r, err := ca.ParseReason(s)
	if err != nil || (r != ca.ReasonCessationOfOperation && r != ca.ReasonKeyCompromise) {
		return 0, fmt.Errorf("--revocation-reason %q: want cessationOfOperation (the NemID is no longer wanted) or keyCompromise (the password, key card or key may be known to someone else)", s)
	}
	return r, nil
}

// goodCertificates lists the serials of the user's certificates that are
// not revoked.
func (s *services) goodCertificates(ctx context.Context, nemid string) (map[string]bool, error) {
	certs, err := s.reg.Certificates(ctx, nemid)
	if err != nil {
		return nil, err
	}
	good := map[string]bool{}
	for _, c := range certs {
		if c.Certificate.Status == store.StatusGood {
			good[c.Certificate.Serial] = true
		}
	}
	return good, nil
}

func runUserBlock(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlagSet("nemid user block ID [--reason TEXT] [--revocation-reason cessationOfOperation|keyCompromise]", `
Blocks a NemID (spærring), as its user asked: no logon works any more
(AUTH005), the user's POCES certificate is revoked with the reason the user
gave, and the private key in the key vault is destroyed. Unblocking later
lifts the block, but the user signs again only after a new temporary
password (nemid user reset-password) and its activation, which make a new
key pair and certificate.

`+userIDHelp)
	var c common
	c.register(fs)
	reason := fs.String("reason", "blocked at the user's request", "why, for the user's record (no personal data)")
	revReason := fs.String("revocation-reason", "cessationOfOperation", "the certificate's revocation reason: cessationOfOperation or keyCompromise")
	id, err := parseWithTarget(fs, args, userIDWhat)
	if err != nil {
		return err
	}
	rr, err := blockRevocationReason(*revReason)
	if err != nil {
		return err
	}
	if strings.TrimSpace(*reason) == "" {
		return errors.New("--reason must not be empty")
	}
	s, u, err := c.openUser(ctx, id)
	if err != nil {
		return err
	}
	defer s.Close()
	before, err := s.goodCertificates(ctx, u.NemID)
	if err != nil {
		return err
	}
	if err := s.reg.Block(ctx, operator(), u.NemID, *reason, rr); err != nil {
		if errors.Is(err, auth.ErrNotAllowed) {
			return fmt.Errorf("NemID %s was not blocked: %w", u.NemID, err)
		}
		return err
	}
	fmt.Fprintf(out, "Blocked NemID %s (%s).\n", u.NemID, *reason)
	after, err := s.goodCertificates(ctx, u.NemID)
	if err != nil {
		return err
	}
	for serial := range before {
		if !after[serial] {
			fmt.Fprintf(out, "Revoked certificate %s (%s).\n", serial, rr)
		}
	}
	_, err = fmt.Fprintln(out, "The key pair is destroyed: after an unblock the user needs a new temporary password (nemid user reset-password) to get a new one.")
	return err
}

func runUserUnblock(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlagSet("nemid user unblock ID [--reason TEXT]", `
Lifts a block: the user can log on again. The block destroyed the key and
revoked the certificate, so to sign again the user needs a new temporary
password (nemid user reset-password, a second step: it sends a letter with
a new secret), whose activation makes a new key pair and certificate.

`+userIDHelp)
	var c common
	c.register(fs)
	reason := fs.String("reason", "unblocked by the operator", "why, for the user's record (no personal data)")
	id, err := parseWithTarget(fs, args, userIDWhat)
	if err != nil {
		return err
	}
	if strings.TrimSpace(*reason) == "" {
		return errors.New("--reason must not be empty")
	}
	s, u, err := c.openUser(ctx, id)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.reg.Unblock(ctx, operator(), u.NemID, *reason); err != nil {
		if errors.Is(err, auth.ErrNotAllowed) {
			return fmt.Errorf("NemID %s was not unblocked: %w", u.NemID, err)
		}
		return err
	}
	now, err := s.resolveUser(ctx, u.NemID)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "Unblocked NemID %s: now %s. To sign again the user needs a new temporary password: nemid user reset-password %s\n",
		u.NemID, now.State, u.NemID)
	return err
}

// latestLetter finds the newest letter with the subject in the user's
// outbox: the letters are listed newest first by the outbox, and a
// subject holds no secret, so finding one opens nothing.
func latestLetter(ctx context.Context, o *outbox.Outbox, nemid, subject string) (outbox.Summary, error) {
	msgs, err := o.List(ctx, outbox.Filter{User: nemid})
	if err != nil {
		return outbox.Summary{}, err
	}
	for _, m := range msgs {
		if m.Subject == subject {
			return m, nil
		}
	}
	return outbox.Summary{}, fmt.Errorf("the outbox holds no letter %q for NemID %s: %w", subject, nemid, store.ErrNotFound)
}

// temporaryPasswordView is `nemid user reset-password --json` and
// `nemid user unblock --json`.
type temporaryPasswordView struct {
	NemID      string    `json:"nemid"`
	Letter     string    `json:"letter"`
	ValidUntil time.Time `json:"valid_until"`
	// TemporaryPassword is there with --print only.
	TemporaryPassword string `json:"temporary_password,omitempty"`
}

func runUserResetPassword(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlagSet("nemid user reset-password ID [--print] [--json]", `
Gives the user a new temporary password, in a letter in the SIMULATED
outbox: the personal password is removed, so the NemID works only through
the new temporary password until the user activates it again (spec 10.2).
A reset also ends a quarantine, a lock or a revocation for wrong codes; a
blocked NemID must be unblocked first. At once, the user's key in the
vault is destroyed and the certificate revoked (superseded): whoever knows
the old password can sign nothing from then on. The activation with the
new temporary password makes a new key pair and certificate.

--print also prints the temporary password, a secret shown once.

`+userIDHelp)
	var c common
	c.register(fs)
	printSecrets := fs.Bool("print", false, "also print the temporary password (a secret)")
	asJSON := fs.Bool("json", false, "print JSON for scripts")
	id, err := parseWithTarget(fs, args, userIDWhat)
	if err != nil {
		return err
	}
	s, u, err := c.openUser(ctx, id)
	if err != nil {
		return err
	}
	defer s.Close()
	pw, validUntil, err := s.reg.ResetPassword(ctx, operator(), u.NemID)
	if err != nil {
		if errors.Is(err, auth.ErrNotAllowed) {
			return fmt.Errorf("the password of NemID %s was not reset: %w", u.NemID, err)
		}
		return err
	}
	return s.reportTemporaryPassword(ctx, out, u.NemID, pw, validUntil, *printSecrets, *asJSON)
}

// reportTemporaryPassword says that a user has a new temporary password
// and where its letter is; with printSecrets the password too.
func (s *services) reportTemporaryPassword(ctx context.Context, out io.Writer, nemid, pw string, validUntil time.Time, printSecrets, asJSON bool) error {
	letter, err := latestLetter(ctx, s.outbox(), nemid, letters.TemporaryPasswordSubject)
	if err != nil {
		return err
	}
	v := temporaryPasswordView{NemID: nemid, Letter: letter.ID, ValidUntil: validUntil.UTC()}
	if printSecrets {
		v.TemporaryPassword = pw
		defer fmt.Fprintln(os.Stderr, secretsWarning)
	}
	if asJSON {
		return writeJSON(out, v)
	}
	fmt.Fprintf(out, "New temporary password for NemID %s, valid until %s UTC; until it is used the NemID works only through it.\n",
		v.NemID, outboxTime(v.ValidUntil))
	fmt.Fprintf(out, "Its letter is in the SIMULATED outbox: nemid outbox show %s\n", v.Letter)
	if printSecrets {
		fmt.Fprintf(out, "\nTemporary password: %s\n", v.TemporaryPassword)
	}
	return nil
}
