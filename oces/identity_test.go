package oces_test

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"os"
	"testing"

	"github.com/nemid-dk/nemid/oces"
)

func TestFixtureDirectoryExists(t *testing.T) {
	if _, err := os.Stat(fixtureDir); err != nil {
		t.Fatalf("real NemID fixtures are required: %v", err)
	}
}

// TestParseFixtures parses every real preproduction certificate.
func TestParseFixtures(t *testing.T) {
	const danid = "NETS DANID A/S"
	tests := []struct {
		name string
		cert func(testing.TB) *x509.Certificate
		want oces.Identity
	}{
		{"POCES personal valid", pemFile("nemid-POCES-personal-valid.cert.pem"), oces.Identity{
			Type: oces.POCES, CommonName: "Taina Karlsen", SerialNumber: "PID:9208-2002-2-175183276275",
			PID: "9208-2002-2-175183276275"}},
		{"MOCES employee valid", pemFile("nemid-MOCES-employee-valid.cert.pem"), oces.Identity{
			Type: oces.MOCES, CommonName: "TU GENEREL MOCES gyldig", SerialNumber: "CVR:30808460-RID:45490598",
			CVR: "30808460", RID: "45490598", Organization: danid}},
		{"MOCES employee blocked", pemFile("nemid-MOCES-employee-blocked.cert.pem"), oces.Identity{
			Type: oces.MOCES, CommonName: "TU GENEREL MOCES spærret", SerialNumber: "CVR:30808460-RID:83408167",
			CVR: "30808460", RID: "83408167", Organization: danid}},
		{"MOCES employee expired", pemFile("nemid-MOCES-employee-expired.cert.pem"), oces.Identity{
			Type: oces.MOCES, CommonName: "TU GENEREL MOCES udløbet PremExp1d1h", SerialNumber: "CVR:30808460-RID:97517995",
			CVR: "30808460", RID: "97517995", Organization: danid, Email: "tu-support@danid.dk"}},
		{"VOCES sp-test", pemFile("sp-test.cert.pem"), oces.Identity{
			Type: oces.VOCES, CommonName: "NETS DANID A/S - TU VOCES gyldig", SerialNumber: "CVR:30808460-UID:25351738",
			CVR: "30808460", UID: "25351738", Organization: danid, Email: "tu-support@danid.dk"}},
		{"XML POCES", xmlFile("XMLDSigMessage-POCES.xml"), oces.Identity{
			Type: oces.POCES, CommonName: "Tilde Nilsson", SerialNumber: "PID:9208-2002-2-751708631151",
			PID: "9208-2002-2-751708631151"}},
		{"XML POCES base64", xmlFile("XMLDSigMessage-POCES-encoding-base64.xml"), oces.Identity{
			Type: oces.POCES, CommonName: "Terkild Dam", SerialNumber: "PID:9208-2002-2-751953802340",
			PID: "9208-2002-2-751953802340"}},
		{"XML MOCES", xmlFile("XMLDSigMessage-MOCES.xml"), oces.Identity{
			Type: oces.MOCES, CommonName: "TU GENEREL MOCES gyldig", SerialNumber: "CVR:30808460-RID:45490598",
			CVR: "30808460", RID: "45490598", Organization: danid}},
		{"XML MOCES expired", xmlFile("XMLDSigMessage-MOCES-expired.xml"), oces.Identity{
			Type: oces.MOCES, CommonName: "TU GENEREL MOCES udløbet PremExp1d1h", SerialNumber: "CVR:30808460-RID:97517995",
			CVR: "30808460", RID: "97517995", Organization: danid, Email: "tu-support@danid.dk"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.cert(t)
			got, err := oces.ParseCertificate(c)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("ParseCertificate:\n got %+v\nwant %+v", got, tt.want)
			}
			if _, err := oces.OCESPreproduction.MatchPolicy(c, got.Type); err != nil {
				t.Errorf("preproduction policy: %v", err)
			}
			if _, err := oces.OCESProduction.MatchPolicy(c, got.Type); err == nil {
				t.Errorf("production policy matched a preproduction certificate")
			}
			other := oces.VOCES
			if got.Type == oces.VOCES {
				other = oces.MOCES
			}
			if _, err := oces.OCESPreproduction.MatchPolicy(c, other); err == nil {
				t.Errorf("policy of %s matched profile %s", got.Type, other)
			}
			// DanID computed the key identifier by RFC 5280 method 1.
			skid, err := oces.SubjectKeyID(c.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			if string(skid) != string(c.SubjectKeyId) {
				t.Errorf("SubjectKeyID = %x, certificate has %x", skid, c.SubjectKeyId)
			}
		})
	}
}

