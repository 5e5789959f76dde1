package cpr

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"unicode/utf8"
)

// A small, strict XML reader for the three interfaces' messages. It reads a
// whole document into a tree so that each message's structure can be
// checked exactly, and it refuses what these messages never need: document
// type declarations (so no entity expansion and no external entities),
// processing instructions other than the XML declaration, encodings other
// than UTF-8 and ISO-8859-1, mixed content, deep nesting and too many
// elements. The caller bounds the input size.

// Limits of one message. A PID-CPR message has about ten elements; the
// largest legitimate text is a base64 certificate of a few KiB.
const (
	maxDepth    = 16
	maxElements = 512
	maxText     = 16 << 10
	// MaxMessageSize bounds a request or response body: a SOAP request with
	// the most PIDRequests a server accepts (MaxPIDRequests), each with a
	// certificate, fits well within it.
	MaxMessageSize = 64 << 10
)

// Namespaces of the messages.
const (
	nsSOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
	nsSOAP12 = "http://www.w3.org/2003/05/soap-envelope"
	nsXSI    = "http://www.w3.org/2001/XMLSchema-instance"
)

// node is one element: its expanded name, its attributes (namespace
// declarations left out), its child elements and, for a leaf, its text.
type node struct {
	name     xml.Name
	attrs    []xml.Attr
	children []*node
	text     string
}

// attr returns the value of the attribute (space, local) and whether it is there.
func (n *node) attr(space, local string) (string, bool) {
	for _, a := range n.attrs {
		if a.Name.Space == space && a.Name.Local == local {
			return a.Value, true
		}
	}
	return "", false
}

// nil reports whether the element carries xsi:nil="true" (or "1").
func (n *node) isNil() bool {
	v, ok := n.attr(nsXSI, "nil")
	v = strings.TrimSpace(v)
	return ok && (v == "true" || v == "1")
}

// parseTree reads a document. Every error is a *ParseError with status 8192.
func parseTree(b []byte) (*node, error) {
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	d.CharsetReader = charsetReader
	var (
		root     *node
		stack    []*node
		elements int
		sawDecl  bool
		first    = true
	)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, badXML("not well-formed XML at line %d", se.Line)
			}
			return nil, badXML("not well-formed XML")
		}
		switch t := tok.(type) {
		case xml.ProcInst:
			if t.Target != "xml" || !first || sawDecl {
				return nil, badXML("processing instruction <?%s?> not allowed", t.Target)
			}
			sawDecl = true
		case xml.Directive:
			return nil, badXML("document type declarations and other directives are not allowed")
		case xml.Comment:
			// Harmless; skipped.
		case xml.StartElement:
			if root != nil && len(stack) == 0 {
				return nil, badXML("more than one root element")
			}
			elements++
			if elements > maxElements {
				return nil, badXML("more than %d elements", maxElements)
			}
			if len(stack) >= maxDepth {
				return nil, badXML("elements nested deeper than %d", maxDepth)
			}
			n := &node{name: t.Name}
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
					continue
				}
				n.attrs = append(n.attrs, a)
			}
			if len(stack) == 0 {
				root = n
			} else {
				parent := stack[len(stack)-1]
				if strings.TrimSpace(parent.text) != "" {
					return nil, badXML("element <%s> has mixed content", parent.name.Local)
				}
				parent.text = ""
				parent.children = append(parent.children, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) != 0 {
					return nil, badXML("text outside the root element")
				}
				break
			}
			n := stack[len(stack)-1]
			if len(n.children) > 0 {
				if len(bytes.TrimSpace(t)) != 0 {
					return nil, badXML("element <%s> has mixed content", n.name.Local)
				}
				break
			}
			if len(n.text)+len(t) > maxText {
				return nil, badXML("text of <%s> longer than %d bytes", n.name.Local, maxText)
			}
			n.text += string(t)
		}
		first = false
	}
	if root == nil {
		return nil, badXML("no root element")
	}
	return root, nil
}

