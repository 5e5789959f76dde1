package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// benchJSON is the part of `nemid bench logon --json` the test reads.
type benchJSON struct {
	Logons          int            `json:"logons"`
	LogonsPerSecond float64        `json:"logonsPerSecond"`
	ErrorCount      int            `json:"errorCount"`
	Errors          map[string]int `json:"errors"`
	Latency         *struct {
		P50 float64 `json:"p50Ms"`
		P99 float64 `json:"p99Ms"`
	} `json:"latency"`
	Bound *struct {
		CPUs          int `json:"cpus"`
		VaultArgon2id struct {
			CPUSeconds float64 `json:"cpuSeconds"`
		} `json:"vaultArgon2id"`
		LogonsPerSecond float64 `json:"logonsPerSecond"`
		Ratio           float64 `json:"ratio"`
	} `json:"bound"`
}

var benchRatioLine = regexp.MustCompile(`(?m)^\s+measured / bound = (\d+\.\d\d)$`)

// TestBenchLogon: against a served installation, the bench registers its
// service provider and users, logs on without errors, validates with OCSP
// and prints the rate, the bound and their ratio; a second run reuses the
// service provider and its key.
func TestBenchLogon(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	data := filepath.Join(r.dir, "data")
	s := startServe(t, r, "--data", data, "--listen", "127.0.0.1:"+freePort(t))

	res := r.run("bench", "logon", "--data", data, "--idp", s.base, "--duration", "2s", "--users", "3", "--concurrency", "2")
	if res.code != 0 {
		t.Fatalf("want exit 0:\n%s", res)
	}
	if !regexp.MustCompile(`(?m)^\s+logons\s+[1-9]\d* in `).MatchString(res.stdout) ||
		!regexp.MustCompile(`(?m)^\s+errors\s+0$`).MatchString(res.stdout) {
		t.Errorf("the report does not show logons without errors:\n%s", res)
	}
	if m := benchRatioLine.FindStringSubmatch(res.stdout); m == nil || m[1] == "0.00" {
		t.Errorf("no measured/bound ratio in the report:\n%s", res)
	}
	for _, want := range []string{"p50", "p99", "Argon2id of the key vault", "RSA-2048 PKCS#1 v1.5 signature", "response validation"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("the report does not mention %q:\n%s", want, res)
		}
	}
	if !strings.Contains(res.stderr, `registered the bench service provider "nemid bench"`) || !strings.Contains(res.stderr, "logons/s") {
		t.Errorf("stderr shows neither the registration nor the progress:\n%s", res)
	}
	key := filepath.Join(data, "bench", "sp-key.pem")
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: %v, %v; want mode 0600", key, fi, err)
	}

	// Again, as JSON: the service provider of the first run serves.
	out := r.ok("bench", "logon", "--data", data, "--idp", s.base, "--duration", "1s", "--users", "2", "--concurrency", "1", "--json")
	var rep benchJSON
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	if rep.Logons == 0 || rep.ErrorCount != 0 || len(rep.Errors) != 0 || rep.LogonsPerSecond <= 0 || rep.Latency == nil || rep.Latency.P50 <= 0 {
		t.Errorf("--json report: %s", out)
	}
	if b := rep.Bound; b == nil || b.CPUs < 1 || b.VaultArgon2id.CPUSeconds <= 0 || b.LogonsPerSecond <= 0 || b.Ratio <= 0 {
		t.Errorf("--json bound: %s", out)
	}
	if sps := r.ok("sp", "list", "--data", data); strings.Count(sps, "nemid bench") != 1 {
		t.Errorf("want one bench service provider after two runs:\n%s", sps)
	}
	s.stop()
}

// TestBenchLogonRefuses: settings that cannot work, and no server, are
// refused before the installation is touched.
func TestBenchLogonRefuses(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	data := filepath.Join(r.dir, "none")
	r.failSaying([]string{"bench", "logon", "--data", data, "--users", "2", "--concurrency", "3"}, "--concurrency 3", "AUTH010")
	r.failSaying([]string{"bench", "logon", "--data", data, "--duration", "0s"}, "--duration")
	r.failSaying([]string{"bench", "logon", "--data", data, "--idp", "ftp://example.dk"}, "--idp")
	r.failSaying([]string{"bench", "logon", "--data", data, "--idp", "http://127.0.0.1:" + freePort(t)}, "no server answers", "--idp")
	if _, err := os.Stat(data); err == nil {
		t.Errorf("a refused bench created %s", data)
	}
	r.help([]string{"bench", "logon", "-h"}, "--users", "--concurrency", "--duration", "bound", "OCSP", "sp-key.pem")
	r.help([]string{"bench", "-h"}, "logon")
}
