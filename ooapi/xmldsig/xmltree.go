package xmldsig

import (
	"strings"
	"unicode/utf8"
)

// The verifier's own XML reader: one pass over the bytes that checks
// well-formedness and builds a flat tree, from which the profile checks read
// and the canonical forms are written (c14n.go).
//
// It reads exactly the XML that a NemID response can be, and refuses the rest
// as Malformed rather than guess: UTF-8 only; no DTD (a <!…> other than a
// comment or a CDATA section is DTDForbidden at once), so the only entities
// are the five predefined ones and character references; element and
// attribute names are ASCII XML names with at most one colon. Where XML 1.0
// forbids something that a lenient parser lets through ("--" inside a
// comment, "]]>" in text, a control character, attributes without white
// space between them), it is refused here too, so that no document means one
// thing to us and another to libxml2 (xmlsec1), which refuses the same.
// One refusal goes further than XML 1.0: a literal DEL (0x7F), which XML
// allows, is refused as a control character in text and attribute values
// (no NemID document holds one; a reference &#x7F; is read as written).
//
// Line ends are normalised in character data (CR LF and lone CR become LF,
// XML 1.0 §2.11). Attribute values are kept as written after references are
// resolved, without the normalisation of §3.3.3: the profile walk refuses any
// TAB, LF or CR in a value, so no value whose normalised form would differ
// ever reaches a canonical form.

type nodeKind uint8

const (
	docNode      nodeKind = iota // the document: node 0, parent of the top-level nodes
	elementNode                  // an element
	textNode                     // character data: text, resolved references, CDATA content
	procInstNode                 // a processing instruction (other than the XML declaration)
)

// node is one node of the tree. The tree is stored in document order (the
// order of start tags), so an element's subtree is the index range
// [element, end). Comments are checked and then dropped: nothing reads them,
// and inclusive C14N without comments leaves them out.
type node struct {
	kind           nodeKind
	nsOK           bool  // element: its prefix is declared in scope, or it has none
	parent         int32 // -1 for the document
	first, last    int32 // first and last child; -1 if none
	next           int32 // next sibling; -1 if none
	end            int32 // one past the last node of the subtree
	attrLo, attrHi int32 // element: its attributes are tree.attrs[attrLo:attrHi], in document order
	size           int32 // element: source bytes from its start tag to the end of its end tag (the start offset while open)
	prefix, local  string
	ns             string // element: the namespace URI its prefix is bound to ("" without prefix)
	data           string // text: the character data; processing instruction: its content
}

// attr is one attribute as written: prefix "xmlns" for a namespace
// declaration of local, prefix "" and local "xmlns" for a default one.
type attr struct{ prefix, local, value string }

type tree struct {
	nodes []node
	attrs []attr
}

// root returns the first top-level element, or -1.
func (t *tree) root() int32 {
	for c := t.nodes[0].first; c >= 0; c = t.nodes[c].next {
		if t.nodes[c].kind == elementNode {
			return c
		}
	}
	return -1
}

type parser struct {
	t        *tree
	src      string
	pos      int
	maxDepth int
	depth    int
	cur      int32    // the innermost open element; 0 (the document) when none
	scope    []nsDecl // namespace declarations of the open elements, innermost last
	marks    []int    // len(scope) when each open element started
	buf      []byte   // scratch for character data that needs decoding
}

