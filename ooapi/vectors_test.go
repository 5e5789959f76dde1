package ooapi

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Test vector A (spec 3.3): a crypto vector from madsodgaard/sss-nemid,
// whose values are not canonical NemID values.
func TestVectorA(t *testing.T) {
	params := []Param{ // in no particular order: Normalize sorts
		{"TIMESTAMP", "1000.0"},
		{"ORIGIN", "https://nemid.dk"},
		{"CLIENTFLOW", "ocesLogin2"},
		{"SP_CERT", "cert"},
		{"LANGUAGE", "DA"},
	}
	const (
		wantNormalized = "CLIENTFLOWocesLogin2LANGUAGEDAORIGINhttps://nemid.dkSP_CERTcertTIMESTAMP1000.0"
		wantDigest     = "5xhSpQNbt1pxNVASMrdg1irRp7uWR/JkZ5wT4c4IHd0="
		wantSignature  = "hUkuhANqk6oqa5+nHBZBc4/UpV0rj7iYn1d2UyBq4XxfyW6O2Qy+LcGN+ZGNVxDJklHbJjg8VbNyjaQ8kYzximmOAvUmCEL9WCw9eT50Uv+6H+uxSQYpe4NijBA2XKhkFAmYH6w2Mdnk9fdku9hq4geVSqCjqIU+8iK++b94LGw="
	)
	n, err := Normalize(params)
	if err != nil {
		t.Fatal(err)
	}
	if string(n) != wantNormalized {
		t.Errorf("normalized:\n got %s\nwant %s", n, wantNormalized)
	}
	keyPEM, err := os.ReadFile("testdata/vector-a.key.pem")
	if err != nil {
		t.Fatal(err)
	}
	key, err := ParseRSAPrivateKeyPEM(keyPEM) // PKCS#1
	if err != nil {
		t.Fatal(err)
	}
	ps, err := SignParameters(params, key)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := ps.Get(ParamsDigest); got != wantDigest {
		t.Errorf("PARAMS_DIGEST = %s, want %s", got, wantDigest)
	}
	if got, _ := ps.Get(DigestSignature); got != wantSignature {
		t.Errorf("DIGEST_SIGNATURE = %s, want %s", got, wantSignature)
	}
	if err := verifySignature(&key.PublicKey, n, wantSignature); err != nil {
		t.Errorf("the vector's signature does not verify: %v", err)
	}
}

