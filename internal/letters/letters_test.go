package letters_test

// The letters are judged by poppler's pdftotext, pdfinfo, pdffonts and
// pdftoppm (Debian package poppler-utils), never only by this package's
// own reading of what it wrote.

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/letters"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var (
	letterDate = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	validUntil = time.Date(2026, 3, 28, 11, 30, 0, 0, time.UTC) // 12.30 in Copenhagen (CET)
)

func sampleLetter() letters.Letter {
	return letters.Letter{
		From: letters.Sender{AddressLines: []string{"Postboks 123", "2300 København S"}},
		To: letters.Recipient{
			Name:         "Åse Ørsted Æbelø",
			AddressLines: []string{"Vestergade 12, 2. th.", "8000 Aarhus C"},
		},
		Date: letterDate,
	}
}

func samplePassword() letters.TemporaryPassword {
	return letters.TemporaryPassword{NemIDNumber: "384920175", Password: "604815", ValidUntil: validUntil}
}

// sampleCard is a full card whose keys are given in descending order, so
// that the letter must sort them. Key numbers are a permutation of
// 0000–9999 (7919 is prime to 10000), codes arbitrary but fixed.
func sampleCard() letters.KeyCardSheet {
	keys := make([]letters.Key, letters.KeysPerCard)
	for i := range keys {
		keys[i] = letters.Key{
			Number: fmt.Sprintf("%04d", (i*7919+13)%10000),
			Code:   fmt.Sprintf("%06d", (i*104729+271828)%1000000),
		}
	}
	slices.SortFunc(keys, func(a, b letters.Key) int { return strings.Compare(b.Number, a.Number) })
	return letters.KeyCardSheet{CardNumber: "G750159724", Keys: keys}
}

// poppler runs one of poppler's tools, which must be installed (the test
// fails, never skips, without them: see scripts/test.sh).
func poppler(t *testing.T, tool string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		t.Fatalf("%s not found: install poppler-utils (apt-get install -y poppler-utils)", tool)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

func writePDF(t *testing.T, pdf []byte) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "letter.pdf")
	if err := os.WriteFile(file, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	file := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		out := filepath.Join(t.TempDir(), name)
		os.WriteFile(out, got, 0o600)
		t.Errorf("%s differs from the golden file (new output in %s; if the change is meant, run go test -update and look at the PDF)", name, out)
	}
}

// pdfInfo returns pdfinfo's fields.
func pdfInfo(t *testing.T, file string) map[string]string {
	t.Helper()
	info := map[string]string{}
	for _, line := range strings.Split(poppler(t, "pdfinfo", file), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			info[k] = strings.TrimSpace(v)
		}
	}
	return info
}

func TestTemporaryPasswordLetter(t *testing.T) {
	doc, err := sampleLetter().TemporaryPassword(samplePassword())
	if err != nil {
		t.Fatal(err)
	}
	file := writePDF(t, doc.PDF)

	info := pdfInfo(t, file)
	for k, want := range map[string]string{
		"Pages":        "1",
		"Page size":    "595.28 x 841.89 pts (A4)",
		"Title":        "Din midlertidige adgangskode til NemID",
		"CreationDate": "Sat Mar 14 09:00:00 2026 UTC",
	} {
		if info[k] != want {
			t.Errorf("pdfinfo %s = %q, want %q", k, info[k], want)
		}
	}
	checkFonts(t, file)

	text := poppler(t, "pdftotext", file, "-")
	for _, want := range []string{
		"384920175", "604815", // the NemID number and the temporary password
		"Åse Ørsted Æbelø", "Vestergade 12, 2. th.", "8000 Aarhus C",
		"NemID · Postboks 123 · 2300 København S", // the return address
		"14. marts 2026", "28. marts 2026 kl. 12.30", // dates in Danish time
		"Din midlertidige adgangskode til NemID",
		"Sådan aktiverer du dit NemID",
		"In English:", "28 March 2026, 12:30 Danish time",
		"Med venlig hilsen",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("pdftotext does not find %q in the letter:\n%s", want, text)
		}
	}

	for _, want := range []string{"384920175", "604815", "28. marts 2026 kl. 12.30", "Åse Ørsted Æbelø", "8000 Aarhus C"} {
		if !strings.Contains(doc.Text, want) {
			t.Errorf("the text version lacks %q:\n%s", want, doc.Text)
		}
	}
	if doc.Subject != "Din midlertidige adgangskode til NemID" {
		t.Errorf("Subject = %q", doc.Subject)
	}
	golden(t, "temporary-password.pdf", doc.PDF)
	golden(t, "temporary-password.txt", []byte(doc.Text))
}

