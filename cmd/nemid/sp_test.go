package main_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/store/storetest"
)

// spJSON is `nemid sp show --json` (and one entry of `sp list --json`,
// and what `sp register --json` prints).
type spJSON struct {
	ID             int64      `json:"id"`
	Name           string     `json:"name"`
	Status         string     `json:"status"`
	Origins        []string   `json:"origins"`
	AllowCPRMatch  bool       `json:"allow_cpr_match"`
	AllowCPRLookup bool       `json:"allow_cpr_lookup"`
	Certificate    certJSON   `json:"certificate"`
	CreatedAt      time.Time  `json:"created_at"`
	DisabledAt     *time.Time `json:"disabled_at"`
}

type certJSON struct {
	Subject   string     `json:"subject"`
	Identity  string     `json:"identity"`
	Serial    string     `json:"serial"`
	SHA256    string     `json:"sha256"`
	NotBefore *time.Time `json:"not_before"`
	NotAfter  *time.Time `json:"not_after"`
	Status    string     `json:"status"`
}

// decodeStrict decodes JSON into v, failing on any field v does not have:
// the JSON shape is an interface scripts depend on.
func decodeStrict(t testing.TB, what, s string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, s)
	}
}

// jsonKeys returns the sorted keys of a JSON object.
func jsonKeys(t testing.TB, s string) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("%v\n%s", err, s)
	}
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (r *runner) spShow(db []string, target string) (spJSON, string) {
	r.t.Helper()
	out := r.ok(append([]string{"sp", "show", target, "--json"}, db...)...)
	var v spJSON
	decodeStrict(r.t, "sp show --json", out, &v)
	return v, out
}

// pemDER returns the DER of the single certificate in a PEM file.
func pemDER(t *testing.T, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		t.Fatalf("%s holds no PEM certificate", file)
	}
	return blk.Bytes
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// opensslFingerprint is openssl's SHA-256 fingerprint of a certificate, as lower-case hex.
func opensslFingerprint(t *testing.T, certFile string) string {
	t.Helper()
	out := strings.TrimSpace(openssl(t, "x509", "-in", certFile, "-noout", "-fingerprint", "-sha256"))
	_, fp, ok := strings.Cut(out, "=")
	if !ok {
		t.Fatalf("openssl -fingerprint printed %q", out)
	}
	return strings.ToLower(strings.ReplaceAll(fp, ":", ""))
}

func noFile(t *testing.T, files ...string) {
	t.Helper()
	for _, f := range files {
		if _, err := os.Lstat(f); err == nil {
			t.Errorf("%s was written", f)
		}
	}
}

// TestServiceProviders drives sp and cpr through a whole life, on SQLite
// and on PostgreSQL.
func TestServiceProviders(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		spScenario(t, newRunner(t), []string{"--data", initialisedData(t)})
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		r := newRunner(t)
		db := []string{"--data", filepath.Join(r.dir, "data"), "--database", storetest.NewPostgresSchema(t)}
		r.ok(append([]string{"init"}, db...)...)
		spScenario(t, r, db)
	})
}