func pemFile(name string) func(testing.TB) *x509.Certificate {
	return func(t testing.TB) *x509.Certificate { return fixtureCert(t, name) }
}

func xmlFile(name string) func(testing.TB) *x509.Certificate {
	return func(t testing.TB) *x509.Certificate { return xmlUserCert(t, name) }
}

func TestParseFixtureCAs(t *testing.T) {
	for _, name := range []string{
		"TRUST2408-OCES-Primary-CA.cert.pem",
		"TRUST2408-Systemtest-VII-Primary-CA.cert.pem",
		"TRUST2408-Systemtest-VIII-CA.cert.pem",
		"TRUST2408-Systemtest-XXII-CA.cert.pem",
		"TRUST2408-Systemtest-XXXIV-CA.cer.pem",
	} {
		_, err := oces.ParseCertificate(fixtureCert(t, name))
		if !errors.Is(err, oces.ErrNotOCES) || !errors.Is(err, oces.ErrCACertificate) {
			t.Errorf("%s: err = %v, want ErrNotOCES and ErrCACertificate", name, err)
		}
	}
}

// TestParseCertificateErrors issues malformed subjects with the test CA.
func TestParseCertificateErrors(t *testing.T) {
	var (
		cn = asn1.ObjectIdentifier{2, 5, 4, 3}
		sn = asn1.ObjectIdentifier{2, 5, 4, 5}
		o  = asn1.ObjectIdentifier{2, 5, 4, 10}
	)
	atv := func(typ asn1.ObjectIdentifier, v string) pkix.RelativeDistinguishedNameSET {
		return pkix.RelativeDistinguishedNameSET{{Type: typ, Value: v}}
	}
	tests := []struct {
		name    string
		subject pkix.RDNSequence
		want    error
	}{
		{"no serialNumber", pkix.RDNSequence{atv(o, "X // CVR:30808460"), atv(cn, "A")}, oces.ErrNoSerialNumber},
		{"unknown prefix", pkix.RDNSequence{atv(cn, "A"), atv(sn, "SE:123")}, oces.ErrBadSerialNumber},
		{"empty PID", pkix.RDNSequence{atv(cn, "A"), atv(sn, "PID:")}, oces.ErrBadSerialNumber},
		{"short CVR", pkix.RDNSequence{atv(o, "X // CVR:1234"), atv(cn, "A"), atv(sn, "CVR:1234-RID:1")}, oces.ErrBadSerialNumber},
		{"unknown ID kind", pkix.RDNSequence{atv(o, "X // CVR:30808460"), atv(cn, "A"), atv(sn, "CVR:30808460-XID:1")}, oces.ErrBadSerialNumber},
		{"CVR mismatch", pkix.RDNSequence{atv(o, "X // CVR:11111111"), atv(cn, "A"), atv(sn, "CVR:30808460-RID:1")}, oces.ErrCVRMismatch},
		{"O without CVR", pkix.RDNSequence{atv(o, "X"), atv(cn, "A"), atv(sn, "CVR:30808460-UID:1")}, oces.ErrCVRMismatch},
		{"no O", pkix.RDNSequence{atv(cn, "A"), atv(sn, "CVR:30808460-FID:1")}, oces.ErrBadSubject},
		{"no CN", pkix.RDNSequence{atv(sn, "PID:9208-2002-2-123456789012")}, oces.ErrBadSubject},
		{"two CNs", pkix.RDNSequence{atv(cn, "A"), atv(cn, "B"), atv(sn, "PID:9208-2002-2-123456789012")}, oces.ErrBadSubject},
		{"two serialNumbers", pkix.RDNSequence{atv(cn, "A"), atv(sn, "PID:1"), atv(sn, "PID:2")}, oces.ErrBadSubject},
	}
	ca := getCA(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := asn1.Marshal(tt.subject)
			if err != nil {
				t.Fatal(err)
			}
			c := ca.issue(t, &x509.Certificate{RawSubject: raw, NotBefore: ca.cert.NotBefore, NotAfter: ca.cert.NotAfter})
			_, err = oces.ParseCertificate(c)
			var ie *oces.IdentityError
			if !errors.Is(err, tt.want) || !errors.Is(err, oces.ErrNotOCES) || !errors.As(err, &ie) {
				t.Fatalf("err = %v, want %v wrapped in *IdentityError", err, tt.want)
			}
			t.Log(err)
		})
	}
}

