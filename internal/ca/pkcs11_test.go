package ca_test

import (
	"context"
	"io/fs"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/ca"
	"github.com/nemid-dk/nemid/internal/ca/keys"
	"github.com/nemid-dk/nemid/internal/ca/keys/softhsmtest"
	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/oces"
)

// openPKCS11 opens a back-end on cfg and closes it when the test ends (an
// open back-end would keep SoftHSM2 on this test's SOFTHSM2_CONF).
func openPKCS11(t *testing.T, cfg keys.PKCS11Config) *keys.PKCS11Backend {
	t.Helper()
	b, err := keys.NewPKCS11Backend(cfg)
	if err != nil {
		t.Fatalf("NewPKCS11Backend: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// TestPKCS11EndToEnd runs the CA with its keys in a SoftHSM2 token, as
// `nemid init --pkcs11-module … --pkcs11-token …` does: the RSA-4096 root and
// issuing keys are generated inside the token, the certificates it issues
// verify with openssl, the private keys are sensitive and never extractable,
// the data directory holds no key, and a new back-end instance finds the
// keys again by their references.
func TestPKCS11EndToEnd(t *testing.T) {
	ctx := context.Background()
	cfg := softhsmtest.NewToken(t)
	kb := openPKCS11(t, cfg)

	// The data directory as `nemid --data DIR` would have it: with PKCS#11
	// keys it must end up holding the SQLite database and nothing else. (The
	// store is opened here rather than with storetest.OpenSQLite so that the
	// test knows the directory.)
	dataDir := t.TempDir()
	st, err := store.Open(ctx, "", dataDir)
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })

	clk := clock.NewFrozen(testNow)
	start := time.Now()
	if err := ca.Initialise(ctx, st, kb, clk, ca.PreprodDefaults()); err != nil {
		t.Fatalf("Initialise with PKCS#11 keys: %v", err)
	}
	t.Logf("Initialise in SoftHSM2 (RSA-4096 root and issuing, RSA-2048 OCSP keys generated in the token): %v", time.Since(start).Round(time.Millisecond))

	a, err := ca.Open(ctx, st, kb, clk)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	// Every authority's key is a reference into the token.
	labels := map[string]string{} // authority name -> CKA_LABEL
	refRE := regexp.MustCompile(`^pkcs11:label=([a-z]+-[0-9a-f]{8});id=[0-9a-f]{32}$`)
	for _, name := range []string{ca.RootCA, ca.IssuingCA, ca.OCSPKey} {
		row, err := st.CA(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		m := refRE.FindStringSubmatch(row.KeyRef)
		if m == nil || !strings.HasPrefix(m[1], name+"-") {
			t.Fatalf("authority %s: key reference %q, want pkcs11:label=%s-<8 hex>;id=<32 hex>", name, row.KeyRef, name)
		}
		labels[name] = m[1]
	}

	dir := t.TempDir()
	rootPEM, issuingPEM := filepath.Join(dir, "root.pem"), filepath.Join(dir, "issuing.pem")
	writePEM(t, rootPEM, a.Root())
	writePEM(t, issuingPEM, a.Issuing())
	for _, bits := range []struct {
		name string
		got  int
	}{{"root", rsaBits(t, a.Root().PublicKey)}, {"issuing", rsaBits(t, a.Issuing().PublicKey)}} {
		if bits.got != 4096 {
			t.Errorf("%s CA key is RSA-%d, want RSA-4096", bits.name, bits.got)
		}
	}

	issueAndVerify := func(t *testing.T, a *ca.Authority, what string, req oces.Request) {
		t.Helper()
		start := time.Now()
		is, err := a.Issue(ctx, ca.IssueRequest{Subject: req, CSR: newCSR(t, newKey(t))})
		if err != nil {
			t.Fatalf("%s: Issue: %v", what, err)
		}
		t.Logf("%s: issued in %v", what, time.Since(start).Round(time.Microsecond))
		leaf := filepath.Join(t.TempDir(), what+".pem")
		writePEM(t, leaf, is.Certificate)
		if out := openssl(t, "verify", "-CAfile", rootPEM, "-untrusted", issuingPEM, leaf); !strings.Contains(out, leaf+": OK") {
			t.Fatalf("%s: openssl verify: %s", what, out)
		}
		if rec, err := st.Certificate(ctx, is.Record.Serial); err != nil || rec.Status != store.StatusGood {
			t.Errorf("%s: stored %+v, %v; want status good", what, rec, err)
		}
	}
	issueAndVerify(t, a, "poces", oces.Request{Type: oces.POCES, Name: "Anne Sofie Ærø Hansen"})
	issueAndVerify(t, a, "voces", oces.Request{Type: oces.VOCES, Name: "Testfirma A/S - webshop", CVR: "30808460", Organization: "Testfirma A/S", Email: "drift@testfirma.dk"})

	// The token holds exactly our three private keys, each sensitive and
	// never extractable.
	keysInToken := listPrivateKeys(t, cfg)
	t.Logf("private keys in the token (pkcs11-tool): %v", keysInToken)
	if len(keysInToken) != 3 {
		t.Errorf("token holds %d private keys, want 3 (root, issuing, OCSP): %v", len(keysInToken), keysInToken)
	}
	for name, label := range labels {
		k, ok := keysInToken[label]
		if !ok {
			t.Errorf("authority %s: no private key labelled %q in the token (found %v)", name, label, keysInToken)
			continue
		}
		// "local": generated in the token, never imported.
		for _, want := range []string{"sensitive", "always sensitive", "never extractable", "local"} {
			if !slices.Contains(k.Access, want) {
				t.Errorf("authority %s: private key %q has access %v, want %q", name, label, k.Access, want)
			}
		}
		// A CA key signs and does nothing else (no decrypt, no unwrap).
		if !slices.Equal(k.Usage, []string{"sign"}) {
			t.Errorf("authority %s: private key %q has usage %v, want sign only", name, label, k.Usage)
		}
	}

	// No key material in the data directory: the database and its WAL files only.
	var files []string
	err = filepath.WalkDir(dataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != dataDir {
			rel, _ := filepath.Rel(dataDir, path)
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f != "nemid.db" && f != "nemid.db-wal" && f != "nemid.db-shm" {
			t.Errorf("data directory holds %q; with PKCS#11 keys it should hold only the database (nemid.db and its -wal/-shm)", f)
		}
	}
	if !slices.Contains(files, "nemid.db") {
		t.Errorf("data directory %v has no nemid.db: is this really the store's directory?", files)
	}

	// A fresh back-end instance: the first is closed (the module is
	// finalised), a new one logs in again, and the keys are found by the
	// references in the store.
	if err := kb.Close(); err != nil {
		t.Fatalf("closing the first back-end: %v", err)
	}
	kb2 := openPKCS11(t, cfg)
	a2, err := ca.Open(ctx, st, kb2, clk)
	if err != nil {
		t.Fatalf("Open with a new back-end: %v", err)
	}
	issueAndVerify(t, a2, "poces-after-reopen", oces.Request{Type: oces.POCES, Name: "Bo Jensen"})
}

// tokenKey is what pkcs11-tool prints of a private key: its "Usage:" (sign,
// decrypt, …) and "Access:" flags (sensitive, never extractable, local, …).
type tokenKey struct{ Usage, Access []string }

func rsaBits(t *testing.T, pub any) int {
	t.Helper()
	k, ok := pub.(interface{ Size() int })
	if !ok {
		t.Fatalf("public key %T is not RSA", pub)
	}
	return k.Size() * 8
}

// listPrivateKeys asks pkcs11-tool (OpenSC), independently of our code, for
// the private keys in the token, by CKA_LABEL.
func listPrivateKeys(t *testing.T, cfg keys.PKCS11Config) map[string]tokenKey {
	t.Helper()
	tool, err := exec.LookPath("pkcs11-tool")
	if err != nil {
		t.Fatal("pkcs11-tool not found on PATH: install opensc (Debian: apt-get install -y opensc)")
	}
	// The PIN goes on the command line: acceptable for a random test PIN in
	// a throw-away token. SOFTHSM2_CONF is inherited from softhsmtest.NewToken.
	cmd := exec.Command(tool, "--module", cfg.Module, "--token-label", cfg.TokenLabel, "--login", "--pin", cfg.PIN, "--list-objects", "--type", "privkey")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pkcs11-tool --list-objects: %v\n%s", err, out)
	}
	got := map[string]tokenKey{}
	var label string
	split := func(s string) []string {
		var out []string
		for _, f := range strings.Split(s, ",") {
			out = append(out, strings.TrimSpace(f))
		}
		return out
	}
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "Private Key Object"):
			label = ""
		case strings.HasPrefix(line, "label:"):
			label = strings.TrimSpace(strings.TrimPrefix(line, "label:"))
			got[label] = tokenKey{}
		case strings.HasPrefix(line, "Usage:") && label != "":
			k := got[label]
			k.Usage = split(strings.TrimPrefix(line, "Usage:"))
			got[label] = k
		case strings.HasPrefix(line, "Access:") && label != "":
			k := got[label]
			k.Access = split(strings.TrimPrefix(line, "Access:"))
			got[label] = k
		}
	}
	if len(got) == 0 {
		t.Logf("pkcs11-tool output:\n%s", out)
	}
	return got
}
