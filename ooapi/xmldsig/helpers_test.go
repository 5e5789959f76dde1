package xmldsig

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
)

// testPKI is a small OCES-like hierarchy for documents we sign ourselves:
// the attacker-with-a-valid-signature model, to reach the checks that come
// after signature verification.
type testPKI struct {
	root, ica, user *x509.Certificate
	caKey, userKey  *rsa.PrivateKey
}

var (
	pkiOnce sync.Once
	pki     testPKI
)

func getPKI(t testing.TB) *testPKI {
	t.Helper()
	pkiOnce.Do(func() {
		var err error
		// One key for both CAs keeps key generation (the slow part) at two.
		if pki.caKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if pki.userKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		pki.root = makeCert(t, "Test Root", nil, pki.caKey, &pki.caKey.PublicKey, true)
		pki.ica = makeCert(t, "Test Issuing CA", pki.root, pki.caKey, &pki.caKey.PublicKey, true)
		pki.user = makeCert(t, "Test User", pki.ica, pki.caKey, &pki.userKey.PublicKey, false)
	})
	return &pki
}

var serial int64

func makeCert(t testing.TB, cn string, parent *x509.Certificate, signKey crypto.Signer, pub crypto.PublicKey, ca bool) *x509.Certificate {
	t.Helper()
	serial++
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{Country: []string{"DK"}, CommonName: cn},
		NotBefore:             time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC),
		BasicConstraintsValid: true,
		IsCA:                  ca,
		KeyUsage:              x509.KeyUsageDigitalSignature,
	}
	if ca {
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	}
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// signWith returns a sign function for BuildJSClientResponse.
func signWith(key *rsa.PrivateKey) func([]byte) ([]byte, error) {
	return func(si []byte) ([]byte, error) {
		h := sha256.Sum256(si)
		return rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, h[:])
	}
}

// logonProps are the properties of a JS-client logon, as in the fixtures.
func logonProps() []Property {
	return []Property{
		{Name: "RequestIssuer", Value: "Nets Customer Demo", Encoding: EncodingBase64, VisibleToSigner: true},
		{Name: "challenge", Value: "c-42 <&> \"q\"", Encoding: EncodingXML},
		{Name: "TimeStamp", Value: "2021-04-20 15:26:05+0200", Encoding: EncodingXML},
		{Name: "action", Value: "logon", Encoding: EncodingXML},
		{Name: "identityAssuranceLevel", Value: "1", Encoding: EncodingXML},
	}
}

// ourDoc is a valid response signed by the test PKI, chain in JS-client order.
func ourDoc(t testing.TB) string {
	t.Helper()
	p := getPKI(t)
	b, err := BuildJSClientResponse(logonProps(), []*x509.Certificate{p.ica, p.user, p.root}, signWith(p.userKey))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// resign makes doc verify again after an edit, as an attacker holding a
// signing key would: it recomputes the digest of the element the Reference
// names (if there is one) and signs the canonical SignedInfo with key. It
// works on the etree and writes the document back out, which is fine: only
// the canonical forms count.
func resign(t testing.TB, doc string, key *rsa.PrivateKey) []byte {
	t.Helper()
	d := etree.NewDocument()
	d.ReadSettings.PreserveDuplicateAttrs = true
	if err := d.ReadFromString(doc); err != nil {
		t.Fatalf("resign: %v", err)
	}
	si := d.FindElement("//SignedInfo")
	ref := si.FindElement("Reference")
	if uri := ref.SelectAttrValue("URI", ""); strings.HasPrefix(uri, "#") {
		for _, el := range d.FindElements("//*") {
			if el.SelectAttrValue("Id", "") == uri[1:] {
				c, err := oracleCanonical(el)
				if err != nil {
					t.Fatalf("resign: %v", err)
				}
				h := sha256.Sum256(c)
				ref.FindElement("DigestValue").SetText(base64.StdEncoding.EncodeToString(h[:]))
				break
			}
		}
	}
	c, err := oracleCanonical(si)
	if err != nil {
		t.Fatalf("resign: %v", err)
	}
	sv, err := signWith(key)(c)
	if err != nil {
		t.Fatal(err)
	}
	d.FindElement("//SignatureValue").SetText(base64.StdEncoding.EncodeToString(sv))
	out, err := d.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// replaceOnce replaces exactly one occurrence of old, or fails the test:
// an attack that silently did not apply would pass for the wrong reason.
func replaceOnce(t testing.TB, s, old, new string) string {
	t.Helper()
	if n := strings.Count(s, old); n != 1 {
		t.Fatalf("replaceOnce: %q occurs %d times", old, n)
	}
	return strings.Replace(s, old, new, 1)
}

// between returns the substring from the start of open to the end of close.
func between(t testing.TB, s, open, close string) string {
	t.Helper()
	i := strings.Index(s, open)
	j := strings.Index(s, close)
	if i < 0 || j < i {
		t.Fatalf("between: %q … %q not found", open, close)
	}
	return s[i : j+len(close)]
}

func ecKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
