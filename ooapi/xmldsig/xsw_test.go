package xmldsig

import (
	"encoding/base64"
	"strings"
	"testing"
)

// The XML-signature-wrapping suite. Each attack is an edit of a real
// response (or, for checks that sit behind signature verification, of a
// response re-signed with a test key), and each must be refused with its
// own Reason.

const (
	sigOpen  = `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Id="signature">`
	objOpen  = `<ds:Object xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:openoces="http://www.openoces.org/2006/07/signature#" Id="ToBeSigned">`
	rootEnd  = `</ds:Signature></openoces:signature>`
	refOpen  = `<ds:Reference URI="#ToBeSigned">`
	kiOpen   = "<ds:KeyInfo>\n"
	issuer   = "TmV0cyBDdXN0b21lciBEZW1v" // base64("Nets Customer Demo")
	evilProp = `<ds:SignatureProperty Target="signature"><openoces:Name>RequestIssuer</openoces:Name><openoces:Value Encoding="xml" VisibleToSigner="yes">Evil Corp</openoces:Value></ds:SignatureProperty>`
)

// xswCase is one attack: an edit of a base document and the reason it must get.
type xswCase struct {
	name string
	edit func(t *testing.T, doc string) string
	want Reason
}

func runCases(t *testing.T, base string, cases []xswCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := tc.edit(t, base)
			if doc == base {
				t.Fatal("the edit changed nothing")
			}
			s, err := Verify([]byte(doc), Options{})
			if got := reasonOf(err); got != tc.want {
				t.Fatalf("got %v (%v), want %v", got, err, tc.want)
			}
			if (s == nil) != (err != nil) {
				t.Fatal("a result next to an error, or neither")
			}
		})
	}
}

// forgedObject is the signed Object with RequestIssuer changed, under id.
func forgedObject(t *testing.T, doc, id string) string {
	obj := between(t, doc, "<ds:Object ", "</ds:Object>")
	f := replaceOnce(t, obj, issuer, base64.StdEncoding.EncodeToString([]byte("Evil Corp")))
	return replaceOnce(t, f, `Id="ToBeSigned"`, id)
}

func signedObject(t *testing.T, doc string) string {
	return between(t, doc, "<ds:Object ", "</ds:Object>")
}

