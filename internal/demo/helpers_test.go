package demo

// A small OCES test PKI of the tests' own (root, issuing CA, end-entity
// certificates from oces.Template), the shop on an httptest server, and a
// browser stand-in with a cookie jar. Responses are built with the JS
// client's exact layout (xmldsig.BuildJSClientResponse), as the NemID
// server builds them.

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"html"
	"io"
	"math/big"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/oces"
	"github.com/nemid-dk/nemid/ooapi"
	"github.com/nemid-dk/nemid/ooapi/revocation"
	"github.com/nemid-dk/nemid/ooapi/xmldsig"
)

// testNow is the frozen time of the tests; every certificate is valid then.
var testNow = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

const (
	testIdP     = "http://idp.example:8080"
	testSPName  = "Demo-butikken"
	testPID     = "9208-2002-2-123456789012"
	testCVR     = "30808460"
	testOrgName = "Demo-butikken ApS"
)

// keyPair is a certificate with its key.
type keyPair struct {
	cert *x509.Certificate
	key  *rsa.PrivateKey
}

// testPKI is a root, an issuing CA under it, and the certificates the
// tests use: a person (POCES), an employee (MOCES) and the shop (VOCES).
type testPKI struct {
	root, issuing           keyPair
	person, employee, voces keyPair
	trust                   *ooapi.Trust
}

var (
	pkiOnce sync.Once
	pki     *testPKI
	pkiErr  error
)

func thePKI(t testing.TB) *testPKI {
	t.Helper()
	pkiOnce.Do(func() { pki, pkiErr = newTestPKI() })
	if pkiErr != nil {
		t.Fatal(pkiErr)
	}
	return pki
}

func newKey() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) }

func serial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
}

func newCA(name string, parent *keyPair) (keyPair, error) {
	k, err := newKey()
	if err != nil {
		return keyPair{}, err
	}
	sn, err := serial()
	if err != nil {
		return keyPair{}, err
	}
	ski, err := oces.SubjectKeyID(&k.PublicKey)
	if err != nil {
		return keyPair{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{Country: []string{"DK"}, Organization: []string{"Demo test"}, CommonName: name},
		NotBefore:             testNow.AddDate(-1, 0, 0),
		NotAfter:              testNow.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		SubjectKeyId:          ski,
	}
	issuer, signer := tmpl, k
	if parent != nil {
		tmpl.MaxPathLenZero = true
		issuer, signer = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, &k.PublicKey, signer)
	if err != nil {
		return keyPair{}, err
	}
	c, err := x509.ParseCertificate(der)
	return keyPair{cert: c, key: k}, err
}

// issue makes an OCES end-entity certificate of the issuing CA, with the
// preproduction policy of its type.
func (p *testPKI) issue(req oces.Request) (keyPair, error) {
	k, err := newKey()
	if err != nil {
		return keyPair{}, err
	}
	issuerName, err := oces.ParseRawName(p.issuing.cert.RawSubject)
	if err != nil {
		return keyPair{}, err
	}
	policy := append(asn1.ObjectIdentifier{}, oces.OCESPreproduction.Prefix(req.Type)...)
	tmpl, err := oces.Template(req, oces.Params{
		Policy:       append(policy, 5),
		CPSURL:       "http://ca.example/repository",
		NoticeText:   "Test certificate",
		OCSPURL:      "http://ca.example/ocsp",
		CAIssuersURL: "http://ca.example/aia/issuing.cer",
		FullCRLURL:   "http://ca.example/crl/issuing.crl",
		IssuerName:   issuerName,
		Partition:    1,
		NotBefore:    testNow.AddDate(0, -1, 0),
	}, &k.PublicKey)
	if err != nil {
		return keyPair{}, err
	}
	if tmpl.SerialNumber, err = serial(); err != nil {
		return keyPair{}, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.issuing.cert, &k.PublicKey, p.issuing.key)
	if err != nil {
		return keyPair{}, err
	}
	c, err := x509.ParseCertificate(der)
	return keyPair{cert: c, key: k}, err
}

func newTestPKI() (*testPKI, error) {
	p := &testPKI{}
	var err error
	if p.root, err = newCA("Demo test root CA", nil); err != nil {
		return nil, err
	}
	if p.issuing, err = newCA("Demo test issuing CA", &p.root); err != nil {
		return nil, err
	}
	if p.person, err = p.issue(oces.Request{Type: oces.POCES, Name: "Anne Sofie Jensen", ID: testPID}); err != nil {
		return nil, err
	}
	if p.employee, err = p.issue(oces.Request{Type: oces.MOCES, Name: "Lars Nielsen", CVR: testCVR, Organization: testOrgName, ID: "12345678"}); err != nil {
		return nil, err
	}
	if p.voces, err = p.issue(oces.Request{Type: oces.VOCES, Name: testSPName, CVR: testCVR, Organization: testOrgName, ID: "87654321"}); err != nil {
		return nil, err
	}
	pemCerts := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.root.cert.Raw})
	pemCerts = append(pemCerts, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.issuing.cert.Raw})...)
	if p.trust, err = ooapi.ParseTrust("demo test CA", oces.OCESPreproduction, pemCerts); err != nil {
		return nil, err
	}
	return p, nil
}

