package cpr_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/ooapi/cpr"
)

// testPKI is a throw-away CA with a server and a client certificate.
type testPKI struct {
	roots  *x509.CertPool
	server tls.Certificate
	client tls.Certificate
}

func newTestPKI(t testing.TB) *testPKI {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test root"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leaf := func(serial int64, cn string, server bool) tls.Certificate {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
		if server {
			tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
			tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, k.Public(), caKey)
		if err != nil {
			t.Fatal(err)
		}
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return &testPKI{roots: pool, server: leaf(2, "server", true), client: leaf(3, "sp", false)}
}

// captured is one request a fake service received.
type captured struct {
	method, path, contentType, soapAction string
	body                                  []byte
	clientCert                            bool
}

// fakeService is an HTTPS server that records requests and answers with
// what answer returns.
type fakeService struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []captured
	answer func(c captured) (status int, body []byte)
}

func newFakeService(t testing.TB, pki *testPKI, answer func(c captured) (int, []byte)) *fakeService {
	t.Helper()
	f := &fakeService{answer: answer}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c := captured{method: r.Method, path: r.URL.Path, contentType: r.Header.Get("Content-Type"),
			soapAction: r.Header.Get("SOAPAction"), body: b, clientCert: r.TLS != nil && len(r.TLS.PeerCertificates) > 0}
		f.mu.Lock()
		f.got = append(f.got, c)
		f.mu.Unlock()
		code, body := f.answer(c)
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(code)
		w.Write(body)
	}))
	f.srv.TLS = &tls.Config{Certificates: []tls.Certificate{pki.server}, ClientAuth: tls.RequestClientCert}
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeService) last(t testing.TB) captured {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.got) == 0 {
		t.Fatal("the fake service received nothing")
	}
	return f.got[len(f.got)-1]
}

func (f *fakeService) config(pki *testPKI, spid string) cpr.Config {
	return cpr.Config{BaseURL: f.srv.URL, SPID: spid, TLS: cpr.NewTLSConfig(pki.client, pki.roots)}
}
