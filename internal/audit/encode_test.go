package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"
)

// The fixed vectors below were computed with Python's hashlib from the
// encoding as the package doc specifies it, not with this package:
//
//	def field(s): b = s.encode(); return str(len(b)).encode() + b":" + b + b"\n"
//
// followed by the fields in the documented order, the detail keys sorted.
var vectorTime = time.Date(2026, 3, 14, 14, 9, 26, 535897000, time.UTC) // 1773497366535897 µs

var vectors = []struct {
	rec  Record
	enc  string
	hash string
}{
	{
		rec: Record{Seq: 1, Version: 1, At: vectorTime, PrevHash: Genesis, Entry: Entry{
			Actor: Operator, Action: CertificateRevoked, Subject: "cert:4f3a9c", Outcome: Success,
			Detail: map[string]string{"reason": "keyCompromise", "profile": "poces"},
		}},
		enc: "14:nemid-audit-v1\n1:1\n64:0000000000000000000000000000000000000000000000000000000000000000\n" +
			"16:1773497366535897\n8:operator\n19:certificate-revoked\n11:cert:4f3a9c\n7:success\n0:\n" +
			"1:2\n7:profile\n5:poces\n6:reason\n13:keyCompromise\n",
		hash: "353928e9e0697aeaafa505679b203ea19f1706150bc249d44cbcab743489f2ac",
	},
	{
		rec: Record{Seq: 2, Version: 1, At: vectorTime.Add(time.Second),
			PrevHash: "353928e9e0697aeaafa505679b203ea19f1706150bc249d44cbcab743489f2ac", Entry: Entry{
				Actor: User("17"), Action: LogonAttempt, Subject: User("17"), Outcome: Failure, Code: "LOCK001",
				Detail: map[string]string{"via": `Søren's "PC" \ 2`, "attempts": "5"},
			}},
		enc: "14:nemid-audit-v1\n1:2\n64:353928e9e0697aeaafa505679b203ea19f1706150bc249d44cbcab743489f2ac\n" +
			"16:1773497367535897\n7:user:17\n13:logon-attempt\n7:user:17\n7:failure\n7:LOCK001\n" +
			"1:2\n8:attempts\n1:5\n3:via\n17:S\u00f8ren's \"PC\" \\ 2\n",
		hash: "a6e6f47d34c8a5b8e4e11e6b47af769d8ac9b547f4fb49f83158d150caeafc16",
	},
}

func TestEncodeVectors(t *testing.T) {
	for _, v := range vectors {
		if err := v.rec.Validate(); err != nil {
			t.Fatalf("vector %d is not a valid entry: %v", v.rec.Seq, err)
		}
		enc, err := Encode(v.rec)
		if err != nil {
			t.Fatal(err)
		}
		if string(enc) != v.enc {
			t.Errorf("Encode(vector %d) =\n%q\nwant\n%q", v.rec.Seq, enc, v.enc)
		}
		// The written-down hash is the SHA-256 of the written-down encoding.
		if sum := sha256.Sum256([]byte(v.enc)); hex.EncodeToString(sum[:]) != v.hash {
			t.Errorf("vector %d: the test's hash is not the SHA-256 of the test's encoding", v.rec.Seq)
		}
		h, err := Hash(v.rec)
		if err != nil || h != v.hash {
			t.Errorf("Hash(vector %d) = %s, %v; want %s", v.rec.Seq, h, err, v.hash)
		}
	}
}