// parseTree reads src into a tree. Errors are *Error: Malformed, TooDeep
// (more than maxDepth nested elements) or DTDForbidden.
func parseTree(src string, maxDepth int) (*tree, error) {
	if len(src) >= 1<<31-1 {
		return nil, fail(TooLarge, "%d bytes", len(src)) // node indices are int32
	}
	// Every tag starts with '<': an element has a start and an end tag, and
	// there is text (if only a line break) before most tags. Growing the
	// slice later would copy every node.
	tags := strings.Count(src, "<")
	t := &tree{nodes: make([]node, 1, tags+tags/4+4), attrs: make([]attr, 0, tags/2+1)}
	t.nodes[0] = node{kind: docNode, parent: -1, first: -1, last: -1, next: -1}
	p := &parser{t: t, src: src, maxDepth: maxDepth, scope: make([]nsDecl, 0, 8), marks: make([]int, 0, 16)}
	if len(src) > 5 && src[:5] == "<?xml" && (isSpace(src[5]) || src[5] == '?') {
		if err := p.xmlDecl(); err != nil {
			return nil, err
		}
	}
	for p.pos < len(src) {
		var err error
		switch {
		case src[p.pos] != '<':
			err = p.text()
		case p.pos+1 == len(src):
			err = p.malformed("'<' at the end")
		case src[p.pos+1] == '/':
			err = p.endTag()
		case src[p.pos+1] == '?':
			err = p.procInst()
		case src[p.pos+1] == '!':
			err = p.bang()
		default:
			err = p.startTag()
		}
		if err != nil {
			return nil, err
		}
	}
	if p.cur != 0 {
		return nil, p.malformed("unclosed element " + quote(p.fullName(p.cur)))
	}
	t.nodes[0].end = int32(len(t.nodes))
	return t, nil
}

func (p *parser) malformed(what string) *Error {
	return fail(Malformed, "%s at byte %d", what, p.pos)
}

func (p *parser) fullName(i int32) string { return qualified(p.t.nodes[i].prefix, p.t.nodes[i].local) }

// add appends a node as the last child of the open element.
func (p *parser) add(n node) int32 {
	i := int32(len(p.t.nodes))
	n.parent, n.first, n.last, n.next, n.end = p.cur, -1, -1, -1, i+1
	par := &p.t.nodes[p.cur]
	if par.last < 0 {
		par.first = i
	} else {
		p.t.nodes[par.last].next = i
	}
	par.last = i
	p.t.nodes = append(p.t.nodes, n)
	return i
}

// xmlDecl reads the XML declaration at the start of the document: version
// 1.0, then optionally encoding UTF-8 and standalone, in that order (XML 1.0
// §2.8).
func (p *parser) xmlDecl() error {
	s := p.src
	name, val, i, ok := declAttr(s, 5)
	if !ok || name != "version" || val != "1.0" {
		return fail(Malformed, "XML declaration without version 1.0")
	}
	name, val, j, ok := declAttr(s, i)
	if ok && name == "encoding" {
		if !strings.EqualFold(val, "UTF-8") {
			return fail(Malformed, "encoding %s", quote(val))
		}
		i = j
		name, val, j, ok = declAttr(s, i)
	}
	if ok && name == "standalone" && (val == "yes" || val == "no") {
		i = j
	} else if ok {
		return fail(Malformed, "XML declaration with %s", quote(name))
	}
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	if !strings.HasPrefix(s[i:], "?>") {
		return fail(Malformed, "XML declaration not closed by ?>")
	}
	p.pos = i + 2
	return nil
}

// declAttr reads ` name = "value"` from s[i:] in the XML declaration; ok is
// false if there is none there.
func declAttr(s string, i int) (name, val string, next int, ok bool) {
	j := i
	for j < len(s) && isSpace(s[j]) {
		j++
	}
	k := j
	for k < len(s) && s[k] >= 'a' && s[k] <= 'z' {
		k++
	}
	if j == i || k == j {
		return "", "", i, false
	}
	name = s[j:k]
	for k < len(s) && isSpace(s[k]) {
		k++
	}
	if k == len(s) || s[k] != '=' {
		return "", "", i, false
	}
	k++
	for k < len(s) && isSpace(s[k]) {
		k++
	}
	if k == len(s) || (s[k] != '"' && s[k] != '\'') {
		return "", "", i, false
	}
	end := strings.IndexByte(s[k+1:], s[k])
	if end < 0 {
		return "", "", i, false
	}
	return name, s[k+1 : k+1+end], k + 2 + end, true
}

