package revocation

import (
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/server"
)

// nullWriter is a ResponseWriter that keeps nothing, so the benchmark
// measures the handler alone.
type nullWriter struct{ h http.Header }

func (w *nullWriter) Header() http.Header         { return w.h }
func (w *nullWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nullWriter) WriteHeader(int)             {}

// BenchmarkOCSPServe measures the in-process cost of serving a pre-signed
// answer from the cache (POST and GET), without the network.
func BenchmarkOCSPServe(b *testing.B) {
	p := testPKI(b)
	o := newTestResponder(b, newFakeCA(p, clock.Real{}), nil)
	der := ocspRequestDER(p.issuing, p.good.SerialNumber, crypto.SHA1)
	get := "/ocsp/" + strings.NewReplacer("/", "%2F", "+", "%2B", "=", "%3D").Replace(base64.StdEncoding.EncodeToString(der))
	b.Run("POST", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			rd := bytes.NewReader(der)
			r, _ := http.NewRequest(http.MethodPost, "/ocsp", rd)
			w := &nullWriter{h: http.Header{}}
			for pb.Next() {
				rd.Reset(der)
				r.Body = readCloser{rd}
				o.ServeHTTP(w, r)
			}
		})
	})
	b.Run("GET", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			r, _ := http.NewRequest(http.MethodGet, get, nil)
			w := &nullWriter{h: http.Header{}}
			for pb.Next() {
				o.ServeHTTP(w, r)
			}
		})
	})
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

// BenchmarkOCSPLoadWrk is the load comparison of the OCSP issue: wrk
// (2 threads, 64 connections, loopback) against (a) the responder serving a
// pre-signed answer and (b) a bare net/http handler writing a fixed byte
// slice of the same length, by POST and by GET. It reports requests/s and
// the ratio (goal ≥ 0.8). It needs wrk and runs only when selected:
//
//	go test -run '^$' -bench OCSPLoadWrk -benchtime 1x ./internal/revocation/
//
// OCSP_WRK_DURATION (default 10s) sets each wrk run's length; OCSP_WRK_ONLY
// (e.g. "ocsp-GET") selects runs by name, for profiling one of them.
func BenchmarkOCSPLoadWrk(b *testing.B) {
	if _, err := exec.LookPath("wrk"); err != nil {
		b.Skip("wrk not installed")
	}
	dur := os.Getenv("OCSP_WRK_DURATION")
	if dur == "" {
		dur = "10s"
	}
	p := testPKI(b)
	o := newTestResponder(b, newFakeCA(p, clock.Real{}), nil)
	der := ocspRequestDER(p.issuing, p.good.SerialNumber, crypto.SHA1)
	probe := doPOST(o, der).Body.Bytes()
	fixed := bytes.Repeat([]byte{0x30}, len(probe))
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/ocsp-response")
		w.Write(fixed)
	})
	mux := http.NewServeMux()
	o.Register(mux)
	full := server.New(server.Config{Log: slog.New(slog.DiscardHandler)}, o).Handler()

	dir := b.TempDir()
	reqPath := filepath.Join(dir, "req.der")
	if err := os.WriteFile(reqPath, der, 0o644); err != nil {
		b.Fatal(err)
	}
	lua := filepath.Join(dir, "post.lua")
	script := fmt.Sprintf("wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/ocsp-request\"\n"+
		"local f = io.open(%q, \"rb\")\nwrk.body = f:read(\"*a\")\nf:close()\n", reqPath)
	if err := os.WriteFile(lua, []byte(script), 0o644); err != nil {
		b.Fatal(err)
	}
	getPath := "/ocsp/" + strings.NewReplacer("/", "%2F", "+", "%2B", "=", "%3D").Replace(base64.StdEncoding.EncodeToString(der))
	b.Logf("response size %d bytes; wrk -t2 -c64 -d%s", len(probe), dur)

	// The machine is shared and loopback numbers are noisy: run several
	// rounds, each measuring bare and ocsp back to back (alternating which
	// goes first), and report medians.
	rounds := 3
	if v, err := strconv.Atoi(os.Getenv("OCSP_WRK_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	runs := []wrkCase{
		{"bare-POST", bare, []string{"-s", lua, "/ocsp"}},
		{"ocsp-POST", mux, []string{"-s", lua, "/ocsp"}},
		{"bare-GET", bare, []string{getPath}},
		{"ocsp-GET", mux, []string{getPath}},
		// Behind server.New (its logging and metrics; GET through RawRoute,
		// with "//" unescaped in the path).
		{"server-POST", full, []string{"-s", lua, "/ocsp"}},
		{"server-GET", full, []string{"/ocsp/" + base64.StdEncoding.EncodeToString(ocspRequestDER(p.issuing, p.slashy.SerialNumber, crypto.SHA1))}},
	}
	rps := map[string][]float64{}
	ratios := map[string][]float64{}
	for round := range rounds {
		for i := 0; i < len(runs); i += 2 {
			pair := runs[i:min(i+2, len(runs))]
			if round%2 == 1 && len(pair) == 2 {
				pair = []wrkCase{pair[1], pair[0]}
			}
			got := map[string]float64{}
			for _, run := range pair {
				if only := os.Getenv("OCSP_WRK_ONLY"); only != "" && !strings.Contains(run.name, only) {
					continue
				}
				got[run.name] = wrkRun(b, run.h, dur, run.args)
				rps[run.name] = append(rps[run.name], got[run.name])
				b.Logf("round %d %-12s %10.0f req/s", round+1, run.name, got[run.name])
			}
			for _, m := range []string{"POST", "GET"} {
				if got["bare-"+m] > 0 && got["ocsp-"+m] > 0 {
					ratios[m] = append(ratios[m], got["ocsp-"+m]/got["bare-"+m])
				}
			}
		}
	}
	for name, v := range rps {
		b.ReportMetric(median(v), name+"-req/s")
		b.Logf("median %-12s %10.0f req/s", name, median(v))
	}
	for m, v := range ratios {
		b.ReportMetric(median(v), "ratio-"+m)
		b.Logf("%s ratio ocsp/bare: median %.3f, rounds %.3f", m, median(v), v)
	}
}

// wrkCase is one handler under load: wrk arguments ending with the path.
type wrkCase struct {
	name string
	h    http.Handler
	args []string
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

var wrkRPS = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)

// wrkRun serves h on a loopback port and drives it with wrk.
func wrkRun(b *testing.B, h http.Handler, dur string, args []string) float64 {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	defer hs.Shutdown(context.Background())
	path := args[len(args)-1]
	cmd := append([]string{"-t2", "-c64", "-d" + dur}, args[:len(args)-1]...)
	cmd = append(cmd, "http://"+ln.Addr().String()+path)
	out, err := exec.Command("wrk", cmd...).CombinedOutput()
	if err != nil {
		b.Fatalf("wrk %v: %v\n%s", cmd, err, out)
	}
	if strings.Contains(string(out), "Non-2xx") || strings.Contains(string(out), "Socket errors") {
		b.Fatalf("wrk reported errors:\n%s", out)
	}
	m := wrkRPS.FindSubmatch(out)
	if m == nil {
		b.Fatalf("no Requests/sec in wrk output:\n%s", out)
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}