// vectorBParams are the parameters of test vector B (spec 3.4).
func vectorBParams(t testing.TB) []Param {
	cert, err := ParseCertificatePEM(readFixture(t, "sp-test.cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	s := &SPSigner{Cert: cert}
	return []Param{
		{"CLIENTFLOW", "OCESLOGIN2"},
		{"LANGUAGE", "DA"},
		{"ORIGIN", "https://sp.example.dk"},
		{"SIGN_PROPERTIES", "challenge=1234567890123"},
		{"SP_CERT", s.SPCert()},
		{"TIMESTAMP", "MjAyMS0wMS0xOSAxNDo0NDowMCswMDAw"},
	}
}

const (
	vectorBDigest    = "GvZf8uIT6LHS1HOpeWebIei1r/Llc1GMbTFKOo21QcI="
	vectorBSignature = "GOwhaqabe3En2IHBchkJcjkfvCVij2V0P/UCmnvMwqAQHUt3efUdHEgu0EdmqgO085YmSkwvuEag+bodNlD8NPuquidLwufWUttXb8jqCEhjQxq8iq9FpMWtcbJbMB2/SJI5rwdPYiXxelWL7z2B2aVgzJ8MjqYVuRkDdahIYFGEuwDXJF/TwwIvLIc6r4n8DzbHdQA8W6wr61dbPt8ZrUuvFOe55PqX3EP24/hE/zcxyRFTrF9OKb95Y9OG38nsYXGK8dDahsFnf5BQ7dlG+a4Qqj2Vf11avU4UHL74Fb2GP1+v+UzK+eBNOVt6aUlfDYL5PNC1LKNVAHh8KPtqPg=="
)

// Test vector B (spec 3.4), from the PP VOCES fixture: bit for bit.
func TestVectorB(t *testing.T) {
	params := vectorBParams(t)
	spCert := params[4].Value
	if len(spCert) != 2132 || spCert[:28] != "MIIGOTCCBSGgAwIBAgIEW6065DAN" {
		t.Fatalf("SP_CERT: %d chars starting %.28s, want 2132 starting MIIGOTCCBSGgAwIBAgIEW6065DAN", len(spCert), spCert)
	}
	s := fixtureSigner(t)
	ps, err := s.SignParams(params)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := ps.Get(ParamsDigest); got != vectorBDigest {
		t.Errorf("PARAMS_DIGEST = %s, want %s", got, vectorBDigest)
	}
	if got, _ := ps.Get(DigestSignature); got != vectorBSignature {
		t.Errorf("DIGEST_SIGNATURE = %s, want %s", got, vectorBSignature)
	}
	if problems := VerifyParameters(ps, vectorBTime, VerifyOptions{Origin: "https://sp.example.dk"}); len(problems) > 0 {
		t.Errorf("vector B does not verify: %v", problems)
	}
	// Through JSON and back: the same set, the same verdict.
	back, err := ParseParameters(ps.JSON())
	if err != nil {
		t.Fatal(err)
	}
	if string(back.JSON()) != string(ps.JSON()) {
		t.Errorf("JSON round trip changed the set:\n%s\n%s", ps.JSON(), back.JSON())
	}
	if problems := VerifyParameters(back, vectorBTime, VerifyOptions{}); len(problems) > 0 {
		t.Errorf("parsed vector B does not verify: %v", problems)
	}
}

// The builder's logon at vector B's moment differs from vector B only in
// the challenge: with vector B's challenge put back, it is vector B.
func TestLogonMatchesVectorB(t *testing.T) {
	s := fixtureSigner(t)
	ps, challenge, err := s.Logon(LogonOptions{ClientOptions: ClientOptions{Origin: "https://sp.example.dk", Language: DA}})
	if err != nil {
		t.Fatal(err)
	}
	var unsigned []Param
	for _, p := range ps.Params() {
		switch p.Name {
		case ParamsDigest, DigestSignature:
			continue
		case ParamSignProperties:
			if p.Value != "challenge="+string(challenge) {
				t.Errorf("SIGN_PROPERTIES = %q, want challenge=%s", p.Value, challenge)
			}
			p.Value = "challenge=1234567890123"
		}
		unsigned = append(unsigned, p)
	}
	want := vectorBParams(t)
	if len(unsigned) != len(want) {
		t.Fatalf("logon parameters %v, want %v", unsigned, want)
	}
	for i := range want {
		if unsigned[i] != want[i] {
			t.Errorf("parameter %d = %v, want %v", i, unsigned[i], want[i])
		}
	}
	if d, _ := Digest(unsigned); d != vectorBDigest {
		t.Errorf("digest %s, want vector B's %s", d, vectorBDigest)
	}
}

// openssl, an independent judge, verifies what we sign.
func TestSignatureVerifiesWithOpenSSL(t *testing.T) {
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatalf("openssl is needed to cross-check the signature: %v", err)
	}
	s := fixtureSigner(t)
	ps, _, err := s.Sign(SignOptions{
		ClientOptions: ClientOptions{Origin: "https://sp.example.dk", TransactionContext: "Overførsel af 100 kr."},
		Text:          PlainSignText("Jeg bekræfter æøå ÆØÅ — €"),
	})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	sig, _ := ps.Get(DigestSignature)
	sigBytes, err := decodeBase64(sig)
	if err != nil {
		t.Fatal(err)
	}
	data := write("normalized", ps.Normalized())
	sigFile := write("sig", sigBytes)
	cert := write("cert.pem", readFixture(t, "sp-test.cert.pem"))
	pub, err := exec.Command(bin, "x509", "-in", cert, "-noout", "-pubkey").Output()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "dgst", "-sha256", "-verify", write("pub.pem", pub), "-signature", sigFile, data).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl dgst -verify: %v\n%s", err, out)
	}
	digest, err := exec.Command(bin, "dgst", "-sha256", "-binary", data).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := ps.Get(ParamsDigest); got != b64(digest) {
		t.Errorf("PARAMS_DIGEST %s, openssl says %s", got, b64(digest))
	}
}
