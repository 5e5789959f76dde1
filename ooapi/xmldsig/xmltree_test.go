package xmldsig

import (
	"strings"
	"testing"
)

// TestReaderRefuses: what the reader and the profile walk refuse, and why.
// Each document is wrong in exactly one way.
func TestReaderRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      Reason
	}{
		// Well-formedness.
		{"unclosed element", `<a>`, Malformed},
		{"mismatched end tag", `<a></b>`, Malformed},
		{"end tag with another prefix", `<p:a xmlns:p="urn:p"></q:a>`, Malformed},
		{"end tag alone", `</a>`, Malformed},
		{"no white space between attributes", `<a b="1"c="2"/>`, Malformed},
		{"unquoted attribute", `<a b=1/>`, Malformed},
		{"attribute without value", `<a b/>`, Malformed},
		{"'<' in an attribute value", `<a b="<"/>`, Malformed},
		{"unterminated attribute value", `<a b="1/>`, Malformed},
		{"'/' in a start tag", `<a / >`, Malformed},
		{"'<' at the end", `<a/><`, Malformed},
		{"name starting with a digit", `<1a/>`, Malformed},
		{"two colons in a name", `<a:b:c xmlns:a="urn:a"/>`, Malformed},
		{"empty prefix", `<:a/>`, Malformed},
		{"empty local name", `<a: xmlns:a="urn:a"/>`, Malformed},
		{"non-ASCII name", "<\u00e6/>", Malformed},
		{"two roots", `<a/><b/>`, Malformed},
		{"no root", "<!-- x --> ", Malformed},
		{"text before the root", `x<a/>`, Malformed},
		{"reference outside the root", `<a/>&amp;`, Malformed},
		{"white space by reference outside the root", `<a/>&#32;`, Malformed},
		{"CDATA outside the root", `<![CDATA[x]]><a/>`, Malformed},
		{"unterminated CDATA", `<a><![CDATA[x</a>`, Malformed},
		{"unterminated comment", `<a><!-- x</a>`, Malformed},
		{"double hyphen in a comment", `<a><!-- a -- b --></a>`, Malformed},
		{"comment ending in a hyphen", `<a><!-- a ---></a>`, Malformed},
		{"']]>' in text", `<a>]]></a>`, Malformed},
		{"unterminated PI", `<a><?p x</a>`, Malformed},
		{"PI target with a colon", `<?p:i?><a/>`, Malformed},
		// Characters and references.
		{"undeclared entity", `<a>&nbsp;</a>`, Malformed},
		{"bare ampersand", `<a>fish & chips</a>`, Malformed},
		{"unterminated reference", `<a>&amp</a>`, Malformed},
		{"reference to NUL", `<a>&#0;</a>`, Malformed},
		{"reference to a control character", `<a>&#x1F;</a>`, Malformed},
		{"reference to a surrogate", `<a>&#xD800;</a>`, Malformed},
		{"reference beyond Unicode", `<a>&#x110000;</a>`, Malformed},
		{"huge reference", `<a>&#99999999999999999999;</a>`, Malformed},
		{"upper-case X in a reference", `<a>&#X41;</a>`, Malformed},
		{"empty reference", `<a>&#;</a>`, Malformed},
		{"letters in a decimal reference", `<a>&#1a;</a>`, Malformed},
		{"control character in text", "<a>\x01</a>", Malformed},
		{"control character in an attribute", "<a b=\"\x1b\"/>", Malformed},
		{"control character in a comment", "<a><!--\x00--></a>", Malformed},
		{"control character in CDATA", "<a><![CDATA[\x0c]]></a>", Malformed},
		{"control character in a PI", "<a><?p \x07?></a>", Malformed},
		{"invalid UTF-8 in text", "<a>\xc3\x28</a>", Malformed},
		{"invalid UTF-8 in an attribute", "<a b=\"\xff\"/>", Malformed},
		{"invalid UTF-8 in a comment", "<a><!--\xe2\x82--></a>", Malformed},
		{"U+FFFE", "<a>\xef\xbf\xbe</a>", Malformed},
		{"a byte-order mark", "\xef\xbb\xbf<a/>", Malformed},
		// The XML declaration.
		{"XML 1.1", `<?xml version="1.1"?><a/>`, Malformed},
		{"no version", `<?xml encoding="UTF-8"?><a/>`, Malformed},
		{"encoding before version", `<?xml encoding="UTF-8" version="1.0"?><a/>`, Malformed},
		{"another encoding", `<?xml version="1.0" encoding="UTF-16"?><a/>`, Malformed},
		{"standalone maybe", `<?xml version="1.0" standalone="maybe"?><a/>`, Malformed},
		{"unknown pseudo-attribute", `<?xml version="1.0" foo="bar"?><a/>`, Malformed},
		{"unclosed declaration", `<?xml version="1.0"<a/>`, Malformed},
		{"a second declaration", `<?xml version="1.0"?><?xml version="1.0"?><a/>`, ProcInstForbidden},
		{"a declaration after white space", ` <?xml version="1.0"?><a/>`, ProcInstForbidden},
		// Directives and processing instructions.
		{"DOCTYPE", `<!DOCTYPE a><a/>`, DTDForbidden},
		{"ELEMENT", `<!ELEMENT a ANY><a/>`, DTDForbidden},
		{"a directive inside", `<a><!foo></a>`, DTDForbidden},
		{"DOCTYPE inside a comment", `<a><!-- <!DOCTYPE a> --></a>`, DTDForbidden},
		{"PI before the root", `<?pi?><a/>`, ProcInstForbidden},
		{"PI inside", `<a><?pi x?></a>`, ProcInstForbidden},
		{"PI after the root", `<a/><?pi?>`, ProcInstForbidden},
		// Namespaces and attributes (the profile walk).
		{"undeclared prefix", `<p:a/>`, Malformed},
		{"prefix declared on a sibling only", `<a><b xmlns:p="urn:p"/><p:c/></a>`, Malformed},
		{"default namespace", `<a xmlns="urn:a"/>`, Malformed},
		{"empty default namespace", `<a xmlns=""/>`, Malformed},
		{"undeclaring a prefix", `<a xmlns:p=""/>`, Malformed},
		{"declaring xmlns", `<a xmlns:xmlns="urn:x"/>`, Malformed},
		{"relative namespace URI", `<a xmlns:p="p"/>`, Malformed},
		{"namespace URI without scheme", `<a xmlns:p="//host/x"/>`, Malformed},
		{"xml:lang", `<a xml:lang="da"/>`, UnexpectedAttribute},
		{"prefixed attribute", `<a xmlns:p="urn:p" p:b="1"/>`, UnexpectedAttribute},
		{"duplicate attribute", `<a b="1" b="2"/>`, Malformed},
		{"duplicate declaration", `<a xmlns:p="urn:p" xmlns:p="urn:p"/>`, Malformed},
		{"TAB in an attribute", "<a b=\"x\ty\"/>", Malformed},
		{"LF in an attribute", "<a b=\"x\ny\"/>", Malformed},
		{"CR LF in an attribute", "<a b=\"x\r\ny\"/>", Malformed},
		{"TAB by reference in an attribute", `<a b="x&#9;y"/>`, Malformed},
		{"CR by reference in an attribute", `<a b="x&#xD;y"/>`, Malformed},
		{"nine attributes", `<a a="1" b="1" c="1" d="1" e="1" f="1" g="1" h="1" i="1"/>`, TooComplex},
		{"too deep", strings.Repeat("<a>", 17) + strings.Repeat("</a>", 17), TooDeep},
		{"too deep with empty elements", strings.Repeat("<a>", 16) + "<b/>" + strings.Repeat("</a>", 16), TooDeep},
		{"Id twice", `<a Id="x"><b ID="x"/></a>`, DuplicateID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse([]byte(tc.doc), Options{}.withDefaults())
			if got := reasonOf(err); got != tc.want {
				t.Fatalf("got %v (%v), want %v", got, err, tc.want)
			}
		})
	}
}

