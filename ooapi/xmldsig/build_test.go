package xmldsig

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// TestBuildReproducesRealResponses: given the properties, the certificates
// and the signature value of a real JS-client response, the builder emits
// that response byte for byte — the layout of §4.2 is exactly NemID's.
func TestBuildReproducesRealResponses(t *testing.T) {
	for _, f := range []string{"XMLDSigMessage-POCES.xml", "XMLDSigMessage-POCES-encoding-base64.xml"} {
		t.Run(f, func(t *testing.T) {
			doc := fixture(t, f)
			s, err := Verify(doc, Options{})
			if err != nil {
				t.Fatal(err)
			}
			sv := between(t, string(doc), "<ds:SignatureValue>", "</ds:SignatureValue>")
			sv = strings.TrimSuffix(strings.TrimPrefix(sv, "<ds:SignatureValue>"), "</ds:SignatureValue>")
			sig, err := base64.StdEncoding.DecodeString(sv)
			if err != nil {
				t.Fatal(err)
			}
			props := make([]Property, len(s.Properties))
			for i, p := range s.Properties {
				props[i] = Property{Name: p.Name, Value: p.Value, Encoding: p.Encoding, VisibleToSigner: p.VisibleToSigner}
			}
			var signed []byte
			out, err := BuildJSClientResponse(props, s.Certificates, func(si []byte) ([]byte, error) {
				signed = si
				return sig, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != string(doc) {
				t.Fatalf("rebuilt response differs:\n%s", firstDiff(string(out), string(doc)))
			}
			if string(signed) != string(s.SignedInfo) {
				t.Error("the builder signed other bytes than the canonical SignedInfo")
			}
		})
	}
}

func firstDiff(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	lo := max(0, i-60)
	return "ours:    " + a[lo:min(len(a), i+60)] + "\nfixture: " + b[lo:min(len(b), i+60)]
}

// TestBuildIsCanonical: the emitted SignedInfo and Object are their own
// inclusive C14N 1.0 form (goxmldsig's C14N10Rec over the detached element),
// for values that need escaping too; and Verify accepts the document.
func TestBuildIsCanonical(t *testing.T) {
	p := getPKI(t)
	props := append(logonProps(),
		Property{Name: "signtext", Value: "Jeg <accepterer> & \"skriver\" 'under'\r\n\tæøå", Encoding: EncodingBase64, VisibleToSigner: true},
		Property{Name: "odd", Value: "a\r\nb & <c> \"d\" 'e'\tæøå ]]>", Encoding: EncodingXML},
		Property{Name: "raw", Raw: "bG9nb24=", Encoding: EncodingBase64},
	)
	out, err := BuildJSClientResponse(props, []*x509.Certificate{p.ica, p.user, p.root}, signWith(p.userKey))
	if err != nil {
		t.Fatal(err)
	}
	d := etree.NewDocument()
	if err := d.ReadFromBytes(out); err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"SignedInfo", "Object"} {
		el := d.FindElement("//" + tag)
		ctx, err := etreeutils.NSBuildParentContext(el)
		if err != nil {
			t.Fatal(err)
		}
		det, err := etreeutils.NSDetatch(ctx, el)
		if err != nil {
			t.Fatal(err)
		}
		c, err := dsig.MakeC14N10RecCanonicalizer().Canonicalize(det)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(out), string(c)) {
			t.Errorf("%s as emitted is not its canonical form:\n%s", tag, c)
		}
	}
	s, err := Verify(out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range props {
		got := s.Properties[i]
		if want.Raw != "" {
			want.Value = "logon"
		}
		if got.Name != want.Name || got.Value != want.Value || got.Encoding != want.Encoding || got.VisibleToSigner != want.VisibleToSigner || got.Target != "signature" {
			t.Errorf("property %d: %+v, want %+v", i, got, want)
		}
	}
}

// TestBuildXmlsec1 has xmlsec1, an independent implementation, verify what
// we build (with the leaf given explicitly: xmlsec1 1.2.37 takes the first
// KeyInfo certificate otherwise, STACK.md G4). It also checks the oracle on
// the real responses.
func TestBuildXmlsec1(t *testing.T) {
	bin, err := exec.LookPath("xmlsec1")
	if err != nil {
		t.Fatalf("xmlsec1 is needed as an independent verifier (apt-get install xmlsec1): %v", err)
	}
	p := getPKI(t)
	out, err := BuildJSClientResponse(logonProps(), []*x509.Certificate{p.ica, p.user, p.root}, signWith(p.userKey))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	check := func(name string, doc []byte, leaf *x509.Certificate, wantOK bool) {
		t.Helper()
		docFile := filepath.Join(dir, name+".xml")
		pemFile := filepath.Join(dir, name+".pem")
		if err := os.WriteFile(docFile, doc, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw}), 0o600); err != nil {
			t.Fatal(err)
		}
		msg, err := exec.Command(bin, "--verify", "--enabled-key-data", "key-name", "--pubkey-cert-pem", pemFile, docFile).CombinedOutput()
		if ok := err == nil && strings.Contains(string(msg), "OK"); ok != wantOK {
			t.Errorf("%s: xmlsec1 ok=%v, want %v: %v\n%s", name, ok, wantOK, err, msg)
		}
	}
	check("ours", out, p.user, true)
	for _, f := range []string{"XMLDSigMessage-POCES.xml", "XMLDSigMessage-POCES-encoding-base64.xml", "XMLDSigMessage-MOCES.xml"} {
		doc := fixture(t, f)
		s, err := Verify(doc, Options{})
		if err != nil {
			t.Fatal(err)
		}
		check(f, doc, s.Signer, true)
	}
	// The negative sample: its first certificate is the (non-matching) leaf.
	expired := fixture(t, "XMLDSigMessage-MOCES-expired.xml")
	blk := x509Data(t, string(expired))[0]
	der, _ := base64.StdEncoding.DecodeString(strings.NewReplacer("<ds:X509Data>", "", "<ds:X509Certificate>", "", "</ds:X509Certificate>", "", "</ds:X509Data>", "", "\n", "").Replace(blk))
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	check("expired", expired, leaf, false)
}

