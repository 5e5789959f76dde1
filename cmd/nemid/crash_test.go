package main_test

// The crash test: "Kill -9 of a process in the middle of 200 issuances and
// revocations, then restart: no duplicate serial, no certificate stored
// without its status, no revocation lost that was acknowledged."
//
// A worker (this test binary run again, TestCrashWorker) issues and revokes
// through the real packages on a data directory made by `nemid init`, and
// prints each operation after it returned: its acknowledgement. The parent
// kills it with SIGKILL after a random number of acknowledgements or after a
// random delay (landing anywhere, in the middle of a transaction too),
// starts another, and finally checks the store against every
// acknowledgement it read.

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	mathrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/ca"
	"github.com/nemid-dk/nemid/internal/ca/keys"
	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/internal/store/storetest"
	"github.com/nemid-dk/nemid/oces"
)

// crashWorkerEnv (in main_test.go) marks a worker process; these say what it works on.
const (
	crashDataEnv     = "NEMID_CRASH_DATA"
	crashDatabaseEnv = "NEMID_CRASH_DATABASE"
	crashKeysEnv     = "NEMID_CRASH_KEYS"
)

const (
	crashPartitionSize = 7   // small, so that partitions fill and roll over under the kills
	crashMinAcked      = 200 // acknowledged issuances + revocations, in total
	crashMinKills      = 10
	crashWorkerMaxOps  = 2000 // a worker whose parent died stops by itself
)

// The reasons the worker revokes with, in turn.
var crashReasons = []ca.Reason{ca.ReasonKeyCompromise, ca.ReasonSuperseded, ca.ReasonAffiliationChanged,
	ca.ReasonCessationOfOperation, ca.ReasonPrivilegeWithdrawn, ca.ReasonUnspecified}

// TestCrashWorker is the worker. It does nothing unless run by TestCrash.
func TestCrashWorker(t *testing.T) {
	if os.Getenv(crashWorkerEnv) != "1" {
		return
	}
	ctx := context.Background()
	data := os.Getenv(crashDataEnv)
	pubs := readPublicKeys(t, os.Getenv(crashKeysEnv))
	st, err := store.Open(ctx, os.Getenv(crashDatabaseEnv), data)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	mk, err := keys.LoadMasterKeyFile(filepath.Join(data, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	defer mk.Close()
	a, err := ca.Open(ctx, st, keys.NewFileBackend(filepath.Join(data, "keys"), mk), clock.Real{})
	if err != nil {
		t.Fatal(err)
	}
	// os.Stdout is unbuffered: each line is one write, made after the
	// operation returned.
	fmt.Fprintln(os.Stdout, "ready")
	previous := ""
	for i := range crashWorkerMaxOps {
		issued, err := a.Issue(ctx, ca.IssueRequest{
			Subject:   oces.Request{Type: oces.POCES, Name: fmt.Sprintf("Crash Test %d", i)},
			PublicKey: pubs[i%len(pubs)],
		})
		if err != nil {
			t.Fatalf("issue: %v", err)
		}
		fmt.Fprintf(os.Stdout, "issued %s\n", issued.Record.Serial)
		if i%2 == 1 {
			reason := crashReasons[(i/2)%len(crashReasons)]
			if _, err := a.Revoke(ctx, previous, reason); err != nil {
				t.Fatalf("revoke %s: %v", previous, err)
			}
			fmt.Fprintf(os.Stdout, "revoked %s %d\n", previous, int(reason))
		}
		previous = issued.Record.Serial
	}
}

// writePublicKeys makes a few RSA-2048 keys (slow: once for all workers)
// and writes their public halves to a PEM file.
func writePublicKeys(t *testing.T, file string) {
	t.Helper()
	var out []byte
	for range 3 {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})...)
	}
	if err := os.WriteFile(file, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readPublicKeys(t *testing.T, file string) []any {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var pubs []any
	for {
		var b *pem.Block
		if b, raw = pem.Decode(raw); b == nil {
			break
		}
		pub, err := x509.ParsePKIXPublicKey(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		pubs = append(pubs, pub)
	}
	if len(pubs) == 0 {
		t.Fatalf("no public keys in %s", file)
	}
	return pubs
}

// acks is what the workers acknowledged.
type acks struct {
	issued  map[string]int // serial -> round
	revoked map[string]int // serial -> reason
	order   []string       // every acknowledgement line, for messages
}

// record takes one line of a worker's output.
func (a *acks) record(t *testing.T, round int, line string) {
	t.Helper()
	f := strings.Fields(line)
	switch {
	case len(f) == 2 && f[0] == "issued":
		if r, dup := a.issued[f[1]]; dup {
			t.Errorf("serial %s acknowledged as issued twice (rounds %d and %d)", f[1], r, round)
		}
		a.issued[f[1]] = round
	case len(f) == 3 && f[0] == "revoked":
		reason, err := strconv.Atoi(f[2])
		if err != nil {
			t.Fatalf("worker line %q", line)
		}
		if _, ok := a.issued[f[1]]; !ok {
			t.Errorf("worker revoked %s, which it never acknowledged as issued", f[1])
		}
		if _, dup := a.revoked[f[1]]; dup {
			t.Errorf("serial %s acknowledged as revoked twice", f[1])
		}
		a.revoked[f[1]] = reason
	default:
		return // testing's own output, if any
	}
	a.order = append(a.order, line)
}

func (a *acks) count() int { return len(a.issued) + len(a.revoked) }

// TestCrash runs the crash test on SQLite and on PostgreSQL (which must be
// reachable: see storetest.NewPostgresSchema).
func TestCrash(t *testing.T) {
	t.Parallel()
	keyFile := filepath.Join(t.TempDir(), "public-keys.pem")
	writePublicKeys(t, keyFile)
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		crashTest(t, keyFile, "")
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		crashTest(t, keyFile, storetest.NewPostgresSchema(t))
	})
}

