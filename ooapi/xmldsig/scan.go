package xmldsig

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/beevik/etree"
)

// parsed is the input document after the whole-document checks: everything
// that must hold anywhere in the tree (not only where the profile looks) is
// checked in one walk, because wrapping attacks hide content exactly where a
// verifier does not look.
type parsed struct {
	root       *etree.Element
	signatures []*etree.Element          // every ds:Signature, in document order
	objects    []object                  // every ds:Object, in document order
	strayProps int                       // signature-property elements outside every ds:Object
	ids        map[string]*etree.Element // every Id/ID/id value → its element
}

type object struct {
	el    *etree.Element
	props int // signature-property elements inside it
}

// nsDecl is one in-scope prefix declaration; the walk keeps a stack of them.
type nsDecl struct{ prefix, uri string }

func readSettings(o Options) etree.ReadSettings {
	// PreserveDuplicateAttrs: etree would otherwise keep only the last of two
	// equal attributes, silently, where libxml2 refuses the document. We keep
	// both and refuse ourselves, so no parser differential hides in there.
	return etree.ReadSettings{MaxDepth: o.MaxDepth, PreserveDuplicateAttrs: true}
}

// parseXML parses b with the profile's reader settings and maps parser errors
// to reasons. It tries bulk-text elision first (elide.go); when there is
// nothing to elide, or the elided parse fails or surprises in any way, it
// parses b as it is, so that errors (and their reasons) always come from the
// real text.
func parseXML(b []byte, o Options) (*etree.Document, error) {
	if d, ok := parseElided(b, o); ok {
		return d, nil
	}
	return parsePlain(b, o)
}

// parseElided parses b with its long base64 runs elided and restored; ok is
// false when there is nothing to elide or anything went differently.
func parseElided(b []byte, o Options) (*etree.Document, bool) {
	small, runs := elide(b)
	if runs == nil {
		return nil, false
	}
	d := etree.NewDocument()
	d.ReadSettings = readSettings(o)
	if err := d.ReadFromBytes(small); err != nil {
		return nil, false
	}
	next := 0
	if !restore(&d.Element, runs, &next) || next != len(runs) {
		return nil, false
	}
	return d, true
}

func parsePlain(b []byte, o Options) (*etree.Document, error) {
	d := etree.NewDocument()
	d.ReadSettings = readSettings(o)
	if err := d.ReadFromBytes(b); err != nil {
		if errors.Is(err, etree.ErrMaxDepth) {
			return nil, failErr(TooDeep, nil, "more than "+strconv.Itoa(o.MaxDepth)+" levels")
		}
		return nil, failErr(Malformed, err, "")
	}
	return d, nil
}

// parse applies the size limit and the DTD refusal before parsing, then
// parses and walks the whole tree.
func parse(doc []byte, o Options) (*parsed, error) {
	if len(doc) > o.MaxSize {
		return nil, fail(TooLarge, "%d bytes, limit %d", len(doc), o.MaxSize)
	}
	// encoding/xml never expands a DTD's entities, but a document that
	// carries one is not a NemID response: refuse it before spending a parse.
	// The walk below refuses every other <!…> directive as well.
	if bytes.Contains(doc, []byte("<!DOCTYPE")) || bytes.Contains(doc, []byte("<!ENTITY")) {
		return nil, fail(DTDForbidden, "DOCTYPE or ENTITY declaration")
	}
	// etree's default charset reader passes bytes through whatever the
	// declaration says, and its canonical writer turns invalid UTF-8 into
	// U+FFFD: insist on UTF-8 so that the bytes we canonicalise are the text.
	if !utf8.Valid(doc) {
		return nil, fail(Malformed, "not UTF-8")
	}
	d, err := parseXML(doc, o)
	if err != nil {
		return nil, err
	}
	p := &parsed{}
	for i, t := range d.Child {
		switch t := t.(type) {
		case *etree.Element:
			if p.root != nil {
				return nil, fail(Malformed, "more than one root element")
			}
			p.root = t
		case *etree.ProcInst:
			if i != 0 || t.Target != "xml" || !bytes.HasPrefix(doc, []byte("<?xml")) {
				return nil, fail(ProcInstForbidden, "<?%s?>", t.Target)
			}
			if err := checkXMLDecl(t.Inst); err != nil {
				return nil, err
			}
		case *etree.Directive:
			return nil, fail(DTDForbidden, "<!%s>", firstWord(t.Data))
		case *etree.CharData:
			if !t.IsWhitespace() {
				return nil, fail(Malformed, "text outside the root element")
			}
		case *etree.Comment:
			// Harmless outside the root, and never canonicalised.
		}
	}
	if p.root == nil {
		return nil, fail(Malformed, "no root element")
	}
	if err := p.walk(p.root, nil, 0); err != nil {
		return nil, err
	}
	return p, nil
}

