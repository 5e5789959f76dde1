package ooapi

// Hand-made chains for the chain builder's limits: what no CA of ours
// would issue, an attacker can still put in KeyInfo.

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/oces"
	"github.com/nemid-dk/nemid/ooapi/revocation"
	"github.com/nemid-dk/nemid/ooapi/xmldsig"
)

var chainNow = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// One key for every hand-made certificate: the tests are about names,
// shapes and limits, not keys.
var chainKey = func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}()

var chainSerial atomic.Int64

func makeCert(t testing.TB, tmpl, parent *x509.Certificate) *x509.Certificate {
	t.Helper()
	tmpl.SerialNumber = big.NewInt(chainSerial.Add(1))
	tmpl.NotBefore, tmpl.NotAfter = chainNow.Add(-time.Hour), chainNow.Add(24*time.Hour)
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &chainKey.PublicKey, chainKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func caCert(t testing.TB, cn string, parent *x509.Certificate) *x509.Certificate {
	return makeCert(t, &x509.Certificate{Subject: pkix.Name{CommonName: cn, Organization: []string{"Test"}, Country: []string{"DK"}},
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, MaxPathLen: -1}, parent)
}

func pocesCert(t testing.TB, parent *x509.Certificate, policies ...string) *x509.Certificate {
	var oids []x509.OID
	for _, p := range policies {
		o, err := x509.ParseOID(p)
		if err != nil {
			t.Fatal(err)
		}
		oids = append(oids, o)
	}
	return makeCert(t, &x509.Certificate{
		Subject: pkix.Name{Country: []string{"DK"}, Organization: []string{oces.PersonOrganization},
			ExtraNames: []pkix.AttributeTypeAndValue{
				{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: "Karen Blixen"},
				{Type: asn1.ObjectIdentifier{2, 5, 4, 5}, Value: "PID:9208-2002-2-123456789012"}}},
		KeyUsage: x509.KeyUsageDigitalSignature, BasicConstraintsValid: true, Policies: oids,
	}, parent)
}

const ppPOCES = "1.3.6.1.4.1.31313.2.4.6.1.5"

// logonWith validates a logon signed with chainKey with keyInfo, under tr.
func logonWith(t *testing.T, tr *Trust, keyInfo []*x509.Certificate) error {
	t.Helper()
	mc := &MemoryChallenges{Now: func() time.Time { return chainNow }}
	v, err := NewValidator(Config{Trust: tr, Revocation: revocation.None(), Challenges: mc,
		RequestIssuers: []string{"SP"}, Now: func() time.Time { return chainNow }})
	if err != nil {
		t.Fatal(err)
	}
	ch, _ := NewChallenge()
	mc.Put(context.Background(), "s", ch)
	doc, err := xmldsig.BuildJSClientResponse([]xmldsig.Property{
		{Name: "RequestIssuer", Value: "SP", Encoding: xmldsig.EncodingBase64, VisibleToSigner: true},
		{Name: "challenge", Value: string(ch), Encoding: xmldsig.EncodingXML},
		{Name: "action", Value: "logon", Encoding: xmldsig.EncodingXML},
	}, keyInfo, func(si []byte) ([]byte, error) {
		sum := sha256.Sum256(si)
		return rsa.SignPKCS1v15(rand.Reader, chainKey, crypto.SHA256, sum[:])
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Logon(context.Background(), "s", string(doc))
	return err
}

func trustOf(t *testing.T, root *x509.Certificate) *Trust {
	t.Helper()
	tr, err := ParseTrust("test", oces.OCESPreproduction, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw}))
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func wantReason(t *testing.T, err error, want Reason) {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Reason != want {
		t.Fatalf("want %s, got %v", want, err)
	}
}

func cachedLinks(tr *Trust) int {
	n := 0
	tr.verifiedCALinks.Range(func(any, any) bool { n++; return true })
	return n
}

func TestChainLimits(t *testing.T) {
	root := caCert(t, "Root", nil)
	a := caCert(t, "CA A", root)

	t.Run("a good chain is accepted", func(t *testing.T) {
		if err := logonWith(t, trustOf(t, root), []*x509.Certificate{a, pocesCert(t, a, ppPOCES), root}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("five certificates are one too many", func(t *testing.T) {
		b := caCert(t, "CA B", a)
		c := caCert(t, "CA C", b)
		wantReason(t, logonWith(t, trustOf(t, root), []*x509.Certificate{pocesCert(t, c, ppPOCES), c, b, a, root}), UntrustedChain)
	})
	t.Run("more than six KeyInfo certificates", func(t *testing.T) {
		keyInfo := []*x509.Certificate{pocesCert(t, a, ppPOCES), a, root}
		for i := 0; i < 4; i++ {
			keyInfo = append(keyInfo, caCert(t, "CA A", nil)) // named like the issuer: each would cost a signature check
		}
		wantReason(t, logonWith(t, trustOf(t, root), keyInfo), UntrustedChain)
	})
	t.Run("a second policy hidden from PolicyIdentifiers", func(t *testing.T) {
		// Arcs beyond an int are left out of PolicyIdentifiers, not Policies.
		leaf := pocesCert(t, a, ppPOCES, "1.3.6.1.4.1.31313.2.4.6.2.99999999999")
		if len(leaf.PolicyIdentifiers) != 1 || len(leaf.Policies) != 2 {
			t.Fatalf("test certificate: %v / %v", leaf.PolicyIdentifiers, leaf.Policies)
		}
		wantReason(t, logonWith(t, trustOf(t, root), []*x509.Certificate{leaf, a, root}), NotOCES)
	})
	t.Run("links of refused chains are not remembered", func(t *testing.T) {
		tr := PreproductionTrust()
		mallory := caCert(t, "Mallory Root", nil)
		for i := 0; i < 5; i++ {
			y := caCert(t, "Mallory CA", mallory)
			wantReason(t, logonWith(t, tr, []*x509.Certificate{pocesCert(t, y, ppPOCES), y, mallory}), UntrustedChain)
		}
		if n := cachedLinks(tr); n != 0 {
			t.Fatalf("%d CA links remembered after refused chains", n)
		}
		tr = trustOf(t, root)
		if err := logonWith(t, tr, []*x509.Certificate{pocesCert(t, a, ppPOCES), a, root}); err != nil || cachedLinks(tr) != 1 {
			t.Fatalf("after a trusted chain: %v, %d links", err, cachedLinks(tr))
		}
	})
	t.Run("names from the response are escaped in errors", func(t *testing.T) {
		evil := caCert(t, "Evil\nlevel=INFO msg=\"logon accepted\"", nil)
		err := logonWith(t, trustOf(t, root), []*x509.Certificate{pocesCert(t, evil, ppPOCES), evil})
		wantReason(t, err, UntrustedChain)
		if strings.ContainsAny(err.Error(), "\n\r") {
			t.Fatalf("a raw line break in the error: %q", err.Error())
		}
	})
}
