package revocation

// A minimal LDAPv3 client (RFC 4511): an anonymous simple bind, one
// base-scope search for certificateRevocationList;binary, an unbind. It is
// written for this one use so that the package needs no LDAP library, and
// it reads strictly: definite BER lengths only, a size budget for the
// whole exchange, at most one entry, and a deadline on the connection.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// BER identifiers of what is sent and read ([APPLICATION n] protocol ops,
// RFC 4511 §4.2–§4.5).
const (
	berInteger     = 0x02
	berOctetString = 0x04
	berBoolean     = 0x01
	berEnumerated  = 0x0a
	berSequence    = 0x30
	berSet         = 0x31

	ldapBindRequest    = 0x60 // [APPLICATION 0] constructed
	ldapBindResponse   = 0x61
	ldapUnbindRequest  = 0x42 // [APPLICATION 2] primitive
	ldapSearchRequest  = 0x63
	ldapSearchEntry    = 0x64
	ldapSearchDone     = 0x65
	ldapSearchRef      = 0x73
	ldapExtendedResp   = 0x78
	ldapControls       = 0xa0 // [0] constructed
	ldapSimpleAuth     = 0x80 // [0] primitive
	ldapPresentFilter  = 0x87 // [7] primitive
	ldapMaxMessages    = 64   // per search: one entry, references, the result
	ldapMaxSmallAnswer = 64 << 10
)

// ldapCRLAttribute is what OOAPI asked for (RFC 4523 certificateRevocationList,
// transferred in binary, RFC 4522).
const ldapCRLAttribute = "certificateRevocationList;binary"

// errLDAPProtocol marks answers that break the protocol or our limits, as
// opposed to I/O errors (the server is unreachable).
var errLDAPProtocol = errors.New("LDAP protocol error")

func protocolErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errLDAPProtocol, fmt.Sprintf(format, a...))
}

// ldapResultError is an LDAP result other than success.
type ldapResultError struct {
	op     string
	code   int64
	diag   string
	notice bool // an unsolicited Notice of Disconnection
}

var ldapResultNames = map[int64]string{
	1: "operationsError", 2: "protocolError", 3: "timeLimitExceeded", 4: "sizeLimitExceeded",
	10: "referral", 11: "adminLimitExceeded", 32: "noSuchObject", 34: "invalidDNSyntax",
	48: "inappropriateAuthentication", 49: "invalidCredentials", 50: "insufficientAccessRights",
	51: "busy", 52: "unavailable", 53: "unwillingToPerform", 80: "other",
}

func (e *ldapResultError) Error() string {
	name := ldapResultNames[e.code]
	if name == "" {
		name = "result"
	}
	s := fmt.Sprintf("%s: %s (%d)", e.op, name, e.code)
	if e.notice {
		s = "the server ended the connection: " + s
	}
	if e.diag != "" {
		s += ": " + e.diag
	}
	return s
}

// transient reports results that say the server could not answer now.
func (e *ldapResultError) transient() bool {
	switch e.code {
	case 3, 11, 51, 52, 80:
		return true
	}
	return e.notice
}

// ldapFetchCRL reads the CRL of the entry dn from server.
func ldapFetchCRL(ctx context.Context, dialer interface {
	DialContext(context.Context, string, string) (net.Conn, error)
}, server, dn string, timeout time.Duration, max int64) ([]byte, error) {
	if dialer == nil {
		dialer = &net.Dialer{}
	}
	conn, err := dialer.DialContext(ctx, "tcp", server)
	if err != nil {
		return nil, fail(MethodLDAP, ErrUnreachable, "connecting to "+server, err)
	}
	defer conn.Close()
	// The deadline covers the whole exchange; cancelling ctx ends it too.
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl) //nolint:errcheck // a failure shows as a failed read
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) }) //nolint:errcheck
	defer stop()

	where := "ldap://" + server + "/" + dn
	wrap := func(err error) error {
		var re *ldapResultError
		switch {
		case errors.As(err, &re) && re.transient():
			return fail(MethodLDAP, ErrUnreachable, where, err)
		case errors.As(err, &re), errors.Is(err, errLDAPProtocol):
			return fail(MethodLDAP, ErrInvalid, where, err)
		}
		if ctx.Err() != nil {
			err = errors.Join(err, ctx.Err())
		}
		return fail(MethodLDAP, ErrUnreachable, where, err)
	}
	r := bufio.NewReader(conn)
	if _, err := conn.Write(ldapBind(1)); err != nil {
		return nil, wrap(err)
	}
	budget := int64(ldapMaxSmallAnswer)
	if err := readBindResponse(r, 1, &budget); err != nil {
		return nil, wrap(err)
	}
	secs := int64((timeout + time.Second - 1) / time.Second)
	if _, err := conn.Write(ldapSearch(2, dn, secs)); err != nil {
		return nil, wrap(err)
	}
	budget = max + ldapMaxSmallAnswer // the CRL, and the envelope around it
	crl, err := readSearchResponse(r, 2, &budget)
	if err != nil {
		return nil, wrap(err)
	}
	conn.Write(ldapUnbind(3)) //nolint:errcheck // courtesy; the answer is in
	return crl, nil
}

