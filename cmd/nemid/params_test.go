package main_test

// Tests of `nemid params sign` and `nemid params verify` with the real
// preproduction VOCES of the shared fixtures (spec 3.4, test vector B).

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// spFixture returns the absolute path of a shared NemID fixture; the test
// fails if it is missing.
func spFixture(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("../../../shared/fixtures/nemid-preprod", name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("the shared NemID fixtures are needed: %v", err)
	}
	return p
}

// vectorBAt is inside the fixture VOCES's validity (2019-12-16 to 2022-12-16).
const vectorBAt = "2021-01-19T14:44:00Z"

func signArgs(t *testing.T, extra ...string) []string {
	return append([]string{"params", "sign", "--cert", spFixture(t, "sp-test.cert.pem"), "--key", spFixture(t, "sp-test.key.pem")}, extra...)
}

func decodeParams(t *testing.T, out string) map[string]string {
	t.Helper()
	var m map[string]string
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("not a JSON object of strings: %v\n%s", err, out)
	}
	return m
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The command reproduces test vector B bit for bit, and verify accepts it.
func TestParamsSignVectorB(t *testing.T) {
	r := newRunner(t)
	res := r.run(signArgs(t, "--at", vectorBAt, "--param", "SIGN_PROPERTIES=challenge=1234567890123",
		"--param", "LANGUAGE=DA", "--param", "ORIGIN=https://sp.example.dk")...)
	if res.code != 0 {
		t.Fatalf("want exit 0:\n%s", res)
	}
	m := decodeParams(t, res.stdout)
	if got := m["PARAMS_DIGEST"]; got != "GvZf8uIT6LHS1HOpeWebIei1r/Llc1GMbTFKOo21QcI=" {
		t.Errorf("PARAMS_DIGEST %s", got)
	}
	if got := m["DIGEST_SIGNATURE"]; !strings.HasPrefix(got, "GOwhaqabe3En2IHBchkJcjkfvCVij2V0P/UCmnvMwqAQHUt3efUdHEgu0") || !strings.HasSuffix(got, "HL74Fb2GP1+v+UzK+eBNOVt6aUlfDYL5PNC1LKNVAHh8KPtqPg==") {
		t.Errorf("DIGEST_SIGNATURE %s", got)
	}
	if len(m) != 8 || m["TIMESTAMP"] != "MjAyMS0wMS0xOSAxNDo0NDowMCswMDAw" {
		t.Errorf("parameters %v", m)
	}
	if strings.Contains(res.stderr, "challenge:") || strings.Contains(res.stderr, "warning") {
		t.Errorf("stderr:\n%s", res.stderr)
	}
	file := writeFile(t, r.dir, "params.json", res.stdout)
	out := r.ok("params", "verify", "--at", vectorBAt, "--origin", "https://sp.example.dk", file)
	for _, want := range []string{"8 parameters for the JS client", "VOCES CVR:30808460-UID:25351738", "OK: NemID would accept", "registered"} {
		if !strings.Contains(out, want) {
			t.Errorf("verify output lacks %q:\n%s", want, out)
		}
	}
}

// Without parameters: CLIENTFLOW, SP_CERT, TIMESTAMP and a fresh challenge,
// printed on standard error.
func TestParamsSignDefaults(t *testing.T) {
	r := newRunner(t)
	res := r.run(signArgs(t, "--at", vectorBAt)...)
	if res.code != 0 {
		t.Fatalf("want exit 0:\n%s", res)
	}
	m := decodeParams(t, res.stdout)
	c := regexp.MustCompile(`challenge: ([0-9a-f]{32})\b`).FindStringSubmatch(res.stderr)
	if c == nil {
		t.Fatalf("no challenge on stderr:\n%s", res.stderr)
	}
	if m["SIGN_PROPERTIES"] != "challenge="+c[1] || m["CLIENTFLOW"] != "OCESLOGIN2" || !strings.HasPrefix(m["SP_CERT"], "MIIGOTCC") {
		t.Errorf("parameters %v", m)
	}
	if strings.Contains(res.stdout, c[1]+"\n") || strings.Contains(res.stderr, "PRIVATE") {
		t.Errorf("output:\n%s", res)
	}
	// Two runs, two challenges.
	if again := r.run(signArgs(t)...); strings.Contains(again.stderr, c[1]) {
		t.Error("the challenge repeats")
	}
}

