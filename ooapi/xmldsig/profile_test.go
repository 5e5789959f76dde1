package xmldsig

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"regexp"
	"strings"
	"testing"
)

// x509Data returns the ds:X509Data blocks of a document, in order.
func x509Data(t *testing.T, doc string) []string {
	blocks := regexp.MustCompile(`(?s)<ds:X509Data>.*?</ds:X509Data>\n`).FindAllString(doc, -1)
	if len(blocks) == 0 {
		t.Fatal("no X509Data")
	}
	return blocks
}

// x509DataFromPEM wraps a fixture certificate as a ds:X509Data block.
func x509DataFromPEM(t *testing.T, name string) string {
	blk, _ := pem.Decode(fixture(t, name))
	if blk == nil {
		t.Fatalf("%s: no PEM", name)
	}
	return "<ds:X509Data>\n<ds:X509Certificate>\n" + base64.StdEncoding.EncodeToString(blk.Bytes) + "\n</ds:X509Certificate>\n</ds:X509Data>\n"
}

// TestSignedTextEdits (attack 7): comments and white space in signed text.
// Each edit either leaves the canonical form unchanged — and then the result
// is exactly the original's, so the edit is neutral — or changes it and fails
// the digest or the signature. No edit changes a returned value.
func TestSignedTextEdits(t *testing.T) {
	base := string(fixture(t, "XMLDSigMessage-POCES.xml"))
	orig, err := Verify([]byte(base), Options{})
	if err != nil {
		t.Fatal(err)
	}
	value := `<openoces:Value Encoding="xml" VisibleToSigner="no">logon</openoces:Value>`
	for _, tc := range []struct {
		name     string
		old, new string
		want     Reason // 0: neutral, must verify with the original result
	}{
		{"comment splitting a value", ">logon<", ">log<!-- x -->on<", 0},
		{"comment truncating a value (the SAML comment attack)", ">logon<", ">logon<!---->-evil<", DigestMismatch},
		{"comment before a value", ">logon<", "><!--sign-->logon<", 0},
		{"CDATA for a value", ">logon<", "><![CDATA[logon]]><", 0},
		{"character reference in a value", ">logon<", ">&#108;ogon<", 0},
		{"white space after a value", ">logon<", ">logon <", DigestMismatch},
		{"white space between properties", "</ds:SignatureProperty>\n<ds:SignatureProperty Target=\"signature\"><openoces:Name>action", "</ds:SignatureProperty>\n\n<ds:SignatureProperty Target=\"signature\"><openoces:Name>action", DigestMismatch},
		{"attributes of a value reordered", value, `<openoces:Value VisibleToSigner="no" Encoding="xml">logon</openoces:Value>`, 0},
		{"single quotes on attributes", value, `<openoces:Value Encoding='xml' VisibleToSigner='no'>logon</openoces:Value>`, 0},
		{"another prefix for openoces in the Object", value, `<oo:Value xmlns:oo="http://www.openoces.org/2006/07/signature#" Encoding="xml" VisibleToSigner="no">logon</oo:Value>`, DigestMismatch},
		{"comment inside SignedInfo", "</ds:Reference>\n", "</ds:Reference><!-- hello -->\n", 0},
		{"empty-element tags in SignedInfo", `"></ds:CanonicalizationMethod>`, `"/>`, 0},
		{"white space inside SignedInfo", "</ds:Reference>\n", "</ds:Reference>\n\n", SignatureInvalid},
		{"comment inside a certificate", "\nMIIGCTCC", "\n<!--x-->MIIGCTCC", 0},
		{"white space in KeyInfo (unsigned)", kiOpen, kiOpen + " \t\n", 0},
		{"spaces inside a certificate's base64", "\nMIIGCTCC", "\n MIIG CTCC", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := replaceOnce(t, base, tc.old, tc.new)
			s, err := Verify([]byte(doc), Options{})
			if got := reasonOf(err); got != tc.want {
				t.Fatalf("got %v (%v), want %v", got, err, tc.want)
			}
			if err != nil {
				return
			}
			if string(s.SignedInfo) != string(orig.SignedInfo) || string(s.Object) != string(orig.Object) {
				t.Error("a neutral edit changed the canonical form")
			}
			for i, p := range s.Properties {
				if p != orig.Properties[i] {
					t.Errorf("property %d = %+v, want %+v", i, p, orig.Properties[i])
				}
			}
		})
	}
}

