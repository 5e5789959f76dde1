package ooapi

import (
	"crypto/sha256"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

const testOrigin = "https://sp.example.dk"

// testHTML is DanID's HTML sign text (SignConstants.SIGN_HTML of the TU
// example, BSD licence).
const testHTML = `<html><head><title>Lorem ipsum dolor sit amet</title></head><body><h2>ÅÆØæåø Lorem ipsum dolor sit amet</h2>` +
	`<p>Lorem ipsum dolor sit amet, consectetuer <b>adipiscing</b> elit. Fusce <i>ultricies</i>, tellus sit amet semper accumsan.</p>` +
	`<ol><li>Duis quis sem</li><li>Ut luctus consequat lacus</li></ol><p><font size="2">Sed consequat</font></p></body></html>`

// testXML and testXSLT are DanID's XML sign text and transformation
// (SIGN2_XML and SIGN2_XSLT of the TU example, shortened).
const (
	testXML  = `<?xml version="1.0" encoding="ISO-8859-1"?><catalog><cd><title>ÅÆØåæø Empire Burlesque</title><artist>Bob Dylan</artist></cd></catalog>`
	testXSLT = `<?xml version="1.0" encoding="ISO-8859-1"?><xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
<xsl:output method="xml" omit-xml-declaration="yes" indent="no"/>
<xsl:template match="/"><html><body><h2>My CD Collection</h2><table border="1"><tr bgcolor="#9acd32"><th>Title</th><th>Artist</th></tr>` +
		`<xsl:for-each select="catalog/cd"><tr><td><xsl:value-of select="title"/></td><td><xsl:value-of select="artist"/></td></tr></xsl:for-each></table></body></html></xsl:template></xsl:stylesheet>`
)

var testPDF = []byte("%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")

// mustVerify fails unless the set passes VerifyParameters at the signer's
// moment with the page origin testOrigin.
func mustVerify(t *testing.T, ps *ParameterSet) {
	t.Helper()
	if problems := VerifyParameters(ps, vectorBTime, VerifyOptions{Origin: testOrigin}); len(problems) > 0 {
		t.Fatalf("the built set does not verify: %v\n%s", problems, ps.JSON())
	}
}

func TestLogonAllOptions(t *testing.T) {
	s := fixtureSigner(t)
	ps, challenge, err := s.Logon(LogonOptions{
		ClientOptions: ClientOptions{
			Origin: testOrigin, Language: "en", RememberUserID: true, RememberUserIDUnchecked: true,
			TransactionContext: strings.Repeat("æ", MaxTransactionContext), SuppressPushToDevice: true,
			EnableAwaitingAppApprovalEvent: true, PreventOTPCard: true, DoNotShowCancel: true,
			Extra: []Param{{ParamClientMode, "LIMITED"}},
		},
		CredentialUpdate: "PASSWORD",
	})
	if err != nil {
		t.Fatal(err)
	}
	mustVerify(t, ps)
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(string(challenge)) {
		t.Errorf("challenge %q is not 32 hex digits", challenge)
	}
	want := map[string]string{
		"CLIENTFLOW": "OCESLOGIN2", "LANGUAGE": "EN", "REMEMBER_USERID": "", "REMEMBER_USERID_INITIAL_STATUS": "FALSE",
		"SUPPRESS_PUSH_TO_DEVICE": "TRUE", "ENABLE_AWAITING_APP_APPROVAL_EVENT": "TRUE", "PREVENT_OTP_CARD": "TRUE",
		"DO_NOT_SHOW_CANCEL": "TRUE", "CREDENTIAL_UPDATE": "PASSWORD", "CLIENTMODE": "LIMITED",
		"TIMESTAMP": "MjAyMS0wMS0xOSAxNDo0NDowMCswMDAw", "ORIGIN": testOrigin, "SIGN_PROPERTIES": "challenge=" + string(challenge),
		"TRANSACTION_CONTEXT": b64([]byte(strings.Repeat("æ", MaxTransactionContext))),
	}
	for name, v := range want {
		if got, ok := ps.Get(name); !ok || got != v {
			t.Errorf("%s = %q (present %v), want %q", name, got, ok, v)
		}
	}
	// Members: normalization order, then the digest and the signature.
	params := ps.Params()
	for i := 1; i < len(params)-2; i++ {
		if compareNames(params[i-1].Name, params[i].Name) >= 0 {
			t.Errorf("members %s, %s out of normalization order", params[i-1].Name, params[i].Name)
		}
	}
	if params[len(params)-2].Name != ParamsDigest || params[len(params)-1].Name != DigestSignature {
		t.Errorf("the last members are %s, %s", params[len(params)-2].Name, params[len(params)-1].Name)
	}
	var m map[string]string
	if err := json.Unmarshal(ps.JSON(), &m); err != nil || len(m) != len(params) {
		t.Errorf("JSON is not an object of %d strings: %v", len(params), err)
	}
	el := ps.ScriptElement()
	if !strings.HasPrefix(el, `<script type="text/x-nemid" id="nemid_parameters">{`) || !strings.HasSuffix(el, "}</script>") {
		t.Errorf("script element %.80s…", el)
	}
}

func TestChallengesAreFresh(t *testing.T) {
	s := fixtureSigner(t)
	seen := map[Challenge]bool{}
	for i := 0; i < 20; i++ {
		_, c, err := s.Logon(LogonOptions{ClientOptions: ClientOptions{Origin: testOrigin}})
		if err != nil {
			t.Fatal(err)
		}
		if seen[c] {
			t.Fatalf("challenge %s twice", c)
		}
		seen[c] = true
		if !c.Equal(string(c)) || c.Equal(string(c)+"0") || c.Equal("") || Challenge("").Equal("") {
			t.Error("Challenge.Equal is wrong")
		}
	}
}

func TestSignFormats(t *testing.T) {
	s := fixtureSigner(t)
	sum := sha256.Sum256(testPDF)
	for _, tc := range []struct {
		name string
		text SignText
		mono bool
		want map[string]string
		not  []string
	}{
		{"text", PlainSignText("Jeg skylder 100 kr."), true, map[string]string{
			"SIGNTEXT_FORMAT": "TEXT", "SIGNTEXT": b64([]byte("Jeg skylder 100 kr.")), "SIGNTEXT_MONOSPACEFONT": "TRUE"}, nil},
		{"html", HTMLSignText(testHTML), false, map[string]string{"SIGNTEXT_FORMAT": "HTML", "SIGNTEXT": b64([]byte(testHTML))}, nil},
		{"xml", XMLSignText([]byte(testXML), []byte(testXSLT), "cd-v1"), false, map[string]string{
			"SIGNTEXT_FORMAT": "XML", "SIGNTEXT": b64([]byte(testXML)), "SIGNTEXT_TRANSFORMATION": b64([]byte(testXSLT)),
			"SIGNTEXT_TRANSFORMATION_ID": "cd-v1"}, nil},
		{"pdf inline", PDFSignText(testPDF), false, map[string]string{"SIGNTEXT_FORMAT": "PDF", "SIGNTEXT": b64(testPDF)},
			[]string{"SIGNTEXT_URI"}},
		{"pdf by URI", RemotePDFSignText("https://sp.example.dk/doc/1.pdf?s=abc", testPDF), false, map[string]string{
			"SIGNTEXT_FORMAT": "PDF", "SIGNTEXT_URI": "https://sp.example.dk/doc/1.pdf?s=abc", "SIGNTEXT_REMOTE_HASH": b64(sum[:])},
			[]string{"SIGNTEXT"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps, _, err := s.Sign(SignOptions{ClientOptions: ClientOptions{Origin: testOrigin}, Text: tc.text, MonospaceFont: tc.mono})
			if err != nil {
				t.Fatal(err)
			}
			mustVerify(t, ps)
			tc.want["CLIENTFLOW"] = "OCESSIGN2"
			for name, v := range tc.want {
				if got, ok := ps.Get(name); !ok || got != v {
					t.Errorf("%s = %.60q (present %v), want %.60q", name, got, ok, v)
				}
			}
			for _, name := range tc.not {
				if _, ok := ps.Get(name); ok {
					t.Errorf("%s is set", name)
				}
			}
		})
	}
}

// The remote PDF hash is the one DanID's example hard-coded for its
// nemid_termer.pdf; here only its form is checked against a known value.
func TestRemoteHashEncoding(t *testing.T) {
	st := RemotePDFSignText("https://x.dk/a.pdf", []byte("abc"))
	if got := b64(st.remoteHash); got != "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=" {
		t.Errorf("SHA-256 of abc = %s", got)
	}
}

func TestBuilderRejects(t *testing.T) {
	s := fixtureSigner(t)
	ok := ClientOptions{Origin: testOrigin}
	for _, tc := range []struct {
		name string
		opts SignOptions
		want string
	}{
		{"no origin", SignOptions{Text: PlainSignText("x")}, "ORIGIN"},
		{"origin with path", SignOptions{ClientOptions: ClientOptions{Origin: testOrigin + "/"}, Text: PlainSignText("x")}, "ORIGIN"},
		{"origin with default port", SignOptions{ClientOptions: ClientOptions{Origin: testOrigin + ":443"}, Text: PlainSignText("x")}, "default port"},
		{"origin in upper case", SignOptions{ClientOptions: ClientOptions{Origin: "https://SP.example.dk"}, Text: PlainSignText("x")}, "ORIGIN"},
		{"unicode origin", SignOptions{ClientOptions: ClientOptions{Origin: "https://blåbær.dk"}, Text: PlainSignText("x")}, "punycode"},
		{"no sign text", SignOptions{ClientOptions: ok}, "no sign text"},
		{"empty sign text", SignOptions{ClientOptions: ok, Text: PlainSignText("")}, "empty"},
		{"script in HTML", SignOptions{ClientOptions: ok, Text: HTMLSignText("<html><body><script>alert(1)</script></body></html>")}, "APP002"},
		{"XML without XSLT", SignOptions{ClientOptions: ok, Text: XMLSignText([]byte("<a/>"), nil, "")}, "APP008"},
		{"not a PDF", SignOptions{ClientOptions: ok, Text: PDFSignText([]byte("hello"))}, "%PDF-"},
		{"PDF URI not http", SignOptions{ClientOptions: ok, Text: RemotePDFSignText("ftp://x.dk/a.pdf", testPDF)}, "SIGNTEXT_URI"},
		{"monospace HTML", SignOptions{ClientOptions: ok, Text: HTMLSignText(testHTML), MonospaceFont: true}, "MonospaceFont"},
		{"bad language", SignOptions{ClientOptions: ClientOptions{Origin: testOrigin, Language: "DE"}, Text: PlainSignText("x")}, "Language"},
		{"long context", SignOptions{ClientOptions: ClientOptions{Origin: testOrigin, TransactionContext: strings.Repeat("x", 101)}, Text: PlainSignText("x")}, "SRV011"},
		{"unchecked without remember", SignOptions{ClientOptions: ClientOptions{Origin: testOrigin, RememberUserIDUnchecked: true}, Text: PlainSignText("x")}, "RememberUserID"},
		{"token not base64", SignOptions{ClientOptions: ClientOptions{Origin: testOrigin, RememberUserIDToken: "a b"}, Text: PlainSignText("x")}, "base64"},
		{"unknown extra", SignOptions{ClientOptions: ClientOptions{Origin: testOrigin, Extra: []Param{{"FOO", "1"}}}, Text: PlainSignText("x")}, "not a parameter"},
		{"extra already set", SignOptions{ClientOptions: ClientOptions{Origin: testOrigin, Extra: []Param{{"origin", testOrigin}}}, Text: PlainSignText("x")}, "already set"},
		{"extra digest", SignOptions{ClientOptions: ClientOptions{Origin: testOrigin, Extra: []Param{{"PARAMS_DIGEST", "x"}}}, Text: PlainSignText("x")}, "signer"},
		{"case-only duplicate extras", SignOptions{ClientOptions: ClientOptions{Origin: testOrigin, Extra: []Param{{"CLIENTMODE", "LIMITED"}, {"clientmode", "LIMITED"}}}, Text: PlainSignText("x")}, "duplicate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := s.Sign(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	if _, _, err := s.Logon(LogonOptions{ClientOptions: ok, CredentialUpdate: "PIN"}); err == nil {
		t.Error("CredentialUpdate PIN accepted")
	}
}

func TestCodeFile(t *testing.T) {
	s := fixtureSigner(t)
	opts := CodeFileOptions{RequestIssuer: "Butik A/S", Origin: testOrigin, Language: EN, SubjectDNFilter: "PID:",
		IssuerDNFilter: "TRUST2408 Systemtest", Extra: []Param{{ParamTUVersion, "Go-1"}}}
	logon, challenge, err := s.CodeFileLogon(opts)
	if err != nil {
		t.Fatal(err)
	}
	mustVerify(t, logon)
	if logon.Client() != CodeFileClient {
		t.Errorf("client %s", logon.Client())
	}
	want := map[string]string{
		"CLIENTFLOW": "login", "LANGUAGE": "en", "REQUESTISSUER": b64([]byte("Butik A/S")), "ORIGIN": b64([]byte(testOrigin)),
		"TIMESTAMP": "MjAyMS0wMS0xOSAxNDo0NDowMCswMDAw", "SIGN_PROPERTIES": "challenge=" + string(challenge), "TU_VERSION": "Go-1",
		"ADDITIONAL_PARAMS": b64([]byte("subjectdnfilter=UElEOg==;issuerdnfilter=" + b64([]byte("TRUST2408 Systemtest")))),
	}
	for name, v := range want {
		if got, _ := logon.Get(name); got != v {
			t.Errorf("%s = %q, want %q", name, got, v)
		}
	}
	if !strings.Contains(logon.ScriptElement(), `id="codefile_parameters"`) {
		t.Errorf("script element %.80s", logon.ScriptElement())
	}
	for _, text := range []SignText{PlainSignText("tekst"), HTMLSignText(testHTML), XMLSignText([]byte(testXML), []byte(testXSLT), ""), PDFSignText(testPDF)} {
		ps, _, err := s.CodeFileSign(CodeFileOptions{RequestIssuer: "Butik A/S", Origin: testOrigin}, text)
		if err != nil {
			t.Fatalf("%s: %v", text.Format(), err)
		}
		mustVerify(t, ps)
		if got, _ := ps.Get("SIGNTEXT_FORMAT"); got != strings.ToLower(text.Format()) {
			t.Errorf("SIGNTEXT_FORMAT %q", got)
		}
	}
	for _, bad := range []struct {
		opts CodeFileOptions
		text SignText
	}{
		{CodeFileOptions{Origin: testOrigin}, PlainSignText("x")},
		{CodeFileOptions{RequestIssuer: "x", Origin: testOrigin, Language: KL}, PlainSignText("x")},
		{CodeFileOptions{RequestIssuer: "x", Origin: testOrigin, SubjectDNFilter: "UID:"}, PlainSignText("x")},
		{CodeFileOptions{RequestIssuer: "x", Origin: testOrigin}, RemotePDFSignText("https://x.dk/a.pdf", testPDF)},
		{CodeFileOptions{RequestIssuer: "x", Origin: testOrigin}, XMLSignText([]byte(testXML), []byte(testXSLT), "id")},
	} {
		if _, _, err := s.CodeFileSign(bad.opts, bad.text); err == nil {
			t.Errorf("CodeFileSign(%+v, %s) accepted", bad.opts, bad.text.Format())
		}
	}
}

func TestNewSPSignerRejects(t *testing.T) {
	s := fixtureSigner(t)
	other, err := ParseRSAPrivateKeyPEM(mustRead(t, "testdata/vector-a.key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewSPSigner(s.Cert, other); err == nil || !strings.Contains(err.Error(), "does not belong") {
		t.Errorf("a foreign key: %v", err)
	}
	poces, err := ParseCertificatePEM(readFixture(t, "nemid-POCES-personal-valid.cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewSPSigner(poces, s.Key); err == nil {
		t.Error("a POCES with a foreign key accepted")
	}
	if _, err := ParseRSAPrivateKeyPEM([]byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n")); err == nil ||
		!strings.Contains(err.Error(), "encrypted") {
		t.Errorf("encrypted key: %v", err)
	}
	if _, err := ParseRSAPrivateKeyPEM([]byte("-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n")); err == nil ||
		strings.Contains(err.Error(), "c2VjcmV0") || strings.Contains(err.Error(), "secret") {
		t.Errorf("malformed key: %v", err)
	}
}