// A document to sign that NemID would refuse is signed, with NemID's
// verdict on standard error.
func TestParamsSignWarns(t *testing.T) {
	r := newRunner(t)
	doc := writeFile(t, r.dir, "doc.html", `<html><body><img src="https://x.example/t.gif"></body></html>`)
	res := r.run(signArgs(t, "--at", vectorBAt, "--flow", "sign", "--sign-text", doc, "--sign-format", "html",
		"--param", "ORIGIN=https://sp.example.dk", "--script")...)
	if res.code != 0 {
		t.Fatalf("want exit 0:\n%s", res)
	}
	if !strings.Contains(res.stderr, "warning: NemID would refuse this set: APP002 SIGNTEXT") || !strings.Contains(res.stderr, "<img>") {
		t.Errorf("stderr:\n%s", res.stderr)
	}
	if !strings.HasPrefix(res.stdout, `<script type="text/x-nemid" id="nemid_parameters">{`) {
		t.Errorf("stdout %.80s", res.stdout)
	}
	// verify reads the page element too, and explains.
	page := writeFile(t, r.dir, "page.html", "<html><body>\n"+res.stdout+"<iframe></iframe></body></html>")
	failed := r.fail("params", "verify", page, "--at", vectorBAt)
	if !strings.Contains(failed.stdout, "APP002 SIGNTEXT: HTML at byte 12: element <img> is not allowed") ||
		!strings.Contains(failed.stdout, "APP002 means: The sign text is not allowed") {
		t.Errorf("verify:\n%s", failed)
	}
}

func TestParamsVerifyExplains(t *testing.T) {
	r := newRunner(t)
	signed := r.ok(signArgs(t, "--at", vectorBAt, "--param", "ORIGIN=https://sp.example.dk")...)
	tampered := strings.Replace(signed, `"ORIGIN":"https://sp.example.dk"`, `"ORIGIN":"https://evil.example","FOO":"1"`, 1)
	file := writeFile(t, r.dir, "tampered.json", tampered)
	res := r.fail("params", "verify", "--at", "2021-01-19T14:50:00Z", "--normalized", file)
	for _, want := range []string{
		"4 problem(s)",
		"APP007 FOO: not a parameter of the JS client",
		"APP001 PARAMS_DIGEST: does not match the parameters",
		"SRV001 DIGEST_SIGNATURE: not a valid SHA256withRSA signature",
		"SRV003 TIMESTAMP: 2021-01-19T14:44:00Z is 6m0s before the server's time",
		"APP007 means:", "normalized parameters", "CLIENTFLOWOCESLOGIN2FOO1ORIGINhttps://evil.example",
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, res)
		}
	}
	if !strings.Contains(res.stderr, "nemid: 4 problems") {
		t.Errorf("stderr %q", res.stderr)
	}
	// Not JSON at all.
	bad := writeFile(t, r.dir, "bad.json", `{"CLIENTFLOW":"OCESLOGIN2","clientflow":"x"}`)
	res = r.fail("params", "verify", bad)
	if !strings.Contains(res.stdout, "APP001: the parameters cannot be read: duplicate parameter name") {
		t.Errorf("duplicate names:\n%s", res)
	}
}

func TestParamsErrors(t *testing.T) {
	r := newRunner(t)
	keyA, err := filepath.Abs("../../ooapi/testdata/vector-a.key.pem")
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile(keyA)
	if err != nil {
		t.Fatal(err)
	}
	res := r.fail("params", "sign", "--cert", spFixture(t, "sp-test.cert.pem"), "--key", keyA)
	if !strings.Contains(res.stderr, "does not belong") {
		t.Errorf("foreign key:\n%s", res)
	}
	keyLine := strings.Split(string(keyPEM), "\n")[1]
	if strings.Contains(res.stdout+res.stderr, keyLine) {
		t.Error("key material printed")
	}
	for _, args := range [][]string{
		{"params"},
		{"params", "frobnicate"},
		{"params", "sign"},
		signArgs(t, "--flow", "transfer"),
		signArgs(t, "--param", "NOVALUE"),
		signArgs(t, "--param", "LANGUAGE=DA", "--param", "language=EN"),
		signArgs(t, "--param", "PARAMS_DIGEST=x"),
		{"params", "verify"},
		{"params", "verify", "--at", "yesterday", "x.json"},
		{"params", "verify", "missing.json"},
	} {
		r.fail(args...)
	}
	for _, sub := range []string{"sign", "verify"} {
		res := r.run("params", sub, "-h")
		if res.code != 0 || !strings.Contains(res.stderr, "Usage: nemid params "+sub) {
			t.Errorf("params %s -h:\n%s", sub, res)
		}
	}
	if out := r.ok("params", "-h"); !strings.Contains(out, "verify") {
		t.Errorf("params -h: %s", out)
	}
}

// The CodeFile client's set: its values are given in base64 as it wants.
func TestParamsCodeFile(t *testing.T) {
	r := newRunner(t)
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	doc := writeFile(t, r.dir, "doc.txt", "Jeg bekræfter.")
	signed := r.ok(signArgs(t, "--at", vectorBAt, "--flow", "codefile-sign", "--sign-text", doc,
		"--param", "REQUESTISSUER="+b64("Butik A/S"), "--param", "ORIGIN="+b64("https://sp.example.dk"))...)
	m := decodeParams(t, signed)
	if m["CLIENTFLOW"] != "sign" || m["SIGNTEXT_FORMAT"] != "text" {
		t.Errorf("parameters %v", m)
	}
	file := writeFile(t, r.dir, "codefile.json", signed)
	if out := r.ok("params", "verify", "--at", vectorBAt, file); !strings.Contains(out, "for the CodeFile client") || !strings.Contains(out, "OK") {
		t.Errorf("verify:\n%s", out)
	}
}
