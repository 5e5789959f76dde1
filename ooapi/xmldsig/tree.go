package xmldsig

import (
	"encoding/base64"
	"errors"
	"strings"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// Small helpers over etree for the structural checks. All of them assume the
// tree passed parse's walk (or is canonical output of such a tree): every
// prefix is declared and there is no default namespace.

// isEl reports whether el is {ns}tag.
func isEl(el *etree.Element, ns, tag string) bool {
	return el.Tag == tag && el.NamespaceURI() == ns
}

func isDS(el *etree.Element, tag string) bool { return isEl(el, NSDSig, tag) }

// elems returns the child elements of el. Text between them must be
// whitespace; comments are skipped (C14N without comments drops them, so
// they can neither add nor hide signed content).
func elems(el *etree.Element) ([]*etree.Element, error) {
	var out []*etree.Element
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.Element:
			out = append(out, t)
		case *etree.CharData:
			if !t.IsWhitespace() {
				return nil, fail(Malformed, "text inside %s", quote(el.FullTag()))
			}
		}
	}
	return out, nil
}

// leafText returns the character data of an element that must not have
// child elements.
func leafText(el *etree.Element) (string, error) {
	if len(el.Child) == 1 {
		if t, ok := el.Child[0].(*etree.CharData); ok {
			return t.Data, nil // the usual case, without a copy
		}
	}
	var b strings.Builder
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.Element:
			return "", fail(UnexpectedElement, "%s inside %s", quote(t.FullTag()), quote(el.FullTag()))
		case *etree.CharData:
			b.WriteString(t.Data)
		}
	}
	return b.String(), nil
}

// emptyLeaf checks that el has no child elements and no text but whitespace.
func emptyLeaf(el *etree.Element) error {
	kids, err := elems(el)
	if err != nil {
		return err
	}
	if len(kids) > 0 {
		return fail(UnexpectedElement, "%s inside %s", quote(kids[0].FullTag()), quote(el.FullTag()))
	}
	return nil
}

// attr returns the unprefixed attribute name of el.
func attr(el *etree.Element, name string) (string, bool) {
	for _, a := range el.Attr {
		if a.Space == "" && a.Key == name {
			return a.Value, true
		}
	}
	return "", false
}

// onlyAttrs refuses every attribute of el except namespace declarations and
// the unprefixed names given.
func onlyAttrs(el *etree.Element, names ...string) error {
next:
	for _, a := range el.Attr {
		if a.Space == "xmlns" {
			continue
		}
		if a.Space == "" {
			for _, n := range names {
				if a.Key == n {
					continue next
				}
			}
		}
		return fail(UnexpectedAttribute, "%s on %s", quote(a.FullKey()), quote(el.FullTag()))
	}
	return nil
}

// canonicalize returns the inclusive C14N 1.0 (without comments) form of el
// as a document subset: the in-scope namespace declarations of its ancestors
// are carried onto it by etreeutils.NSDetatch (STACK.md §XMLDSig). NSDetatch
// works on a copy, so goxmldsig's canonicalizer cannot change our tree (G3).
func canonicalize(el *etree.Element) ([]byte, error) {
	ctx, err := etreeutils.NSBuildParentContext(el)
	if err != nil {
		return nil, failErr(Malformed, err, "namespace context of "+quote(el.FullTag()))
	}
	det, err := etreeutils.NSDetatch(ctx, el)
	if err != nil {
		if errors.Is(err, etreeutils.ErrTraversalLimit) {
			return nil, failErr(TooComplex, err, quote(el.FullTag())+" has more than 1000 elements")
		}
		return nil, failErr(Malformed, err, "detaching "+quote(el.FullTag()))
	}
	b, err := dsig.MakeC14N10RecCanonicalizer().Canonicalize(det)
	if err != nil {
		return nil, failErr(Malformed, err, "canonicalizing "+quote(el.FullTag()))
	}
	return b, nil
}

// reparse parses canonical bytes back into a tree: the only tree anything is
// read from after verification.
func reparse(b []byte, o Options) (*etree.Element, error) {
	d, err := parseXML(b, o)
	if err != nil {
		return nil, err
	}
	root := d.Root()
	if root == nil {
		return nil, fail(Malformed, "empty canonical form")
	}
	return root, nil
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
	if strings.ContainsAny(s, " \t") {
		s = strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' {
				return -1
			}
			return r
		}, s)
	}
	return base64.StdEncoding.Strict().DecodeString(s)
}
