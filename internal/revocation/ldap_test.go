package revocation

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/oces"
)

// The test PKI: a root and the issuing CA "C=DK, O=NemID Systemtest,
// CN=NemID Systemtest I CA", real CRLs signed with crypto/x509, and a leaf
// certificate whose CRL distribution point names partition 7.
const (
	ldapTestIssuingDN = "CN=NemID Systemtest I CA,O=NemID Systemtest,C=DK"
	ldapTestRootDN    = "CN=NemID Systemtest Root CA,O=NemID Systemtest,C=DK"
)

type ldapFixture struct {
	root, issuing *x509.Certificate
	issuingKey    crypto.Signer
	auths         []Authority
	crls          map[string][]byte // "issuing/7" → DER
	partitionDN   string            // read from the leaf's CRL distribution point, as OOAPI does
}

var (
	ldapFixOnce sync.Once
	ldapFix     *ldapFixture
	ldapFixErr  error
)

func ldapTestFixture(t testing.TB) *ldapFixture {
	t.Helper()
	ldapFixOnce.Do(func() { ldapFix, ldapFixErr = newLDAPFixture() })
	if ldapFixErr != nil {
		t.Fatal(ldapFixErr)
	}
	return ldapFix
}

func newLDAPFixture() (*ldapFixture, error) {
	now := time.Now().Truncate(time.Second)
	newCA := func(cn string, parent *x509.Certificate, parentKey crypto.Signer) (*x509.Certificate, crypto.Signer, error) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(now.UnixNano()),
			Subject:      pkix.Name{Country: []string{"DK"}, Organization: []string{"NemID Systemtest"}, CommonName: cn},
			NotBefore:    now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			IsCA: true, BasicConstraintsValid: true,
			KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		}
		if parent == nil {
			parent, parentKey = tmpl, key
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
		if err != nil {
			return nil, nil, err
		}
		c, err := x509.ParseCertificate(der)
		return c, key, err
	}
	root, rootKey, err := newCA("NemID Systemtest Root CA", nil, nil)
	if err != nil {
		return nil, err
	}
	issuing, issuingKey, err := newCA("NemID Systemtest I CA", root, rootKey)
	if err != nil {
		return nil, err
	}
	f := &ldapFixture{
		root: root, issuing: issuing, issuingKey: issuingKey,
		auths: []Authority{{StoreName: "root", Cert: root}, {StoreName: "issuing", Cert: issuing}},
		crls:  map[string][]byte{},
	}
	for _, c := range []struct {
		issuer    string
		partition int
		serials   []int64
	}{
		{"issuing", 0, []int64{100, 107, 108}}, {"issuing", 7, []int64{107}}, {"issuing", 8, []int64{108}},
		{"root", 0, nil}, {"root", 1, nil},
	} {
		cert, key := issuing, issuingKey
		if c.issuer == "root" {
			cert, key = root, rootKey
		}
		der, err := ldapSignCRL(cert, key, int64(len(f.crls)+1), c.serials...)
		if err != nil {
			return nil, err
		}
		f.crls[fmt.Sprintf("%s/%d", c.issuer, c.partition)] = der
	}

	// A leaf with the OCES distribution points (full CRL URL and the
	// directoryName of partition 7); the LDAP DN is read back from it.
	issuerName, err := oces.ParseRawName(issuing.RawSubject)
	if err != nil {
		return nil, err
	}
	cdp, err := oces.CRLDistributionPoints("http://127.0.0.1/crl/issuing.crl", issuerName, 7)
	if err != nil {
		return nil, err
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(107), Subject: pkix.Name{CommonName: "Test Person"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), ExtraExtensions: []pkix.Extension{cdp},
	}, issuing, leafKey.Public(), issuingKey)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(leafDER)
	if err != nil {
		return nil, err
	}
	if f.partitionDN, err = ldapPartitionDNOf(leaf); err != nil {
		return nil, err
	}
	return f, nil
}

func ldapSignCRL(ca *x509.Certificate, key crypto.Signer, number int64, serials ...int64) ([]byte, error) {
	now := time.Now().Truncate(time.Second)
	tmpl := &x509.RevocationList{Number: big.NewInt(number), ThisUpdate: now, NextUpdate: now.Add(time.Hour)}
	for _, s := range serials {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries,
			x509.RevocationListEntry{SerialNumber: big.NewInt(s), RevocationTime: now, ReasonCode: 1})
	}
	return x509.CreateRevocationList(rand.Reader, tmpl, ca, key)
}

