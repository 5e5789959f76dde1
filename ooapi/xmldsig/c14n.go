package xmldsig

import "unicode/utf8"

// Inclusive canonical XML 1.0 without comments (AlgC14N10), of an element
// as a document subset: the element with all its descendants, which is what
// a same-document "#Id" reference and SignedInfo denote (XMLDSig §4.3.3.3,
// §4.4.3.2).
//
// For trees that passed the profile walk the general algorithm comes down to
// this: there are no default namespaces, no prefixed attributes (so no xml:*
// attributes to inherit), no processing instructions, and attribute values
// hold no TAB, LF or CR. So:
//   - the apex element carries a declaration of every namespace in scope
//     (declared on it or on an ancestor), and a descendant only those it
//     declares with a value other than the one in scope at its parent;
//     declarations are sorted by prefix and come before the attributes;
//   - attributes, all unprefixed, are sorted by name;
//   - empty elements get an end tag; comments are left out;
//   - text escapes & < > and CR; attribute values & < and ".
// A tree outside those assumptions is refused, not canonicalised, so this
// code never needs the rest of the algorithm.

// maxSignedElements bounds the elements of a canonicalised subtree: the
// profile's Object has a few dozen, and the limit keeps the work per
// document proportional to what a response can be.
const maxSignedElements = 1000

// canonical returns the canonical form of element el and its subtree.
func (t *tree) canonical(el int32) ([]byte, error) {
	nodes := t.nodes
	apex := &nodes[el]
	if apex.kind != elementNode {
		return nil, fail(Malformed, "canonical form of a node that is no element")
	}
	elements := 0
	for i := el; i < apex.end; i++ {
		if nodes[i].kind == elementNode {
			elements++
		}
	}
	if elements > maxSignedElements {
		return nil, fail(TooComplex, "%s has %d elements, more than %d", quote(t.fullTag(el)), elements, maxSignedElements)
	}
	// The source bytes of the subtree are the usual size of its canonical
	// form; the apex's inherited declarations come on top.
	out := make([]byte, 0, int(apex.size)+256)
	open := make([]int32, 0, 16)
	var err error
	for i := el; i < apex.end; i++ {
		for len(open) > 0 && nodes[open[len(open)-1]].end <= i {
			out = appendEndTag(out, &nodes[open[len(open)-1]])
			open = open[:len(open)-1]
		}
		switch n := &nodes[i]; n.kind {
		case elementNode:
			if out, err = t.appendStartTag(out, i, i == el); err != nil {
				return nil, err
			}
			open = append(open, i)
		case textNode:
			out = appendEscaped(out, n.data, &textEscapes)
		default:
			return nil, fail(ProcInstForbidden, "<?%s?> in %s", quote(n.local), quote(t.fullTag(el)))
		}
	}
	for len(open) > 0 {
		out = appendEndTag(out, &nodes[open[len(open)-1]])
		open = open[:len(open)-1]
	}
	return out, nil
}

func appendEndTag(out []byte, n *node) []byte {
	out = append(out, "</"...)
	out = appendName(out, n.prefix, n.local)
	return append(out, '>')
}

func appendName(out []byte, prefix, local string) []byte {
	if prefix != "" {
		out = append(out, prefix...)
		out = append(out, ':')
	}
	return append(out, local...)
}