// walk checks el and its subtree: namespace declarations and attributes
// inside the profile, no directives or processing instructions, unique Ids;
// and it records every ds:Signature, ds:Object and signature property.
// inObject is 1 + the index in p.objects of the innermost enclosing
// ds:Object, or 0.
func (p *parsed) walk(el *etree.Element, scope []nsDecl, inObject int) error {
	if len(el.Attr) > maxAttrs {
		return fail(TooComplex, "%d attributes on %s", len(el.Attr), quote(el.FullTag()))
	}
	declared := false
	for i, a := range el.Attr {
		for _, b := range el.Attr[:i] {
			if a.Space == b.Space && a.Key == b.Key {
				return fail(Malformed, "duplicate attribute %s", quote(a.FullKey()))
			}
		}
		// encoding/xml does not normalise attribute values (XML 1.0 §3.3.3
		// turns TAB, LF, CR into spaces), so a value holding one would
		// canonicalise differently here and in libxml2. No real response
		// has one: refuse, and leave no such differential.
		if strings.ContainsAny(a.Value, "\t\n\r") {
			return fail(Malformed, "white space control character in attribute %s", quote(a.FullKey()))
		}
		switch {
		case a.Space == "xmlns":
			if a.Key == "xml" || a.Key == "xmlns" || a.Value == "" {
				return fail(Malformed, "reserved or empty namespace declaration %s", quote(a.FullKey()))
			}
			if !declared {
				// Copy before appending: the caller's scope must not see it.
				scope = append(scope[:len(scope):len(scope)], nsDecl{a.Key, a.Value})
				declared = true
			} else {
				scope = append(scope, nsDecl{a.Key, a.Value})
			}
		case a.Space == "" && a.Key == "xmlns":
			// No real producer uses a default namespace, and default-namespace
			// handling is where canonicalizers differ: keep it out.
			return fail(Malformed, "default namespace declaration")
		case a.Space != "":
			// Prefixed attributes (xml:lang, xml:space, foo:Id) are not in the
			// profile; xml:* would also be inherited by inclusive C14N, which
			// the detached canonicalisation does not do.
			return fail(UnexpectedAttribute, "%s on %s", quote(a.FullKey()), quote(el.FullTag()))
		case strings.EqualFold(a.Key, "id"):
			// Id, ID, id: every spelling that some resolver treats as an ID.
			if p.ids == nil {
				p.ids = make(map[string]*etree.Element, 4)
			}
			if _, dup := p.ids[a.Value]; dup {
				return fail(DuplicateID, "Id %s occurs twice", quote(a.Value))
			}
			p.ids[a.Value] = el
		}
	}
	ns, ok := lookupNS(scope, el.Space)
	if !ok {
		return fail(Malformed, "undeclared prefix on %s", quote(el.FullTag()))
	}
	switch {
	case ns == NSDSig && el.Tag == "Signature":
		p.signatures = append(p.signatures, el)
	case ns == NSDSig && el.Tag == "Object":
		p.objects = append(p.objects, object{el: el})
		inObject = len(p.objects)
	case ns == NSDSig && (el.Tag == "SignatureProperties" || el.Tag == "SignatureProperty"),
		ns == NSOpenOCES && el != p.root:
		if inObject > 0 {
			p.objects[inObject-1].props++
		} else {
			p.strayProps++
		}
	}
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.Element:
			if err := p.walk(t, scope, inObject); err != nil {
				return err
			}
		case *etree.Directive:
			return fail(DTDForbidden, "<!%s>", firstWord(t.Data))
		case *etree.ProcInst:
			return fail(ProcInstForbidden, "<?%s?>", t.Target)
		}
	}
	return nil
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

// checkXMLDecl accepts version 1.0 and, if an encoding is named, UTF-8.
func checkXMLDecl(inst string) error {
	if v, ok := declParam(inst, "version"); !ok || v != "1.0" {
		return fail(Malformed, "XML declaration without version 1.0")
	}
	if enc, ok := declParam(inst, "encoding"); ok && !strings.EqualFold(enc, "UTF-8") {
		return fail(Malformed, "encoding %s", quote(enc))
	}
	return nil
}

// declParam reads a pseudo-attribute of the XML declaration.
func declParam(inst, name string) (string, bool) {
	for s := inst; ; {
		i := strings.Index(s, name)
		if i < 0 {
			return "", false
		}
		rest := strings.TrimLeft(s[i+len(name):], " \t\r\n")
		if (i == 0 || strings.ContainsRune(" \t\r\n", rune(s[i-1]))) && strings.HasPrefix(rest, "=") {
			rest = strings.TrimLeft(rest[1:], " \t\r\n")
			if rest == "" || (rest[0] != '"' && rest[0] != '\'') {
				return "", false
			}
			end := strings.IndexByte(rest[1:], rest[0])
			if end < 0 {
				return "", false
			}
			return rest[1 : 1+end], true
		}
		s = s[i+len(name):]
	}
}

func firstWord(s string) string {
	if i := strings.IndexAny(s, " \t\r\n["); i >= 0 {
		s = s[:i]
	}
	return quote(s)
}
