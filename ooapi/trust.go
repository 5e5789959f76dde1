package ooapi

import (
	"bytes"
	"crypto/x509"
	"embed"
	"encoding/pem"
	"errors"
	"fmt"
	"path"
	"sync"

	"github.com/nemid-dk/nemid/oces"
)

// Trust is a trust environment: the OCES roots a service provider accepts,
// the issuing CAs it already knows (used when a response does not carry
// its issuing CA), and the certificate-policy prefixes its end-entity
// certificates must have (spec §6.1, §7.3). A response is accepted only if
// its signer chains to one of the roots, and only with a policy under the
// environment's prefix for the certificate's type.
//
// Environments are not mixed: as in OOAPI, where production could not be
// combined with test environments, a Trust holds one environment.
type Trust struct {
	name          string
	policies      oces.Environment
	roots         []*x509.Certificate
	intermediates []*x509.Certificate
	// verifiedCALinks remembers CA-to-CA signatures already checked (see
	// checkLink).
	verifiedCALinks sync.Map
}

//go:embed roots/*.pem
var shippedRoots embed.FS

// PreproductionTrust is NemID's preproduction (PP) environment: root
// TRUST2408 Systemtest VII Primary CA, issuing CAs Systemtest VIII, XXII and
// XXXIV, policies under 1.3.6.1.4.1.31313.2.4.6. The real test users and
// test service providers of NemID lived here.
func PreproductionTrust() *Trust {
	return mustShippedTrust("OCES II preproduction", oces.OCESPreproduction,
		"oces2-preprod-root.pem", "oces2-preprod-ica-systemtest8.pem",
		"oces2-preprod-ica-systemtest22.pem", "oces2-preprod-ica-systemtest34.pem")
}

// ProductionTrust is NemID's production environment: root TRUST2408 OCES
// Primary CA, policies under 1.2.208.169.1.1.1.
func ProductionTrust() *Trust {
	return mustShippedTrust("OCES II production", oces.OCESProduction, "oces2-production-root.pem")
}

func mustShippedTrust(name string, policies oces.Environment, files ...string) *Trust {
	var all []byte
	for _, f := range files {
		b, err := shippedRoots.ReadFile(path.Join("roots", f))
		if err != nil {
			panic("ooapi: shipped certificate missing: " + err.Error())
		}
		all = append(all, b...)
	}
	t, err := ParseTrust(name, policies, all)
	if err != nil {
		panic("ooapi: shipped certificate unusable: " + err.Error())
	}
	return t
}

// ParseTrust makes a trust environment from PEM certificates: every
// self-signed CA certificate becomes a root, every other CA certificate a
// known issuing CA. policies gives the policy OID prefix (or full OID) per
// OCES type. Use it for a CA of your own, such as the one `nemid ca export`
// writes (root.pem and issuing.pem).
func ParseTrust(name string, policies oces.Environment, pemCerts []byte) (*Trust, error) {
	t := &Trust{name: name, policies: policies}
	rest := bytes.TrimSpace(pemCerts)
	for len(rest) > 0 {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("ooapi: trust: not PEM (want CERTIFICATE blocks)")
		}
		rest = bytes.TrimSpace(rest)
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("ooapi: trust: %w", err)
		}
		if !c.BasicConstraintsValid || !c.IsCA {
			return nil, fmt.Errorf("ooapi: trust: %q is not a CA certificate", c.Subject)
		}
		if selfSigned(c) {
			t.roots = append(t.roots, c)
		} else {
			t.intermediates = append(t.intermediates, c)
		}
	}
	if len(t.roots) == 0 {
		return nil, errors.New("ooapi: trust: no self-signed root certificate")
	}
	if len(policies.Prefixes) == 0 {
		return nil, errors.New("ooapi: trust: no certificate policies")
	}
	return t, nil
}

// Name describes the environment.
func (t *Trust) Name() string { return t.name }

// Policies returns the environment's policy prefixes.
func (t *Trust) Policies() oces.Environment { return t.policies }

// Roots returns the environment's root certificates.
func (t *Trust) Roots() []*x509.Certificate { return append([]*x509.Certificate(nil), t.roots...) }

// isRoot reports whether c is byte for byte one of the roots.
func (t *Trust) isRoot(c *x509.Certificate) bool {
	for _, r := range t.roots {
		if bytes.Equal(r.Raw, c.Raw) {
			return true
		}
	}
	return false
}

// selfSigned reports whether c names itself as issuer and its own key
// verifies its signature.
func selfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawSubject, c.RawIssuer) && c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}