// TestXSWWrapping: moved, duplicated and nested Objects and Signatures,
// Reference retargeting, duplicate Ids, properties outside the signed Object.
func TestXSWWrapping(t *testing.T) {
	base := string(fixture(t, "XMLDSigMessage-POCES.xml"))
	runCases(t, base, []xswCase{
		// (1) a second Object with the same Id, before / after the signed one.
		{"forged Object before the signed one, same Id", func(t *testing.T, d string) string {
			obj := signedObject(t, d)
			return replaceOnce(t, d, obj, forgedObject(t, d, `Id="ToBeSigned"`)+"\n"+obj)
		}, DuplicateID},
		{"forged Object after the signed one, same Id", func(t *testing.T, d string) string {
			obj := signedObject(t, d)
			return replaceOnce(t, d, obj, obj+"\n"+forgedObject(t, d, `Id="ToBeSigned"`))
		}, DuplicateID},
		// (2) the signed Object moved out of the Signature, a forged one in place.
		{"signed Object moved to the root, forged in place with the same Id", func(t *testing.T, d string) string {
			obj := signedObject(t, d)
			d = replaceOnce(t, d, obj, forgedObject(t, d, `Id="ToBeSigned"`))
			return replaceOnce(t, d, rootEnd, "</ds:Signature>"+obj+"</openoces:signature>")
		}, DuplicateID},
		{"signed Object moved to the root, forged in place with another Id", func(t *testing.T, d string) string {
			obj := signedObject(t, d)
			d = replaceOnce(t, d, obj, forgedObject(t, d, `Id="Forged"`))
			return replaceOnce(t, d, rootEnd, "</ds:Signature>"+obj+"</openoces:signature>")
		}, ObjectMisplaced},
		{"signed Object hidden in an extension element, forged in place", func(t *testing.T, d string) string {
			obj := signedObject(t, d)
			d = replaceOnce(t, d, obj, forgedObject(t, d, `Id="Forged"`))
			return replaceOnce(t, d, rootEnd, "</ds:Signature><openoces:Extensions>"+obj+"</openoces:Extensions></openoces:signature>")
		}, ObjectMisplaced},
		{"forged Object wraps the signed one", func(t *testing.T, d string) string {
			obj := signedObject(t, d)
			f := forgedObject(t, d, `Id="Wrapper"`)
			f = replaceOnce(t, f, "</ds:SignatureProperties></ds:Object>", "</ds:SignatureProperties>"+obj+"</ds:Object>")
			return replaceOnce(t, d, obj, f)
		}, ObjectMisplaced},
		{"signed Object nested in a property value of the forged one", func(t *testing.T, d string) string {
			obj := signedObject(t, d)
			f := forgedObject(t, d, `Id="Forged"`)
			f = replaceOnce(t, f, ">logon<", ">logon"+obj+"<")
			return replaceOnce(t, d, obj, f)
		}, ObjectMisplaced},
		{"signed Object inside KeyInfo, forged in place", func(t *testing.T, d string) string {
			obj := signedObject(t, d)
			d = replaceOnce(t, d, obj, forgedObject(t, d, `Id="Forged"`))
			return replaceOnce(t, d, kiOpen, kiOpen+obj)
		}, ObjectMisplaced},
		// (3) a second Signature: wrapping, sibling, nested in the Object.
		{"second Signature wrapping the first", func(t *testing.T, d string) string {
			d = replaceOnce(t, d, sigOpen, `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Id="outer">`+sigOpen)
			return replaceOnce(t, d, rootEnd, "</ds:Signature>"+rootEnd)
		}, NotOneSignature},
		{"second Signature as a sibling", func(t *testing.T, d string) string {
			sig := between(t, d, sigOpen, "</ds:Signature>")
			return replaceOnce(t, d, rootEnd, "</ds:Signature>"+strings.NewReplacer(`Id="signature"`, `Id="s2"`, `Id="ToBeSigned"`, `Id="T2"`).Replace(sig)+"</openoces:signature>")
		}, NotOneSignature},
		{"second Signature nested in the signed Object", func(t *testing.T, d string) string {
			return replaceOnce(t, d, "</ds:SignatureProperties></ds:Object>", `</ds:SignatureProperties><ds:Signature Id="inner"></ds:Signature></ds:Object>`)
		}, NotOneSignature},
		{"second Signature under another prefix", func(t *testing.T, d string) string {
			return replaceOnce(t, d, rootEnd, `</ds:Signature><x:Signature xmlns:x="http://www.w3.org/2000/09/xmldsig#"></x:Signature></openoces:signature>`)
		}, NotOneSignature},
		{"the Signature wrapped below the root", func(t *testing.T, d string) string {
			d = replaceOnce(t, d, sigOpen, "<wrap>"+sigOpen)
			return replaceOnce(t, d, rootEnd, "</ds:Signature></wrap></openoces:signature>")
		}, SignatureMisplaced},
		// (4) the Reference's Id on an element that is not the Object.
		{"Reference Id moved to a SignatureProperty", func(t *testing.T, d string) string {
			d = replaceOnce(t, d, `Id="ToBeSigned"`, `Id="Moved"`)
			return strings.Replace(d, `<ds:SignatureProperty Target="signature">`, `<ds:SignatureProperty Target="signature" Id="ToBeSigned">`, 1)
		}, ReferenceTarget},
		{"Reference Id moved to the Signature", func(t *testing.T, d string) string {
			d = replaceOnce(t, d, `Id="ToBeSigned"`, `Id="Moved"`)
			return replaceOnce(t, d, `Id="signature"`, `Id="ToBeSigned"`)
		}, ReferenceTarget},
		{"Reference URI as an XPointer", func(t *testing.T, d string) string {
			return replaceOnce(t, d, refOpen, `<ds:Reference URI="#xpointer(id('ToBeSigned'))">`)
		}, ReferenceTarget},
		{"Reference URI empty (the whole document)", func(t *testing.T, d string) string {
			return replaceOnce(t, d, refOpen, `<ds:Reference URI="">`)
		}, ReferenceTarget},
		{"two References", func(t *testing.T, d string) string {
			ref := between(t, d, refOpen, "</ds:Reference>")
			return replaceOnce(t, d, ref, ref+"\n"+ref)
		}, NotOneReference},
		{"no Reference", func(t *testing.T, d string) string {
			return replaceOnce(t, d, between(t, d, refOpen, "</ds:Reference>\n"), "")
		}, NotOneReference},
		// (5) duplicate Ids on other element types, in every spelling.
		{"Signature Id equal to the Object's", func(t *testing.T, d string) string {
			return replaceOnce(t, d, `Id="signature"`, `Id="ToBeSigned"`)
		}, DuplicateID},
		{"ID spelling on a SignatureProperty", func(t *testing.T, d string) string {
			return strings.Replace(d, `<ds:SignatureProperty Target="signature">`, `<ds:SignatureProperty ID="ToBeSigned" Target="signature">`, 1)
		}, DuplicateID},
		{"id spelling on the root", func(t *testing.T, d string) string {
			return replaceOnce(t, d, `version="0.1"`, `version="0.1" id="ToBeSigned"`)
		}, DuplicateID},
		{"a duplicate of an unreferenced Id", func(t *testing.T, d string) string {
			return strings.Replace(d, "<ds:X509Data>", `<ds:X509Data Id="x">`, 2)
		}, DuplicateID},
		// (6) properties outside the signed Object.
		{"second, unreferenced Object with forged properties", func(t *testing.T, d string) string {
			obj := signedObject(t, d)
			return replaceOnce(t, d, obj, obj+"\n"+forgedObject(t, d, `Id="Evil"`))
		}, PropertyOutsideObject},
		{"a property in KeyInfo", func(t *testing.T, d string) string {
			return replaceOnce(t, d, kiOpen, kiOpen+evilProp)
		}, PropertyOutsideObject},
		{"SignatureProperties under the root", func(t *testing.T, d string) string {
			return replaceOnce(t, d, rootEnd, `</ds:Signature><ds:SignatureProperties xmlns:ds="http://www.w3.org/2000/09/xmldsig#">`+evilProp+"</ds:SignatureProperties></openoces:signature>")
		}, PropertyOutsideObject},
		{"an openoces element in SignedInfo", func(t *testing.T, d string) string {
			return replaceOnce(t, d, "</ds:Reference>\n", "</ds:Reference>\n<openoces:Name>RequestIssuer</openoces:Name>")
		}, PropertyOutsideObject},
		{"a property hidden in an Object bound to another namespace", func(t *testing.T, d string) string {
			obj := signedObject(t, d)
			f := replaceOnce(t, forgedObject(t, d, `Id="Evil"`), `<ds:Object xmlns:ds="http://www.w3.org/2000/09/xmldsig#"`, `<ds:Object xmlns:ds="urn:not-dsig"`)
			return replaceOnce(t, d, obj, obj+f)
		}, PropertyOutsideObject},
		{"an empty second Object", func(t *testing.T, d string) string {
			obj := signedObject(t, d)
			return replaceOnce(t, d, obj, obj+`<ds:Object Id="Attachment"></ds:Object>`)
		}, UnsignedObject},
	})
}

