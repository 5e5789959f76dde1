package ooapi_test

// A CA of our own (internal/ca, the one `nemid` runs) for response tests:
// real OCES certificates from the real issuance path, and responses built
// with the JS client's exact layout (xmldsig.BuildJSClientResponse).

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/ca"
	"github.com/nemid-dk/nemid/internal/ca/keys"
	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/oces"
	"github.com/nemid-dk/nemid/ooapi"
	"github.com/nemid-dk/nemid/ooapi/xmldsig"
)

// ourNow is the frozen time of our CA: certificates are valid from then on
// for three years.
var ourNow = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

type testCA struct {
	authority *ca.Authority
	trust     *ooapi.Trust
}

var (
	ourOnce sync.Once
	ourCA   *testCA
	ourErr  error
)

// our returns the package's CA, made once (RSA-4096 CA keys take a while).
// Its files live in a directory removed when the process ends.
func our(t testing.TB) *testCA {
	t.Helper()
	ourOnce.Do(func() { ourCA, ourErr = newTestCA() })
	if ourErr != nil {
		t.Fatal(ourErr)
	}
	return ourCA
}

func newTestCA() (*testCA, error) {
	dir, err := os.MkdirTemp("", "ooapi-ca-")
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	mkPath := filepath.Join(dir, "master.key")
	if err := keys.CreateMasterKeyFile(mkPath); err != nil {
		return nil, err
	}
	mk, err := keys.LoadMasterKeyFile(mkPath)
	if err != nil {
		return nil, err
	}
	if err := os.Mkdir(filepath.Join(dir, "keys"), 0o700); err != nil {
		return nil, err
	}
	kb := keys.NewFileBackend(filepath.Join(dir, "keys"), mk)
	st, err := store.Open(ctx, "", dir)
	if err != nil {
		return nil, err
	}
	clk := clock.NewFrozen(ourNow)
	if err := ca.Initialise(ctx, st, kb, clk, ca.PreprodDefaults()); err != nil {
		return nil, err
	}
	a, err := ca.Open(ctx, st, kb, clk)
	if err != nil {
		return nil, err
	}
	var pemCerts []byte
	for _, c := range []*x509.Certificate{a.Root(), a.Issuing()} {
		pemCerts = append(pemCerts, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	trust, err := ooapi.ParseTrust("our preproduction CA", oces.OCESPreproduction, pemCerts)
	if err != nil {
		return nil, err
	}
	return &testCA{authority: a, trust: trust}, nil
}

// user is an end-entity certificate of our CA with its key.
type user struct {
	cert *x509.Certificate
	key  *rsa.PrivateKey
}

func (c *testCA) issue(t testing.TB, req oces.Request) user {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	iss, err := c.authority.Issue(context.Background(), ca.IssueRequest{Subject: req, PublicKey: &k.PublicKey})
	if err != nil {
		t.Fatal(err)
	}
	return user{cert: iss.Certificate, key: k}
}

// chain is KeyInfo as the JS client writes it: issuing CA, user, root.
func (c *testCA) chain(u user) []*x509.Certificate {
	return []*x509.Certificate{c.authority.Issuing(), u.cert, c.authority.Root()}
}

// respond builds a JS-client response signed by u, base64 as the client
// posts it.
func respond(t testing.TB, u user, keyInfo []*x509.Certificate, props []xmldsig.Property) string {
	t.Helper()
	doc, err := xmldsig.BuildJSClientResponse(props, keyInfo, func(si []byte) ([]byte, error) {
		sum := sha256.Sum256(si)
		return rsa.SignPKCS1v15(rand.Reader, u.key, crypto.SHA256, sum[:])
	})
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(doc)
}

// logonProps are the properties of a JS-client logon, in the client's order.
func logonProps(issuer string, challenge ooapi.Challenge) []xmldsig.Property {
	return []xmldsig.Property{
		{Name: "RequestIssuer", Value: issuer, Encoding: xmldsig.EncodingBase64, VisibleToSigner: true},
		{Name: "challenge", Value: string(challenge), Encoding: xmldsig.EncodingXML},
		{Name: "TimeStamp", Value: ooapi.FormatTimestamp(ourNow), Encoding: xmldsig.EncodingBase64},
		{Name: "action", Value: "logon", Encoding: xmldsig.EncodingXML},
		{Name: "rememberUseridToken", Value: "opaque-token-from-nemid", Encoding: xmldsig.EncodingBase64},
		{Name: "identityAssuranceLevel", Value: "2", Encoding: xmldsig.EncodingXML},
	}
}

// signProps are those of a signature of text.
func signProps(issuer string, challenge ooapi.Challenge, text string) []xmldsig.Property {
	p := logonProps(issuer, challenge)
	p[3].Value = "sign"
	return append(p[:5], xmldsig.Property{Name: "signtext", Value: text, Encoding: xmldsig.EncodingBase64, VisibleToSigner: true})
}

// newTestCAOrFail makes a second, independent CA with the same names as
// ours (the preproduction defaults) but its own keys.
func newTestCAOrFail(t testing.TB) *testCA {
	t.Helper()
	c, err := newTestCA()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func pemOf(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

func fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}