// startTag reads `<name attr="value" …>` or `<name …/>`.
func (p *parser) startTag() error {
	src := p.src
	start := p.pos
	p.pos++
	prefix, local, err := p.qname()
	if err != nil {
		return err
	}
	lo := int32(len(p.t.attrs))
	empty := false
	for {
		spaced := p.skipSpace()
		if p.pos >= len(src) {
			return p.malformed("unclosed start tag")
		}
		if c := src[p.pos]; c == '>' {
			p.pos++
			break
		} else if c == '/' {
			if p.pos+1 < len(src) && src[p.pos+1] == '>' {
				p.pos += 2
				empty = true
				break
			}
			return p.malformed("'/' inside a start tag")
		}
		if !spaced {
			return p.malformed("no white space before an attribute")
		}
		ap, al, err := p.qname()
		if err != nil {
			return err
		}
		p.skipSpace()
		if p.pos >= len(src) || src[p.pos] != '=' {
			return p.malformed("attribute without '='")
		}
		p.pos++
		p.skipSpace()
		v, err := p.attrValue()
		if err != nil {
			return err
		}
		// The profile walk refuses more anyway; refusing here already keeps
		// the namespace scope (and every lookup in it) small.
		if int(int32(len(p.t.attrs))-lo) == maxAttrs {
			return fail(TooComplex, "more than %d attributes on %s", maxAttrs, quote(qualified(prefix, local)))
		}
		p.t.attrs = append(p.t.attrs, attr{ap, al, v})
	}
	hi := int32(len(p.t.attrs))
	if p.depth++; p.depth > p.maxDepth {
		return fail(TooDeep, "more than %d levels", p.maxDepth)
	}
	mark := len(p.scope)
	for _, a := range p.t.attrs[lo:hi] {
		if a.prefix == "xmlns" {
			p.scope = append(p.scope, nsDecl{a.local, a.value})
		}
	}
	ns, ok := lookupNS(p.scope, prefix)
	i := p.add(node{kind: elementNode, prefix: prefix, local: local, ns: ns, nsOK: ok, attrLo: lo, attrHi: hi})
	if empty {
		p.scope = p.scope[:mark]
		p.depth--
		p.t.nodes[i].size = int32(p.pos - start)
		return nil
	}
	p.t.nodes[i].size = int32(start) // until the end tag: the start offset
	p.marks = append(p.marks, mark)
	p.cur = i
	return nil
}

// endTag reads `</name>`, which must close the innermost open element.
func (p *parser) endTag() error {
	p.pos += 2
	prefix, local, err := p.qname()
	if err != nil {
		return err
	}
	p.skipSpace()
	if p.pos >= len(p.src) || p.src[p.pos] != '>' {
		return p.malformed("unclosed end tag")
	}
	p.pos++
	if p.cur == 0 {
		return p.malformed("end tag " + quote(qualified(prefix, local)) + " without a start tag")
	}
	el := &p.t.nodes[p.cur]
	if el.prefix != prefix || el.local != local {
		return p.malformed("end tag " + quote(qualified(prefix, local)) + " closes " + quote(p.fullName(p.cur)))
	}
	el.end = int32(len(p.t.nodes))
	el.size = int32(p.pos) - el.size
	p.scope = p.scope[:p.marks[len(p.marks)-1]]
	p.marks = p.marks[:len(p.marks)-1]
	p.depth--
	p.cur = el.parent
	return nil
}

