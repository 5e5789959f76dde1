package revocation

// A small, strict BER codec for the LDAP directory (RFC 4511 §5.1 restricts
// LDAP to a subset of BER: definite lengths only, low tag numbers only).
// It is ours rather than go-asn1-ber's because the directory reads messages
// from anyone: decoding here never allocates more than a fixed number of
// elements per message, never copies the message's bytes, rejects
// indefinite lengths and over-long integers (go-asn1-ber accepts the first
// and silently reads the second as 0), and the encoder writes a CRL of many
// megabytes straight from the store's buffer to the socket.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Identifier-octet bits (X.690 §8.1.2). The directory only meets tag
// numbers below 31, so an identifier is always one octet: class |
// constructed | number.
const (
	berApplication = 0x40
	berContext     = 0x80
	berConstructed = 0x20

	berTagBoolean     = 0x01
	berTagInteger     = 0x02
	berTagOctetString = 0x04
	berTagEnumerated  = 0x0a
	berTagSequence    = 0x30 // constructed SEQUENCE / SEQUENCE OF
	berTagSet         = 0x31 // constructed SET / SET OF
)

// Decoding limits per message. An honest search request has a few dozen
// elements at a depth of at most ten or so; the limits only stop a small
// message from costing much memory or stack.
const (
	berMaxDepth    = 32
	berMaxElements = 1024
)

var (
	errBERMalformed = errors.New("ldap: malformed BER")
	errBERTooLarge  = errors.New("ldap: message larger than the limit")
	errBERComplex   = errors.New("ldap: message too deeply nested or has too many elements")
)

// berElem is one decoded element. content aliases the message buffer.
type berElem struct {
	id       byte
	content  []byte
	children []berElem // when constructed
}

func (e berElem) constructed() bool { return e.id&berConstructed != 0 }

// readLDAPMessage reads one LDAPMessage envelope (a SEQUENCE) from r and
// returns its content. first is called once the first octet has arrived,
// so the caller can replace an idle deadline by a shorter read deadline.
// A message longer than max is not read at all.
func readLDAPMessage(r *bufio.Reader, max int, first func() error) ([]byte, error) {
	id, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	if err := first(); err != nil {
		return nil, err
	}
	if id != berTagSequence {
		return nil, errBERMalformed
	}
	l, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	n := int(l)
	if l >= 0x80 {
		k := int(l & 0x7f)
		if k == 0 || k > 4 { // indefinite, or more than 4 GiB
			return nil, errBERMalformed
		}
		n = 0
		for range k {
			b, err := r.ReadByte()
			if err != nil {
				return nil, err
			}
			n = n<<8 | int(b)
		}
	}
	if n > max {
		return nil, errBERTooLarge
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// berDecode decodes buf as a sequence of complete elements.
func berDecode(buf []byte) ([]berElem, error) {
	budget := berMaxElements
	return berDecodeAll(buf, 1, &budget)
}

func berDecodeAll(buf []byte, depth int, budget *int) ([]berElem, error) {
	var out []berElem
	for len(buf) > 0 {
		if *budget--; *budget < 0 {
			return nil, errBERComplex
		}
		if len(buf) < 2 || buf[0]&0x1f == 0x1f { // high tag numbers are not LDAP
			return nil, errBERMalformed
		}
		e := berElem{id: buf[0]}
		n, hdr, err := berLength(buf[1:])
		if err != nil {
			return nil, err
		}
		if n > len(buf)-1-hdr {
			return nil, errBERMalformed
		}
		e.content = buf[1+hdr : 1+hdr+n : 1+hdr+n]
		buf = buf[1+hdr+n:]
		if e.constructed() {
			if depth >= berMaxDepth {
				return nil, errBERComplex
			}
			if e.children, err = berDecodeAll(e.content, depth+1, budget); err != nil {
				return nil, err
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// berLength decodes a definite length; it returns the length and the
// number of octets it took.
func berLength(b []byte) (int, int, error) {
	if len(b) == 0 {
		return 0, 0, errBERMalformed
	}
	if b[0] < 0x80 {
		return int(b[0]), 1, nil
	}
	k := int(b[0] & 0x7f)
	if k == 0 || k > 4 || len(b) < 1+k {
		return 0, 0, errBERMalformed
	}
	n := 0
	for _, c := range b[1 : 1+k] {
		n = n<<8 | int(c)
	}
	return n, 1 + k, nil
}

// berInt reads an INTEGER or ENUMERATED content of at most 8 octets.
func berInt(e berElem) (int64, error) {
	c := e.content
	if e.constructed() || len(c) == 0 || len(c) > 8 {
		return 0, errBERMalformed
	}
	v := int64(int8(c[0])) // sign-extend the first octet
	for _, b := range c[1:] {
		v = v<<8 | int64(b)
	}
	return v, nil
}

// berBool reads a BOOLEAN.
func berBool(e berElem) (bool, error) {
	if e.id != berTagBoolean || len(e.content) != 1 {
		return false, errBERMalformed
	}
	return e.content[0] != 0, nil
}

// berString reads a primitive element with the given identifier as a string.
func berString(e berElem, id byte) (string, error) {
	if e.id != id {
		return "", fmt.Errorf("%w: element 0x%02x where 0x%02x was expected", errBERMalformed, e.id, id)
	}
	return string(e.content), nil
}

// berOut is an element to encode. Values are not copied until they are
// written, so an entry holding a large CRL costs no extra memory.
type berOut struct {
	id    byte
	value []byte    // primitive content
	kids  []*berOut // constructed content
}

func berPrim(id byte, v []byte) *berOut        { return &berOut{id: id, value: v} }
func berStr(id byte, s string) *berOut         { return &berOut{id: id, value: []byte(s)} }
func berCons(id byte, kids ...*berOut) *berOut { return &berOut{id: id | berConstructed, kids: kids} }

// berIntOut encodes an INTEGER or ENUMERATED (id) in the fewest octets.
func berIntOut(id byte, v int64) *berOut {
	n := 1
	for w := v; w > 127 || w < -128; w >>= 8 {
		n++
	}
	b := make([]byte, n)
	for i := n - 1; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
	return berPrim(id, b)
}

func (b *berOut) contentLen() int {
	if b.id&berConstructed == 0 {
		return len(b.value)
	}
	n := 0
	for _, k := range b.kids {
		n += k.len()
	}
	return n
}

// len is the encoded length of the whole element.
func (b *berOut) len() int {
	n := b.contentLen()
	return 1 + len(berAppendLength(nil, n)) + n
}

func berAppendLength(dst []byte, n int) []byte {
	if n < 0x80 {
		return append(dst, byte(n))
	}
	k := 0
	for w := n; w > 0; w >>= 8 {
		k++
	}
	dst = append(dst, 0x80|byte(k))
	for i := k - 1; i >= 0; i-- {
		dst = append(dst, byte(n>>(8*i)))
	}
	return dst
}

// write encodes b to w.
func (b *berOut) write(w *bufio.Writer) error {
	hdr := berAppendLength([]byte{b.id}, b.contentLen())
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	if b.id&berConstructed == 0 {
		_, err := w.Write(b.value)
		return err
	}
	for _, k := range b.kids {
		if err := k.write(w); err != nil {
			return err
		}
	}
	return nil
}

// encode returns b's encoding (for small messages; large ones are written).
func (b *berOut) encode() []byte {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	b.write(w) // writing to a bytes.Buffer cannot fail
	w.Flush()
	return buf.Bytes()
}
