package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/nemid-dk/nemid/internal/audit"
	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/store"
)

var auditCommands = commandGroup{
	name: "audit",
	subcommands: []command{
		{"verify", "check the whole hash chain and name the first changed, removed or reordered entry", runAuditVerify},
		{"head", "print the chain's head (SEQ:HASH), to record somewhere safe", runAuditHead},
		{"list", "list audit entries, oldest first", runAuditList},
	},
}

// recordAudit appends the entry for an operation that has already been
// committed. The operation stands whatever happens here; a failed append is
// returned as an error (the command then exits non-zero after reporting
// what it did), never ignored, so that the operator learns at once that the
// log lacks an entry. The append runs even if an interrupt has cancelled
// ctx meanwhile: the operation it records is done.
func recordAudit(ctx context.Context, st store.AuditStore, e audit.Entry) error {
	if _, err := audit.New(st, clock.Real{}).Append(context.WithoutCancel(ctx), e); err != nil {
		return fmt.Errorf("%s of %s was done, but recording it in the audit log failed: %w", e.Action, e.Subject, err)
	}
	return nil
}

// verifyView is `nemid audit verify --json`.
type verifyView struct {
	OK       bool  `json:"ok"`
	Verified int64 `json:"verified"`
	// LastVerified is the head when OK, else the last record before the problem.
	LastVerified audit.Head     `json:"last_verified"`
	Problem      *audit.Problem `json:"problem,omitempty"`
}

func runAuditVerify(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlagSet("nemid audit verify [--head SEQ:HASH …] [--json]", `
Walks the whole audit log from the first entry and checks every hash and
link of the chain. Exits 0 and prints "N entries verified, head seq S hash H"
when the chain is intact; otherwise exits non-zero naming the first bad
entry: its seq and whether it was changed, removed, reordered, truncated or
rewritten.

The chain alone cannot show that its newest entries were removed together
with the head row, or that it was rewritten with new hashes from some entry
on: give heads recorded earlier (from `+"`nemid audit head`"+`, kept outside the
database) with --head, and the chain must still pass through each of them.`)
	var c common
	c.register(fs)
	var heads stringList
	fs.Var(&heads, "head", "a head recorded earlier, `SEQ:HASH`; repeat for several")
	asJSON := fs.Bool("json", false, "print the result as JSON (the exit status still tells)")
	if err := parse(fs, args); err != nil {
		return err
	}
	var recorded []audit.Head
	for _, h := range heads {
		head, err := audit.ParseHead(h)
		if err != nil {
			return fmt.Errorf("--head: %w", err)
		}
		recorded = append(recorded, head)
	}
	st, err := c.openExistingStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	rep, err := audit.New(st, clock.Real{}).Verify(ctx, recorded...)
	if err != nil {
		return err
	}
	if *asJSON {
		if err := writeJSON(out, verifyView{OK: rep.Problem == nil, Verified: rep.Verified, LastVerified: rep.Last, Problem: rep.Problem}); err != nil {
			return err
		}
	}
	if rep.Problem != nil {
		return fmt.Errorf("%w (%s before it verified)", rep.Problem, entries(rep.Verified))
	}
	if *asJSON {
		return nil
	}
	_, err = fmt.Fprintf(out, "%s verified, head seq %d hash %s\n", entries(rep.Verified), rep.Last.Seq, rep.Last.Hash)
	return err
}

// entries writes "1 entry" or "n entries".
func entries(n int64) string {
	if n == 1 {
		return "1 entry"
	}
	return fmt.Sprintf("%d entries", n)
}

func runAuditHead(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlagSet("nemid audit head [--json]", `
Prints the head of the audit chain — the newest entry's seq and hash — as
SEQ:HASH. Record it somewhere the database's writers cannot reach (a ticket,
a signed mail, paper) and pass it later to `+"`nemid audit verify --head`"+`:
that detects entries removed from the end, or the chain rewritten, since.
It does not verify the chain (`+"`nemid audit verify`"+` does).`)
	var c common
	c.register(fs)
	asJSON := fs.Bool("json", false, "print the head as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	st, err := c.openExistingStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	h, err := audit.New(st, clock.Real{}).Head(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(out, h)
	}
	_, err = fmt.Fprintln(out, h)
	return err
}

func runAuditList(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlagSet("nemid audit list [--after SEQ] [--limit N] [--json]", `
Lists audit entries in order, from the one after --after. Listing does not
check the chain: run `+"`nemid audit verify`"+` for that.`)
	var c common
	c.register(fs)
	after := fs.Int64("after", 0, "list the entries after this seq")
	limit := fs.Int("limit", 100, "at most this many entries (1 to 10000)")
	asJSON := fs.Bool("json", false, "print JSON (one array, with each entry's hashes) for scripts")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *after < 0 {
		return fmt.Errorf("--after %d: want a seq from 0", *after)
	}
	if *limit < 1 || *limit > 10000 {
		return fmt.Errorf("--limit %d: want 1 to 10000", *limit)
	}
	st, err := c.openExistingStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	recs, err := audit.New(st, clock.Real{}).Records(ctx, *after, *limit)
	if err != nil {
		return err
	}
	if *asJSON {
		if recs == nil {
			recs = []audit.Record{}
		}
		return writeJSON(out, recs)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME (UTC)\tACTOR\tACTION\tSUBJECT\tOUTCOME\tDETAIL")
	for _, r := range recs {
		outcome := string(r.Outcome)
		if r.Code != "" {
			outcome += " (" + r.Code + ")"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Seq, r.At.Format("2006-01-02 15:04:05.000000"),
			r.Actor, r.Action, r.Subject, outcome, detailText(r.Detail))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(recs) == *limit {
		last := recs[len(recs)-1].Seq
		_, err = fmt.Fprintf(out, "%s; there may be more: nemid audit list --after %d\n", entries(int64(len(recs))), last)
		return err
	}
	_, err = fmt.Fprintf(out, "%s\n", entries(int64(len(recs))))
	return err
}

// detailText writes a detail map as key=value pairs in key order, quoting
// values that hold spaces, quotes or nothing.
func detailText(d map[string]string) string {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		v := d[k]
		if v == "" || strings.ContainsAny(v, " \t\"=") {
			v = strconv.Quote(v)
		}
		parts[i] = k + "=" + v
	}
	return strings.Join(parts, " ")
}