func TestBuildRefuses(t *testing.T) {
	p := getPKI(t)
	certs := []*x509.Certificate{p.ica, p.user, p.root}
	sign := signWith(p.userKey)
	for _, tc := range []struct {
		name  string
		props []Property
		certs []*x509.Certificate
	}{
		{"no properties", nil, certs},
		{"no certificates", logonProps(), nil},
		{"duplicate name", append(logonProps(), Property{Name: "Action", Value: "x", Encoding: EncodingXML}), certs},
		{"empty name", []Property{{Name: "", Value: "x", Encoding: EncodingXML}}, certs},
		{"name with space", []Property{{Name: "a b", Value: "x", Encoding: EncodingXML}}, certs},
		{"unknown encoding", []Property{{Name: "a", Value: "x", Encoding: "hex"}}, certs},
		{"control character", []Property{{Name: "a", Value: "x\x01", Encoding: EncodingXML}}, certs},
		{"invalid UTF-8", []Property{{Name: "a", Value: "x\xff", Encoding: EncodingXML}}, certs},
		{"Raw not base64", []Property{{Name: "a", Raw: "***", Encoding: EncodingBase64}}, certs},
		{"Raw not the Value", []Property{{Name: "a", Raw: "bG9nb24=", Value: "sign", Encoding: EncodingBase64}}, certs},
		{"OpenSign Target", []Property{{Name: "a", Value: "x", Encoding: EncodingXML, Target: "#OpensignSignature"}}, certs},
	} {
		if _, err := BuildJSClientResponse(tc.props, tc.certs, sign); err == nil {
			t.Errorf("%s: built", tc.name)
		}
	}
	if _, err := BuildJSClientResponse(logonProps(), certs, func([]byte) ([]byte, error) { return nil, nil }); err == nil {
		t.Error("empty signature: built")
	}
}