// shop is the demo SP on an httptest server.
type shop struct {
	srv *Server
	ts  *httptest.Server
	pki *testPKI
	dir string
}

// newShop starts a shop; mod may change its configuration.
func newShop(t *testing.T, mod func(*Config)) *shop {
	t.Helper()
	p := thePKI(t)
	signer, err := ooapi.NewSPSigner(p.voces.cert, p.voces.key)
	if err != nil {
		t.Fatal(err)
	}
	signer.Clock = func() time.Time { return testNow }
	sh := &shop{pki: p, dir: t.TempDir()}
	sh.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sh.srv.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(sh.ts.Close)
	cfg := Config{
		Listen:     "127.0.0.1:0",
		PublicURL:  sh.ts.URL,
		IdPURL:     testIdP,
		Signer:     signer,
		Name:       testSPName,
		Trust:      p.trust,
		Revocation: revocation.None(),
		DataDir:    sh.dir,
		Now:        func() time.Time { return testNow },
	}
	if mod != nil {
		mod(&cfg)
	}
	if sh.srv, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	return sh
}

// browser is a client with its own cookies that does not follow redirects.
type browser struct {
	t    *testing.T
	shop *shop
	c    *http.Client
}

func (sh *shop) browser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, shop: sh, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// page is an answer: status, headers and body.
type page struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return page{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.shop.ts.URL+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.shop.ts.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.shop.srv.Origin())
	return b.do(req)
}

// find returns the first group of re in body, HTML-unescaped.
func find(t *testing.T, body, re string) string {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no match for %s in:\n%s", re, body)
	}
	return html.UnescapeString(m[1])
}

// flowPage is what a page with the client carries.
type flowPage struct {
	params    *ooapi.ParameterSet
	challenge ooapi.Challenge
	csrf      string
	frameSrc  string
	action    string
	raw       page
}

func (t flowPage) String() string { return t.raw.body }

// readFlowPage reads the client page: the parameters, their challenge, the
// CSRF token and the iframe.
func readFlowPage(t *testing.T, p page) flowPage {
	t.Helper()
	if p.status != http.StatusOK {
		t.Fatalf("flow page: status %d:\n%s", p.status, p.body)
	}
	js := find(t, p.body, `<script type="text/x-nemid" id="nemid_parameters">(.*?)</script>`)
	ps, err := ooapi.ParseParameters([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	sp, _ := ps.Get(ooapi.ParamSignProperties)
	ch, ok := strings.CutPrefix(sp, "challenge=")
	if !ok {
		t.Fatalf("SIGN_PROPERTIES %q has no challenge", sp)
	}
	return flowPage{
		params:    ps,
		challenge: ooapi.Challenge(ch),
		csrf:      find(t, p.body, `<form id="nemid_form"[^>]*>\s*<input type="hidden" name="response" value="">\s*<input type="hidden" name="csrf" value="([^"]+)">`),
		frameSrc:  find(t, p.body, `<iframe id="nemid_iframe"[^>]*src="([^"]+)"`),
		action:    find(t, p.body, `<form id="nemid_form" method="post" action="([^"]+)"`),
		raw:       p,
	}
}

// csrfOf reads the CSRF token of the first form in a page.
func csrfOf(t *testing.T, p page) string {
	return find(t, p.body, `name="csrf" value="([^"]+)"`)
}

// respond builds a JS-client response signed by kp, base64 as the client
// posts it, with KeyInfo as the client writes it (issuing CA, user, root).
func (p *testPKI) respond(t *testing.T, kp keyPair, props []xmldsig.Property) string {
	t.Helper()
	doc, err := xmldsig.BuildJSClientResponse(props, []*x509.Certificate{p.issuing.cert, kp.cert, p.root.cert},
		func(si []byte) ([]byte, error) {
			sum := sha256.Sum256(si)
			return rsa.SignPKCS1v15(rand.Reader, kp.key, crypto.SHA256, sum[:])
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
		{Name: "TimeStamp", Value: ooapi.FormatTimestamp(testNow), Encoding: xmldsig.EncodingBase64},
		{Name: "action", Value: "logon", Encoding: xmldsig.EncodingXML},
		{Name: "rememberUseridToken", Value: "opaque-token-from-nemid", Encoding: xmldsig.EncodingBase64},
	}
}

// signProps are those of a signature of the parameters' SIGNTEXT, echoed
// in its base64 as the client does.
func signProps(t *testing.T, issuer string, fp flowPage) []xmldsig.Property {
	t.Helper()
	raw, ok := fp.params.Get(ooapi.ParamSignText)
	if !ok {
		t.Fatal("no SIGNTEXT in the parameters")
	}
	text, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		t.Fatal(err)
	}
	p := logonProps(issuer, fp.challenge)
	p[3].Value = "sign"
	return append(p[:4], xmldsig.Property{Name: "signtext", Value: string(text), Raw: raw, Encoding: xmldsig.EncodingBase64, VisibleToSigner: true})
}
