package revocation

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/ca"
	"github.com/nemid-dk/nemid/internal/ca/keys"
	"github.com/nemid-dk/nemid/internal/clock"
	intrev "github.com/nemid-dk/nemid/internal/revocation"
	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/internal/store/storetest"
	"github.com/nemid-dk/nemid/oces"
)

// caT0 is when our test CA is created and issues its certificates; at
// caT0+1h it revokes the MOCES and publishes CRLs (valid 12 h) and OCSP
// responses (valid 24 h). Tests ask at caAt unless they say otherwise.
var (
	caT0        = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	caRevokedAt = caT0.Add(time.Hour)
	caAt        = caT0.Add(2 * time.Hour)
)

// caPublicURL is the base of every URL our CA writes into certificates.
// Nothing resolves it: the test clients dial the test listener whatever
// the host (see routeTo).
const caPublicURL = "http://nemid-ca.test"

// ourCA is an installation of our CA with its revocation services running
// in process: a POCES (good) and a MOCES (revoked, keyCompromise).
type ourCA struct {
	st            store.Store
	kb            keys.Backend
	clk           *clock.Frozen
	a             *ca.Authority
	root, issuing *x509.Certificate
	poces, moces  *x509.Certificate
	issuingKey    crypto.Signer // to craft CRLs and OCSP answers the CA would sign
	ocspCert      *x509.Certificate
	ocspKey       crypto.Signer
	// otherKey is an RSA key of nobody, of the same type as the CA's, so
	// that signatures made with it fail verification itself (rather than
	// on a key-type mismatch).
	otherKey crypto.Signer

	http  *httptest.Server
	hits  *hitCounter
	ldap  string // host:port of the LDAP directory over the store
	crlDB intrev.CRLSource
}

func newOurCA(t *testing.T) *ourCA {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	mkPath := filepath.Join(dir, "master.key")
	if err := keys.CreateMasterKeyFile(mkPath); err != nil {
		t.Fatal(err)
	}
	mk, err := keys.LoadMasterKeyFile(mkPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mk.Close() })
	kd := filepath.Join(dir, "keys")
	if err := os.Mkdir(kd, 0o700); err != nil {
		t.Fatal(err)
	}
	o := &ourCA{st: storetest.OpenSQLite(t), kb: keys.NewFileBackend(kd, mk), clk: clock.NewFrozen(caT0)}
	o.crlDB = o.st
	cfg := ca.PreprodDefaults()
	cfg.PublicURL = caPublicURL
	if err := ca.Initialise(ctx, o.st, o.kb, o.clk, cfg); err != nil {
		t.Fatal(err)
	}
	if o.a, err = ca.Open(ctx, o.st, o.kb, o.clk); err != nil {
		t.Fatal(err)
	}
	o.root, o.issuing, o.ocspCert = o.a.Root(), o.a.Issuing(), o.a.OCSPResponder()
	o.issuingKey = o.signer(t, ca.IssuingCA)
	o.ocspKey = o.signer(t, ca.OCSPKey)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	o.otherKey = other

	issue := func(req oces.Request) *x509.Certificate {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		is, err := o.a.Issue(ctx, ca.IssueRequest{Subject: req, PublicKey: k.Public()})
		if err != nil {
			t.Fatal(err)
		}
		return is.Certificate
	}
	o.poces = issue(oces.Request{Type: oces.POCES, Name: "Gyldig Person"})
	o.moces = issue(oces.Request{Type: oces.MOCES, Name: "Spærret Medarbejder", CVR: "30808460", Organization: "Testfirma A/S"})

	o.clk.Set(caRevokedAt)
	if _, err := o.a.Revoke(ctx, ca.SerialText(o.moces.SerialNumber), ca.ReasonKeyCompromise); err != nil {
		t.Fatal(err)
	}
	pub, err := o.a.NewPublisher(ca.PublishConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.PublishOnce(ctx); err != nil {
		t.Fatal(err)
	}

	mux := http.NewServeMux()
	(&intrev.CRLHandler{CRLs: o.st, Clock: o.clk}).Register(mux)
	responder, err := intrev.NewOCSPResponder(intrev.OCSPConfig{Issuer: o.issuing, Presigned: o.st, Signer: o.a, Clock: o.clk})
	if err != nil {
		t.Fatal(err)
	}
	responder.Register(mux)
	o.hits = &hitCounter{}
	o.http = httptest.NewServer(o.hits.wrap(mux))
	t.Cleanup(o.http.Close)
	o.ldap = startLDAP(t, o, o.st)
	return o
}