// qname reads a name: an ASCII NCName, or two joined by one colon.
func (p *parser) qname() (prefix, local string, err error) {
	src := p.src
	start := p.pos
	colon := -1
	if p.pos >= len(src) || !nameStart[src[p.pos]] {
		return "", "", p.malformed("name expected")
	}
	for p.pos++; p.pos < len(src); p.pos++ {
		c := src[p.pos]
		if nameChar[c] {
			continue
		}
		if c != ':' {
			break
		}
		if colon >= 0 || p.pos+1 == len(src) || !nameStart[src[p.pos+1]] {
			return "", "", p.malformed("a name that is not a qualified name")
		}
		colon = p.pos
	}
	if p.pos < len(src) && src[p.pos] >= utf8.RuneSelf {
		return "", "", p.malformed("a name with a non-ASCII character")
	}
	if colon < 0 {
		return "", src[start:p.pos], nil
	}
	return src[start:colon], src[colon+1 : p.pos], nil
}

func (p *parser) skipSpace() bool {
	start := p.pos
	for p.pos < len(p.src) && isSpace(p.src[p.pos]) {
		p.pos++
	}
	return p.pos > start
}

// attrValue reads a quoted attribute value and resolves its references.
func (p *parser) attrValue() (string, error) {
	src := p.src
	if p.pos >= len(src) || (src[p.pos] != '"' && src[p.pos] != '\'') {
		return "", p.malformed("attribute value not quoted")
	}
	q := src[p.pos]
	start := p.pos + 1
	lit := start // start of the part not yet copied to p.buf
	decoded := false
	i := start
	for {
		if i >= len(src) {
			p.pos = i
			return "", p.malformed("unterminated attribute value")
		}
		c := src[i]
		if plainByte[c] || c == '\r' || c == ']' {
			i++
			continue
		}
		switch {
		case c == q:
			p.pos = i + 1
			if !decoded {
				return src[start:i], nil
			}
			p.buf = append(p.buf, src[lit:i]...)
			return string(p.buf), nil
		case c == '"' || c == '\'':
			i++
		case c == '&':
			if !decoded {
				p.buf, decoded = p.buf[:0], true
			}
			p.buf = append(p.buf, src[lit:i]...)
			r, n, err := p.reference(i)
			if err != nil {
				return "", err
			}
			p.buf = utf8.AppendRune(p.buf, r)
			i += n
			lit = i
		case c >= utf8.RuneSelf:
			n, err := p.char(i)
			if err != nil {
				return "", err
			}
			i += n
		case c == '<':
			p.pos = i
			return "", p.malformed("'<' in an attribute value")
		default:
			p.pos = i
			return "", p.malformed("control character")
		}
	}
}

// text reads character data up to the next '<'.
func (p *parser) text() error {
	src := p.src
	start := p.pos
	if p.cur == 0 {
		// Outside the root only white space may stand, as written: not a
		// character reference to it either (XML 1.0 §2.1, Misc).
		for p.pos < len(src) && isSpace(src[p.pos]) {
			p.pos++
		}
		if p.pos < len(src) && src[p.pos] != '<' {
			return p.malformed("text outside the root element")
		}
		p.add(node{kind: textNode, data: src[start:p.pos]})
		return nil
	}
	lit := start
	decoded := false
	i := start
	for i < len(src) {
		// Most text is base64: eight bytes at a time while none is special.
		for i+8 <= len(src) && !mayBeSpecial(load64(src, i)) {
			i += 8
		}
		if i == len(src) {
			break
		}
		c := src[i]
		if plainByte[c] || c == '"' || c == '\'' {
			i++
			continue
		}
		if c == '<' {
			break
		}
		switch {
		case c >= utf8.RuneSelf:
			n, err := p.char(i)
			if err != nil {
				return err
			}
			i += n
		case c == ']':
			if strings.HasPrefix(src[i:], "]]>") {
				p.pos = i
				return p.malformed("']]>' in text")
			}
			i++
		case c == '\r':
			if !decoded {
				p.buf, decoded = p.buf[:0], true
			}
			p.buf = append(p.buf, src[lit:i]...)
			p.buf = append(p.buf, '\n')
			if i++; i < len(src) && src[i] == '\n' {
				i++
			}
			lit = i
		case c == '&':
			if !decoded {
				p.buf, decoded = p.buf[:0], true
			}
			p.buf = append(p.buf, src[lit:i]...)
			r, n, err := p.reference(i)
			if err != nil {
				return err
			}
			p.buf = utf8.AppendRune(p.buf, r)
			i += n
			lit = i
		default:
			p.pos = i
			return p.malformed("control character")
		}
	}
	data := src[start:i]
	if decoded {
		p.buf = append(p.buf, src[lit:i]...)
		data = string(p.buf)
	}
	p.pos = i
	p.add(node{kind: textNode, data: data})
	return nil
}

