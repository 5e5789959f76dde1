package oces_test

import (
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/nemid-dk/nemid/oces"
)

// opensslText prints a certificate with openssl, an independent judge of
// the encoding.
func opensslText(t *testing.T, der []byte) string {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatalf("openssl is needed to cross-check the encoding: %v", err)
	}
	f := filepath.Join(t.TempDir(), "cert.pem")
	if err := os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "x509", "-in", f, "-noout", "-text", "-nameopt", "RFC2253").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	return string(out)
}

// extensionHeaders lists the extension lines openssl prints, such as
// "X509v3 Key Usage: critical", sorted.
func extensionHeaders(text string) []string {
	var h []string
	for _, m := range regexp.MustCompile(`(?m)^ {12}(\S.*?):( critical)?\s*$`).FindAllStringSubmatch(text, -1) {
		if m[1] == "X509v3 Subject Alternative Name" {
			continue
		}
		h = append(h, m[1]+m[2])
	}
	slices.Sort(h)
	return h
}

func TestOpenSSLView(t *testing.T) {
	ca := getCA(t)
	for _, r := range []oces.Request{roundTrips[0], roundTrips[5], roundTrips[6], roundTrips[8]} {
		t.Run(requestName(r), func(t *testing.T) {
			p := testParams(t, r.Type)
			tmpl, err := oces.Template(r, p, &ca.leaf.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			text := opensslText(t, ca.issue(t, tmpl).Raw)
			org := oces.PersonOrganization
			sn := "PID:" + r.ID
			if r.Type != oces.POCES {
				org = r.Organization + " // CVR:" + r.CVR
				sn = map[oces.Type]string{oces.MOCES: "-RID:", oces.VOCES: "-UID:", oces.FOCES: "-FID:"}[r.Type]
				sn = "CVR:" + r.CVR + sn + r.ID
			}
			esc := func(s string) string { // RFC 2253 as openssl prints it: UTF-8 bytes as \XX
				var b strings.Builder
				for _, c := range []byte(s) {
					if c >= 0x80 {
						fmt.Fprintf(&b, `\%02X`, c)
					} else {
						b.WriteByte(c)
					}
				}
				return b.String()
			}
			rest := ",O=" + esc(org) + ",C=DK"
			if r.OrganizationalUnit != "" {
				rest = ",OU=" + esc(r.OrganizationalUnit) + rest
			}
			// The order inside the multi-valued RDN is DER order, which
			// depends on the lengths, as in the real certificates.
			subj1 := "Subject: CN=" + esc(r.Name) + "+serialNumber=" + sn + rest
			subj2 := "Subject: serialNumber=" + sn + "+CN=" + esc(r.Name) + rest
			if !strings.Contains(text, subj1+"\n") && !strings.Contains(text, subj2+"\n") {
				t.Errorf("subject: want %q or %q in\n%s", subj1, subj2, text)
			}
			want := []string{
				"Policy: " + p.Policy.String(),
				"CPS: " + p.CPSURL,
				"User Notice:",
				"Explicit Text: " + p.NoticeText,
				"Full Name:\n                  URI:" + p.FullCRLURL,
				"Full Name:\n                  DirName:C = DK, O = Test Trust, CN = Test Trust Issuing CA, CN = CRL7",
				"OCSP - URI:" + p.OCSPURL,
				"CA Issuers - URI:" + p.CAIssuersURL,
				"CA:FALSE",
			}
			if r.Type == oces.POCES || r.Type == oces.MOCES {
				want = append(want, "Digital Signature, Non Repudiation, Key Encipherment, Data Encipherment\n")
			} else {
				want = append(want, "Digital Signature, Key Encipherment, Data Encipherment\n")
			}
			if r.Email != "" {
				want = append(want, "email:"+r.Email)
			}
			for _, w := range want {
				if !strings.Contains(text, w) {
					t.Errorf("openssl output lacks %q:\n%s", w, text)
				}
			}
			// No noticeRef (see certificatePolicies).
			if regexp.MustCompile(`(?m)^\s+(Organization|Number):`).MatchString(text) {
				t.Errorf("user notice has a noticeRef:\n%s", text)
			}
			real := opensslText(t, fixtureCert(t, fixtureFor[r.Type]).Raw)
			if got, want := extensionHeaders(text), extensionHeaders(real); !slices.Equal(got, want) {
				t.Errorf("openssl extension lines:\n got %q\nwant %q (real certificate)", got, want)
			}
		})
	}
}
