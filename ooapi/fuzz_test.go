package ooapi

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/net/html"
)

func FuzzParseParameters(f *testing.F) {
	s := fixtureSigner(f)
	logon, _, err := s.Logon(LogonOptions{ClientOptions: ClientOptions{Origin: testOrigin, TransactionContext: "x"}})
	if err != nil {
		f.Fatal(err)
	}
	sign, _, err := s.Sign(SignOptions{ClientOptions: ClientOptions{Origin: testOrigin}, Text: XMLSignText([]byte(testXML), []byte(testXSLT), "id")})
	if err != nil {
		f.Fatal(err)
	}
	codefile, _, err := s.CodeFileSign(CodeFileOptions{RequestIssuer: "x", Origin: testOrigin}, HTMLSignText(testHTML))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		string(logon.JSON()), string(sign.JSON()), string(codefile.JSON()),
		`{}`, `{"a":"b","A":"c"}`, `{"\u017fP_CERT":"x","SP_CERT":"y"}`, `{"a":"\ud800"}`, `{"a":1}`, `[]`, `{"a":"b"} `,
		`{"TIMESTAMP":"2021-01-19 14:44:00CEST","CLIENTFLOW":"OCESSIGN2","SIGNTEXT_FORMAT":"HTML","SIGNTEXT":"PHA+eDwvcD4="}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, err := ParseParameters(data)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Code != APP001 {
				t.Fatalf("error %v is not an APP001 ParseError", err)
			}
			// Completeness: a JSON object of strings that encoding/json
			// reads is refused only for a reason of our own.
			var m map[string]string
			if utf8.Valid(data) && json.Unmarshal(data, &m) == nil && m != nil {
				ok := false
				for _, reason := range []string{"duplicate", "empty name", "longer than", "more than", "surrogate"} {
					ok = ok || strings.Contains(pe.Reason, reason)
				}
				if !ok {
					t.Fatalf("refused a JSON object of strings: %v", err)
				}
			}
			return
		}
		// Soundness: encoding/json reads the same members.
		var m map[string]string
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("accepted, but encoding/json says: %v", err)
		}
		params := ps.Params()
		if len(m) != len(params) || len(params) > MaxParameters {
			t.Fatalf("%d members, encoding/json has %d", len(params), len(m))
		}
		for _, p := range params {
			if v, ok := m[p.Name]; !ok || v != p.Value {
				t.Fatalf("member %q = %q, encoding/json has %q", p.Name, p.Value, v)
			}
			if got, _ := ps.Get(p.Name); got != p.Value {
				t.Fatalf("Get(%q) = %q, want %q", p.Name, got, p.Value)
			}
		}
		// Round trip through our own JSON.
		back, err := ParseParameters(ps.JSON())
		if err != nil {
			t.Fatalf("our JSON %s does not parse: %v", ps.JSON(), err)
		}
		if !slices.Equal(back.Params(), params) {
			t.Fatalf("round trip changed the set")
		}
		if _, err := Normalize(params); err != nil {
			t.Fatalf("a parsed set does not normalize: %v", err)
		}
		// Checking never panics and always explains itself.
		for _, c := range []Client{JSClient, CodeFileClient} {
			for _, p := range VerifyParameters(ps, vectorBTime, VerifyOptions{Client: c, Origin: testOrigin}) {
				if !p.Code.Known() || p.Message == "" {
					t.Fatalf("problem %+v", p)
				}
			}
		}
	})
}

// FuzzValidateHTML checks that an accepted HTML sign text, read by a full
// HTML parser (a different reading than ValidateHTML's tokenizer), holds
// only whitelisted elements and attributes and no comments.
func FuzzValidateHTML(f *testing.F) {
	for _, seed := range []string{testHTML, `<a href="#x">x</a>`, `<style>p{color:red}</style>`, `<p style="x:y">`,
		`<scr<b>ipt>`, `<table><tr><td>x</td></tr></table>`, `<!---->`, `<p/ onclick=x>`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		if ValidateHTML(doc) != nil {
			return
		}
		root, err := html.Parse(strings.NewReader(doc))
		if err != nil {
			t.Fatalf("accepted, but html.Parse: %v", err)
		}
		for n := range root.Descendants() {
			switch n.Type {
			case html.CommentNode:
				t.Fatalf("accepted a comment: %q", n.Data)
			case html.ElementNode:
				allowed, ok := htmlWhitelist[n.Data]
				if n.Data == "tbody" {
					continue // the parser adds it to tables
				}
				if !ok || n.Namespace != "" {
					t.Fatalf("accepted element %s:%s", n.Namespace, n.Data)
				}
				for _, a := range n.Attr {
					if !slices.Contains(allowed, a.Key) || a.Namespace != "" {
						t.Fatalf("accepted attribute %s on <%s>", a.Key, n.Data)
					}
					if a.Key == "href" && !strings.HasPrefix(a.Val, "#") {
						t.Fatalf("accepted href %q", a.Val)
					}
				}
			}
		}
	})
}
