package revocation

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// CRL distribution points (RFC 5280 §4.2.1.13). crypto/x509 keeps only
// their URIs; the partitioned checker needs the directoryName too, and
// both CRL checkers must skip points that cover only some reasons or whose
// CRL another issuer signs. So the extension is read here.

var (
	oidCRLDistributionPoints = asn1.ObjectIdentifier{2, 5, 29, 31}
	oidIssuingDistPoint      = asn1.ObjectIdentifier{2, 5, 29, 28}
)

// Context-specific tags of DistributionPoint, DistributionPointName and
// GeneralName.
var (
	tagCtx0 = cbasn1.Tag(0).ContextSpecific().Constructed() // distributionPoint, fullName
	tagCtx1 = cbasn1.Tag(1).ContextSpecific().Constructed() // nameRelativeToCRLIssuer
	tagDir  = cbasn1.Tag(4).ContextSpecific().Constructed() // directoryName
	tagURI  = cbasn1.Tag(6).ContextSpecific()               // uniformResourceIdentifier
)

// distributionPoint is one usable point: its fullName's URIs and
// directoryNames (each the DER of a Name).
type distributionPoint struct {
	uris     []string
	dirNames [][]byte
}

// distributionPoints returns the certificate's complete-coverage
// distribution points: those with a fullName and neither reasons nor
// cRLIssuer. A certificate without the extension has none.
func distributionPoints(cert *x509.Certificate) ([]distributionPoint, error) {
	var raw []byte
	for _, e := range cert.Extensions {
		if e.Id.Equal(oidCRLDistributionPoints) {
			raw = e.Value
		}
	}
	if raw == nil {
		return nil, nil
	}
	errBad := errors.New("malformed CRL distribution points extension")
	in := cryptobyte.String(raw)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, errBad
	}
	var out []distributionPoint
	for !seq.Empty() {
		var dp cryptobyte.String
		if !seq.ReadASN1(&dp, cbasn1.SEQUENCE) {
			return nil, errBad
		}
		var name cryptobyte.String
		var hasName bool
		if !dp.ReadOptionalASN1(&name, &hasName, tagCtx0) {
			return nil, errBad
		}
		// Anything after the name is reasons [1] or cRLIssuer [2]: such a
		// point does not cover every revocation of this issuer.
		limited := !dp.Empty()
		if !hasName || limited {
			continue
		}
		var full cryptobyte.String
		if !name.PeekASN1Tag(tagCtx0) {
			continue // nameRelativeToCRLIssuer: not used by OCES
		}
		if !name.ReadASN1(&full, tagCtx0) || !name.Empty() {
			return nil, errBad
		}
		var p distributionPoint
		for !full.Empty() {
			var gn cryptobyte.String
			var tag cbasn1.Tag
			if !full.ReadAnyASN1(&gn, &tag) {
				return nil, errBad
			}
			switch tag {
			case tagURI:
				p.uris = append(p.uris, string(gn))
			case tagDir:
				var n cryptobyte.String
				if !gn.ReadASN1Element(&n, cbasn1.SEQUENCE) || !gn.Empty() {
					return nil, errBad
				}
				p.dirNames = append(p.dirNames, []byte(n))
			}
		}
		out = append(out, p)
	}
	return out, nil
}

// String attribute types of RFC 4514 §3; others are written as OIDs.
var ldapTypeNames = map[string]string{
	"2.5.4.3":                    "CN",
	"2.5.4.7":                    "L",
	"2.5.4.8":                    "ST",
	"2.5.4.10":                   "O",
	"2.5.4.11":                   "OU",
	"2.5.4.6":                    "C",
	"2.5.4.9":                    "STREET",
	"0.9.2342.19200300.100.1.25": "DC",
	"0.9.2342.19200300.100.1.1":  "UID",
}