// checkFonts: every font in the PDF is the DejaVu Sans the package
// embeds, and it is embedded (pdffonts' "emb" column), so the letter
// prints the same everywhere.
func checkFonts(t *testing.T, file string) {
	t.Helper()
	out := poppler(t, "pdffonts", file)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 3 {
		t.Fatalf("pdffonts lists no font:\n%s", out)
	}
	for _, line := range lines[2:] { // after the heading and the rule
		f := strings.Fields(line)
		// name … emb sub uni object-number generation
		if len(f) < 6 || !strings.HasPrefix(f[0], "utf8dejavusans") || f[len(f)-5] != "yes" {
			t.Errorf("pdffonts: want only embedded DejaVu Sans, got %q", line)
		}
	}
}

// pairRE is a key in pdftotext's layout output: a key number and its code.
var pairRE = regexp.MustCompile(`\b(\d{4}) (\d{6})\b`)

func TestKeyCardLetter(t *testing.T) {
	card := sampleCard()
	doc, err := sampleLetter().KeyCard(card)
	if err != nil {
		t.Fatal(err)
	}
	file := writePDF(t, doc.PDF)
	if info := pdfInfo(t, file); info["Pages"] != "1" || info["Title"] != "Dit nøglekort til NemID" {
		t.Errorf("pdfinfo: Pages %q, Title %q; want 1 page titled Dit nøglekort til NemID", info["Pages"], info["Title"])
	}
	checkFonts(t, file)

	layout := poppler(t, "pdftotext", "-layout", file, "-")
	for _, want := range []string{"Dit nøglekort til NemID", "Åse Ørsted Æbelø", "Nøglekortnummer", "Nøgle nr.", "Klip kortet ud"} {
		if !strings.Contains(layout, want) {
			t.Errorf("pdftotext does not find %q", want)
		}
	}
	// The card number: in the information block and on both sides of the card.
	if n := strings.Count(layout, card.CardNumber); n != 3 {
		t.Errorf("the card number %s appears %d times, want 3 (information block, front, back)", card.CardNumber, n)
	}

	// Every key, exactly once, with its own code.
	want := map[string]string{}
	for _, k := range card.Keys {
		want[k.Number] = k.Code
	}
	got := map[string]string{}
	// Read the columns of the card as pdftotext lays them out: each pair
	// goes to the column whose start (taken from the first full row) is
	// nearest, then the columns are read top to bottom, left to right.
	var columns []int
	perColumn := map[int][]string{}
	for _, line := range strings.Split(layout, "\n") {
		ms := pairRE.FindAllStringSubmatchIndex(line, -1)
		if len(ms) == 0 {
			continue
		}
		if columns == nil {
			for _, m := range ms {
				columns = append(columns, m[0])
			}
		}
		for _, m := range ms {
			num, code := line[m[2]:m[3]], line[m[4]:m[5]]
			if _, dup := got[num]; dup {
				t.Errorf("key %s is printed twice", num)
			}
			got[num] = code
			col := 0
			for i, c := range columns {
				if abs(c-m[0]) < abs(columns[col]-m[0]) {
					col = i
				}
			}
			perColumn[col] = append(perColumn[col], num)
		}
	}
	if len(got) != letters.KeysPerCard {
		t.Errorf("pdftotext finds %d key/code pairs, want %d", len(got), letters.KeysPerCard)
	}
	for num, code := range want {
		if got[num] != code {
			t.Errorf("key %s: pdftotext reads code %q, want the card's", num, got[num])
		}
	}
	if len(columns) != 8 {
		t.Errorf("the card has %d columns, want 4 on each side", len(columns))
	}
	var reading []string
	for col := range columns {
		reading = append(reading, perColumn[col]...)
	}
	if !slices.IsSorted(reading) {
		t.Errorf("reading the card down each column, front then back, the key numbers are not ascending: %v", reading)
	}

	if !strings.Contains(doc.Text, card.CardNumber) || strings.Contains(doc.Text, card.Keys[0].Code) {
		t.Errorf("the text version must name the card and leave the codes to the card itself:\n%s", doc.Text)
	}
	golden(t, "key-card.pdf", doc.PDF)
	golden(t, "key-card.txt", []byte(doc.Text))
}

