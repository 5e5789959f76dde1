package oces_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/oces"
)

// wantFieldError fails unless err is a FieldError for field whose message
// contains substr.
func wantFieldError(t *testing.T, name string, err error, field, substr string) {
	t.Helper()
	var fe *oces.FieldError
	if !errors.As(err, &fe) || !errors.Is(err, oces.ErrInvalidInput) {
		t.Errorf("%s: err = %v, want a *FieldError for %s", name, err, field)
		return
	}
	// A joined error may hold several; look for the expected one.
	for _, e := range flatten(err) {
		if errors.As(e, &fe) && fe.Field == field && strings.Contains(e.Error(), substr) {
			return
		}
	}
	t.Errorf("%s: err = %v, want field %s with %q", name, err, field, substr)
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

func TestValidateCVR(t *testing.T) {
	for _, ok := range []string{"30808460", "12345678", "99999999"} {
		if err := oces.ValidateCVR(ok); err != nil {
			t.Errorf("ValidateCVR(%q): %v", ok, err)
		}
	}
	for in, why := range map[string]string{
		"1234567": "8 ASCII digits", "1234567a": "8 ASCII digits", "01234567": "start with 0",
		"123456789": "8 ASCII digits", "": "8 ASCII digits", "１２３４５６７８": "8 ASCII digits",
	} {
		wantFieldError(t, "CVR "+in, oces.ValidateCVR(in), "CVR", why)
	}
}

func TestParseCPR(t *testing.T) {
	date := func(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC) }
	good := map[string]time.Time{
		"010190-1234": date(1990, 1, 1),
		"0101901234":  date(1990, 1, 1),
		"311299-3999": date(1999, 12, 31),
		"010136-4000": date(2036, 1, 1),
		"010137-4000": date(1937, 1, 1),
		"010136-9000": date(2036, 1, 1),
		"010137-9000": date(1937, 1, 1),
		"010157-5000": date(2057, 1, 1),
		"010158-8000": date(1858, 1, 1),
		"290200-4000": date(2000, 2, 29), // 2000 was a leap year
		"290296-1000": date(1996, 2, 29),
	}
	for in, want := range good {
		got, err := oces.ParseCPR(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseCPR(%q) = %v, %v; want %v", in, got, err, want)
		}
		if err := oces.ValidateCPR(in); err != nil {
			t.Errorf("ValidateCPR(%q): %v", in, err)
		}
	}
	bad := map[string]string{
		"310299-1234":  "does not exist", // 31 February
		"310499-1234":  "does not exist",
		"290200-1234":  "does not exist", // 1900 was not a leap year
		"290201-4234":  "does not exist", // 2001 was not a leap year
		"320199-1234":  "does not exist",
		"001299-1234":  "does not exist",
		"011399-1234":  "does not exist",
		"010099-1234":  "does not exist",
		"32xxxx":       "DDMMYY",
		"":             "DDMMYY",
		"010190+1234":  "DDMMYY",
		"01019012345":  "DDMMYY",
		"010190-123":   "DDMMYY",
		"01019a-1234":  "DDMMYY",
		" 010190-1234": "DDMMYY",
	}
	for in, why := range bad {
		_, err := oces.ParseCPR(in)
		wantFieldError(t, "CPR "+in, err, "CPR", why)
		// A CPR number is personal data: never echo it.
		if err != nil && len(in) > 4 && strings.Contains(err.Error(), in[:6]) {
			t.Errorf("error %q reveals the CPR number", err)
		}
	}
}

func TestValidateNames(t *testing.T) {
	for _, ok := range []string{"Taina Karlsen", strings.Repeat("a", 64), strings.Repeat("æ", 64), " padded "} {
		if err := oces.ValidateCommonName(ok); err != nil {
			t.Errorf("ValidateCommonName(%q): %v", ok, err)
		}
	}
	tests := []struct {
		name, in, why string
	}{
		{"empty", "", "empty"},
		{"spaces", "   ", "empty"},
		{"65 characters", strings.Repeat("a", 65), "65 characters, at most 64"},
		{"65 Danish characters", strings.Repeat("ø", 65), "65 characters"},
		{"NUL", "a\x00b", "control character"},
		{"newline", "a\nb", "control character"},
		{"bidi override", "a\u202eb", "control character"},
		{"invalid UTF-8", "a\xffb", "UTF-8"},
	}
	for _, tt := range tests {
		wantFieldError(t, "CN "+tt.name, oces.ValidateCommonName(tt.in), "CN", tt.why)
		wantFieldError(t, "OU "+tt.name, oces.ValidateOrganizationalUnit(tt.in), "OU", tt.why)
	}
	if err := oces.ValidateOrganization(strings.Repeat("a", 48), "12345678"); err != nil {
		t.Errorf("48-character company: %v", err)
	}
	wantFieldError(t, "49-character company", oces.ValidateOrganization(strings.Repeat("a", 49), "12345678"), "O", "at most 48")
	wantFieldError(t, "company with CVR suffix", oces.ValidateOrganization("A // CVR:11111111", "12345678"), "O", "must not contain")
	wantFieldError(t, "company, bad CVR", oces.ValidateOrganization("A", "1234"), "CVR", "8 ASCII digits")
}

