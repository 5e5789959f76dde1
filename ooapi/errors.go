package ooapi

import (
	"fmt"
)

// ClientError is the answer of a NemID client that did not log the user on
// or sign: the base64 of a bare error code such as CAN002 (the user
// cancelled) or LOCK001 (spec §4.1, §5). It is not an attack and not a
// bug in the service provider's integration (except the APP and SRV codes):
// show the user Code.Text in their language.
type ClientError struct {
	Code Code
}

func (e *ClientError) Error() string {
	return "ooapi: the NemID client answered " + string(e.Code) + ": " + e.Code.Description()
}

// Reason says why a response was refused. Programs switch on it; Detail in
// ValidationError is for people.
type Reason int

// The reasons, in the order Validator checks.
const (
	// Malformed: neither base64 of an XML document nor an error code.
	Malformed Reason = iota + 1
	// NoChallenge: no challenge is outstanding for the session: it was
	// never stored, it has been used (a response can be accepted once), or
	// it expired.
	NoChallenge
	// BadSignature: the document breaks the strict XMLDSig profile or its
	// signature does not verify; Err is the *xmldsig.Error with the detail.
	BadSignature
	// WrongAction: a logon response given to Sign, a signature given to
	// Logon, or an action property that is neither.
	WrongAction
	// ChallengeMismatch: the signed challenge is missing or differs from the
	// one stored for the session.
	ChallengeMismatch
	// RequestIssuerMismatch: the signed RequestIssuer (the service
	// provider's friendly name that NemID showed the user) is missing,
	// doubled or not one of the service provider's names.
	RequestIssuerMismatch
	// UntrustedChain: the signer's certificate does not chain, through valid
	// CA certificates, to a root of the trust environment — an unknown
	// issuer, a certificate of another environment, a broken CA signature
	// or constraint, an expired CA, or a KeyInfo certificate that is not
	// part of the chain.
	UntrustedChain
	// NotOCES: the signer's certificate is not an OCES end-entity
	// certificate (subject shape, policy count) or its policy is not the
	// environment's for its type.
	NotOCES
	// KeyUsage: the signer's certificate may not make digital signatures.
	KeyUsage
	// RevocationUnknown: the revocation status could not be established
	// (responder unreachable, CRL expired, …); Err says why. The response
	// is refused: revocation checking fails closed.
	RevocationUnknown
	// CertificateNotValid: the certificate is expired, not yet valid or
	// revoked at the validator's time; the Result is returned too, with
	// Status set.
	CertificateNotValid
	// SignTextMismatch: the signed document is not the agreement the
	// service provider asked the user to sign, or it was not shown to the
	// user.
	SignTextMismatch
)

var reasonTexts = [...]string{
	Malformed:             "malformed response",
	NoChallenge:           "no outstanding challenge for the session",
	BadSignature:          "bad XML signature",
	WrongAction:           "wrong action",
	ChallengeMismatch:     "challenge mismatch",
	RequestIssuerMismatch: "RequestIssuer mismatch",
	UntrustedChain:        "certificate chain not trusted",
	NotOCES:               "not an OCES certificate of the environment",
	KeyUsage:              "key usage does not allow signatures",
	RevocationUnknown:     "revocation status unknown",
	CertificateNotValid:   "certificate not valid",
	SignTextMismatch:      "signed text differs from the agreement",
}

// String names the reason in a few words.
func (r Reason) String() string {
	if r > 0 && int(r) < len(reasonTexts) {
		return reasonTexts[r]
	}
	return fmt.Sprintf("reason(%d)", int(r))
}

// ValidationError is every refusal of a response other than a ClientError,
// in the style of crypto/x509.CertificateInvalidError: Reason for programs,
// Detail for people (it names certificates and properties, never a
// challenge or a secret), Err for the underlying error (an *xmldsig.Error,
// a revocation error) when there is one.
type ValidationError struct {
	Reason Reason
	Detail string
	Err    error
}

func (e *ValidationError) Error() string {
	s := "ooapi: " + e.Reason.String()
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *ValidationError) Unwrap() error { return e.Err }

func refuse(r Reason, format string, args ...any) *ValidationError {
	return &ValidationError{Reason: r, Detail: fmt.Sprintf(format, args...)}
}
