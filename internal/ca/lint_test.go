package ca

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/oces"
	"github.com/zmap/zlint/v3/lint"
)

// lintTestNow is the frozen time of the lint tests.
var lintTestNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// countingSigner wraps a real key and counts every signature it makes, so a
// test can prove that a refused certificate was never signed with it.
type countingSigner struct {
	crypto.Signer
	calls atomic.Int32
}

func (c *countingSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	c.calls.Add(1)
	return c.Signer.Sign(r, digest, opts)
}

// lintTestCA is an issuing CA built from the real CA profile (caTemplate),
// with a fresh RSA-2048 key so the test stays fast.
type lintTestCA struct {
	cfg  Config
	cert *x509.Certificate
	key  *rsa.PrivateKey
}

func newLintTestCA(t *testing.T) *lintTestCA {
	t.Helper()
	cfg := PreprodDefaults()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := cfg.caTemplate(cfg.IssuingName, &key.PublicKey, lintTestNow, cfg.IssuingValidityDays, cfg.RootCRLURL(), cfg.RootName)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.AuthorityKeyId = tmpl.SubjectKeyId
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &lintTestCA{cfg: cfg, cert: cert, key: key}
}

// leafTemplate builds an end-entity template exactly as Authority.Issue does
// (same parameters, partition 1), for the subject key pub.
func (c *lintTestCA) leafTemplate(t *testing.T, req oces.Request, pub crypto.PublicKey) *x509.Certificate {
	t.Helper()
	var err error
	if req.ID == "" {
		if req.ID, err = newIdentifier(req.Type); err != nil {
			t.Fatal(err)
		}
	}
	policy, err := c.cfg.Policy(req.Type)
	if err != nil {
		t.Fatal(err)
	}
	issuerName, err := oces.ParseRawName(c.cert.RawSubject)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := oces.Template(req, oces.Params{
		Policy:       policy,
		CPSURL:       c.cfg.CPSURL(),
		NoticeText:   c.cfg.Notice(policy),
		OCSPURL:      c.cfg.OCSPURL(),
		CAIssuersURL: c.cfg.IssuingCertURL(),
		FullCRLURL:   c.cfg.IssuingCRLURL(),
		IssuerName:   issuerName,
		Partition:    1,
		NotBefore:    lintTestNow,
		Validity:     c.cfg.leafValidity(),
	}, pub)
	if err != nil {
		t.Fatalf("oces.Template: %v", err)
	}
	if tmpl.SerialNumber, err = newSerial(); err != nil {
		t.Fatal(err)
	}
	return tmpl
}

func findingNames(fs []LintFinding) []string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.Name
	}
	return names
}

// TestCreateCertificateRefusesLintErrorsBeforeTheRealKeySigns proves the
// order "lint copy first, real signature only when clean": a template zlint
// rejects yields a *LintError naming the lint, and the real key's Sign is
// never called; a clean template is signed exactly once.
func TestCreateCertificateRefusesLintErrorsBeforeTheRealKeySigns(t *testing.T) {
	ca := newLintTestCA(t)
	subjectKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	poces := oces.Request{Type: oces.POCES, Name: "Anne Sofie Ærø Hansen"}

	t.Run("clean template is signed exactly once", func(t *testing.T) {
		signer := &countingSigner{Signer: ca.key}
		der, err := createCertificate(ca.leafTemplate(t, poces, &subjectKey.PublicKey), ca.cert, &subjectKey.PublicKey, signer)
		if err != nil {
			t.Fatalf("createCertificate on a clean POCES template: %v", err)
		}
		if n := signer.calls.Load(); n != 1 {
			t.Fatalf("the real key signed %d times for one clean certificate, want exactly 1", n)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		if err := cert.CheckSignatureFrom(ca.cert); err != nil {
			t.Fatalf("the returned certificate is not signed by the real CA key: %v", err)
		}
		if fs, err := LintCertificate(der, lint.Warn); err != nil || len(fs) != 0 {
			t.Fatalf("clean control has zlint findings %v (err %v); the refusal cases below would prove nothing", fs, err)
		}
	})

	cases := []struct {
		name     string
		mutate   func(*x509.Certificate)
		wantLint string
	}{
		{
			// What the real NemID certificates do (docs/oces-profiles.md).
			name:     "RSA leaf allowing keyAgreement",
			mutate:   func(c *x509.Certificate) { c.KeyUsage |= x509.KeyUsageKeyAgreement },
			wantLint: "e_rsa_allowed_ku_ee",
		},
		{
			name:     "non-CA leaf allowing keyCertSign",
			mutate:   func(c *x509.Certificate) { c.KeyUsage |= x509.KeyUsageCertSign },
			wantLint: "e_ext_key_usage_cert_sign_without_ca",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tmpl := ca.leafTemplate(t, poces, &subjectKey.PublicKey)
			c.mutate(tmpl)
			signer := &countingSigner{Signer: ca.key}
			der, err := createCertificate(tmpl, ca.cert, &subjectKey.PublicKey, signer)
			if n := signer.calls.Load(); n != 0 {
				t.Errorf("the real key signed %d times for a certificate zlint refuses, want 0", n)
			}
			if der != nil {
				t.Errorf("createCertificate returned %d bytes of certificate for a refused template", len(der))
			}
			var le *LintError
			if !errors.As(err, &le) {
				t.Fatalf("createCertificate error = %v (%T), want a *LintError", err, err)
			}
			if le.What != "certificate" {
				t.Errorf("LintError.What = %q, want \"certificate\"", le.What)
			}
			if !slices.Contains(findingNames(le.Findings), c.wantLint) {
				t.Errorf("LintError findings %v do not name %s", le.Findings, c.wantLint)
			}
			for _, f := range le.Findings {
				if f.Status < lint.Error {
					t.Errorf("LintError carries a finding below Error: %s", f)
				}
			}
			if !strings.Contains(err.Error(), c.wantLint) {
				t.Errorf("error text %q does not name %s", err, c.wantLint)
			}
		})
	}

	// A self-signed certificate (parent nil, as for the root) takes the other
	// branch of createCertificate; it must be refused before signing too.
	t.Run("self-signed RSA CA allowing keyAgreement", func(t *testing.T) {
		tmpl, err := ca.cfg.caTemplate(ca.cfg.RootName, &ca.key.PublicKey, lintTestNow, ca.cfg.RootValidityDays, ca.cfg.RootCRLURL(), ca.cfg.RootName)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.AuthorityKeyId = tmpl.SubjectKeyId
		tmpl.KeyUsage |= x509.KeyUsageKeyAgreement
		signer := &countingSigner{Signer: ca.key}
		_, err = createCertificate(tmpl, nil, &ca.key.PublicKey, signer)
		if n := signer.calls.Load(); n != 0 {
			t.Errorf("the real key signed %d times for a self-signed certificate zlint refuses, want 0", n)
		}
		var le *LintError
		if !errors.As(err, &le) {
			t.Fatalf("createCertificate error = %v (%T), want a *LintError", err, err)
		}
		if !slices.Contains(findingNames(le.Findings), "e_rsa_allowed_ku_ca") {
			t.Errorf("LintError findings %v do not name e_rsa_allowed_ku_ca", le.Findings)
		}
	})
}

