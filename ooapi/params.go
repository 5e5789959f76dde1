package ooapi

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The two parameters that carry the signature of the others (spec 3.1).
const (
	ParamsDigest    = "PARAMS_DIGEST"
	DigestSignature = "DIGEST_SIGNATURE"
)

// Param is one client parameter: its name exactly as it appears in the JSON
// (NemID compares names case-insensitively, but the normalized string uses
// the name as written) and its value exactly as sent, that is already
// base64-encoded where the parameter is a base64 one.
type Param struct {
	Name  string
	Value string
}

// Client is the NemID client a parameter set is meant for.
type Client string

const (
	// JSClient is the JavaScript client ("client with OTP", spec 2):
	// CLIENTFLOW OCESLOGIN2 or OCESSIGN2.
	JSClient Client = "js"
	// CodeFileClient is the client for locally stored OCES key files
	// (spec 11.1): CLIENTFLOW login or sign.
	CodeFileClient Client = "codefile"
)

// ParameterSet is a set of client parameters in a fixed member order: the
// order in which they were built or parsed. Names are unique under NemID's
// case-insensitive comparison. A signed set ends with PARAMS_DIGEST and
// DIGEST_SIGNATURE. A ParameterSet is immutable.
type ParameterSet struct {
	params []Param
	client Client
}

// Params returns a copy of the parameters in member order.
func (ps *ParameterSet) Params() []Param { return slices.Clone(ps.params) }

// Get returns the value of the parameter called name, compared
// case-insensitively as NemID does.
func (ps *ParameterSet) Get(name string) (string, bool) {
	for _, p := range ps.params {
		if compareNames(p.Name, name) == 0 {
			return p.Value, true
		}
	}
	return "", false
}

// Client is the client the set is for: CodeFileClient when CLIENTFLOW is
// "login" or "sign" (the CodeFile client's values, case-sensitive), else
// JSClient.
func (ps *ParameterSet) Client() Client { return ps.client }

// Normalized returns the bytes that PARAMS_DIGEST and DIGEST_SIGNATURE cover
// (see Normalize).
func (ps *ParameterSet) Normalized() []byte {
	b, err := Normalize(ps.params)
	if err != nil {
		// A ParameterSet is checked when it is made; this cannot happen.
		panic("ooapi: invalid ParameterSet: " + err.Error())
	}
	return b
}

// JSON returns the parameters as a compact JSON object whose members are in
// the set's order, PARAMS_DIGEST and DIGEST_SIGNATURE last in a signed set.
// Member order means nothing to NemID (spec 1.3); it is fixed so that the
// output is reproducible. The characters <, > and & are written as \u003c,
// \u003e and \u0026, so the JSON can be put inside a <script> element as it
// is.
func (ps *ParameterSet) JSON() []byte {
	var b strings.Builder
	b.WriteByte('{')
	for i, p := range ps.params {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(jsonString(p.Name))
		b.WriteByte(':')
		b.Write(jsonString(p.Value))
	}
	b.WriteByte('}')
	return []byte(b.String())
}

// ScriptElement returns the HTML element that carries the parameters in the
// service provider's page (spec 1.3 and 11.1):
// <script type="text/x-nemid" id="nemid_parameters">JSON</script> for the JS
// client, id "codefile_parameters" for the CodeFile client. It is safe to
// insert into a page verbatim (see JSON). The page posts the element's text
// to the client when the client asks with SendParameters.
func (ps *ParameterSet) ScriptElement() string {
	id := "nemid_parameters"
	if ps.client == CodeFileClient {
		id = "codefile_parameters"
	}
	return `<script type="text/x-nemid" id="` + id + `">` + string(ps.JSON()) + `</script>`
}

func jsonString(s string) []byte {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // a string always marshals
	}
	return b
}

// newParameterSet checks params (non-empty names, valid UTF-8, no two names
// equal under NemID's comparison) and makes a set of them.
func newParameterSet(params []Param) (*ParameterSet, error) {
	if err := checkParams(params); err != nil {
		return nil, err
	}
	ps := &ParameterSet{params: slices.Clone(params), client: JSClient}
	if v, ok := ps.Get("CLIENTFLOW"); ok && (v == "login" || v == "sign") {
		ps.client = CodeFileClient
	}
	return ps, nil
}

// ErrDuplicateName is returned (wrapped) when two parameter names are equal
// under NemID's case-insensitive comparison, e.g. "LANGUAGE" and "language":
// NemID would have kept only one of them.
var ErrDuplicateName = errors.New("duplicate parameter name")

func checkParams(params []Param) error {
	for _, p := range params {
		if p.Name == "" {
			return errors.New("empty parameter name")
		}
		if !utf8.ValidString(p.Name) {
			return fmt.Errorf("parameter name %q is not valid UTF-8", p.Name)
		}
		if !utf8.ValidString(p.Value) {
			return fmt.Errorf("the value of %s is not valid UTF-8", p.Name)
		}
	}
	sorted := slices.Clone(params)
	slices.SortStableFunc(sorted, func(a, b Param) int { return compareNames(a.Name, b.Name) })
	for i := 1; i < len(sorted); i++ {
		if compareNames(sorted[i-1].Name, sorted[i].Name) == 0 {
			return fmt.Errorf("%w: %q and %q", ErrDuplicateName, sorted[i-1].Name, sorted[i].Name)
		}
	}
	return nil
}

