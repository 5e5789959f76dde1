package ooapi

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// edit changes the unsigned parameters of a set: set or add (value), or
// remove (remove true) a parameter by exact name.
type edit struct {
	name, value string
	remove      bool
	rename      string // rename the parameter called name
}

func applyEdits(params []Param, edits []edit) []Param {
	out := slices.Clone(params)
	for _, e := range edits {
		i := slices.IndexFunc(out, func(p Param) bool { return p.Name == e.name })
		switch {
		case e.remove:
			out = slices.Delete(out, i, i+1)
		case e.rename != "":
			out[i].Name = e.rename
		case i >= 0:
			out[i].Value = e.value
		default:
			out = append(out, Param{e.name, e.value})
		}
	}
	return out
}

func unsigned(ps *ParameterSet) []Param {
	return slices.DeleteFunc(ps.Params(), func(p Param) bool { return isSignatureParam(p.Name) })
}

func TestVerifyProblems(t *testing.T) {
	s := fixtureSigner(t)
	logon, _, err := s.Logon(LogonOptions{ClientOptions: ClientOptions{Origin: testOrigin}})
	if err != nil {
		t.Fatal(err)
	}
	sign, _, err := s.Sign(SignOptions{ClientOptions: ClientOptions{Origin: testOrigin}, Text: HTMLSignText(testHTML)})
	if err != nil {
		t.Fatal(err)
	}
	poces := b64(mustCert(t, "nemid-POCES-personal-valid.cert.pem").Raw)
	ts := func(s string) edit { return edit{name: ParamTimestamp, value: s} }
	for _, tc := range []struct {
		name  string
		base  *ParameterSet
		edits []edit
		opts  VerifyOptions
		now   time.Time // zero: vectorBTime
		want  []Code
		in    string // in the first problem's text
	}{
		{"clean logon", logon, nil, VerifyOptions{Origin: testOrigin}, time.Time{}, nil, ""},
		{"unknown parameter", logon, []edit{{name: "FOO", value: "1"}}, VerifyOptions{}, time.Time{}, []Code{APP007}, "not a parameter"},
		{"removed parameter", logon, []edit{{name: "Signproperties", value: "x=1"}}, VerifyOptions{}, time.Time{}, []Code{APP007}, "use SIGN_PROPERTIES"},
		{"missing TIMESTAMP", logon, []edit{{name: ParamTimestamp, remove: true}}, VerifyOptions{}, time.Time{}, []Code{APP007}, "mandatory"},
		{"missing SP_CERT", logon, []edit{{name: ParamSPCert, remove: true}}, VerifyOptions{}, time.Time{}, []Code{APP007, SRV001}, "mandatory"},
		{"long s is no S", logon, []edit{{name: ParamSPCert, rename: "\u017fP_CERT"}}, VerifyOptions{}, time.Time{}, []Code{APP007, APP007, SRV001}, "not a parameter"},
		{"long s is no S in values", logon, []edit{{name: ParamClientFlow, value: "OCE\u017fLOGIN2"}}, VerifyOptions{}, time.Time{}, []Code{APP001}, "not supported"},
		{"unsupported language", logon, []edit{{name: ParamLanguage, value: "DE"}}, VerifyOptions{}, time.Time{}, []Code{APP001}, "not supported"},
		{"lower-case values are fine", logon, []edit{{name: ParamLanguage, value: "da"}, {name: ParamClientFlow, value: "OcesLogin2"}}, VerifyOptions{}, time.Time{}, nil, ""},
		{"lower-case names are fine", logon, []edit{{name: ParamOrigin, rename: "origin"}}, VerifyOptions{Origin: testOrigin}, time.Time{}, nil, ""},
		{"bad origin syntax", logon, []edit{{name: ParamOrigin, value: testOrigin + "/login"}}, VerifyOptions{}, time.Time{}, []Code{APP001}, "ORIGIN"},
		{"origin mismatch", logon, nil, VerifyOptions{Origin: "https://evil.example"}, time.Time{}, []Code{APP007}, "does not match"},
		{"SIGN_PROPERTIES syntax", logon, []edit{{name: ParamSignProperties, value: "challenge"}}, VerifyOptions{}, time.Time{}, []Code{APP001}, "name=value"},
		{"signature params in a logon", logon, []edit{{name: ParamSignText, value: "eA=="}}, VerifyOptions{}, time.Time{}, []Code{APP008}, "signing flow"},
		{"limited with alias", logon, []edit{{name: ParamClientMode, value: "LIMITED"}, {name: ParamCredentialUpdate, value: "ALIAS"}}, VerifyOptions{}, time.Time{}, []Code{APP008}, "LIMITED"},
		{"initial status alone", logon, []edit{{name: ParamRememberUserIDInitialStatus, value: "FALSE"}}, VerifyOptions{}, time.Time{}, []Code{APP008}, "REMEMBER_USERID"},
		{"POCES as SP_CERT", logon, []edit{{name: ParamSPCert, value: poces}}, VerifyOptions{}, time.Time{}, []Code{SRV001, SRV005, SRV005}, "SHA256withRSA"},
		{"SP_CERT not a certificate", logon, []edit{{name: ParamSPCert, value: "AAAA"}}, VerifyOptions{}, time.Time{}, []Code{SRV001, SRV005}, "not a certificate"},
		{"SP_CERT not base64", logon, []edit{{name: ParamSPCert, value: "MIIG*"}}, VerifyOptions{}, time.Time{}, []Code{APP001, SRV001}, "base64"},
		{"expired VOCES, old timestamp", logon, nil, VerifyOptions{}, time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC), []Code{SRV005, SRV003}, "expired"},
		{"timestamp 3 min early", logon, []edit{ts(b64([]byte("2021-01-19 14:41:00+0000")))}, VerifyOptions{}, time.Time{}, nil, ""},
		{"timestamp 3 min 1 s late", logon, []edit{ts(b64([]byte("2021-01-19 14:47:01+0000")))}, VerifyOptions{}, time.Time{}, []Code{SRV003}, "3m0s"},
		{"timestamp window option", logon, []edit{ts(b64([]byte("2021-01-19 14:47:01+0000")))}, VerifyOptions{MaxClockSkew: 5 * time.Minute}, time.Time{}, nil, ""},
		{"timestamp plain with offset", logon, []edit{ts("2021-01-19 15:44:00+0100")}, VerifyOptions{}, time.Time{}, nil, ""},
		{"timestamp CET", logon, []edit{ts("2021-01-19 15:44:00CET")}, VerifyOptions{}, time.Time{}, nil, ""},
		{"timestamp no zone, UTC", logon, []edit{ts("2021-01-19 14:44:00")}, VerifyOptions{}, time.Time{}, nil, ""},
		{"timestamp no zone, CET server", logon, []edit{ts("2021-01-19 15:44:00")}, VerifyOptions{Location: time.FixedZone("CET", 3600)}, time.Time{}, nil, ""},
		{"timestamp epoch ms", logon, []edit{ts("1611067440000")}, VerifyOptions{}, time.Time{}, nil, ""},
		{"timestamp epoch ms base64", logon, []edit{ts(b64([]byte("1611067440000")))}, VerifyOptions{}, time.Time{}, nil, ""},
		{"timestamp unknown zone", logon, []edit{ts("2021-01-19 14:44:00PST")}, VerifyOptions{}, time.Time{}, []Code{SRV003}, "unknown time zone"},
		{"timestamp unreadable", logon, []edit{ts("yesterday")}, VerifyOptions{}, time.Time{}, []Code{SRV003}, "cannot be read"},
		{"context too long", logon, []edit{{name: ParamTransactionContext, value: b64([]byte(strings.Repeat("ø", 101)))}}, VerifyOptions{}, time.Time{}, []Code{SRV011}, "101"},
		{"context not base64", logon, []edit{{name: ParamTransactionContext, value: "hej"}}, VerifyOptions{}, time.Time{}, []Code{APP001}, "base64"},
		{"clean sign", sign, nil, VerifyOptions{Origin: testOrigin}, time.Time{}, nil, ""},
		{"HTML outside the whitelist", sign, []edit{{name: ParamSignText, value: b64([]byte(`<html><body><img src="x"></body></html>`))}}, VerifyOptions{}, time.Time{}, []Code{APP002}, "<img>"},
		{"bad format", sign, []edit{{name: ParamSignTextFormat, value: "DOCX"}}, VerifyOptions{}, time.Time{}, []Code{APP001}, "not supported"},
		{"no document", sign, []edit{{name: ParamSignText, remove: true}}, VerifyOptions{}, time.Time{}, []Code{APP007}, "SIGNTEXT"},
		{"text and URI", sign, []edit{{name: ParamSignTextURI, value: "https://x.dk/a.pdf"}}, VerifyOptions{}, time.Time{}, []Code{APP008, APP008, APP008}, "one way"},
		{"XML without XSLT", sign, []edit{{name: ParamSignTextFormat, value: "XML"}}, VerifyOptions{}, time.Time{}, []Code{APP008}, "needs SIGNTEXT_TRANSFORMATION"},
		{"XSLT with HTML", sign, []edit{{name: ParamSignTextTransformation, value: b64([]byte(testXSLT))}}, VerifyOptions{}, time.Time{}, []Code{APP008}, "XML sign text"},
		{"remote hash not SHA-256", sign, []edit{{name: ParamSignText, remove: true}, {name: ParamSignTextFormat, value: "PDF"},
			{name: ParamSignTextURI, value: "https://x.dk/a.pdf"}, {name: ParamSignTextRemoteHash, value: "AAAA"}}, VerifyOptions{}, time.Time{}, []Code{APP001}, "32 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := tc.base
			if tc.edits != nil {
				var err error
				ps, err = s.SignParams(applyEdits(unsigned(tc.base), tc.edits))
				if err != nil {
					t.Fatal(err)
				}
			}
			now := tc.now
			if now.IsZero() {
				now = vectorBTime
			}
			problems := VerifyParameters(ps, now, tc.opts)
			if got := problemCodes(problems); !slices.Equal(got, tc.want) {
				t.Fatalf("codes %v, want %v: %v", got, tc.want, problems)
			}
			if tc.in != "" && !strings.Contains(problems[0].String(), tc.in) {
				t.Errorf("first problem %q does not mention %q", problems[0], tc.in)
			}
		})
	}
}

