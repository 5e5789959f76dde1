package oces

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
)

var (
	oidExtCertificatePolicies = asn1.ObjectIdentifier{2, 5, 29, 32}
	oidExtCRLDistribution     = asn1.ObjectIdentifier{2, 5, 29, 31}
	oidExtBasicConstraints    = asn1.ObjectIdentifier{2, 5, 29, 19}
	oidQualifierCPS           = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 2, 1}
	oidQualifierUserNotice    = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 2, 2}
)

// utf8Value and printableValue fix the ASCII string type of an attribute
// value; encoding/asn1 would otherwise pick PrintableString whenever it can.
func utf8Value(s string) asn1.RawValue {
	return asn1.RawValue{Tag: asn1.TagUTF8String, Bytes: []byte(s)}
}

func printableValue(s string) asn1.RawValue {
	return asn1.RawValue{Tag: asn1.TagPrintableString, Bytes: []byte(s)}
}

// attrValue encodes a string attribute the way the real OCES certificates and
// the TRUST2408 CA names do: PrintableString for the country and the
// identifier-like attributes when the value allows it, UTF8String otherwise.
// Values that are already an asn1.RawValue are kept verbatim.
func attrValue(typ asn1.ObjectIdentifier, v any) (any, error) {
	switch v := v.(type) {
	case asn1.RawValue:
		return v, nil
	case string:
		if (typ.Equal(oidCountry) || typ.Equal(oidSerialNumber) || typ.Equal(oidDNQualifier)) && isPrintable(v) {
			return printableValue(v), nil
		}
		return utf8Value(v), nil
	}
	return nil, fmt.Errorf("oces: name attribute %s has unsupported value type %T", typ, v)
}

// marshalName DER-encodes a Name. encoding/asn1 sorts the members of each
// SET (pkix.RelativeDistinguishedNameSET) in DER order, so a multi-valued RDN
// comes out canonical whatever order the caller gave.
func marshalName(rdns pkix.RDNSequence) ([]byte, error) {
	out := make(pkix.RDNSequence, len(rdns))
	for i, rdn := range rdns {
		out[i] = make(pkix.RelativeDistinguishedNameSET, len(rdn))
		for j, atv := range rdn {
			v, err := attrValue(atv.Type, atv.Value)
			if err != nil {
				return nil, err
			}
			out[i][j] = pkix.AttributeTypeAndValue{Type: atv.Type, Value: v}
		}
	}
	return asn1.Marshal(out)
}

// ParseRawName decodes a DER Name (such as a CA certificate's RawSubject)
// keeping every value as the asn1.RawValue it was, so that encoding the
// result again, as Template does for Params.IssuerName, reproduces the same
// string types and, for a name in canonical DER, the same bytes.
func ParseRawName(der []byte) (pkix.RDNSequence, error) {
	var raw []rawRDNSET
	rest, err := asn1.Unmarshal(der, &raw)
	if err == nil && len(rest) > 0 {
		err = errors.New("trailing data")
	}
	if err != nil {
		return nil, fmt.Errorf("oces: parsing name: %w", err)
	}
	out := make(pkix.RDNSequence, len(raw))
	for i, rdn := range raw {
		out[i] = make(pkix.RelativeDistinguishedNameSET, len(rdn))
		for j, atv := range rdn {
			out[i][j] = pkix.AttributeTypeAndValue{Type: atv.Type, Value: atv.Value}
		}
	}
	return out, nil
}

// rawRDNSET is an RDN whose values stay undecoded. encoding/asn1 treats a
// slice type whose name ends in "SET" as SET OF.
type rawRDNSET []struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

// policyQualifier is RFC 5280's PolicyQualifierInfo.
type policyQualifier struct {
	ID        asn1.ObjectIdentifier
	Qualifier any
}

type userNotice struct {
	ExplicitText asn1.RawValue
}