// TestXSWResigned covers the checks behind signature verification, with an
// attacker who can sign (our test key): the document verifies
// cryptographically and must still be refused.
func TestXSWResigned(t *testing.T) {
	p := getPKI(t)
	base := ourDoc(t)
	resigned := func(edit func(t *testing.T, d string) string) func(t *testing.T, d string) string {
		return func(t *testing.T, d string) string { return string(resign(t, edit(t, d), p.userKey)) }
	}
	action := `<openoces:Name>action</openoces:Name><openoces:Value Encoding="xml" VisibleToSigner="no">logon</openoces:Value>`
	actionProp := `<ds:SignatureProperty Target="signature">` + action + "</ds:SignatureProperty>\n"
	runCases(t, base, []xswCase{
		{"sanity: resigning alone keeps it valid", resigned(func(t *testing.T, d string) string {
			return replaceOnce(t, d, ">logon<", ">sign<")
		}), 0},
		{"URI names the Signature", resigned(func(t *testing.T, d string) string {
			return replaceOnce(t, d, refOpen, `<ds:Reference URI="#signature">`)
		}), ReferenceTarget},
		{"URI names no element", resigned(func(t *testing.T, d string) string {
			return replaceOnce(t, d, refOpen, `<ds:Reference URI="#Nowhere">`)
		}), ReferenceTarget},
		{"duplicate property name", resigned(func(t *testing.T, d string) string {
			return replaceOnce(t, d, actionProp, actionProp+actionProp)
		}), DuplicateProperty},
		{"property name differing only in case", resigned(func(t *testing.T, d string) string {
			return replaceOnce(t, d, actionProp, actionProp+strings.Replace(actionProp, ">action<", ">Action<", 1))
		}), DuplicateProperty},
		{"unknown Encoding", resigned(func(t *testing.T, d string) string {
			return replaceOnce(t, d, `Encoding="xml" VisibleToSigner="no">logon`, `Encoding="hex" VisibleToSigner="no">logon`)
		}), BadEncoding},
		{"missing Encoding", resigned(func(t *testing.T, d string) string {
			return replaceOnce(t, d, `Encoding="xml" VisibleToSigner="no">logon`, `VisibleToSigner="no">logon`)
		}), BadEncoding},
		{"base64 value that does not decode", resigned(func(t *testing.T, d string) string {
			return replaceOnce(t, d, issuer, "not*base64")
		}), BadEncoding},
		{"VisibleToSigner neither yes nor no", resigned(func(t *testing.T, d string) string {
			return replaceOnce(t, d, `VisibleToSigner="no">logon`, `VisibleToSigner="maybe">logon`)
		}), BadProperty},
		{"Target naming another signature", resigned(func(t *testing.T, d string) string {
			return replaceOnce(t, d, `<ds:SignatureProperty Target="signature">`+action, `<ds:SignatureProperty Target="other">`+action)
		}), BadProperty},
		{"JS-client and OpenSign Targets mixed", resigned(func(t *testing.T, d string) string {
			return replaceOnce(t, d, `<ds:SignatureProperty Target="signature">`+action, `<ds:SignatureProperty Target="#signature">`+action)
		}), BadProperty},
		{"empty property name", resigned(func(t *testing.T, d string) string {
			return replaceOnce(t, d, ">action<", "><")
		}), BadProperty},
		{"extra element in a SignatureProperty", resigned(func(t *testing.T, d string) string {
			return replaceOnce(t, d, action, action+`<openoces:Value Encoding="xml" VisibleToSigner="no">sign</openoces:Value>`)
		}), UnexpectedElement},
		{"element inside a Value", resigned(func(t *testing.T, d string) string {
			return replaceOnce(t, d, ">logon<", "><b>logon</b><")
		}), UnexpectedElement},
		{"unknown attribute on a Value", resigned(func(t *testing.T, d string) string {
			return replaceOnce(t, d, `VisibleToSigner="no">logon`, `VisibleToSigner="no" Lang="da">logon`)
		}), UnexpectedAttribute},
		{"text between properties", resigned(func(t *testing.T, d string) string {
			return replaceOnce(t, d, actionProp, actionProp+"action=sign\n")
		}), Malformed},
		{"no properties", resigned(func(t *testing.T, d string) string {
			props := between(t, d, "<ds:SignatureProperties>", "</ds:SignatureProperties>")
			return replaceOnce(t, d, props, "<ds:SignatureProperties></ds:SignatureProperties>")
		}), MissingElement},
		{"an extra element in the Object", resigned(func(t *testing.T, d string) string {
			return replaceOnce(t, d, "</ds:SignatureProperties></ds:Object>", "</ds:SignatureProperties><ds:Manifest></ds:Manifest></ds:Object>")
		}), UnexpectedElement},
	})
}