func spScenario(t *testing.T, r *runner, db []string) {
	path := func(name string) string { return filepath.Join(r.dir, name) }
	with := func(args ...string) []string { return append(args, db...) }
	caDir := path("ca")
	r.ok(with("ca", "export", "--out", caDir)...)
	rootPEM, issuingPEM := filepath.Join(caDir, "root.pem"), filepath.Join(caDir, "issuing.pem")

	// 1. Register with a new VOCES certificate.
	out := r.ok(with("sp", "register", "--name", "  Søren Shop ", "--origin", "HTTPS://Shop.Example:443", "--origin", "http://LOCALHOST:8080",
		"--issue-voces", "--cvr", "12345678", "--organization", "Søren A/S", "--cert-out", path("a.pem"), "--key-out", path("a.key"),
		"--allow-cpr-match", "--allow-cpr-lookup", "--json")...)
	var a spJSON
	decodeStrict(t, "sp register --json", out, &a)
	wantKeys := []string{"allow_cpr_lookup", "allow_cpr_match", "certificate", "created_at", "id", "name", "origins", "status"}
	if got := jsonKeys(t, out); !slices.Equal(got, wantKeys) {
		t.Errorf("sp register --json keys = %v, want %v", got, wantKeys)
	}
	var raw map[string]json.RawMessage
	json.Unmarshal([]byte(out), &raw)
	if got, want := jsonKeys(t, string(raw["certificate"])), []string{"identity", "not_after", "not_before", "serial", "sha256", "status", "subject"}; !slices.Equal(got, want) {
		t.Errorf("certificate keys = %v, want %v", got, want)
	}
	if a.ID != 1 || a.Name != "Søren Shop" || a.Status != "active" || !a.AllowCPRMatch || !a.AllowCPRLookup || a.DisabledAt != nil {
		t.Errorf("registered %+v", a)
	}
	if want := []string{"https://shop.example", "http://localhost:8080"}; !slices.Equal(a.Origins, want) {
		t.Errorf("origins %v, want the browser's form %v", a.Origins, want)
	}
	if out := openssl(t, "verify", "-CAfile", rootPEM, "-untrusted", issuingPEM, path("a.pem")); strings.TrimSpace(out) != path("a.pem")+": OK" {
		t.Errorf("openssl verify of the issued VOCES: %q", out)
	}
	if fi, err := os.Stat(path("a.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v, %v; want mode 0600", fi.Mode(), err)
	}
	if openssl(t, "rsa", "-in", path("a.key"), "-noout", "-modulus") != openssl(t, "x509", "-in", path("a.pem"), "-noout", "-modulus") {
		t.Error("the key written is not the certificate's")
	}
	if bits := openssl(t, "rsa", "-in", path("a.key"), "-noout", "-text"); !strings.Contains(bits, "2048 bit") {
		t.Errorf("key is not RSA-2048:\n%.80s", bits)
	}
	subject := strings.TrimSpace(openssl(t, "x509", "-in", path("a.pem"), "-noout", "-subject", "-nameopt", "RFC2253,-esc_msb"))
	if !strings.Contains(subject, "CN=Søren Shop") || !strings.Contains(subject, "-UID:") || !strings.Contains(subject, "O=Søren A/S // CVR:12345678") {
		t.Errorf("VOCES subject %s", subject)
	}
	der := pemDER(t, path("a.pem"))
	if a.Certificate.SHA256 != sha256Hex(der) || a.Certificate.SHA256 != opensslFingerprint(t, path("a.pem")) {
		t.Errorf("sha256 %s; the file's is %s", a.Certificate.SHA256, sha256Hex(der))
	}
	if !strings.HasPrefix(a.Certificate.Identity, "CVR:12345678-UID:") || a.Certificate.Status != "good" ||
		a.Certificate.Serial != strings.ToLower(opensslSerial(t, path("a.pem"))) {
		t.Errorf("certificate %+v", a.Certificate)
	}
	if row, ok := bySerial(r.list(db...))[a.Certificate.Serial]; !ok || row.Profile != "voces" || row.Status != "good" {
		t.Errorf("the issued VOCES in ca list: %+v", row)
	}

	// 2. Register with a VOCES issued by `nemid ca issue`; text output.
	bSerial, _ := issuedSerial(t, r.ok(with("ca", "issue", "--profile", "voces", "--name", "Butik B webshop", "--cvr", "87654321",
		"--org", "Butik B A/S", "--key-out", path("b.key"), "--cert-out", path("b.pem"))...))
	out = r.ok(with("sp", "register", "--name", "Butik B", "--origin", "https://butik-b.example:8443", "--voces", path("b.pem"))...)
	for _, w := range []string{"Registered service provider 2", "Butik B", "https://butik-b.example:8443", "not allowed", bSerial, sha256Hex(pemDER(t, path("b.pem")))} {
		if !strings.Contains(out, w) {
			t.Errorf("sp register output does not mention %q:\n%s", w, out)
		}
	}
	// DER works as well as PEM.
	cDER := path("c.der")
	r.ok(with("ca", "issue", "--profile", "voces", "--name", "C", "--cvr", "11111111", "--org", "C A/S", "--key-out", path("c.key"), "--cert-out", path("c.pem"))...)
	openssl(t, "x509", "-in", path("c.pem"), "-outform", "DER", "-out", cDER)
	// Origins in every form a browser normalises.
	var c spJSON
	decodeStrict(t, "sp register --json", r.ok(with("sp", "register", "--name", "Shop C", "--voces", cDER, "--allow-cpr-match", "--json",
		"--origin", "https://BÜCHER.example", "--origin", "https://[2001:DB8:0:0:0:0:0:1]:443", "--origin", "http://127.0.0.1:80",
		"--origin", "http://[::1]:8080", "--origin", "https://shop.example:08443")...), &c)
	if want := []string{"https://xn--bcher-kva.example", "https://[2001:db8::1]", "http://127.0.0.1", "http://[::1]:8080", "https://shop.example:8443"}; !slices.Equal(c.Origins, want) {
		t.Errorf("origins %v, want the browser's forms %v", c.Origins, want)
	}

	// 3. Duplicates are refused and change nothing: no registration, no
	// certificate issued, no file written.
	spBefore := r.ok(with("sp", "list", "--json")...)
	caBefore := r.ok(with("ca", "list", "--json")...)
	dups := []struct {
		args []string
		want string
	}{
		{[]string{"--name", "SØREN SHOP", "--origin", "https://x.example", "--issue-voces", "--cvr", "12345678", "--organization", "X",
			"--cert-out", path("d1.pem"), "--key-out", path("d1.key")}, `taken by service provider 1 ("Søren Shop")`},
		{[]string{"--name", "butik b", "--origin", "https://x.example", "--voces", path("c.pem")}, `taken by service provider 2`},
		{[]string{"--name", "Other", "--origin", "https://x.example", "--voces", path("b.pem")}, `certificate of service provider 2 ("Butik B")`},
		{[]string{"--name", "Other", "--origin", "https://x.example", "--voces", path("a.pem")}, `certificate of service provider 1`},
	}
	for _, d := range dups {
		res := r.fail(with(append([]string{"sp", "register"}, d.args...)...)...)
		if !strings.Contains(res.stderr, d.want) {
			t.Errorf("stderr does not say %q:\n%s", d.want, res)
		}
	}
	noFile(t, path("d1.pem"), path("d1.key"))
	if after := r.ok(with("sp", "list", "--json")...); after != spBefore {
		t.Errorf("refused registrations changed the service providers:\n%s\n%s", spBefore, after)
	}
	if after := r.ok(with("ca", "list", "--json")...); after != caBefore {
		t.Errorf("refused registrations issued certificates:\n%s\n%s", caBefore, after)
	}

	// 4. show, by SPID and by name in any case, flags before or after.
	b, bJSON := r.spShow(db, "2")
	if b.ID != 2 || b.Name != "Butik B" || b.AllowCPRMatch || b.AllowCPRLookup || b.Certificate.Serial != bSerial ||
		b.Certificate.Status != "good" || !slices.Equal(b.Origins, []string{"https://butik-b.example:8443"}) {
		t.Errorf("sp show 2: %+v", b)
	}
	if !strings.HasPrefix(b.Certificate.Identity, "CVR:87654321-UID:") {
		t.Errorf("identity %q", b.Certificate.Identity)
	}
	if _, byName := r.spShow(db, "BUTIK b"); byName != bJSON {
		t.Errorf("sp show by name differs from by SPID:\n%s\n%s", byName, bJSON)
	}
	if byFlagsFirst := r.ok(append(append([]string{"sp", "show", "--json"}, db...), "2")...); byFlagsFirst != bJSON {
		t.Errorf("sp show with the flags first differs:\n%s", byFlagsFirst)
	}
	text := r.ok(with("sp", "show", "Søren Shop")...)
	for _, w := range []string{"Service provider 1", "https://shop.example", "http://localhost:8080", "CPR lookup   allowed", a.Certificate.SHA256, a.Certificate.Serial, "good"} {
		if !strings.Contains(text, w) {
			t.Errorf("sp show does not mention %q:\n%s", w, text)
		}
	}
	for target, want := range map[string]string{"99": "no service provider has SPID 99", "Nobody": `no service provider is named "Nobody"`} {
		if res := r.fail(with("sp", "show", target)...); !strings.Contains(res.stderr, want) {
			t.Errorf("sp show %s: stderr does not say %q:\n%s", target, want, res)
		}
	}

	// 5. list.
	var list []spJSON
	decodeStrict(t, "sp list --json", r.ok(with("sp", "list", "--json")...), &list)
	if len(list) != 3 || list[0].ID != 1 || list[1].ID != 2 || list[2].ID != 3 || list[2].Name != "Shop C" || !list[2].AllowCPRMatch {
		t.Errorf("sp list --json: %+v", list)
	}
	text = r.ok(with("sp", "list")...)
	if !strings.Contains(text, "SPID") || !strings.Contains(text, "match, lookup") || !strings.Contains(text, "3 service provider(s)") {
		t.Errorf("sp list:\n%s", text)
	}

	// 6. disable: once, again (no change), and the name stays taken.
	out = r.ok(with("sp", "disable", "butik b")...)
	if !strings.Contains(out, "Disabled service provider 2 (Butik B)") {
		t.Errorf("sp disable printed %q", out)
	}
	disabled, _ := r.spShow(db, "2")
	if disabled.Status != "disabled" || disabled.DisabledAt == nil || disabled.DisabledAt.Before(disabled.CreatedAt) {
		t.Errorf("after disable: %+v", disabled)
	}
	if out := r.ok(with("sp", "disable", "2")...); !strings.Contains(out, "was disabled already") {
		t.Errorf("second disable printed %q", out)
	}
	if again, _ := r.spShow(db, "2"); !again.DisabledAt.Equal(*disabled.DisabledAt) {
		t.Errorf("a second disable moved the time from %v to %v", disabled.DisabledAt, again.DisabledAt)
	}
	if other, _ := r.spShow(db, "1"); other.Status != "active" {
		t.Errorf("disabling 2 touched 1: %+v", other)
	}
	res := r.fail(with("sp", "register", "--name", "Butik B", "--origin", "https://x.example", "--issue-voces", "--cvr", "12345678",
		"--organization", "X", "--cert-out", path("d2.pem"), "--key-out", path("d2.key"))...)
	if !strings.Contains(res.stderr, "taken by service provider 2") {
		t.Errorf("a disabled SP's name was not kept:\n%s", res)
	}
	noFile(t, path("d2.pem"), path("d2.key"))
	if res := r.fail(with("sp", "disable", "99")...); !strings.Contains(res.stderr, "no service provider has SPID 99") {
		t.Errorf("sp disable 99:\n%s", res)
	}

	// 7. A revoked certificate shows so.
	r.ok(with("ca", "revoke", "--serial", bSerial, "--reason", "keyCompromise")...)
	if revoked, _ := r.spShow(db, "2"); revoked.Certificate.Status != "revoked" {
		t.Errorf("certificate status after revocation: %q", revoked.Certificate.Status)
	}

	// 8. cpr link and show.
	_, pid := issuedSerial(t, r.ok(with("ca", "issue", "--profile", "poces", "--name", "Anne", "--key-out", path("p.key"), "--cert-out", path("p.pem"))...))
	bare := strings.TrimPrefix(pid, "PID:")
	if out := r.ok(with("cpr", "link", "--pid", bare, "--cpr", "010170-1234")...); !strings.Contains(out, "Linked "+pid+" to CPR number 010170-1234") {
		t.Errorf("cpr link printed %q", out)
	}
	showJSON := r.ok(with("cpr", "show", "--pid", pid, "--json")...)
	var link struct {
		Identity string    `json:"identity"`
		CPR      string    `json:"cpr"`
		LinkedAt time.Time `json:"linked_at"`
	}
	decodeStrict(t, "cpr show --json", showJSON, &link)
	if link.Identity != pid || link.CPR != "0101701234" || time.Since(link.LinkedAt) > time.Hour {
		t.Errorf("cpr show --json: %+v", link)
	}
	if out := r.ok(with("cpr", "link", "--pid", pid, "--cpr", "0101701234")...); !strings.Contains(out, "linked to this CPR number already") {
		t.Errorf("linking the same pair again printed %q", out)
	}
	res = r.fail(with("cpr", "link", "--pid", bare, "--cpr", "3112991234")...)
	if !strings.Contains(res.stderr, "linked to a different CPR number") || strings.Contains(res.stderr, "3112991234") || strings.Contains(res.stderr, "0101701234") {
		t.Errorf("conflicting link:\n%s", res)
	}
	if after := r.ok(with("cpr", "show", "--pid", pid, "--json")...); after != showJSON {
		t.Errorf("a refused link changed it:\n%s\n%s", showJSON, after)
	}
	r.ok(with("cpr", "link", "--rid", "45490598", "--cvr", "12345678", "--cpr", "0101701234")...)
	if out := r.ok(with("cpr", "show", "--rid", "RID:45490598", "--cvr", "12345678")...); !strings.Contains(out, "CVR:12345678-RID:45490598") || !strings.Contains(out, "010170-1234") {
		t.Errorf("cpr show --rid printed %q", out)
	}
	if res := r.fail(with("cpr", "show", "--rid", "45490598", "--cvr", "87654321")...); !strings.Contains(res.stderr, "CVR:87654321-RID:45490598 is not linked") {
		t.Errorf("cpr show of an unlinked RID:\n%s", res)
	}
}

