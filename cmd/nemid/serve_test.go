package main_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// server is a running `nemid serve`.
type server struct {
	t      testing.TB
	cmd    *exec.Cmd
	base   string // http://ADDR it listens on
	banner string // the "nemid is serving" line
	stdout *syncBuffer
	stderr *syncBuffer
	done   chan struct{} // closed when the process has exited

	mu   sync.Mutex
	ldap string // ldap://ADDR of its LDAP directory, once printed
}

var (
	servingLine = regexp.MustCompile(`^nemid is serving on (http://\S+) `)
	ldapLine    = regexp.MustCompile(`^LDAP directory of CRLs on (ldap://\S+)`)
)

func (s *server) setLDAP(url string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ldap = url
}

// ldapURL returns the LDAP URL serve printed (it prints it right after the
// HTTP line, so wait for it briefly).
func (s *server) ldapURL() string {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		url := s.ldap
		s.mu.Unlock()
		if url != "" {
			return url
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("serve printed no LDAP address:\n%s", s.output())
	return ""
}

// startServe starts `nemid serve` with args and waits until it says where
// it serves.
func startServe(t testing.TB, r *runner, args ...string) *server {
	t.Helper()
	if !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--ldap-listen") }) {
		// Tests run in parallel: never the fixed default LDAP port.
		args = append(args, "--ldap-listen", "127.0.0.1:0")
	}
	if !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--tls-listen") }) {
		// Nor the fixed default HTTPS port of the CPR services.
		args = append(args, "--tls-listen", "127.0.0.1:0")
	}
	cmd := exec.Command(nemidBin, append([]string{"serve"}, args...)...)
	cmd.Dir = r.dir
	cmd.Env = childEnv(r.env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, cmd: cmd, stdout: new(syncBuffer), stderr: new(syncBuffer), done: make(chan struct{})}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			fmt.Fprintln(s.stdout, sc.Text())
			if m := ldapLine.FindStringSubmatch(sc.Text()); m != nil {
				s.setLDAP(m[1])
			}
			if servingLine.MatchString(sc.Text()) {
				select {
				case ready <- sc.Text():
				default:
				}
			}
		}
		cmd.Wait()
	}()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			cmd.Process.Kill()
			<-s.done
		}
	})
	// A first start generates RSA-4096 keys: allow it a minute on a busy machine.
	select {
	case line := <-ready:
		s.banner = line
		s.base = servingLine.FindStringSubmatch(line)[1]
	case <-s.done:
		t.Fatalf("nemid serve %s exited before serving (%s):\n%s", strings.Join(args, " "), cmd.ProcessState, s.output())
	case <-time.After(90 * time.Second):
		t.Fatalf("nemid serve %s did not say where it serves within 90 s:\n%s", strings.Join(args, " "), s.output())
	}
	return s
}

func (s *server) output() string {
	return "--- stdout:\n" + s.stdout.String() + "--- stderr:\n" + s.stderr.String()
}

// stop sends SIGTERM and checks for a graceful exit (status 0) within 5 s.
func (s *server) stop() {
	s.t.Helper()
	start := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		s.t.Fatal(err)
	}
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		s.t.Fatalf("nemid serve did not exit within 5 s of SIGTERM:\n%s", s.output())
	}
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		s.t.Errorf("nemid serve exited with %d (%s) after SIGTERM, want 0:\n%s", code, s.cmd.ProcessState, s.output())
	}
	if !strings.Contains(s.stderr.String(), "shutting down") {
		s.t.Errorf("no shutdown in the log:\n%s", s.output())
	}
	s.t.Logf("stopped %v after SIGTERM", time.Since(start).Round(time.Millisecond))
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

type response struct {
	code   int
	header http.Header
	body   []byte
}

func get(t testing.TB, url string, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return response{resp.StatusCode, resp.Header, body}
}

// derOf returns the DER of the one certificate in a PEM file.
func derOf(t testing.TB, file string) []byte {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(raw)
	if b == nil || b.Type != "CERTIFICATE" {
		t.Fatalf("%s holds no PEM certificate", file)
	}
	return b.Bytes
}