// certificatePolicies encodes one PolicyInformation with a CPS pointer and a
// user notice.
//
// The real OCES II certificates have a user notice with noticeRef
// (organization "DanID", noticeNumbers {1}) and explicitText as
// VisibleString. Ours has explicitText only, as UTF8String, as RFC 5280
// §4.2.1.4 recommends: noticeRef SHOULD NOT be used and explicitText SHOULD
// be UTF8String (zlint warns on both).
func certificatePolicies(policy asn1.ObjectIdentifier, cps, notice string) (pkix.Extension, error) {
	info := struct {
		Policy     asn1.ObjectIdentifier
		Qualifiers []policyQualifier
	}{policy, []policyQualifier{
		{oidQualifierCPS, asn1.RawValue{Tag: asn1.TagIA5String, Bytes: []byte(cps)}},
		{oidQualifierUserNotice, userNotice{utf8Value(notice)}},
	}}
	der, err := asn1.Marshal([]any{info})
	if err != nil {
		return pkix.Extension{}, fmt.Errorf("oces: encoding certificate policies: %w", err)
	}
	return pkix.Extension{Id: oidExtCertificatePolicies, Value: der}, nil
}

type distributionPoint struct {
	Name distributionPointName `asn1:"tag:0"`
}

type distributionPointName struct {
	FullName []asn1.RawValue `asn1:"tag:0"`
}

// CRLDistributionPoints encodes the two distribution points of an OCES II
// certificate, each with a fullName only: the HTTP URL of the full CRL, and
// the directory name of the CRL partition the certificate belongs to (the
// issuer's name plus CN=CRL<partition>), which is where LDAP clients look.
func CRLDistributionPoints(fullCRL string, issuer pkix.RDNSequence, partition int) (pkix.Extension, error) {
	dirDER, err := PartitionName(issuer, partition)
	if err != nil {
		return pkix.Extension{}, err
	}
	dps := []distributionPoint{
		{distributionPointName{[]asn1.RawValue{{Class: asn1.ClassContextSpecific, Tag: 6, Bytes: []byte(fullCRL)}}}},
		// directoryName is [4] EXPLICIT because Name is a CHOICE.
		{distributionPointName{[]asn1.RawValue{{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: dirDER}}}},
	}
	der, err := asn1.Marshal(dps)
	if err != nil {
		return pkix.Extension{}, fmt.Errorf("oces: encoding CRL distribution points: %w", err)
	}
	return pkix.Extension{Id: oidExtCRLDistribution, Value: der}, nil
}

// PartitionName returns the DER of the directory name of an issuer's CRL
// partition: the issuer's name plus CN=CRL<partition>. Certificates carry it
// in their CRL distribution points; the partition's CRL carries the same
// bytes in its issuing distribution point.
func PartitionName(issuer pkix.RDNSequence, partition int) ([]byte, error) {
	if partition < 1 {
		return nil, fmt.Errorf("oces: CRL partition %d: partitions are numbered from 1", partition)
	}
	dir := append(pkix.RDNSequence{}, issuer...)
	dir = append(dir, pkix.RelativeDistinguishedNameSET{
		{Type: oidCommonName, Value: utf8Value(fmt.Sprintf("CRL%d", partition))},
	})
	return marshalName(dir)
}

// basicConstraintsEndEntity is basicConstraints with cA FALSE (an empty
// SEQUENCE), non-critical as in the real certificates. crypto/x509 would
// always mark it critical.
var basicConstraintsEndEntity = pkix.Extension{Id: oidExtBasicConstraints, Value: []byte{0x30, 0x00}}

// MinRSABits is the smallest RSA modulus Template accepts.
const MinRSABits = 2048

// SubjectKeyID returns the subject key identifier of pub computed by method 1
// of RFC 5280 §4.2.1.2, the SHA-1 hash of the subjectPublicKey BIT STRING.
// That is how the real OCES II certificates compute it.
func SubjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("oces: %w", err)
	}
	var info struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(spki, &info); err != nil {
		return nil, fmt.Errorf("oces: parsing public key: %w", err)
	}
	sum := sha1.Sum(info.PublicKey.Bytes)
	return sum[:], nil
}

// checkKey accepts only RSA keys of at least MinRSABits: OCES II used RSA
// 2048 and relying parties' OOAPI libraries expect RSA.
func checkKey(pub crypto.PublicKey) error {
	k, ok := pub.(*rsa.PublicKey)
	if !ok {
		return fieldErr("public key", "", "must be an *rsa.PublicKey, got %T", pub)
	}
	if n := k.N.BitLen(); n < MinRSABits {
		return fieldErr("public key", "", "RSA key of %d bits, at least %d required", n, MinRSABits)
	}
	return nil
}

func isPrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == ' ', c == '\'', c == '(', c == ')', c == '+', c == ',', c == '-',
			c == '.', c == '/', c == ':', c == '=', c == '?':
		default:
			return false
		}
	}
	return true
}