func TestParseSerialNumber(t *testing.T) {
	tests := []struct {
		in   string
		want oces.Identity
		err  bool
	}{
		{in: "PID:9208-2002-2-175183276275", want: oces.Identity{Type: oces.POCES, PID: "9208-2002-2-175183276275"}},
		{in: "CVR:30808460-RID:45490598", want: oces.Identity{Type: oces.MOCES, CVR: "30808460", RID: "45490598"}},
		{in: "CVR:30808460-UID:1322561980007", want: oces.Identity{Type: oces.VOCES, CVR: "30808460", UID: "1322561980007"}},
		{in: "CVR:30808460-FID:1234", want: oces.Identity{Type: oces.FOCES, CVR: "30808460", FID: "1234"}},
		{in: "", err: true},
		{in: "PID:", err: true},
		{in: "PID:12 34", err: true},
		{in: "pid:1", err: true},
		{in: "CVR:30808460", err: true},
		{in: "CVR:30808460-RID:", err: true},
		{in: "CVR:3080846a-RID:1", err: true},
		{in: "CVR:30808460_RID:1", err: true},
	}
	for _, tt := range tests {
		got, err := oces.ParseSerialNumber(tt.in)
		if tt.err {
			if !errors.Is(err, oces.ErrBadSerialNumber) {
				t.Errorf("ParseSerialNumber(%q) err = %v, want ErrBadSerialNumber", tt.in, err)
			}
			continue
		}
		tt.want.SerialNumber = tt.in
		if err != nil || got != tt.want {
			t.Errorf("ParseSerialNumber(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
		if got.ID() == "" {
			t.Errorf("ParseSerialNumber(%q).ID() is empty", tt.in)
		}
	}
}

func TestEnvironmentAllows(t *testing.T) {
	prod := oces.OCESProduction
	tests := []struct {
		typ    oces.Type
		policy asn1.ObjectIdentifier
		want   bool
	}{
		{oces.POCES, asn1.ObjectIdentifier{1, 2, 208, 169, 1, 1, 1, 1, 5}, true},
		{oces.POCES, asn1.ObjectIdentifier{1, 2, 208, 169, 1, 1, 1, 1}, true},
		// Arcs, not strings: ...1.1.10 is not under ...1.1.1.
		{oces.POCES, asn1.ObjectIdentifier{1, 2, 208, 169, 1, 1, 1, 10, 1}, false},
		{oces.MOCES, asn1.ObjectIdentifier{1, 2, 208, 169, 1, 1, 1, 1, 5}, false},
		{oces.FOCES, asn1.ObjectIdentifier{1, 2, 208, 169, 1, 1, 1, 4, 2}, true},
		{oces.VOCES, asn1.ObjectIdentifier{1, 2, 208, 169, 1, 1}, false},
		{oces.Type("x"), asn1.ObjectIdentifier{1, 2, 208, 169, 1, 1, 1, 1, 5}, false},
	}
	for _, tt := range tests {
		if got := prod.Allows(tt.typ, tt.policy); got != tt.want {
			t.Errorf("Allows(%s, %s) = %v, want %v", tt.typ, tt.policy, got, tt.want)
		}
	}
	for _, typ := range oces.Types() {
		if !oces.OCESDevelopmentTest.Allows(typ, asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 31313, 2, 4, 2, 1, 3}) {
			t.Errorf("development environment rejects %s", typ)
		}
	}
	for _, e := range oces.Environments() {
		for _, typ := range oces.Types() {
			if len(e.Prefix(typ)) == 0 {
				t.Errorf("%s has no prefix for %s", e.Name, typ)
			}
		}
	}
	if got := oces.OCESPreproduction.Prefix(oces.MOCES).String(); got != "1.3.6.1.4.1.31313.2.4.6.2" {
		t.Errorf("preproduction MOCES prefix = %s", got)
	}
}

func TestParseType(t *testing.T) {
	for _, s := range []string{"poces", "MOCES", "VoCeS", "foces"} {
		if _, err := oces.ParseType(s); err != nil {
			t.Errorf("ParseType(%q): %v", s, err)
		}
	}
	_, err := oces.ParseType("x")
	if err == nil || err.Error() != `unknown profile "x": want poces, moces, voces or foces` {
		t.Errorf("ParseType(x) err = %v", err)
	}
}
