package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/store"
)

// serviceProvider returns a valid new registration whose name and
// certificate derive from name.
func serviceProvider(name string) store.ServiceProvider {
	return store.ServiceProvider{
		Name:          name,
		Origins:       []string{"https://" + strings.ToLower(strings.ReplaceAll(name, " ", "-")) + ".example", "http://localhost:8080"},
		CertDER:       []byte("VOCES of " + name),
		Subject:       "CN=" + name + ",O=" + name + " A/S // CVR:12345678,C=DK",
		AllowCPRMatch: true,
		CreatedAt:     t0,
	}
}

func certHash(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

func register(t *testing.T, s store.Store, sp store.ServiceProvider) store.ServiceProvider {
	t.Helper()
	got, err := s.RegisterServiceProvider(ctx(t), sp)
	if err != nil {
		t.Fatalf("RegisterServiceProvider(%q): %v", sp.Name, err)
	}
	return got
}

// sameSP fails unless got is want as stored: times truncated to
// microseconds and in UTC, the certificate hash filled in.
func sameSP(t *testing.T, got, want store.ServiceProvider) {
	t.Helper()
	if got.ID != want.ID || got.Name != want.Name || !slices.Equal(got.Origins, want.Origins) ||
		!bytes.Equal(got.CertDER, want.CertDER) || got.CertSHA256 != certHash(want.CertDER) ||
		got.Subject != want.Subject || got.AllowCPRMatch != want.AllowCPRMatch ||
		got.AllowCPRLookup != want.AllowCPRLookup || got.Disabled != want.Disabled {
		t.Errorf("service provider = %+v\nwant %+v", got, want)
	}
	sameTime(t, want.Name+" CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, want.Name+" DisabledAt", got.DisabledAt, want.DisabledAt)
}

// spNames lists the registered service providers as "id:name", in the order returned.
func spNames(t *testing.T, s store.Store) string {
	t.Helper()
	all, err := s.ServiceProviders(ctx(t))
	if err != nil {
		t.Fatalf("ServiceProviders: %v", err)
	}
	out := make([]string, len(all))
	for i, sp := range all {
		out[i] = fmt.Sprintf("%d:%s", sp.ID, sp.Name)
	}
	return fmt.Sprint(out)
}

func testRegisterServiceProvider(t *testing.T, s store.Store) {
	if got := spNames(t, s); got != "[]" {
		t.Fatalf("ServiceProviders before any registration = %s", got)
	}
	first := serviceProvider("Søren Shop")
	got := register(t, s, first)
	first.ID = 1
	sameSP(t, got, first)

	second := serviceProvider("Nets Customer Demo")
	second.AllowCPRLookup = true
	second.CertSHA256 = certHash(second.CertDER) // given and right: accepted
	second.CreatedAt = time.Time{}               // zero: now
	before := time.Now()
	got = register(t, s, second)
	if got.ID != 2 {
		t.Errorf("second registration got SPID %d, want 2", got.ID)
	}
	if got.CreatedAt.Before(before.Truncate(time.Microsecond)) || got.CreatedAt.After(time.Now()) || got.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt of a registration without one = %v, want now (%v) in UTC", got.CreatedAt, before)
	}
	second.ID, second.CreatedAt = 2, got.CreatedAt

	// Every way of finding them gives the same.
	for _, want := range []store.ServiceProvider{first, second} {
		byID, err := s.ServiceProvider(ctx(t), want.ID)
		if err != nil {
			t.Fatalf("ServiceProvider(%d): %v", want.ID, err)
		}
		sameSP(t, byID, want)
		for _, name := range []string{want.Name, strings.ToUpper(want.Name), strings.ToLower(want.Name)} {
			byName, err := s.ServiceProviderByName(ctx(t), name)
			if err != nil {
				t.Fatalf("ServiceProviderByName(%q): %v", name, err)
			}
			sameSP(t, byName, want)
		}
		for _, h := range []string{certHash(want.CertDER), strings.ToUpper(certHash(want.CertDER))} {
			byCert, err := s.ServiceProviderByCertificate(ctx(t), h)
			if err != nil {
				t.Fatalf("ServiceProviderByCertificate(%s): %v", h, err)
			}
			sameSP(t, byCert, want)
		}
	}
	if got := spNames(t, s); got != "[1:Søren Shop 2:Nets Customer Demo]" {
		t.Errorf("ServiceProviders = %s, want both in SPID order", got)
	}

	// Not found, each way.
	_, err := s.ServiceProvider(ctx(t), 3)
	mustErr(t, "ServiceProvider(3)", err, store.ErrNotFound)
	_, err = s.ServiceProvider(ctx(t), 0)
	mustErr(t, "ServiceProvider(0)", err, store.ErrNotFound)
	for _, name := range []string{"Søren", "Søren Shop ", "Soren Shop", ""} {
		_, err = s.ServiceProviderByName(ctx(t), name)
		mustErr(t, fmt.Sprintf("ServiceProviderByName(%q)", name), err, store.ErrNotFound)
	}
	_, err = s.ServiceProviderByCertificate(ctx(t), certHash([]byte("unknown")))
	mustErr(t, "ServiceProviderByCertificate(unknown)", err, store.ErrNotFound)
}

func testRegisterServiceProviderDuplicate(t *testing.T, s store.Store) {
	first := register(t, s, serviceProvider("Søren Shop"))
	register(t, s, serviceProvider("Kelvin"))
	cases := []struct {
		name string
		sp   store.ServiceProvider
		says string // in the error
	}{
		{"same name", serviceProvider("Søren Shop"), "name is taken by service provider 1"},
		{"name in other case", func() store.ServiceProvider {
			sp := serviceProvider("SØREN SHOP")
			sp.CertDER = []byte("another certificate")
			return sp
		}(), "name is taken by service provider 1"},
		// U+212A KELVIN SIGN folds to k.
		{"name with a folding sign", func() store.ServiceProvider {
			sp := serviceProvider("\u212aelvin")
			sp.CertDER = []byte("yet another certificate")
			return sp
		}(), "name is taken by service provider 2"},
		{"same certificate", func() store.ServiceProvider {
			sp := serviceProvider("Other Shop")
			sp.CertDER = first.CertDER
			return sp
		}(), "certificate is registered to service provider 1"},
	}
	for _, tc := range cases {
		_, err := s.RegisterServiceProvider(ctx(t), tc.sp)
		mustErr(t, tc.name, err, store.ErrDuplicate)
		if !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: error %q does not say %q", tc.name, err, tc.says)
		}
	}
	// Nothing changed, and the next registration still works.
	if got := spNames(t, s); got != "[1:Søren Shop 2:Kelvin]" {
		t.Errorf("after refused registrations: %s", got)
	}
	got, err := s.ServiceProvider(ctx(t), first.ID)
	if err != nil || got.Disabled || !bytes.Equal(got.CertDER, first.CertDER) {
		t.Errorf("first registration after refused ones = %+v, %v", got, err)
	}
	next := register(t, s, serviceProvider("Third"))
	if next.ID <= 2 {
		t.Errorf("registration after refused ones got SPID %d, want a new one above 2", next.ID)
	}
}

