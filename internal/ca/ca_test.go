package ca_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/ca"
	"github.com/nemid-dk/nemid/internal/ca/keys"
	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/internal/store/storetest"
	"github.com/nemid-dk/nemid/oces"
	"github.com/zmap/zlint/v3/lint"
)

// testNow is the frozen time of every CA test.
var testNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// env is one initialised CA on a fresh store.
type env struct {
	t     *testing.T
	store store.Store
	keys  keys.Backend
	clock *clock.Frozen
	ca    *ca.Authority
	dir   string
}

func fileBackend(t testing.TB, dir string) keys.Backend {
	t.Helper()
	mkPath := filepath.Join(dir, "master.key")
	if err := keys.CreateMasterKeyFile(mkPath); err != nil {
		t.Fatal(err)
	}
	mk, err := keys.LoadMasterKeyFile(mkPath)
	if err != nil {
		t.Fatal(err)
	}
	kd := filepath.Join(dir, "keys")
	if err := os.Mkdir(kd, 0o700); err != nil {
		t.Fatal(err)
	}
	return keys.NewFileBackend(kd, mk)
}

// newEnv initialises a preprod CA on st with keys in kb (file keys when nil).
func newEnv(t *testing.T, st store.Store, kb keys.Backend) *env {
	t.Helper()
	return newEnvWith(t, st, kb, ca.PreprodDefaults())
}

// newEnvConfig initialises a CA with the given configuration and file keys.
func newEnvConfig(t *testing.T, st store.Store, cfg ca.Config) *env {
	t.Helper()
	return newEnvWith(t, st, nil, cfg)
}

func newEnvWith(t *testing.T, st store.Store, kb keys.Backend, cfg ca.Config) *env {
	t.Helper()
	dir := t.TempDir()
	if kb == nil {
		kb = fileBackend(t, dir)
	}
	clk := clock.NewFrozen(testNow)
	ctx := context.Background()
	if err := ca.Initialise(ctx, st, kb, clk, cfg); err != nil {
		t.Fatalf("Initialise: %v", err)
	}
	a, err := ca.Open(ctx, st, kb, clk)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return &env{t: t, store: st, keys: kb, clock: clk, ca: a, dir: dir}
}

// exportPEM writes the root and issuing certificates for openssl.
func (e *env) exportPEM() (root, issuing string) {
	root = filepath.Join(e.dir, "root.pem")
	issuing = filepath.Join(e.dir, "issuing.pem")
	writePEM(e.t, root, e.ca.Root())
	writePEM(e.t, issuing, e.ca.Issuing())
	return root, issuing
}

func writePEM(t testing.TB, path string, c *x509.Certificate) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
}

func newKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newCSR(t testing.TB, k crypto.Signer) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "ignored"}}, k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// profiles is one request of every kind the CA issues.
var profiles = []struct {
	name string
	req  oces.Request
}{
	{"poces", oces.Request{Type: oces.POCES, Name: "Anne Sofie Ærø Hansen"}},
	{"poces-pseudonym", oces.Request{Type: oces.POCES, Pseudonym: true}},
	{"poces-youth", oces.Request{Type: oces.POCES, Name: "Ung Person", Youth: true}},
	{"moces", oces.Request{Type: oces.MOCES, Name: "Bo Jensen", CVR: "30808460", Organization: "Testfirma A/S", OrganizationalUnit: "Økonomi"}},
	{"voces", oces.Request{Type: oces.VOCES, Name: "Testfirma A/S - webshop", CVR: "30808460", Organization: "Testfirma A/S", Email: "drift@testfirma.dk"}},
	{"foces", oces.Request{Type: oces.FOCES, Name: "Testfirma A/S - lønsystem", CVR: "30808460", Organization: "Testfirma A/S"}},
}

