package oces_test

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/nemid-dk/nemid/oces"
)

var (
	oidSAN   = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidCRLDP = asn1.ObjectIdentifier{2, 5, 29, 31}
	oidAIA   = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 1}
	oidBC    = asn1.ObjectIdentifier{2, 5, 29, 19}
)

// fixtureFor names the real certificate a generated one is compared with.
// There is no FOCES sample; VOCES is the nearest profile.
var fixtureFor = map[oces.Type]string{
	oces.POCES: "nemid-POCES-personal-valid.cert.pem",
	oces.MOCES: "nemid-MOCES-employee-valid.cert.pem",
	oces.VOCES: "sp-test.cert.pem",
	oces.FOCES: "sp-test.cert.pem",
}

var roundTrips = []oces.Request{
	{Type: oces.POCES, Name: "Taina Karlsen", ID: "9208-2002-2-175183276275"},
	{Type: oces.POCES, Name: "ignored", Pseudonym: true, ID: "9208-2002-2-000000000001"},
	{Type: oces.POCES, Name: "Åse Ørsted Æbelø", Youth: true, ID: "9208-2002-2-999999999999"},
	{Type: oces.POCES, Pseudonym: true, Youth: true, ID: "9208-2002-2-123456789012"},
	{Type: oces.MOCES, Name: "TU GENEREL MOCES gyldig", CVR: "30808460", Organization: "NETS DANID A/S", ID: "45490598"},
	{Type: oces.MOCES, Name: "Søren Ærø", CVR: "12345678", Organization: "Brødrene Ø ApS", OrganizationalUnit: "Økonomi",
		ID: "10000000", Email: "soren@example.dk"},
	{Type: oces.VOCES, Name: "NETS DANID A/S - TU VOCES gyldig", CVR: "30808460", Organization: "NETS DANID A/S",
		ID: "25351738", Email: "tu-support@danid.dk"},
	{Type: oces.VOCES, Name: "Firma - system", CVR: "87654321", Organization: "Firma A/S", ID: "1322561980007"},
	{Type: oces.FOCES, Name: "Firma - batchjob", CVR: "87654321", Organization: "Firma A/S", ID: "99999999",
		Email: "drift@firma.dk"},
}

func requestName(r oces.Request) string {
	return fmt.Sprintf("%s/pseudonym=%v/youth=%v/ou=%v/email=%v", r.Type, r.Pseudonym, r.Youth,
		r.OrganizationalUnit != "", r.Email != "")
}