// ldapPartitionDNOf turns the certificate's directoryName distribution
// point into an LDAP DN by reversing the RDNs (spec §8.2).
func ldapPartitionDNOf(c *x509.Certificate) (string, error) {
	for _, ext := range c.Extensions {
		if !ext.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 31}) {
			continue
		}
		var dps []asn1.RawValue
		if _, err := asn1.Unmarshal(ext.Value, &dps); err != nil {
			return "", err
		}
		for _, dp := range dps {
			var dpName, fullName asn1.RawValue // [0] DistributionPointName, [0] fullName
			if _, err := asn1.Unmarshal(dp.Bytes, &dpName); err != nil || dpName.Tag != 0 {
				continue
			}
			if _, err := asn1.Unmarshal(dpName.Bytes, &fullName); err != nil || fullName.Tag != 0 {
				continue
			}
			for rest := fullName.Bytes; len(rest) > 0; {
				var gn asn1.RawValue
				var err error
				if rest, err = asn1.Unmarshal(rest, &gn); err != nil {
					return "", err
				}
				if gn.Class == asn1.ClassContextSpecific && gn.Tag == 4 { // directoryName
					var name pkix.RDNSequence
					if _, err := asn1.Unmarshal(gn.Bytes, &name); err != nil {
						return "", err
					}
					return name.String(), nil
				}
			}
		}
	}
	return "", fmt.Errorf("no directoryName distribution point")
}

// ldapFakeCRLs is an in-memory CRLSource.
type ldapFakeCRLs struct {
	mu   sync.Mutex
	der  map[string][]byte
	fail map[string]error
}

func newLDAPFakeCRLs(f *ldapFixture) *ldapFakeCRLs {
	src := &ldapFakeCRLs{der: map[string][]byte{}, fail: map[string]error{}}
	for k, v := range f.crls {
		src.der[k] = v
	}
	return src
}

func (s *ldapFakeCRLs) CRL(ctx context.Context, issuer string, partition int) (store.CRL, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := fmt.Sprintf("%s/%d", issuer, partition)
	if err := s.fail[key]; err != nil {
		return store.CRL{}, err
	}
	der, ok := s.der[key]
	if !ok {
		return store.CRL{}, store.ErrNotFound
	}
	return store.CRL{Issuer: issuer, Partition: partition, DER: der}, nil
}

func (s *ldapFakeCRLs) put(key string, der []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.der[key] = der
}

// startLDAP serves the fixture on 127.0.0.1:0 until the test ends, and
// checks that Serve then returns nil promptly.
func startLDAP(t testing.TB, src CRLSource, mod func(*LDAPConfig)) (*LDAPServer, string) {
	t.Helper()
	cfg := LDAPConfig{
		Listen: "127.0.0.1:0", Authorities: ldapTestFixture(t).auths, CRLs: src,
		Log: slog.New(slog.DiscardHandler),
	}
	if os.Getenv("LDAP_TEST_LOG") != "" {
		cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := NewLDAPServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Serve did not return after cancel")
		}
	})
	return s, s.Addr().String()
}

// ldapsearchRun runs the real OpenLDAP client and returns its output,
// the directory it wrote values into (-tt -T) and its exit code.
func ldapsearchRun(t *testing.T, addr string, args ...string) (string, string, int) {
	t.Helper()
	if _, err := exec.LookPath("ldapsearch"); err != nil {
		t.Fatal("ldapsearch not found: install ldap-utils (Debian: apt-get install -y ldap-utils)")
	}
	dir := t.TempDir()
	full := append([]string{"-x", "-LLL", "-tt", "-T", dir, "-H", "ldap://" + addr, "-o", "nettimeout=10", "-o", "ldif-wrap=no", "-l", "10"}, args...)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ldapsearch", full...).CombinedOutput()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("ldapsearch: %v", err)
		}
		code = ee.ExitCode()
	}
	return string(out), dir, code
}

// ldapsearchValues reads the attribute values ldapsearch -tt wrote to files,
// by attribute description, and the DNs it printed.
func ldapsearchValues(t *testing.T, out string) (dns []string, vals map[string][][]byte) {
	t.Helper()
	vals = map[string][][]byte{}
	for _, line := range strings.Split(out, "\n") {
		if dn, ok := strings.CutPrefix(line, "dn: "); ok {
			dns = append(dns, dn)
			continue
		}
		attr, file, ok := strings.Cut(line, ":< file://")
		if !ok {
			continue
		}
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		vals[attr] = append(vals[attr], b)
	}
	return dns, vals
}

