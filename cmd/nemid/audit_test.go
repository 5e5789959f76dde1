package main_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// auditJSON is one entry of `nemid audit list --json`.
type auditJSON struct {
	Seq      int64             `json:"seq"`
	Version  int               `json:"version"`
	At       string            `json:"at"`
	Actor    string            `json:"actor"`
	Action   string            `json:"action"`
	Subject  string            `json:"subject"`
	Outcome  string            `json:"outcome"`
	Code     string            `json:"code"`
	Detail   map[string]string `json:"detail"`
	PrevHash string            `json:"prev_hash"`
	Hash     string            `json:"hash"`
}

func (r *runner) auditList(data string, extra ...string) []auditJSON {
	r.t.Helper()
	var out []auditJSON
	decodeStrict(r.t, "audit list", r.ok(append([]string{"audit", "list", "--data", data, "--json"}, extra...)...), &out)
	return out
}

// verifyOK matches what `nemid audit verify` prints for an intact log.
var verifyOK = regexp.MustCompile(`^(\d+) entr(?:y|ies) verified, head seq (\d+) hash ([0-9a-f]{64})\n$`)

// verified runs `nemid audit verify` on an intact log and returns the head it printed.
func (r *runner) verified(data string, n int, extra ...string) string {
	r.t.Helper()
	out := r.ok(append([]string{"audit", "verify", "--data", data}, extra...)...)
	m := verifyOK.FindStringSubmatch(out)
	if m == nil || m[1] != fmt.Sprint(n) || m[2] != fmt.Sprint(n) {
		r.t.Fatalf("audit verify printed %q, want %d entries verified, head seq %d", out, n, n)
	}
	return m[2] + ":" + m[3]
}

