package revocation

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// ldapFuzzExchange sends in on a new connection, half-closes, and reads
// until the server closes; reading runs beside writing so that a long
// pipeline of requests cannot deadlock on full socket buffers. The
// connection is reset rather than closed at the end, so that millions of
// runs leave no TIME_WAIT sockets behind.
func ldapFuzzExchange(t *testing.T, addr string, in []byte) []byte {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	tc := c.(*net.TCPConn)
	defer func() {
		tc.SetLinger(0)
		tc.Close()
	}()
	tc.SetDeadline(time.Now().Add(10 * time.Second))
	go func() {
		tc.Write(in) // fails only when the server has closed, which the read sees
		tc.CloseWrite()
	}()
	out, err := io.ReadAll(tc)
	if ldapIsTimeout(err) {
		t.Fatalf("the server neither answered nor closed within 10 s (read %d bytes)", len(out))
	}
	return out
}

// ldapFuzzMessage wraps a protocolOp in an LDAPMessage.
func ldapFuzzMessage(id int64, op *berOut, controls ...*berOut) []byte {
	kids := []*berOut{berIntOut(berTagInteger, id), op}
	if len(controls) > 0 {
		kids = append(kids, berCons(berContext|0, controls...))
	}
	return berCons(berTagSequence, kids...).encode()
}

// ldapFuzzSearch is a search with a filter compiled by go-ldap.
func ldapFuzzSearch(t testing.TB, base string, scope int64, filter string, attrs ...string) []byte {
	fp, err := ldap.CompileFilter(filter)
	if err != nil {
		t.Fatal(err)
	}
	var as []*berOut
	for _, a := range attrs {
		as = append(as, berStr(berTagOctetString, a))
	}
	return ldapFuzzMessage(2, berCons(ldapOpSearch, berStr(berTagOctetString, base), berIntOut(berTagEnumerated, scope),
		berIntOut(berTagEnumerated, 0), berIntOut(berTagInteger, 5), berIntOut(berTagInteger, 0), berPrim(berTagBoolean, []byte{0}),
		ldapElemOut(t, fp.Bytes()), berCons(berTagSequence, as...)))
}

// ldapElemOut re-encodes one encoded element.
func ldapElemOut(t testing.TB, b []byte) *berOut {
	elems, err := berDecode(b)
	if err != nil || len(elems) != 1 {
		t.Fatalf("% x: %v", b, err)
	}
	var conv func(e berElem) *berOut
	conv = func(e berElem) *berOut {
		if !e.constructed() {
			return berPrim(e.id, e.content)
		}
		o := &berOut{id: e.id}
		for _, k := range e.children {
			o.kids = append(o.kids, conv(k))
		}
		return o
	}
	return conv(elems[0])
}

// FuzzLDAPRequest feeds arbitrary bytes to the running directory as a
// client would, then checks that every answer was well-formed BER, that
// the server closed the connection, and that a normal search on a new
// connection still returns the partition CRL byte for byte.
func FuzzLDAPRequest(f *testing.F) {
	fx := ldapTestFixture(f)
	_, addr := startLDAP(f, newLDAPFakeCRLs(fx), func(c *LDAPConfig) {
		// Runs follow each other faster than closed connections are
		// counted out.
		c.MaxConnections, c.MaxConnectionsPerIP = 1<<16, 1<<16
	})
	health := ldapTestSearch(1, fx.partitionDN, "certificateRevocationList;binary")
	want := fx.crls["issuing/7"]

	part := fx.partitionDN
	bind := func(version int64, name, pw string) []byte {
		return ldapFuzzMessage(1, berCons(ldapOpBind, berIntOut(berTagInteger, version), berStr(berTagOctetString, name), berStr(berContext|0, pw)))
	}
	seeds := [][]byte{
		health,
		bind(3, "", ""), bind(3, "cn=admin", "secret"), bind(2, "cn=admin", ""),
		append(bind(3, "", ""), health...),
		ldapFuzzSearch(f, part, 0, "(&(objectClass=cRLDistributionPoint)(|(cn=CRL7)(!(cn=x*y*z)))(cn~=crl7))", "cn", "1.1"),
		ldapFuzzSearch(f, "o=nemid systemtest,c=dk", 2, "(|(cn>=a)(cn<=z)(cn:dn:2.5.13.2:=x)(foo=*))", "*", "+"),
		ldapFuzzSearch(f, "", 0, "(objectClass=*)", "+"),
		ldapFuzzSearch(f, "CN=CRL9,"+ldapTestIssuingDN, 0, "(certificateRevocationList;binary=*)"),
		ldapFuzzSearch(f, `cn=a\2c\+b,c=dk`, 1, "(cn=*)"),
		ldapFuzzMessage(3, berCons(berApplication|berConstructed|14, berStr(berTagOctetString, ldapTestIssuingDN),
			berCons(berTagSequence, berStr(berTagOctetString, "cn"), berStr(berTagOctetString, "NemID Systemtest I CA")))),
		ldapFuzzMessage(4, berCons(ldapOpExtended, berStr(berContext|0, ldapOIDWhoAmI))),
		ldapFuzzMessage(5, berCons(ldapOpExtended, berStr(berContext|0, "1.3.6.1.4.1.1466.20037"), berStr(berContext|1, ""))),
		ldapFuzzMessage(6, berStr(ldapOpDelete, part)),
		ldapFuzzMessage(7, berCons(ldapOpAdd, berStr(berTagOctetString, part), berCons(berTagSequence))),
		ldapFuzzMessage(8, berIntOut(ldapOpAbandon, 2)),
		ldapFuzzMessage(9, berCons(ldapOpSearch), berCons(berTagSequence, berStr(berTagOctetString, "1.2.3"), berPrim(berTagBoolean, []byte{0xff}))),
		ldapFuzzMessage(10, berStr(ldapOpUnbind, "")),
		{0x30, 0x84, 0x7f, 0xff, 0xff, 0xff},
		{0x30, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00},
		[]byte("GET / HTTP/1.1\r\n\r\n"),
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if _, err := ldapTestMessages(ldapFuzzExchange(t, addr, in)); err != nil {
			t.Fatalf("the server sent malformed BER: %v", err)
		}
		out := ldapFuzzExchange(t, addr, health)
		msgs, err := ldapTestMessages(out)
		if err != nil || len(msgs) != 2 || msgs[0][1].id != ldapOpSearchEntry || ldapTestResultCode(msgs[1]) != 0 || !bytes.Contains(out, want) {
			t.Fatalf("the normal search failed afterwards: %d messages, %v", len(msgs), err)
		}
	})
}
