package xmldsig

import (
	"testing"
)

var validFixtures = []string{"XMLDSigMessage-POCES.xml", "XMLDSigMessage-POCES-encoding-base64.xml", "XMLDSigMessage-MOCES.xml"}

// FuzzVerify: arbitrary bytes never panic Verify; a document that verifies is
// one of the real responses in canonical form (its canonical SignedInfo and
// Object, and so its properties, are exactly those of a fixture: no mutation
// makes other content verify); and whatever our reader and profile walk
// accept, encoding/xml accepts too, with the same canonical form of every
// element under goxmldsig's canonicalizer (agreeWithOracle).
func FuzzVerify(f *testing.F) {
	type known struct {
		si, obj string
		props   []Property
	}
	var valid []known
	for _, name := range append(validFixtures, "XMLDSigMessage-MOCES-expired.xml") {
		doc := fixture(f, name)
		f.Add(doc)
		if s, err := Verify(doc, Options{}); err == nil {
			valid = append(valid, known{string(s.SignedInfo), string(s.Object), s.Properties})
		}
	}
	if len(valid) != len(validFixtures) {
		f.Fatal("a fixture does not verify")
	}
	for _, s := range []string{
		`<a>` + longB64 + `</a>`,
		`<a><!--x>` + longB64 + `<y--></a>`,
		`<a><![CDATA[>` + longB64 + `<]]></a>`,
		`<a b=">` + longB64 + `<"></a>`,
		`<a>>` + longB64 + `<b/>` + longB64 + `</a>`,
		`<?xml version="1.0"?><a><?p >` + longB64 + `<?></a>`,
		`<a>x@0@y</a>`,
		`<?xml version='1.0' standalone="no"?>` + "\n" + `<a b='x' c="&#x41;&lt;"><!--c--><![CDATA[]]]]><x/><?p?></a>`,
		"<a>&#13;&#10;\r\n\r</a><!-- -->",
		`<a:b xmlns:a="urn:a" xmlns:c="urn:c"><c:d xmlns:a="urn:a" xmlns:c="urn:x" z="&lt;&amp;&quot;>" y='"'>t&#xD;&#13;&gt;<![CDATA[<&>]]>` + "\r\n" + `</c:d></a:b>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		agreeWithOracle(t, doc)
		s, err := Verify(doc, Options{})
		if err != nil {
			if reasonOf(err) == 0 {
				t.Fatalf("an error without a Reason: %v", err)
			}
			return
		}
		for _, k := range valid {
			if string(s.SignedInfo) == k.si && string(s.Object) == k.obj {
				if len(s.Properties) != len(k.props) {
					t.Fatal("same canonical Object, other properties")
				}
				for i := range k.props {
					if s.Properties[i] != k.props[i] {
						t.Fatalf("same canonical Object, property %d differs", i)
					}
				}
				return
			}
		}
		t.Fatalf("a document verified that is no fixture in canonical form:\n%s", doc)
	})
}

const longB64 = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3ODk+/w==\nQUJD"
