package xmldsig

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixtureDir holds the real NemID preproduction responses (shared, read-only).
const fixtureDir = "../../../shared/fixtures/nemid-preprod"

// fixture reads a real response; a missing fixture fails the test: these
// files are the proof that we accept what NemID produced.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		t.Fatalf("fixture %s is required: %v", name, err)
	}
	return b
}

// reasonOf returns the Reason of a Verify error, or 0.
func reasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return 0
}

type wantProp struct {
	name, value string
	enc         Encoding
	visible     bool
}

func TestVerifyRealResponses(t *testing.T) {
	for _, tc := range []struct {
		file     string
		style    Style
		sigID    string
		target   string
		signer   string // subject serialNumber
		nCerts   int
		signerAt int // index of the signer in KeyInfo
		props    []wantProp
	}{
		{
			file: "XMLDSigMessage-POCES.xml", style: JSClient, sigID: "signature", target: "signature",
			signer: "PID:9208-2002-2-751708631151", nCerts: 3, signerAt: 1,
			props: []wantProp{
				{"RequestIssuer", "Nets Customer Demo", EncodingBase64, true},
				{"TimeStamp", "2021-04-20 15:26:05+0200", EncodingXML, false},
				{"action", "logon", EncodingXML, false},
				{"identityAssuranceLevel", "1", EncodingXML, false},
			},
		},
		{
			file: "XMLDSigMessage-POCES-encoding-base64.xml", style: JSClient, sigID: "signature", target: "signature",
			signer: "PID:9208-2002-2-751953802340", nCerts: 3, signerAt: 1,
			props: []wantProp{
				{"RequestIssuer", "Nets Customer Demo", EncodingBase64, true},
				{"TimeStamp", "2021-05-11 20:10:37+0200", EncodingBase64, false},
				{"action", "logon", EncodingXML, false},
				{"identityAssuranceLevel", "1", EncodingXML, false},
			},
		},
		{
			file: "XMLDSigMessage-MOCES.xml", style: OpenSign, sigID: "OpensignSignature", target: "#OpensignSignature",
			signer: "CVR:30808460-RID:45490598", nCerts: 3, signerAt: 0,
			props: []wantProp{
				{"RequestIssuer", "Rently API", EncodingBase64, true},
				{"SIGNTEXT", "OpenLogon 5/11/21 9:30 PM", EncodingBase64, false},
				{"action", "logon", EncodingBase64, false},
			},
		},
	} {
		t.Run(tc.file, func(t *testing.T) {
			doc := fixture(t, tc.file)
			s, err := Verify(doc, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if s.Style != tc.style || s.SignatureID != tc.sigID {
				t.Errorf("style %v id %q, want %v %q", s.Style, s.SignatureID, tc.style, tc.sigID)
			}
			if s.Signer.Subject.SerialNumber != tc.signer {
				t.Errorf("signer %s", s.Signer.Subject)
			}
			if len(s.Certificates) != tc.nCerts || s.Certificates[tc.signerAt] != s.Signer {
				t.Errorf("%d certificates, signer not at %d", len(s.Certificates), tc.signerAt)
			}
			if len(s.Properties) != len(tc.props) {
				t.Fatalf("%d properties, want %d", len(s.Properties), len(tc.props))
			}
			for i, w := range tc.props {
				p := s.Properties[i]
				if p.Name != w.name || p.Value != w.value || p.Encoding != w.enc || p.VisibleToSigner != w.visible || p.Target != tc.target {
					t.Errorf("property %d = %+v, want %+v", i, p, w)
				}
				if q, ok := s.Property(w.name); !ok || q != p {
					t.Errorf("Property(%q) = %+v, %v", w.name, q, ok)
				}
			}
			if _, ok := s.Property("challenge"); ok {
				t.Error("a challenge property that is not there")
			}
			// The canonical bytes are the literal elements of the document (§4.2).
			if !bytes.Contains(doc, s.SignedInfo) || !bytes.Contains(doc, s.Object) {
				t.Error("canonical SignedInfo/Object are not the literal bytes of the document")
			}
		})
	}
}

// TestVerifyExpiredFixtureSignatureInvalid: in this real sample the digest
// matches but the signature value does not verify with the KeyInfo leaf.
func TestVerifyExpiredFixtureSignatureInvalid(t *testing.T) {
	_, err := Verify(fixture(t, "XMLDSigMessage-MOCES-expired.xml"), Options{})
	if reasonOf(err) != SignatureInvalid {
		t.Fatalf("got %v, want SignatureInvalid", err)
	}
}

func TestVerifyOwnDocument(t *testing.T) {
	s, err := Verify([]byte(ourDoc(t)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, ok := s.Property("challenge")
	if !ok || p.Value != `c-42 <&> "q"` || p.Raw != `c-42 <&> "q"` {
		t.Errorf("challenge = %+v", p)
	}
	if s.Signer != s.Certificates[1] || s.Style != JSClient {
		t.Error("signer or style")
	}
}

func TestVerifyLimits(t *testing.T) {
	doc := fixture(t, "XMLDSigMessage-POCES.xml")
	if _, err := Verify(doc, Options{MaxSize: len(doc) - 1}); reasonOf(err) != TooLarge {
		t.Errorf("size: %v", err)
	}
	deep := strings.Repeat("<a>", 20) + strings.Repeat("</a>", 20)
	if _, err := Verify([]byte(deep), Options{}); reasonOf(err) != TooDeep {
		t.Errorf("depth: %v", err)
	}
	if _, err := Verify(doc, Options{MaxDepth: 5}); reasonOf(err) != TooDeep {
		t.Errorf("depth 5: %v", err)
	}
	if _, err := Verify(doc, Options{MaxDepth: 6}); err != nil {
		t.Errorf("the profile is 6 deep: %v", err)
	}
	if _, err := Verify(doc, Options{MinRSABits: 3072}); reasonOf(err) != WeakKey {
		t.Errorf("min RSA bits: %v", err)
	}
}

func TestErrorText(t *testing.T) {
	_, err := Verify(fixture(t, "XMLDSigMessage-MOCES-expired.xml"), Options{})
	if got := err.Error(); !strings.HasPrefix(got, "xmldsig: signature value does not verify") {
		t.Errorf("error text %q", got)
	}
	for r := Malformed; r <= BadEncoding; r++ {
		if strings.HasPrefix(r.String(), "reason(") {
			t.Errorf("reason %d has no name", r)
		}
	}
}

// TestKnownCertificates: a KeyInfo certificate with the DER bytes of a known
// one is that one; others are parsed; the result is otherwise the same.
func TestKnownCertificates(t *testing.T) {
	doc := fixture(t, "XMLDSigMessage-POCES.xml")
	plain, err := Verify(doc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ica, err := x509.ParseCertificate(plain.Certificates[0].Raw) // same bytes, another object
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(fixture(t, "TRUST2408-OCES-Primary-CA.cert.pem"))
	unrelated, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Verify(doc, Options{KnownCertificates: []*x509.Certificate{nil, unrelated, ica}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Certificates[0] != ica {
		t.Error("the known issuing CA was parsed again")
	}
	for i, c := range s.Certificates {
		if c == unrelated || !bytes.Equal(c.Raw, plain.Certificates[i].Raw) {
			t.Errorf("certificate %d is not the one in KeyInfo", i)
		}
	}
	if s.Signer != s.Certificates[1] || !bytes.Equal(s.SignedInfo, plain.SignedInfo) || !bytes.Equal(s.Object, plain.Object) || len(s.Properties) != len(plain.Properties) {
		t.Error("known certificates changed the result")
	}
}
