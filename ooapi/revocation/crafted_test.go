package revocation

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/http"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
	"golang.org/x/crypto/ocsp"

	"github.com/nemid-dk/nemid/internal/ca"
)

// Answers crafted here with our CA's keys: what a responder or CRL server
// might send, good and bad. They run as subtests of TestOurCA, which has
// the keys.

// responderCert issues a delegated-responder certificate from parent
// (signed with parentKey) with the given changes to the template.
func responderCert(t *testing.T, parent *x509.Certificate, parentKey crypto.Signer, mod func(*x509.Certificate)) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "Crafted OCSP responder"},
		NotBefore:    caT0, NotAfter: caT0.AddDate(1, 0, 0),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning},
	}
	if mod != nil {
		mod(tmpl)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, k.Public(), parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, k
}

func testCraftedOCSP(t *testing.T, o *ourCA) {
	ctx := context.Background()
	serial := o.poces.SerialNumber
	base := ocsp.Response{Status: ocsp.Good, SerialNumber: serial, ThisUpdate: caRevokedAt, NextUpdate: caRevokedAt.Add(24 * time.Hour), IssuerHash: crypto.SHA1}
	resp := func(issuer, signerCert *x509.Certificate, key crypto.Signer, mod func(*ocsp.Response)) []byte {
		t.Helper()
		tmpl := base
		tmpl.Certificate = signerCert
		if mod != nil {
			mod(&tmpl)
		}
		if signerCert == nil {
			signerCert = issuer
		}
		der, err := ocsp.CreateResponse(issuer, signerCert, tmpl, key)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	other := o.otherKey
	noEKU, noEKUKey := responderCert(t, o.issuing, o.issuingKey, func(c *x509.Certificate) { c.ExtKeyUsage = nil })
	expired, expiredKey := responderCert(t, o.issuing, o.issuingKey, func(c *x509.Certificate) { c.NotAfter = caAt.Add(-time.Minute) })
	forgedParent := &x509.Certificate{RawSubject: o.issuing.RawSubject, SubjectKeyId: o.issuing.SubjectKeyId, PublicKey: other.Public(),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	foreign, foreignKey := responderCert(t, forgedParent, other, nil)
	stranger, strangerKey := responderCert(t, o.root, o.signer(t, ca.RootCA), nil)

	tests := []struct {
		name string
		der  []byte
		kind error  // nil: a status
		want Status // when kind is nil
	}{
		{"signed by the issuer, no certificate", resp(o.issuing, nil, o.issuingKey, nil), nil, Status{Method: MethodOCSP}},
		{"signed by the issuer, its certificate included", resp(o.issuing, o.issuing, o.issuingKey, nil), nil, Status{Method: MethodOCSP}},
		{"delegated responder, SHA-256 CertID", resp(o.issuing, o.ocspCert, o.ocspKey, func(r *ocsp.Response) { r.IssuerHash = crypto.SHA256 }), nil, Status{Method: MethodOCSP}},
		{"delegated responder, revoked", resp(o.issuing, o.ocspCert, o.ocspKey, func(r *ocsp.Response) {
			r.Status, r.RevokedAt, r.RevocationReason = ocsp.Revoked, caT0.Add(30*time.Minute), ocsp.Superseded
		}), nil, Status{Revoked: true, RevokedAt: caT0.Add(30 * time.Minute), Reason: ocsp.Superseded, Method: MethodOCSP}},
		{"thisUpdate 30 s after the time asked", resp(o.issuing, o.ocspCert, o.ocspKey, func(r *ocsp.Response) { r.ThisUpdate = caAt.Add(30 * time.Second) }), nil, Status{Method: MethodOCSP}},
		{"no nextUpdate, recent", resp(o.issuing, o.ocspCert, o.ocspKey, func(r *ocsp.Response) {
			r.ThisUpdate, r.NextUpdate = caAt.Add(-MaxOCSPAgeWithoutNextUpdate+time.Second), time.Time{}
		}), nil, Status{Method: MethodOCSP}},
		{"no nextUpdate, too old to trust", resp(o.issuing, o.ocspCert, o.ocspKey, func(r *ocsp.Response) {
			r.ThisUpdate, r.NextUpdate = caAt.Add(-MaxOCSPAgeWithoutNextUpdate-time.Second), time.Time{}
		}), ErrNotCurrent, Status{}},

		{"unknown", resp(o.issuing, o.ocspCert, o.ocspKey, func(r *ocsp.Response) { r.Status = ocsp.Unknown }), ErrUnknownCertificate, Status{}},
		{"another serial", resp(o.issuing, o.ocspCert, o.ocspKey, func(r *ocsp.Response) { r.SerialNumber = o.moces.SerialNumber }), ErrInvalid, Status{}},
		{"CertID of another issuer", resp(o.root, o.ocspCert, o.ocspKey, nil), ErrInvalid, Status{}},
		{"SHA-384 CertID", resp(o.issuing, o.ocspCert, o.ocspKey, func(r *ocsp.Response) { r.IssuerHash = crypto.SHA384 }), ErrInvalid, Status{}},
		{"signed by another key, no certificate", resp(o.issuing, nil, other, nil), ErrInvalid, Status{}},
		{"responder without OCSPSigning", resp(o.issuing, noEKU, noEKUKey, nil), ErrInvalid, Status{}},
		{"responder signed by another key under the issuer's name", resp(o.issuing, foreign, foreignKey, nil), ErrInvalid, Status{}},
		{"responder of the root, not the issuer", resp(o.issuing, stranger, strangerKey, nil), ErrInvalid, Status{}},
		{"responder certificate expired", resp(o.issuing, expired, expiredKey, nil), ErrNotCurrent, Status{}},
		{"response signature by another key than the responder's", resp(o.issuing, o.ocspCert, other, nil), ErrInvalid, Status{}},
		{"thisUpdate 2 minutes after the time asked", resp(o.issuing, o.ocspCert, o.ocspKey, func(r *ocsp.Response) { r.ThisUpdate = caAt.Add(2 * time.Minute) }), ErrNotCurrent, Status{}},
		{"nextUpdate before the time asked", resp(o.issuing, o.ocspCert, o.ocspKey, func(r *ocsp.Response) { r.NextUpdate = caAt.Add(-time.Second) }), ErrNotCurrent, Status{}},
		{"tryLater", ocsp.TryLaterErrorResponse, ErrUnreachable, Status{}},
		{"internalError", ocsp.InternalErrorErrorResponse, ErrUnreachable, Status{}},
		{"unauthorized", ocsp.UnauthorizedErrorResponse, ErrInvalid, Status{}},
		{"not OCSP", []byte("<html>hello</html>"), ErrInvalid, Status{}},
		{"empty", nil, ErrInvalid, Status{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newBytesServer(t)
			srv.serve(tc.der)
			st, err := (&OCSP{HTTPClient: srv.client()}).Check(ctx, o.poces, o.issuing, caAt)
			if tc.kind != nil {
				wantKind(t, st, err, tc.kind)
				return
			}
			if err != nil || st != tc.want {
				t.Fatalf("got %+v, %v; want %+v", st, err, tc.want)
			}
		})
	}

	t.Run("the request", func(t *testing.T) {
		srv := newBytesServer(t)
		srv.serve(resp(o.issuing, nil, o.issuingKey, nil))
		if _, err := (&OCSP{HTTPClient: srv.client()}).Check(ctx, o.poces, o.issuing, caAt); err != nil {
			t.Fatal(err)
		}
		srv.mu.Lock()
		body, ct := srv.lastBody, srv.lastCT
		srv.mu.Unlock()
		if ct != "application/ocsp-request" {
			t.Errorf("Content-Type %q", ct)
		}
		req, err := ocsp.ParseRequest(body)
		if err != nil {
			t.Fatal(err)
		}
		if req.HashAlgorithm != crypto.SHA1 || req.SerialNumber.Cmp(serial) != 0 {
			t.Errorf("request for %v under %v", req.SerialNumber, req.HashAlgorithm)
		}
		nonce := []byte{0x06, 0x09, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02}
		if bytes.Contains(body, nonce) {
			t.Error("the request has a nonce")
		}
	})
}

func testOCSPCache(t *testing.T, o *ourCA) {
	ctx := context.Background()
	sign := func(thisUpdate, nextUpdate time.Time) []byte {
		der, err := ocsp.CreateResponse(o.issuing, o.ocspCert, ocsp.Response{Status: ocsp.Good, SerialNumber: o.poces.SerialNumber,
			ThisUpdate: thisUpdate, NextUpdate: nextUpdate, Certificate: o.ocspCert, IssuerHash: crypto.SHA1}, o.ocspKey)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	check := func(c *OCSP, at time.Time) {
		t.Helper()
		st, err := c.Check(ctx, o.poces, o.issuing, at)
		wantGood(t, st, err, MethodOCSP)
	}
	srv := newBytesServer(t)
	clock := &fakeClock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	c := &OCSP{HTTPClient: srv.client(), Now: clock.now}
	srv.serve(sign(caT0, caAt.Add(time.Hour)))
	check(c, caAt)
	check(c, caAt)
	if srv.count() != 1 {
		t.Fatalf("%d requests for two checks, want 1", srv.count())
	}
	// After the cached answer's nextUpdate it is asked again.
	srv.serve(sign(caAt.Add(80*time.Minute), caAt.Add(3*time.Hour)))
	later := caAt.Add(90 * time.Minute)
	check(c, later)
	check(c, later)
	if srv.count() != 2 {
		t.Fatalf("%d requests after nextUpdate, want 2", srv.count())
	}
	// And once MaxAge (1 minute) of wall-clock time has passed.
	clock.advance(DefaultOCSPMaxAge + time.Second)
	check(c, later)
	if srv.count() != 3 {
		t.Fatalf("%d requests after MaxAge, want 3", srv.count())
	}

	// An answer without nextUpdate is not kept; nor anything with MaxAge < 0.
	for _, tc := range []struct {
		name   string
		der    []byte
		maxAge time.Duration
	}{{"no nextUpdate", sign(caAt.Add(-time.Minute), time.Time{}), 0}, {"MaxAge < 0", sign(caT0, caAt.Add(time.Hour)), -1}} {
		srv := newBytesServer(t)
		srv.serve(tc.der)
		c := &OCSP{HTTPClient: srv.client(), MaxAge: tc.maxAge}
		check(c, caAt)
		check(c, caAt)
		if srv.count() != 2 {
			t.Errorf("%s: %d requests for two checks, want 2", tc.name, srv.count())
		}
	}
}

func testCRLCache(t *testing.T, o *ourCA) {
	ctx := context.Background()
	at1, at2 := caT0.Add(10*time.Minute), caT0.Add(2*time.Hour)
	crlA := signCRL(t, o.issuing, o.issuingKey, caT0, caT0.Add(time.Hour), nil)
	crlB := signCRL(t, o.issuing, o.issuingKey, caT0.Add(50*time.Minute), caT0.Add(3*time.Hour), nil)
	check := func(c *FullCRL, at time.Time, fetches int) {
		t.Helper()
		st, err := c.Check(ctx, o.poces, o.issuing, at)
		wantGood(t, st, err, MethodCRL)
		if n := c.HTTPClient.Transport.(*countingTransport).count(); n != fetches {
			t.Fatalf("%d downloads, want %d", n, fetches)
		}
	}
	srv := newBytesServer(t)
	clock := &fakeClock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	c := &FullCRL{HTTPClient: countingClient(srv), Now: clock.now}
	srv.serve(crlA)
	check(c, at1, 1)
	check(c, at1, 1)
	srv.serve(crlB) // not seen while A is current at the time asked
	check(c, at1, 1)
	check(c, at2, 2) // past A's nextUpdate: fetched again, B is current
	check(c, at2, 2)
	clock.advance(DefaultCRLMaxAge + time.Second)
	check(c, at2, 3)

	// Kept for the issuer it was verified with only: the same URL for a
	// certificate of another CA with the same name is fetched again, and
	// refused since that CA did not sign the CRL.
	k := o.otherKey
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), RawSubject: o.issuing.RawSubject, NotBefore: caT0, NotAfter: caT0.AddDate(1, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	twin, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Check(ctx, o.poces, twin, at2)
	wantKind(t, st, err, ErrInvalid)
	if n := c.HTTPClient.Transport.(*countingTransport).count(); n != 4 {
		t.Fatalf("%d downloads, want 4: the CRL cached for one issuer was used for another", n)
	}

	c = &FullCRL{HTTPClient: countingClient(srv), MaxAge: -1}
	check(c, at2, 1)
	check(c, at2, 2)
}

// fakeClock is a wall clock that tests move.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeClock) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeClock) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = f.t.Add(d)
}

// countingTransport counts the requests a client makes.
type countingTransport struct {
	mu   sync.Mutex
	n    int
	next http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

func (c *countingTransport) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func countingClient(b *bytesServer) *http.Client {
	return &http.Client{Transport: &countingTransport{next: b.client().Transport}}
}

// resignWithout removes nextUpdate from a CRL and signs it again
// (SHA-256 with RSA, the issuing CA's algorithm).
func resignWithout(t *testing.T, der []byte, key crypto.Signer) []byte {
	t.Helper()
	in := cryptobyte.String(der)
	var list, tbs, version, alg, issuer, thisUpdate, nextUpdate cryptobyte.String
	var tag cbasn1.Tag
	if !in.ReadASN1(&list, cbasn1.SEQUENCE) || !list.ReadASN1(&tbs, cbasn1.SEQUENCE) ||
		!tbs.ReadASN1Element(&version, cbasn1.INTEGER) || !tbs.ReadASN1Element(&alg, cbasn1.SEQUENCE) ||
		!tbs.ReadASN1Element(&issuer, cbasn1.SEQUENCE) || !tbs.ReadAnyASN1Element(&thisUpdate, &tag) ||
		!tbs.ReadAnyASN1Element(&nextUpdate, &tag) {
		t.Fatal("cannot take the CRL apart")
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for _, part := range [][]byte{version, alg, issuer, thisUpdate, tbs} {
			b.AddBytes(part)
		}
	})
	newTBS := b.BytesOrPanic()
	digest := sha256.Sum256(newTBS)
	sig, err := key.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	var out cryptobyte.Builder
	out.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(newTBS)
		b.AddBytes(alg)
		b.AddASN1BitString(sig)
	})
	return out.BytesOrPanic()
}