// TestCanonicalForms: the canonical form (inclusive C14N 1.0 without
// comments) of the root element of documents the reader accepts, written
// out by hand from the C14N rules; and goxmldsig's canonicalizer over
// encoding/xml's reading agrees.
func TestCanonicalForms(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"attributes sorted, empty element closed",
			`<?xml version='1.0' encoding='utf-8' standalone='yes'?>` + "\n" + `<a:r xmlns:a="urn:a" z="1" b='2'><a:e/></a:r>`,
			`<a:r xmlns:a="urn:a" b="2" z="1"><a:e></a:e></a:r>`},
		{"declarations sorted by prefix, before attributes",
			`<b:r c="3" xmlns:b="urn:b" xmlns:a="urn:a" a="1"/>`,
			`<b:r xmlns:a="urn:a" xmlns:b="urn:b" a="1" c="3"></b:r>`},
		{"a redundant declaration is dropped, a changed one kept",
			`<a:r xmlns:a="urn:a"><a:e xmlns:a="urn:a"/><a:f xmlns:a="urn:b"><a:g xmlns:a="urn:a"/></a:f></a:r>`,
			`<a:r xmlns:a="urn:a"><a:e></a:e><a:f xmlns:a="urn:b"><a:g xmlns:a="urn:a"></a:g></a:f></a:r>`},
		{"unused declarations stay (inclusive C14N)",
			`<r xmlns:u="urn:unused"><s xmlns:v="urn:v"/></r>`,
			`<r xmlns:u="urn:unused"><s xmlns:v="urn:v"></s></r>`},
		{"text escapes, references resolved",
			"<r>&lt;&amp;&gt;\"'&apos;&quot;&#65;&#x42;&#13;&#xa;&#9;\t</r>",
			"<r>&lt;&amp;&gt;\"''\"AB&#xD;\n\t\t</r>"},
		{"line ends normalised in text",
			"<r>a\r\nb\rc\n\r\r\nd</r>",
			"<r>a\nb\nc\n\n\nd</r>"},
		{"CDATA becomes text",
			"<r>x<![CDATA[<&>]\"'\r\n]]>y<![CDATA[]]></r>",
			"<r>x&lt;&amp;&gt;]\"'\ny</r>"},
		{"attribute escapes",
			`<r a="&lt;&amp;&gt;&quot;'" b='"' c="&#x41;&apos;"/>`,
			`<r a="&lt;&amp;>&quot;'" b="&quot;" c="A'"></r>`},
		{"comments left out, text around them joined",
			"<!--c-->\n<r><!--x-->t<!---->u<!--y--></r><!--z-->\n",
			"<r>tu</r>"},
		{"white space inside kept, outside dropped",
			" \n<r>\n <s> </s>\t</r>\n ",
			"<r>\n <s> </s>\t</r>"},
		{"white space inside tags",
			"<r\n a = \"1\"\tb\r\n=\n'2'  ></r \n>",
			`<r a="1" b="2"></r>`},
		{"non-ASCII characters as they are",
			"<r a=\"\u00e6\u00f8\">\u00e5&#x1F600;\U0001F600&#xFFFD;</r>",
			"<r a=\"\u00e6\u00f8\">\u00e5\U0001F600\U0001F600\uFFFD</r>"},
		{"'>' in text and attributes, ']' in text",
			`<r a=">">a>b]c]]d</r>`,
			`<r a=">">a&gt;b]c]]d</r>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parse([]byte(tc.doc), Options{}.withDefaults())
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.t.canonical(p.root)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("canonical form\n got %q\nwant %q", got, tc.want)
			}
			agreeWithOracle(t, []byte(tc.doc))
		})
	}
}

// TestCanonicalSubset: an element below the root carries every namespace in
// scope (sorted), its descendants only what changes.
func TestCanonicalSubset(t *testing.T) {
	doc := `<a:r xmlns:a="urn:a" xmlns:c="urn:c"><x:s xmlns:x="urn:x" xmlns:b="urn:b" Id="s"><a:t xmlns:c="urn:c2" xmlns:x="urn:x"/></x:s></a:r>`
	p, err := parse([]byte(doc), Options{}.withDefaults())
	if err != nil {
		t.Fatal(err)
	}
	s := p.t.nodes[p.root].first
	got, err := p.t.canonical(s)
	if err != nil {
		t.Fatal(err)
	}
	want := `<x:s xmlns:a="urn:a" xmlns:b="urn:b" xmlns:c="urn:c" xmlns:x="urn:x" Id="s"><a:t xmlns:c="urn:c2"></a:t></x:s>`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	agreeWithOracle(t, []byte(doc))
}

// TestCanonicalElementLimit: a subtree of more than maxSignedElements
// elements is not canonicalised.
func TestCanonicalElementLimit(t *testing.T) {
	for n, want := range map[int]Reason{maxSignedElements - 1: 0, maxSignedElements: TooComplex} {
		doc := "<r>" + strings.Repeat("<e/>", n) + "</r>"
		p, err := parse([]byte(doc), Options{}.withDefaults())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.t.canonical(p.root); reasonOf(err) != want {
			t.Errorf("%d elements: %v, want %v", n+1, err, want)
		}
	}
}

// TestVerifyDoesNotAlias: the result does not share memory with the
// caller's document, which the caller may reuse.
func TestVerifyDoesNotAlias(t *testing.T) {
	doc := fixture(t, "XMLDSigMessage-POCES.xml")
	s, err := Verify(doc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	before := s.Properties[2]
	for i := range doc {
		doc[i] = 'X'
	}
	if s.Properties[2] != before || before.Value != "logon" || s.SignatureID != "signature" {
		t.Errorf("the result changed with the input: %+v", s.Properties[2])
	}
}

// TestMayBeSpecial: the word-at-a-time test finds every byte the byte loop
// must see, in every position, next to every kind of neighbour.
func TestMayBeSpecial(t *testing.T) {
	special := func(c byte) bool {
		return c >= 0x80 || (c < 0x20 && c != '\t' && c != '\n') || c == '&' || c == '<' || c == ']'
	}
	for pos := 0; pos < 8; pos++ {
		for c := 0; c < 256; c++ {
			for _, fill := range []byte{'A', '\n', '\t', 0x7f, ' ', '&', 0x1f, 0x0b, 0x09, 0x0a, 0x20, 0x7e, 0x80, 0xff} {
				w := []byte("QUJDREVG")
				for k := range w {
					if k != pos && k%3 == pos%3 {
						w[k] = fill
					}
				}
				w[pos] = byte(c)
				want := false
				for _, b := range w {
					want = want || special(b)
				}
				if got := mayBeSpecial(load64(string(w), 0)); got != want {
					t.Fatalf("%q: got %v, want %v", w, got, want)
				}
			}
		}
	}
}
