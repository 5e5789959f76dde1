package revocation

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// The classic encoding of an anonymous LDAPv3 simple bind, message 1.
func TestLDAPBindEncoding(t *testing.T) {
	want := []byte{0x30, 0x0c, 0x02, 0x01, 0x01, 0x60, 0x07, 0x02, 0x01, 0x03, 0x04, 0x00, 0x80, 0x00}
	if got := ldapBind(1); !bytes.Equal(got, want) {
		t.Fatalf("bind % x, want % x", got, want)
	}
}

func TestLDAPSearchEncoding(t *testing.T) {
	dn := "CN=CRL197,CN=TRUST2408 Systemtest XXII CA,O=TRUST2408,C=DK"
	msg := ldapSearch(2, dn, 30)
	top, rest, err := berNext(msg)
	if err != nil || len(rest) != 0 || top.tag != berSequence {
		t.Fatalf("envelope: %v", err)
	}
	env, err := berElems(top.content, 3)
	if err != nil || len(env) != 2 || env[1].tag != ldapSearchRequest {
		t.Fatalf("envelope elements: %v", err)
	}
	if id, _ := berInt64(env[0], berInteger); id != 2 {
		t.Errorf("message ID %d", id)
	}
	f, err := berElems(env[1].content, 16)
	if err != nil || len(f) != 8 {
		t.Fatalf("search request has %d fields: %v", len(f), err)
	}
	intOf := func(e berElem, tag byte) int64 {
		v, err := berInt64(e, tag)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	switch {
	case string(f[0].content) != dn:
		t.Errorf("base %q", f[0].content)
	case intOf(f[1], berEnumerated) != 0:
		t.Error("scope is not baseObject")
	case intOf(f[2], berEnumerated) != 0:
		t.Error("aliases are dereferenced")
	case intOf(f[4], berInteger) != 30:
		t.Error("time limit")
	case f[5].tag != berBoolean || !bytes.Equal(f[5].content, []byte{0}):
		t.Error("typesOnly is not FALSE")
	case f[6].tag != ldapPresentFilter || string(f[6].content) != "objectClass":
		t.Errorf("filter %x %q, want (objectClass=*)", f[6].tag, f[6].content)
	}
	attrs, err := berElems(f[7].content, 4)
	if err != nil || len(attrs) != 1 || string(attrs[0].content) != ldapCRLAttribute {
		t.Errorf("attributes: %v", err)
	}
}

// ldapOut builds responses; long forces OpenLDAP's four-octet lengths.
type ldapOut struct{ long bool }

func (o ldapOut) tlv(tag byte, content ...[]byte) []byte {
	if !o.long {
		return berAppend(nil, tag, content...)
	}
	var c []byte
	for _, x := range content {
		c = append(c, x...)
	}
	n := len(c)
	return append([]byte{tag, 0x84, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}, c...)
}

func (o ldapOut) msg(id int64, op []byte, controls ...[]byte) []byte {
	parts := append([][]byte{berInt(berInteger, id), op}, controls...)
	return o.tlv(berSequence, parts...)
}

func (o ldapOut) entry(id int64, dn string, attrs ...[]byte) []byte {
	return o.msg(id, o.tlv(ldapSearchEntry, o.tlv(berOctetString, []byte(dn)), o.tlv(berSequence, attrs...)))
}

func (o ldapOut) attr(name string, vals ...[]byte) []byte {
	var vs [][]byte
	for _, v := range vals {
		vs = append(vs, o.tlv(berOctetString, v))
	}
	return o.tlv(berSequence, o.tlv(berOctetString, []byte(name)), o.tlv(berSet, vs...))
}

func (o ldapOut) result(id int64, tag byte, code int64, diag string) []byte {
	return o.msg(id, o.tlv(tag, berInt(berEnumerated, code), o.tlv(berOctetString), o.tlv(berOctetString, []byte(diag))))
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

var fakeCRL = []byte("0\x82 a CRL's DER would be here")

// ldapResponses are search answers (message 2) and what reading them gives:
// the CRL, or an error containing the text.
func ldapResponses() []struct {
	name string
	in   []byte
	err  string
} {
	s, l := ldapOut{}, ldapOut{long: true}
	dn := "CN=CRL1,CN=X,O=Y,C=DK"
	ok := func(o ldapOut) []byte {
		return cat(o.entry(2, dn, o.attr("objectClass", []byte("top")), o.attr(ldapCRLAttribute, fakeCRL)), o.result(2, ldapSearchDone, 0, ""))
	}
	ref := s.msg(2, s.tlv(ldapSearchRef, s.tlv(berOctetString, []byte("ldap://elsewhere/"))))
	var manyRefs [][]byte
	for range ldapMaxMessages + 1 {
		manyRefs = append(manyRefs, ref)
	}
	return []struct {
		name string
		in   []byte
		err  string
	}{
		{"minimal lengths", ok(s), ""},
		{"four-octet lengths", ok(l), ""},
		{"attribute by OID", cat(s.entry(2, dn, s.attr("2.5.4.39;binary", fakeCRL)), s.result(2, ldapSearchDone, 0, "")), ""},
		{"attribute without ;binary", cat(s.entry(2, dn, s.attr("CERTIFICATEREVOCATIONLIST", fakeCRL)), s.result(2, ldapSearchDone, 0, "")), ""},
		{"reference first", cat(ref, ok(s)), ""},
		{"with controls", cat(s.msg(2, s.tlv(ldapSearchEntry, s.tlv(berOctetString, []byte(dn)), s.tlv(berSequence, s.attr(ldapCRLAttribute, fakeCRL))), s.tlv(ldapControls)), s.result(2, ldapSearchDone, 0, "")), ""},

		{"no such object", s.result(2, ldapSearchDone, 32, "no such entry"), "noSuchObject (32)"},
		{"busy", s.result(2, ldapSearchDone, 51, ""), "busy (51)"},
		{"notice of disconnection", s.result(0, ldapExtendedResp, 52, "shutting down"), "ended the connection"},
		{"no entry", s.result(2, ldapSearchDone, 0, ""), "no entry"},
		{"other attribute only", cat(s.entry(2, dn, s.attr("certificateRevocationList;lang-da", fakeCRL)), s.result(2, ldapSearchDone, 0, "")), "has no"},
		{"two values", cat(s.entry(2, dn, s.attr(ldapCRLAttribute, fakeCRL, fakeCRL)), s.result(2, ldapSearchDone, 0, "")), "2 CRLs"},
		{"two entries", cat(s.entry(2, dn, s.attr(ldapCRLAttribute, fakeCRL)), s.entry(2, dn), s.result(2, ldapSearchDone, 0, "")), "more than one entry"},
		{"answer to another message", cat(s.entry(3, dn, s.attr(ldapCRLAttribute, fakeCRL)), s.result(2, ldapSearchDone, 0, "")), "message 3"},
		{"bind response instead", s.result(2, ldapBindResponse, 0, ""), "unexpected answer"},
		{"endless references", cat(manyRefs...), "more than 64 answers"},
		{"indefinite length", []byte{0x30, 0x80, 0x02, 0x01, 0x02, 0x00, 0x00}, "bad message length"},
		{"not a SEQUENCE", []byte{0x31, 0x00}, "not a SEQUENCE"},
		{"larger than the budget", []byte{0x30, 0x84, 0x7f, 0xff, 0xff, 0xff}, "larger than the size limit"},
		{"element longer than its message", s.tlv(berSequence, []byte{0x02, 0x05, 0x01}), "longer than its container"},
		{"truncated", ok(s)[:20], io.ErrUnexpectedEOF.Error()},
		{"empty", nil, io.EOF.Error()},
	}
}

func TestLDAPResponseReader(t *testing.T) {
	for _, tc := range ldapResponses() {
		t.Run(tc.name, func(t *testing.T) {
			budget := int64(1 << 20)
			crl, err := readSearchResponse(bufio.NewReader(bytes.NewReader(tc.in)), 2, &budget)
			if tc.err == "" {
				if err != nil || !bytes.Equal(crl, fakeCRL) {
					t.Fatalf("got %q, %v; want the CRL", crl, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("got %q, %v; want an error with %q", crl, err, tc.err)
			}
		})
	}
}

// What the server says decides how the failure is classified.
func TestLDAPResultKinds(t *testing.T) {
	s := ldapOut{}
	read := func(in []byte) error {
		budget := int64(1 << 20)
		_, err := readSearchResponse(bufio.NewReader(bytes.NewReader(in)), 2, &budget)
		return err
	}
	var re *ldapResultError
	if err := read(s.result(2, ldapSearchDone, 51, "")); !errors.As(err, &re) || !re.transient() {
		t.Errorf("busy: %v, want a transient result", err)
	}
	if err := read(s.result(2, ldapSearchDone, 50, "")); !errors.As(err, &re) || re.transient() {
		t.Errorf("insufficientAccessRights: %v, want a lasting result", err)
	}
	if err := read(s.result(0, ldapExtendedResp, 2, "")); !errors.As(err, &re) || !re.notice || !re.transient() {
		t.Errorf("notice: %v", err)
	}
	if err := read([]byte{0x31, 0}); !errors.Is(err, errLDAPProtocol) {
		t.Errorf("garbage: %v, want a protocol error", err)
	}
	// A diagnostic message is quoted and cut, whatever the server sends.
	err := read(s.result(2, ldapSearchDone, 80, "\x1b[31m"+strings.Repeat("x", 500)))
	if msg := err.Error(); strings.Contains(msg, "\x1b") || len(msg) > 300 {
		t.Errorf("diagnostic not sanitised: %q", msg)
	}
}

func TestLDAPBindResponse(t *testing.T) {
	s := ldapOut{}
	for _, tc := range []struct {
		in  []byte
		err string
	}{
		{s.result(1, ldapBindResponse, 0, ""), ""},
		{s.result(1, ldapBindResponse, 53, "anonymous bind disabled"), "unwillingToPerform (53)"},
		{s.result(1, ldapSearchDone, 0, ""), "expected the bind response"},
		{s.result(0, ldapExtendedResp, 51, ""), "ended the connection"},
	} {
		budget := int64(ldapMaxSmallAnswer)
		err := readBindResponse(bufio.NewReader(bytes.NewReader(tc.in)), 1, &budget)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("got %v, want %q", err, tc.err)
		}
	}
}

func TestBERInt(t *testing.T) {
	for _, v := range []int64{0, 1, 127, 128, 255, 256, 65535, 1 << 31, -1, -128, -129} {
		e, rest, err := berNext(berInt(berInteger, v))
		if err != nil || len(rest) != 0 {
			t.Fatal(err)
		}
		got, err := berInt64(e, berInteger)
		if err != nil || got != v {
			t.Errorf("%d came back as %d (%v), encoded % x", v, got, err, e.content)
		}
	}
}

// FuzzLDAPResponse: whatever a server sends, reading it neither panics
// nor returns a CRL that is not in what was sent, nor overspends the budget.
func FuzzLDAPResponse(f *testing.F) {
	for _, tc := range ldapResponses() {
		f.Add(tc.in)
	}
	f.Add(ldapOut{}.result(1, ldapBindResponse, 0, ""))
	f.Fuzz(func(t *testing.T, data []byte) {
		budget := int64(4 << 10)
		crl, err := readSearchResponse(bufio.NewReader(bytes.NewReader(data)), 2, &budget)
		if budget < 0 {
			t.Fatalf("budget overspent: %d", budget)
		}
		if err == nil && !bytes.Contains(data, crl) {
			t.Fatal("returned a CRL that was not in the input")
		}
		budget = 4 << 10
		readBindResponse(bufio.NewReader(bytes.NewReader(data)), 1, &budget) //nolint:errcheck // only must not panic
		if budget < 0 {
			t.Fatalf("budget overspent: %d", budget)
		}
	})
}
