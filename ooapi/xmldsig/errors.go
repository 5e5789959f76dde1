package xmldsig

import "fmt"

// Reason says why Verify rejected a document. Every check in the profile has
// its own reason, so that a caller (and a test) can tell an attack shape from
// a damaged document without parsing error strings.
type Reason int

// The reasons, roughly in the order Verify checks them.
const (
	// Malformed: not well-formed XML, not UTF-8, a bad XML declaration, text
	// where the profile has none, or a namespace declaration outside the
	// profile (default namespaces, reserved prefixes, undeclared prefixes).
	Malformed Reason = iota + 1
	// TooLarge: the document is longer than Options.MaxSize.
	TooLarge
	// TooDeep: nesting deeper than Options.MaxDepth.
	TooDeep
	// TooComplex: an element has too many attributes, or a signed element
	// (SignedInfo, the Object) has more than 1000 elements.
	TooComplex
	// DTDForbidden: a DOCTYPE, entity declaration or any other <!…> directive.
	DTDForbidden
	// ProcInstForbidden: a processing instruction other than the leading XML
	// declaration.
	ProcInstForbidden
	// WrongRoot: the root is not {http://www.openoces.org/2006/07/signature#}signature.
	WrongRoot
	// NotOneSignature: the document holds zero or several ds:Signature elements.
	NotOneSignature
	// SignatureMisplaced: the only ds:Signature is not a child of the root.
	SignatureMisplaced
	// ObjectMisplaced: a ds:Object that is not a child of the ds:Signature.
	ObjectMisplaced
	// PropertyOutsideObject: a signature-property element (ds:SignatureProperties,
	// ds:SignatureProperty, any openoces element below the root) outside the
	// signed ds:Object.
	PropertyOutsideObject
	// UnsignedObject: a ds:Object that the Reference does not cover.
	UnsignedObject
	// UnexpectedElement: an element the profile does not have at that place,
	// or a second one where the profile has exactly one.
	UnexpectedElement
	// UnexpectedAttribute: an attribute the profile does not have on that
	// element (including any prefixed attribute such as xml:lang).
	UnexpectedAttribute
	// MissingElement: an element or attribute the profile requires is absent.
	MissingElement
	// DuplicateID: two attributes named Id, ID or id (any case) carry the
	// same value anywhere in the document.
	DuplicateID
	// NotOneReference: SignedInfo holds zero or several ds:Reference elements.
	NotOneReference
	// ReferenceTarget: the Reference URI is not "#Id", or that Id is not on a
	// ds:Object child of the ds:Signature.
	ReferenceTarget
	// TransformNotAllowed: the Reference has a ds:Transforms element.
	TransformNotAllowed
	// AlgorithmNotAllowed: a canonicalization, signature or digest algorithm
	// outside the allow-list.
	AlgorithmNotAllowed
	// BadCertificate: an X509Certificate that is not base64 DER of a certificate.
	BadCertificate
	// NoSignerCertificate: KeyInfo holds no end-entity (non-CA) certificate.
	NoSignerCertificate
	// AmbiguousSigner: KeyInfo holds more than one end-entity certificate.
	AmbiguousSigner
	// WeakKey: the signer's key is not RSA, or shorter than Options.MinRSABits.
	WeakKey
	// SignatureInvalid: the SignatureValue does not verify over the canonical
	// SignedInfo with the signer's key.
	SignatureInvalid
	// DigestMismatch: SHA-256 of the canonical ds:Object differs from DigestValue.
	DigestMismatch
	// BadProperty: a signature property without a name, with a Target that
	// does not name the ds:Signature, or a VisibleToSigner other than yes/no.
	BadProperty
	// DuplicateProperty: two properties with the same name (compared without
	// regard to case, so that no consumer can be confused by "Action"/"action").
	DuplicateProperty
	// BadEncoding: a property Encoding other than base64/xml, or a base64
	// value that does not decode.
	BadEncoding
)

var reasonNames = [...]string{
	Malformed:             "malformed document",
	TooLarge:              "document too large",
	TooDeep:               "document nested too deep",
	TooComplex:            "document too complex",
	DTDForbidden:          "DTD or entity declaration",
	ProcInstForbidden:     "processing instruction",
	WrongRoot:             "wrong root element",
	NotOneSignature:       "not exactly one ds:Signature",
	SignatureMisplaced:    "ds:Signature is not a child of the root",
	ObjectMisplaced:       "ds:Object is not a child of the ds:Signature",
	PropertyOutsideObject: "signature property outside the signed ds:Object",
	UnsignedObject:        "ds:Object not covered by the reference",
	UnexpectedElement:     "unexpected element",
	UnexpectedAttribute:   "unexpected attribute",
	MissingElement:        "missing element or attribute",
	DuplicateID:           "duplicate Id",
	NotOneReference:       "not exactly one ds:Reference",
	ReferenceTarget:       "reference target",
	TransformNotAllowed:   "transform not allowed",
	AlgorithmNotAllowed:   "algorithm not allowed",
	BadCertificate:        "bad certificate",
	NoSignerCertificate:   "no signer certificate",
	AmbiguousSigner:       "ambiguous signer certificate",
	WeakKey:               "signer key not allowed",
	SignatureInvalid:      "signature value does not verify",
	DigestMismatch:        "reference digest mismatch",
	BadProperty:           "bad signature property",
	DuplicateProperty:     "duplicate signature property",
	BadEncoding:           "bad property encoding",
}

// String names the reason in a few words.
func (r Reason) String() string {
	if r > 0 && int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", int(r))
}

// Error is the error Verify returns for every rejected document, in the style
// of crypto/x509.CertificateInvalidError: Reason for programs, Detail for
// people (it may quote attacker-controlled names, truncated, never values).
type Error struct {
	Reason Reason
	Detail string
	Err    error // the underlying parser or crypto error, if any
}

func (e *Error) Error() string {
	s := "xmldsig: " + e.Reason.String()
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

func fail(r Reason, format string, args ...any) *Error {
	if len(args) == 0 {
		return &Error{Reason: r, Detail: format}
	}
	return &Error{Reason: r, Detail: fmt.Sprintf(format, args...)}
}

func failErr(r Reason, err error, detail string) *Error {
	return &Error{Reason: r, Detail: detail, Err: err}
}

// quote shortens an attacker-chosen name for an error message.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		s = s[:max] + "…"
	}
	return fmt.Sprintf("%q", s)
}
