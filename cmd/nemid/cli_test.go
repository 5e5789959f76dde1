package main_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// listed is one entry of `nemid ca list --json`.
type listed struct {
	Serial    string     `json:"serial"`
	Issuer    string     `json:"issuer"`
	Profile   string     `json:"profile"`
	Subject   string     `json:"subject"`
	NotBefore time.Time  `json:"not_before"`
	NotAfter  time.Time  `json:"not_after"`
	Partition int        `json:"partition"`
	Status    string     `json:"status"`
	RevokedAt *time.Time `json:"revoked_at"`
	Reason    string     `json:"reason"`
}

// list runs `nemid ca list --json` with the given flags.
func (r *runner) list(args ...string) []listed {
	r.t.Helper()
	out := r.ok(append([]string{"ca", "list", "--json"}, args...)...)
	var rows []listed
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		r.t.Fatalf("ca list --json: %v\n%s", err, out)
	}
	return rows
}

func bySerial(rows []listed) map[string]listed {
	m := make(map[string]listed, len(rows))
	for _, r := range rows {
		m[r.Serial] = r
	}
	return m
}

// issueOutput is what `nemid ca issue` prints.
var issueOutput = regexp.MustCompile(`(?m)^  serial +([0-9a-f]+)\n  subject .*\n  identity +(\S+)\n`)

// issuedSerial returns the serial and identity `nemid ca issue` printed.
func issuedSerial(t testing.TB, stdout string) (serial, identity string) {
	t.Helper()
	m := issueOutput.FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("no serial and identity in the output of ca issue:\n%s", stdout)
	}
	return m[1], m[2]
}

// opensslSerial returns the certificate's serial as openssl prints it
// (uppercase hexadecimal).
func opensslSerial(t testing.TB, certFile string) string {
	t.Helper()
	out := strings.TrimSpace(openssl(t, "x509", "-in", certFile, "-noout", "-serial"))
	s, ok := strings.CutPrefix(out, "serial=")
	if !ok {
		t.Fatalf("openssl x509 -serial printed %q", out)
	}
	return s
}

func exportCA(t testing.TB, r *runner, data string) (dir string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "ca")
	r.ok("ca", "export", "--data", data, "--out", dir)
	return dir
}