func (o *ourCA) signer(t *testing.T, name string) crypto.Signer {
	t.Helper()
	row, err := o.st.CA(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := o.kb.Signer(context.Background(), row.KeyRef)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// client reaches our CA's HTTP services whatever URL a certificate names.
func (o *ourCA) client() *http.Client { return routeTo(o.http.Listener.Addr().String()) }

// startLDAP runs our LDAP directory over crls and returns its address.
func startLDAP(t *testing.T, o *ourCA, crls intrev.CRLSource) string {
	t.Helper()
	srv, err := intrev.NewLDAPServer(intrev.LDAPConfig{
		Listen:      "127.0.0.1:0",
		Authorities: []intrev.Authority{{StoreName: ca.RootCA, Cert: o.root}, {StoreName: ca.IssuingCA, Cert: o.issuing}},
		CRLs:        crls,
		Log:         slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("LDAP server: %v", err)
		}
	})
	return srv.Addr().String()
}

// crlOverride serves chosen DER in place of some of the store's CRLs, and
// counts the reads of each.
type crlOverride struct {
	intrev.CRLSource
	mu    sync.Mutex
	der   map[[2]any][]byte
	reads map[[2]any]int
}

func (c *crlOverride) set(issuer string, partition int, der []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.der == nil {
		c.der = map[[2]any][]byte{}
	}
	c.der[[2]any{issuer, partition}] = der
}

func (c *crlOverride) count(issuer string, partition int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads[[2]any{issuer, partition}]
}

func (c *crlOverride) CRL(ctx context.Context, issuer string, partition int) (store.CRL, error) {
	c.mu.Lock()
	k := [2]any{issuer, partition}
	if c.reads == nil {
		c.reads = map[[2]any]int{}
	}
	c.reads[k]++
	der, ok := c.der[k]
	c.mu.Unlock()
	if ok {
		return store.CRL{Issuer: issuer, Partition: partition, DER: der}, nil
	}
	return c.CRLSource.CRL(ctx, issuer, partition)
}

// routeTo is an HTTP client that sends every request, whatever its URL's
// host, to addr: certificates name their real (or fictitious) hosts.
func routeTo(addr string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
		DisableKeepAlives: true,
	}}
}

// hitCounter counts requests by path.
type hitCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (h *hitCounter) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		if h.n == nil {
			h.n = map[string]int{}
		}
		h.n[r.URL.Path]++
		h.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

func (h *hitCounter) get(path string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n[path]
}

// bytesServer serves whatever body is current, and counts requests.
type bytesServer struct {
	*httptest.Server
	mu       sync.Mutex
	body     []byte
	status   int
	hits     int
	lastCT   string
	lastBody []byte
}

func newBytesServer(t *testing.T) *bytesServer {
	b := &bytesServer{status: http.StatusOK}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		b.mu.Lock()
		b.lastBody = body
		b.hits++
		b.lastCT = r.Header.Get("Content-Type")
		out, status := b.body, b.status
		b.mu.Unlock()
		w.WriteHeader(status)
		w.Write(out) //nolint:errcheck
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *bytesServer) serve(body []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.body, b.status = body, http.StatusOK
}

func (b *bytesServer) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.hits
}

func (b *bytesServer) client() *http.Client { return routeTo(b.Listener.Addr().String()) }

// signCRL signs a CRL as issuer (with key), listing serials, with extra
// extensions.
func signCRL(t *testing.T, issuer *x509.Certificate, key crypto.Signer, thisUpdate, nextUpdate time.Time, revoked []x509.RevocationListEntry, ext ...pkix.Extension) []byte {
	t.Helper()
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(thisUpdate.Unix()), ThisUpdate: thisUpdate, NextUpdate: nextUpdate,
		RevokedCertificateEntries: revoked, ExtraExtensions: ext,
	}, issuer, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// partitionIDP is a partition CRL's issuing distribution point naming the
// directoryName issuer + CN=CRL<n>, as our CA writes it.
func partitionIDP(t *testing.T, issuer *x509.Certificate, n int) pkix.Extension {
	t.Helper()
	name, err := oces.ParseRawName(issuer.RawSubject)
	if err != nil {
		t.Fatal(err)
	}
	dn, err := oces.PartitionName(name, n)
	if err != nil {
		t.Fatal(err)
	}
	return idpWith(t, dn, nil)
}

// idpWith builds an IssuingDistributionPoint with fullName directoryName
// dirName and the given further fields (already DER, e.g. [1] TRUE).
func idpWith(t *testing.T, dirName []byte, more []byte) pkix.Extension {
	t.Helper()
	dir := asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: dirName}
	dirDER := mustMarshal(t, dir)
	full := mustMarshal(t, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: dirDER})
	dp := mustMarshal(t, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: full})
	val := mustMarshal(t, asn1.RawValue{Tag: asn1.TagSequence, IsCompound: true, Bytes: append(dp, more...)})
	return pkix.Extension{Id: oidIssuingDistPoint, Critical: true, Value: val}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantKind fails unless err is a *Error of the given kind.
func wantKind(t *testing.T, st Status, err error, kind error) {
	t.Helper()
	var e *Error
	if err == nil || !errors.As(err, &e) || !errors.Is(err, kind) {
		t.Fatalf("got status %+v, err %v; want an *Error of kind %q", st, err, kind)
	}
	if st != (Status{}) {
		t.Errorf("a failed check returned a status: %+v", st)
	}
	t.Logf("refused as expected: %v", err)
}

func wantGood(t *testing.T, st Status, err error, method string) {
	t.Helper()
	if err != nil {
		t.Fatalf("got %v, want a status", err)
	}
	if st != (Status{Method: method}) {
		t.Fatalf("got %+v, want not revoked by %s", st, method)
	}
}

func wantRevoked(t *testing.T, st Status, err error, method string, at time.Time, reason int) {
	t.Helper()
	if err != nil {
		t.Fatalf("got %v, want a status", err)
	}
	if !st.Revoked || !st.RevokedAt.Equal(at) || st.Reason != reason || st.Method != method {
		t.Fatalf("got %+v, want revoked at %s, reason %d, by %s", st, at, reason, method)
	}
}

// withCDP returns a copy of cert whose CRL distribution points are ext.
func withCDP(cert *x509.Certificate, ext pkix.Extension) *x509.Certificate {
	c := *cert
	c.Extensions = nil
	for _, e := range cert.Extensions {
		if !e.Id.Equal(oidCRLDistributionPoints) {
			c.Extensions = append(c.Extensions, e)
		}
	}
	c.Extensions = append(c.Extensions, ext)
	return &c
}