// TestSPRegisterRace: several registrations of one name at once, each
// issuing its own certificate. One wins; every other leaves nothing behind:
// no registration, no file, and any certificate it got issued is revoked.
func TestSPRegisterRace(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	data := initialisedData(t)
	const n = 6
	files := func(i int) (pemFile, keyFile string) {
		return filepath.Join(r.dir, fmt.Sprintf("c%d.pem", i)), filepath.Join(r.dir, fmt.Sprintf("c%d.key", i))
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pemFile, keyFile := files(i)
			results[i] = r.run("sp", "register", "--data", data, "--name", "Contested", "--origin", "https://c.example", "--issue-voces",
				"--cvr", "12345678", "--organization", "C A/S", "--cert-out", pemFile, "--key-out", keyFile)
		}()
	}
	wg.Wait()
	won, undone := -1, 0
	for i, res := range results {
		pemFile, keyFile := files(i)
		if res.code == 0 {
			if won >= 0 {
				t.Fatalf("two registrations of one name succeeded:\n%s\n%s", results[won], res)
			}
			won = i
			continue
		}
		if !strings.Contains(res.stderr, "taken by service provider") && !strings.Contains(res.stderr, "already exists") {
			t.Errorf("loser %d failed for another reason:\n%s", i, res)
		}
		if strings.Contains(res.stderr, "has been revoked") {
			undone++
		}
		noFile(t, pemFile, keyFile)
	}
	if won < 0 {
		t.Fatal("no registration succeeded")
	}
	// Every VOCES but the winner's is revoked; the winner's is good.
	var sp spJSON
	decodeStrict(t, "sp show", r.ok("sp", "show", "Contested", "--json", "--data", data), &sp)
	good := 0
	for _, row := range r.list("--data", data) {
		if row.Profile != "voces" {
			continue
		}
		switch {
		case row.Serial == sp.Certificate.Serial && row.Status == "good":
			good++
		case row.Serial != sp.Certificate.Serial && (row.Status != "revoked" || row.Reason != "cessationOfOperation"):
			t.Errorf("a losing registration's certificate is %s (%s), want revoked (cessationOfOperation)", row.Status, row.Reason)
		}
	}
	if good != 1 {
		t.Errorf("%d good VOCES certificates for the winner, want 1", good)
	}
	// Usually the losers pass the name check before the winner registers
	// (key generation and issuing take far longer than starting) and so
	// exercise the undo; how many do depends on scheduling, so it is
	// reported, not required.
	t.Logf("%d of %d losers undid an issued certificate", undone, n-1)
}