func testRegisterServiceProviderInvalid(t *testing.T, s store.Store) {
	with := func(f func(sp *store.ServiceProvider)) store.ServiceProvider {
		sp := serviceProvider("Valid Shop")
		f(&sp)
		return sp
	}
	cases := map[string]store.ServiceProvider{
		"ID given":            with(func(sp *store.ServiceProvider) { sp.ID = 7 }),
		"disabled":            with(func(sp *store.ServiceProvider) { sp.Disabled = true }),
		"disabled at":         with(func(sp *store.ServiceProvider) { sp.DisabledAt = t0 }),
		"no name":             with(func(sp *store.ServiceProvider) { sp.Name = "" }),
		"leading space":       with(func(sp *store.ServiceProvider) { sp.Name = " Shop" }),
		"trailing space":      with(func(sp *store.ServiceProvider) { sp.Name = "Shop\u00a0" }),
		"101 characters":      with(func(sp *store.ServiceProvider) { sp.Name = strings.Repeat("ø", 101) }),
		"control character":   with(func(sp *store.ServiceProvider) { sp.Name = "Sh\x07op" }),
		"newline":             with(func(sp *store.ServiceProvider) { sp.Name = "Sh\nop" }),
		"format character":    with(func(sp *store.ServiceProvider) { sp.Name = "Sh\u200bop" }),
		"invalid UTF-8":       with(func(sp *store.ServiceProvider) { sp.Name = "Sh\xffop" }),
		"digits only":         with(func(sp *store.ServiceProvider) { sp.Name = "1234" }),
		"no origin":           with(func(sp *store.ServiceProvider) { sp.Origins = nil }),
		"empty origin":        with(func(sp *store.ServiceProvider) { sp.Origins = []string{""} }),
		"origin twice":        with(func(sp *store.ServiceProvider) { sp.Origins = []string{"https://a.example", "https://a.example"} }),
		"no certificate":      with(func(sp *store.ServiceProvider) { sp.CertDER = nil }),
		"wrong hash":          with(func(sp *store.ServiceProvider) { sp.CertSHA256 = certHash([]byte("other")) }),
		"lookup but no match": with(func(sp *store.ServiceProvider) { sp.AllowCPRMatch, sp.AllowCPRLookup = false, true }),
	}
	for name, sp := range cases {
		_, err := s.RegisterServiceProvider(ctx(t), sp)
		if err == nil || errors.Is(err, store.ErrDuplicate) {
			t.Errorf("%s: err = %v, want a validation error", name, err)
		}
	}
	if got := spNames(t, s); got != "[]" {
		t.Fatalf("refused registrations stored %s", got)
	}
	// The limits themselves are allowed: 100 characters, spaces and
	// punctuation inside, digits with a letter.
	for _, name := range []string{strings.Repeat("ø", 100), "A", "www.nemid.nu", "Butik & Co. - 24/7", "7-Eleven"} {
		sp := serviceProvider("x")
		sp.Name, sp.CertDER = name, []byte(name)
		register(t, s, sp)
	}
}