// reference resolves the reference at src[i] ('&'): a character reference
// to an XML character, or one of the five predefined entities. It returns
// the character and the length of the reference.
func (p *parser) reference(i int) (rune, int, error) {
	s := p.src[i+1:]
	if strings.HasPrefix(s, "#") {
		j, base := 1, 10
		if strings.HasPrefix(s, "#x") {
			j, base = 2, 16
		}
		digits := j
		r := 0
		for ; j < len(s) && s[j] != ';'; j++ {
			d := digitValue(s[j])
			if d >= base {
				p.pos = i
				return 0, 0, p.malformed("bad character reference")
			}
			if r <= utf8.MaxRune {
				r = r*base + d
			}
		}
		if j == digits || j == len(s) || r > utf8.MaxRune || !isXMLChar(rune(r)) {
			p.pos = i
			return 0, 0, p.malformed("bad character reference")
		}
		return rune(r), j + 2, nil
	}
	j := 0
	for j < len(s) && j < 5 && s[j] != ';' {
		j++
	}
	if j < len(s) && s[j] == ';' {
		switch s[:j] {
		case "lt":
			return '<', j + 2, nil
		case "gt":
			return '>', j + 2, nil
		case "amp":
			return '&', j + 2, nil
		case "apos":
			return '\'', j + 2, nil
		case "quot":
			return '"', j + 2, nil
		}
	}
	p.pos = i
	return 0, 0, p.malformed("undeclared entity or a bare '&'")
}

// char checks the multi-byte UTF-8 character at src[i] and returns its length.
func (p *parser) char(i int) (int, error) {
	r, n := utf8.DecodeRuneInString(p.src[i:])
	if (r == utf8.RuneError && n == 1) || !isXMLChar(r) {
		p.pos = i
		return 0, p.malformed("not UTF-8, or not an XML character")
	}
	return n, nil
}

// checkChars checks that s (a comment, PI or CDATA content) holds only XML
// characters.
func (p *parser) checkChars(s string, at int) error {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			n, err := p.char(at + i)
			if err != nil {
				return err
			}
			i += n
			continue
		}
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			p.pos = at + i
			return p.malformed("control character")
		}
		i++
	}
	return nil
}

// procInst reads `<?target content?>`.
func (p *parser) procInst() error {
	p.pos += 2
	prefix, target, err := p.qname()
	if err != nil {
		return err
	}
	if prefix != "" {
		return p.malformed("a processing-instruction target with a colon")
	}
	var content string
	if strings.HasPrefix(p.src[p.pos:], "?>") {
		p.pos += 2
	} else {
		if !p.skipSpace() {
			return p.malformed("bad processing instruction")
		}
		k := strings.Index(p.src[p.pos:], "?>")
		if k < 0 {
			return p.malformed("unterminated processing instruction")
		}
		content = p.src[p.pos : p.pos+k]
		if err := p.checkChars(content, p.pos); err != nil {
			return err
		}
		p.pos += k + 2
	}
	p.add(node{kind: procInstNode, local: target, data: content})
	return nil
}