func TestIssueEveryProfileVerifiesWithOpenSSLAndLintsClean(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t), nil)
	ctx := context.Background()
	root, issuing := e.exportPEM()

	// The authority certificates themselves: no zlint error and no warning.
	for name, c := range map[string]*x509.Certificate{"root": e.ca.Root(), "issuing": e.ca.Issuing(), "ocsp": e.ca.OCSPResponder()} {
		assertLintClean(t, name, c.Raw)
	}
	ocspPEM := filepath.Join(e.dir, "ocsp.pem")
	writePEM(t, ocspPEM, e.ca.OCSPResponder())
	openssl(t, "verify", "-CAfile", root, "-untrusted", issuing, ocspPEM)

	for _, p := range profiles {
		t.Run(p.name, func(t *testing.T) {
			k := newKey(t)
			issued, err := e.ca.Issue(ctx, ca.IssueRequest{Subject: p.req, CSR: newCSR(t, k)})
			if err != nil {
				t.Fatalf("Issue: %v", err)
			}
			leaf := filepath.Join(t.TempDir(), "leaf.pem")
			writePEM(t, leaf, issued.Certificate)
			out := openssl(t, "verify", "-CAfile", root, "-untrusted", issuing, leaf)
			if !strings.Contains(out, ": OK") {
				t.Fatalf("openssl verify: %s", out)
			}
			assertLintClean(t, p.name, issued.Certificate.Raw)

			id, err := oces.ParseCertificate(issued.Certificate)
			if err != nil {
				t.Fatalf("ParseCertificate: %v", err)
			}
			if id.Type != p.req.Type || id.Pseudonym != p.req.Pseudonym || id.Youth != p.req.Youth {
				t.Errorf("identity %+v does not match request %+v", id, p.req)
			}
			if !pubEqual(issued.Certificate.PublicKey, k.Public()) {
				t.Error("certificate does not carry the CSR's key")
			}
			if got := issued.Certificate.NotAfter.Sub(issued.Certificate.NotBefore); got != testNow.AddDate(3, 0, 0).Sub(testNow) {
				t.Errorf("validity %v, want three years", got)
			}
			if n := issued.Certificate.SerialNumber.BitLen(); n < 64 {
				t.Errorf("serial has %d bits, want at least 64", n)
			}
			rec, err := e.store.Certificate(ctx, issued.Record.Serial)
			if err != nil || rec.Status != store.StatusGood || rec.Partition != 1 {
				t.Errorf("stored %+v, %v: want good in partition 1", rec, err)
			}
		})
	}
}

func pubEqual(a, b crypto.PublicKey) bool {
	ak, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ak.Equal(b)
}

func assertLintClean(t *testing.T, what string, der []byte) {
	t.Helper()
	findings, err := ca.LintCertificate(der, lint.Warn)
	if err != nil {
		t.Fatalf("%s: lint: %v", what, err)
	}
	for _, f := range findings {
		t.Errorf("%s: zlint %s", what, f)
	}
}

func openssl(t testing.TB, args ...string) string {
	t.Helper()
	out, err := runOpenSSL(args...)
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// runOpenSSL runs openssl and returns its combined output, also on failure.
func runOpenSSL(args ...string) (string, error) {
	out, err := exec.Command("openssl", args...).CombinedOutput()
	return string(out), err
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestPartitionsFillInOrder(t *testing.T) {
	st := storetest.OpenSQLite(t)
	dir := t.TempDir()
	kb := fileBackend(t, dir)
	cfg := ca.PreprodDefaults()
	cfg.PartitionSize = 2
	clk := clock.NewFrozen(testNow)
	ctx := context.Background()
	if err := ca.Initialise(ctx, st, kb, clk, cfg); err != nil {
		t.Fatal(err)
	}
	a, err := ca.Open(ctx, st, kb, clk)
	if err != nil {
		t.Fatal(err)
	}
	k := newKey(t)
	var got []int
	for i := 0; i < 5; i++ {
		is, err := a.Issue(ctx, ca.IssueRequest{Subject: oces.Request{Type: oces.POCES, Name: "P"}, PublicKey: k.Public()})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, is.Record.Partition)
		// The partition is written into the certificate's second distribution point.
		if !regexp.MustCompile(`CN ?= ?CRL` + strconv.Itoa(is.Record.Partition) + `\b`).MatchString(dpDirName(t, is.Certificate)) {
			t.Errorf("certificate %d does not name partition CRL%d", i, is.Record.Partition)
		}
	}
	want := []int{1, 1, 2, 2, 3}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("partitions %v, want %v", got, want)
		}
	}
}