func testDisableServiceProvider(t *testing.T, s store.Store) {
	a := register(t, s, serviceProvider("Shop A"))
	b := register(t, s, serviceProvider("Shop B"))
	t1 := t0.Add(time.Hour)
	got, err := s.DisableServiceProvider(ctx(t), a.ID, t1)
	if err != nil {
		t.Fatalf("DisableServiceProvider: %v", err)
	}
	want := serviceProvider("Shop A")
	want.ID, want.Disabled, want.DisabledAt = a.ID, true, t1
	sameSP(t, got, want)
	stored, err := s.ServiceProvider(ctx(t), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameSP(t, stored, want)

	// Again, later: nothing changes, and the disabled one is returned.
	got, err = s.DisableServiceProvider(ctx(t), a.ID, t1.Add(time.Hour))
	if err != nil {
		t.Fatalf("DisableServiceProvider again: %v", err)
	}
	sameSP(t, got, want)
	stored, _ = s.ServiceProvider(ctx(t), a.ID)
	sameSP(t, stored, want)

	// The other is untouched, and found by certificate and name as before.
	other, err := s.ServiceProviderByCertificate(ctx(t), b.CertSHA256)
	if err != nil || other.Disabled || !other.DisabledAt.IsZero() {
		t.Errorf("the other service provider = %+v, %v; want it active", other, err)
	}
	if byName, err := s.ServiceProviderByName(ctx(t), "shop a"); err != nil || !byName.Disabled {
		t.Errorf("disabled service provider by name = %+v, %v; want it, disabled", byName, err)
	}

	// A disabled agreement keeps its name and its certificate.
	_, err = s.RegisterServiceProvider(ctx(t), serviceProvider("Shop A"))
	mustErr(t, "registering a disabled one's name", err, store.ErrDuplicate)

	_, err = s.DisableServiceProvider(ctx(t), 99, t1)
	mustErr(t, "DisableServiceProvider(99)", err, store.ErrNotFound)
	if _, err := s.DisableServiceProvider(ctx(t), b.ID, time.Time{}); err == nil {
		t.Error("DisableServiceProvider without a time: no error")
	}
	if stored, _ := s.ServiceProvider(ctx(t), b.ID); stored.Disabled {
		t.Error("a refused DisableServiceProvider disabled it")
	}
}

func testRegisterServiceProviderConcurrent(t *testing.T, s store.Store) {
	const n = 20
	ids := make([]int64, n)
	errs := parallel(n, func(i int) error {
		sp, err := s.RegisterServiceProvider(ctx(t), serviceProvider(fmt.Sprintf("Shop %02d", i)))
		ids[i] = sp.ID
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("registration %d: %v", i, err)
		}
	}
	seen := map[int64]int{}
	for i, id := range ids {
		if j, dup := seen[id]; dup {
			t.Fatalf("registrations %d and %d both got SPID %d", j, i, id)
		}
		if id < 1 {
			t.Fatalf("registration %d got SPID %d", i, id)
		}
		seen[id] = i
		sp, err := s.ServiceProvider(ctx(t), id)
		if err != nil || sp.Name != fmt.Sprintf("Shop %02d", i) {
			t.Fatalf("ServiceProvider(%d) = %q, %v; want Shop %02d", id, sp.Name, err, i)
		}
	}
	all, err := s.ServiceProviders(ctx(t))
	if err != nil || len(all) != n {
		t.Fatalf("ServiceProviders: %d, %v; want %d", len(all), err, n)
	}
	if !slices.IsSortedFunc(all, func(a, b store.ServiceProvider) int { return int(a.ID - b.ID) }) {
		t.Errorf("ServiceProviders not in SPID order: %s", spNames(t, s))
	}

	// One name, registered by many at once (each with its own
	// certificate, and in different case): exactly one wins.
	errs = parallel(n, func(i int) error {
		sp := serviceProvider("Contested")
		if i%2 == 1 {
			sp.Name = "CONTESTED"
		}
		sp.CertDER = []byte(fmt.Sprintf("certificate %d", i))
		_, err := s.RegisterServiceProvider(ctx(t), sp)
		return err
	})
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, store.ErrDuplicate):
			t.Errorf("contender %d: %v, want ErrDuplicate", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d registrations of one name succeeded, want 1", won)
	}
	if all, _ := s.ServiceProviders(ctx(t)); len(all) != n+1 {
		t.Errorf("after the contest: %d service providers, want %d", len(all), n+1)
	}
}

