package xmldsig

import (
	"encoding/base64"
	"strings"
)

// Small helpers over the tree for the structural checks. All of them assume
// the tree passed parse's walk (or is the canonical form of such a tree,
// read back): every prefix is declared and there is no default namespace.

func (t *tree) fullTag(el int32) string { return qualified(t.nodes[el].prefix, t.nodes[el].local) }

// isEl reports whether node i is the element {ns}local.
func (t *tree) isEl(i int32, ns, local string) bool {
	n := &t.nodes[i]
	return n.kind == elementNode && n.local == local && n.nsOK && n.ns == ns
}

func (t *tree) isDS(i int32, local string) bool { return t.isEl(i, NSDSig, local) }

// elems appends the child elements of el to buf. Text between them must be
// white space; comments are not in the tree (C14N without comments drops
// them, so they can neither add nor hide signed content).
func (t *tree) elems(el int32, buf []int32) ([]int32, error) {
	for c := t.nodes[el].first; c >= 0; c = t.nodes[c].next {
		switch n := &t.nodes[c]; n.kind {
		case elementNode:
			buf = append(buf, c)
		case textNode:
			if !isWhitespace(n.data) {
				return nil, fail(Malformed, "text inside %s", quote(t.fullTag(el)))
			}
		}
	}
	return buf, nil
}

// leafText returns the character data of an element that must not have
// child elements.
func (t *tree) leafText(el int32) (string, error) {
	n := &t.nodes[el]
	if n.first >= 0 && n.first == n.last && t.nodes[n.first].kind == textNode {
		return t.nodes[n.first].data, nil // the usual case, without a copy
	}
	var b strings.Builder
	for c := n.first; c >= 0; c = t.nodes[c].next {
		switch k := &t.nodes[c]; k.kind {
		case elementNode:
			return "", fail(UnexpectedElement, "%s inside %s", quote(t.fullTag(c)), quote(t.fullTag(el)))
		case textNode:
			b.WriteString(k.data)
		}
	}
	return b.String(), nil
}

// emptyLeaf checks that el has no child elements and no text but whitespace.
func (t *tree) emptyLeaf(el int32) error {
	var buf [1]int32
	kids, err := t.elems(el, buf[:0])
	if err != nil {
		return err
	}
	if len(kids) > 0 {
		return fail(UnexpectedElement, "%s inside %s", quote(t.fullTag(kids[0])), quote(t.fullTag(el)))
	}
	return nil
}

// attr returns the unprefixed attribute name of el.
func (t *tree) attr(el int32, name string) (string, bool) {
	n := &t.nodes[el]
	for _, a := range t.attrs[n.attrLo:n.attrHi] {
		if a.prefix == "" && a.local == name {
			return a.value, true
		}
	}
	return "", false
}

// onlyAttrs refuses every attribute of el except namespace declarations and
// the unprefixed names given.
func (t *tree) onlyAttrs(el int32, names ...string) error {
	n := &t.nodes[el]
next:
	for _, a := range t.attrs[n.attrLo:n.attrHi] {
		if a.prefix == "xmlns" {
			continue
		}
		if a.prefix == "" {
			for _, name := range names {
				if a.local == name {
					continue next
				}
			}
		}
		return fail(UnexpectedAttribute, "%s on %s", quote(qualified(a.prefix, a.local)), quote(t.fullTag(el)))
	}
	return nil
}

// reparse reads canonical bytes back into a tree: the only tree anything is
// read from after verification. It returns the tree and its root element.
func reparse(b []byte, o Options) (*tree, int32, error) {
	t, err := parseTree(string(b), o.MaxDepth)
	if err != nil {
		return nil, 0, err
	}
	root := t.root()
	if root < 0 {
		return nil, 0, fail(Malformed, "empty canonical form")
	}
	return t, root, nil
}

// isNCNameASCII accepts the Ids real responses use ("ToBeSigned") and
// nothing that a resolver could read as an XPointer or a path.
func isNCNameASCII(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c == '_':
		case i > 0 && (c >= '0' && c <= '9' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// decodeBase64 decodes wrapped base64. The decoder itself skips CR and LF
// (the only whitespace real responses use); spaces and tabs, which XML also
// allows in a base64 text, are removed first.
func decodeBase64(s string) ([]byte, error) {
	// Two byte searches, not ContainsAny: they run many bytes at a time.
	if strings.IndexByte(s, ' ') >= 0 || strings.IndexByte(s, '\t') >= 0 {
		s = strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' {
				return -1
			}
			return r
		}, s)
	}
	return base64.StdEncoding.Strict().DecodeString(s)
}
