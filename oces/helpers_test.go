package oces_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/oces"
)

// fixtureDir holds real NemID preproduction certificates. Tests fail, not
// skip, when it is missing: parsing real data is the point of these tests.
const fixtureDir = "../../shared/fixtures/nemid-preprod"

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		t.Fatalf("fixture missing: %v", err)
	}
	return b
}

func fixtureCert(t testing.TB, name string) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(readFixture(t, name))
	if block == nil {
		t.Fatalf("%s: no PEM block", name)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return c
}

var x509CertRE = regexp.MustCompile(`(?s)<ds:X509Certificate>(.*?)</ds:X509Certificate>`)

// xmlUserCert returns the one non-CA certificate in a signed NemID response.
func xmlUserCert(t testing.TB, name string) *x509.Certificate {
	t.Helper()
	var user *x509.Certificate
	for _, m := range x509CertRE.FindAllSubmatch(readFixture(t, name), -1) {
		der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(m[1])), ""))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if c.IsCA {
			continue
		}
		if user != nil {
			t.Fatalf("%s: more than one end-entity certificate", name)
		}
		user = c
	}
	if user == nil {
		t.Fatalf("%s: no end-entity certificate", name)
	}
	return user
}

type testCA struct {
	cert *x509.Certificate
	key  *rsa.PrivateKey
	leaf *rsa.PrivateKey // one subject key reused by all tests, to save time
}

var (
	caOnce sync.Once
	ca     testCA
	caErr  error
)

// getCA returns a throwaway RSA-2048 CA whose name uses UTF8String for O and
// CN, like the TRUST2408 CAs.
func getCA(t testing.TB) testCA {
	t.Helper()
	caOnce.Do(func() {
		var key, leaf *rsa.PrivateKey
		if key, caErr = rsa.GenerateKey(rand.Reader, 2048); caErr != nil {
			return
		}
		if leaf, caErr = rsa.GenerateKey(rand.Reader, 2048); caErr != nil {
			return
		}
		utf8 := func(s string) asn1.RawValue { return asn1.RawValue{Tag: asn1.TagUTF8String, Bytes: []byte(s)} }
		var name []byte
		name, caErr = asn1.Marshal(pkix.RDNSequence{
			{{Type: asn1.ObjectIdentifier{2, 5, 4, 6}, Value: "DK"}},
			{{Type: asn1.ObjectIdentifier{2, 5, 4, 10}, Value: utf8("Test Trust")}},
			{{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: utf8("Test Trust Issuing CA")}},
		})
		if caErr != nil {
			return
		}
		tmpl := &x509.Certificate{
			SerialNumber:          big.NewInt(1),
			RawSubject:            name,
			NotBefore:             time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
			NotAfter:              time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC),
			KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
			BasicConstraintsValid: true,
			IsCA:                  true,
		}
		var der []byte
		if der, caErr = x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key); caErr != nil {
			return
		}
		var cert *x509.Certificate
		if cert, caErr = x509.ParseCertificate(der); caErr != nil {
			return
		}
		ca = testCA{cert: cert, key: key, leaf: leaf}
	})
	if caErr != nil {
		t.Fatalf("test CA: %v", caErr)
	}
	return ca
}

// issue signs tmpl with the test CA and parses the result.
func (c testCA) issue(t testing.TB, tmpl *x509.Certificate) *x509.Certificate {
	t.Helper()
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &c.leaf.PublicKey, c.key)
	if err != nil {
		t.Fatalf("CreateCertificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("ParseCertificate: %v", err)
	}
	return cert
}

// testParams returns CA parameters for profile typ in the style of the
// preproduction CAs, with local URLs.
func testParams(t testing.TB, typ oces.Type) oces.Params {
	t.Helper()
	issuer, err := oces.ParseRawName(getCA(t).cert.RawSubject)
	if err != nil {
		t.Fatal(err)
	}
	policy := append(oces.OCESPreproduction.Prefix(typ), 5)
	return oces.Params{
		Policy: policy,
		CPSURL: "http://127.0.0.1:8080/repository",
		NoticeText: "Test certifikater fra denne CA udstedes under OID " + policy.String() +
			". Test certificates from this CA are issued under OID " + policy.String() + ".",
		OCSPURL:      "http://127.0.0.1:8080/ocsp",
		CAIssuersURL: "http://127.0.0.1:8080/ca.cer",
		FullCRLURL:   "http://127.0.0.1:8080/crl/full.crl",
		IssuerName:   issuer,
		Partition:    7,
		NotBefore:    time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
	}
}

// checkDERSets walks a DER encoding and fails if the members of any SET are
// not in DER order (X.690 §11.6), or if any length is not minimal.
func checkDERSets(t testing.TB, der []byte) {
	t.Helper()
	for len(der) > 0 {
		var v asn1.RawValue
		rest, err := asn1.Unmarshal(der, &v)
		if err != nil {
			t.Fatalf("not DER: %v", err)
		}
		if v.IsCompound {
			if v.Class == asn1.ClassUniversal && v.Tag == asn1.TagSet {
				var prev []byte
				for b := v.Bytes; len(b) > 0; {
					var m asn1.RawValue
					r, err := asn1.Unmarshal(b, &m)
					if err != nil {
						t.Fatalf("SET member: %v", err)
					}
					if prev != nil && string(prev) > string(m.FullBytes) {
						t.Errorf("SET members not in DER order: %x before %x", prev, m.FullBytes)
					}
					prev, b = m.FullBytes, r
				}
			}
			checkDERSets(t, v.Bytes)
		}
		der = rest
	}
}