const (
	pidA = "PID:9208-2002-2-000000000001"
	ridB = "CVR:12345678-RID:45490598"
	cpr1 = "0101701234"
	cpr2 = "3112991234"
)

func testLinkCPR(t *testing.T, s store.Store) {
	_, err := s.CPRLink(ctx(t), pidA)
	mustErr(t, "CPRLink before linking", err, store.ErrNotFound)

	if err := s.LinkCPR(ctx(t), store.CPRLink{Identity: pidA, CPR: cpr1, CreatedAt: t0}); err != nil {
		t.Fatalf("LinkCPR: %v", err)
	}
	// One person, another identity: allowed.
	if err := s.LinkCPR(ctx(t), store.CPRLink{Identity: ridB, CPR: cpr1, CreatedAt: t0.Add(time.Minute)}); err != nil {
		t.Fatalf("LinkCPR of a RID: %v", err)
	}
	check := func(identity, cpr string, created time.Time) {
		t.Helper()
		l, err := s.CPRLink(ctx(t), identity)
		if err != nil {
			t.Fatalf("CPRLink(%s): %v", identity, err)
		}
		if l.Identity != identity || l.CPR != cpr {
			t.Errorf("CPRLink(%s) = %+v, want CPR %s", identity, l, cpr)
		}
		sameTime(t, identity+" CreatedAt", l.CreatedAt, created)
	}
	check(pidA, cpr1, t0)
	check(ridB, cpr1, t0.Add(time.Minute))

	// The same link again: no error, no change (the first time stays).
	if err := s.LinkCPR(ctx(t), store.CPRLink{Identity: pidA, CPR: cpr1, CreatedAt: t0.Add(time.Hour)}); err != nil {
		t.Fatalf("LinkCPR again: %v", err)
	}
	check(pidA, cpr1, t0)

	// Another CPR number for a linked identity: a conflict that changes
	// nothing and shows neither number.
	err = s.LinkCPR(ctx(t), store.CPRLink{Identity: pidA, CPR: cpr2, CreatedAt: t0.Add(time.Hour)})
	mustErr(t, "LinkCPR with another CPR", err, store.ErrConflict)
	if strings.Contains(err.Error(), cpr1) || strings.Contains(err.Error(), cpr2) {
		t.Errorf("the conflict error shows a CPR number: %v", err)
	}
	check(pidA, cpr1, t0)

	// Lookups are exact: another spelling is another identity.
	for _, id := range []string{"9208-2002-2-000000000001", "pid:9208-2002-2-000000000001", "PID:9208-2002-2-000000000002"} {
		_, err := s.CPRLink(ctx(t), id)
		mustErr(t, "CPRLink("+id+")", err, store.ErrNotFound)
	}

	// Zero CreatedAt: now.
	before := time.Now().Truncate(time.Microsecond)
	const pidC = "PID:9208-2002-2-000000000003"
	if err := s.LinkCPR(ctx(t), store.CPRLink{Identity: pidC, CPR: cpr2}); err != nil {
		t.Fatal(err)
	}
	if l, err := s.CPRLink(ctx(t), pidC); err != nil || l.CreatedAt.Before(before) || l.CreatedAt.After(time.Now()) {
		t.Errorf("CPRLink without a time = %+v, %v; want created now", l, err)
	}
}