// A set changed after signing: without a new digest the client stops it
// (APP001); with a new digest but the old signature the server does
// (SRV001).
func TestVerifyTampering(t *testing.T) {
	s := fixtureSigner(t)
	ps, _, err := s.Logon(LogonOptions{ClientOptions: ClientOptions{Origin: testOrigin}})
	if err != nil {
		t.Fatal(err)
	}
	params := ps.Params()
	for i := range params {
		if params[i].Name == ParamOrigin {
			params[i].Value = "https://evil.example"
		}
	}
	tampered, err := newParameterSet(params)
	if err != nil {
		t.Fatal(err)
	}
	if got := problemCodes(VerifyParameters(tampered, vectorBTime, VerifyOptions{})); !slices.Equal(got, []Code{APP001, SRV001}) {
		t.Errorf("tampered: %v", got)
	}
	d, _ := Digest(params)
	for i := range params {
		if params[i].Name == ParamsDigest {
			params[i].Value = d
		}
	}
	redigested, err := newParameterSet(params)
	if err != nil {
		t.Fatal(err)
	}
	if got := problemCodes(VerifyParameters(redigested, vectorBTime, VerifyOptions{})); !slices.Equal(got, []Code{SRV001}) {
		t.Errorf("re-digested: %v", got)
	}
}