// TestIssueEveryProfile issues every OCES profile, with a new key and with
// an openssl CSR, and lets openssl judge the chain, the subject and the key.
func TestIssueEveryProfile(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	data := initialisedData(t)
	caDir := exportCA(t, r, data)
	rootPEM, issuingPEM := filepath.Join(caDir, "root.pem"), filepath.Join(caDir, "issuing.pem")
	csrKey, csr := filepath.Join(r.dir, "csr.key"), filepath.Join(r.dir, "req.csr")
	// The CSR's subject (CN=x) must not reach the certificate.
	openssl(t, "req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=x", "-keyout", csrKey, "-out", csr)
	csrModulus := openssl(t, "rsa", "-in", csrKey, "-noout", "-modulus")

	const org = "Søren & Co. A/S"
	profiles := []struct {
		name    string
		args    []string
		subject string // regexp of openssl's RFC 2253 form; %ID% is the identifier ca issue printed
	}{
		{"poces", []string{"--profile", "poces", "--name", "Anne Hansen"},
			`serialNumber=PID:%ID%\+CN=Anne Hansen,O=Ingen organisatorisk tilknytning,C=DK`},
		{"poces-pseudonym", []string{"--profile", "poces", "--name", "Anne Hansen", "--pseudonym"},
			`serialNumber=PID:%ID%\+CN=Pseudonym,O=Ingen organisatorisk tilknytning,C=DK`},
		{"moces", []string{"--profile", "moces", "--name", "Bo Æbelø", "--cvr", "12345678", "--org", org},
			`serialNumber=CVR:12345678-RID:%ID%\+CN=Bo Æbelø,O=Søren & Co. A/S // CVR:12345678,C=DK`},
		{"moces-ou", []string{"--profile", "moces", "--name", "Bo Æbelø", "--cvr", "12345678", "--org", org, "--ou", "Løn"},
			`serialNumber=CVR:12345678-RID:%ID%\+CN=Bo Æbelø,OU=Løn,O=Søren & Co. A/S // CVR:12345678,C=DK`},
		{"voces", []string{"--profile", "voces", "--name", "Butik A/S - webshop", "--cvr", "87654321", "--org", "Butik A/S"},
			`serialNumber=CVR:87654321-UID:%ID%\+CN=Butik A/S - webshop,O=Butik A/S // CVR:87654321,C=DK`},
		{"foces", []string{"--profile", "foces", "--name", "Lønsystem", "--cvr", "12345678", "--org", org},
			`serialNumber=CVR:12345678-FID:%ID%\+CN=Lønsystem,O=Søren & Co. A/S // CVR:12345678,C=DK`},
	}
	var (
		mu     sync.Mutex
		issued = map[string]string{} // serial -> profile
	)
	t.Run("issue", func(t *testing.T) {
		for _, p := range profiles {
			for _, withCSR := range []bool{false, true} {
				name := p.name + "/new-key"
				if withCSR {
					name = p.name + "/csr"
				}
				t.Run(name, func(t *testing.T) {
					// Several processes issue at once from one data directory.
					t.Parallel()
					r := newRunner(t)
					cert, key := filepath.Join(r.dir, "cert.pem"), filepath.Join(r.dir, "cert.key")
					args := append([]string{"ca", "issue", "--data", data, "--cert-out", cert}, p.args...)
					if withCSR {
						args = append(args, "--csr", csr)
					} else {
						args = append(args, "--key-out", key)
					}
					serial, identity := issuedSerial(t, r.ok(args...))

					if out := openssl(t, "verify", "-CAfile", rootPEM, "-untrusted", issuingPEM, cert); strings.TrimSpace(out) != cert+": OK" {
						t.Errorf("openssl verify: %q", out)
					}
					subject := strings.TrimSpace(openssl(t, "x509", "-in", cert, "-noout", "-subject", "-nameopt", "RFC2253,-esc_msb"))
					_, id, _ := strings.Cut(identity, "ID:")
					want := "subject=" + strings.Replace(p.subject, "%ID%", regexp.QuoteMeta(id), 1)
					if !regexp.MustCompile("^" + want + "$").MatchString(subject) {
						t.Errorf("openssl subject:\n got %s\nwant %s (identity printed: %s)", subject, want, identity)
					}
					if got := strings.ToLower(opensslSerial(t, cert)); got != serial {
						t.Errorf("openssl serial %s, ca issue printed %s", got, serial)
					}
					certModulus := openssl(t, "x509", "-in", cert, "-noout", "-modulus")
					if withCSR {
						if certModulus != csrModulus {
							t.Errorf("the certificate does not certify the CSR's key:\ncert %s csr  %s", certModulus, csrModulus)
						}
						if _, err := os.Stat(key); err == nil {
							t.Errorf("a key file was written although the CSR gave the key")
						}
					} else {
						fi, err := os.Stat(key)
						if err != nil {
							t.Fatal(err)
						}
						if fi.Mode().Perm() != 0o600 {
							t.Errorf("key file mode %#o, want 0600", fi.Mode().Perm())
						}
						if keyModulus := openssl(t, "rsa", "-in", key, "-noout", "-modulus"); keyModulus != certModulus {
							t.Errorf("key and certificate do not match:\ncert %s key  %s", certModulus, keyModulus)
						}
						if certModulus == csrModulus {
							t.Errorf("a new key was asked for, but the certificate certifies the CSR's key")
						}
					}
					mu.Lock()
					issued[serial] = p.name
					mu.Unlock()
				})
			}
		}
	})
	if t.Failed() {
		return
	}
	rows := bySerial(r.list("--data", data))
	if want := 2 + len(profiles)*2; len(rows) != want || len(issued) != len(profiles)*2 {
		t.Errorf("ca list shows %d certificates (%d distinct serials issued), want %d", len(rows), len(issued), want)
	}
	for serial, name := range issued {
		row, ok := rows[serial]
		profile, _, _ := strings.Cut(name, "-")
		switch {
		case !ok:
			t.Errorf("issued %s (%s) is not in ca list", serial, name)
		case row.Profile != profile || row.Status != "good" || row.Issuer != "issuing" || row.Partition != 1:
			t.Errorf("ca list row of %s (%s): %+v", serial, name, row)
		}
	}
}

