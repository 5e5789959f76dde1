package xmldsig

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestCanonicalAgainstXmlsec1 has libxml2's canonicalizer, through xmlsec1,
// judge ours on signed content written in every way XML allows that the
// profile accepts: each document is signed over OUR canonical SignedInfo
// and Object, so xmlsec1 verifies it only if its canonical bytes are ours,
// byte for byte. Verify must accept it too, with the values as written.
func TestCanonicalAgainstXmlsec1(t *testing.T) {
	bin, err := exec.LookPath("xmlsec1")
	if err != nil {
		t.Fatalf("xmlsec1 is needed as an independent canonicalizer (apt-get install xmlsec1): %v", err)
	}
	p := getPKI(t)
	base := ourDoc(t)
	const (
		siOpen    = `<ds:SignedInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:openoces="http://www.openoces.org/2006/07/signature#">`
		challenge = `<openoces:Value Encoding="xml" VisibleToSigner="no">c-42 &lt;&amp;&gt; "q"</openoces:Value>`
		action    = `<openoces:Value Encoding="xml" VisibleToSigner="no">logon</openoces:Value>`
		props     = "<ds:SignatureProperties>\n"
		c14nEl    = `<ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"></ds:CanonicalizationMethod>`
	)
	for _, tc := range []struct {
		name      string
		edits     []string // old, new, old, new, …
		challenge string   // the challenge value Verify must return
		action    string
	}{
		{"references and quotes in a value", []string{
			challenge, `<openoces:Value Encoding="xml" VisibleToSigner="no">&#99;-42 &#x3C;&amp;> &quot;q&apos;&#13;&#10;</openoces:Value>`,
		}, "c-42 <&> \"q'\r\n", "logon"},
		{"CDATA with markup characters", []string{
			action, `<openoces:Value Encoding="xml" VisibleToSigner="no"><![CDATA[lo<g>&]]>on<![CDATA[]]]]><![CDATA[>]]></openoces:Value>`,
		}, `c-42 <&> "q"`, "lo<g>&on]]>"},
		{"attributes reordered, single quotes, referenced value", []string{
			action, `<openoces:Value VisibleToSigner='no' Encoding="&#120;ml">logon</openoces:Value>`,
		}, `c-42 <&> "q"`, "logon"},
		{"redundant and extra declarations inside the Object", []string{
			props, `<ds:SignatureProperties xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:extra="urn:extra">` + "\n",
		}, `c-42 <&> "q"`, "logon"},
		{"SignedInfo and Object inherit their namespaces", []string{
			siOpen, `<ds:SignedInfo>`,
			`<ds:Object xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:openoces="http://www.openoces.org/2006/07/signature#" Id="ToBeSigned">`, `<ds:Object Id="ToBeSigned">`,
		}, `c-42 <&> "q"`, "logon"},
		{"an unused namespace in scope of both", []string{
			`<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Id="signature">`, `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:aaa="urn:unused" Id="signature">`,
		}, `c-42 <&> "q"`, "logon"},
		{"empty-element tags, CR LF line ends and comments in SignedInfo", []string{
			c14nEl, "<!-- c14n -->\r\n" + strings.Replace(c14nEl, "></ds:CanonicalizationMethod>", " />", 1),
			"</ds:Reference>\n", "</ds:Reference><!--x-->\r\n",
		}, `c-42 <&> "q"`, "logon"},
		{"comments and a character reference between properties", []string{
			"</ds:SignatureProperty>\n<ds:SignatureProperty Target=\"signature\"><openoces:Name>action",
			"</ds:SignatureProperty><!-- - -->&#10;<ds:SignatureProperty Target=\"signature\"><openoces:Name>action",
		}, `c-42 <&> "q"`, "logon"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := base
			for i := 0; i < len(tc.edits); i += 2 {
				doc = replaceOnce(t, doc, tc.edits[i], tc.edits[i+1])
			}
			signed := resignOurs(t, doc, p.userKey)
			if ok, out := xmlsec1Verifies(t, bin, signed, p.user); !ok {
				t.Fatalf("xmlsec1 does not verify our canonical forms:\n%s", out)
			}
			s, err := Verify([]byte(signed), Options{})
			if err != nil {
				t.Fatal(err)
			}
			c, _ := s.Property("challenge")
			a, _ := s.Property("action")
			if c.Value != tc.challenge || a.Value != tc.action {
				t.Errorf("challenge %q action %q, want %q %q", c.Value, a.Value, tc.challenge, tc.action)
			}
			agreeWithOracle(t, []byte(signed))
		})
	}
}

// resignOurs makes doc verify after an edit, with our own reader and
// canonicalizer (resign uses the oracle's): DigestValue from the canonical
// ds:Object, SignatureValue over the canonical ds:SignedInfo.
func resignOurs(t *testing.T, doc string, key *rsa.PrivateKey) string {
	t.Helper()
	canonicalOf := func(doc, local string) []byte {
		tr, err := parseTree(doc, DefaultMaxDepth)
		if err != nil {
			t.Fatalf("resignOurs: %v", err)
		}
		for i := range tr.nodes {
			if tr.isDS(int32(i), local) {
				c, err := tr.canonical(int32(i))
				if err != nil {
					t.Fatalf("resignOurs: %v", err)
				}
				return c
			}
		}
		t.Fatalf("resignOurs: no ds:%s", local)
		return nil
	}
	setText := func(doc, local, text string) string {
		re := regexp.MustCompile(`(<ds:` + local + `>)[^<]*(</ds:` + local + `>)`)
		if n := len(re.FindAllString(doc, -1)); n != 1 {
			t.Fatalf("resignOurs: %d ds:%s", n, local)
		}
		return re.ReplaceAllString(doc, "${1}"+text+"${2}")
	}
	d := sha256.Sum256(canonicalOf(doc, "Object"))
	doc = setText(doc, "DigestValue", base64.StdEncoding.EncodeToString(d[:]))
	sv, err := signWith(key)(canonicalOf(doc, "SignedInfo"))
	if err != nil {
		t.Fatal(err)
	}
	return setText(doc, "SignatureValue", base64.StdEncoding.EncodeToString(sv))
}

// xmlsec1Verifies runs `xmlsec1 --verify` on doc with the signer's
// certificate given explicitly (STACK.md G4).
func xmlsec1Verifies(t *testing.T, bin, doc string, leaf *x509.Certificate) (bool, string) {
	t.Helper()
	// Not t.TempDir(): xmlsec1 reads a comma in a key file name as the
	// start of a password, and subtest names have commas.
	dir, err := os.MkdirTemp("", "xmlsec1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	docFile, pemFile := filepath.Join(dir, "doc.xml"), filepath.Join(dir, "leaf.pem")
	if err := os.WriteFile(docFile, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--verify", "--enabled-key-data", "key-name", "--pubkey-cert-pem", pemFile, docFile).CombinedOutput()
	return err == nil && strings.Contains(string(out), "OK"), string(out)
}