func TestTemplateRoundTrip(t *testing.T) {
	ca := getCA(t)
	for _, r := range roundTrips {
		t.Run(requestName(r), func(t *testing.T) {
			p := testParams(t, r.Type)
			tmpl, err := oces.Template(r, p, &ca.leaf.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			if tmpl.SerialNumber != nil {
				t.Error("template has a serial number; the CA sets it")
			}
			c := ca.issue(t, tmpl)
			got, err := oces.ParseCertificate(c)
			if err != nil {
				t.Fatal(err)
			}
			want := oces.Identity{Type: r.Type, CommonName: r.Name, CVR: r.CVR, Organization: r.Organization,
				OrganizationalUnit: r.OrganizationalUnit, Pseudonym: r.Pseudonym, Youth: r.Youth, Email: r.Email}
			switch r.Type {
			case oces.POCES:
				want.PID, want.SerialNumber = r.ID, "PID:"+r.ID
			case oces.MOCES:
				want.RID, want.SerialNumber = r.ID, "CVR:"+r.CVR+"-RID:"+r.ID
			case oces.VOCES:
				want.UID, want.SerialNumber = r.ID, "CVR:"+r.CVR+"-UID:"+r.ID
			case oces.FOCES:
				want.FID, want.SerialNumber = r.ID, "CVR:"+r.CVR+"-FID:"+r.ID
			}
			if r.Pseudonym {
				want.CommonName = oces.PseudonymName
			}
			if r.Youth {
				want.OrganizationalUnit = oces.YouthUnit
			}
			if got != want {
				t.Errorf("identity:\n got %+v\nwant %+v", got, want)
			}
			if tmpl.Subject.CommonName != want.CommonName || tmpl.Subject.SerialNumber != want.SerialNumber {
				t.Errorf("template Subject = %v", tmpl.Subject)
			}
			checkDERSets(t, c.RawSubject)

			wantKU := x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment
			if r.Type == oces.POCES || r.Type == oces.MOCES {
				wantKU |= x509.KeyUsageContentCommitment
			}
			if c.KeyUsage != wantKU {
				t.Errorf("KeyUsage = %b, want %b", c.KeyUsage, wantKU)
			}
			if !c.BasicConstraintsValid || c.IsCA || len(c.ExtKeyUsage) != 0 || len(c.UnknownExtKeyUsage) != 0 {
				t.Errorf("basic constraints valid=%v CA=%v, EKU %v", c.BasicConstraintsValid, c.IsCA, c.ExtKeyUsage)
			}
			if len(c.PolicyIdentifiers) != 1 || !c.PolicyIdentifiers[0].Equal(p.Policy) {
				t.Errorf("policies = %v, want %v", c.PolicyIdentifiers, p.Policy)
			}
			if _, err := oces.OCESPreproduction.MatchPolicy(c, r.Type); err != nil {
				t.Error(err)
			}
			if !slices.Equal(c.CRLDistributionPoints, []string{p.FullCRLURL}) ||
				!slices.Equal(c.OCSPServer, []string{p.OCSPURL}) ||
				!slices.Equal(c.IssuingCertificateURL, []string{p.CAIssuersURL}) {
				t.Errorf("CRL DP %v, OCSP %v, CA issuers %v", c.CRLDistributionPoints, c.OCSPServer, c.IssuingCertificateURL)
			}
			skid, _ := oces.SubjectKeyID(&ca.leaf.PublicKey)
			if !bytes.Equal(c.SubjectKeyId, skid) || !bytes.Equal(c.AuthorityKeyId, ca.cert.SubjectKeyId) {
				t.Errorf("SKI %x (want %x), AKI %x (want %x)", c.SubjectKeyId, skid, c.AuthorityKeyId, ca.cert.SubjectKeyId)
			}
			if !c.NotBefore.Equal(p.NotBefore) || !c.NotAfter.Equal(p.NotBefore.AddDate(3, 0, 0)) {
				t.Errorf("validity %v – %v", c.NotBefore, c.NotAfter)
			}
			pool := x509.NewCertPool()
			pool.AddCert(ca.cert)
			if _, err := c.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: p.NotBefore.AddDate(1, 0, 0),
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
				t.Errorf("Verify: %v", err)
			}
			compareExtensions(t, c, fixtureCert(t, fixtureFor[r.Type]), r.Email != "")
		})
	}
}

// compareExtensions checks that c has the same extensions, with the same
// criticality, as the real certificate, apart from the SAN, which must be
// present exactly when an e-mail address was requested.
func compareExtensions(t *testing.T, c, real *x509.Certificate, email bool) {
	t.Helper()
	set := func(c *x509.Certificate) (map[string]bool, bool) {
		m := map[string]bool{}
		san := false
		for _, e := range c.Extensions {
			if e.Id.Equal(oidSAN) {
				san = true
				continue
			}
			m[e.Id.String()] = e.Critical
		}
		return m, san
	}
	got, san := set(c)
	want, _ := set(real)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("extensions (OID: critical):\n got %v\nwant %v (as in the real certificate)", got, want)
	}
	if san != email {
		t.Errorf("SAN present = %v, want %v", san, email)
	}
}

