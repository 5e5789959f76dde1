package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/nemid-dk/nemid/internal/auth"
	"github.com/nemid-dk/nemid/internal/ca"
	"github.com/nemid-dk/nemid/internal/registration"
	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/oces"
)

// demoPerson is one of the fictitious people `nemid serve --demo` registers.
type demoPerson struct {
	name, alias string
	female      bool
	address     []string
}

// demoPeople are fictitious: common Danish names, ordinary addresses, and
// CPR numbers drawn at start (demoCPR). The aliases are what the operator
// finds them by later: NemID numbers and CPR numbers are random.
var demoPeople = []demoPerson{
	{name: "Anne Sofie Jensen", alias: "anne-demo", female: true, address: []string{"Vestergade 12, 2. th.", "8000 Aarhus C"}},
	{name: "Lars Peter Nielsen", alias: "lars-demo", address: []string{"Nørrebrogade 45, 1. tv.", "2200 København N"}},
	{name: "Mette Kirstine Hansen", alias: "mette-demo", female: true, address: []string{"Algade 7", "9000 Aalborg"}},
}

// randomBelow draws uniformly from [0, n) with crypto/rand.
func randomBelow(n int64) (int64, error) {
	v, err := rand.Int(rand.Reader, big.NewInt(n))
	if err != nil {
		return 0, err
	}
	return v.Int64(), nil
}

// cprWeights are the modulus-11 weights of the ten CPR digits.
var cprWeights = [10]int{4, 3, 2, 7, 6, 5, 4, 3, 2, 1}

// demoCPR draws a CPR number for a fictitious person: a birth date from
// 2 January 1970 to 31 December 1990, a sequence number whose first digit
// (0-3) puts the year in the 1900s, the last digit odd for a man and even
// for a woman, as real ones are — and a weighted digit sum that is NOT a
// multiple of 11. Every number the CPR office issued for a birth date in
// those years passes that modulus-11 check, except on the few dates whose
// numbers ran out (from 2007 on, mostly 1 January, the date given to many
// immigrants, which is left out), so a demo number is almost surely nobody's.
func demoCPR(female bool) (string, error) {
	first := time.Date(1970, 1, 2, 0, 0, 0, 0, time.UTC)
	days := int64(time.Date(1990, 12, 31, 0, 0, 0, 0, time.UTC).Sub(first).Hours()/24) + 1
	for {
		d, err := randomBelow(days)
		if err != nil {
			return "", err
		}
		birth := first.AddDate(0, 0, int(d))
		if birth.Month() == time.January && birth.Day() == 1 {
			continue
		}
		seq, err := randomBelow(4000)
		if err != nil {
			return "", err
		}
		if (seq%2 == 0) != female {
			continue
		}
		cpr := birth.Format("020106") + fmt.Sprintf("%04d", seq)
		sum := 0
		for i, w := range cprWeights {
			sum += int(cpr[i]-'0') * w
		}
		if sum%11 == 0 {
			continue
		}
		if err := oces.ValidateCPR(cpr); err != nil {
			return "", fmt.Errorf("demo CPR number: %w", err)
		}
		return cpr, nil
	}
}

// createDemoUsers registers the demo people in an installation without
// users and prints, one line each, their NemID number, temporary password
// and where their key card is. In an installation with users it only says
// where to find them. Two servers starting at once on one database make
// them once: the second finds the aliases taken.
func createDemoUsers(ctx context.Context, st store.Store, kb *keyring, a *ca.Authority, out io.Writer) error {
	existing, err := st.Users(ctx, store.UserFilter{Limit: 1})
	if err != nil {
		return err
	}
	if len(existing) > 0 {
		return sayDemoUsersExist(ctx, st, out)
	}
	reg, err := newRegistration(ctx, st, kb, a)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "Demo users (fictitious people; their letters are in the SIMULATED outbox, nothing was posted):")
	for _, p := range demoPeople {
		cpr, err := demoCPR(p.female)
		if err != nil {
			return err
		}
		r, err := reg.Register(ctx, auth.ActorSystem, registration.Request{Name: p.name, CPR: cpr, Alias: p.alias, Address: p.address})
		if aliasTaken(err) {
			// Another server made the demo users meanwhile.
			return sayDemoUsersExist(ctx, st, out)
		}
		if err != nil {
			return fmt.Errorf("demo user %s: %w", p.name, err)
		}
		r.Card.Wipe()
		card := "nemid keycard print " + r.User.NemID
		if len(r.Letters) == 2 {
			card += " (or nemid outbox show " + r.Letters[1] + ")"
		}
		fmt.Fprintf(out, "  %-22s NemID %s  alias %-10s  temporary password %s  key card: %s\n",
			p.name, r.User.NemID, p.alias, r.TemporaryPassword, card)
	}
	fmt.Fprintln(out, "The temporary passwords are shown this once (their letters keep them: nemid user show <alias> lists them).")
	return nil
}

// sayDemoUsersExist tells a later start where the demo users are.
func sayDemoUsersExist(ctx context.Context, st store.Store, out io.Writer) error {
	var found []string
	for _, p := range demoPeople {
		u, err := st.UserByAlias(ctx, p.alias)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		found = append(found, fmt.Sprintf("%s (NemID %s, alias %s)", p.name, u.NemID, p.alias))
	}
	if len(found) == 0 {
		_, err := fmt.Fprintln(out, "--demo: this installation has users already, so no demo users were made (see nemid user list).")
		return err
	}
	fmt.Fprintln(out, "Demo users exist from an earlier start:")
	for _, f := range found {
		fmt.Fprintln(out, "  "+f)
	}
	_, err := fmt.Fprintln(out, "See them with nemid user list and nemid user show <alias>; their letters (temporary passwords, key cards) with nemid outbox list.")
	return err
}