// Normalize returns the bytes that PARAMS_DIGEST is the SHA-256 of and that
// DIGEST_SIGNATURE signs (spec 3.1): every parameter except PARAMS_DIGEST and
// DIGEST_SIGNATURE (whatever their case), sorted by name as Java's
// String.CASE_INSENSITIVE_ORDER sorts, each name as written followed by its
// value as sent, with no separators, in UTF-8.
//
// For ASCII names the order is that of the lower-cased names, byte by byte,
// so "_" (0x5F) sorts before the letters: SIGN_PROPERTIES < SIGNTEXT <
// SIGNTEXT_FORMAT. Other names are compared as Java 8 does, UTF-16 code unit
// by code unit, each first upper-cased and then lower-cased with Unicode's
// simple case mappings (Go's tables; a newer Java differs only for characters
// outside the Basic Multilingual Plane). Names that compare equal, such as
// "Language" and "LANGUAGE", are an error (ErrDuplicateName): NemID's
// TreeMap would have silently dropped one of them. So are empty names and
// invalid UTF-8.
func Normalize(params []Param) ([]byte, error) {
	if err := checkParams(params); err != nil {
		return nil, err
	}
	kept := make([]Param, 0, len(params))
	n := 0
	for _, p := range params {
		if isSignatureParam(p.Name) {
			continue
		}
		kept = append(kept, p)
		n += len(p.Name) + len(p.Value)
	}
	slices.SortFunc(kept, func(a, b Param) int { return compareNames(a.Name, b.Name) })
	out := make([]byte, 0, n)
	for _, p := range kept {
		out = append(out, p.Name...)
		out = append(out, p.Value...)
	}
	return out, nil
}

// Digest returns PARAMS_DIGEST for params: base64 (standard, padded) of the
// SHA-256 of Normalize(params).
func Digest(params []Param) (string, error) {
	n, err := Normalize(params)
	if err != nil {
		return "", err
	}
	return digestOf(n), nil
}

func digestOf(normalized []byte) string {
	sum := sha256.Sum256(normalized)
	return base64.StdEncoding.EncodeToString(sum[:])
}

func isSignatureParam(name string) bool {
	return compareNames(name, ParamsDigest) == 0 || compareNames(name, DigestSignature) == 0
}

// CompareNames compares two parameter names as NemID does, by Java's
// String.CASE_INSENSITIVE_ORDER (see Normalize): negative if a sorts before
// b, positive if after, zero if NemID takes them for the same name.
func CompareNames(a, b string) int { return compareNames(a, b) }

// compareNames is Java's String.CASE_INSENSITIVE_ORDER (Java 8 and earlier,
// the Java of NemID's reference code): UTF-16 code unit by code unit, equal
// units skipped, then both upper-cased, then both lower-cased; the first
// difference decides, else the shorter string sorts first.
func compareNames(a, b string) int {
	if isASCII(a) && isASCII(b) {
		return compareASCIIFold(a, b)
	}
	ua, ub := utf16Units(a), utf16Units(b)
	for i := 0; i < len(ua) && i < len(ub); i++ {
		c1, c2 := ua[i], ub[i]
		if c1 == c2 {
			continue
		}
		c1, c2 = javaToUpper(c1), javaToUpper(c2)
		if c1 == c2 {
			continue
		}
		c1, c2 = javaToLower(c1), javaToLower(c2)
		if c1 != c2 {
			return int(c1) - int(c2)
		}
	}
	return len(ua) - len(ub)
}

// compareASCIIFold is compareNames for ASCII strings: upper- then
// lower-casing an ASCII letter is lower-casing it.
func compareASCIIFold(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		c1, c2 := lowerASCII(a[i]), lowerASCII(b[i])
		if c1 != c2 {
			return int(c1) - int(c2)
		}
	}
	return len(a) - len(b)
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func upperASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
	}
	return string(b)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// utf16Units is s as Java holds it. s must be valid UTF-8.
func utf16Units(s string) []uint16 {
	out := make([]uint16, 0, len(s))
	for _, r := range s {
		if r >= 0x10000 {
			r -= 0x10000
			out = append(out, uint16(0xD800+(r>>10)), uint16(0xDC00+(r&0x3FF)))
			continue
		}
		out = append(out, uint16(r))
	}
	return out
}

// javaToUpper and javaToLower are Character.toUpperCase(char) and
// Character.toLowerCase(char): simple case mappings, surrogates unchanged,
// the result cut to 16 bits as Java's (char) cast does.
func javaToUpper(c uint16) uint16 { return uint16(unicode.ToUpper(rune(c))) }
func javaToLower(c uint16) uint16 { return uint16(unicode.ToLower(rune(c))) }
