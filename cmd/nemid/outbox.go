package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nemid-dk/nemid/internal/outbox"
	"github.com/nemid-dk/nemid/internal/store"
)

var outboxCommands = commandGroup{
	name: "outbox",
	subcommands: []command{
		{"list", "list the messages in the SIMULATED outbox, newest first (no secrets)", runOutboxList},
		{"show", "read one message: its text, and its PDF letter with --pdf FILE", runOutboxShow},
	},
	about: outboxAbout,
}

// outboxAbout is said in every outbox help text: what the outbox is, and
// that nothing in it was delivered.
const outboxAbout = `The outbox is the SIMULATED post and SMS channel of this installation:
letters (temporary passwords, key cards) and text messages are not posted
or sent, but kept in the database, their text and PDF sealed under the
master key, for the operator to read here. A real post or SMS adapter would
replace the simulated channel and deliver them instead.`

// channelName names the simulated channel a kind of message went by.
func channelName(o *outbox.Outbox, k outbox.Kind) string {
	if k == outbox.SMS {
		return o.SMS().Name()
	}
	return o.Post().Name()
}

// outboxTime is how the outbox commands print a time: UTC, to the second.
func outboxTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }

// messageView is a message in JSON, without its secrets.
type messageView struct {
	ID        string    `json:"id"`
	Channel   string    `json:"channel"`
	Kind      string    `json:"kind"`
	CreatedAt time.Time `json:"created_at"`
	User      string    `json:"user"`
	// To is the recipient: address lines, or the phone number as one line.
	To            []string `json:"to"`
	Subject       string   `json:"subject"`
	HasAttachment bool     `json:"has_pdf"`
}

func viewOf(o *outbox.Outbox, s outbox.Summary) messageView {
	return messageView{
		ID: s.ID, Channel: channelName(o, s.Kind), Kind: string(s.Kind), CreatedAt: s.CreatedAt,
		User: s.User, To: strings.Split(s.To, "\n"), Subject: s.Subject, HasAttachment: s.HasAttachment,
	}
}

func runOutboxList(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlagSet("nemid outbox list [--user ID] [--limit N] [--json]", `
Lists the messages in the outbox, newest first: ID, time (UTC), kind,
user, recipient and subject. A listing shows no secret; read a message with
`+"`nemid outbox show ID`"+`.

`+outboxAbout)
	var c common
	c.register(fs)
	user := fs.String("user", "", "only the messages for this user")
	limit := fs.Int("limit", 0, "at most this many messages, the newest (0: all)")
	asJSON := fs.Bool("json", false, "print JSON (one array) for scripts")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *limit < 0 {
		return fmt.Errorf("--limit %d: must not be negative", *limit)
	}
	o, closeAll, err := c.openOutbox(ctx)
	if err != nil {
		return err
	}
	defer closeAll()
	list, err := o.List(ctx, outbox.Filter{User: *user, Limit: *limit})
	if err != nil {
		return err
	}
	if *asJSON {
		views := make([]messageView, len(list))
		for i, s := range list {
			views[i] = viewOf(o, s)
		}
		return writeJSON(out, views)
	}
	fmt.Fprintln(out, "SIMULATED outbox: nothing here was posted or sent.")
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTIME (UTC)\tKIND\tUSER\tRECIPIENT\tSUBJECT")
	for _, s := range list {
		subject := s.Subject
		if s.HasAttachment {
			subject += " [PDF]"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, outboxTime(s.CreatedAt), s.Kind, s.User,
			strings.ReplaceAll(s.To, "\n", ", "), subject)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "%d message(s)\n", len(list))
	return err
}

func runOutboxShow(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlagSet("nemid outbox show ID [--pdf FILE] [--json]", `
Shows one message of the outbox with its text — which may hold a temporary
password or key codes: this is where the operator of the simulated channel
reads them. --pdf writes the message's PDF letter to FILE (mode 0600; an
existing file is never overwritten).

A message that was changed in the database, or that was sealed under
another master key, is refused and nothing of it is shown.

`+outboxAbout)
	var c common
	c.register(fs)
	pdfFile := fs.String("pdf", "", "write the message's PDF letter to this new `FILE`")
	asJSON := fs.Bool("json", false, "print JSON for scripts (the PDF only goes to --pdf)")
	id, err := parseWithTarget(fs, args, "message ID (from nemid outbox list)")
	if err != nil {
		return err
	}
	if !store.ValidOutboxID(id) {
		return fmt.Errorf("%q is not a message ID: want %d hexadecimal digits (see nemid outbox list)", id, store.OutboxIDLength)
	}
	if *pdfFile != "" {
		if err := mustNotExist(*pdfFile); err != nil {
			return fmt.Errorf("--pdf: %w", err)
		}
	}
	o, closeAll, err := c.openOutbox(ctx)
	if err != nil {
		return err
	}
	defer closeAll()
	m, err := o.Show(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no message %s in the outbox", id)
	}
	if err != nil {
		return err
	}
	if *pdfFile != "" {
		if m.Attachment == nil {
			return fmt.Errorf("message %s has no PDF: it is a %s message with text only", id, m.Kind)
		}
		if err := writeNewFile(*pdfFile, m.Attachment, 0o600); err != nil {
			return fmt.Errorf("--pdf: %w", err)
		}
	}
	summary := outbox.Summary{ID: m.ID, Kind: m.Kind, User: m.User, To: m.To, Subject: m.Subject,
		HasAttachment: m.Attachment != nil, CreatedAt: m.CreatedAt}
	if *asJSON {
		return writeJSON(out, struct {
			messageView
			Body     string `json:"body"`
			PDFBytes int    `json:"pdf_bytes"`
		}{viewOf(o, summary), m.Body, len(m.Attachment)})
	}
	fmt.Fprintf(out, "%s\n\n", channelName(o, m.Kind))
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "ID:\t%s\n", m.ID)
	fmt.Fprintf(tw, "Time:\t%s UTC\n", outboxTime(m.CreatedAt))
	fmt.Fprintf(tw, "Kind:\t%s\n", m.Kind)
	fmt.Fprintf(tw, "User:\t%s\n", m.User)
	fmt.Fprintf(tw, "To:\t%s\n", strings.ReplaceAll(m.To, "\n", "\n\t"))
	fmt.Fprintf(tw, "Subject:\t%s\n", m.Subject)
	switch {
	case m.Attachment == nil:
	case *pdfFile != "":
		fmt.Fprintf(tw, "PDF:\t%d bytes, written to %s\n", len(m.Attachment), *pdfFile)
	default:
		fmt.Fprintf(tw, "PDF:\t%d bytes (write it with --pdf FILE)\n", len(m.Attachment))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "\n%s", strings.TrimRight(m.Body, "\n")+"\n")
	return err
}
