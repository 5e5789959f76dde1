package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/oces"
)

var cprCommands = commandGroup{
	name: "cpr",
	subcommands: []command{
		{"link", "record which CPR number a PID or RID belongs to", runCPRLink},
		{"show", "show the CPR number a PID or RID is linked to", runCPRShow},
	},
	about: cprAbout,
}

// cprAbout says what these commands are for, in every help text.
const cprAbout = `The PID/RID-CPR services answer from these links. Until user registration
exists (and writes them), these commands are the operator's test tools:
link the PID of a POCES, or the RID of a MOCES, certificate from
` + "`nemid ca issue`" + ` to a test CPR number. A link is never changed or removed.`

// identityFlags are the ways to name an identity that has a CPR number.
type identityFlags struct{ pid, rid, cvr string }

func (f *identityFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.pid, "pid", "", "a person's PID, 9208-2002-2-NNNNNNNNNNNN (as in a POCES certificate)")
	fs.StringVar(&f.rid, "rid", "", "an employee's RID (as in a MOCES certificate); with --cvr")
	fs.StringVar(&f.cvr, "cvr", "", "with --rid: the employer's CVR number, 8 digits")
}

// identity returns the identity in the certificate's serialNumber form,
// "PID:…" or "CVR:…-RID:…", which is how the store keys the links.
func (f *identityFlags) identity() (string, error) {
	// A prefix copied along from a certificate's serialNumber is accepted.
	pid := strings.TrimPrefix(f.pid, "PID:")
	rid := strings.TrimPrefix(f.rid, "RID:")
	switch {
	case pid != "" && (rid != "" || f.cvr != ""):
		return "", errors.New("give either --pid, or --rid with --cvr, not both")
	case pid != "":
		if err := oces.ValidatePID(pid); err != nil {
			return "", fmt.Errorf("--pid: %w", err)
		}
		return "PID:" + pid, nil
	case rid != "":
		if f.cvr == "" {
			return "", errors.New("--rid needs --cvr: a RID is unique only within its company")
		}
		if err := oces.ValidateRID(rid); err != nil {
			return "", fmt.Errorf("--rid: %w", err)
		}
		if err := oces.ValidateCVR(f.cvr); err != nil {
			return "", fmt.Errorf("--cvr: %w", err)
		}
		return "CVR:" + f.cvr + "-RID:" + rid, nil
	case f.cvr != "":
		return "", errors.New("--cvr goes with --rid")
	}
	return "", errors.New("give --pid PID, or --rid RID with --cvr CVR")
}

func runCPRLink(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlagSet("nemid cpr link (--pid PID | --rid RID --cvr CVR) --cpr CPR", `
Records that a PID or RID belongs to the person with a CPR number. Linking
the same pair again changes nothing; an identity linked to another CPR
number is refused.

`+cprAbout)
	var c common
	c.register(fs)
	var idf identityFlags
	idf.register(fs)
	cpr := fs.String("cpr", "", "the CPR number, DDMMYYXXXX or DDMMYY-XXXX")
	if err := parse(fs, args); err != nil {
		return err
	}
	identity, err := idf.identity()
	if err != nil {
		return err
	}
	if *cpr == "" {
		return errors.New("--cpr is required")
	}
	// The error never repeats the number: CPR numbers are personal data.
	if err := oces.ValidateCPR(*cpr); err != nil {
		return fmt.Errorf("--cpr: %w", err)
	}
	number := strings.Replace(*cpr, "-", "", 1)

	st, err := c.openExistingStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if have, err := st.CPRLink(ctx, identity); err == nil {
		if have.CPR != number {
			return fmt.Errorf("%s is linked to a different CPR number already (since %s); a link is never changed",
				identity, have.CreatedAt.Format(time.RFC3339))
		}
		_, err := fmt.Fprintf(out, "%s was linked to this CPR number already (since %s)\n", identity, have.CreatedAt.Format(time.RFC3339))
		return err
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	err = st.LinkCPR(ctx, store.CPRLink{Identity: identity, CPR: number, CreatedAt: time.Now()})
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("%s was just linked to a different CPR number by someone else; a link is never changed", identity)
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "Linked %s to CPR number %s\n", identity, formatCPR(number))
	return err
}

// formatCPR writes a CPR number as people do, DDMMYY-XXXX.
func formatCPR(s string) string {
	if len(s) != 10 {
		return s
	}
	return s[:6] + "-" + s[6:]
}

func runCPRShow(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlagSet("nemid cpr show (--pid PID | --rid RID --cvr CVR) [--json]", `
Shows the CPR number a PID or RID is linked to, and since when. Exits
non-zero if it is linked to none.

`+cprAbout)
	var c common
	c.register(fs)
	var idf identityFlags
	idf.register(fs)
	asJSON := fs.Bool("json", false, "print JSON for scripts")
	if err := parse(fs, args); err != nil {
		return err
	}
	identity, err := idf.identity()
	if err != nil {
		return err
	}
	st, err := c.openExistingStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	l, err := st.CPRLink(ctx, identity)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%s is not linked to a CPR number (see nemid cpr link -h)", identity)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(out, struct {
			Identity string    `json:"identity"`
			CPR      string    `json:"cpr"`
			LinkedAt time.Time `json:"linked_at"`
		}{l.Identity, l.CPR, l.CreatedAt})
	}
	_, err = fmt.Fprintf(out, "%s\n  CPR     %s\n  linked  %s\n", l.Identity, formatCPR(l.CPR), l.CreatedAt.Format(time.RFC3339))
	return err
}