// TestAuditLog: certificates issued and revoked through the binary are in
// the log; the log verifies; an edit and a deletion made with the sqlite3
// tool are each named by seq.
func TestAuditLog(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	data := initialisedData(t)
	db := filepath.Join(data, "nemid.db")
	dir := t.TempDir()

	if head := r.verified(data, 0); head != "0:"+strings.Repeat("0", 64) {
		t.Fatalf("head of the empty log = %s", head)
	}
	var serials []string
	for i, name := range []string{"Anne Hansen", "Bo Æbelø"} {
		out := r.ok("ca", "issue", "--data", data, "--profile", "poces", "--name", name,
			"--key-out", filepath.Join(dir, fmt.Sprint(i, ".key")), "--cert-out", filepath.Join(dir, fmt.Sprint(i, ".pem")))
		serial, _ := issuedSerial(t, out)
		serials = append(serials, serial)
	}
	r.ok("ca", "revoke", "--data", data, "--serial", serials[0], "--reason", "keyCompromise")

	entries := r.auditList(data)
	if len(entries) != 3 {
		t.Fatalf("audit list: %d entries, want 3: %+v", len(entries), entries)
	}
	want := []struct{ action, subject, detail string }{
		{"certificate-issued", "cert:" + serials[0], "profile=poces"},
		{"certificate-issued", "cert:" + serials[1], "profile=poces"},
		{"certificate-revoked", "cert:" + serials[0], "reason=keyCompromise"},
	}
	for i, w := range want {
		e := entries[i]
		k, v, _ := strings.Cut(w.detail, "=")
		if e.Seq != int64(i+1) || e.Actor != "operator" || e.Action != w.action || e.Subject != w.subject ||
			e.Outcome != "success" || e.Detail[k] != v || e.Version != 1 {
			t.Errorf("entry %d = %+v, want %s of %s with %s", i+1, e, w.action, w.subject, w.detail)
		}
	}
	if id := entries[0].Detail["identity"]; !strings.HasPrefix(id, "PID:9208-2002-2-") {
		t.Errorf("issuance entry's identity = %q, want the PID", id)
	}
	head := r.verified(data, 3)
	if got := strings.TrimSpace(r.ok("audit", "head", "--data", data)); got != head {
		t.Errorf("audit head = %s, verify printed head %s", got, head)
	}
	if head != "3:"+entries[2].Hash {
		t.Errorf("head %s is not the last entry's hash %s", head, entries[2].Hash)
	}
	// The stored hash column is what nemid printed.
	if h := strings.TrimSpace(tool(t, "sqlite3", db, "SELECT hash FROM audit_log WHERE seq = 3")); "3:"+h != head {
		t.Errorf("sqlite3 reads hash %s for seq 3, nemid printed %s", h, head)
	}

	list := r.ok("audit", "list", "--data", data)
	for _, s := range []string{"SEQ", "certificate-revoked", "cert:" + serials[0], "reason=keyCompromise", "3 entries"} {
		if !strings.Contains(list, s) {
			t.Errorf("audit list does not show %q:\n%s", s, list)
		}
	}
	if got := r.auditList(data, "--after", "1", "--limit", "1"); len(got) != 1 || got[0].Seq != 2 {
		t.Errorf("audit list --after 1 --limit 1 = %+v, want entry 2", got)
	}

	t.Run("edit", func(t *testing.T) {
		r := newRunner(t)
		data := copyData(t, data)
		tool(t, "sqlite3", filepath.Join(data, "nemid.db"), "UPDATE audit_log SET subject = 'cert:1' WHERE seq = 2")
		res := r.fail("audit", "verify", "--data", data)
		if !strings.Contains(res.stderr, "audit log: seq 2 changed:") || !strings.Contains(res.stderr, "(1 entry before it verified)") {
			t.Errorf("want the edit named as seq 2 changed:\n%s", res)
		}
		res = r.fail("audit", "verify", "--data", data, "--json")
		var v struct {
			OK       bool  `json:"ok"`
			Verified int64 `json:"verified"`
			Problem  struct {
				Seq  int64  `json:"seq"`
				Kind string `json:"kind"`
			} `json:"problem"`
		}
		if err := json.Unmarshal([]byte(res.stdout), &v); err != nil {
			t.Fatalf("audit verify --json: %v\n%s", err, res.stdout)
		}
		if v.OK || v.Verified != 1 || v.Problem.Seq != 2 || v.Problem.Kind != "changed" {
			t.Errorf("audit verify --json = %+v, want seq 2 changed after 1 verified", v)
		}
	})
	t.Run("delete", func(t *testing.T) {
		r := newRunner(t)
		data := copyData(t, data)
		tool(t, "sqlite3", filepath.Join(data, "nemid.db"), "DELETE FROM audit_log WHERE seq = 2")
		res := r.fail("audit", "verify", "--data", data)
		if !strings.Contains(res.stderr, "audit log: seq 2 removed:") {
			t.Errorf("want the deletion named as seq 2 removed:\n%s", res)
		}
	})
	t.Run("swap", func(t *testing.T) {
		r := newRunner(t)
		data := copyData(t, data)
		tool(t, "sqlite3", filepath.Join(data, "nemid.db"),
			"UPDATE audit_log SET seq = 100 WHERE seq = 1; UPDATE audit_log SET seq = 1 WHERE seq = 2; UPDATE audit_log SET seq = 2 WHERE seq = 100")
		res := r.fail("audit", "verify", "--data", data)
		if !strings.Contains(res.stderr, "audit log: seq 1 reordered:") {
			t.Errorf("want the swap named as seq 1 reordered:\n%s", res)
		}
	})
	t.Run("truncate", func(t *testing.T) {
		r := newRunner(t)
		data := copyData(t, data)
		// The newest entry removed and the head row moved back with it: a
		// consistent, shorter log, which only the recorded head exposes.
		tool(t, "sqlite3", filepath.Join(data, "nemid.db"),
			"DELETE FROM audit_log WHERE seq = 3; UPDATE audit_head SET seq = 2, hash = (SELECT hash FROM audit_log WHERE seq = 2)")
		r.verified(data, 2)
		res := r.fail("audit", "verify", "--data", data, "--head", head)
		if !strings.Contains(res.stderr, "audit log: seq 3 truncated:") {
			t.Errorf("want the cut named as seq 3 truncated:\n%s", res)
		}
	})
}

// copyData copies a data directory for a test that tampers with it.
func copyData(t *testing.T, data string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "data")
	if err := copyTree(data, dst); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestAuditServiceProviders: registering a service provider with a new