// ldapDN turns the DER of a Name into an LDAP DN string (RFC 4514): RDNs
// in reverse order, short type names, escaped values. It also returns the
// value of the DN's first RDN (the Name's last), which for a CRL
// partition is its name, e.g. "CRL197" (spec §8.2, §8.3).
func ldapDN(der []byte) (dn, first string, err error) {
	errBad := errors.New("malformed directory name")
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return "", "", errBad
	}
	var rdns []string
	for !seq.Empty() {
		var set cryptobyte.String
		if !seq.ReadASN1(&set, cbasn1.SET) || set.Empty() {
			return "", "", errBad
		}
		var avas []string
		var text string // the RDN's value, if it is one string
		for !set.Empty() {
			var atv cryptobyte.String
			var oid asn1.ObjectIdentifier
			var val cryptobyte.String
			var tag cbasn1.Tag // unused: directoryString reads the value's tag itself
			if !set.ReadASN1(&atv, cbasn1.SEQUENCE) || !atv.ReadASN1ObjectIdentifier(&oid) ||
				!atv.ReadAnyASN1Element(&val, &tag) || !atv.Empty() {
				return "", "", errBad
			}
			typ, ok := ldapTypeNames[oid.String()]
			if !ok {
				typ = oid.String()
			}
			v, isString, err := directoryString(val)
			if err != nil {
				return "", "", err
			}
			if isString {
				text = v
				v = escapeDNValue(v)
			}
			avas = append(avas, typ+"="+v)
		}
		// The Name's last RDN is the DN's first. A multi-valued RDN names
		// no partition.
		first = text
		if len(avas) != 1 {
			first = ""
		}
		rdns = append(rdns, strings.Join(avas, "+"))
	}
	if len(rdns) == 0 {
		return "", "", errors.New("empty directory name")
	}
	for i, j := 0, len(rdns)-1; i < j; i, j = i+1, j-1 {
		rdns[i], rdns[j] = rdns[j], rdns[i]
	}
	return strings.Join(rdns, ","), first, nil
}

// directoryString decodes an attribute value. Strings come back as text;
// other values as "#" and the hex of their DER (RFC 4514 §2.4).
func directoryString(elem cryptobyte.String) (string, bool, error) {
	whole := []byte(elem)
	var content cryptobyte.String
	var tag cbasn1.Tag
	if !elem.ReadAnyASN1(&content, &tag) {
		return "", false, errors.New("malformed attribute value")
	}
	switch tag {
	case cbasn1.UTF8String, cbasn1.PrintableString, cbasn1.IA5String:
		if !utf8.Valid(content) {
			return "", false, errors.New("attribute value is not valid UTF-8")
		}
		return string(content), true, nil
	case cbasn1.T61String:
		// Read as Latin-1, as crypto/x509 does: the real CAs used it so.
		r := make([]rune, len(content))
		for i, b := range content {
			r[i] = rune(b)
		}
		return string(r), true, nil
	case cbasn1.Tag(30): // BMPString: UTF-16 big-endian
		if len(content)%2 != 0 {
			return "", false, errors.New("malformed BMPString")
		}
		u := make([]uint16, len(content)/2)
		for i := range u {
			u[i] = uint16(content[2*i])<<8 | uint16(content[2*i+1])
		}
		return string(utf16.Decode(u)), true, nil
	}
	return "#" + hex.EncodeToString(whole), false, nil
}

// escapeDNValue escapes a value for an RFC 4514 string (§2.4).
func escapeDNValue(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '+' || c == ',' || c == ';' || c == '<' || c == '>' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == 0:
			b.WriteString(`\00`)
		case (c == ' ' || c == '#') && i == 0, c == ' ' && i == len(s)-1:
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// sameName reports whether two DER Names are the same: byte-equal, or
// equal as LDAP strings ignoring case (a partition CRL may encode a string
// with another ASN.1 string type than the certificate did).
func sameName(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	da, _, err1 := ldapDN(a)
	db, _, err2 := ldapDN(b)
	return err1 == nil && err2 == nil && strings.EqualFold(da, db)
}

// describeURIs lists URIs for a message, without anything but the URIs.
func describeURIs(uris []string) string {
	if len(uris) == 0 {
		return "none"
	}
	q := make([]string, len(uris))
	for i, u := range uris {
		if len(u) > 200 {
			u = u[:200] + "…"
		}
		q[i] = fmt.Sprintf("%q", u)
	}
	return strings.Join(q, ", ")
}