func crashTest(t *testing.T, keyFile, database string) {
	start := time.Now()
	r := newRunner(t)
	data := filepath.Join(r.dir, "data")
	dbArgs := []string{"--data", data}
	if database != "" {
		dbArgs = append(dbArgs, "--database", database)
	}
	r.ok(append([]string{"init", "--crl-partition-size", strconv.Itoa(crashPartitionSize)}, dbArgs...)...)
	initialised := time.Since(start)
	caDir := filepath.Join(r.dir, "ca")
	r.ok(append([]string{"ca", "export", "--out", caDir}, dbArgs...)...)

	seed := uint64(time.Now().UnixNano())
	rng := mathrand.New(mathrand.NewPCG(seed, 0))
	t.Logf("seed %d", seed)
	a := &acks{issued: map[string]int{}, revoked: map[string]int{}}
	deadline := time.Now().Add(90 * time.Second)
	rounds, byTime := 0, 0
	for ; a.count() < crashMinAcked || rounds < crashMinKills; rounds++ {
		if time.Now().After(deadline) {
			t.Fatalf("too slow: %d rounds, %d acknowledgements in 90 s", rounds, a.count())
		}
		// Even rounds kill after a number of acknowledgements (just after one
		// returned), odd rounds after a random delay (anywhere).
		var kill killAfter
		if rounds%2 == 0 {
			kill.lines = 10 + rng.IntN(31)
		} else {
			kill.delay = time.Duration(1+rng.IntN(300)) * time.Millisecond
			byTime++
		}
		crashRound(t, rounds, kill, a, []string{crashWorkerEnv + "=1", crashDataEnv + "=" + data,
			crashDatabaseEnv + "=" + database, crashKeysEnv + "=" + keyFile})
		if t.Failed() {
			t.FailNow()
		}
	}
	t.Logf("init %v; %d workers killed (%d at a random time), %d issuances and %d revocations acknowledged, in %v",
		initialised.Round(time.Millisecond), rounds, byTime, len(a.issued), len(a.revoked), time.Since(start).Round(time.Millisecond))

	checkAfterCrashes(t, database, data, caDir, a, rounds)

	// The binary still issues and revokes on what the kills left.
	cert := filepath.Join(r.dir, "after.pem")
	serial, _ := issuedSerial(t, r.ok(append([]string{"ca", "issue", "--profile", "poces", "--name", "After The Crash",
		"--key-out", filepath.Join(r.dir, "after.key"), "--cert-out", cert}, dbArgs...)...))
	if out := openssl(t, "verify", "-CAfile", filepath.Join(caDir, "root.pem"), "-untrusted", filepath.Join(caDir, "issuing.pem"), cert); strings.TrimSpace(out) != cert+": OK" {
		t.Errorf("openssl verify: %q", out)
	}
	r.ok(append([]string{"ca", "revoke", "--serial", opensslSerial(t, cert), "--reason", "keyCompromise"}, dbArgs...)...)
	rows := bySerial(r.list(dbArgs...))
	if row := rows[serial]; row.Status != "revoked" || row.Reason != "keyCompromise" {
		t.Errorf("after the crashes, ca issue + ca revoke left %+v", row)
	}
	for s := range a.revoked {
		if rows[s].Status != "revoked" {
			t.Errorf("ca list shows acknowledged revoked %s as %+v", s, rows[s])
		}
	}
}

// killAfter says when to kill a worker: after lines acknowledgements, or
// after delay from its first acknowledgement (its start, which loads keys,
// is not the interesting part).
type killAfter struct {
	lines int
	delay time.Duration
}