// snapshot is what must not change in a data directory: the master key and
// every key file, by hash.
func snapshot(t testing.TB, data string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, pattern := range []string{"master.key", "keys/*"} {
		files, err := filepath.Glob(filepath.Join(data, pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(b)
			out[strings.TrimPrefix(f, data)] = hex.EncodeToString(sum[:])
		}
	}
	return out
}

func sameSnapshot(t testing.TB, before, after map[string]string) {
	t.Helper()
	for f, h := range before {
		if after[f] != h {
			t.Errorf("%s changed or disappeared", f)
		}
	}
	for f := range after {
		if _, ok := before[f]; !ok {
			t.Errorf("new file %s", f)
		}
	}
}

func TestSecondInitRefused(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	data := initialisedData(t)
	before := snapshot(t, data)
	if _, ok := before["/master.key"]; !ok || len(before) != 4 {
		t.Fatalf("an initialised data directory should hold master.key and three key files: %v", before)
	}
	listBefore := r.ok("ca", "list", "--json", "--data", data)
	caBefore := exportCA(t, r, data)

	for _, args := range [][]string{
		{"init", "--data", data},
		{"init", "--data", data, "--org", "Another Org", "--crl-partition-size", "5", "--public-url", "http://other.example"},
	} {
		res := r.fail(args...)
		if !strings.Contains(res.stderr, "already initialised") {
			t.Errorf("want a message saying the installation is already initialised:\n%s", res)
		}
		if strings.Contains(res.stdout, "Generating") {
			t.Errorf("the second init announced key generation:\n%s", res)
		}
	}
	sameSnapshot(t, before, snapshot(t, data))
	if listAfter := r.ok("ca", "list", "--json", "--data", data); listAfter != listBefore {
		t.Errorf("the database changed:\nbefore %s\nafter  %s", listBefore, listAfter)
	}
	caAfter := exportCA(t, r, data)
	for _, f := range []string{"root.pem", "issuing.pem", "ocsp.pem"} {
		a, _ := os.ReadFile(filepath.Join(caBefore, f))
		b, _ := os.ReadFile(filepath.Join(caAfter, f))
		if len(a) == 0 || string(a) != string(b) {
			t.Errorf("%s differs after the second init", f)
		}
	}
}

// corruptCSR writes a copy of the PEM CSR in src with one byte of its
// signature (near the end of the DER) flipped.
func corruptCSR(t testing.TB, src, dst string) {
	t.Helper()
	raw, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(raw)
	if b == nil {
		t.Fatalf("%s holds no PEM", src)
	}
	der := slices.Clone(b.Bytes)
	der[len(der)-5] ^= 0x01
	if err := os.WriteFile(dst, pem.EncodeToMemory(&pem.Block{Type: b.Type, Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBadInput: every refused request exits non-zero with a message naming
// the problem, and changes nothing: no row, no revocation, no file.
func TestBadInput(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	data := initialisedData(t)
	dir := r.dir
	path := func(name string) string { return filepath.Join(dir, name) }

	// A revoked certificate and a good one to revoke wrongly.
	revoked, _ := issuedSerial(t, r.ok("ca", "issue", "--data", data, "--profile", "poces", "--name", "A", "--key-out", path("a.key"), "--cert-out", path("a.pem")))
	r.ok("ca", "revoke", "--data", data, "--serial", revoked, "--reason", "keyCompromise")
	good, _ := issuedSerial(t, r.ok("ca", "issue", "--data", data, "--profile", "poces", "--name", "B", "--key-out", path("b.key"), "--cert-out", path("b.pem")))

	openssl(t, "req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=x", "-keyout", path("x.key"), "-out", path("x.csr"))
	corruptCSR(t, path("x.csr"), path("corrupt.csr"))
	if err := os.WriteFile(path("garbage.csr"), []byte("\x30\x03\x02\x01\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	const keep = "an existing file that must stay as it is\n"
	for _, f := range []string{"existing.pem", "existing.key"} {
		if err := os.WriteFile(path(f), []byte(keep), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	baseline := r.ok("ca", "list", "--json", "--data", data)

	issue := func(args ...string) []string { return append([]string{"ca", "issue", "--data", data}, args...) }
	revoke := func(args ...string) []string { return append([]string{"ca", "revoke", "--data", data}, args...) }
	newFiles := func(key, cert string) []string {
		return []string{"--key-out", path(key), "--cert-out", path(cert)}
	}
	cases := []struct {
		name    string
		args    []string
		want    []string // in stderr
		noFiles []string // must not exist afterwards
	}{
		{"csr with a corrupted signature",
			issue("--profile", "poces", "--name", "A", "--csr", path("corrupt.csr"), "--cert-out", path("c1.pem")),
			[]string{"signature", "possession"}, []string{"c1.pem"}},
		{"csr that does not parse",
			issue("--profile", "poces", "--name", "A", "--csr", path("garbage.csr"), "--cert-out", path("c2.pem")),
			[]string{"bad certificate signing request"}, []string{"c2.pem"}},
		{"certificate given as csr",
			issue("--profile", "poces", "--name", "A", "--csr", path("a.pem"), "--cert-out", path("c3.pem")),
			[]string{`PEM block "CERTIFICATE"`}, []string{"c3.pem"}},
		{"unknown profile",
			issue(append([]string{"--profile", "xoces", "--name", "A"}, newFiles("k4.key", "c4.pem")...)...),
			[]string{`"xoces"`, "poces, moces, voces or foces"}, []string{"k4.key", "c4.pem"}},
		{"cvr of seven digits",
			issue(append([]string{"--profile", "moces", "--name", "A", "--org", "O", "--cvr", "1234567"}, newFiles("k5.key", "c5.pem")...)...),
			[]string{"CVR", `"1234567"`, "8"}, []string{"k5.key", "c5.pem"}},
		{"cvr with a letter",
			issue(append([]string{"--profile", "voces", "--name", "A", "--org", "O", "--cvr", "12a45678"}, newFiles("k6.key", "c6.pem")...)...),
			[]string{"CVR", `"12a45678"`}, []string{"k6.key", "c6.pem"}},
		{"cvr missing",
			issue(append([]string{"--profile", "foces", "--name", "A", "--org", "O"}, newFiles("k7.key", "c7.pem")...)...),
			[]string{"CVR", "required"}, []string{"k7.key", "c7.pem"}},
		{"cvr on a person",
			issue(append([]string{"--profile", "poces", "--name", "A", "--cvr", "12345678"}, newFiles("k8.key", "c8.pem")...)...),
			[]string{"CVR", "POCES"}, []string{"k8.key", "c8.pem"}},
		{"existing cert-out",
			issue("--profile", "poces", "--name", "A", "--key-out", path("k9.key"), "--cert-out", path("existing.pem")),
			[]string{"existing.pem exists", "refusing to overwrite"}, []string{"k9.key"}},
		{"cert-out in a missing directory",
			issue("--profile", "poces", "--name", "A", "--key-out", path("k14.key"), "--cert-out", path("nodir/c14.pem")),
			[]string{"--cert-out", "nodir", "no such file or directory"}, []string{"k14.key", "nodir"}},
		{"existing key-out",
			issue("--profile", "poces", "--name", "A", "--key-out", path("existing.key"), "--cert-out", path("c10.pem")),
			[]string{"existing.key exists", "refusing to overwrite"}, []string{"c10.pem"}},
		{"csr and key-out",
			issue("--profile", "poces", "--name", "A", "--csr", path("x.csr"), "--key-out", path("k11.key"), "--cert-out", path("c11.pem")),
			[]string{"--key-out", "--csr"}, []string{"k11.key", "c11.pem"}},
		{"neither csr nor key-out",
			issue("--profile", "poces", "--name", "A", "--cert-out", path("c12.pem")),
			[]string{"--csr", "--key-out"}, []string{"c12.pem"}},
		{"no cert-out",
			issue("--profile", "poces", "--name", "A", "--key-out", path("k13.key")),
			[]string{"--cert-out is required"}, []string{"k13.key"}},
		{"revoke an unknown serial",
			revoke("--serial", "4f3a0000000000000000000000000001", "--reason", "keyCompromise"),
			[]string{"no certificate with serial 4f3a0000000000000000000000000001"}, nil},
		{"revoke twice",
			revoke("--serial", revoked, "--reason", "superseded"),
			[]string{revoked, "already revoked"}, nil},
		{"revoke twice with the same reason",
			revoke("--serial", strings.ToUpper(revoked), "--reason", "keyCompromise"),
			[]string{revoked, "already revoked"}, nil},
		{"reason certificateHold",
			revoke("--serial", good, "--reason", "certificateHold"),
			[]string{"certificateHold", "not allowed"}, nil},
		{"reason 6 (certificateHold)",
			revoke("--serial", good, "--reason", "6"),
			[]string{"certificateHold", "not allowed"}, nil},
		{"reason bogus",
			revoke("--serial", good, "--reason", "bogus"),
			[]string{`"bogus"`, "keyCompromise", "superseded"}, nil},
		{"serial not hexadecimal",
			revoke("--serial", "xyz", "--reason", "keyCompromise"),
			[]string{`"xyz"`, "hexadecimal"}, nil},
		{"no reason",
			revoke("--serial", good),
			[]string{"--reason"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRunner(t)
			r.dir = dir
			r.failSaying(c.args, c.want...)
			for _, f := range c.noFiles {
				if _, err := os.Lstat(path(f)); err == nil {
					t.Errorf("%s was written", f)
				}
			}
			for _, f := range []string{"existing.pem", "existing.key"} {
				if b, err := os.ReadFile(path(f)); err != nil || string(b) != keep {
					t.Errorf("%s was changed (%v)", f, err)
				}
			}
			if after := r.ok("ca", "list", "--json", "--data", data); after != baseline {
				t.Errorf("the store changed:\nbefore %s\nafter  %s", baseline, after)
			}
		})
	}
}

// TestInitProductionNeedsNames: production refuses the preprod names and
// says everything that is missing, before creating anything.
func TestInitProductionNeedsNames(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	cases := []struct {
		name        string
		args        []string
		want, avoid []string
	}{
		{"nothing given", nil,
			[]string{"public URL: not set", "organization is not set", "root CA name is not set", "issuing CA name is not set",
				"OCSP responder name is not set", "policy OID for poces is not set", "policy OID for moces is not set",
				"policy OID for voces is not set", "policy OID for foces is not set", "notice text is not set",
				"--org", "--public-url", "--policy-poces"},
			nil},
		{"names but no policies", []string{"--org", "Min CA A/S", "--root-name", "Min Rod", "--issuing-name", "Min Udsteder",
			"--ocsp-name", "Min OCSP", "--public-url", "http://ca.example.dk", "--notice-text", "Udstedt under %s"},
			[]string{"policy OID for poces is not set", "policy OID for foces is not set"},
			[]string{"organization is not set", "public URL", "root CA name", "notice text"}},
		{"preprod names", []string{"--org", "NemID Systemtest", "--root-name", "R", "--issuing-name", "I",
			"--ocsp-name", "O", "--public-url", "http://ca.example.dk", "--notice-text", "n %s",
			"--policy-poces", "1.2.3.1", "--policy-moces", "1.2.3.2", "--policy-voces", "1.2.3.3", "--policy-foces", "1.2.3.4"},
			[]string{"preproduction names"}, []string{"is not set"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := filepath.Join(r.dir, strings.ReplaceAll(c.name, " ", "-"))
			res := r.fail(append([]string{"init", "--data", data, "--env", "production"}, c.args...)...)
			for _, w := range c.want {
				if !strings.Contains(res.stderr, w) {
					t.Errorf("stderr does not mention %q:\n%s", w, res)
				}
			}
			for _, a := range c.avoid {
				if strings.Contains(res.stderr, a) {
					t.Errorf("stderr mentions %q, which was given:\n%s", a, res)
				}
			}
			if _, err := os.Lstat(filepath.Join(data, "master.key")); err == nil {
				t.Errorf("master.key was created")
			}
			if _, err := os.Lstat(data); err == nil {
				t.Errorf("the data directory %s was created", data)
			}
		})
	}
}

// TestBeforeInit: every command that needs a CA tells the user to run
// `nemid init`, and leaves the data directory as it found it.
func TestBeforeInit(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	empty := filepath.Join(r.dir, "empty")
	if err := os.Mkdir(empty, 0o700); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(r.dir, "missing")
	for _, data := range []string{empty, missing} {
		for _, args := range [][]string{
			{"ca", "list"},
			{"ca", "list", "--json", "--revoked"},
			{"ca", "export", "--out", filepath.Join(r.dir, "out")},
			{"ca", "revoke", "--serial", "4f3a", "--reason", "keyCompromise"},
			{"ca", "issue", "--profile", "poces", "--name", "A", "--key-out", filepath.Join(r.dir, "k"), "--cert-out", filepath.Join(r.dir, "c")},
		} {
			res := r.fail(append(args, "--data", data)...)
			if !strings.Contains(res.stderr, "run `nemid init`") || !strings.Contains(res.stderr, data) {
				t.Errorf("want a message telling to run `nemid init` in %s:\n%s", data, res)
			}
		}
		for _, f := range []string{"k", "c", "out"} {
			if _, err := os.Lstat(filepath.Join(r.dir, f)); err == nil {
				t.Errorf("%s was written", f)
			}
		}
	}
	if entries, err := os.ReadDir(empty); err != nil || len(entries) != 0 {
		t.Errorf("the empty data directory is no longer empty: %v %v", entries, err)
	}
	if _, err := os.Lstat(missing); err == nil {
		t.Errorf("the missing data directory %s was created", missing)
	}
}

// TestListAndRevoke: list shows what was issued and revoked, and revoke
// takes the serial in the forms openssl prints.
func TestListAndRevoke(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	data := initialisedData(t)
	var serials, upper []string
	for i, name := range []string{"Anne", "Bo", "Carl"} {
		cert := filepath.Join(r.dir, name+".pem")
		s, _ := issuedSerial(t, r.ok("ca", "issue", "--data", data, "--profile", "poces", "--name", name,
			"--key-out", filepath.Join(r.dir, name+".key"), "--cert-out", cert))
		serials = append(serials, s)
		upper = append(upper, opensslSerial(t, cert))
		if strings.ToLower(upper[i]) != s || upper[i] == s {
			t.Fatalf("openssl prints serial %s, ca issue %s: want the same number in upper case", upper[i], s)
		}
	}
	// Revoke Bo by openssl's form and Carl by the colon-separated form of `openssl x509 -text`.
	start := time.Now().Add(-time.Second)
	out := r.ok("ca", "revoke", "--data", data, "--serial", upper[1], "--reason", "keyCompromise")
	if !strings.Contains(out, "Revoked "+serials[1]+" (keyCompromise)") {
		t.Errorf("revoke output:\n%s", out)
	}
	var colons []string
	for i := 0; i < len(upper[2]); i += 2 {
		colons = append(colons, upper[2][i:i+2])
	}
	r.ok("ca", "revoke", "--data", data, "--serial", strings.Join(colons, ":"), "--reason", "superseded")
	end := time.Now().Add(time.Second)

	all := r.list("--data", data)
	if len(all) != 5 {
		t.Fatalf("ca list --json: %d rows, want 5 (issuing CA, OCSP responder, 3 issued)", len(all))
	}
	if !slices.IsSortedFunc(all, func(a, b listed) int { return strings.Compare(a.Serial, b.Serial) }) {
		t.Errorf("ca list is not ordered by serial")
	}
	rows := bySerial(all)
	want := map[string]string{serials[0]: "", serials[1]: "keyCompromise", serials[2]: "superseded"}
	for s, reason := range want {
		row := rows[s]
		switch {
		case reason == "" && (row.Status != "good" || row.RevokedAt != nil || row.Reason != ""):
			t.Errorf("%s should be good: %+v", s, row)
		case reason != "" && (row.Status != "revoked" || row.Reason != reason || row.RevokedAt == nil):
			t.Errorf("%s should be revoked (%s): %+v", s, reason, row)
		case reason != "" && (row.RevokedAt.Before(start) || row.RevokedAt.After(end)):
			t.Errorf("%s revoked at %s, not between %s and %s", s, row.RevokedAt, start, end)
		}
	}
	revoked := r.list("--data", data, "--revoked")
	if len(revoked) != 2 || bySerial(revoked)[serials[1]].Reason != "keyCompromise" || bySerial(revoked)[serials[2]].Reason != "superseded" {
		t.Errorf("ca list --revoked --json: %+v", revoked)
	}
	if limited := r.list("--data", data, "--limit", "1"); len(limited) != 1 || limited[0].Serial != all[0].Serial {
		t.Errorf("ca list --limit 1: %+v", limited)
	}

	table := r.ok("ca", "list", "--data", data)
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) != 7 || !strings.HasPrefix(lines[0], "SERIAL") || lines[6] != "5 certificate(s)" {
		t.Fatalf("ca list table:\n%s", table)
	}
	for s, reason := range want {
		status := "good"
		if reason != "" {
			status = "revoked (" + reason + ")"
		}
		line := regexp.MustCompile(`(?m)^` + s + ` +poces +` + regexp.QuoteMeta(status) + ` +1 +\d{4}-\d\d-\d\d +CN=[^,+]+\+SERIALNUMBER=PID:`)
		if !line.MatchString(table) {
			t.Errorf("ca list table has no line for %s %s:\n%s", s, status, table)
		}
	}
	revTable := r.ok("ca", "list", "--data", data, "--revoked")
	if !strings.HasSuffix(revTable, "\n2 certificate(s)\n") || strings.Contains(revTable, serials[0]) {
		t.Errorf("ca list --revoked table:\n%s", revTable)
	}
}

// TestHelp: every command has -h, which exits 0 and prints its usage.
func TestHelp(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"-h"}, []string{"Usage: nemid <command>", "init", "serve", "version"}},
		{[]string{"help"}, []string{"Usage: nemid <command>"}},
		{[]string{"init", "-h"}, []string{"Usage: nemid init", "-env", "-public-url", "-crl-partition-size", "-data"}},
		{[]string{"ca", "-h"}, []string{"Usage: nemid ca", "issue", "revoke", "list", "export"}},
		{[]string{"ca", "issue", "-h"}, []string{"Usage: nemid ca issue", "-profile", "-csr", "-key-out", "-cert-out", "-cvr"}},
		{[]string{"ca", "revoke", "--help"}, []string{"Usage: nemid ca revoke", "-serial", "-reason", "keyCompromise"}},
		{[]string{"ca", "list", "-h"}, []string{"Usage: nemid ca list", "-revoked", "-json"}},
		{[]string{"ca", "export", "-h"}, []string{"Usage: nemid ca export", "-out"}},
		{[]string{"serve", "-h"}, []string{"Usage: nemid serve", "-listen", "-public-url", "-log-format"}},
		{[]string{"version", "-h"}, []string{"nemid version"}},
	}
	for _, c := range cases {
		r.help(c.args, c.want...)
	}
	if out := r.ok("version"); !regexp.MustCompile(`^nemid \S+\n$`).MatchString(out) {
		t.Errorf("nemid version printed %q", out)
	}

	bad := []struct {
		args []string
		want string
	}{
		{nil, "no command given"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"ca"}, "no ca command given"},
		{[]string{"ca", "frobnicate"}, `unknown ca command "frobnicate"`},
		{[]string{"ca", "list", "--frobnicate"}, "flag provided but not defined: -frobnicate"},
		{[]string{"ca", "list", "extra"}, `unexpected argument "extra"`},
		{[]string{"serve", "--log-level", "loud"}, "--log-level"},
	}
	for _, c := range bad {
		r.failSaying(c.args, c.want)
	}
}

// TestSettingsSources: flags, then NEMID_<FLAG>, then the --config file.
func TestSettingsSources(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	good := initialisedData(t)
	bad := filepath.Join(r.dir, "not-initialised")
	writeConfig := func(name, data string) string {
		f := filepath.Join(r.dir, name)
		body := "# nemid settings\n\n  data = " + data + "  \nlisten = 127.0.0.1:1\n"
		if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	goodCfg, badCfg := writeConfig("good.conf", good), writeConfig("bad.conf", bad)
	broken := filepath.Join(r.dir, "broken.conf")
	if err := os.WriteFile(broken, []byte("# ok\ndata\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := r.ok("ca", "list", "--json", "--data", good)

	cases := []struct {
		name   string
		env    []string
		args   []string
		usesOK bool // true: the good data directory is used; false: the bad one
	}{
		{"env", []string{"NEMID_DATA=" + good}, nil, true},
		{"config flag", nil, []string{"--config", goodCfg}, true},
		{"config from env", []string{"NEMID_CONFIG=" + goodCfg}, nil, true},
		{"flag over env", []string{"NEMID_DATA=" + bad}, []string{"--data", good}, true},
		{"flag over env, reversed", []string{"NEMID_DATA=" + good}, []string{"--data", bad}, false},
		{"env over config", []string{"NEMID_DATA=" + good}, []string{"--config", badCfg}, true},
		{"env over config, reversed", []string{"NEMID_DATA=" + bad}, []string{"--config", goodCfg}, false},
		{"flag over config", nil, []string{"--config", badCfg, "--data", good}, true},
		{"flag over config, reversed", nil, []string{"--config", goodCfg, "--data", bad}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRunner(t).withEnv(c.env...)
			args := append([]string{"ca", "list", "--json"}, c.args...)
			if c.usesOK {
				if got := r.ok(args...); got != want {
					t.Errorf("listed another store:\n%s", got)
				}
				return
			}
			res := r.fail(args...)
			if !strings.Contains(res.stderr, "nemid init") || !strings.Contains(res.stderr, bad) {
				t.Errorf("want the not-initialised error for %s:\n%s", bad, res)
			}
		})
	}
	res := r.fail("ca", "list", "--config", broken)
	if !strings.Contains(res.stderr, broken+":2") {
		t.Errorf("a malformed config file should be reported with its line:\n%s", res)
	}
	res = r.withEnv("NEMID_LIMIT=many").fail("ca", "list", "--data", good)
	if !strings.Contains(res.stderr, "NEMID_LIMIT") {
		t.Errorf("a malformed environment value should name its variable:\n%s", res)
	}
}