// TestTemplateMatchesRealDER rebuilds the real certificates' subjects, CRL
// distribution points, AIA and basic constraints and requires the very same
// bytes.
func TestTemplateMatchesRealDER(t *testing.T) {
	tests := []struct {
		file, issuer string
		crl          string
		partition    int
	}{
		{"nemid-POCES-personal-valid.cert.pem", "TRUST2408-Systemtest-XXXIV-CA.cer.pem",
			"http://crl.systemtest34.trust2408.com/systemtest34.crl", 152},
		{"nemid-MOCES-employee-valid.cert.pem", "TRUST2408-Systemtest-XXII-CA.cert.pem",
			"http://crl.systemtest22.trust2408.com/systemtest221.crl", 213},
		{"nemid-MOCES-employee-blocked.cert.pem", "TRUST2408-Systemtest-XXII-CA.cert.pem", "", 0},
		{"nemid-MOCES-employee-expired.cert.pem", "TRUST2408-Systemtest-VIII-CA.cert.pem", "", 0},
		{"sp-test.cert.pem", "TRUST2408-Systemtest-XXII-CA.cert.pem",
			"http://crl.systemtest22.trust2408.com/systemtest221.crl", 213},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			real := fixtureCert(t, tt.file)
			id, err := oces.ParseCertificate(real)
			if err != nil {
				t.Fatal(err)
			}
			issuer, err := oces.ParseRawName(fixtureCert(t, tt.issuer).RawSubject)
			if err != nil {
				t.Fatal(err)
			}
			p := testParams(t, id.Type)
			p.IssuerName, p.Policy = issuer, real.PolicyIdentifiers[0]
			p.OCSPURL, p.CAIssuersURL = real.OCSPServer[0], real.IssuingCertificateURL[0]
			if tt.crl != "" {
				p.FullCRLURL, p.Partition = tt.crl, tt.partition
			}
			r := oces.Request{Type: id.Type, Name: id.CommonName, CVR: id.CVR, Organization: id.Organization,
				ID: id.ID(), Email: id.Email}
			tmpl, err := oces.Template(r, p, real.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(tmpl.RawSubject, real.RawSubject) {
				t.Errorf("subject differs from the real one:\n got %x\nwant %x", tmpl.RawSubject, real.RawSubject)
			}
			if !bytes.Equal(tmpl.SubjectKeyId, real.SubjectKeyId) {
				t.Errorf("SKI %x, real %x", tmpl.SubjectKeyId, real.SubjectKeyId)
			}
			c := getCA(t).issue(t, tmpl)
			for _, e := range real.Extensions {
				if e.Id.Equal(oidCRLDP) && tt.crl == "" || !(e.Id.Equal(oidCRLDP) || e.Id.Equal(oidAIA) || e.Id.Equal(oidBC)) {
					continue
				}
				if ours := extension(c, e.Id); !bytes.Equal(ours, e.Value) {
					t.Errorf("extension %s differs from the real one:\n got %x\nwant %x", e.Id, ours, e.Value)
				}
			}
		})
	}
}

func extension(c *x509.Certificate, id asn1.ObjectIdentifier) []byte {
	for _, e := range c.Extensions {
		if e.Id.Equal(id) {
			return e.Value
		}
	}
	return nil
}

func TestTemplateValidity(t *testing.T) {
	ca := getCA(t)
	p := testParams(t, oces.VOCES)
	p.Validity = 48 * 3600e9
	tmpl, err := oces.Template(roundTrips[6], p, &ca.leaf.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if d := tmpl.NotAfter.Sub(tmpl.NotBefore); d != p.Validity {
		t.Errorf("validity %v, want %v", d, p.Validity)
	}
}

// TestTemplateCRLPartitionName checks the directory name of the partition
// distribution point against the test CA's own name.
func TestTemplateCRLPartitionName(t *testing.T) {
	ca := getCA(t)
	p := testParams(t, oces.POCES)
	p.Partition = 42
	tmpl, err := oces.Template(roundTrips[0], p, &ca.leaf.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	c := ca.issue(t, tmpl)
	ext := extension(c, oidCRLDP)
	// The CA name bytes followed by SET{SEQ{CN, UTF8String "CRL42"}}.
	suffix := []byte("\x31\x0e\x30\x0c\x06\x03\x55\x04\x03\x0c\x05CRL42")
	caName := ca.cert.RawSubject[2:] // the CA name is short: a one-byte length
	if !bytes.Contains(ext, append(append([]byte{}, caName...), suffix...)) {
		t.Errorf("CRL DP %x does not hold the CA name %x + CN=CRL42", ext, ca.cert.RawSubject)
	}
	if strings.Count(string(ext), "CRL42") != 1 {
		t.Errorf("CRL DP %x", ext)
	}
}
