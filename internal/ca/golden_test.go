package ca_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/nemid-dk/nemid/internal/ca"
	"github.com/nemid-dk/nemid/internal/store/storetest"
	"github.com/nemid-dk/nemid/oces"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// fixtureDir holds the real NemID preproduction certificates (read-only, beside the project).
const fixtureDir = "../../../shared/fixtures/nemid-preprod"

// TestGoldenBesideRealCertificates puts openssl's reading of one of our
// certificates beside a real NemID preproduction certificate of the same
// type. Both are reduced to their shape (values masked); the shapes must be
// equal once the documented differences (docs/oces-profiles.md) are applied
// to the real one, and each shape is kept as a golden file.
func TestGoldenBesideRealCertificates(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t), nil)
	ctx := context.Background()
	cases := []struct {
		name, fixture string
		req           oces.Request
	}{
		{"poces", "nemid-POCES-personal-valid.cert.pem", oces.Request{Type: oces.POCES, Name: "Taina Karlsen"}},
		{"moces", "nemid-MOCES-employee-valid.cert.pem", oces.Request{Type: oces.MOCES, Name: "TU GENEREL MOCES gyldig", CVR: "30808460", Organization: "NETS DANID A/S"}},
		{"voces", "sp-test.cert.pem", oces.Request{Type: oces.VOCES, Name: "NETS DANID A/S - TU VOCES gyldig", CVR: "30808460", Organization: "NETS DANID A/S", Email: "tu-support@danid.dk"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			realPEM := filepath.Join(fixtureDir, c.fixture)
			if _, err := os.Stat(realPEM); err != nil {
				t.Fatalf("real fixture missing (the tests expect ../shared beside the project): %v", err)
			}
			issued, err := e.ca.Issue(ctx, ca.IssueRequest{Subject: c.req, PublicKey: newKey(t).Public()})
			if err != nil {
				t.Fatal(err)
			}
			oursPEM := filepath.Join(t.TempDir(), "ours.pem")
			writePEM(t, oursPEM, issued.Certificate)

			ours := shape(opensslText(t, oursPEM))
			real := shape(opensslText(t, realPEM))
			golden(t, c.name+".ours.txt", ours)
			golden(t, c.name+".real.txt", real)
			// Extension order is crypto/x509's, not DanID's (documented): compare sorted.
			if want := sortExtensions(applyDocumentedDifferences(real)); sortExtensions(ours) != want {
				t.Errorf("our %s differs in shape from the real one (after the documented differences)\n--- ours\n%s\n--- real, adjusted\n%s", c.name, ours, want)
			}
		})
	}
}

func opensslText(t *testing.T, path string) string {
	return openssl(t, "x509", "-in", path, "-noout", "-text", "-nameopt", "RFC2253", "-certopt", "no_pubkey,no_sigdump,no_serial,no_validity")
}

// shape masks the values that differ between any two certificates of one
// type (names, identifiers, URLs, OIDs, key identifiers) and keeps the
// structure: which fields and extensions exist, their criticality and the
// layout of subject, policies and distribution points.
func shape(text string) string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, " ")
		switch {
		case line == "":
			continue
		case hexLine.MatchString(line):
			line = hexLine.ReplaceAllString(line, "${1}<hex>")
		}
		for _, m := range masks {
			line = m.re.ReplaceAllString(line, m.with)
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n") + "\n"
}

var hexLine = regexp.MustCompile(`^(\s*)([0-9A-Fa-f]{2}:)+[0-9A-Fa-f]{2}:?$`)

var masks = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`URI:http://[^\s,]+`), "URI:<url>"},
	{regexp.MustCompile(`CPS: http://\S+`), "CPS: <url>"},
	{regexp.MustCompile(`Issuer: .*`), "Issuer: <issuing CA>"},
	{regexp.MustCompile(`PID:[0-9-]+`), "PID:<pid>"},
	{regexp.MustCompile(`CVR:[0-9]{8}-(RID|UID|FID):[0-9]+`), "CVR:<cvr>-$1:<n>"},
	{regexp.MustCompile(`CVR:[0-9]{8}`), "CVR:<cvr>"},
	{regexp.MustCompile(`CN=[^,+]+`), "CN=<cn>"},
	{regexp.MustCompile(`CN = CRL[0-9]+`), "CN = CRL<n>"},
	{regexp.MustCompile(`O = [^,]+, CN = [^,]+, CN = CRL<n>`), "O = <org>, CN = <issuing CA>, CN = CRL<n>"},
	{regexp.MustCompile(`O=[^,]+ // CVR`), "O=<company> // CVR"},
	{regexp.MustCompile(`Policy: [0-9.]+`), "Policy: <policy>"},
	{regexp.MustCompile(`Explicit Text: .*`), "Explicit Text: <text naming the policy>"},
	{regexp.MustCompile(`email:\S+`), "email:<email>"},
}

// applyDocumentedDifferences turns a real certificate's shape into the shape
// ours must have: no keyAgreement, and a user notice without noticeRef.
func applyDocumentedDifferences(s string) string {
	s = strings.ReplaceAll(s, ", Key Agreement", "")
	var out []string
	for _, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "Organization: ") || strings.HasPrefix(t, "Number: ") {
			continue
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n") + "\n"
}

// sortExtensions orders the extension blocks of a shape by their text.
func sortExtensions(s string) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	const extIndent = "            " // openssl indents each extension's first line by 12 spaces
	var head []string
	var blocks []string
	for _, l := range lines {
		switch {
		case len(blocks) == 0 && !strings.HasPrefix(l, extIndent) || strings.HasSuffix(l, "X509v3 extensions:"):
			head = append(head, l)
		case strings.HasPrefix(l, extIndent) && !strings.HasPrefix(l, extIndent+" "):
			blocks = append(blocks, l)
		default:
			blocks[len(blocks)-1] += "\n" + l
		}
	}
	sort.Strings(blocks)
	return strings.Join(append(head, blocks...), "\n") + "\n"
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file (run with -update to create): %v", err)
	}
	if string(want) != got {
		t.Errorf("%s changed (run with -update if intended)\n--- got\n%s--- want\n%s", path, got, want)
	}
}
