package revocation

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/nemid-dk/nemid/internal/store"
)

// ldapTestSearch encodes a base-scope search for (objectClass=*).
func ldapTestSearch(id int64, base string, attrs ...string) []byte {
	var as []*berOut
	for _, a := range attrs {
		as = append(as, berStr(berTagOctetString, a))
	}
	return berCons(berTagSequence, berIntOut(berTagInteger, id), berCons(ldapOpSearch,
		berStr(berTagOctetString, base), berIntOut(berTagEnumerated, 0), berIntOut(berTagEnumerated, 0),
		berIntOut(berTagInteger, 0), berIntOut(berTagInteger, 0), berPrim(berTagBoolean, []byte{0}),
		berStr(ldapFilterPresent, "objectClass"), berCons(berTagSequence, as...))).encode()
}

// ldapTestMessages splits a response stream into LDAPMessages and decodes
// each: the server must never send malformed BER.
func ldapTestMessages(b []byte) ([][]berElem, error) {
	var msgs [][]berElem
	for len(b) > 0 {
		if b[0] != berTagSequence {
			return msgs, errBERMalformed
		}
		n, hdr, err := berLength(b[1:])
		if err != nil || n > len(b)-1-hdr {
			return msgs, errBERMalformed
		}
		elems, err := berDecode(b[1+hdr : 1+hdr+n])
		if err != nil || len(elems) != 2 || elems[0].id != berTagInteger {
			return msgs, errBERMalformed
		}
		msgs = append(msgs, elems)
		b = b[1+hdr+n:]
	}
	return msgs, nil
}

// ldapTestResultCode is the result code of a response message.
func ldapTestResultCode(m []berElem) int64 {
	if len(m[1].children) == 0 {
		return -1
	}
	code, _ := berInt(m[1].children[0])
	return code
}

// ldapExchange writes b on a new connection and reads until the server
// closes it (or the half-close makes it do so).
func ldapExchange(t testing.TB, addr string, b []byte, halfClose bool) ([]byte, bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
	if halfClose {
		c.(*net.TCPConn).CloseWrite()
	}
	out, err := io.ReadAll(c)
	return out, !ldapIsTimeout(err)
}

func TestLDAPMalformedRequests(t *testing.T) {
	f := ldapTestFixture(t)
	_, addr := startLDAP(t, newLDAPFakeCRLs(f), nil)

	// A client that starts a message and never finishes it holds its own
	// connection only.
	held, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	held.Write([]byte{0x30, 0x10, 0x02})

	search := ldapTestSearch(1, f.partitionDN, "cn")
	// [10] is no filter CHOICE.
	badFilter := bytes.Replace(ldapTestSearch(1, f.partitionDN), []byte{ldapFilterPresent}, []byte{berContext | 10}, 1)
	// A search whose filter is 40 nested and's.
	deep := berCons(ldapFilterAnd)
	for range 40 {
		deep = berCons(ldapFilterAnd, deep)
	}
	deepMsg := berCons(berTagSequence, berIntOut(berTagInteger, 1), berCons(ldapOpSearch,
		berStr(berTagOctetString, ""), berIntOut(berTagEnumerated, 0), berIntOut(berTagEnumerated, 0),
		berIntOut(berTagInteger, 0), berIntOut(berTagInteger, 0), berPrim(berTagBoolean, []byte{0}),
		deep, berCons(berTagSequence))).encode()

	for _, tc := range []struct {
		name string
		in   []byte
		code int64 // of the last message; 2 is protocolError
		resp byte  // its protocolOp
	}{
		{"not BER", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), ldap.LDAPResultProtocolError, ldapOpExtendedResult},
		{"2 GiB length", []byte{0x30, 0x84, 0x7f, 0xff, 0xff, 0xff}, ldap.LDAPResultProtocolError, ldapOpExtendedResult},
		{"64 KiB + 1", []byte{0x30, 0x83, 0x01, 0x00, 0x01, 0x02}, ldap.LDAPResultProtocolError, ldapOpExtendedResult},
		{"indefinite length", []byte{0x30, 0x80}, ldap.LDAPResultProtocolError, ldapOpExtendedResult},
		{"too deep", deepMsg, ldap.LDAPResultProtocolError, ldapOpExtendedResult},
		{"message ID 0", ldapTestSearch(0, f.partitionDN), ldap.LDAPResultProtocolError, ldapOpExtendedResult},
		{"unknown operation", []byte{0x30, 0x05, 0x02, 0x01, 0x01, 0x7e, 0x00}, ldap.LDAPResultProtocolError, ldapOpExtendedResult},
		{"bad filter", badFilter, ldap.LDAPResultProtocolError, ldapOpSearchDone},
		{"truncated search", []byte{0x30, 0x05, 0x02, 0x01, 0x01, 0x63, 0x00}, ldap.LDAPResultProtocolError, ldapOpSearchDone},
		{"pipelined, then unbind", append(append(search, search...), 0x30, 0x05, 0x02, 0x01, 0x03, 0x42, 0x00), ldap.LDAPResultSuccess, ldapOpSearchDone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, closed := ldapExchange(t, addr, tc.in, false)
			if !closed {
				t.Fatalf("the server did not close the connection")
			}
			msgs, err := ldapTestMessages(out)
			if err != nil || len(msgs) == 0 {
				t.Fatalf("response % x: %v", out, err)
			}
			last := msgs[len(msgs)-1]
			if last[1].id != tc.resp || ldapTestResultCode(last) != tc.code {
				t.Fatalf("last response 0x%02x code %d, want 0x%02x code %d", last[1].id, ldapTestResultCode(last), tc.resp, tc.code)
			}
		})
	}

	// Meanwhile, another client is served.
	out, _, code := ldapsearchRun(t, addr, "-b", f.partitionDN, "-s", "base", "certificateRevocationList;binary")
	if _, vals := ldapsearchValues(t, out); code != 0 || !bytes.Equal(vals["certificateRevocationList;binary"][0], f.crls["issuing/7"]) {
		t.Fatalf("ldapsearch beside the bad clients: exit %d\n%s", code, out)
	}
}

