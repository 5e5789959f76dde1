package xmldsig

import (
	"testing"
)

var validFixtures = []string{"XMLDSigMessage-POCES.xml", "XMLDSigMessage-POCES-encoding-base64.xml", "XMLDSigMessage-MOCES.xml"}

// FuzzVerify: arbitrary bytes never panic Verify; a document that verifies is
// one of the real responses in canonical form (its canonical SignedInfo and
// Object, and so its properties, are exactly those of a fixture: no mutation
// makes other content verify); and bulk-text elision never changes a tree.
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
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		o := Options{}.withDefaults()
		if d1, ok := parseElided(doc, o); ok {
			d2, err := parsePlain(doc, o)
			if err != nil {
				t.Fatalf("elided parse succeeded where the plain one fails: %v", err)
			}
			s1, _ := d1.WriteToString()
			s2, _ := d2.WriteToString()
			if s1 != s2 {
				t.Fatalf("elision changed the tree:\n%s\n%s", s1, s2)
			}
		}
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