// TestProfileRejections: certificates (8), DTDs and entities (9), Transforms
// (10), algorithms (11), the root (12), and the rest of the profile.
func TestProfileRejections(t *testing.T) {
	base := string(fixture(t, "XMLDSigMessage-POCES.xml"))
	const (
		c14n   = `<ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"></ds:CanonicalizationMethod>`
		sigm   = `<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"></ds:SignatureMethod>`
		digm   = `<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"></ds:DigestMethod>`
		rootOp = `<openoces:signature xmlns:openoces="http://www.openoces.org/2006/07/signature#" version="0.1">`
	)
	repl := func(old, new string) func(t *testing.T, d string) string {
		return func(t *testing.T, d string) string { return replaceOnce(t, d, old, new) }
	}
	runCases(t, base, []xswCase{
		// (8) KeyInfo.
		{"an extra end-entity certificate", func(t *testing.T, d string) string {
			return replaceOnce(t, d, kiOpen, kiOpen+x509DataFromPEM(t, "nemid-POCES-personal-valid.cert.pem"))
		}, AmbiguousSigner},
		{"the leaf twice", func(t *testing.T, d string) string {
			leaf := x509Data(t, d)[1]
			return replaceOnce(t, d, leaf, leaf+leaf)
		}, AmbiguousSigner},
		{"the leaf removed", func(t *testing.T, d string) string {
			return replaceOnce(t, d, x509Data(t, d)[1], "")
		}, NoSignerCertificate},
		{"the leaf replaced by another end-entity certificate", func(t *testing.T, d string) string {
			return replaceOnce(t, d, x509Data(t, d)[1], x509DataFromPEM(t, "nemid-POCES-personal-valid.cert.pem"))
		}, SignatureInvalid},
		{"a certificate that is not DER", repl("\nMIIGCTCC", "\nAAAAMIIGCTCC"), BadCertificate},
		{"a certificate that is not base64", repl("\nMIIGCTCC", "\n*MIIGCTCC"), BadCertificate},
		{"a KeyValue in KeyInfo", repl(kiOpen, kiOpen+"<ds:KeyValue></ds:KeyValue>"), UnexpectedElement},
		{"an X509IssuerSerial in X509Data", repl("<ds:X509Data>\n<ds:X509Certificate>\nMIIGCTCC", "<ds:X509Data>\n<ds:X509IssuerSerial></ds:X509IssuerSerial><ds:X509Certificate>\nMIIGCTCC"), UnexpectedElement},
		{"no KeyInfo", func(t *testing.T, d string) string {
			return replaceOnce(t, d, between(t, d, kiOpen, "</ds:KeyInfo>\n"), "")
		}, NoSignerCertificate},
		// (9) DTDs, entities, processing instructions, encodings.
		{"billion laughs", repl(`<?xml version="1.0" encoding="UTF-8" ?>`, `<?xml version="1.0" encoding="UTF-8" ?><!DOCTYPE openoces:signature [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>`), DTDForbidden},
		{"an undeclared entity", repl(`>logon<`, `>&xxe;<`), Malformed},
		{"external entity with its DOCTYPE", func(t *testing.T, d string) string {
			d = replaceOnce(t, d, `<?xml version="1.0" encoding="UTF-8" ?>`, `<?xml version="1.0" encoding="UTF-8" ?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>`)
			return replaceOnce(t, d, ">logon<", ">&xxe;<")
		}, DTDForbidden},
		{"a directive inside the root", repl(rootOp, rootOp+`<!ATTLIST ds:Object Id ID #IMPLIED>`), DTDForbidden},
		{"a lower-case doctype", repl(`<?xml version="1.0" encoding="UTF-8" ?>`, `<?xml version="1.0" encoding="UTF-8" ?><!doctype x>`), DTDForbidden},
		{"a stylesheet PI before the root", repl(rootOp, `<?xml-stylesheet href="x.xsl"?>`+rootOp), ProcInstForbidden},
		{"a PI inside the signed Object", repl(">logon<", "><?php x?>logon<"), ProcInstForbidden},
		{"an XML declaration naming another encoding", repl(`encoding="UTF-8"`, `encoding="ISO-8859-1"`), Malformed},
		{"an XML declaration for XML 1.1", repl(`version="1.0"`, `version="1.1"`), Malformed},
		{"bytes that are not UTF-8", repl(">logon<", ">logon\xff<"), Malformed},
		// (10) Transforms.
		{"an enveloped-signature Transform", repl(refOpen+"\n", refOpen+"\n"+`<ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"></ds:Transform></ds:Transforms>`+"\n"), TransformNotAllowed},
		{"an XPath Transform", repl(refOpen+"\n", refOpen+"\n"+`<ds:Transforms><ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"><ds:XPath>not(ancestor-or-self::ds:Object)</ds:XPath></ds:Transform></ds:Transforms>`+"\n"), TransformNotAllowed},
		{"an XSLT Transform", repl(refOpen+"\n", refOpen+"\n"+`<ds:Transforms><ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116"></ds:Transform></ds:Transforms>`+"\n"), TransformNotAllowed},
		// (11) Algorithms.
		{"RSA-SHA1", repl(sigm, `<ds:SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#rsa-sha1"></ds:SignatureMethod>`), AlgorithmNotAllowed},
		{"HMAC-SHA256", repl(sigm, `<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"></ds:SignatureMethod>`), AlgorithmNotAllowed},
		{"SHA-1 digest", repl(digm, `<ds:DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"></ds:DigestMethod>`), AlgorithmNotAllowed},
		{"exclusive C14N", repl(c14n, `<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"></ds:CanonicalizationMethod>`), AlgorithmNotAllowed},
		{"C14N with comments", repl(c14n, `<ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"></ds:CanonicalizationMethod>`), AlgorithmNotAllowed},
		{"an unknown algorithm", repl(sigm, `<ds:SignatureMethod Algorithm="urn:example:none"></ds:SignatureMethod>`), AlgorithmNotAllowed},
		{"no Algorithm", repl(digm, `<ds:DigestMethod></ds:DigestMethod>`), AlgorithmNotAllowed},
		{"HMACOutputLength under an allowed method", repl(sigm, strings.Replace(sigm, "></", "><ds:HMACOutputLength>80</ds:HMACOutputLength></", 1)), UnexpectedElement},
		{"InclusiveNamespaces under the C14N method", repl(c14n, strings.Replace(c14n, "></", "><ec:InclusiveNamespaces xmlns:ec=\"http://www.w3.org/2001/10/xml-exc-c14n#\" PrefixList=\"ds\"></ec:InclusiveNamespaces></", 1)), UnexpectedElement},
		// (12) The root.
		{"the OCES I root namespace", repl(`xmlns:openoces="http://www.openoces.org/2006/07/signature#" version`, `xmlns:openoces="http://www.openoces.org/2003/10/signature#" version`), WrongRoot},
		{"another root name", func(t *testing.T, d string) string {
			d = replaceOnce(t, d, "<openoces:signature ", "<openoces:Signature ")
			return replaceOnce(t, d, "</openoces:signature>", "</openoces:Signature>")
		}, WrongRoot},
		{"ds:Signature as the root", func(t *testing.T, d string) string {
			d = replaceOnce(t, d, rootOp, "")
			return replaceOnce(t, d, "</openoces:signature>", "")
		}, WrongRoot},
		// The rest of the profile.
		{"a duplicate attribute", repl(`Id="signature"`, `Id="signature" Id="other"`), Malformed},
		{"a default namespace", repl(`version="0.1"`, `version="0.1" xmlns="urn:x"`), Malformed},
		{"an undeclared prefix", repl(kiOpen, kiOpen+"<zz:X509Data></zz:X509Data>"), Malformed},
		{"redeclaring the xml prefix", repl(`version="0.1"`, `version="0.1" xmlns:xml="urn:x"`), Malformed},
		{"xml:lang on the Object", repl(`Id="ToBeSigned">`, `Id="ToBeSigned" xml:lang="da">`), UnexpectedAttribute},
		{"MimeType on the Object", repl(`Id="ToBeSigned">`, `Id="ToBeSigned" MimeType="text/plain">`), UnexpectedAttribute},
		{"an attribute on SignatureValue", repl("<ds:SignatureValue>", `<ds:SignatureValue Id="sv">`), UnexpectedAttribute},
		{"an attribute on the root", repl(`version="0.1"`, `version="0.1" foo="bar"`), UnexpectedAttribute},
		{"a Type on the Reference", repl(refOpen, `<ds:Reference URI="#ToBeSigned" Type="http://www.w3.org/2000/09/xmldsig#Object">`), UnexpectedAttribute},
		{"too many attributes", repl(`version="0.1"`, `version="0.1" a="1" b="1" c="1" d="1" e="1" f="1" g="1" h="1"`), TooComplex},
		{"a second SignedInfo", func(t *testing.T, d string) string {
			si := between(t, d, "<ds:SignedInfo ", "</ds:SignedInfo>")
			return replaceOnce(t, d, si, si+si)
		}, UnexpectedElement},
		{"a Manifest in the Signature", repl(kiOpen, "<ds:Manifest></ds:Manifest>"+kiOpen), UnexpectedElement},
		{"text in the Signature", repl(kiOpen, "hello"+kiOpen), Malformed},
		{"a second element under the root", repl(rootEnd, "</ds:Signature><extra></extra></openoces:signature>"), UnexpectedElement},
		{"a second root", func(t *testing.T, d string) string { return d + "<x></x>" }, Malformed},
		{"text after the root", func(t *testing.T, d string) string { return d + "x" }, Malformed},
		{"no SignatureValue", func(t *testing.T, d string) string {
			return replaceOnce(t, d, between(t, d, "<ds:SignatureValue>", "</ds:SignatureValue>\n"), "")
		}, UnexpectedElement},
		{"a SignatureValue that is not base64", repl("<ds:SignatureValue>\n", "<ds:SignatureValue>\n*"), Malformed},
		{"a Signature without Id", repl(` Id="signature"`, ""), MissingElement},
		{"an empty document", func(t *testing.T, d string) string { return " " }, Malformed},
		{"a character reference for LF in an attribute value", repl(`Id="ToBeSigned">`, `Id="ToBeSigned&#10;">`), Malformed},
		{"a literal TAB in an attribute value", repl(`version="0.1"`, "version=\"0.1\t\""), Malformed},
		{"a Signature Id that is no name", repl(`Id="signature"`, `Id="#signature"`), MissingElement},
		{"an Object of more than 1000 elements", repl("</ds:SignatureProperties></ds:Object>", "</ds:SignatureProperties>"+strings.Repeat("<ds:Manifest></ds:Manifest>", 1000)+"</ds:Object>"), TooComplex},
	})
}

// TestSignerKey: the signer's key must be RSA of at least MinRSABits.
func TestSignerKey(t *testing.T) {
	p := getPKI(t)
	ec := ecKey(t)
	ecLeaf := makeCert(t, "EC User", p.ica, p.caKey, &ec.PublicKey, false)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	smallLeaf := makeCert(t, "Small User", p.ica, p.caKey, &small.PublicKey, false)
	for _, leaf := range []*x509.Certificate{ecLeaf, smallLeaf} {
		doc, err := BuildJSClientResponse(logonProps(), []*x509.Certificate{p.ica, leaf, p.root}, signWith(small))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Verify(doc, Options{}); reasonOf(err) != WeakKey {
			t.Errorf("%s: %v", leaf.Subject.CommonName, err)
		}
	}
	// With the limit lowered, the 1024-bit signer verifies: the check is the limit.
	doc, _ := BuildJSClientResponse(logonProps(), []*x509.Certificate{p.ica, smallLeaf, p.root}, signWith(small))
	if _, err := Verify(doc, Options{MinRSABits: 1024}); err != nil {
		t.Error(err)
	}
}
