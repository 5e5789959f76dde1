package xmldsig

import (
	"bytes"
	"strings"
)

// parsed is the input document after the whole-document checks: everything
// that must hold anywhere in the tree (not only where the profile looks) is
// checked in one walk, because wrapping attacks hide content exactly where a
// verifier does not look.
type parsed struct {
	t          *tree
	root       int32
	signatures []int32  // every ds:Signature, in document order
	objects    []object // every ds:Object, in document order
	strayProps int      // signature-property elements outside every ds:Object
	ids        idIndex  // every Id/ID/id value → its element
}

type object struct {
	el    int32
	props int // signature-property elements inside it
}

// nsDecl is one namespace declaration: prefix bound to uri.
type nsDecl struct{ prefix, uri string }

// idIndex maps Id values to elements: a short list for the two Ids of a
// real response, a map once a document has many.
type idIndex struct {
	few  []idEntry
	many map[string]int32
}

type idEntry struct {
	id string
	el int32
}

const idListMax = 16

func (x *idIndex) get(id string) (int32, bool) {
	if x.many != nil {
		el, ok := x.many[id]
		return el, ok
	}
	for _, e := range x.few {
		if e.id == id {
			return e.el, true
		}
	}
	return 0, false
}

func (x *idIndex) put(id string, el int32) {
	if x.many == nil && len(x.few) < idListMax {
		x.few = append(x.few, idEntry{id, el})
		return
	}
	if x.many == nil {
		x.many = make(map[string]int32, 2*idListMax)
		for _, e := range x.few {
			x.many[e.id] = e.el
		}
	}
	x.many[id] = el
}

// parse applies the size limit and the DTD refusal before parsing, then
// parses and walks the whole tree.
func parse(doc []byte, o Options) (*parsed, error) {
	if len(doc) > o.MaxSize {
		return nil, fail(TooLarge, "%d bytes, limit %d", len(doc), o.MaxSize)
	}
	// The reader refuses every <!…> that is no comment or CDATA section;
	// a DTD is looked for in the whole input first (in a comment, too), so
	// that a document that carries one gets this reason whatever else is
	// wrong with it.
	if bytes.Contains(doc, []byte("<!DOCTYPE")) || bytes.Contains(doc, []byte("<!ENTITY")) {
		return nil, fail(DTDForbidden, "DOCTYPE or ENTITY declaration")
	}
	// One copy: every name and value of the tree is a substring of it, and
	// nothing returned aliases the caller's slice.
	t, err := parseTree(string(doc), o.MaxDepth)
	if err != nil {
		return nil, err
	}
	p := &parsed{t: t, root: -1}
	for c := t.nodes[0].first; c >= 0; c = t.nodes[c].next {
		switch n := &t.nodes[c]; n.kind {
		case elementNode:
			if p.root >= 0 {
				return nil, fail(Malformed, "more than one root element")
			}
			p.root = c
		case procInstNode:
			// The XML declaration is read (and checked) by the reader and
			// is no node; any other processing instruction is refused.
			return nil, fail(ProcInstForbidden, "<?%s?>", quote(n.local))
		case textNode:
			if !isWhitespace(n.data) {
				return nil, fail(Malformed, "text outside the root element")
			}
		}
	}
	if p.root < 0 {
		return nil, fail(Malformed, "no root element")
	}
	if err := p.walk(p.root, 0); err != nil {
		return nil, err
	}
	return p, nil
}

// walk checks el and its subtree: namespace declarations and attributes
// inside the profile, no processing instructions, unique Ids; and it records
// every ds:Signature, ds:Object and signature property. inObject is 1 + the
// index in p.objects of the innermost enclosing ds:Object, or 0.
func (p *parsed) walk(el int32, inObject int) error {
	t := p.t
	n := &t.nodes[el]
	attrs := t.attrs[n.attrLo:n.attrHi]
	if len(attrs) > maxAttrs {
		return fail(TooComplex, "%d attributes on %s", len(attrs), quote(t.fullTag(el)))
	}
	for i, a := range attrs {
		for _, b := range attrs[:i] {
			if a.prefix == b.prefix && a.local == b.local {
				return fail(Malformed, "duplicate attribute %s", quote(qualified(a.prefix, a.local)))
			}
		}
		// The reader does not normalise attribute values (XML 1.0 §3.3.3
		// turns TAB, LF, CR into spaces), so a value holding one would
		// canonicalise differently here and in libxml2. No real response
		// has one: refuse, and leave no such differential.
		if hasWhiteControl(a.value) {
			return fail(Malformed, "white space control character in attribute %s", quote(qualified(a.prefix, a.local)))
		}
		switch {
		case a.prefix == "xmlns":
			if a.local == "xml" || a.local == "xmlns" || a.value == "" {
				return fail(Malformed, "reserved or empty namespace declaration %s", quote(qualified(a.prefix, a.local)))
			}
			// libxml2's canonicalizer (xmlsec1) refuses a relative
			// namespace URI; so do we, anywhere in the document.
			if !hasScheme(a.value) {
				return fail(Malformed, "relative namespace URI in %s", quote(qualified(a.prefix, a.local)))
			}
		case a.prefix == "" && a.local == "xmlns":
			// No real producer uses a default namespace, and default-namespace
			// handling is where canonicalizers differ: keep it out.
			return fail(Malformed, "default namespace declaration")
		case a.prefix != "":
			// Prefixed attributes (xml:lang, xml:space, foo:Id) are not in the
			// profile; xml:* would also be inherited by inclusive C14N, which
			// the canonicalisation of a subset does not do here.
			return fail(UnexpectedAttribute, "%s on %s", quote(qualified(a.prefix, a.local)), quote(t.fullTag(el)))
		case strings.EqualFold(a.local, "id"):
			// Id, ID, id: every spelling that some resolver treats as an ID.
			if _, dup := p.ids.get(a.value); dup {
				return fail(DuplicateID, "Id %s occurs twice", quote(a.value))
			}
			p.ids.put(a.value, el)
		}
	}
	if !n.nsOK {
		return fail(Malformed, "undeclared prefix on %s", quote(t.fullTag(el)))
	}
	switch {
	case n.ns == NSDSig && n.local == "Signature":
		p.signatures = append(p.signatures, el)
	case n.ns == NSDSig && n.local == "Object":
		p.objects = append(p.objects, object{el: el})
		inObject = len(p.objects)
	case n.ns == NSDSig && (n.local == "SignatureProperties" || n.local == "SignatureProperty"),
		n.ns == NSOpenOCES && el != p.root:
		if inObject > 0 {
			p.objects[inObject-1].props++
		} else {
			p.strayProps++
		}
	}
	for c := n.first; c >= 0; c = t.nodes[c].next {
		switch k := &t.nodes[c]; k.kind {
		case elementNode:
			if err := p.walk(c, inObject); err != nil {
				return err
			}
		case procInstNode:
			return fail(ProcInstForbidden, "<?%s?>", quote(k.local))
		}
	}
	return nil
}

// hasScheme reports whether uri starts with a URI scheme and ':' (RFC 3986
// §3.1), as every absolute URI does.
func hasScheme(uri string) bool {
	for i := 0; i < len(uri); i++ {
		c := uri[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return true
		default:
			return false
		}
	}
	return false
}

func lookupNS(scope []nsDecl, prefix string) (string, bool) {
	if prefix == "" {
		return "", true // no default namespace can be declared
	}
	for i := len(scope) - 1; i >= 0; i-- {
		if scope[i].prefix == prefix {
			return scope[i].uri, true
		}
	}
	return "", false
}