// checkEndpoints checks what a running server publishes against the CA
// certificates `nemid ca export` wrote into caDir.
func checkEndpoints(t *testing.T, s *server, caDir string) {
	t.Helper()
	if res := get(t, s.base+"/healthz"); res.code != 200 || string(res.body) != "ok\n" {
		t.Errorf("GET /healthz: %d %q", res.code, res.body)
	}
	res := get(t, s.base+"/metrics")
	if res.code != 200 || !regexp.MustCompile(`(?m)^nemid_http_requests_total\{code="200",route="GET /healthz"\} [1-9]`).Match(res.body) {
		t.Errorf("GET /metrics: %d, no count of the /healthz request in nemid_http_requests_total:\n%.2000s", res.code, res.body)
	}
	for _, c := range []struct{ path, pem string }{
		{"/aia/issuing.cer", "issuing.pem"}, {"/aia/root.cer", "root.pem"}, {"/aia/ocsp.cer", "ocsp.pem"},
	} {
		want := derOf(t, filepath.Join(caDir, c.pem))
		res := get(t, s.base+c.path)
		if res.code != 200 || res.header.Get("Content-Type") != "application/pkix-cert" {
			t.Errorf("GET %s: %d, Content-Type %q", c.path, res.code, res.header.Get("Content-Type"))
		}
		if !bytes.Equal(res.body, want) {
			t.Errorf("GET %s: the body is not the DER of %s from ca export", c.path, c.pem)
		}
		etag := res.header.Get("ETag")
		if etag == "" {
			t.Errorf("GET %s: no ETag", c.path)
			continue
		}
		if res := get(t, s.base+c.path, "If-None-Match", etag); res.code != http.StatusNotModified || len(res.body) != 0 {
			t.Errorf("GET %s with If-None-Match %s: %d with %d bytes, want 304 and no body", c.path, etag, res.code, len(res.body))
		}
		if res := get(t, s.base+c.path, "If-None-Match", `"another"`); res.code != 200 {
			t.Errorf("GET %s with another If-None-Match: %d, want 200", c.path, res.code)
		}
	}
	res = get(t, s.base+"/repository")
	if res.code != 200 || !strings.HasPrefix(res.header.Get("Content-Type"), "text/html") ||
		!strings.Contains(res.header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("GET /repository: %d, Content-Type %q, Content-Security-Policy %q", res.code, res.header.Get("Content-Type"), res.header.Get("Content-Security-Policy"))
	}
	sum := sha256.Sum256(derOf(t, filepath.Join(caDir, "issuing.pem")))
	if fp := fmt.Sprintf("%X", sum); !bytes.Contains(res.body, []byte(fp)) {
		t.Errorf("GET /repository: the page does not show the issuing CA's fingerprint %s:\n%s", fp, res.body)
	}
	if res := get(t, s.base+"/aia/unknown.cer"); res.code != http.StatusNotFound {
		t.Errorf("GET /aia/unknown.cer: %d, want 404", res.code)
	}
}

var caIssuersURI = regexp.MustCompile(`CA Issuers - URI:(\S+)`)

// checkAIA issues a certificate and checks that the caIssuers URL written
// into it serves the issuing CA, from which openssl builds the chain.
func checkAIA(t *testing.T, r *runner, s *server, data, caDir string) {
	t.Helper()
	leaf := filepath.Join(r.dir, "aia-leaf.pem")
	r.ok("ca", "issue", "--data", data, "--profile", "poces", "--name", "Anne Hansen",
		"--key-out", filepath.Join(r.dir, "aia-leaf.key"), "--cert-out", leaf)
	ext := openssl(t, "x509", "-in", leaf, "-noout", "-ext", "authorityInfoAccess")
	m := caIssuersURI.FindStringSubmatch(ext)
	if m == nil {
		t.Fatalf("no caIssuers URI in the certificate:\n%s", ext)
	}
	if !strings.HasPrefix(m[1], s.base+"/") {
		t.Errorf("caIssuers URL %s is not served by this server (%s)", m[1], s.base)
	}
	res := get(t, m[1])
	if res.code != 200 || !bytes.Equal(res.body, derOf(t, filepath.Join(caDir, "issuing.pem"))) {
		t.Fatalf("GET %s (caIssuers): %d, %d bytes, not the issuing CA certificate", m[1], res.code, len(res.body))
	}
	fetchedDER, fetched := filepath.Join(r.dir, "fetched.cer"), filepath.Join(r.dir, "fetched.pem")
	if err := os.WriteFile(fetchedDER, res.body, 0o644); err != nil {
		t.Fatal(err)
	}
	openssl(t, "x509", "-inform", "DER", "-in", fetchedDER, "-out", fetched)
	if out := openssl(t, "verify", "-CAfile", filepath.Join(caDir, "root.pem"), "-untrusted", fetched, leaf); strings.TrimSpace(out) != leaf+": OK" {
		t.Errorf("openssl verify with the fetched issuing CA: %q", out)
	}
}

