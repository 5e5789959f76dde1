// Package xmldsig reads and writes the openoces XMLDSig document that NemID
// returns after a logon or a signing: an enveloping signature inside an
// openoces:signature root (nemid-protocol.md §4).
//
// Verify parses a response under a strict profile and checks its signature
// with the end-entity certificate found in KeyInfo. It is our own verifier,
// not goxmldsig's Validate (which handles only enveloped signatures and does
// no chain building, STACK.md §XMLDSig), with a reader (xmltree.go) and an
// inclusive C14N 1.0 canonicalizer (c14n.go) of its own: one pass over the
// bytes, refusing whatever XML a response cannot be. The tests hold them to
// xmlsec1 and to goxmldsig's canonicalizer over encoding/xml.
// Everything Verify returns is read from the canonical bytes that were
// verified (SignedInfo) or digested (Object), never from the parsed input, so
// that no XML-signature-wrapping shape can make it return unsigned content.
//
// Verify does not judge the certificates: chain building to an OCES root,
// validity dates, key usage, policies and revocation are ooapi's job.
//
// BuildJSClientResponse is the other side: it emits the exact byte layout of
// the JS client (§4.2) for the IdP.
package xmldsig

import "crypto/x509"

// Namespaces and algorithm identifiers of the profile.
const (
	NSOpenOCES = "http://www.openoces.org/2006/07/signature#" // OCES II ("R2") root and property names
	NSDSig     = "http://www.w3.org/2000/09/xmldsig#"

	AlgC14N10    = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
	AlgRSASHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	AlgSHA256    = "http://www.w3.org/2001/04/xmlenc#sha256"
)

// The allow-lists. They hold exactly what the real responses use: all four PP
// fixtures — JS client and CodeFile/OpenSign alike — sign with inclusive C14N
// 1.0 without comments, RSA-SHA256 and a SHA-256 digest, and have no
// Transforms. Nothing weaker is needed, so nothing weaker is accepted: no
// SHA-1 (OCES II signatures are SHA-256, [IG] §13.3), no exclusive C14N, no
// "with comments" variants, no Transforms at all. The OCES I root namespace
// (2003/10) is refused for the same reason: no response we must accept uses it.
var (
	allowedC14N      = []string{AlgC14N10}
	allowedSignature = []string{AlgRSASHA256}
	allowedDigest    = []string{AlgSHA256}
)

func allowed(list []string, alg string) bool {
	for _, a := range list {
		if a == alg {
			return true
		}
	}
	return false
}

// Limits applied when Options leaves them zero.
const (
	DefaultMaxSize    = 1 << 20 // a real response is about 8.5 KB; a signed PDF travels as one base64 Value
	DefaultMaxDepth   = 16      // the profile is 6 deep (root/Signature/Object/Properties/Property/Value)
	DefaultMinRSABits = 2048    // [IG] §13.3: OCES II user keys are RSA-2048
	maxAttrs          = 8       // the profile has at most 3 attributes on an element
)

// Options tunes Verify. The zero value is the production profile.
type Options struct {
	MaxSize    int // bytes; refused before parsing. 0 → DefaultMaxSize
	MaxDepth   int // element nesting. 0 → DefaultMaxDepth
	MinRSABits int // smallest accepted signer modulus. 0 → DefaultMinRSABits
	// KnownCertificates are certificates parsed already, such as a trust
	// environment's CAs, which real responses carry in every document. A
	// KeyInfo certificate with exactly the DER bytes of one of them is
	// taken as that one instead of being parsed again: the same bytes parse
	// to the same certificate, so only the work changes. Signed.Certificates
	// then shares them; like every *x509.Certificate, treat them as
	// read-only.
	KnownCertificates []*x509.Certificate
}

// known returns the known certificate whose DER bytes are der, or nil.
func (o *Options) known(der []byte) *x509.Certificate {
	for _, c := range o.KnownCertificates {
		if c != nil && string(c.Raw) == string(der) {
			return c
		}
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.MaxSize <= 0 {
		o.MaxSize = DefaultMaxSize
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = DefaultMaxDepth
	}
	if o.MinRSABits <= 0 {
		o.MinRSABits = DefaultMinRSABits
	}
	return o
}

// Style tells which NemID client produced the response. Both share the same
// cryptographic profile; they differ in how properties name the signature.
type Style int

const (
	// JSClient: properties carry Target="<Signature Id>" (the JS client writes
	// Target="signature" for Id="signature").
	JSClient Style = iota + 1
	// OpenSign: the CodeFile client (OpenSign heritage) writes
	// Target="#<Signature Id>", e.g. "#OpensignSignature".
	OpenSign
)

func (s Style) String() string {
	switch s {
	case JSClient:
		return "JS client"
	case OpenSign:
		return "OpenSign"
	}
	return "unknown"
}

// Encoding is the openoces:Value/@Encoding of a property.
type Encoding string

const (
	EncodingBase64 Encoding = "base64" // the text is base64 of the value
	EncodingXML    Encoding = "xml"    // the text is the value
)

// Property is one ds:SignatureProperty of the signed Object.
type Property struct {
	Name string
	// Value is the decoded value: the base64-decoded bytes for EncodingBase64
	// (they may be arbitrary binary), the character data for EncodingXML.
	Value string
	// Raw is the character data exactly as signed (still base64 for
	// EncodingBase64), for consumers that compare encoded forms.
	Raw             string
	Encoding        Encoding
	VisibleToSigner bool
	Target          string // as written: "signature" or "#OpensignSignature"
}

// Signed is what a verified response says. Properties, SignedInfo and
// Object come from the verified canonical bytes. Signer is proven by the
// signature itself (its key verified SignedInfo); the other Certificates are
// unsigned and only candidates for chain building. SignatureID is read from
// the unsigned ds:Signature but bound to the signed content: every
// property's Target must name it.
type Signed struct {
	Style Style
	// SignatureID is the Id of the ds:Signature ("signature" from the JS
	// client, "OpensignSignature" from the CodeFile client).
	SignatureID string
	// Signer is the end-entity certificate whose key verified SignedInfo. Its
	// trust is NOT established here.
	Signer *x509.Certificate
	// Certificates holds every KeyInfo certificate in document order
	// (Signer included), for chain building.
	Certificates []*x509.Certificate
	// Properties in document order; names are unique (case-insensitively).
	Properties []Property
	// SignedInfo is the canonical SignedInfo that the signature covers;
	// Object the canonical ds:Object whose SHA-256 is the reference digest.
	SignedInfo, Object []byte
}

// Property returns the property called name (exact match). Names are unique,
// so there is no "first one" ambiguity.
func (s *Signed) Property(name string) (Property, bool) {
	for _, p := range s.Properties {
		if p.Name == name {
			return p, true
		}
	}
	return Property{}, false
}