// VOCES and disabling it are in the log.
func TestAuditServiceProviders(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	data := initialisedData(t)
	dir := t.TempDir()
	var sp struct {
		ID int64 `json:"id"`
	}
	out := r.ok("sp", "register", "--data", data, "--name", "Butik", "--origin", "https://butik.example",
		"--issue-voces", "--cvr", "12345678", "--organization", "Butik A/S",
		"--cert-out", filepath.Join(dir, "sp.pem"), "--key-out", filepath.Join(dir, "sp.key"), "--allow-cpr-match", "--json")
	if err := json.Unmarshal([]byte(out), &sp); err != nil || sp.ID == 0 {
		t.Fatalf("sp register --json: %v\n%s", err, out)
	}
	r.ok("sp", "disable", "--data", data, fmt.Sprint(sp.ID))
	r.ok("sp", "disable", "--data", data, fmt.Sprint(sp.ID)) // disabled already: changes nothing, records nothing

	entries := r.auditList(data)
	got := make([]string, len(entries))
	for i, e := range entries {
		got[i] = e.Action + " " + e.Subject
	}
	spRef := fmt.Sprintf("sp:%d", sp.ID)
	if len(entries) != 3 || entries[0].Action != "certificate-issued" || entries[0].Detail["profile"] != "voces" ||
		got[1] != "sp-registered "+spRef || got[2] != "sp-disabled "+spRef {
		t.Fatalf("audit log = %q, want the VOCES issued, %s registered and disabled", got, spRef)
	}
	if entries[1].Detail["rights"] != "match" || "cert:"+entries[1].Detail["certificate"] != entries[0].Subject {
		t.Errorf("registration detail = %v, want rights match and the certificate issued in entry 1", entries[1].Detail)
	}
	r.verified(data, 3)
}

// TestAuditAppendFailure: an operation that committed stands, and a failed
// append is reported rather than ignored.
func TestAuditAppendFailure(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	data := initialisedData(t)
	dir := t.TempDir()
	serial, _ := issuedSerial(t, r.ok("ca", "issue", "--data", data, "--profile", "poces", "--name", "Anne Hansen",
		"--key-out", filepath.Join(dir, "a.key"), "--cert-out", filepath.Join(dir, "a.pem")))
	tool(t, "sqlite3", filepath.Join(data, "nemid.db"), "DELETE FROM audit_head")
	res := r.fail("ca", "revoke", "--data", data, "--serial", serial, "--reason", "superseded")
	if !strings.Contains(res.stdout, "Revoked "+serial) ||
		!strings.Contains(res.stderr, "certificate-revoked of cert:"+serial+" was done, but recording it in the audit log failed") {
		t.Errorf("want the revocation reported done and the audit failure named:\n%s", res)
	}
	var certs []struct {
		Serial string `json:"serial"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal([]byte(r.ok("ca", "list", "--data", data, "--json")), &certs); err != nil {
		t.Fatal(err)
	}
	for _, c := range certs {
		if c.Serial == serial && c.Status != "revoked" {
			t.Errorf("certificate %s is %s after the revocation, want revoked", serial, c.Status)
		}
	}
	res = r.fail("audit", "verify", "--data", data)
	if !strings.Contains(res.stderr, "head row") {
		t.Errorf("audit verify without the head row:\n%s", res)
	}
}

func TestAuditBadInput(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	data := initialisedData(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"audit"}, "no audit command given"},
		{[]string{"audit", "erase"}, `unknown audit command "erase"`},
		{[]string{"audit", "verify", "--data", data, "--head", "3"}, "want SEQ:HASH"},
		{[]string{"audit", "verify", "--data", data, "--head", "3:abc"}, "64 hexadecimal digits"},
		{[]string{"audit", "verify", "--data", data, "--head", "1:" + strings.Repeat("a", 64)}, "seq 1 truncated"},
		{[]string{"audit", "list", "--data", data, "--limit", "0"}, "--limit 0"},
		{[]string{"audit", "list", "--data", data, "--after", "-1"}, "--after -1"},
		{[]string{"audit", "verify", "--data", filepath.Join(t.TempDir(), "none")}, "run `nemid init` first"},
		{[]string{"audit", "head", "--data", data, "extra"}, `unexpected argument "extra"`},
	} {
		res := r.fail(tc.args...)
		if !strings.Contains(res.stderr, tc.want) {
			t.Errorf("want %q in the error:\n%s", tc.want, res)
		}
	}
	for _, args := range [][]string{{"audit", "-h"}, {"audit", "verify", "-h"}, {"audit", "head", "-h"}, {"audit", "list", "-h"}} {
		res := r.run(args...)
		if res.code != 0 || !strings.Contains(res.stdout+res.stderr, "Usage: nemid audit") {
			t.Errorf("want usage and exit 0:\n%s", res)
		}
	}
}