// appendStartTag writes the start tag of element i: its namespace
// declarations (all in scope for the apex), then its attributes.
func (t *tree) appendStartTag(out []byte, i int32, apex bool) ([]byte, error) {
	n := &t.nodes[i]
	out = append(out, '<')
	out = appendName(out, n.prefix, n.local)

	var declBuf [16]nsDecl
	decls := declBuf[:0]
	if apex {
		for a := i; a > 0; a = t.nodes[a].parent {
			for _, at := range t.attrs[t.nodes[a].attrLo:t.nodes[a].attrHi] {
				if at.prefix == "xmlns" && !declared(decls, at.local) {
					decls = append(decls, nsDecl{at.local, at.value})
				}
			}
		}
	} else {
		for _, at := range t.attrs[n.attrLo:n.attrHi] {
			if at.prefix == "xmlns" {
				if uri, ok := t.inScope(n.parent, at.local); !ok || uri != at.value {
					decls = append(decls, nsDecl{at.local, at.value})
				}
			}
		}
	}
	for j := 1; j < len(decls); j++ {
		for k := j; k > 0 && decls[k].prefix < decls[k-1].prefix; k-- {
			decls[k], decls[k-1] = decls[k-1], decls[k]
		}
	}
	for _, d := range decls {
		if d.uri == "" || hasWhiteControl(d.uri) {
			return nil, fail(Malformed, "namespace declaration %s outside the profile", quote(d.prefix))
		}
		out = append(out, " xmlns:"...)
		out = append(out, d.prefix...)
		out = append(out, `="`...)
		out = appendEscaped(out, d.uri, &attrEscapes)
		out = append(out, '"')
	}

	var attrBuf [maxAttrs]int32
	attrs := attrBuf[:0]
	for j := n.attrLo; j < n.attrHi; j++ {
		a := &t.attrs[j]
		switch {
		case a.prefix == "xmlns":
			continue
		case a.prefix != "" || a.local == "xmlns" || hasWhiteControl(a.value) || len(attrs) == maxAttrs:
			return nil, fail(Malformed, "attribute %s on %s outside the profile", quote(qualified(a.prefix, a.local)), quote(t.fullTag(i)))
		}
		attrs = append(attrs, j)
	}
	for j := 1; j < len(attrs); j++ {
		for k := j; k > 0 && t.attrs[attrs[k]].local < t.attrs[attrs[k-1]].local; k-- {
			attrs[k], attrs[k-1] = attrs[k-1], attrs[k]
		}
	}
	for _, j := range attrs {
		a := &t.attrs[j]
		out = append(out, ' ')
		out = append(out, a.local...)
		out = append(out, `="`...)
		out = appendEscaped(out, a.value, &attrEscapes)
		out = append(out, '"')
	}
	return append(out, '>'), nil
}

func declared(decls []nsDecl, prefix string) bool {
	for _, d := range decls {
		if d.prefix == prefix {
			return true
		}
	}
	return false
}

// inScope returns the URI that prefix is bound to at element el (declared
// on it or on its nearest ancestor that declares it).
func (t *tree) inScope(el int32, prefix string) (string, bool) {
	for ; el > 0; el = t.nodes[el].parent {
		n := &t.nodes[el]
		for _, a := range t.attrs[n.attrLo:n.attrHi] {
			if a.prefix == "xmlns" && a.local == prefix {
				return a.value, true
			}
		}
	}
	return "", false
}

func hasWhiteControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\t' || c == '\n' || c == '\r' {
			return true
		}
	}
	return false
}

// The escapes of C14N §2.2 for text and for attribute values; "" means the
// byte stands for itself.
var textEscapes, attrEscapes = func() (text, attr [utf8.RuneSelf]string) {
	text['&'], text['<'], text['>'], text['\r'] = "&amp;", "&lt;", "&gt;", "&#xD;"
	attr['&'], attr['<'], attr['"'] = "&amp;", "&lt;", "&quot;"
	attr['\t'], attr['\n'], attr['\r'] = "&#x9;", "&#xA;", "&#xD;"
	return
}()

// appendEscaped appends s with the bytes that esc names replaced. Multi-byte
// characters pass unchanged (every escaped character is ASCII).
func appendEscaped(out []byte, s string, esc *[utf8.RuneSelf]string) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || esc[c] == "" {
			continue
		}
		out = append(out, s[last:i]...)
		out = append(out, esc[c]...)
		last = i + 1
	}
	return append(out, s[last:]...)
}
