package xmldsig

import (
	"testing"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// The independent oracle for our reader and canonicalizer: encoding/xml
// (through etree) and goxmldsig's inclusive C14N 1.0 over the element
// detached with its in-scope namespaces. Verify used exactly this before it
// had a reader of its own; the tests keep it to check that ours agrees.

// oracleReadSettings keep duplicate attributes (etree would silently keep
// the last one), as the profile walk refuses them.
var oracleReadSettings = etree.ReadSettings{PreserveDuplicateAttrs: true}

// oracleCanonical returns goxmldsig's canonical form of el.
func oracleCanonical(el *etree.Element) ([]byte, error) {
	ctx, err := etreeutils.NSBuildParentContext(el)
	if err != nil {
		return nil, err
	}
	det, err := etreeutils.NSDetatch(ctx, el)
	if err != nil {
		return nil, err
	}
	return dsig.MakeC14N10RecCanonicalizer().Canonicalize(det)
}

// oracleRootCanonical parses doc with etree and returns the canonical form
// of its root element.
func oracleRootCanonical(doc []byte) ([]byte, error) {
	d := etree.NewDocument()
	d.ReadSettings = oracleReadSettings
	if err := d.ReadFromBytes(doc); err != nil {
		return nil, err
	}
	return oracleCanonical(d.Root())
}

// agreeWithOracle fails t if our reader and walk accept doc and the oracle
// does not, or if for any of the first elements (in document order) the two
// canonical forms differ.
func agreeWithOracle(t *testing.T, doc []byte) {
	t.Helper()
	p, err := parse(doc, Options{}.withDefaults())
	if err != nil {
		return
	}
	d := etree.NewDocument()
	d.ReadSettings = oracleReadSettings
	if err := d.ReadFromBytes(doc); err != nil {
		t.Fatalf("our reader accepts what encoding/xml refuses (%v):\n%q", err, doc)
	}
	var theirs []*etree.Element
	var collect func(*etree.Element)
	collect = func(el *etree.Element) {
		theirs = append(theirs, el)
		for _, c := range el.ChildElements() {
			collect(c)
		}
	}
	collect(d.Root())
	var ours []int32
	for i := range p.t.nodes {
		if p.t.nodes[i].kind == elementNode {
			ours = append(ours, int32(i))
		}
	}
	if len(ours) != len(theirs) {
		t.Fatalf("%d elements, encoding/xml reads %d:\n%q", len(ours), len(theirs), doc)
	}
	for i := range min(len(ours), 64) {
		want, err := oracleCanonical(theirs[i])
		if err != nil {
			continue // beyond goxmldsig's traversal limit, for one
		}
		got, err := p.t.canonical(ours[i])
		if err != nil {
			if reasonOf(err) == TooComplex {
				continue
			}
			t.Fatalf("element %d: %v\n%q", i, err, doc)
		}
		if string(got) != string(want) {
			t.Fatalf("element %d: canonical forms differ\nours:   %q\noracle: %q\ndocument: %q", i, got, want, doc)
		}
	}
}