func testLinkCPRInvalid(t *testing.T, s store.Store) {
	cases := map[string]store.CPRLink{
		"no identity":       {CPR: cpr1},
		"bare PID":          {Identity: "9208-2002-2-000000000001", CPR: cpr1},
		"UID (a company)":   {Identity: "CVR:12345678-UID:25351738", CPR: cpr1},
		"FID (a system)":    {Identity: "CVR:12345678-FID:25351738", CPR: cpr1},
		"garbage":           {Identity: "hello", CPR: cpr1},
		"no CPR":            {Identity: pidA},
		"CPR with dash":     {Identity: pidA, CPR: "010170-1234"},
		"CPR of 9 digits":   {Identity: pidA, CPR: "010170123"},
		"CPR with a letter": {Identity: pidA, CPR: "01017012a4"},
		"CPR no such date":  {Identity: pidA, CPR: "3102701234"},
	}
	for name, l := range cases {
		err := s.LinkCPR(ctx(t), l)
		if err == nil || errors.Is(err, store.ErrConflict) {
			t.Errorf("%s: err = %v, want a validation error", name, err)
			continue
		}
		if l.CPR != "" && strings.Contains(err.Error(), l.CPR) {
			t.Errorf("%s: the error shows the CPR number: %v", name, err)
		}
	}
	_, err := s.CPRLink(ctx(t), pidA)
	mustErr(t, "CPRLink after refused links", err, store.ErrNotFound)
}

func testLinkCPRConcurrent(t *testing.T, s store.Store) {
	const n = 10
	// Callers 0 and 1 give one CPR number, the rest each another: either
	// one of the pair wins (and both succeed) or a single other caller.
	cprOf := func(i int) string { return fmt.Sprintf("01017%05d", max(i, 1)) }
	errs := parallel(n, func(i int) error {
		return s.LinkCPR(ctx(t), store.CPRLink{Identity: pidA, CPR: cprOf(i), CreatedAt: t0})
	})
	l, err := s.CPRLink(ctx(t), pidA)
	if err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		switch {
		case cprOf(i) == l.CPR && err != nil:
			t.Errorf("caller %d gave the CPR number that was linked, but got %v", i, err)
		case cprOf(i) != l.CPR && !errors.Is(err, store.ErrConflict):
			t.Errorf("caller %d gave another CPR number: %v, want ErrConflict", i, err)
		}
	}
}

