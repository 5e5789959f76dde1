package ca

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"sort"
	"strings"
	"sync"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"
	"github.com/zmap/zlint/v3/lint"
)

// ExcludedLintSources are the zlint sources that do not apply to OCES:
// OCES certificates are neither TLS server nor S/MIME nor code-signing
// certificates, and no browser root program governs them.
var ExcludedLintSources = lint.SourceList{
	lint.CABFBaselineRequirements,
	lint.CABFCSBaselineRequirements,
	lint.CABFEVGuidelines,
	lint.CABFSMIMEBaselineRequirements,
	lint.AppleRootStorePolicy,
	lint.MozillaRootStorePolicy,
	lint.ChromeRootStorePolicy,
}

var (
	registryOnce sync.Once
	registry     lint.Registry
	registryErr  error
)

// lintRegistry is zlint's global registry less the excluded sources.
func lintRegistry() (lint.Registry, error) {
	registryOnce.Do(func() {
		registry, registryErr = lint.GlobalRegistry().Filter(lint.FilterOptions{ExcludeSources: ExcludedLintSources})
	})
	return registry, registryErr
}

// LintFinding is one lint that did not pass.
type LintFinding struct {
	Name    string
	Status  lint.LintStatus
	Details string
}

func (f LintFinding) String() string {
	s := fmt.Sprintf("%s: %s", f.Status, f.Name)
	if f.Details != "" {
		s += " (" + f.Details + ")"
	}
	return s
}

// LintError is returned when zlint finds an error or a fatal problem in a
// to-be-signed certificate or CRL; nothing was signed with the real key.
type LintError struct {
	What     string
	Findings []LintFinding
}

func (e *LintError) Error() string {
	parts := make([]string, len(e.Findings))
	for i, f := range e.Findings {
		parts[i] = f.String()
	}
	return fmt.Sprintf("zlint refused the %s: %s", e.What, strings.Join(parts, "; "))
}

// LintCertificate runs zlint on a DER certificate and returns every finding at
// or above minStatus (lint.Warn for a full report, lint.Error for what blocks issuance).
func LintCertificate(der []byte, minStatus lint.LintStatus) ([]LintFinding, error) {
	reg, err := lintRegistry()
	if err != nil {
		return nil, fmt.Errorf("zlint registry: %w", err)
	}
	zc, err := zx509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("zlint cannot parse the certificate: %w", err)
	}
	return findings(zlint.LintCertificateEx(zc, reg), minStatus), nil
}

// LintRevocationList runs zlint on a DER CRL, like LintCertificate.
func LintRevocationList(der []byte, minStatus lint.LintStatus) ([]LintFinding, error) {
	reg, err := lintRegistry()
	if err != nil {
		return nil, fmt.Errorf("zlint registry: %w", err)
	}
	zr, err := zx509.ParseRevocationList(der)
	if err != nil {
		return nil, fmt.Errorf("zlint cannot parse the CRL: %w", err)
	}
	return findings(zlint.LintRevocationListEx(zr, reg), minStatus), nil
}

func findings(rs *zlint.ResultSet, minStatus lint.LintStatus) []LintFinding {
	var out []LintFinding
	for name, r := range rs.Results {
		if r.Status >= minStatus {
			out = append(out, LintFinding{Name: name, Status: r.Status, Details: r.Details})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// lintKey is a throw-away key that signs the lint copy of every certificate,
// so that zlint sees the exact to-be-signed bytes before the real key signs
// anything (the practice of Let's Encrypt's Boulder). It never leaves memory.
var lintKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

// lintTemplate builds the certificate that template would become, signed
// by the throw-away lint key instead of the real one, and runs zlint on it.
// parent is nil for a self-signed certificate. It returns a *LintError when
// zlint reports an error.
func lintTemplate(template, parent *x509.Certificate, pub crypto.PublicKey) error {
	lk, err := lintKey()
	if err != nil {
		return fmt.Errorf("lint key: %w", err)
	}
	// The lint copy must have the same issuer name, AKI and signature
	// algorithm as the real one; only the signing key differs, so the
	// parent's public key is swapped for the lint key's (crypto/x509 checks
	// they match). A self-signed template is its own parent and has no
	// public key set, so there is nothing to swap.
	var lintParent x509.Certificate
	if parent == nil {
		lintParent = *template
		lintParent.PublicKey = nil
	} else {
		lintParent = *parent
		lintParent.PublicKey = &lk.PublicKey
	}
	lintDER, err := x509.CreateCertificate(rand.Reader, template, &lintParent, pub, lk)
	if err != nil {
		return fmt.Errorf("building certificate: %w", err)
	}
	bad, err := LintCertificate(lintDER, lint.Error)
	if err != nil {
		return err
	}
	if len(bad) > 0 {
		return &LintError{What: "certificate", Findings: bad}
	}
	return nil
}

// createCertificate lints the certificate that template would become, then
// signs it with the real key. parent is nil for a self-signed certificate.
// It refuses, signing nothing, when zlint reports an error.
func createCertificate(template, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) ([]byte, error) {
	if err := lintTemplate(template, parent, pub); err != nil {
		return nil, err
	}
	realParent := parent
	if parent == nil {
		realParent = template
	}
	der, err := x509.CreateCertificate(rand.Reader, template, realParent, pub, signer)
	if err != nil {
		return nil, fmt.Errorf("signing certificate: %w", err)
	}
	return der, nil
}