// dpDirName returns openssl's rendering of the certificate's CRL distribution points.
func dpDirName(t *testing.T, c *x509.Certificate) string {
	path := filepath.Join(t.TempDir(), "c.pem")
	writePEM(t, path, c)
	return openssl(t, "x509", "-in", path, "-noout", "-ext", "crlDistributionPoints", "-nameopt", "RFC2253")
}

func TestSecondInitialiseRefusesAndChangesNothing(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t), nil)
	ctx := context.Background()
	before, _ := os.ReadDir(filepath.Join(e.dir, "keys"))
	err := ca.Initialise(ctx, e.store, e.keys, e.clock, ca.PreprodDefaults())
	if !errors.Is(err, ca.ErrAlreadyInitialised) {
		t.Fatalf("second Initialise: %v, want ErrAlreadyInitialised", err)
	}
	after, _ := os.ReadDir(filepath.Join(e.dir, "keys"))
	if len(after) != len(before) {
		t.Errorf("second init made keys: %d files before, %d after", len(before), len(after))
	}
	root, err := e.store.CA(ctx, ca.RootCA)
	if err != nil || string(root.CertDER) != string(e.ca.Root().Raw) {
		t.Error("second init changed the root")
	}
}

func TestBadInputIsRefusedAndChangesNothing(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t), nil)
	ctx := context.Background()
	k := newKey(t)
	badSig := newCSR(t, k)
	badSig[len(badSig)-1] ^= 0x01
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		req  ca.IssueRequest
		want string
	}{
		{"csr with bad signature", ca.IssueRequest{Subject: oces.Request{Type: oces.POCES, Name: "X"}, CSR: badSig}, "does not verify"},
		{"csr garbage", ca.IssueRequest{Subject: oces.Request{Type: oces.POCES, Name: "X"}, CSR: []byte("not a csr")}, "bad certificate signing request"},
		{"unknown profile", ca.IssueRequest{Subject: oces.Request{Type: "xoces", Name: "X"}, PublicKey: k.Public()}, "xoces"},
		{"malformed cvr", ca.IssueRequest{Subject: oces.Request{Type: oces.VOCES, Name: "X", CVR: "1234567", Organization: "Y"}, PublicKey: k.Public()}, "CVR"},
		{"cvr with letters", ca.IssueRequest{Subject: oces.Request{Type: oces.MOCES, Name: "X", CVR: "1234567a", Organization: "Y"}, PublicKey: k.Public()}, "CVR"},
		{"empty name", ca.IssueRequest{Subject: oces.Request{Type: oces.POCES, Name: "  "}, PublicKey: k.Public()}, "CN"},
		{"1024-bit key", ca.IssueRequest{Subject: oces.Request{Type: oces.POCES, Name: "X"}, PublicKey: small.Public()}, "2048"},
		{"no key", ca.IssueRequest{Subject: oces.Request{Type: oces.POCES, Name: "X"}}, "nothing to certify"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.ca.Issue(ctx, c.req)
			if err == nil || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(c.want)) {
				t.Fatalf("Issue: %v, want an error mentioning %q", err, c.want)
			}
		})
	}
	// Nothing was stored, and no partition place was taken.
	certs, err := e.store.ListCertificates(ctx, store.ListFilter{Issuer: ca.IssuingCA})
	if err != nil {
		t.Fatal(err)
	}
	if len(certs) != 1 || certs[0].Profile != "ocsp" {
		t.Fatalf("bad input stored certificates: %+v", certs)
	}
	p, err := e.store.AllocatePartition(ctx, ca.IssuingCA, 1)
	if err != nil || p != 1 {
		t.Fatalf("first partition place after bad input: %d, %v; want 1 (nothing allocated)", p, err)
	}
}