// crashRound runs one worker and kills it.
func crashRound(t *testing.T, round int, kill killAfter, a *acks, env []string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashWorker$", "-test.count=1")
	cmd.Env = childEnv(env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := new(syncBuffer)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 4096)
	go func() {
		defer close(lines)
		br := bufio.NewReader(stdout)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				if line != "" {
					// A line cut short is no acknowledgement.
					lines <- "partial " + line
				}
				return
			}
			lines <- strings.TrimSuffix(line, "\n")
		}
	}()
	var other []string // lines that are no acknowledgement
	fail := func(format string, args ...any) {
		cmd.Process.Kill()
		for l := range lines {
			other = append(other, l)
		}
		cmd.Wait()
		t.Fatalf("round %d: %s\nworker exit: %v\n--- stdout (besides acknowledgements):\n%s\n--- stderr:\n%s",
			round, fmt.Sprintf(format, args...), cmd.ProcessState, strings.Join(other, "\n"), stderr.String())
	}

	timeout := time.After(60 * time.Second)
	// Wait until the worker is ready.
	for ready := false; !ready; {
		select {
		case l, ok := <-lines:
			if !ok {
				fail("the worker exited before it was ready")
			}
			if l == "ready" {
				ready = true
			} else {
				other = append(other, l)
			}
		case <-timeout:
			fail("the worker was not ready within 60 s")
		}
	}
	var timer <-chan time.Time
	for n := 0; ; {
		select {
		case l, ok := <-lines:
			if !ok {
				fail("the worker exited before it was killed")
			}
			before := len(a.order)
			a.record(t, round, l)
			if len(a.order) == before {
				other = append(other, l)
				continue
			}
			n++
			if kill.delay > 0 && timer == nil {
				timer = time.After(kill.delay)
			}
			if kill.lines > 0 && n >= kill.lines {
				goto kill
			}
		case <-timer:
			goto kill
		case <-timeout:
			fail("the worker was not killed within 60 s")
		}
	}
kill:
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	// What the worker wrote before it died was acknowledged too.
	for l := range lines {
		before := len(a.order)
		a.record(t, round, l)
		if len(a.order) == before {
			other = append(other, l)
		}
	}
	err = cmd.Wait()
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("round %d: want the worker killed by SIGKILL, got %v\n--- stdout (besides acknowledgements):\n%s\n--- stderr:\n%s",
			round, err, strings.Join(other, "\n"), stderr.String())
	}
}