// TestSPBadInput: every refused request exits non-zero naming the problem,
// and changes nothing: no registration, no certificate, no file, no link.
func TestSPBadInput(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	data := initialisedData(t)
	dir := r.dir
	path := func(name string) string { return filepath.Join(dir, name) }
	with := func(args ...string) []string { return append(args, "--data", data) }

	issue := func(profile, name string, extra ...string) string {
		r.ok(with(append([]string{"ca", "issue", "--profile", profile, "--name", name, "--key-out", path(name + ".key"), "--cert-out", path(name + ".pem")}, extra...)...)...)
		return path(name + ".pem")
	}
	poces := issue("poces", "person")
	moces := issue("moces", "employee", "--cvr", "12345678", "--org", "E A/S")
	revokedVOCES := issue("voces", "revoked", "--cvr", "12345678", "--org", "R A/S")
	r.ok(with("ca", "revoke", "--serial", opensslSerial(t, revokedVOCES), "--reason", "superseded")...)
	good := issue("voces", "good", "--cvr", "12345678", "--org", "G A/S")
	// A VOCES-shaped certificate from someone else's CA.
	openssl(t, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-keyout", path("foreign.key"), "-out", path("foreign.pem"),
		"-subj", `/C=DK/O=Foreign A\/S \/\/ CVR:12345678/serialNumber=CVR:12345678-UID:12345678/CN=Foreign`,
		"-addext", "basicConstraints=critical,CA:FALSE")
	openssl(t, "req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=x", "-keyout", path("x.key"), "-out", path("x.csr"))
	if err := os.WriteFile(path("garbage.pem"), []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	const keep = "an existing file that must stay as it is\n"
	if err := os.WriteFile(path("existing.pem"), []byte(keep), 0o640); err != nil {
		t.Fatal(err)
	}
	r.ok(with("cpr", "link", "--pid", "9208-2002-2-000000000001", "--cpr", "0101701234")...)
	caBefore := r.ok(with("ca", "list", "--json")...)
	linkBefore := r.ok(with("cpr", "show", "--pid", "9208-2002-2-000000000001", "--json")...)

	register := func(args ...string) []string { return with(append([]string{"sp", "register"}, args...)...) }
	withOrigin := func(o string) []string {
		return register("--name", "Shop", "--origin", o, "--voces", good)
	}
	newVOCES := func(name string, extra ...string) []string {
		return register(append([]string{"--name", name, "--origin", "https://shop.example", "--issue-voces",
			"--cert-out", path("new.pem"), "--key-out", path("new.key")}, extra...)...)
	}
	cases := []struct {
		name string
		args []string
		want []string // in stderr
	}{
		{"no name", register("--origin", "https://shop.example", "--voces", good), []string{"--name is required"}},
		{"blank name", register("--name", "   ", "--origin", "https://shop.example", "--voces", good), []string{"--name", "empty"}},
		{"digits only", register("--name", "1234", "--origin", "https://shop.example", "--voces", good), []string{"digits only", "SPID"}},
		{"name of 101 characters", register("--name", strings.Repeat("ø", 101), "--origin", "https://shop.example", "--voces", good), []string{"101 characters", "at most 100"}},
		{"name with a control character", register("--name", "Sh\x07op", "--origin", "https://shop.example", "--voces", good), []string{"unprintable", "U+0007"}},
		{"no origin", register("--name", "Shop", "--voces", good), []string{"--origin is required"}},
		{"origin without scheme", withOrigin("shop.example"), []string{`"shop.example"`, "https://"}},
		{"origin ftp", withOrigin("ftp://shop.example"), []string{"https://"}},
		{"origin with a slash", withOrigin("https://shop.example/"), []string{"no path"}},
		{"origin with a path", withOrigin("https://shop.example/login"), []string{"no path", "/login"}},
		{"origin with a query", withOrigin("https://shop.example?a=1"), []string{"no query"}},
		{"origin with a fragment", withOrigin("https://shop.example#top"), []string{"no fragment"}},
		{"origin with user", withOrigin("https://me@shop.example"), []string{"user name"}},
		{"origin http", withOrigin("http://shop.example"), []string{"http is allowed only for localhost", "use https"}},
		{"origin port 0", withOrigin("https://shop.example:0"), []string{`port "0"`}},
		{"origin port too big", withOrigin("https://shop.example:65536"), []string{`port "65536"`}},
		{"origin empty port", withOrigin("https://shop.example:"), []string{"empty port"}},
		{"origin without host", withOrigin("https://"), []string{"no host"}},
		{"origin host with underscore", withOrigin("https://shop_1.example"), []string{"host", "U+005F"}},
		{"origin host with an empty label", withOrigin("https://shop..example"), []string{"host", "invalid label"}},
		{"origin host with a trailing dot", withOrigin("https://shop.example."), []string{"host", "invalid label"}},
		{"origin host a short IPv4", withOrigin("https://127.1"), []string{"dotted-decimal"}},
		{"origin IPv4-mapped IPv6", withOrigin("https://[::ffff:127.0.0.1]"), []string{"give the IPv4 address"}},
		{"origin IPv6 zone", withOrigin("http://[fe80::1%25eth0]"), []string{"zone"}},
		{"origin twice", register("--name", "Shop", "--origin", "https://a.example", "--origin", "HTTPS://A.example:443", "--voces", good),
			[]string{`"HTTPS://A.example:443" is the same origin as "https://a.example"`}},
		{"lookup without match", register("--name", "Shop", "--origin", "https://shop.example", "--voces", good, "--allow-cpr-lookup"),
			[]string{"--allow-cpr-lookup requires --allow-cpr-match"}},
		{"no certificate", register("--name", "Shop", "--origin", "https://shop.example"), []string{"--voces FILE", "--issue-voces"}},
		{"both certificates", register("--name", "Shop", "--origin", "https://shop.example", "--voces", good, "--issue-voces"), []string{"not both"}},
		{"voces with issue flags", register("--name", "Shop", "--origin", "https://shop.example", "--voces", good, "--cvr", "12345678"),
			[]string{"--issue-voces only"}},
		{"POCES as voces", register("--name", "Shop", "--origin", "https://shop.example", "--voces", poces), []string{"is a POCES certificate", "needs a VOCES"}},
		{"MOCES as voces", register("--name", "Shop", "--origin", "https://shop.example", "--voces", moces), []string{"is a MOCES certificate"}},
		{"foreign VOCES", register("--name", "Shop", "--origin", "https://shop.example", "--voces", path("foreign.pem")),
			[]string{"not issued by this installation's issuing CA"}},
		{"revoked VOCES", register("--name", "Shop", "--origin", "https://shop.example", "--voces", revokedVOCES), []string{"was revoked", "superseded"}},
		{"garbage as voces", register("--name", "Shop", "--origin", "https://shop.example", "--voces", path("garbage.pem")), []string{"not an X.509 certificate"}},
		{"CSR as voces", register("--name", "Shop", "--origin", "https://shop.example", "--voces", path("x.csr")), []string{`PEM block "CERTIFICATE REQUEST"`}},
		{"missing voces file", register("--name", "Shop", "--origin", "https://shop.example", "--voces", path("nofile.pem")), []string{"no such file"}},
		{"issue without cvr", newVOCES("Shop", "--organization", "S A/S"), []string{"--issue-voces needs --cvr"}},
		{"issue with a 7-digit cvr", newVOCES("Shop", "--cvr", "1234567", "--organization", "S A/S"), []string{"CVR", `"1234567"`, "8"}},
		{"issue with a cvr starting with 0", newVOCES("Shop", "--cvr", "01234567", "--organization", "S A/S"), []string{"CVR", "start with 0"}},
		{"issue with a name too long for a CN", newVOCES(strings.Repeat("n", 70), "--cvr", "12345678", "--organization", "S A/S"), []string{"CN", "--name"}},
		{"issue over an existing file", register("--name", "Shop", "--origin", "https://shop.example", "--issue-voces", "--cvr", "12345678",
			"--organization", "S A/S", "--cert-out", path("existing.pem"), "--key-out", path("new.key")), []string{"existing.pem exists", "refusing to overwrite"}},
		{"issue cert and key to one file", register("--name", "Shop", "--origin", "https://shop.example", "--issue-voces", "--cvr", "12345678",
			"--organization", "S A/S", "--cert-out", path("new.pem"), "--key-out", path("new.pem")), []string{"same file"}},
		{"issue into a missing directory", register("--name", "Shop", "--origin", "https://shop.example", "--issue-voces", "--cvr", "12345678",
			"--organization", "S A/S", "--cert-out", path("nodir/new.pem"), "--key-out", path("new.key")), []string{"nodir", "no such file or directory"}},
		{"show without a target", with("sp", "show"), []string{"give the SPID or name"}},
		{"show two targets", with("sp", "show", "1", "2"), []string{`unexpected argument "2"`}},
		{"show a huge SPID", with("sp", "show", "99999999999999999999"), []string{"out of range"}},
		{"disable without a target", with("sp", "disable"), []string{"give the SPID or name"}},
		{"cpr link without identity", with("cpr", "link", "--cpr", "0101701234"), []string{"give --pid PID, or --rid RID with --cvr CVR"}},
		{"cpr link bad PID", with("cpr", "link", "--pid", "1234", "--cpr", "0101701234"), []string{"--pid", "PID", "9208-2002-2-"}},
		{"cpr link PID and RID", with("cpr", "link", "--pid", "9208-2002-2-000000000002", "--rid", "1", "--cvr", "12345678", "--cpr", "0101701234"), []string{"not both"}},
		{"cpr link RID without CVR", with("cpr", "link", "--rid", "45490598", "--cpr", "0101701234"), []string{"--rid needs --cvr"}},
		{"cpr link CVR alone", with("cpr", "link", "--cvr", "12345678", "--cpr", "0101701234"), []string{"--cvr goes with --rid"}},
		{"cpr link bad CVR", with("cpr", "link", "--rid", "45490598", "--cvr", "123", "--cpr", "0101701234"), []string{"--cvr", "8"}},
		{"cpr link bad RID", with("cpr", "link", "--rid", "4549x", "--cvr", "12345678", "--cpr", "0101701234"), []string{"--rid", "digits"}},
		{"cpr link no CPR", with("cpr", "link", "--pid", "9208-2002-2-000000000002"), []string{"--cpr is required"}},
		{"cpr link CPR of no date", with("cpr", "link", "--pid", "9208-2002-2-000000000002", "--cpr", "3102701234"), []string{"--cpr", "date"}},
		{"cpr link CPR too short", with("cpr", "link", "--pid", "9208-2002-2-000000000002", "--cpr", "0101701"), []string{"--cpr", "DDMMYY"}},
		{"cpr show not linked", with("cpr", "show", "--pid", "9208-2002-2-000000000002"), []string{"PID:9208-2002-2-000000000002 is not linked"}},
		{"unknown sp command", with("sp", "frobnicate"), []string{`unknown sp command "frobnicate"`}},
		{"unknown cpr command", with("cpr", "frobnicate"), []string{`unknown cpr command "frobnicate"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRunner(t)
			r.dir = dir
			res := r.failSaying(c.args, c.want...)
			for _, cpr := range []string{"3102701234", "0101701"} {
				if strings.Contains(res.stderr, cpr) {
					t.Errorf("stderr shows the CPR number:\n%s", res)
				}
			}
			noFile(t, path("new.pem"), path("new.key"), path("nodir"))
			if b, err := os.ReadFile(path("existing.pem")); err != nil || string(b) != keep {
				t.Errorf("existing.pem was changed (%v)", err)
			}
			if after := r.ok(with("sp", "list", "--json")...); strings.TrimSpace(after) != "[]" {
				t.Errorf("a service provider was registered: %s", after)
			}
			if after := r.ok(with("ca", "list", "--json")...); after != caBefore {
				t.Errorf("a certificate was issued or revoked:\nbefore %s\nafter  %s", caBefore, after)
			}
			if after := r.ok(with("cpr", "show", "--pid", "9208-2002-2-000000000001", "--json")...); after != linkBefore {
				t.Errorf("the CPR link changed: %s", after)
			}
		})
	}

	// Before init: a message, and no data directory made.
	missing := path("missing")
	for _, args := range [][]string{
		{"sp", "list"}, {"sp", "show", "1"}, {"sp", "disable", "1"},
		{"sp", "register", "--name", "Shop", "--origin", "https://shop.example", "--voces", good},
		{"cpr", "link", "--pid", "9208-2002-2-000000000001", "--cpr", "0101701234"},
		{"cpr", "show", "--pid", "9208-2002-2-000000000001"},
	} {
		res := r.fail(append(args, "--data", missing)...)
		if !strings.Contains(res.stderr, "run `nemid init`") {
			t.Errorf("want a message telling to run `nemid init`:\n%s", res)
		}
	}
	noFile(t, missing)
}

func TestSPHelp(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"-h"}, []string{"sp ", "cpr "}},
		{[]string{"sp", "-h"}, []string{"Usage: nemid sp", "register", "list", "show", "disable"}},
		{[]string{"sp", "register", "-h"}, []string{"Usage: nemid sp register", "-name", "-origin", "-voces", "-issue-voces", "-cvr",
			"-organization", "-cert-out", "-key-out", "-allow-cpr-match", "-allow-cpr-lookup", "-json", "SPID", "RequestIssuer"}},
		{[]string{"sp", "list", "-h"}, []string{"Usage: nemid sp list", "-json"}},
		{[]string{"sp", "show", "-h"}, []string{"Usage: nemid sp show ID|NAME", "-json", "fingerprint"}},
		{[]string{"sp", "disable", "--help"}, []string{"Usage: nemid sp disable ID|NAME", "final"}},
		{[]string{"cpr", "-h"}, []string{"Usage: nemid cpr", "link", "show", "test tools", "user registration"}},
		{[]string{"cpr", "link", "-h"}, []string{"Usage: nemid cpr link", "-pid", "-rid", "-cvr", "-cpr", "test tools", "user registration"}},
		{[]string{"cpr", "show", "-h"}, []string{"Usage: nemid cpr show", "-pid", "-json", "test tools"}},
	}
	for _, c := range cases {
		r.help(c.args, c.want...)
	}
	for _, args := range [][]string{{"sp"}, {"cpr"}} {
		if res := r.fail(args...); !strings.Contains(res.stderr, "no "+args[0]+" command given") {
			t.Errorf("nemid %s: %s", args[0], res)
		}
	}
}