// TestLintRevocationList shows that zlint's CRL lints run through
// LintRevocationList: a CRL as crypto/x509 makes it has no findings, and one
// with a revocation after thisUpdate is an error.
func TestLintRevocationList(t *testing.T) {
	ca := newLintTestCA(t)
	makeCRL := func(revokedAt time.Time) []byte {
		t.Helper()
		der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
			Number:     big.NewInt(7),
			ThisUpdate: lintTestNow,
			NextUpdate: lintTestNow.Add(24 * time.Hour),
			RevokedCertificateEntries: []x509.RevocationListEntry{{
				SerialNumber:   big.NewInt(0x4f3a12c9),
				RevocationTime: revokedAt,
				ReasonCode:     1, // keyCompromise
			}},
		}, ca.cert, ca.key)
		if err != nil {
			t.Fatalf("CreateRevocationList: %v", err)
		}
		return der
	}

	fs, err := LintRevocationList(makeCRL(lintTestNow.Add(-time.Hour)), lint.Warn)
	if err != nil {
		t.Fatalf("LintRevocationList: %v", err)
	}
	for _, f := range fs {
		t.Errorf("clean CRL: zlint %s", f)
	}

	fs, err = LintRevocationList(makeCRL(lintTestNow.Add(time.Hour)), lint.Error)
	if err != nil {
		t.Fatalf("LintRevocationList: %v", err)
	}
	if !slices.Contains(findingNames(fs), "e_crl_revocation_time_after_this_update") {
		t.Errorf("CRL revoking after its thisUpdate: findings %v, want e_crl_revocation_time_after_this_update (do the CRL lints run at all?)", fs)
	}

	if _, err := LintRevocationList([]byte("not a CRL"), lint.Warn); err == nil {
		t.Error("LintRevocationList accepted garbage")
	}
}

// nemidFixtureDir holds the real NemID preproduction certificates, beside the project.
const nemidFixtureDir = "../../../shared/fixtures/nemid-preprod"

// TestRealNemIDCertificatesLintFindings records how the real NemID leaf
// certificates score under our lint selection (ExcludedLintSources): one
// error, an RSA key allowed keyAgreement, and two warnings on the user
// notice (a noticeRef, and explicitText not UTF8String). These are the
// reasons our profiles differ from DanID's (docs/oces-profiles.md); our
// issuance would refuse the error.
func TestRealNemIDCertificatesLintFindings(t *testing.T) {
	want := []LintFinding{
		{Name: "e_rsa_allowed_ku_ee", Status: lint.Error},
		{Name: "w_ext_cert_policy_contains_noticeref", Status: lint.Warn},
		{Name: "w_ext_cert_policy_explicit_text_not_utf8", Status: lint.Warn},
	}
	for _, name := range []string{"nemid-POCES-personal-valid.cert.pem", "nemid-MOCES-employee-valid.cert.pem", "sp-test.cert.pem"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(nemidFixtureDir, name)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("real fixture missing (the tests expect ../shared beside the project): %v", err)
			}
			block, _ := pem.Decode(data)
			if block == nil || block.Type != "CERTIFICATE" {
				t.Fatalf("%s: no PEM CERTIFICATE block", path)
			}
			got, err := LintCertificate(block.Bytes, lint.Warn)
			if err != nil {
				t.Fatalf("LintCertificate: %v", err)
			}
			same := len(got) == len(want)
			for i := 0; same && i < len(got); i++ {
				same = got[i].Name == want[i].Name && got[i].Status == want[i].Status
			}
			if !same {
				t.Errorf("findings:\n%s\nwant exactly:\n%s", findingList(got), findingList(want))
			}
			if errs, _ := LintCertificate(block.Bytes, lint.Error); len(errs) != 1 || errs[0].Name != "e_rsa_allowed_ku_ee" || !strings.Contains(errs[0].Details, "KeyAgreement") {
				t.Errorf("error-level findings %v, want only e_rsa_allowed_ku_ee about KeyAgreement", errs)
			}
		})
	}
}

func findingList(fs []LintFinding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString("  " + f.String() + "\n")
	}
	return b.String()
}
