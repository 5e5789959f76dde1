package ca_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/ca"
	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/internal/store/storetest"
	"github.com/zmap/zlint/v3/lint"
)

func TestIssueTLSServer(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t), nil)
	ctx := context.Background()
	tc, err := e.ca.IssueTLSServer(ctx, []string{"127.0.0.1", "0.0.0.0", "LocalHost", "ca.example.dk", "127.0.0.1"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	c := tc.Leaf
	if got := c.DNSNames; !slices.Equal(got, []string{"localhost", "ca.example.dk"}) {
		t.Errorf("DNS names %v: want localhost and ca.example.dk (lower case, once)", got)
	}
	if len(c.IPAddresses) != 1 || !c.IPAddresses[0].Equal(net.IPv4(127, 0, 0, 1)) {
		t.Errorf("IP addresses %v: want 127.0.0.1 only (a wildcard listen address names no host)", c.IPAddresses)
	}
	if c.Subject.CommonName != "localhost" {
		t.Errorf("CN %q, want the first DNS name", c.Subject.CommonName)
	}
	if !slices.Equal(c.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) || c.KeyUsage != x509.KeyUsageDigitalSignature || c.IsCA {
		t.Errorf("usage: EKU %v, KU %v, CA %v", c.ExtKeyUsage, c.KeyUsage, c.IsCA)
	}
	if k, ok := tc.PrivateKey.(*ecdsa.PrivateKey); !ok || k.Curve != elliptic.P256() {
		t.Errorf("key %T: want ECDSA P-256", tc.PrivateKey)
	}
	if !c.NotBefore.Equal(testNow) || c.NotAfter.Sub(c.NotBefore) != 30*24*time.Hour {
		t.Errorf("validity %v – %v: want 30 days from now", c.NotBefore, c.NotAfter)
	}
	if len(tc.Certificate) != 2 || !slices.Equal(tc.Certificate[1], e.ca.Issuing().Raw) {
		t.Error("the chain served must be the certificate and the issuing CA")
	}
	// Recorded like every certificate the CA signs, so it can be revoked.
	rec, err := e.store.Certificate(ctx, ca.SerialText(c.SerialNumber))
	if err != nil || rec.Profile != ca.ProfileTLSServer || rec.Status != store.StatusGood || rec.Partition < 1 {
		t.Errorf("stored record %+v, %v", rec, err)
	}
	if bad, err := ca.LintCertificate(c.Raw, lint.Error); err != nil || len(bad) > 0 {
		t.Errorf("zlint: %v %v", bad, err)
	}

	// openssl, an independent judge, accepts it as a TLS server
	// certificate for 127.0.0.1 under the installation's root.
	root, issuing := e.exportPEM()
	leaf := filepath.Join(e.dir, "tls.pem")
	writePEM(t, leaf, c)
	out := openssl(t, "verify", "-attime", strconv.FormatInt(testNow.Add(time.Hour).Unix(), 10), "-purpose", "sslserver", "-verify_ip", "127.0.0.1",
		"-CAfile", root, "-untrusted", issuing, leaf)
	if strings.TrimSpace(out) != leaf+": OK" {
		t.Errorf("openssl verify: %s", out)
	}

	// Go's TLS client completes a handshake with it.
	pool := x509.NewCertPool()
	pool.AddCert(e.ca.Root())
	srv, cli := net.Pipe()
	go func() {
		s := tls.Server(srv, &tls.Config{Certificates: []tls.Certificate{*tc}})
		s.Handshake()
		s.Close()
	}()
	cl := tls.Client(cli, &tls.Config{RootCAs: pool, ServerName: "ca.example.dk", Time: func() time.Time { return testNow.Add(time.Hour) }})
	if err := cl.Handshake(); err != nil {
		t.Errorf("TLS handshake: %v", err)
	}
	cl.Close()
}

func TestIssueTLSServerRefusesBadHosts(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t), nil)
	for _, hosts := range [][]string{nil, {"0.0.0.0", "::"}, {"bad host"}, {"-x.example"}} {
		if _, err := e.ca.IssueTLSServer(context.Background(), hosts, 0); err == nil {
			t.Errorf("hosts %q: issued, want an error", hosts)
		}
	}
	rows, err := e.store.ListCertificates(context.Background(), store.ListFilter{Issuer: ca.IssuingCA})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.Profile == ca.ProfileTLSServer {
			t.Errorf("a refused request stored a certificate: %+v", r.Subject)
		}
	}
}

func TestIssueTLSServerEndsWithIssuingCA(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t), nil)
	e.clock.Set(e.ca.Issuing().NotAfter.Add(-24 * time.Hour))
	tc, err := e.ca.IssueTLSServer(context.Background(), []string{"localhost"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !tc.Leaf.NotAfter.Equal(e.ca.Issuing().NotAfter) {
		t.Errorf("NotAfter %v, want the issuing CA's %v", tc.Leaf.NotAfter, e.ca.Issuing().NotAfter)
	}
}