// TestServeFirstStart: serve on an empty data directory initialises a
// preprod CA, publishes it, answers while other processes use the
// database, and stops gracefully; a restart keeps the installation.
func TestServeFirstStart(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	data := filepath.Join(r.dir, "data")
	listen := "127.0.0.1:" + freePort(t)
	s := startServe(t, r, "--data", data, "--listen", listen)
	if s.base != "http://"+listen {
		t.Errorf("serving on %s, want http://%s", s.base, listen)
	}
	if !strings.Contains(s.banner, "(CA repository: http://"+listen+"/repository)") {
		t.Errorf("the public URL of a first start should default to the listen address: %s", s.banner)
	}
	if !strings.Contains(s.stderr.String(), "initialising a preprod CA") {
		t.Errorf("no first-start initialisation in the log:\n%s", s.output())
	}
	// The installation is there, seen by other processes while serve runs.
	if fi, err := os.Stat(filepath.Join(data, "master.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("master.key: %v %v", fi, err)
	}
	// The issuing CA, the OCSP responder and the TLS server certificate
	// of the CPR services, issued (and recorded) at the start.
	if rows := r.list("--data", data); len(rows) != 3 || !slices.ContainsFunc(rows, func(l listed) bool { return l.Profile == "tls-server" }) {
		t.Errorf("ca list: %d rows, want the issuing CA, the OCSP responder and the CPR services' TLS certificate: %+v", len(rows), rows)
	}
	caDir := exportCA(t, r, data)
	subject := openssl(t, "x509", "-in", filepath.Join(caDir, "issuing.pem"), "-noout", "-subject", "-nameopt", "RFC2253")
	if strings.TrimSpace(subject) != "subject=CN=NemID Systemtest I CA,O=NemID Systemtest,C=DK" {
		t.Errorf("issuing CA of a first start: %s", subject)
	}
	checkEndpoints(t, s, caDir)
	checkAIA(t, r, s, data, caDir)

	// A second server cannot take the port, and says so.
	res := r.fail("serve", "--data", data, "--listen", listen)
	if !strings.Contains(res.stderr, "listen on "+listen) {
		t.Errorf("a second server on a taken port:\n%s", res)
	}
	s.stop()

	// Restarted on a random port, it serves the same installation: no new
	// initialisation, the public URL of the first start.
	s = startServe(t, r, "--data", data, "--listen", "127.0.0.1:0")
	if strings.HasSuffix(s.base, ":0") || !strings.HasPrefix(s.base, "http://127.0.0.1:") {
		t.Errorf("--listen 127.0.0.1:0: serving on %s, want the port it got", s.base)
	}
	if strings.Contains(s.stderr.String(), "initialising") {
		t.Errorf("a restart initialised again:\n%s", s.output())
	}
	if !strings.Contains(s.banner, "(CA repository: http://"+listen+"/repository)") {
		t.Errorf("the restart changed the public URL: %s", s.banner)
	}
	checkEndpoints(t, s, caDir)
	s.stop()
}

// TestServeAfterInit: with `nemid init --public-url` naming the address
// serve listens on, the caIssuers URL of every certificate is fetchable.
func TestServeAfterInit(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	data := filepath.Join(r.dir, "data")
	listen := "127.0.0.1:" + freePort(t)
	r.ok("init", "--data", data, "--public-url", "http://"+listen)
	caDir := exportCA(t, r, data)
	s := startServe(t, r, "--data", data, "--listen", listen)
	if strings.Contains(s.stderr.String(), "initialising") {
		t.Errorf("serve initialised an initialised data directory:\n%s", s.output())
	}
	checkAIA(t, r, s, data, caDir)
	if res := get(t, s.base+"/healthz"); res.code != 200 {
		t.Errorf("GET /healthz: %d", res.code)
	}
	s.stop()
}

// TestServeFirstStartNeedsAddress: a first start cannot write a wildcard
// host or port 0 into the CA's URLs; it refuses before making any key.
func TestServeFirstStartNeedsAddress(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	r.timeout = 20 * time.Second // a server that starts instead of refusing runs until killed
	for i, listen := range []string{"127.0.0.1:0", ":" + freePort(t), "0.0.0.0:" + freePort(t), "[::]:8080"} {
		data := filepath.Join(r.dir, fmt.Sprint("data", i))
		res := r.fail("serve", "--data", data, "--listen", listen)
		if !strings.Contains(res.stderr, "--public-url") || !strings.Contains(res.stderr, listen) {
			t.Errorf("want an error asking for --public-url:\n%s", res)
		}
		if _, err := os.Lstat(filepath.Join(data, "master.key")); err == nil {
			t.Errorf("--listen %s: master.key was created", listen)
		}
	}
}
