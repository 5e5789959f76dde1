package revocation

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/store"
)

// The test PKI: root → issuing CA → leaves and the delegated OCSP responder
// (EKU OCSPSigning, id-pkix-ocsp-nocheck), as internal/ca builds it; plus an
// unrelated CA with a leaf for "unauthorized". The responder key is RSA-2048
// like production's, so responses have a realistic size.
type ocspPKI struct {
	root, issuing, responder, other, otherLeaf *x509.Certificate
	responderKey                               crypto.Signer
	issuingKey                                 crypto.Signer
	good, revoked, slashy                      *x509.Certificate // issued leaves
	revokedAt                                  time.Time
}

var (
	pkiOnce sync.Once
	pkiVal  *ocspPKI
	pkiErr  error
)

// testPKI builds the PKI once per test binary (RSA key generation is slow).
func testPKI(tb testing.TB) *ocspPKI {
	tb.Helper()
	pkiOnce.Do(func() { pkiVal, pkiErr = buildPKI() })
	if pkiErr != nil {
		tb.Fatal(pkiErr)
	}
	return pkiVal
}

func buildPKI() (*ocspPKI, error) {
	now := time.Now().Add(-time.Hour).Truncate(time.Second)
	ecKey := func() *ecdsa.PrivateKey { k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader); return k }
	mk := func(tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) (*x509.Certificate, error) {
		if tmpl.SerialNumber == nil {
			tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
		}
		tmpl.NotBefore, tmpl.NotAfter = now, now.Add(48*time.Hour)
		if parent == nil {
			parent = tmpl
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
		if err != nil {
			return nil, err
		}
		return x509.ParseCertificate(der)
	}
	ca := func(cn string) *x509.Certificate {
		return &x509.Certificate{Subject: pkix.Name{CommonName: cn, Organization: []string{"Test"}, Country: []string{"DK"}},
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	}
	p := &ocspPKI{revokedAt: now.Add(10 * time.Minute)}
	var err error
	rootKey, issKey, otherKey := ecKey(), ecKey(), ecKey()
	if p.root, err = mk(ca("Test Root CA"), nil, rootKey.Public(), rootKey); err != nil {
		return nil, err
	}
	if p.issuing, err = mk(ca("Test Issuing CA"), p.root, issKey.Public(), rootKey); err != nil {
		return nil, err
	}
	p.issuingKey = issKey
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	p.responderKey = rk
	nocheck := pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 5}, Value: []byte{0x05, 0x00}}
	if p.responder, err = mk(&x509.Certificate{Subject: pkix.Name{CommonName: "Test OCSP responder"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning},
		ExtraExtensions: []pkix.Extension{nocheck}}, p.issuing, rk.Public(), issKey); err != nil {
		return nil, err
	}
	if p.good, err = p.leaf(big.NewInt(0x1001)); err != nil {
		return nil, err
	}
	if p.revoked, err = p.leaf(big.NewInt(0x1002)); err != nil {
		return nil, err
	}
	// A serial whose SHA-1 request has "//" in its base64: the G6 pitfall.
	for s := int64(0x2000); ; s++ {
		if strings.Contains(base64.StdEncoding.EncodeToString(ocspRequestDER(p.issuing, big.NewInt(s), crypto.SHA1)), "//") {
			if p.slashy, err = p.leaf(big.NewInt(s)); err != nil {
				return nil, err
			}
			break
		}
	}
	if p.other, err = mk(ca("Other CA"), nil, otherKey.Public(), otherKey); err != nil {
		return nil, err
	}
	lk := ecKey()
	if p.otherLeaf, err = mk(&x509.Certificate{SerialNumber: big.NewInt(0x1001), Subject: pkix.Name{CommonName: "Other leaf"}},
		p.other, lk.Public(), otherKey); err != nil {
		return nil, err
	}
	return p, nil
}

// leaf issues an end-entity certificate with the given serial from the issuing CA.
func (p *ocspPKI) leaf(serial *big.Int) (*x509.Certificate, error) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now().Add(-time.Hour).Truncate(time.Second)
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: "Leaf " + serial.Text(16)},
		NotBefore: now, NotAfter: now.Add(48 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		OCSPServer: []string{"http://127.0.0.1/ocsp"},
	}, p.issuing, k.Public(), p.issuingKey)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// ocspRequestDER builds a single-CertID request for serial under issuer