// charsetReader accepts the two encodings the services use: UTF-8 (SOAP)
// and ISO-8859-1, which the pidxml request declares (spec section 9.2).
func charsetReader(label string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(label) {
	case "utf-8", "utf8":
		return in, nil
	case "iso-8859-1", "iso8859-1", "latin1", "l1", "iso_8859-1":
		return &latin1Reader{r: in}, nil
	}
	return nil, errors.New("unsupported encoding")
}

// latin1Reader decodes ISO-8859-1 (each byte is the code point of the same
// value) to UTF-8.
type latin1Reader struct {
	r   io.Reader
	buf []byte // decoded bytes not yet read
}

func (l *latin1Reader) Read(p []byte) (int, error) {
	if len(l.buf) == 0 {
		raw := make([]byte, (len(p)+1)/2)
		n, err := l.r.Read(raw)
		for _, c := range raw[:n] {
			l.buf = utf8.AppendRune(l.buf, rune(c))
		}
		if n == 0 {
			return 0, err
		}
	}
	n := copy(p, l.buf)
	l.buf = l.buf[n:]
	return n, nil
}

// children checks that n has only children named in allowed (each local
// name with one of the namespaces listed for it), each at most once, and
// returns them by local name. Its errors name the element, not its value.
func children(n *node, allowed map[string][]string) (map[string]*node, error) {
	out := make(map[string]*node, len(n.children))
	for _, c := range n.children {
		spaces, ok := allowed[c.name.Local]
		if !ok || !contains(spaces, c.name.Space) {
			return nil, badXML("unexpected element <%s> in <%s>", c.name.Local, n.name.Local)
		}
		if _, dup := out[c.name.Local]; dup {
			return nil, badXML("element <%s> repeated in <%s>", c.name.Local, n.name.Local)
		}
		out[c.name.Local] = c
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// leafText returns the text of a leaf element (whitespace around it
// removed, as XML Schema's collapse rule does for these tokens), or an
// error if it has children.
func leafText(n *node) (string, error) {
	if len(n.children) > 0 {
		return "", badXML("element <%s> must hold text, not elements", n.name.Local)
	}
	return strings.TrimSpace(n.text), nil
}

// optionalText is the text of an optional, nillable leaf: absent, empty
// or xsi:nil all read as "" with present false.
func optionalText(n *node) (s string, present bool, err error) {
	if n == nil {
		return "", false, nil
	}
	if n.isNil() {
		if len(n.children) > 0 || strings.TrimSpace(n.text) != "" {
			return "", false, badXML("element <%s> is nil but has content", n.name.Local)
		}
		return "", false, nil
	}
	s, err = leafText(n)
	return s, s != "", err
}

// soapBody reads a SOAP 1.1 envelope and returns the one element in its
// Body. A SOAP 1.2 envelope is reported with status 8193 (another version).
// Headers are allowed but must not demand understanding.
func soapBody(b []byte) (*node, error) {
	root, err := parseTree(b)
	if err != nil {
		return nil, err
	}
	if root.name.Local == "Envelope" && root.name.Space == nsSOAP12 {
		return nil, parseErr(StatusXMLVersionNotSupported, "SOAP 1.2 envelope; the service speaks SOAP 1.1")
	}
	if root.name.Space != nsSOAP11 || root.name.Local != "Envelope" {
		return nil, badXML("root element is not a SOAP 1.1 Envelope")
	}
	var body *node
	for i, c := range root.children {
		switch {
		case c.name.Space == nsSOAP11 && c.name.Local == "Header" && i == 0:
			for _, h := range c.children {
				if v, ok := h.attr(nsSOAP11, "mustUnderstand"); ok && (strings.TrimSpace(v) == "1" || strings.TrimSpace(v) == "true") {
					return nil, badXML("SOAP header <%s> must be understood, and is not", h.name.Local)
				}
			}
		case c.name.Space == nsSOAP11 && c.name.Local == "Body" && body == nil:
			body = c
		default:
			return nil, badXML("unexpected element <%s> in the SOAP Envelope", c.name.Local)
		}
	}
	if body == nil {
		return nil, badXML("no SOAP Body")
	}
	if len(body.children) != 1 {
		return nil, badXML("the SOAP Body holds %d elements, want 1", len(body.children))
	}
	return body.children[0], nil
}