func TestValidateEmail(t *testing.T) {
	for _, ok := range []string{"tu-support@danid.dk", "a.b+c@example.com", strings.Repeat("a", 116) + "@example.com"} {
		if err := oces.ValidateEmail(ok); err != nil {
			t.Errorf("ValidateEmail(%q): %v", ok, err)
		}
	}
	for in, why := range map[string]string{
		"":              "empty",
		"not-an-email":  "local@domain",
		"a b@c.dk":      "without spaces",
		"Name <a@b.dk>": "without spaces",
		"<a@b.dk>":      "local@domain",
		"søren@b.dk":    "ASCII",
		"@b.dk":         "local@domain",
		strings.Repeat("a", 117) + "@example.com": "longer than 128",
	} {
		wantFieldError(t, "email "+in, oces.ValidateEmail(in), "email", why)
	}
}

func TestIdentifiers(t *testing.T) {
	first, other := map[byte]bool{}, map[byte]bool{}
	for i := 0; i < 2000; i++ {
		for _, f := range []func() (string, error){oces.NewRID, oces.NewUID, oces.NewFID} {
			id, err := f()
			if err != nil {
				t.Fatal(err)
			}
			if len(id) != 8 || id[0] == '0' || oces.ValidateRID(id) != nil {
				t.Fatalf("bad identifier %q", id)
			}
			first[id[0]] = true
			other[id[7]] = true
		}
	}
	if len(first) != 9 || len(other) != 10 {
		t.Errorf("digits used: first %d of 9, last %d of 10", len(first), len(other))
	}
	pid, err := oces.NewPID()
	if err != nil || oces.ValidatePID(pid) != nil || !strings.HasPrefix(pid, "9208-2002-2-") || len(pid) != 24 {
		t.Errorf("NewPID() = %q, %v", pid, err)
	}
	for _, bad := range []string{"", "9208-2002-2-12345678901", "9208-2002-2-1234567890123", "9208-2002-3-123456789012",
		"PID:9208-2002-2-123456789012", "9208-2002-2-12345678901x"} {
		wantFieldError(t, "PID "+bad, oces.ValidatePID(bad), "PID", "12 digits")
	}
	if err := oces.ValidateUID("1322561980007"); err != nil {
		t.Errorf("real 13-digit UID: %v", err)
	}
	for _, bad := range []string{"", "12a", "-1", strings.Repeat("1", 48)} {
		wantFieldError(t, "RID "+bad, oces.ValidateRID(bad), "RID", "digits")
		wantFieldError(t, "UID "+bad, oces.ValidateUID(bad), "UID", "digits")
		wantFieldError(t, "FID "+bad, oces.ValidateFID(bad), "FID", "digits")
	}
}

