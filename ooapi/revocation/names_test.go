package revocation

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"testing"
)

// ava is one attribute value, with its ASN.1 string type (tag).
type ava struct {
	oid asn1.ObjectIdentifier
	tag int
	val []byte
}

// rawName encodes a Name; each []ava is one RDN (several: multi-valued).
func rawName(t *testing.T, rdns ...[]ava) []byte {
	t.Helper()
	type atv struct {
		Type  asn1.ObjectIdentifier
		Value asn1.RawValue
	}
	var seq []asn1.RawValue
	for _, rdn := range rdns {
		var set []byte
		for _, a := range rdn {
			set = append(set, mustMarshal(t, atv{a.oid, asn1.RawValue{Tag: a.tag, Bytes: a.val}})...)
		}
		seq = append(seq, asn1.RawValue{Tag: asn1.TagSet, IsCompound: true, Bytes: set})
	}
	var content []byte
	for _, r := range seq {
		content = append(content, mustMarshal(t, r)...)
	}
	return mustMarshal(t, asn1.RawValue{Tag: asn1.TagSequence, IsCompound: true, Bytes: content})
}

var (
	oidC  = asn1.ObjectIdentifier{2, 5, 4, 6}
	oidO  = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidCN = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidSN = asn1.ObjectIdentifier{2, 5, 4, 5}
)

func TestLDAPDN(t *testing.T) {
	p := func(oid asn1.ObjectIdentifier, s string) []ava {
		return []ava{{oid, asn1.TagPrintableString, []byte(s)}}
	}
	u := func(oid asn1.ObjectIdentifier, s string) []ava { return []ava{{oid, asn1.TagUTF8String, []byte(s)}} }
	tests := []struct {
		name      string
		der       []byte
		dn, first string
	}{
		{"OCES partition", rawName(t, p(oidC, "DK"), u(oidO, "TRUST2408"), u(oidCN, "TRUST2408 Systemtest XXII CA"), u(oidCN, "CRL197")),
			"CN=CRL197,CN=TRUST2408 Systemtest XXII CA,O=TRUST2408,C=DK", "CRL197"},
		{"special characters", rawName(t, u(oidO, `A, B + "C" <D>; E\`), u(oidCN, "#1 ")),
			`CN=\#1\ ,O=A\, B \+ \"C\" \<D\>\; E\\`, "#1 "},
		{"leading space and NUL", rawName(t, u(oidCN, " x\x00y")), `CN=\ x\00y`, " x\x00y"},
		{"UTF-8", rawName(t, u(oidO, "Ærø Økonomi")), "O=Ærø Økonomi", "Ærø Økonomi"},
		{"BMPString", rawName(t, []ava{{oidCN, 30, []byte{0x00, 'C', 0x00, 0xc6}}}), "CN=CÆ", "CÆ"},
		{"T61String read as Latin-1", rawName(t, []ava{{oidCN, asn1.TagT61String, []byte{'A', 0xe6}}}), "CN=Aæ", "Aæ"},
		{"type without a short name", rawName(t, p(oidSN, "PID:1")), "2.5.4.5=PID:1", "PID:1"},
		{"non-string value", rawName(t, []ava{{oidCN, asn1.TagInteger, []byte{0x05}}}), "CN=#020105", ""},
		{"multi-valued first RDN", rawName(t, u(oidC, "DK"), []ava{{oidCN, asn1.TagUTF8String, []byte("a")}, {oidSN, asn1.TagUTF8String, []byte("b")}}),
			"CN=a+2.5.4.5=b,C=DK", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dn, first, err := ldapDN(tc.der)
			if err != nil || dn != tc.dn || first != tc.first {
				t.Fatalf("got %q, %q, %v; want %q, %q", dn, first, err, tc.dn, tc.first)
			}
		})
	}
	for _, bad := range [][]byte{
		nil,
		{0x30, 0x00},       // no RDN
		{0x30, 0x02, 0x31}, // truncated
		rawName(t, []ava{{oidCN, asn1.TagUTF8String, []byte{0xff}}}),           // not UTF-8
		rawName(t, []ava{{oidCN, 30, []byte{0x00}}}),                           // odd BMPString
		append(rawName(t, []ava{{oidCN, asn1.TagUTF8String, []byte("x")}}), 0), // trailing byte
	} {
		if dn, _, err := ldapDN(bad); err == nil {
			t.Errorf("% x: accepted as %q", bad, dn)
		}
	}
}

func TestSameName(t *testing.T) {
	a := rawName(t, []ava{{oidCN, asn1.TagPrintableString, []byte("CRL1")}})
	b := rawName(t, []ava{{oidCN, asn1.TagUTF8String, []byte("crl1")}})
	c := rawName(t, []ava{{oidCN, asn1.TagUTF8String, []byte("CRL19")}})
	if !sameName(a, a) || !sameName(a, b) || sameName(a, c) || sameName(a, []byte{0x30}) {
		t.Error("sameName")
	}
}

// cdp encodes a CRL distribution points extension from raw DistributionPoints.
func cdp(t *testing.T, points ...[]byte) pkix.Extension {
	t.Helper()
	var content []byte
	for _, p := range points {
		content = append(content, p...)
	}
	return pkix.Extension{Id: oidCRLDistributionPoints, Value: mustMarshal(t, asn1.RawValue{Tag: asn1.TagSequence, IsCompound: true, Bytes: content})}
}

// point is a DistributionPoint with a fullName of the given GeneralNames
// and further fields (reasons, cRLIssuer) as DER.
func point(t *testing.T, more []byte, names ...[]byte) []byte {
	t.Helper()
	var gns []byte
	for _, n := range names {
		gns = append(gns, n...)
	}
	full := mustMarshal(t, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: gns})
	dpn := mustMarshal(t, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: full})
	return mustMarshal(t, asn1.RawValue{Tag: asn1.TagSequence, IsCompound: true, Bytes: append(dpn, more...)})
}