func testCPRQueryCounts(t *testing.T, s store.Store) {
	sp1 := register(t, s, serviceProvider("Shop One")).ID
	sp2 := register(t, s, serviceProvider("Shop Two")).ID
	since := t0 // with nanoseconds: the store compares in microseconds
	queries := []store.CPRQuery{
		{SP: sp1, Identity: pidA, Failed: true, At: since.Add(-time.Microsecond)}, // just before: not counted
		{SP: sp1, Identity: pidA, Failed: true, At: since},                        // at the boundary: counted
		{SP: sp1, Identity: pidA, Failed: true, At: since.Add(time.Hour)},
		{SP: sp1, Identity: pidA, Failed: false, At: since.Add(time.Hour)}, // answered fine: not counted
		{SP: sp1, Identity: ridB, Failed: true, At: since.Add(time.Minute)},
		{SP: sp1, Identity: ridB, Failed: false, At: since.Add(time.Minute)},
		{SP: sp2, Identity: pidA, Failed: true, At: since.Add(time.Minute)}, // another SP's
	}
	for _, q := range queries {
		if err := s.RecordCPRQuery(ctx(t), q); err != nil {
			t.Fatalf("RecordCPRQuery(%+v): %v", q, err)
		}
	}
	cases := []struct {
		sp               int64
		identity         string
		since            time.Time
		forIdentity, all int
	}{
		{sp1, pidA, since, 2, 3},
		{sp1, ridB, since, 1, 3},
		{sp1, "PID:9208-2002-2-999999999999", since, 0, 3},
		{sp1, pidA, since.Add(-time.Microsecond), 3, 4},
		{sp1, pidA, since.Add(time.Microsecond), 1, 2},
		{sp1, pidA, since.Add(2 * time.Hour), 0, 0},
		{sp1, pidA, time.Time{}, 3, 4}, // zero time: since ever
		{sp2, pidA, since, 1, 1},
		{sp2, ridB, since, 0, 1},
		{99, pidA, since, 0, 0},
	}
	for _, c := range cases {
		forID, all, err := s.CPRQueryCounts(ctx(t), c.sp, c.identity, c.since)
		if err != nil {
			t.Fatalf("CPRQueryCounts: %v", err)
		}
		if forID != c.forIdentity || all != c.all {
			t.Errorf("CPRQueryCounts(SP %d, %s, %v) = %d, %d; want %d, %d", c.sp, c.identity, c.since, forID, all, c.forIdentity, c.all)
		}
	}
}

func testRecordCPRQueryInvalid(t *testing.T, s store.Store) {
	sp := register(t, s, serviceProvider("Shop")).ID
	err := s.RecordCPRQuery(ctx(t), store.CPRQuery{SP: 99, Identity: pidA, Failed: true, At: t0})
	mustErr(t, "RecordCPRQuery for an unknown SP", err, store.ErrNotFound)
	for name, q := range map[string]store.CPRQuery{
		"SP 0":        {SP: 0, Identity: pidA, Failed: true, At: t0},
		"no identity": {SP: sp, Failed: true, At: t0},
		"no time":     {SP: sp, Identity: pidA, Failed: true},
	} {
		if err := s.RecordCPRQuery(ctx(t), q); err == nil {
			t.Errorf("RecordCPRQuery %s: no error", name)
		}
	}
	if forID, all, err := s.CPRQueryCounts(ctx(t), sp, pidA, time.Time{}); err != nil || forID != 0 || all != 0 {
		t.Errorf("after refused records: counts %d, %d, %v; want none", forID, all, err)
	}
}

// testServiceProvidersContextCancelled: the new writes honour the context
// and do nothing when it is done.
func testServiceProvidersContextCancelled(t *testing.T, s store.Store) {
	sp := register(t, s, serviceProvider("Shop"))
	c, cancel := context.WithCancel(context.Background())
	cancel()
	calls := map[string]func() error{
		"RegisterServiceProvider": func() error {
			_, err := s.RegisterServiceProvider(c, serviceProvider("Other"))
			return err
		},
		"DisableServiceProvider": func() error { _, err := s.DisableServiceProvider(c, sp.ID, t0); return err },
		"LinkCPR":                func() error { return s.LinkCPR(c, store.CPRLink{Identity: pidA, CPR: cpr1}) },
		"RecordCPRQuery": func() error {
			return s.RecordCPRQuery(c, store.CPRQuery{SP: sp.ID, Identity: pidA, Failed: true, At: t0})
		},
		"CPRQueryCounts": func() error { _, _, err := s.CPRQueryCounts(c, sp.ID, pidA, t0); return err },
		"ServiceProviders": func() error {
			_, err := s.ServiceProviders(c)
			return err
		},
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: err = %v, want context.Canceled", name, err)
		}
	}
	if got := spNames(t, s); got != "[1:Shop]" {
		t.Errorf("after cancelled calls: %s", got)
	}
	if got, _ := s.ServiceProvider(ctx(t), sp.ID); got.Disabled {
		t.Error("a cancelled DisableServiceProvider disabled it")
	}
	_, err := s.CPRLink(ctx(t), pidA)
	mustErr(t, "CPRLink after a cancelled LinkCPR", err, store.ErrNotFound)
	if _, all, _ := s.CPRQueryCounts(ctx(t), sp.ID, pidA, time.Time{}); all != 0 {
		t.Errorf("a cancelled RecordCPRQuery recorded %d", all)
	}
}
