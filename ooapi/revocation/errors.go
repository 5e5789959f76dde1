package revocation

import (
	"bytes"
	"crypto/x509"
	"errors"
	"time"
)

// Every error a Checker returns is an *Error whose Kind is one of these, so
// that callers can tell with errors.Is why no status could be established.
// None of them means "not revoked".
var (
	// ErrUnreachable: the OCSP responder, CRL server or LDAP directory
	// gave no answer: the connection failed or timed out, HTTP answered
	// with a status other than 200, the OCSP responder said tryLater or
	// internalError, or the LDAP server said it was busy or unavailable.
	// Usually worth retrying later.
	ErrUnreachable = errors.New("revocation source unreachable")
	// ErrUnknownCertificate: the OCSP responder answered "unknown".
	ErrUnknownCertificate = errors.New("the responder does not know the certificate")
	// ErrNotCurrent: the CRL or OCSP response is not valid at the time
	// asked (expired, or not yet valid), or neither is the delegated OCSP
	// responder's certificate.
	ErrNotCurrent = errors.New("revocation information is not current")
	// ErrInvalid: an answer came, but it cannot be relied on: malformed,
	// badly signed, issued by or about another CA or certificate, a partial
	// CRL where a full one is needed or the wrong partition, an LDAP error
	// result, or larger than the size limit.
	ErrInvalid = errors.New("revocation information is invalid")
	// ErrNoSource: the certificate names no location this checker can use
	// (no OCSP URL, no http:// CRL URL, no CRL partition), the checker is
	// not configured (no LDAP server), or the arguments are unusable.
	ErrNoSource = errors.New("no usable revocation source")
)

// Error is the error of a failed Check.
type Error struct {
	// Method is the checker that failed: "ocsp", "crl" or "ldap" ("" for
	// ForCAs without a checker).
	Method string
	// Kind is one of the Err… values above.
	Kind error
	// Reason says what went wrong, for people. It never holds DER.
	Reason string
	// Err is the underlying cause (a network error, a parse error), or nil.
	Err error
}

func (e *Error) Error() string {
	s := "revocation"
	if e.Method != "" {
		s += " (" + e.Method + ")"
	}
	s += ": " + e.Kind.Error() + ": " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap gives both the Kind and the cause to errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

func fail(method string, kind error, reason string, err error) *Error {
	return &Error{Method: method, Kind: kind, Reason: reason, Err: err}
}

// checkArgs refuses what no checker can work with. The issuer must be the
// certificate's issuer by name: every check below trusts issuer's key, and
// a mix-up would make a CRL or response of another CA look applicable.
func checkArgs(method string, cert, issuer *x509.Certificate, at time.Time) error {
	switch {
	case cert == nil || issuer == nil:
		return fail(method, ErrNoSource, "certificate and issuer are both required", nil)
	case at.IsZero():
		return fail(method, ErrNoSource, "no time given to check the status at", nil)
	case !bytes.Equal(cert.RawIssuer, issuer.RawSubject):
		return fail(method, ErrNoSource, "the issuer given is not the certificate's issuer (names differ)", nil)
	case cert.SerialNumber == nil:
		return fail(method, ErrNoSource, "the certificate has no serial number", nil)
	}
	return nil
}
