//go:build unix

package revocation

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/server"
)

// BenchmarkOCSPVsOpenSSLResponder compares our responder (behind
// server.New, serving a pre-signed answer) with `openssl ocsp -port`
// serving the same issuing CA from a CA-database index file, signing each
// response live with the same delegated RSA-2048 responder key. Both get
// the same DER request (SHA-1 CertID, no nonce, as `openssl ocsp -reqout`
// makes it) POSTed by wrk -t2, with 64 and with 8 connections; the goal is
// ours/openssl > 10. It needs openssl and wrk and runs only when selected:
//
//	go test -run '^$' -bench OCSPVsOpenSSL -benchtime 1x -v ./internal/revocation/
//
// OCSP_WRK_DURATION (default 10s) sets each wrk run's length,
// OCSP_WRK_ROUNDS (default 3) the number of rounds (medians are reported),
// OCSP_OPENSSL_MULTI (default 2, 0 for none) openssl's -multi.
//
// openssl 3.0's responder answers HTTP/1.0 without keep-alive, so every
// request costs it a TCP connection (wrk reconnects); that is measured as it
// is. The -c8 runs keep the accept backlog from dominating. Each openssl run
// gets a fresh responder process (see startOpenSSLResponder).
func BenchmarkOCSPVsOpenSSLResponder(b *testing.B) {
	for _, bin := range []string{"openssl", "wrk"} {
		if _, err := exec.LookPath(bin); err != nil {
			b.Skipf("%s not installed", bin)
		}
	}
	dur := os.Getenv("OCSP_WRK_DURATION")
	if dur == "" {
		dur = "10s"
	}
	rounds := 3
	if v, err := strconv.Atoi(os.Getenv("OCSP_WRK_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	multi := 2
	if v, err := strconv.Atoi(os.Getenv("OCSP_OPENSSL_MULTI")); err == nil && v >= 0 {
		multi = v
	}

	p := testPKI(b)
	dir := b.TempDir()
	root := writePEM(b, dir, "root.pem", p.root)
	caPEM := writePEM(b, dir, "ca.pem", p.issuing)
	respPEM := writePEM(b, dir, "resp.pem", p.responder)
	leafPEM := writePEM(b, dir, "leaf.pem", p.good)
	keyDER, err := x509.MarshalPKCS8PrivateKey(p.responderKey)
	if err != nil {
		b.Fatal(err)
	}
	respKey := filepath.Join(dir, "resp.key")
	if err := os.WriteFile(respKey, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		b.Fatal(err)
	}
	index := writeOpenSSLIndex(b, dir, p, 1000)

	reqPath := filepath.Join(dir, "req.der")
	if out, err := exec.Command("openssl", "ocsp", "-issuer", caPEM, "-cert", leafPEM, "-no_nonce", "-reqout", reqPath).CombinedOutput(); err != nil {
		b.Fatalf("openssl ocsp -reqout: %v\n%s", err, out)
	}
	req, err := os.ReadFile(reqPath)
	if err != nil {
		b.Fatal(err)
	}
	if !bytes.Equal(req, ocspRequestDER(p.issuing, p.good.SerialNumber, crypto.SHA1)) {
		b.Fatalf("openssl's request %x is not the SHA-1 CertID request for the leaf", req)
	}

	sslArgs := []string{"ocsp", "-index", index, "-CA", caPEM, "-rsigner", respPEM, "-rkey", respKey, "-nmin", "60"}
	if multi > 0 {
		sslArgs = append(sslArgs, "-multi", strconv.Itoa(multi))
	}
	// Each openssl measurement gets a fresh responder: see startOpenSSLResponder.
	sslURL, stopSSL := startOpenSSLResponder(b, sslArgs, req)

	o := newTestResponder(b, newFakeCA(p, clock.Real{}), nil)
	srv := server.New(server.Config{Listen: "127.0.0.1:0", Log: slog.New(slog.DiscardHandler)}, o)
	addr, err := srv.Listen()
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	oursURL := "http://" + addr.String() + "/ocsp"

	// Both must answer the request correctly before being timed.
	for _, s := range []struct{ name, url string }{{"ours", oursURL}, {"openssl", sslURL}} {
		body, err := postOCSP(s.url, req)
		if err != nil {
			b.Fatalf("%s: %v", s.name, err)
		}
		respPath := filepath.Join(dir, s.name+".resp")
		if err := os.WriteFile(respPath, body, 0o644); err != nil {
			b.Fatal(err)
		}
		out, err := exec.Command("openssl", "ocsp", "-no_nonce", "-issuer", caPEM, "-cert", leafPEM,
			"-respin", respPath, "-CAfile", root, "-resp_text").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Response verify OK") ||
			!strings.Contains(string(out), leafPEM+": good") || !strings.Contains(string(out), "Hash Algorithm: sha1") {
			b.Fatalf("%s: response does not verify as good (%v):\n%s", s.name, err, out)
		}
		b.Logf("%-7s answers good, verified; response %d bytes", s.name, len(body))
	}
	stopSSL()
	b.Logf("openssl %s -port <free>; wrk -t2 -d%s, %d rounds", strings.ReplaceAll(strings.Join(sslArgs, " "), dir+"/", ""), dur, rounds)

	// wrk's default wrk.resolve probes the address with a connection it
	// closes unused, which wedges an openssl responder process (see
	// startOpenSSLResponder); this one only looks the address up.
	lua := filepath.Join(dir, "post.lua")
	script := fmt.Sprintf("wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/ocsp-request\"\n"+
		"local f = io.open(%q, \"rb\")\nwrk.body = f:read(\"*a\")\nf:close()\n"+
		"function wrk.resolve(host, service) wrk.addrs = wrk.lookup(host, service) end\n", reqPath)
	if err := os.WriteFile(lua, []byte(script), 0o644); err != nil {
		b.Fatal(err)
	}

	// The machine is shared and noisy: several rounds, each measuring both
	// back to back (alternating which goes first); medians are reported.
	conns := []int{64, 8}
	rps := map[string][]float64{}
	ratios := map[int][]float64{}
	for round := range rounds {
		for _, c := range conns {
			order := []string{"ours", "openssl"}
			if round%2 == 1 {
				order[0], order[1] = order[1], order[0]
			}
			got := map[string]float64{}
			for _, name := range order {
				var v float64
				var errs string
				if name == "ours" {
					v, errs = wrkPOSTRun(b, oursURL, lua, c, dur)
				} else {
					url, stop := startOpenSSLResponder(b, sslArgs, req)
					v, errs = wrkPOSTRun(b, url, lua, c, dur)
					stop()
				}
				got[name] = v
				key := fmt.Sprintf("%s-c%d", name, c)
				rps[key] = append(rps[key], v)
				b.Logf("round %d %-12s %10.0f req/s%s", round+1, key, v, errs)
			}
			if got["openssl"] > 0 {
				ratios[c] = append(ratios[c], got["ours"]/got["openssl"])
			}
		}
	}
	for _, c := range conns {
		ours, ssl := median(rps[fmt.Sprintf("ours-c%d", c)]), median(rps[fmt.Sprintf("openssl-c%d", c)])
		b.ReportMetric(ours, fmt.Sprintf("ours-c%d-req/s", c))
		b.ReportMetric(ssl, fmt.Sprintf("openssl-c%d-req/s", c))
		b.Logf("-c%-3d median ours %10.0f req/s, openssl %8.0f req/s", c, ours, ssl)
		if len(ratios[c]) > 0 {
			r := median(ratios[c])
			b.ReportMetric(r, fmt.Sprintf("ratio-c%d", c))
			b.Logf("-c%-3d ratio ours/openssl: median %.1f, rounds %.1f", c, r, ratios[c])
			if r <= 10 {
				b.Logf("-c%-3d WARNING: ratio %.1f is not above 10", c, r)
			}
		}
	}
}

// writeOpenSSLIndex writes an openssl CA database (index.txt) for the
// fixture's issuing CA: the fixture's leaves (the good and "//" ones valid,
// the revoked one revoked for keyCompromise) and n other entries, every
// tenth of them revoked.
func writeOpenSSLIndex(tb testing.TB, dir string, p *ocspPKI, n int) string {
	tb.Helper()
	utc := func(t time.Time) string { return t.UTC().Format("060102150405Z") }
	hexSerial := func(s *big.Int) string { return fmt.Sprintf("%X", s.Bytes()) } // as BN_bn2hex
	var buf bytes.Buffer
	row := func(serial *big.Int, notAfter time.Time, revoked bool, subject string) {
		if revoked {
			fmt.Fprintf(&buf, "R\t%s\t%s,keyCompromise\t%s\tunknown\t%s\n", utc(notAfter), utc(p.revokedAt), hexSerial(serial), subject)
		} else {
			fmt.Fprintf(&buf, "V\t%s\t\t%s\tunknown\t%s\n", utc(notAfter), hexSerial(serial), subject)
		}
	}
	for i := range n {
		s := big.NewInt(0x100000 + int64(i))
		row(s, p.good.NotAfter.AddDate(0, 0, i%365), i%10 == 9, "/CN=Leaf "+s.Text(16))
	}
	row(p.good.SerialNumber, p.good.NotAfter, false, "/CN="+p.good.Subject.CommonName)
	row(p.slashy.SerialNumber, p.slashy.NotAfter, false, "/CN="+p.slashy.Subject.CommonName)
	row(p.revoked.SerialNumber, p.revoked.NotAfter, true, "/CN="+p.revoked.Subject.CommonName)
	path := filepath.Join(dir, "index.txt")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// startOpenSSLResponder runs `openssl <args> -port <free port>` in its own
// process group (so its -multi children go with it), waits until it answers
// req, and returns its URL and a stop function (also run at cleanup) that
// kills the group. openssl 3.0's -port takes a port number only and listens
// on all addresses; it is reached on loopback.
//
// openssl 3.0's responder spins forever (100% CPU, answering nothing more)
// on a connection closed before its request line arrived
// (openssl/openssl#23934, #31129). wrk does that twice: its default
// wrk.resolve probes the address with a connection it closes unused (the
// benchmark's script replaces it), and when it stops it closes connections
// it has just reconnected, which leaves every -multi child stuck. So every
// wrk run gets a fresh responder.
func startOpenSSLResponder(b *testing.B, args []string, req []byte) (string, func()) {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	var stderr bytes.Buffer
	cmd := exec.Command("openssl", append(args, "-port", strconv.Itoa(port))...)
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	pid := cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// The -multi parent acts on SIGTERM only once a child exits, so the
	// whole group is signalled (while the parent is unreaped, so the group
	// id cannot have been reused).
	var once sync.Once
	stop := func() {
		once.Do(func() {
			syscall.Kill(-pid, syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(5 * time.Second):
				syscall.Kill(-pid, syscall.SIGKILL)
				<-exited
			}
		})
	}
	b.Cleanup(stop)
	url := fmt.Sprintf("http://127.0.0.1:%d/ocsp", port)
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err
			b.Fatalf("openssl responder exited: %v\n%s", err, stderr.String())
		default:
		}
		if _, err := postOCSP(url, req); err == nil {
			return url, stop
		} else if time.Now().After(deadline) {
			stop()
			b.Fatalf("openssl responder does not answer: %v\n%s", err, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// postOCSP POSTs an OCSP request and returns the body of a 200 answer.
func postOCSP(url string, req []byte) ([]byte, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Post(url, "application/ocsp-request", bytes.NewReader(req))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	return body, nil
}

var wrkSocketErrors = regexp.MustCompile(`Socket errors:[^\n]*`)

// wrkPOSTRun drives url with `wrk -t2 -c<conns> -s lua` and returns
// requests/s and, if wrk counted any, its socket errors (reported, not
// fatal: a responder without keep-alive may drop connections under load).
func wrkPOSTRun(b *testing.B, url, lua string, conns int, dur string) (float64, string) {
	b.Helper()
	args := []string{"-t2", fmt.Sprintf("-c%d", conns), "-d" + dur, "-s", lua, url}
	out, err := exec.Command("wrk", args...).CombinedOutput()
	if err != nil {
		b.Fatalf("wrk %v: %v\n%s", args, err, out)
	}
	if strings.Contains(string(out), "Non-2xx") {
		b.Fatalf("wrk reported non-2xx answers:\n%s", out)
	}
	m := wrkRPS.FindSubmatch(out)
	if m == nil {
		b.Fatalf("no Requests/sec in wrk output:\n%s", out)
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	errs := ""
	if e := wrkSocketErrors.Find(out); e != nil {
		errs = " (" + string(e) + ")"
	}
	return v, errs
}