// Encoding. Lengths are definite and minimal (DER-like, which is valid BER).

func berAppend(dst []byte, tag byte, content ...[]byte) []byte {
	n := 0
	for _, c := range content {
		n += len(c)
	}
	dst = append(dst, tag)
	switch {
	case n < 0x80:
		dst = append(dst, byte(n))
	case n <= 0xff:
		dst = append(dst, 0x81, byte(n))
	case n <= 0xffff:
		dst = append(dst, 0x82, byte(n>>8), byte(n))
	case n <= 0xffffff:
		dst = append(dst, 0x83, byte(n>>16), byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	for _, c := range content {
		dst = append(dst, c...)
	}
	return dst
}

func berInt(tag byte, v int64) []byte {
	b := []byte{byte(v)}
	for w := v >> 8; !(w == 0 && b[0] < 0x80 || w == -1 && b[0] >= 0x80); w >>= 8 {
		b = append([]byte{byte(w)}, b...)
	}
	return berAppend(nil, tag, b)
}

func ldapMessage(id int64, op []byte) []byte {
	return berAppend(nil, berSequence, berInt(berInteger, id), op)
}

// ldapBind is an anonymous simple bind, LDAPv3.
func ldapBind(id int64) []byte {
	return ldapMessage(id, berAppend(nil, ldapBindRequest,
		berInt(berInteger, 3), berAppend(nil, berOctetString), berAppend(nil, ldapSimpleAuth)))
}

// ldapSearch is a base-scope search at dn for the CRL attribute, with the
// filter (objectClass=*), which every entry matches.
func ldapSearch(id int64, dn string, timeLimit int64) []byte {
	return ldapMessage(id, berAppend(nil, ldapSearchRequest,
		berAppend(nil, berOctetString, []byte(dn)),
		berInt(berEnumerated, 0), // scope baseObject
		berInt(berEnumerated, 0), // derefAliases neverDerefAliases
		berInt(berInteger, 1),    // sizeLimit: a base search finds one entry
		berInt(berInteger, timeLimit),
		berAppend(nil, berBoolean, []byte{0}), // typesOnly FALSE
		berAppend(nil, ldapPresentFilter, []byte("objectClass")),
		berAppend(nil, berSequence, berAppend(nil, berOctetString, []byte(ldapCRLAttribute)))))
}

func ldapUnbind(id int64) []byte { return ldapMessage(id, []byte{ldapUnbindRequest, 0}) }

// Decoding.

// berElem is one decoded element; content aliases the message buffer.
type berElem struct {
	tag     byte
	content []byte
}

// berNext splits the first element off b.
func berNext(b []byte) (berElem, []byte, error) {
	if len(b) < 2 {
		return berElem{}, nil, protocolErr("truncated element")
	}
	tag := b[0]
	if tag&0x1f == 0x1f {
		return berElem{}, nil, protocolErr("high tag number")
	}
	n, hdr := int64(b[1]), 2
	if b[1] >= 0x80 {
		k := int(b[1] & 0x7f)
		if k == 0 {
			return berElem{}, nil, protocolErr("indefinite length")
		}
		if k > 8 || len(b) < 2+k {
			return berElem{}, nil, protocolErr("bad length")
		}
		n = 0
		for _, c := range b[2 : 2+k] {
			if n > int64(len(b)) { // already too long; stops overflow too
				return berElem{}, nil, protocolErr("element longer than its container")
			}
			n = n<<8 | int64(c)
		}
		hdr = 2 + k
	}
	if n > int64(len(b)-hdr) {
		return berElem{}, nil, protocolErr("element longer than its container")
	}
	end := hdr + int(n)
	return berElem{tag: tag, content: b[hdr:end:end]}, b[end:], nil
}

// berElems splits b into its elements, at most max of them.
func berElems(b []byte, max int) ([]berElem, error) {
	var out []berElem
	for len(b) > 0 {
		if len(out) == max {
			return nil, protocolErr("too many elements")
		}
		e, rest, err := berNext(b)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
		b = rest
	}
	return out, nil
}

// berInt64 reads an INTEGER or ENUMERATED content of at most 8 octets.
func berInt64(e berElem, tag byte) (int64, error) {
	c := e.content
	if e.tag != tag || len(c) == 0 || len(c) > 8 {
		return 0, protocolErr("bad integer")
	}
	v := int64(int8(c[0]))
	for _, b := range c[1:] {
		v = v<<8 | int64(b)
	}
	return v, nil
}

// ldapMsg is one LDAPMessage: its ID and its protocolOp.
type ldapMsg struct {
	id int64
	op berElem
}

// readLDAPMessage reads one LDAPMessage from r, charging its size to
// budget; a message over the budget is refused before it is read.
func readLDAPMessage(r *bufio.Reader, budget *int64) (ldapMsg, error) {
	tag, err := r.ReadByte()
	if err != nil {
		return ldapMsg{}, err
	}
	if tag != berSequence {
		return ldapMsg{}, protocolErr("message is not a SEQUENCE")
	}
	l, err := r.ReadByte()
	if err != nil {
		return ldapMsg{}, noEOF(err)
	}
	n := int64(l)
	if l >= 0x80 {
		k := int(l & 0x7f)
		if k == 0 || k > 8 {
			return ldapMsg{}, protocolErr("bad message length")
		}
		n = 0
		for range k {
			b, err := r.ReadByte()
			if err != nil {
				return ldapMsg{}, noEOF(err)
			}
			if n > *budget {
				return ldapMsg{}, protocolErr("message larger than the size limit")
			}
			n = n<<8 | int64(b)
		}
	}
	if n > *budget {
		return ldapMsg{}, protocolErr("message of %d bytes is larger than the size limit", n)
	}
	*budget -= n
	// Grown as the bytes arrive, not allocated from the claimed length.
	var buf bytes.Buffer
	buf.Grow(int(min(n, 64<<10)))
	if _, err := io.CopyN(&buf, r, n); err != nil {
		return ldapMsg{}, noEOF(err)
	}
	elems, err := berElems(buf.Bytes(), 3)
	if err != nil {
		return ldapMsg{}, err
	}
	if len(elems) < 2 || len(elems) == 3 && elems[2].tag != ldapControls {
		return ldapMsg{}, protocolErr("malformed message envelope")
	}
	id, err := berInt64(elems[0], berInteger)
	if err != nil || id < 0 {
		return ldapMsg{}, protocolErr("bad message ID")
	}
	return ldapMsg{id: id, op: elems[1]}, nil
}

// noEOF: a message cut short is an unexpected end, not a clean one.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// ldapResult reads an LDAPResult (resultCode, matchedDN, diagnosticMessage, …).
func ldapResult(op string, e berElem) error {
	elems, err := berElems(e.content, 8)
	if err != nil {
		return err
	}
	if len(elems) < 3 || elems[1].tag != berOctetString || elems[2].tag != berOctetString {
		return protocolErr("malformed %s", op)
	}
	code, err := berInt64(elems[0], berEnumerated)
	if err != nil {
		return err
	}
	if code == 0 {
		return nil
	}
	diag := elems[2].content
	if len(diag) > 200 {
		diag = diag[:200]
	}
	q := ""
	if len(diag) > 0 {
		q = strconv.QuoteToASCII(string(diag))
	}
	return &ldapResultError{op: op, code: code, diag: q}
}

// checkNotice turns an unsolicited notification (message ID 0, RFC 4511
// §4.4) into an error; the server is about to close the connection.
func checkNotice(m ldapMsg) error {
	if m.id != 0 {
		return nil
	}
	if m.op.tag != ldapExtendedResp {
		return protocolErr("unsolicited message that is not an extended response")
	}
	err := ldapResult("notice", m.op)
	var re *ldapResultError
	if errors.As(err, &re) {
		re.notice = true
		return re
	}
	if err == nil {
		return &ldapResultError{op: "notice", notice: true}
	}
	return err
}

func readBindResponse(r *bufio.Reader, id int64, budget *int64) error {
	m, err := readLDAPMessage(r, budget)
	if err != nil {
		return err
	}
	if err := checkNotice(m); err != nil {
		return err
	}
	if m.id != id || m.op.tag != ldapBindResponse {
		return protocolErr("expected the bind response")
	}
	return ldapResult("anonymous bind", m.op)
}

// readSearchResponse reads the answers to search id up to its result and
// returns the one CRL value of the one entry.
func readSearchResponse(r *bufio.Reader, id int64, budget *int64) ([]byte, error) {
	var crl []byte
	entries, values := 0, 0
	for range ldapMaxMessages {
		m, err := readLDAPMessage(r, budget)
		if err != nil {
			return nil, err
		}
		if err := checkNotice(m); err != nil {
			return nil, err
		}
		if m.id != id {
			return nil, protocolErr("answer to message %d while waiting for %d", m.id, id)
		}
		switch m.op.tag {
		case ldapSearchEntry:
			if entries++; entries > 1 {
				return nil, protocolErr("more than one entry for a base-scope search")
			}
			vals, err := crlValues(m.op)
			if err != nil {
				return nil, err
			}
			values += len(vals)
			if len(vals) > 0 {
				crl = vals[0]
			}
		case ldapSearchRef:
			// A continuation reference points elsewhere; NemID's directory
			// has none, and following one would trust another server.
		case ldapSearchDone:
			if err := ldapResult("search", m.op); err != nil {
				return nil, err
			}
			switch {
			case entries == 0:
				return nil, protocolErr("the directory returned no entry")
			case values == 0:
				return nil, protocolErr("the entry has no %s", ldapCRLAttribute)
			case values > 1:
				return nil, protocolErr("the entry has %d CRLs, want one", values)
			}
			return crl, nil
		default:
			return nil, protocolErr("unexpected answer 0x%02x to a search", m.op.tag)
		}
	}
	return nil, protocolErr("more than %d answers to one search", ldapMaxMessages)
}

// crlValues returns the values of the CRL attribute in a SearchResultEntry,
// whatever spelling the server gives it (name or OID, with or without
// ;binary).
func crlValues(entry berElem) ([][]byte, error) {
	parts, err := berElems(entry.content, 2)
	if err != nil {
		return nil, err
	}
	if len(parts) != 2 || parts[0].tag != berOctetString || parts[1].tag != berSequence {
		return nil, protocolErr("malformed search entry")
	}
	attrs, err := berElems(parts[1].content, 64)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, a := range attrs {
		kv, err := berElems(a.content, 2)
		if err != nil {
			return nil, err
		}
		if a.tag != berSequence || len(kv) != 2 || kv[0].tag != berOctetString || kv[1].tag != berSet {
			return nil, protocolErr("malformed attribute")
		}
		if !isCRLAttribute(string(kv[0].content)) {
			continue
		}
		vals, err := berElems(kv[1].content, 16)
		if err != nil {
			return nil, err
		}
		for _, v := range vals {
			if v.tag != berOctetString {
				return nil, protocolErr("attribute value is not an OCTET STRING")
			}
			out = append(out, v.content)
		}
	}
	return out, nil
}

func isCRLAttribute(desc string) bool {
	typ, opts, _ := strings.Cut(desc, ";")
	if !strings.EqualFold(typ, "certificateRevocationList") && typ != "2.5.4.39" {
		return false
	}
	return opts == "" || strings.EqualFold(opts, "binary")
}