// TestEncodeEveryField: changing any one field, or the split between two
// fields, changes the encoding.
func TestEncodeEveryField(t *testing.T) {
	base := vectors[1].rec
	variants := map[string]func(r *Record){
		"seq":          func(r *Record) { r.Seq++ },
		"prev hash":    func(r *Record) { r.PrevHash = Genesis },
		"time":         func(r *Record) { r.At = r.At.Add(time.Microsecond) },
		"actor":        func(r *Record) { r.Actor = User("18") },
		"action":       func(r *Record) { r.Action = OTPUse },
		"subject":      func(r *Record) { r.Subject = User("18") },
		"outcome":      func(r *Record) { r.Outcome = Refused },
		"code":         func(r *Record) { r.Code = "LOCK002" },
		"no code":      func(r *Record) { r.Code = "" },
		"detail value": func(r *Record) { r.Detail = map[string]string{"via": "x", "attempts": "5"} },
		"detail key":   func(r *Record) { r.Detail = map[string]string{"vib": r.Detail["via"], "attempts": "5"} },
		"detail gone":  func(r *Record) { r.Detail = map[string]string{"attempts": "5"} },
		// The same bytes split differently between adjacent fields.
		"actor/action split": func(r *Record) { r.Actor, r.Action = "user:17l", "ogon-attempt" },
		"key/value split":    func(r *Record) { r.Detail = map[string]string{"attempts5": "", "via": r.Detail["via"]} },
		"detail into code":   func(r *Record) { r.Code, r.Detail = "LOCK001\n1:1\n8:attempts\n1:5", nil },
	}
	want, _ := Encode(base)
	for name, change := range variants {
		r := base
		r.Detail = map[string]string{"via": base.Detail["via"], "attempts": base.Detail["attempts"]}
		change(&r)
		got, err := Encode(r)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if bytes.Equal(got, want) {
			t.Errorf("%s: the encoding did not change", name)
		}
	}
}

func TestEncodeUnknownVersion(t *testing.T) {
	r := vectors[0].rec
	r.Version = 2
	if _, err := Encode(r); err == nil || !strings.Contains(err.Error(), "version 2") {
		t.Fatalf("Encode of version 2: err = %v, want an unknown-version error", err)
	}
}

func TestDetailEncoding(t *testing.T) {
	d := map[string]string{"b": `a "quoted" \ back`, "a": "Ærø ✓", "c": ""}
	enc := encodeDetail(d)
	if want := `{"a":"Ærø ✓","b":"a \"quoted\" \\ back","c":""}`; enc != want {
		t.Fatalf("encodeDetail = %s, want %s", enc, want)
	}
	back, err := decodeDetail(enc)
	if err != nil || len(back) != 3 || back["b"] != d["b"] || back["a"] != d["a"] {
		t.Fatalf("decodeDetail(%s) = %v, %v", enc, back, err)
	}
	if enc := encodeDetail(nil); enc != "{}" {
		t.Errorf("encodeDetail(nil) = %s, want {}", enc)
	}
	if d, err := decodeDetail("{}"); err != nil || d != nil {
		t.Errorf(`decodeDetail("{}") = %v, %v; want nil, nil`, d, err)
	}
	// Any text but the canonical form is an edit, even one that decodes
	// to the same object.
	for _, s := range []string{
		`{"b":"1","a":"2"}`,    // keys out of order
		`{"a":"1","a":"1"}`,    // a duplicated key
		`{"a": "1"}`,           // a space
		`{"a":"\u0031"}`,       // an escape the log never writes
		`{"a":"<\u003e"}`,      // encoding/json's HTML escape
		`{"a":"\u0001"}`,       // a control character
		`{"a":1}`,              // not a string
		`null`, `[]`, `""`, ``, // not an object
		`{"a":"1"} `,       // trailing space
		"{\"a\":\"\xff\"}", // invalid UTF-8
	} {
		if d, err := decodeDetail(s); err == nil {
			t.Errorf("decodeDetail(%q) = %v, want an error", s, d)
		}
	}
}

func TestParseHead(t *testing.T) {
	h := vectors[0].hash
	good := map[string]Head{
		"1:" + h:                           {1, h},
		" 42:" + strings.ToUpper(h) + "\n": {42, h},
		"0:" + Genesis:                     {0, Genesis},
	}
	for in, want := range good {
		got, err := ParseHead(in)
		if err != nil || got != want {
			t.Errorf("ParseHead(%q) = %v, %v; want %v", in, got, err, want)
		}
		if got.String() != strings.TrimSpace(strings.ToLower(in)) {
			t.Errorf("Head.String() = %q, want %q", got.String(), strings.TrimSpace(strings.ToLower(in)))
		}
	}
	for _, in := range []string{"", h, "1", "1:", "x:" + h, "-1:" + h, "1:" + h[:63], "1:" + h + "0", "1:" + strings.Repeat("g", 64), "0:" + h} {
		if got, err := ParseHead(in); err == nil {
			t.Errorf("ParseHead(%q) = %v, want an error", in, got)
		}
	}
}
