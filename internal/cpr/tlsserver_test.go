package cpr_test

import (
	"context"
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
	"sync/atomic"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/cpr"
)

// TestTLSServer: a client without a certificate completes the handshake
// and reaches the handler (which answers 8195); TLS below 1.2 is refused;
// the certificate is replaced after two thirds of its validity.
func TestTLSServer(t *testing.T) {
	root, rootKey := testRoot(t)
	var issued atomic.Int64
	issue := func(context.Context) (*tls.Certificate, error) {
		issued.Add(1)
		return leafFor(t, root, rootKey, 3*time.Second), nil
	}
	sawCert := make(chan bool, 10)
	srv, err := cpr.NewTLSServer(cpr.TLSServerConfig{
		Listen: "127.0.0.1:0",
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sawCert <- len(r.TLS.PeerCertificates) > 0
			io.WriteString(w, "ok")
		}),
		Certificate: issue,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr, err := srv.Listen(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	first := srv.Certificate()

	pool := x509.NewCertPool()
	pool.AddCert(root)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 5 * time.Second}
	resp, err := hc.Post("https://"+addr.String()+"/", "text/xml", nil)
	if err != nil {
		t.Fatalf("a client without a certificate: %v", err)
	}
	resp.Body.Close()
	if <-sawCert {
		t.Error("the handler saw a client certificate that was not sent")
	}

	conn, err := tls.Dial("tcp", addr.String(), &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11, MinVersion: tls.VersionTLS10})
	if err == nil {
		conn.Close()
		t.Error("a TLS 1.1 handshake succeeded")
	}

	// Renewal: after 2 of the 3 seconds, a new certificate is served.
	deadline := time.Now().Add(15 * time.Second)
	for srv.Certificate() == first && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if srv.Certificate() == first || issued.Load() < 2 {
		t.Fatal("the certificate was not renewed")
	}
	c, err := tls.Dial("tcp", addr.String(), &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.ConnectionState().PeerCertificates[0]; got.SerialNumber.Cmp(first.Leaf.SerialNumber) == 0 {
		t.Error("the old certificate is still served")
	}
}

func testRoot(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "root"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, k
}

var serial atomic.Int64

func leafFor(t *testing.T, root *x509.Certificate, rootKey *ecdsa.PrivateKey, validity time.Duration) *tls.Certificate {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(100 + serial.Add(1)), NotBefore: now.Add(-time.Second), NotAfter: now.Add(validity),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, root, k.Public(), rootKey)
	if err != nil {
		t.Error(err)
		return nil
	}
	leaf, _ := x509.ParseCertificate(der)
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k, Leaf: leaf}
}