func TestLDAPTimeoutsAndLimits(t *testing.T) {
	f := ldapTestFixture(t)
	_, addr := startLDAP(t, newLDAPFakeCRLs(f), func(c *LDAPConfig) {
		c.IdleTimeout, c.ReadTimeout = 300*time.Millisecond, 300*time.Millisecond
		c.MaxConnectionsPerIP = 2
	})
	// Idle and trickling connections are closed.
	for _, in := range [][]byte{nil, {0x30, 0x10, 0x02}} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Write(in)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadAll(c); err != nil {
			t.Fatalf("after % x: the server did not close the connection: %v", in, err)
		}
		c.Close()
	}

	// Two connections from one address are served, a third is refused busy.
	var open []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write(ldapTestSearch(1, ldapTestIssuingDN, "cn")) // a round trip: admitted for sure
		buf := make([]byte, 512)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(buf); err != nil {
			t.Fatal(err)
		}
		open = append(open, c)
	}
	out, _ := ldapExchange(t, addr, nil, false)
	msgs, err := ldapTestMessages(out)
	if err != nil || len(msgs) != 1 || ldapTestResultCode(msgs[0]) != ldap.LDAPResultBusy {
		t.Fatalf("third connection: % x %v", out, err)
	}
	open[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, _ := ldapExchange(t, addr, ldapTestSearch(1, ldapTestIssuingDN, "cn"), true)
		if msgs, err := ldapTestMessages(out); err == nil && len(msgs) == 2 && ldapTestResultCode(msgs[1]) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a freed connection slot was not reused")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ldapBlockingCRLs blocks every read until its context ends.
type ldapBlockingCRLs struct{ started chan struct{} }

func (b ldapBlockingCRLs) CRL(ctx context.Context, issuer string, partition int) (store.CRL, error) {
	b.started <- struct{}{}
	<-ctx.Done()
	return store.CRL{}, ctx.Err()
}

func TestLDAPShutdown(t *testing.T) {
	f := ldapTestFixture(t)
	for _, blocked := range []bool{false, true} {
		var src CRLSource = newLDAPFakeCRLs(f)
		started := make(chan struct{}, 1)
		if blocked {
			src = ldapBlockingCRLs{started}
		}
		s, err := NewLDAPServer(LDAPConfig{Listen: "127.0.0.1:0", Authorities: f.auths, CRLs: src,
			Log: slog.New(slog.DiscardHandler), ShutdownTimeout: 300 * time.Millisecond, RequestTimeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Serve(ctx) }()
		for s.Addr() == nil {
			time.Sleep(time.Millisecond)
		}
		c := ldapDial(t, s.Addr().String())
		if err := c.UnauthenticatedBind(""); err != nil {
			t.Fatal(err)
		}
		if blocked { // a search stuck in the store
			go c.Search(ldap.NewSearchRequest(f.partitionDN, 0, 0, 0, 0, false, "(objectClass=*)", nil, nil))
			<-started
		}
		raw, err := net.Dial("tcp", s.Addr().String()) // an idle client
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("blocked=%v: Serve did not return", blocked)
		}
		raw.SetReadDeadline(time.Now().Add(time.Second))
		out, _ := io.ReadAll(raw)
		if msgs, err := ldapTestMessages(out); err != nil || len(msgs) != 1 || ldapTestResultCode(msgs[0]) != ldap.LDAPResultUnavailable {
			t.Errorf("blocked=%v: the idle client got % x, not a Notice of Disconnection", blocked, out)
		}
		raw.Close()
		if _, err := net.Dial("tcp", s.Addr().String()); err == nil {
			t.Errorf("still accepting after Serve returned")
		}
	}
}

func TestLDAPConfigErrors(t *testing.T) {
	f := ldapTestFixture(t)
	src := newLDAPFakeCRLs(f)
	for name, cfg := range map[string]LDAPConfig{
		"no source":      {Authorities: f.auths},
		"no authorities": {CRLs: src},
		"no certificate": {CRLs: src, Authorities: []Authority{{StoreName: "root"}}},
		"same subject":   {CRLs: src, Authorities: []Authority{f.auths[1], {StoreName: "other", Cert: f.issuing}}},
	} {
		if _, err := NewLDAPServer(cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	s, err := NewLDAPServer(LDAPConfig{Listen: "127.0.0.1:-1", CRLs: src, Authorities: f.auths})
	if err != nil {
		t.Fatal(err)
	}
	if s.Addr() != nil || s.Serve(context.Background()) == nil {
		t.Errorf("a bad address was accepted")
	}
}
