// Package revocation tells a service provider whether an OCES certificate
// has been revoked, the way OOAPI did (nemid-protocol.md §8): by OCSP (the
// default here), by the issuing CA's full CRL over HTTP, or by the
// certificate's CRL partition over LDAP.
//
// Every Checker fails closed: when the status cannot be determined (the
// responder is unreachable, a CRL is expired or badly signed, an OCSP
// answer is "unknown") Check returns an error, never Good.
//
// The package imports only the standard library and golang.org/x/crypto
// (for OCSP), so that a service provider can vendor ooapi alone. Its LDAP
// client is its own and speaks just what the partitioned checker needs.
//
// The checkers:
//
//   - OCSP asks the responder named in the certificate (AIA) about the
//     leaf, and checks issuing CAs with a FullCRL, as OOAPI did.
//   - FullCRL downloads the issuing CA's complete CRL over HTTP.
//   - PartitionedCRL fetches the certificate's CRL partition from an LDAP
//     directory (OOAPI's default).
//   - None checks nothing; ForCAs sends CA certificates to another checker.
//
// Each network checker caches what it fetched (see the MaxAge fields) and
// is safe for concurrent use; it must not be copied after first use.
package revocation

import (
	"context"
	"crypto/x509"
	"time"
)

// Checker finds the revocation status of one certificate.
type Checker interface {
	// Check returns the status of cert, issued by issuer, as known at the
	// time at (the validator's clock; it decides which CRLs and OCSP
	// responses are current). A nil error means the Status is established;
	// any error means it could not be, and the caller must refuse the
	// certificate.
	Check(ctx context.Context, cert, issuer *x509.Certificate, at time.Time) (Status, error)
}

// Status is an established revocation status.
type Status struct {
	// Revoked is true when the certificate is revoked at the time asked.
	Revoked bool
	// RevokedAt and Reason (RFC 5280 CRLReason) are set when Revoked.
	RevokedAt time.Time
	Reason    int
	// Method names how the status was found: "ocsp", "crl", "ldap" or "none".
	Method string
}

// The values of Status.Method (and Error.Method).
const (
	MethodOCSP = "ocsp"
	MethodCRL  = "crl"
	MethodLDAP = "ldap"
	MethodNone = "none"
)

// None returns a Checker that CHECKS NOTHING: every certificate, revoked or
// not, is reported as not revoked, with Method "none". It exists so that
// skipping revocation is an explicit, visible choice (for tests, or for a
// CA whose CRL is out of reach, see ForCAs) and never a default. A service
// provider that uses None for end-entity certificates accepts logons with
// stolen, revoked certificates.
func None() Checker { return noneChecker{} }

type noneChecker struct{}

func (noneChecker) Check(context.Context, *x509.Certificate, *x509.Certificate, time.Time) (Status, error) {
	return Status{Method: MethodNone}, nil
}

// ForCAs returns a Checker that sends certificates with IsCA (issuing CAs)
// to ca and all others to leaf. It lets the two be checked differently,
// e.g. ForCAs(&PartitionedCRL{…}, None()) when the root's CRL cannot be
// reached. A nil checker is an error at Check time, never a pass.
func ForCAs(leaf, ca Checker) Checker { return forCAs{leaf: leaf, ca: ca} }

type forCAs struct{ leaf, ca Checker }

func (f forCAs) Check(ctx context.Context, cert, issuer *x509.Certificate, at time.Time) (Status, error) {
	if cert == nil {
		return Status{}, fail("", ErrNoSource, "no certificate to check", nil)
	}
	c, which := f.leaf, "end-entity"
	if cert.IsCA {
		c, which = f.ca, "CA"
	}
	if c == nil {
		return Status{}, fail("", ErrNoSource, "ForCAs has no checker for "+which+" certificates", nil)
	}
	return c.Check(ctx, cert, issuer, at)
}
