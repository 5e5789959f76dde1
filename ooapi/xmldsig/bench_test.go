package xmldsig

import (
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user+system CPU time so far: with GC running on
// other threads, wall time per operation understates the cost.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkVerifyPOCES verifies a real JS-client response end to end and
// reports allocations and CPU (all threads) per document.
func BenchmarkVerifyPOCES(b *testing.B) {
	doc := fixture(b, "XMLDSigMessage-POCES.xml")
	b.ReportAllocs()
	b.SetBytes(int64(len(doc)))
	start := cpuTime(b)
	for b.Loop() {
		if _, err := Verify(doc, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N)/1e3, "cpu-µs/op")
}

// BenchmarkVerifyVersusXmlsec1 compares CPU per document with xmlsec1 on the
// same real response, in the same session: xmlsec1's CPU (user+system) for
// --repeat 2001 minus --repeat 1, over 2000; ours over the benchmark loop.
// xmlsec1 is given the leaf key (STACK.md G4) and so parses no certificate;
// we parse all three. Reported: both, and ours/xmlsec1 (target ≤ 1.0).
func BenchmarkVerifyVersusXmlsec1(b *testing.B) {
	bin, err := exec.LookPath("xmlsec1")
	if err != nil {
		b.Fatalf("xmlsec1 is needed for the comparison: %v", err)
	}
	docFile, err := filepath.Abs(filepath.Join(fixtureDir, "XMLDSigMessage-POCES.xml"))
	if err != nil {
		b.Fatal(err)
	}
	doc := fixture(b, "XMLDSigMessage-POCES.xml")
	s, err := Verify(doc, Options{})
	if err != nil {
		b.Fatal(err)
	}
	pemFile := filepath.Join(b.TempDir(), "user.pem")
	if err := os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Signer.Raw}), 0o600); err != nil {
		b.Fatal(err)
	}
	xmlsec := func(n int) time.Duration {
		cmd := exec.Command(bin, "--verify", "--repeat", strconv.Itoa(n), "--enabled-key-data", "key-name", "--pubkey-cert-pem", pemFile, docFile)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("xmlsec1: %v\n%.300s", err, out)
		}
		return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	const n = 2000
	base := xmlsec(1)
	perDoc := float64(xmlsec(n+1)-base) / n / 1e3

	b.ReportAllocs()
	start := cpuTime(b)
	for b.Loop() {
		if _, err := Verify(doc, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	ours := float64(cpuTime(b)-start) / float64(b.N) / 1e3
	b.ReportMetric(perDoc, "xmlsec1-cpu-µs/doc")
	b.ReportMetric(ours, "ours-cpu-µs/doc")
	b.ReportMetric(ours/perDoc, "ratio")
}