func TestRevoke(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t), nil)
	ctx := context.Background()
	is, err := e.ca.Issue(ctx, ca.IssueRequest{Subject: oces.Request{Type: oces.POCES, Name: "R"}, PublicKey: newKey(t).Public()})
	if err != nil {
		t.Fatal(err)
	}
	serial := strings.ToUpper(is.Record.Serial)
	e.clock.Advance(time.Hour)
	rec, err := e.ca.Revoke(ctx, serial, ca.ReasonKeyCompromise)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != store.StatusRevoked || rec.Reason != 1 || !rec.RevokedAt.Equal(testNow.Add(time.Hour)) {
		t.Fatalf("revoked record %+v", rec)
	}
	if _, err := e.ca.Revoke(ctx, serial, ca.ReasonSuperseded); err == nil || !strings.Contains(err.Error(), "already revoked") {
		t.Fatalf("second revoke: %v", err)
	}
	again, _ := e.store.Certificate(ctx, is.Record.Serial)
	if again.Reason != 1 {
		t.Fatal("second revoke changed the reason")
	}
	if _, err := e.ca.Revoke(ctx, "abcdef", ca.ReasonKeyCompromise); err == nil || !strings.Contains(err.Error(), "no certificate") {
		t.Fatalf("unknown serial: %v", err)
	}
	if _, err := ca.ParseReason("certificateHold"); err == nil {
		t.Fatal("certificateHold accepted")
	}
	if _, err := ca.ParseReason("bogus"); err == nil {
		t.Fatal("unknown reason accepted")
	}
	for _, in := range []string{"keyCompromise", "key-compromise", "KEYCOMPROMISE", "1"} {
		if r, err := ca.ParseReason(in); err != nil || r != ca.ReasonKeyCompromise {
			t.Errorf("ParseReason(%q) = %v, %v", in, r, err)
		}
	}
}

func TestParseSerial(t *testing.T) {
	for in, want := range map[string]string{"0x4F3a": "4f3a", "4f:3a": "4f3a", "004F3A": "4f3a"} {
		if got, err := ca.ParseSerial(in); err != nil || got != want {
			t.Errorf("ParseSerial(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "xyz", "0", "-1", strings.Repeat("f", 41)} {
		if _, err := ca.ParseSerial(bad); err == nil {
			t.Errorf("ParseSerial(%q) accepted", bad)
		}
	}
}

func TestProductionRefusesDefaults(t *testing.T) {
	cfg := ca.ProductionDefaults()
	err := cfg.Validate()
	if err == nil {
		t.Fatal("production defaults validated")
	}
	for _, want := range []string{"organization is not set", "root CA name is not set", "policy OID for poces is not set", "public URL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
	// Borrowing the preproduction names or OIDs is refused too.
	borrowed := ca.PreprodDefaults()
	borrowed.Environment = ca.EnvProduction
	if err := borrowed.Validate(); err == nil || !strings.Contains(err.Error(), "production must not use") {
		t.Errorf("production with preprod names: %v", err)
	}
	own := borrowed
	own.Organization, own.RootName, own.IssuingName, own.OCSPName = "Operatør A/S", "Operatør Root CA", "Operatør Issuing CA 1", "Operatør OCSP"
	own.Policies = map[oces.Type]string{oces.POCES: "1.2.208.999.1.1", oces.MOCES: "1.2.208.999.1.2", oces.VOCES: "1.2.208.999.1.3", oces.FOCES: "1.2.208.999.1.4"}
	own.PublicURL = "http://pki.operator.example"
	if err := own.Validate(); err != nil {
		t.Errorf("production with own settings: %v", err)
	}
}