func TestRequestValidate(t *testing.T) {
	poces := oces.Request{Type: oces.POCES, Name: "A B", ID: "9208-2002-2-123456789012"}
	moces := oces.Request{Type: oces.MOCES, Name: "A B", CVR: "12345678", Organization: "Firma", ID: "12345678"}
	voces := oces.Request{Type: oces.VOCES, Name: "Firma - x", CVR: "12345678", Organization: "Firma", ID: "12345678"}
	with := func(r oces.Request, f func(*oces.Request)) oces.Request { f(&r); return r }
	tests := []struct {
		name       string
		r          oces.Request
		field, why string
	}{
		{"unknown type", with(poces, func(r *oces.Request) { r.Type = "xoces" }), "type", "want poces"},
		{"empty name", with(poces, func(r *oces.Request) { r.Name = "" }), "CN", "empty"},
		{"65-char CN", with(moces, func(r *oces.Request) { r.Name = strings.Repeat("x", 65) }), "CN", "at most 64"},
		{"control char", with(voces, func(r *oces.Request) { r.Name = "a\tb" }), "CN", "control"},
		{"CN Pseudonym without flag", with(poces, func(r *oces.Request) { r.Name = "Pseudonym" }), "CN", "set Pseudonym"},
		{"Pseudonym on MOCES", with(moces, func(r *oces.Request) { r.Pseudonym = true }), "pseudonym", "POCES only"},
		{"Youth on VOCES", with(voces, func(r *oces.Request) { r.Youth = true }), "youth", "POCES only"},
		{"CVR on POCES", with(poces, func(r *oces.Request) { r.CVR = "12345678" }), "CVR", "not allowed in a POCES"},
		{"O on POCES", with(poces, func(r *oces.Request) { r.Organization = "Firma" }), "O", "not allowed in a POCES"},
		{"OU on POCES", with(poces, func(r *oces.Request) { r.OrganizationalUnit = "X" }), "OU", "not allowed in a POCES"},
		{"email on POCES", with(poces, func(r *oces.Request) { r.Email = "a@b.dk" }), "email", "not allowed in a POCES"},
		{"missing CVR on VOCES", with(voces, func(r *oces.Request) { r.CVR = "" }), "CVR", "required in a VOCES"},
		{"missing O on VOCES", with(voces, func(r *oces.Request) { r.Organization = "" }), "O", "required in a VOCES"},
		{"bad CVR on MOCES", with(moces, func(r *oces.Request) { r.CVR = "01234567" }), "CVR", "start with 0"},
		{"OU on VOCES", with(voces, func(r *oces.Request) { r.OrganizationalUnit = "IT" }), "OU", "MOCES only"},
		{"long OU on MOCES", with(moces, func(r *oces.Request) { r.OrganizationalUnit = strings.Repeat("x", 65) }), "OU", "at most 64"},
		{"bad email", with(moces, func(r *oces.Request) { r.Email = "x" }), "email", "local@domain"},
		{"missing PID", with(poces, func(r *oces.Request) { r.ID = "" }), "PID", "12 digits"},
		{"bad RID", with(moces, func(r *oces.Request) { r.ID = "R1" }), "RID", "digits"},
		{"bad UID", with(voces, func(r *oces.Request) { r.ID = "" }), "UID", "digits"},
		{"bad FID", with(voces, func(r *oces.Request) { r.Type, r.ID = oces.FOCES, "x" }), "FID", "digits"},
	}
	for _, tt := range tests {
		wantFieldError(t, tt.name, tt.r.Validate(), tt.field, tt.why)
	}
	for _, r := range append([]oces.Request{poces, moces, voces}, roundTrips...) {
		if err := r.Validate(); err != nil {
			t.Errorf("%+v: %v", r, err)
		}
	}
	// Every problem is reported at once.
	r := oces.Request{Type: oces.MOCES, Pseudonym: true, ID: "x"}
	if n := len(flatten(r.Validate())); n != 4 {
		t.Errorf("got %d errors, want 4 (pseudonym, CVR, O, RID): %v", n, r.Validate())
	}
}

func TestParamsAndKeyValidation(t *testing.T) {
	ca := getCA(t)
	tests := []struct {
		name       string
		change     func(*oces.Params)
		field, why string
	}{
		{"relative CPS URL", func(p *oces.Params) { p.CPSURL = "/repository" }, "CPS URL", "absolute http"},
		{"ftp OCSP URL", func(p *oces.Params) { p.OCSPURL = "ftp://x/ocsp" }, "OCSP URL", "absolute http"},
		{"empty CA issuers URL", func(p *oces.Params) { p.CAIssuersURL = "" }, "CA issuers URL", "absolute http"},
		{"non-ASCII CRL URL", func(p *oces.Params) { p.FullCRLURL = "http://ø.dk/crl" }, "full CRL URL", "ASCII"},
		{"partition 0", func(p *oces.Params) { p.Partition = 0 }, "partition", "at least 1"},
		{"no policy", func(p *oces.Params) { p.Policy = nil }, "policy", "OID"},
		{"notice 201 characters", func(p *oces.Params) { p.NoticeText = strings.Repeat("é", 201) }, "notice text", "at most 200"},
		{"empty notice", func(p *oces.Params) { p.NoticeText = "" }, "notice text", "empty"},
		{"notice with control", func(p *oces.Params) { p.NoticeText = "a\x01" }, "notice text", "control"},
		{"no issuer", func(p *oces.Params) { p.IssuerName = nil }, "issuer name", "required"},
		{"no NotBefore", func(p *oces.Params) { p.NotBefore = time.Time{} }, "NotBefore", "required"},
		{"negative validity", func(p *oces.Params) { p.Validity = -time.Hour }, "validity", "negative"},
	}
	for _, tt := range tests {
		p := testParams(t, oces.POCES)
		tt.change(&p)
		wantFieldError(t, tt.name, p.Validate(), tt.field, tt.why)
		_, err := oces.Template(roundTrips[0], p, &ca.leaf.PublicKey)
		wantFieldError(t, tt.name+" (Template)", err, tt.field, tt.why)
	}
	p := testParams(t, oces.POCES)
	p.NoticeText = strings.Repeat("é", 200)
	if err := p.Validate(); err != nil {
		t.Errorf("200-character notice: %v", err)
	}

	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	_, err = oces.Template(roundTrips[0], testParams(t, oces.POCES), &small.PublicKey)
	wantFieldError(t, "1024-bit key", err, "public key", "1024 bits, at least 2048")
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, err = oces.Template(roundTrips[0], testParams(t, oces.POCES), &ec.PublicKey)
	wantFieldError(t, "ECDSA key", err, "public key", "*rsa.PublicKey")
	_, err = oces.Template(oces.Request{Type: oces.MOCES, Pseudonym: true}, testParams(t, oces.MOCES), &ca.leaf.PublicKey)
	wantFieldError(t, "bad request (Template)", err, "pseudonym", "POCES only")
}