func TestVerifyCodeFileProblems(t *testing.T) {
	s := fixtureSigner(t)
	base, _, err := s.CodeFileSign(CodeFileOptions{RequestIssuer: "Butik", Origin: testOrigin}, PlainSignText("tekst"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		edits []edit
		want  []Code
		in    string
	}{
		{"names are case-sensitive", []edit{{name: ParamSignText, rename: "SignText"}}, []Code{APP007, APP007}, "case-sensitive"},
		{"missing REQUESTISSUER", []edit{{name: ParamRequestIssuer, remove: true}}, []Code{APP007}, "mandatory"},
		{"plain ORIGIN", []edit{{name: ParamOrigin, value: testOrigin}}, []Code{APP001}, "base64"},
		{"ORIGIN mismatch", []edit{{name: ParamOrigin, value: b64([]byte("https://evil.example"))}}, []Code{APP007}, "does not match"},
		{"plain TIMESTAMP", []edit{{name: ParamTimestamp, value: "2021-01-19 14:44:00+0000"}}, []Code{APP001}, "base64"},
		{"upper-case flow", []edit{{name: ParamClientFlow, value: "SIGN"}}, []Code{APP001}, "case-sensitive"},
		{"base64 format accepted", []edit{{name: ParamSignTextFormat, value: b64([]byte("text"))}}, nil, ""},
		{"unknown additional key", []edit{{name: ParamAdditionalParams, value: b64([]byte("subjectdnfilter=;foo=1"))}}, []Code{APP007}, "foo"},
		{"JS parameter", []edit{{name: ParamSuppressPushToDevice, value: "TRUE"}}, []Code{APP007}, "CodeFile"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps, err := s.SignParams(applyEdits(unsigned(base), tc.edits))
			if err != nil {
				t.Fatal(err)
			}
			problems := VerifyParameters(ps, vectorBTime, VerifyOptions{Client: CodeFileClient, Origin: testOrigin})
			if got := problemCodes(problems); !slices.Equal(got, tc.want) {
				t.Fatalf("codes %v, want %v: %v", got, tc.want, problems)
			}
			if tc.in != "" && !strings.Contains(problems[0].String(), tc.in) {
				t.Errorf("first problem %q does not mention %q", problems[0], tc.in)
			}
		})
	}
}

func TestParameterCodeTexts(t *testing.T) {
	for _, c := range []Code{APP001, APP002, APP007, APP008, SRV001, SRV003, SRV005, SRV011} {
		if !c.Known() || c.Description() == "" || c.Text(DA) == c.Text(EN) || c.Text(KL) != c.Text(DA) || c.Text("en") != c.Text(EN) {
			t.Errorf("%s: texts incomplete", c)
		}
	}
	if Code("XYZ001").Known() || Code("XYZ001").Text(EN) == "" {
		t.Error("unknown code")
	}
}