func uriName(t *testing.T, s string) []byte {
	return mustMarshal(t, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 6, Bytes: []byte(s)})
}

func dirName(t *testing.T, name []byte) []byte {
	return mustMarshal(t, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: name})
}

func TestDistributionPoints(t *testing.T) {
	part := rawName(t, []ava{{oidC, asn1.TagPrintableString, []byte("DK")}}, []ava{{oidCN, asn1.TagUTF8String, []byte("CRL7")}})
	reasons := []byte{0x81, 0x02, 0x05, 0x60}
	cert := func(ext ...pkix.Extension) *x509.Certificate { return &x509.Certificate{Extensions: ext} }

	c := cert(cdp(t,
		point(t, reasons, uriName(t, "http://only-some-reasons/x.crl"), dirName(t, part)),
		point(t, nil, uriName(t, "ldap://dir/CN=CRL7"), uriName(t, "http://crl.example/full.crl")),
		point(t, nil, dirName(t, part)),
	))
	u, err := fullCRLURL(c)
	if err != nil || u != "http://crl.example/full.crl" {
		t.Errorf("full CRL URL %q, %v", u, err)
	}
	scope, dn, err := partitionOf(c)
	if err != nil || dn != "CN=CRL7,C=DK" || scope.name != "CRL7" {
		t.Errorf("partition %q, %v", dn, err)
	}

	for _, tc := range []struct {
		name string
		c    *x509.Certificate
	}{
		{"no extension", cert()},
		{"only a reasons-limited point", cert(cdp(t, point(t, reasons, uriName(t, "http://x/y.crl"), dirName(t, part))))},
		{"only a point with a cRLIssuer", cert(cdp(t, point(t, []byte{0xa2, 0x00}, uriName(t, "http://x/y.crl"), dirName(t, part))))},
		{"only ldap and https URLs", cert(cdp(t, point(t, nil, uriName(t, "ldap://x/"), uriName(t, "https://x/y.crl"))))},
	} {
		if _, err := fullCRLURL(tc.c); !errors.Is(err, ErrNoSource) {
			t.Errorf("%s: full CRL URL: %v, want ErrNoSource", tc.name, err)
		}
		if _, _, err := partitionOf(tc.c); !errors.Is(err, ErrNoSource) {
			t.Errorf("%s: partition: %v, want ErrNoSource", tc.name, err)
		}
	}
	if _, err := distributionPoints(cert(pkix.Extension{Id: oidCRLDistributionPoints, Value: []byte{0x30, 0x03, 0x30}})); err == nil {
		t.Error("a malformed extension was read")
	}
}
