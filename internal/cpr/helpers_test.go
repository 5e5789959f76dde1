package cpr_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nemid-dk/nemid/internal/ca"
	"github.com/nemid-dk/nemid/internal/ca/keys"
	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/cpr"
	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/oces"
	wire "github.com/nemid-dk/nemid/ooapi/cpr"
)

// The shared CA: making its RSA-4096 keys takes seconds, so every test of
// the package uses one installation and store, each test with service
// providers of its own (the limits count per service provider).
var (
	envOnce sync.Once
	envErr  error
	theEnv  *env
)

type env struct {
	dir       string
	st        store.Store
	ca        *ca.Authority
	roots     *x509.CertPool
	serverTLS *tls.Certificate
}

// caStart is the CA's frozen time; certificates are valid from it for years.
var caStart = time.Now().UTC().Truncate(time.Second).Add(-time.Hour)

func TestMain(m *testing.M) {
	code := m.Run()
	if theEnv != nil {
		theEnv.st.Close()
		os.RemoveAll(theEnv.dir)
	}
	os.Exit(code)
}

func getEnv(t testing.TB) *env {
	t.Helper()
	envOnce.Do(func() { theEnv, envErr = newEnv() })
	if envErr != nil {
		t.Fatal(envErr)
	}
	return theEnv
}

func newEnv() (*env, error) {
	dir, err := os.MkdirTemp("", "nemid-cpr-env-")
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	// A real SQLite store (as storetest.OpenSQLite opens), kept for the
	// whole run instead of one test.
	st, err := store.Open(ctx, "", dir)
	if err != nil {
		return nil, err
	}
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
	clk := clock.NewFrozen(caStart)
	if err := ca.Initialise(ctx, st, kb, clk, ca.PreprodDefaults()); err != nil {
		return nil, err
	}
	a, err := ca.Open(ctx, st, kb, clk)
	if err != nil {
		return nil, err
	}
	srv, err := a.IssueTLSServer(ctx, []string{"127.0.0.1"}, 0)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	roots.AddCert(a.Root())
	return &env{dir: dir, st: st, ca: a, roots: roots, serverTLS: srv}, nil
}

var spCounter atomic.Int64

// testSP is a registered service provider and its TLS client certificate.
type testSP struct {
	sp   store.ServiceProvider
	cert tls.Certificate
	leaf *x509.Certificate
}

func (s testSP) spid() string { return strconv.FormatInt(s.sp.ID, 10) }

// newVOCES issues a VOCES certificate with a new key.
func (e *env) newVOCES(t testing.TB, name string) (tls.Certificate, *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	iss, err := e.ca.Issue(context.Background(), ca.IssueRequest{
		Subject:   oces.Request{Type: oces.VOCES, Name: name, CVR: "30808460", Organization: "Testfirma A/S"},
		PublicKey: key.Public(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{iss.Certificate.Raw, e.ca.Issuing().Raw}, PrivateKey: key}, iss.Certificate
}

// newSP registers a service provider with the given rights.
func (e *env) newSP(t testing.TB, match, lookup bool) testSP {
	t.Helper()
	name := fmt.Sprintf("Testbutik %d", spCounter.Add(1))
	cert, leaf := e.newVOCES(t, name)
	sp, err := e.st.RegisterServiceProvider(context.Background(), store.ServiceProvider{
		Name: name, Origins: []string{"https://shop.example"}, CertDER: leaf.Raw, Subject: leaf.Subject.String(),
		AllowCPRMatch: match, AllowCPRLookup: lookup,
	})
	if err != nil {
		t.Fatal(err)
	}
	return testSP{sp: sp, cert: cert, leaf: leaf}
}

// newPerson links a new PID to a CPR number and returns both.
func (e *env) newPerson(t testing.TB, cprNumber string) string {
	t.Helper()
	pid, err := oces.NewPID()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.LinkCPR(context.Background(), store.CPRLink{Identity: "PID:" + pid, CPR: cprNumber, CreatedAt: caStart}); err != nil {
		t.Fatal(err)
	}
	return pid
}

// newEmployee links a new RID to a CPR number and returns the serialNumber.
func (e *env) newEmployee(t testing.TB, cprNumber string) string {
	t.Helper()
	rid, err := oces.NewRID()
	if err != nil {
		t.Fatal(err)
	}
	serial := "CVR:30808460-RID:" + rid
	if err := e.st.LinkCPR(context.Background(), store.CPRLink{Identity: serial, CPR: cprNumber, CreatedAt: caStart}); err != nil {
		t.Fatal(err)
	}
	return serial
}

// service is a running CPR service over TLS.
type service struct {
	svc     *cpr.Service
	srv     *httptest.Server
	clock   *clock.Frozen
	metrics *prometheus.Registry
	logs    *syncBuffer
	env     *env
}

// startService serves the CPR services of env over TLS, as `nemid serve`
// does, with a frozen clock and the given limits on systematic searching.
func startService(t testing.TB, st cpr.Store, limits cpr.Limits) *service {
	t.Helper()
	e := getEnv(t)
	if st == nil {
		st = e.st
	}
	s := &service{clock: clock.NewFrozen(time.Now()), metrics: prometheus.NewRegistry(), logs: new(syncBuffer), env: e}
	var err error
	s.svc, err = cpr.New(cpr.Config{
		Store: st, Root: e.ca.Root(), Issuing: e.ca.Issuing(), Limits: limits, Clock: s.clock,
		Log: slog.New(slog.NewTextHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug})), Metrics: s.metrics,
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	s.svc.Register(mux)
	s.srv = httptest.NewUnstartedServer(mux)
	s.srv.TLS = &tls.Config{Certificates: []tls.Certificate{*e.serverTLS}, ClientAuth: tls.RequestClientCert, MinVersion: tls.VersionTLS12}
	s.srv.StartTLS()
	t.Cleanup(s.srv.Close)
	return s
}

func (s *service) config(sp testSP) wire.Config {
	return wire.Config{BaseURL: s.srv.URL, SPID: sp.spid(), TLS: wire.NewTLSConfig(sp.cert, s.env.roots)}
}

func (s *service) pidClient(t testing.TB, sp testSP, iface wire.PIDInterface) *wire.PIDClient {
	t.Helper()
	c, err := wire.NewPIDClient(s.config(sp))
	if err != nil {
		t.Fatal(err)
	}
	c.Interface = iface
	return c
}

func (s *service) ridClient(t testing.TB, sp testSP) *wire.RIDClient {
	t.Helper()
	c, err := wire.NewRIDClient(s.config(sp))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// post sends a raw body, as curl would, with the given client certificate
// (none when cert is nil), and returns the HTTP status and body.
func (s *service) post(t testing.TB, cert *tls.Certificate, path, contentType string, body []byte) (int, []byte) {
	t.Helper()
	tc := &tls.Config{RootCAs: s.env.roots, MinVersion: tls.VersionTLS12}
	if cert != nil {
		tc.Certificates = []tls.Certificate{*cert}
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tc}, Timeout: 10 * time.Second}
	defer hc.CloseIdleConnections()
	resp, err := hc.Post(s.srv.URL+path, contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// syncBuffer is a bytes.Buffer safe for concurrent writers and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