func TestLDAPLdapsearchPartitionCRL(t *testing.T) {
	f := ldapTestFixture(t)
	if f.partitionDN != "CN=CRL7,"+ldapTestIssuingDN {
		t.Fatalf("partition DN from the certificate = %q", f.partitionDN)
	}
	src := newLDAPFakeCRLs(f)
	_, addr := startLDAP(t, src, nil)

	// What OOAPI asks: base scope at the partition DN from the certificate.
	for _, attr := range []string{"certificateRevocationList;binary", "certificateRevocationList"} {
		out, _, code := ldapsearchRun(t, addr, "-b", f.partitionDN, "-s", "base", attr)
		if code != 0 {
			t.Fatalf("ldapsearch %s: exit %d\n%s", attr, code, out)
		}
		dns, vals := ldapsearchValues(t, out)
		if len(dns) != 1 || dns[0] != f.partitionDN || len(vals) != 1 {
			t.Fatalf("ldapsearch %s: got DNs %q and attributes %d\n%s", attr, dns, len(vals), out)
		}
		got := vals["certificateRevocationList;binary"]
		if len(got) != 1 || !bytes.Equal(got[0], f.crls["issuing/7"]) {
			t.Fatalf("ldapsearch %s: the CRL is not byte-identical to the one signed\n%s", attr, out)
		}
		crl, err := x509.ParseRevocationList(got[0])
		if err != nil || crl.CheckSignatureFrom(f.issuing) != nil || len(crl.RevokedCertificateEntries) != 1 {
			t.Fatalf("served CRL does not verify: %v", err)
		}
	}

	// The CA entry: certificate and full CRL; the root's partition CRL1.
	out, _, code := ldapsearchRun(t, addr, "-b", ldapTestIssuingDN, "-s", "base", "cACertificate;binary", "certificateRevocationList;binary")
	_, vals := ldapsearchValues(t, out)
	if code != 0 || !bytes.Equal(vals["cACertificate;binary"][0], f.issuing.Raw) ||
		!bytes.Equal(vals["certificateRevocationList;binary"][0], f.crls["issuing/0"]) {
		t.Fatalf("CA entry: exit %d\n%s", code, out)
	}
	out, _, code = ldapsearchRun(t, addr, "-b", "CN=CRL1,"+ldapTestRootDN, "-s", "base", "certificateRevocationList;binary")
	if _, vals = ldapsearchValues(t, out); code != 0 || !bytes.Equal(vals["certificateRevocationList;binary"][0], f.crls["root/1"]) {
		t.Fatalf("root partition: exit %d\n%s", code, out)
	}

	// Matched case-insensitively, insignificant spaces ignored.
	out, _, code = ldapsearchRun(t, addr, "-b", "cn=crl7, cn=nemid systemtest i ca,o=NEMID SYSTEMTEST , c=dk", "-s", "base", "certificateRevocationList;binary")
	if _, vals = ldapsearchValues(t, out); code != 0 || !bytes.Equal(vals["certificateRevocationList;binary"][0], f.crls["issuing/7"]) {
		t.Fatalf("case-insensitive DN: exit %d\n%s", code, out)
	}

	// Only cn, when only cn is asked for.
	out, _, code = ldapsearchRun(t, addr, "-b", f.partitionDN, "-s", "base", "(objectClass=*)", "cn")
	if dns, vals := ldapsearchValues(t, out); code != 0 || len(dns) != 1 || len(vals) != 1 || string(vals["cn"][0]) != "CRL7" {
		t.Fatalf("cn only: exit %d\n%s", code, out)
	}

	// A partition with no CRL, and a malformed DN.
	if out, _, code = ldapsearchRun(t, addr, "-b", "CN=CRL9,"+ldapTestIssuingDN, "-s", "base"); code != 32 || !strings.Contains(out, "No such object") {
		t.Fatalf("unknown partition: exit %d\n%s", code, out)
	}
	if out, _, code = ldapsearchRun(t, addr, "-b", "no DN here", "-s", "base"); code != 34 {
		t.Fatalf("invalid DN: exit %d\n%s", code, out)
	}

	// A newly signed CRL is served at once.
	newer, err := ldapSignCRL(f.issuing, f.issuingKey, 99, 107, 4242)
	if err != nil {
		t.Fatal(err)
	}
	src.put("issuing/7", newer)
	out, _, _ = ldapsearchRun(t, addr, "-b", f.partitionDN, "-s", "base", "certificateRevocationList;binary")
	if _, vals = ldapsearchValues(t, out); !bytes.Equal(vals["certificateRevocationList;binary"][0], newer) {
		t.Fatalf("the new CRL was not served\n%s", out)
	}
}

func TestLDAPLdapsearchTree(t *testing.T) {
	f := ldapTestFixture(t)
	_, addr := startLDAP(t, newLDAPFakeCRLs(f), nil)
	for _, tc := range []struct {
		base, scope, filter string
		want                []string
	}{
		{"C=DK", "sub", "(objectClass=pkiCA)", []string{ldapTestRootDN, ldapTestIssuingDN}},
		{"o=nemid systemtest,c=dk", "one", "(objectClass=*)", []string{ldapTestRootDN, ldapTestIssuingDN}},
		{"C=DK", "one", "(objectClass=*)", []string{"O=NemID Systemtest,C=DK"}},
		{"", "sub", "(cn=NemID Systemtest I CA)", []string{ldapTestIssuingDN}},
		{ldapTestIssuingDN, "sub", "(objectClass=*)", []string{ldapTestIssuingDN}}, // partitions are not listed
		{"C=DK", "sub", "(cn=*Root*)", []string{ldapTestRootDN}},
	} {
		out, _, code := ldapsearchRun(t, addr, "-b", tc.base, "-s", tc.scope, tc.filter, "1.1")
		dns, _ := ldapsearchValues(t, out)
		if code != 0 || strings.Join(dns, "|") != strings.Join(tc.want, "|") {
			t.Errorf("-b %q -s %s %s: exit %d, got %q, want %q", tc.base, tc.scope, tc.filter, code, dns, tc.want)
		}
	}
}
