package main_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/ooapi"
	"github.com/nemid-dk/nemid/ooapi/xmldsig"
)

// verifyReport is the JSON `nemid response verify` prints.
type verifyReport struct {
	Trust      string   `json:"trust"`
	NotChecked []string `json:"notChecked"`
	Result     *struct {
		Action, Status, Type, SerialNumber, PID, CVR, RID, RequestIssuer string
		Revocation                                                       *struct {
			Method  string
			Revoked bool
			Reason  *int
		}
	} `json:"result"`
	Error *struct {
		Reason, XMLDSig, Message string
	} `json:"error"`
	ClientError *struct {
		Code, TextDA, TextEN string
		Known                bool
	} `json:"clientError"`
}

func decodeReport(t *testing.T, out string) verifyReport {
	t.Helper()
	var rep verifyReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not the JSON report: %v\n%s", err, out)
	}
	return rep
}

func TestResponseVerifyRealResponses(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	for _, c := range []struct{ file, issuer, pid, rid string }{
		{"XMLDSigMessage-POCES.xml", "Nets Customer Demo", "9208-2002-2-751708631151", ""},
		{"XMLDSigMessage-POCES-encoding-base64.xml", "Nets Customer Demo", "9208-2002-2-751953802340", ""},
		{"XMLDSigMessage-MOCES.xml", "Rently API", "", "45490598"},
	} {
		rep := decodeReport(t, r.ok("response", "verify", "--trust", "preprod", "--at", "2021-05-13T12:00:00Z",
			"--revocation", "none", "--logonto", c.issuer, spFixture(t, c.file)))
		if rep.Result == nil || rep.Result.Status != "valid" || rep.Result.PID != c.pid || rep.Result.RID != c.rid ||
			rep.Result.RequestIssuer != c.issuer || rep.Result.Revocation.Method != "none" {
			t.Fatalf("%s: %+v", c.file, rep.Result)
		}
		if strings.Join(rep.NotChecked, ",") != "challenge,revocation" {
			t.Fatalf("%s: the report must say the challenge was not checked: %v", c.file, rep.NotChecked)
		}
	}
	res := r.fail("response", "verify", "--trust", "preprod", "--at", "2021-05-13T12:00:00Z", "--revocation", "none",
		spFixture(t, "XMLDSigMessage-MOCES-expired.xml"))
	rep := decodeReport(t, res.stdout)
	if rep.Error == nil || rep.Error.XMLDSig != xmldsig.SignatureInvalid.String() {
		t.Fatalf("the damaged response: %s", res)
	}
	// An error code, as the client posts it.
	code := filepath.Join(r.dir, "can002.txt")
	os.WriteFile(code, []byte(base64.StdEncoding.EncodeToString([]byte("CAN002"))), 0o644)
	rep = decodeReport(t, r.fail("response", "verify", "--trust", "preprod", "--revocation", "none", code).stdout)
	if rep.ClientError == nil || rep.ClientError.Code != "CAN002" || !rep.ClientError.Known || rep.ClientError.TextDA == "" {
		t.Fatalf("CAN002: %+v", rep)
	}
	// Bad flags change nothing and say what is wrong.
	for _, args := range [][]string{
		{"--trust", "test"}, {"--revocation", "maybe"}, {"--at", "yesterday"},
	} {
		res := r.fail(append(append([]string{"response", "verify"}, args...), spFixture(t, "XMLDSigMessage-POCES.xml"))...)
		if !strings.Contains(res.stderr, args[0]) {
			t.Fatalf("%v: %s", args, res)
		}
	}
}

// TestResponseVerifyRevocation: a response signed with a certificate of our
// own CA validates against `nemid serve` with each revocation method, is
// reported revoked by each after `nemid ca revoke`, and an unreachable
// OCSP responder is an error, never a pass.
func TestResponseVerifyRevocation(t *testing.T) {
	t.Parallel()
	rs := newRevocationSetup(t)
	resp := filepath.Join(rs.r.dir, "response.b64")
	writeResponse(t, rs, resp)
	s := startServe(t, rs.r, "--data", rs.data, "--listen", rs.listen)
	ldap := strings.TrimPrefix(s.ldapURL(), "ldap://")
	verify := func(method string) []string {
		return []string{"response", "verify", "--data", rs.data, "--trust", "ours", "--revocation", method,
			"--ldap-server", ldap, "--logonto", "Testbutikken", resp}
	}
	for _, m := range []string{"ocsp", "crl", "ldap"} {
		rep := decodeReport(t, rs.r.ok(verify(m)...))
		if rep.Result.Status != "valid" || rep.Result.Revocation.Method != m || rep.Result.PID == "" {
			t.Fatalf("%s before revocation: %+v", m, rep.Result)
		}
	}
	rs.r.ok("ca", "revoke", "--data", rs.data, "--serial", rs.serial.Text(16), "--reason", "keyCompromise")
	rs.seen(t, s, time.Now())
	for _, m := range []string{"ocsp", "crl", "ldap"} {
		rep := decodeReport(t, rs.r.fail(verify(m)...).stdout)
		if rep.Result == nil || rep.Result.Status != "revoked" || rep.Result.Revocation.Method != m ||
			rep.Result.Revocation.Reason == nil || *rep.Result.Revocation.Reason != 1 || rep.Error == nil {
			t.Fatalf("%s after revocation: %+v", m, rep)
		}
	}
	s.stop()
	for _, m := range []string{"ocsp", "crl", "ldap"} {
		rep := decodeReport(t, rs.r.fail(verify(m)...).stdout)
		if rep.Result != nil || rep.Error == nil || rep.Error.Reason != ooapi.RevocationUnknown.String() {
			t.Fatalf("%s with the server down: %+v", m, rep)
		}
	}
}

// writeResponse writes a JS-client logon response signed with the setup's
// leaf key, base64 as the client posts it.
func writeResponse(t *testing.T, rs *revocationSetup, path string) {
	t.Helper()
	keyPEM, err := os.ReadFile(filepath.Join(rs.r.dir, "leaf.key"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		t.Fatal("leaf.key is not PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	}
	if err != nil {
		t.Fatal(err)
	}
	key := k.(*rsa.PrivateKey)
	chain := []*x509.Certificate{parseCertFile(t, filepath.Join(rs.caDir, "issuing.pem")), parseCertFile(t, rs.leaf),
		parseCertFile(t, filepath.Join(rs.caDir, "root.pem"))}
	props := []xmldsig.Property{
		{Name: "RequestIssuer", Value: "Testbutikken", Encoding: xmldsig.EncodingBase64, VisibleToSigner: true},
		{Name: "TimeStamp", Value: ooapi.FormatTimestamp(time.Now()), Encoding: xmldsig.EncodingBase64},
		{Name: "action", Value: "logon", Encoding: xmldsig.EncodingXML},
	}
	doc, err := xmldsig.BuildJSClientResponse(props, chain, func(si []byte) ([]byte, error) {
		sum := sha256.Sum256(si)
		return rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(doc)), 0o644); err != nil {
		t.Fatal(err)
	}
}
