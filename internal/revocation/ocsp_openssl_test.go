package revocation

import (
	"context"
	"crypto"
	"encoding/base64"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/server"
)

// TestOCSPOpenSSL drives the responder, behind the real server (so GET goes
// through server.RawRouter), with the openssl and curl binaries.
func TestOCSPOpenSSL(t *testing.T) {
	for _, bin := range []string{"openssl", "curl"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not installed", bin)
		}
	}
	p := testPKI(t)
	o := newTestResponder(t, newFakeCA(p, clock.Real{}), nil)
	srv := server.New(server.Config{Listen: "127.0.0.1:0", Log: slog.New(slog.DiscardHandler)}, o)
	addr, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	url := "http://" + addr.String() + "/ocsp"

	dir := t.TempDir()
	root := writePEM(t, dir, "root.pem", p.root)
	issuing := writePEM(t, dir, "issuing.pem", p.issuing)
	good := writePEM(t, dir, "good.pem", p.good)
	revoked := writePEM(t, dir, "revoked.pem", p.revoked)
	slashy := writePEM(t, dir, "slashy.pem", p.slashy)
	other := writePEM(t, dir, "other.pem", p.other)
	otherLeaf := writePEM(t, dir, "otherleaf.pem", p.otherLeaf)

	run := func(t *testing.T, name string, args ...string) string {
		t.Helper()
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		if testing.Verbose() {
			t.Logf("$ %s %s\n%s", name, strings.Join(args, " "), out)
		}
		return string(out)
	}
	expect := func(t *testing.T, out string, want ...string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("output lacks %q:\n%s", w, out)
			}
		}
	}
	// Only the root is trusted: the responder certificate (in the response)
	// chains to it through the issuing CA given as -issuer.
	// openssl reads its options in order: -issuer and a digest option must
	// come before the -cert or -serial they apply to.
	verify := []string{"-CAfile", root, "-resp_text"}
	iss := []string{"ocsp", "-issuer", issuing}
	cmd := func(args ...string) []string { return append(append(append([]string{}, iss...), args...), verify...) }

	t.Run("POST good", func(t *testing.T) {
		// With openssl's default nonce: we do not echo it (pre-signed, RFC 5019).
		out := run(t, "openssl", cmd("-cert", good, "-url", url)...)
		expect(t, out, "Response verify OK", good+": good", "WARNING: no nonce in response", "Hash Algorithm: sha1")
	})
	t.Run("POST revoked", func(t *testing.T) {
		out := run(t, "openssl", cmd("-no_nonce", "-cert", revoked, "-url", url)...)
		expect(t, out, "Response verify OK", revoked+": revoked", "Revocation Time: ", "Reason: keyCompromise")
	})
	t.Run("POST unknown serial", func(t *testing.T) {
		out := run(t, "openssl", cmd("-no_nonce", "-serial", "0xdeadbeef", "-url", url)...)
		expect(t, out, "Response verify OK", "0xdeadbeef: unknown")
	})
	t.Run("POST SHA-256 CertID", func(t *testing.T) {
		out := run(t, "openssl", cmd("-no_nonce", "-sha256", "-cert", revoked, "-url", url)...)
		expect(t, out, "Response verify OK", revoked+": revoked", "Hash Algorithm: sha256")
	})
	t.Run("POST other issuer", func(t *testing.T) {
		out, _ := exec.Command("openssl", "ocsp", "-no_nonce", "-issuer", other, "-cert", otherLeaf, "-url", url, "-CAfile", root).CombinedOutput()
		expect(t, string(out), "Responder Error: unauthorized (6)")
	})
	t.Run("POST two certificates", func(t *testing.T) {
		out, _ := exec.Command("openssl", "ocsp", "-no_nonce", "-issuer", issuing, "-cert", good, "-cert", revoked, "-url", url, "-CAfile", root).CombinedOutput()
		expect(t, string(out), "Responder Error: malformedrequest (1)")
	})
	t.Run("POST malformed", func(t *testing.T) {
		resp := filepath.Join(dir, "malformed.der")
		run(t, "curl", "-sS", "-o", resp, "-H", "Content-Type: application/ocsp-request", "--data-binary", "not an OCSP request", url)
		out, _ := exec.Command("openssl", "ocsp", "-respin", resp, "-resp_text").CombinedOutput()
		expect(t, string(out), "Responder Error: malformedrequest (1)")
	})

	// GET: openssl 3.0 cannot send GET, so: openssl makes the request,
	// curl fetches /ocsp/<base64>, openssl verifies the saved response.
	get := func(t *testing.T, cert, reqName string, extra []string, escape bool, want ...string) {
		req := filepath.Join(dir, reqName+".req")
		run(t, "openssl", append(append([]string{"ocsp", "-no_nonce", "-issuer", issuing}, extra...), "-cert", cert, "-reqout", req)...)
		der, err := os.ReadFile(req)
		if err != nil {
			t.Fatal(err)
		}
		b64 := base64.StdEncoding.EncodeToString(der)
		if escape {
			b64 = strings.NewReplacer("/", "%2F", "+", "%2B", "=", "%3D").Replace(b64)
		}
		resp := filepath.Join(dir, reqName+".resp")
		headers := run(t, "curl", "-sS", "--fail", "-D", "-", "-o", resp, url+"/"+b64)
		expect(t, headers, "HTTP/1.1 200", "Content-Type: application/ocsp-response",
			"Cache-Control: max-age=60, public, no-transform, must-revalidate", "Etag: \"", "Last-Modified: ", "Expires: ")
		out := run(t, "openssl", cmd(append(extra, "-respin", resp, "-cert", cert)...)...)
		expect(t, out, append([]string{"Response verify OK"}, want...)...)
	}
	t.Run("GET with // unescaped", func(t *testing.T) {
		req, err := ocspRequestViaOpenSSL(issuing, slashy, dir)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(base64.StdEncoding.EncodeToString(req), "//") {
			t.Fatal("fixture: openssl's request has no // in its base64")
		}
		get(t, slashy, "slashy", nil, false, slashy+": good")
	})
	t.Run("GET percent-encoded", func(t *testing.T) { get(t, slashy, "slashy-esc", nil, true, slashy+": good") })
	t.Run("GET revoked SHA-256", func(t *testing.T) {
		get(t, revoked, "revoked", []string{"-sha256"}, false, revoked+": revoked", "Reason: keyCompromise")
	})
	t.Run("GET unknown serial", func(t *testing.T) {
		req := filepath.Join(dir, "unknown.req")
		run(t, "openssl", "ocsp", "-no_nonce", "-issuer", issuing, "-serial", "0x7777", "-reqout", req)
		der, _ := os.ReadFile(req)
		resp := filepath.Join(dir, "unknown.resp")
		run(t, "curl", "-sS", "--fail", "-o", resp, url+"/"+base64.StdEncoding.EncodeToString(der))
		out := run(t, "openssl", cmd("-respin", resp, "-reqin", req, "-serial", "0x7777")...)
		expect(t, out, "Response verify OK", "0x7777: unknown")
	})
}

// ocspRequestViaOpenSSL returns the DER request openssl makes for cert.
func ocspRequestViaOpenSSL(issuer, cert, dir string) ([]byte, error) {
	path := filepath.Join(dir, fmt.Sprintf("probe-%d.req", time.Now().UnixNano()))
	if out, err := exec.Command("openssl", "ocsp", "-no_nonce", "-issuer", issuer, "-cert", cert, "-reqout", path).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%v: %s", err, out)
	}
	return os.ReadFile(path)
}

// The Go-made request for the fixture's "//" serial equals openssl's.
func TestOCSPRequestMatchesOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	p := testPKI(t)
	dir := t.TempDir()
	got, err := ocspRequestViaOpenSSL(writePEM(t, dir, "i.pem", p.issuing), writePEM(t, dir, "c.pem", p.slashy), dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := ocspRequestDER(p.issuing, new(big.Int).Set(p.slashy.SerialNumber), crypto.SHA1); string(got) != string(want) {
		t.Errorf("openssl request %x\n     Go request %x", got, want)
	}
}