// without needing the certificate.
func ocspRequestDER(issuer *x509.Certificate, serial *big.Int, h crypto.Hash) []byte {
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(issuer.RawSubjectPublicKeyInfo, &spki); err != nil {
		panic(err)
	}
	n, k := h.New(), h.New()
	n.Write(issuer.RawSubject)
	k.Write(spki.PublicKey.RightAlign())
	der, err := (&ocsp.Request{HashAlgorithm: h, IssuerNameHash: n.Sum(nil), IssuerKeyHash: k.Sum(nil), SerialNumber: serial}).Marshal()
	if err != nil {
		panic(err)
	}
	return der
}

// sign makes a response as internal/ca does: status from the issued-serial
// map, CertID hash as asked, signed by the delegated responder.
func (p *ocspPKI) sign(serial *big.Int, h crypto.Hash, status int, now time.Time, validity time.Duration) ([]byte, error) {
	tmpl := ocsp.Response{Status: status, SerialNumber: serial, ThisUpdate: now.Truncate(time.Second),
		NextUpdate: now.Truncate(time.Second).Add(validity), Certificate: p.responder, IssuerHash: h}
	if status == ocsp.Revoked {
		tmpl.RevokedAt, tmpl.RevocationReason = p.revokedAt, ocsp.KeyCompromise
	}
	return ocsp.CreateResponse(p.issuing, p.responder, tmpl, p.responderKey)
}

// fakeCA is the test's OCSPSource and OCSPSigner: a map of issued serials
// (and their status) and a map of pre-signed responses.
type fakeCA struct {
	pki   *ocspPKI
	clock clock.Clock
	mu    sync.Mutex
	// issued: serial hex → ocsp.Good / ocsp.Revoked.
	issued    map[string]int
	presigned map[string]store.OCSPResponse
	// Injected failures.
	storeErr, signErr error
	// block, if set, is waited on by OCSPResponse (to test collapsing of misses).
	block                 chan struct{}
	storeCalls, signCalls atomic.Int64
}

func newFakeCA(p *ocspPKI, c clock.Clock) *fakeCA {
	return &fakeCA{pki: p, clock: c, issued: map[string]int{
		p.good.SerialNumber.Text(16): ocsp.Good, p.revoked.SerialNumber.Text(16): ocsp.Revoked, p.slashy.SerialNumber.Text(16): ocsp.Good,
	}, presigned: map[string]store.OCSPResponse{}}
}

// presign stores a SHA-1 response for every issued serial, valid for validity.
func (f *fakeCA) presign(tb testing.TB, validity time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.clock.Now()
	for s, st := range f.issued {
		serial, _ := new(big.Int).SetString(s, 16)
		der, err := f.pki.sign(serial, crypto.SHA1, st, now, validity)
		if err != nil {
			tb.Fatal(err)
		}
		status := store.StatusGood
		if st == ocsp.Revoked {
			status = store.StatusRevoked
		}
		f.presigned[s] = store.OCSPResponse{Serial: s, Status: status, ThisUpdate: now.Truncate(time.Second),
			NextUpdate: now.Truncate(time.Second).Add(validity), DER: der}
	}
}

func (f *fakeCA) OCSPResponse(ctx context.Context, serial string) (store.OCSPResponse, error) {
	f.storeCalls.Add(1)
	f.mu.Lock()
	block, err := f.block, f.storeErr
	r, ok := f.presigned[serial]
	f.mu.Unlock()
	if block != nil {
		<-block
	}
	if err != nil {
		return store.OCSPResponse{}, err
	}
	if !ok {
		return store.OCSPResponse{}, store.ErrNotFound
	}
	return r, nil
}

func (f *fakeCA) SignOCSP(ctx context.Context, serial *big.Int, h crypto.Hash) ([]byte, error) {
	f.signCalls.Add(1)
	f.mu.Lock()
	st, ok := f.issued[serial.Text(16)]
	err := f.signErr
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if !ok {
		st = ocsp.Unknown
	}
	return f.pki.sign(serial, h, st, f.clock.Now(), time.Hour)
}

var errInjected = errors.New("injected failure")

// writePEM writes certificates to dir/name as PEM and returns the path.
func writePEM(tb testing.TB, dir, name string, certs ...*x509.Certificate) string {
	tb.Helper()
	var b []byte
	for _, c := range certs {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}