// checkAfterCrashes opens the store the workers left and checks it against
// what they acknowledged.
func checkAfterCrashes(t *testing.T, database, data, caDir string, a *acks, rounds int) {
	ctx := context.Background()
	st, err := store.Open(ctx, database, data)
	if err != nil {
		t.Fatalf("opening the store after the crashes: %v", err)
	}
	closed := false
	defer func() {
		if !closed {
			st.Close()
		}
	}()
	rows, err := st.ListCertificates(ctx, store.ListFilter{})
	if err != nil {
		t.Fatal(err)
	}
	parseCA := func(name string) *x509.Certificate {
		c, err := x509.ParseCertificate(derOf(t, filepath.Join(caDir, name)))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	issuers := map[string]*x509.Certificate{"root": parseCA("root.pem"), "issuing": parseCA("issuing.pem")}

	byID := map[string]store.Certificate{}
	partitions := map[string]map[int]int{} // issuer -> partition -> certificates
	var leaves, revokedLeaves int
	for _, row := range rows {
		if _, dup := byID[row.Serial]; dup {
			t.Errorf("serial %s stored twice", row.Serial)
		}
		byID[row.Serial] = row
		switch row.Status {
		case store.StatusGood:
			if !row.RevokedAt.IsZero() || row.Reason != 0 {
				t.Errorf("%s is good but has a revocation time %v or reason %d", row.Serial, row.RevokedAt, row.Reason)
			}
		case store.StatusRevoked:
			if row.RevokedAt.IsZero() {
				t.Errorf("%s is revoked without a revocation time", row.Serial)
			}
			if row.RevokedAt.Before(row.IssuedAt.Add(-time.Second)) {
				t.Errorf("%s revoked at %v, before it was issued at %v", row.Serial, row.RevokedAt, row.IssuedAt)
			}
		default:
			t.Errorf("%s has status %q", row.Serial, row.Status)
		}
		cert, err := x509.ParseCertificate(row.DER)
		if err != nil {
			t.Errorf("%s: stored DER does not parse: %v", row.Serial, err)
			continue
		}
		if got := ca.SerialText(cert.SerialNumber); got != row.Serial {
			t.Errorf("row %s holds the certificate with serial %s", row.Serial, got)
		}
		if rdnSubject(t, cert) != row.Subject || !cert.NotAfter.Equal(row.NotAfter) || !cert.NotBefore.Equal(row.NotBefore) {
			t.Errorf("row %s does not describe its certificate: %q %v %v", row.Serial, row.Subject, row.NotBefore, row.NotAfter)
		}
		if issuer, ok := issuers[row.Issuer]; !ok {
			t.Errorf("%s has issuer %q", row.Serial, row.Issuer)
		} else if err := cert.CheckSignatureFrom(issuer); err != nil {
			t.Errorf("%s is not signed by %s: %v", row.Serial, row.Issuer, err)
		}
		if row.Partition > 0 {
			if partitions[row.Issuer] == nil {
				partitions[row.Issuer] = map[int]int{}
			}
			partitions[row.Issuer][row.Partition]++
		}
		if row.Profile == "poces" {
			leaves++
			if row.Status == store.StatusRevoked {
				revokedLeaves++
			}
			if row.Partition < 1 {
				t.Errorf("%s is in no CRL partition", row.Serial)
			}
		}
	}
	for s := range a.issued {
		row, ok := byID[s]
		switch {
		case !ok:
			t.Errorf("acknowledged issued certificate %s is not stored", s)
		case row.Profile != "poces" || row.Issuer != "issuing":
			t.Errorf("acknowledged issued certificate %s is stored as %s from %s", s, row.Profile, row.Issuer)
		}
	}
	for s, reason := range a.revoked {
		if row := byID[s]; row.Status != store.StatusRevoked || row.Reason != reason {
			t.Errorf("acknowledged revocation of %s (reason %d) lost: status %q, reason %d", s, reason, row.Status, row.Reason)
		}
	}
	// Each worker does one thing at a time, so a kill leaves at most one
	// unacknowledged issuance and one unacknowledged revocation behind.
	if extra := leaves - len(a.issued); extra < 0 || extra > rounds {
		t.Errorf("%d certificates stored, %d acknowledged, in %d rounds", leaves, len(a.issued), rounds)
	}
	if extra := revokedLeaves - len(a.revoked); extra < 0 || extra > rounds {
		t.Errorf("%d revocations stored, %d acknowledged, in %d rounds", revokedLeaves, len(a.revoked), rounds)
	}
	var parts []int
	for p, n := range partitions["issuing"] {
		parts = append(parts, p)
		if n > crashPartitionSize {
			t.Errorf("partition CRL%d of the issuing CA holds %d certificates, more than its size %d", p, n, crashPartitionSize)
		}
	}
	slices.Sort(parts)
	if len(parts) < leaves/crashPartitionSize {
		t.Errorf("%d certificates in only %d partitions of %d", leaves, len(parts), crashPartitionSize)
	}

	// The CRL views agree with the rows.
	var want []string
	for _, row := range rows {
		if row.Issuer == "issuing" && row.Status == store.StatusRevoked {
			want = append(want, row.Serial)
		}
	}
	full, err := st.RevokedByIssuer(ctx, "issuing")
	if err != nil {
		t.Fatal(err)
	}
	var got, inParts []string
	for _, rv := range full {
		got = append(got, rv.Serial)
		if row := byID[rv.Serial]; rv.Reason != row.Reason || !rv.RevokedAt.Equal(row.RevokedAt) {
			t.Errorf("full CRL entry %+v differs from its row", rv)
		}
	}
	for _, p := range parts {
		rvs, err := st.RevokedInPartition(ctx, "issuing", p)
		if err != nil {
			t.Fatal(err)
		}
		for _, rv := range rvs {
			inParts = append(inParts, rv.Serial)
			if byID[rv.Serial].Partition != p {
				t.Errorf("%s listed in partition %d, stored in %d", rv.Serial, p, byID[rv.Serial].Partition)
			}
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	slices.Sort(inParts)
	if !slices.Equal(got, want) || !slices.Equal(inParts, want) {
		t.Errorf("revoked rows %d, full CRL %d, partition CRLs %d entries: they should be the same", len(want), len(got), len(inParts))
	}
	t.Logf("after the crashes: %d certificates (%d revoked) in %d partitions", leaves, revokedLeaves, len(parts))

	if database == "" {
		closed = true
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		db := filepath.Join(data, store.DefaultFile)
		if out := strings.TrimSpace(tool(t, "sqlite3", db, "PRAGMA integrity_check")); out != "ok" {
			t.Errorf("sqlite3 PRAGMA integrity_check: %s", out)
		}
		if out := strings.TrimSpace(tool(t, "sqlite3", db, "PRAGMA foreign_key_check")); out != "" {
			t.Errorf("sqlite3 PRAGMA foreign_key_check: %s", out)
		}
	}
}

// rdnSubject is the subject as the store keeps it: RFC 2253 with the
// multi-valued RDN (CN + serialNumber) kept together.
func rdnSubject(t *testing.T, c *x509.Certificate) string {
	t.Helper()
	var rdns pkix.RDNSequence
	if _, err := asn1.Unmarshal(c.RawSubject, &rdns); err != nil {
		t.Fatalf("subject: %v", err)
	}
	return rdns.String()
}