// bang reads a comment or a CDATA section, and refuses every other <!…>.
func (p *parser) bang() error {
	rest := p.src[p.pos:]
	switch {
	case strings.HasPrefix(rest, "<!--"):
		i := p.pos + 4
		j := strings.Index(p.src[i:], "--")
		if j < 0 {
			return p.malformed("unterminated comment")
		}
		if i+j+2 == len(p.src) || p.src[i+j+2] != '>' {
			p.pos = i + j
			return p.malformed("'--' inside a comment")
		}
		if err := p.checkChars(p.src[i:i+j], i); err != nil {
			return err
		}
		p.pos = i + j + 3
		return nil
	case strings.HasPrefix(rest, "<![CDATA["):
		if p.cur == 0 {
			return p.malformed("CDATA section outside the root element")
		}
		i := p.pos + 9
		j := strings.Index(p.src[i:], "]]>")
		if j < 0 {
			return p.malformed("unterminated CDATA section")
		}
		data := p.src[i : i+j]
		if err := p.checkChars(data, i); err != nil {
			return err
		}
		if strings.IndexByte(data, '\r') >= 0 {
			data = strings.ReplaceAll(strings.ReplaceAll(data, "\r\n", "\n"), "\r", "\n")
		}
		p.pos = i + j + 3
		p.add(node{kind: textNode, data: data})
		return nil
	}
	return fail(DTDForbidden, "<!%s>", firstWord(rest[2:]))
}

// load64 reads s[i:i+8] as a little-endian word.
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// mayBeSpecial reports whether any byte of the word x needs more than being
// copied in character data: a non-ASCII byte, a control character other
// than TAB and LF, '&', '<' or ']'. The tests (bytes below n, bytes strictly
// between m and n, zero bytes) are the exact word-at-a-time ones for words
// of ASCII bytes, and any non-ASCII byte answers true by itself.
func mayBeSpecial(x uint64) bool {
	const ones, highs, lows = 0x0101010101010101, 0x8080808080808080, 0x7f7f7f7f7f7f7f7f
	below9 := (x - 9*ones) &^ x                                        // 0x00–0x08
	x7 := x & lows                                                     //
	from11to31 := (ones*(127+0x20) - x7) &^ x & (x7 + ones*(127-0x0A)) // 0x0B–0x1F
	amp, lt, rsb := x^('&'*ones), x^('<'*ones), x^(']'*ones)
	return (x|below9|from11to31|(amp-ones)&^amp|(lt-ones)&^lt|(rsb-ones)&^rsb)&highs != 0
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// isWhitespace reports whether s is XML white space only.
func isWhitespace(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isSpace(s[i]) {
			return false
		}
	}
	return true
}

// isXMLChar is XML 1.0's Char production.
func isXMLChar(r rune) bool {
	switch {
	case r >= 0x20 && r <= 0xD7FF:
		return true
	case r == '\t' || r == '\n' || r == '\r':
		return true
	case r >= 0xE000 && r <= 0xFFFD:
		return true
	case r >= 0x10000 && r <= utf8.MaxRune:
		return true
	}
	return false
}

func digitValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return 99
}

func qualified(prefix, local string) string {
	if prefix == "" {
		return local
	}
	return prefix + ":" + local
}

func firstWord(s string) string {
	if i := strings.IndexAny(s, " \t\r\n[>"); i >= 0 {
		s = s[:i]
	}
	return quote(s)
}

// Byte classes. plainByte: ASCII that means nothing special in character
// data or in an attribute value (everything printable but < & ] " ', plus
// TAB and LF). nameStart, nameChar: the ASCII part of XML's NCName.
var plainByte, nameStart, nameChar = func() (plain, start, char [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		plain[c] = true
	}
	for _, c := range []byte("<&]\"'") {
		plain[c] = false
	}
	plain['\t'], plain['\n'] = true, true
	for c := 'A'; c <= 'Z'; c++ {
		start[c], start[c+'a'-'A'] = true, true
	}
	start['_'] = true
	char = start
	for c := '0'; c <= '9'; c++ {
		char[c] = true
	}
	char['-'], char['.'] = true, true
	return
}()