func abs(x int) int { return max(x, -x) }

// TestDeterministic: the same input gives the same bytes (no time of
// rendering, no random ID), and the letter's date is the PDF's creation date.
func TestDeterministic(t *testing.T) {
	l := sampleLetter()
	a, err := l.KeyCard(sampleCard())
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // past a second boundary: a clock in the PDF would show
	b, err := l.KeyCard(sampleCard())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.PDF, b.PDF) || a.Text != b.Text {
		t.Error("the same key card rendered twice differs")
	}
	l.Date = l.Date.Add(24 * time.Hour)
	c, err := l.KeyCard(sampleCard())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.PDF, c.PDF) {
		t.Error("a letter of another date renders the same bytes")
	}
}

// TestInvalidInput: each wrong input is refused with a message that says
// what is wrong — and never shows the password or a code.
func TestInvalidInput(t *testing.T) {
	const secretPassword, secretCode = "604815", "999888"
	// Which renderings the wrong input must stop.
	const (
		stopsBoth     = "both letters"
		stopsPassword = "the password letter"
		stopsCard     = "the key-card letter"
	)
	type tc struct {
		name  string
		edit  func(l *letters.Letter, p *letters.TemporaryPassword, c *letters.KeyCardSheet)
		want  string
		stops string
	}
	cases := []tc{
		{"no date", func(l *letters.Letter, _ *letters.TemporaryPassword, _ *letters.KeyCardSheet) { l.Date = time.Time{} }, "no date", stopsBoth},
		{"no name", func(l *letters.Letter, _ *letters.TemporaryPassword, _ *letters.KeyCardSheet) { l.To.Name = "" }, "recipient name is empty", stopsBoth},
		{"name with newline", func(l *letters.Letter, _ *letters.TemporaryPassword, _ *letters.KeyCardSheet) {
			l.To.Name = "Åse\nØrsted"
		}, "unprintable character U+000A", stopsBoth},
		{"name with spaces around", func(l *letters.Letter, _ *letters.TemporaryPassword, _ *letters.KeyCardSheet) { l.To.Name = " Åse" }, "surrounding spaces", stopsBoth},
		{"no address", func(l *letters.Letter, _ *letters.TemporaryPassword, _ *letters.KeyCardSheet) {
			l.To.AddressLines = nil
		}, "no postal address", stopsBoth},
		{"six address lines", func(l *letters.Letter, _ *letters.TemporaryPassword, _ *letters.KeyCardSheet) {
			l.To.AddressLines = []string{"a", "b", "c", "d", "e", "f"}
		}, "at most 5", stopsBoth},
		{"empty address line", func(l *letters.Letter, _ *letters.TemporaryPassword, _ *letters.KeyCardSheet) {
			l.To.AddressLines = []string{"Vestergade 12", ""}
		}, "recipient address line 2 is empty", stopsBoth},
		{"address too wide for the window", func(l *letters.Letter, _ *letters.TemporaryPassword, _ *letters.KeyCardSheet) {
			l.To.AddressLines = []string{"Sankt Annæ Plads 1234567890, opgang B, 4. sal tv., lejlighed 17"}
		}, "recipient address line 1 is too long to print", stopsBoth},
		{"sender address of four lines", func(l *letters.Letter, _ *letters.TemporaryPassword, _ *letters.KeyCardSheet) {
			l.From.AddressLines = []string{"a", "b", "c", "d"}
		}, "at most 3 are printed", stopsBoth},
		{"invalid UTF-8", func(l *letters.Letter, _ *letters.TemporaryPassword, _ *letters.KeyCardSheet) { l.To.Name = "\xff" }, "not valid UTF-8", stopsBoth},
		{"NemID number of 8 digits", func(_ *letters.Letter, p *letters.TemporaryPassword, _ *letters.KeyCardSheet) {
			p.NemIDNumber = "12345678"
		}, "NemID number is not 9 digits", stopsPassword},
		{"password of letters", func(_ *letters.Letter, p *letters.TemporaryPassword, _ *letters.KeyCardSheet) { p.Password = "abcdef" }, "temporary password is not 6 digits", stopsPassword},
		{"password of 7 digits", func(_ *letters.Letter, p *letters.TemporaryPassword, _ *letters.KeyCardSheet) {
			p.Password = secretPassword + "1"
		}, "temporary password is not 6 digits", stopsPassword},
		{"password without expiry", func(_ *letters.Letter, p *letters.TemporaryPassword, _ *letters.KeyCardSheet) {
			p.ValidUntil = time.Time{}
		}, "no expiry", stopsPassword},
		{"password expired", func(_ *letters.Letter, p *letters.TemporaryPassword, _ *letters.KeyCardSheet) {
			p.ValidUntil = letterDate
		}, "expires before", stopsPassword},
		{"card number lower-case", func(_ *letters.Letter, _ *letters.TemporaryPassword, c *letters.KeyCardSheet) {
			c.CardNumber = "g750159724"
		}, "card number is not", stopsCard},
		{"card number too short", func(_ *letters.Letter, _ *letters.TemporaryPassword, c *letters.KeyCardSheet) {
			c.CardNumber = "G75015972"
		}, "card number is not", stopsCard},
		{"147 keys", func(_ *letters.Letter, _ *letters.TemporaryPassword, c *letters.KeyCardSheet) { c.Keys = c.Keys[1:] }, "the card has 147 keys; a key card has 148", stopsCard},
		{"key number of 3 digits", func(_ *letters.Letter, _ *letters.TemporaryPassword, c *letters.KeyCardSheet) {
			c.Keys[5].Number = "123"
		}, "key 6 of the card: the key number is not 4 digits", stopsCard},
		{"key number twice", func(_ *letters.Letter, _ *letters.TemporaryPassword, c *letters.KeyCardSheet) {
			c.Keys[7].Number = c.Keys[3].Number
		}, "is on the card twice", stopsCard},
		{"code of 5 digits", func(_ *letters.Letter, _ *letters.TemporaryPassword, c *letters.KeyCardSheet) {
			c.Keys[2].Code = secretCode[:5]
		}, "the code is not 6 digits", stopsCard},
		{"code with a letter", func(_ *letters.Letter, _ *letters.TemporaryPassword, c *letters.KeyCardSheet) {
			c.Keys[2].Code = secretCode[:5] + "x"
		}, "the code is not 6 digits", stopsCard},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, p, card := sampleLetter(), samplePassword(), sampleCard()
			p.Password = secretPassword
			card.Keys[2].Code = secretCode
			c.edit(&l, &p, &card)
			var errs []error
			if c.stops != stopsCard {
				_, err := l.TemporaryPassword(p)
				errs = append(errs, err)
			}
			if c.stops != stopsPassword {
				_, err := l.KeyCard(card)
				errs = append(errs, err)
			}
			for _, err := range errs {
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("err = %v, want one containing %q", err, c.want)
				}
				for _, secret := range []string{secretPassword, secretCode[:5]} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("the error %q shows a secret", err)
					}
				}
			}
		})
	}
}

// TestDefaultSender: a zero Sender signs as NemID, with no address.
func TestDefaultSender(t *testing.T) {
	l := sampleLetter()
	l.From = letters.Sender{}
	doc, err := l.TemporaryPassword(samplePassword())
	if err != nil {
		t.Fatal(err)
	}
	text := poppler(t, "pdftotext", writePDF(t, doc.PDF), "-")
	if !strings.Contains(text, "Med venlig hilsen\nNemID") || !strings.HasPrefix(doc.Text, "NemID\n\n") {
		t.Errorf("want the letter signed by %s:\n%s", letters.DefaultSenderName, text)
	}
}

// TestConcurrentRendering: registrations render letters in parallel; the
// embedded font is shared, so each letter must still come out the same
// (run with -race).
func TestConcurrentRendering(t *testing.T) {
	want, err := sampleLetter().KeyCard(sampleCard())
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	got := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var doc letters.Document
			doc, errs[i] = sampleLetter().KeyCard(sampleCard())
			got[i] = doc.PDF
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || !bytes.Equal(got[i], want.PDF) {
			t.Errorf("letter %d rendered in parallel differs (err %v)", i, errs[i])
		}
	}
}
