package main_test

// The harness of the browser tests in e2e_test.go: one `nemid serve --demo`
// (the NemID server with its launcher on one origin, the example service
// provider Demo-butikken on another), one headless Chromium, and a tab that
// acts as a user does — it clicks the shop's buttons and types into the
// NemID client's fields inside the shop's iframe. Each end state is kept as
// a screenshot in the artifacts directory.

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/nemid-dk/nemid/internal/auth"
	"github.com/nemid-dk/nemid/oces"
	"github.com/nemid-dk/nemid/ooapi"
)

// artifactsEnv names the directory the screenshots go to.
const artifactsEnv = "NEMID_E2E_ARTIFACTS"

// e2eStepTimeout bounds one wait for the browser (a page, a screen of the
// client); a flow's server calls take well under a second, but the machine
// may be busy with other tests.
const e2eStepTimeout = 30 * time.Second

// demoUser is one of the people `nemid serve --demo` registered.
type demoUser struct {
	name, nemid, alias string
	password           string // the temporary one until a scenario activates the user
	active             bool   // activated by the activation scenario
	pid                string
	card               *auth.KeyCard
}

// e2eEnv is the running system and the browser the scenarios share.
type e2eEnv struct {
	r         *runner
	srv       *server
	data      string
	db        []string // --data <dir>
	launcher  string   // the NemID server's origin, http://127.0.0.1:A
	shop      string   // the shop's origin, http://127.0.0.1:B
	caDir     string   // root.pem, issuing.pem from nemid ca export
	users     map[string]*demoUser
	artifacts string
	browser   context.Context
}

// demoUserLine is a demo user as `nemid serve --demo` prints it on a first
// start: name, NemID number, alias, temporary password.
var demoUserLine = regexp.MustCompile(`(?m)^\s+(.+?)\s+NemID (\d{9})\s+alias (\S+)\s+temporary password (\d{6})\s`)

// startE2E checks the tools first (a missing browser fails at once, not
// after the CA's key generation), then starts the server and the browser.
func startE2E(t *testing.T) *e2eEnv {
	t.Helper()
	chromium := findChromium(t)
	if _, err := exec.LookPath("xmlsec1"); err != nil {
		t.Fatalf("the end-to-end tests check signatures with xmlsec1 (Debian package xmlsec1; scripts/test.sh installs it): %v", err)
	}
	e := &e2eEnv{r: newRunner(t), users: map[string]*demoUser{}, artifacts: artifactsDir(t)}
	e.data = filepath.Join(e.r.dir, "data")
	e.db = []string{"--data", e.data}
	launcherAddr := "127.0.0.1:" + freePort(t)
	shopAddr := "127.0.0.1:" + freePort(t)
	for shopAddr == launcherAddr {
		shopAddr = "127.0.0.1:" + freePort(t)
	}
	e.launcher, e.shop = "http://"+launcherAddr, "http://"+shopAddr
	e.srv = startServe(t, e.r, "--data", e.data, "--listen", launcherAddr, "--demo", "--demo-listen", shopAddr,
		"--ldap-listen", "off")
	// The shop's line follows the server's "serving" line.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(e.srv.stdout.String(), "Demo-butikken is on "+e.shop); {
		if time.Now().After(deadline) {
			t.Fatalf("serve --demo does not say the shop is on %s:\n%s", e.shop, e.srv.output())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, m := range demoUserLine.FindAllStringSubmatch(e.srv.stdout.String(), -1) {
		u := &demoUser{name: m[1], nemid: m[2], alias: m[3], password: m[4]}
		u.pid = e.r.userShow(e.db, u.alias).PID
		u.card = e.keyCard(t, u.alias)
		e.users[u.alias] = u
	}
	if len(e.users) != 3 {
		t.Fatalf("serve --demo printed %d demo users, want 3:\n%s", len(e.users), e.srv.output())
	}
	e.caDir = exportCA(t, e.r, e.data)
	e.browser = startBrowser(t, chromium)
	t.Logf("launcher on %s, shop on %s; screenshots go to %s", e.launcher, e.shop, e.artifacts)
	return e
}

// findChromium finds the browser or fails the test saying how to get it:
// the browser tests are part of the suite, never skipped.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	t.Fatal("the end-to-end tests need Chromium, and no chromium is on PATH: install the Debian package chromium " +
		"(scripts/test.sh does)")
	return ""
}

// artifactsDir is $NEMID_E2E_ARTIFACTS, else nemid-e2e in the temporary
// directory; it outlives the test run, so the screenshots can be looked at.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv(artifactsEnv)
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "nemid-e2e")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("the screenshot directory (%s): %v", artifactsEnv, err)
	}
	return dir
}

// startBrowser starts one headless Chromium for the whole test, with a
// profile of its own; every scenario opens its own browser context in it.
func startBrowser(t *testing.T, path string) context.Context {
	t.Helper()
	profile := t.TempDir() // made first, so removed after the browser has stopped
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1100, 900),
	)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium (%s): %v", path, err)
	}
	return ctx
}

// keyCard reads the user's key card the way an operator would print it.
func (e *e2eEnv) keyCard(t *testing.T, alias string) *auth.KeyCard {
	t.Helper()
	return printedKeyCard(t, e.r, e.db, alias)
}

// exportedTrust is the installation's CA as a service provider trusts it:
// root.pem and issuing.pem as `nemid ca export` wrote them into dir, with
// the preproduction policies the CA writes.
func exportedTrust(t *testing.T, dir string) *ooapi.Trust {
	t.Helper()
	var cas []byte
	for _, f := range []string{"root.pem", "issuing.pem"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		cas = append(cas, b...)
	}
	trust, err := ooapi.ParseTrust("this installation", oces.OCESPreproduction, cas)
	if err != nil {
		t.Fatal(err)
	}
	return trust
}

// printedKeyCard reads a user's latest key card from `nemid keycard print`.
func printedKeyCard(t *testing.T, r *runner, db []string, alias string) *auth.KeyCard {
	t.Helper()
	out := r.ok(append([]string{"keycard", "print", alias}, db...)...)
	i := strings.LastIndex(out, "Nøglekortnummer: ")
	if i < 0 {
		t.Fatalf("keycard print %s shows no card:\n%s", alias, out)
	}
	card, err := auth.ParseKeyCardText(out[i:])
	if err != nil {
		t.Fatalf("keycard print %s: %v\n%s", alias, err, out)
	}
	return card
}

// code is the key card's code for a key number.
func (u *demoUser) code(t *testing.T, key string) string {
	t.Helper()
	for _, k := range u.card.Keys {
		if k.Number == key {
			return k.Code
		}
	}
	t.Fatalf("key card %s of %s has no key %q", u.card.Number, u.alias, key)
	return ""
}

// httpCount is the server's count of requests answered on a route (its
// Prometheus counter, summed over status codes).
func (e *e2eEnv) httpCount(t *testing.T, route string) int {
	t.Helper()
	res := get(t, e.launcher+"/metrics")
	if res.code != 200 {
		t.Fatalf("GET /metrics: %d", res.code)
	}
	line := regexp.MustCompile(`(?m)^nemid_http_requests_total\{code="\d+",route="` + regexp.QuoteMeta(route) + `"\} (\d+)$`)
	n := 0
	for _, m := range line.FindAllSubmatch(res.body, -1) {
		v, err := strconv.Atoi(string(m[1]))
		if err != nil {
			t.Fatal(err)
		}
		n += v
	}
	return n
}

// tab is one browser tab in a browser context of its own (its own cookies),
// driven by one scenario.
type tab struct {
	t    *testing.T
	e    *e2eEnv
	name string          // the scenario's name, the prefix of its screenshots
	root context.Context // the tab's context, without a deadline
	ctx  context.Context // root with the scenario's deadline
}

func (e *e2eEnv) newTab(t *testing.T, name string) *tab {
	t.Helper()
	// What an earlier run of this scenario kept would be mistaken for this
	// run's.
	for _, pattern := range []string{name + "-*.png", name + "-*.xml"} {
		old, _ := filepath.Glob(filepath.Join(e.artifacts, pattern))
		for _, f := range old {
			if err := os.Remove(f); err != nil {
				t.Fatal(err)
			}
		}
	}
	root, cancel := chromedp.NewContext(e.browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(root); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	ctx, cancelTimeout := context.WithTimeout(root, 90*time.Second)
	t.Cleanup(cancelTimeout)
	return &tab{t: t, e: e, name: name, root: root, ctx: ctx}
}

// fail ends the scenario: it keeps a screenshot of where the browser was
// and the server's log lines, which say what the server saw.
func (b *tab) fail(format string, args ...any) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.root, 10*time.Second)
	defer cancel()
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		file := filepath.Join(b.e.artifacts, b.name+"-FAILED.png")
		if os.WriteFile(file, png, 0o644) == nil {
			b.t.Logf("screenshot of the failure: %s", file)
		}
	}
	b.t.Fatalf(format+"\n--- server log (last lines):\n%s", append(args, lastLines(b.e.srv.stderr.String(), 25))...)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// do runs actions, each wait bounded by e2eStepTimeout.
func (b *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, e2eStepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fail("%s: %v", what, err)
	}
}

// run runs one action that returns a value.
func run[T any](b *tab, what string, action chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, e2eStepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, action)
	if err != nil {
		b.fail("%s: %v", what, err)
	}
	return v
}

// open loads a page of the shop.
func (b *tab) open(path string) {
	b.t.Helper()
	b.do("opening the shop's "+path, chromedp.Navigate(b.e.shop+path), chromedp.WaitReady(chromedp.CSS("body")))
}

// click clicks an element of the shop's page.
func (b *tab) click(id string) {
	b.t.Helper()
	b.do("clicking #"+id, chromedp.Click(chromedp.ID(id)))
}

// text is the visible text of an element of the shop's page, once visible.
func (b *tab) text(id string) string {
	b.t.Helper()
	return strings.TrimSpace(run(b, "reading #"+id, chromedp.Text(chromedp.ID(id), chromedp.NodeVisible)))
}

// screenshot keeps the whole page, the client's frame included.
func (b *tab) screenshot(state string) {
	b.t.Helper()
	png := run(b, "taking a screenshot", chromedp.FullScreenshot(100))
	file := filepath.Join(b.e.artifacts, b.name+"-"+state+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s", file)
}

// download clicks a download link of the shop's page and returns the file
// the browser saved.
func (b *tab) download(id string) (name string, content []byte) {
	b.t.Helper()
	dir := b.t.TempDir()
	bc := chromedp.FromContext(b.root).BrowserContextID
	_, err := chromedp.CallBrowser(b.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, BrowserContextID: bc, DownloadPath: dir, EventsEnabled: new(true)})
	if err != nil {
		b.fail("allowing downloads: %v", err)
	}
	ctx, cancel := context.WithTimeout(b.ctx, e2eStepTimeout)
	defer cancel()
	begun := chromedp.BrowserEvents(ctx, browser.DownloadWillBegin)
	progress := chromedp.BrowserEvents(ctx, browser.DownloadProgress)
	b.click(id)
	var guid string
	for ev, err := range begun {
		if err != nil {
			b.fail("clicking #%s started no download: %v", id, err)
		}
		guid, name = ev.GUID, ev.SuggestedFilename
		break
	}
	for ev, err := range progress {
		if err != nil {
			b.fail("the download of #%s did not finish: %v", id, err)
		}
		if ev.GUID != guid {
			continue
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			b.fail("the browser cancelled the download of #%s", id)
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			break
		}
	}
	content, err = os.ReadFile(filepath.Join(dir, guid))
	if err != nil {
		b.fail("the downloaded file: %v", err)
	}
	return name, content
}

// signerCertificate finds, among the certificates of a signed document's
// KeyInfo, the one with the user's PID in its subject, and writes it as PEM.
func signerCertificate(t *testing.T, doc []byte, pid, file string) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(string(doc)))
	var certs [][]byte
	inCert := false
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the signed document is not well-formed XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			inCert, text = tok.Name.Local == "X509Certificate", strings.Builder{}
		case xml.CharData:
			if inCert {
				text.Write(tok)
			}
		case xml.EndElement:
			if inCert {
				der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(text.String()), ""))
				if err != nil {
					t.Fatalf("an X509Certificate of the document is not base64: %v", err)
				}
				certs = append(certs, der)
			}
			inCert = false
		}
	}
	for _, der := range certs {
		pemFile := file + ".try"
		if err := os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		subject := openssl(t, "x509", "-in", pemFile, "-noout", "-subject", "-nameopt", "RFC2253")
		if strings.Contains(subject, "PID:"+pid) {
			if err := os.Rename(pemFile, file); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("none of the %d certificates in the document's KeyInfo is the user's (PID %s)", len(certs), pid)
}

// checkSignedDocument judges a response document with tools of their own:
// openssl finds the signer's certificate (the user's, by PID) issued by this
// installation's CA and with the serial the CA lists for the user, and
// xmlsec1 verifies the XML signature with that certificate's key.
func (e *e2eEnv) checkSignedDocument(t *testing.T, what string, doc []byte, u *demoUser) {
	t.Helper()
	dir := t.TempDir()
	docFile, certFile := filepath.Join(dir, "document.xml"), filepath.Join(dir, "signer.pem")
	if err := os.WriteFile(docFile, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), "<openoces:signature") {
		t.Fatalf("%s is not an openoces signature document:\n%.300s", what, doc)
	}
	signerCertificate(t, doc, u.pid, certFile)
	if out := openssl(t, "verify", "-CAfile", filepath.Join(e.caDir, "root.pem"), "-untrusted", filepath.Join(e.caDir, "issuing.pem"), certFile); strings.TrimSpace(out) != certFile+": OK" {
		t.Errorf("%s: openssl verify of the signer's certificate: %s", what, out)
	}
	serial := strings.ToLower(opensslSerial(t, certFile))
	shown := e.r.userShow(e.db, u.alias)
	if len(shown.Certificates) == 0 || strings.TrimLeft(shown.Certificates[0].Serial, "0") != strings.TrimLeft(serial, "0") {
		t.Errorf("%s: signed with certificate %s, but the CA lists %+v for %s", what, serial, shown.Certificates, u.alias)
	}
	out, err := exec.Command("xmlsec1", "--verify", "--enabled-key-data", "key-name", "--pubkey-cert-pem", certFile, docFile).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "OK") {
		t.Errorf("%s: xmlsec1 --verify: %v\n%s", what, err, out)
	}
}

// signedProperty returns a property of a response's Object (base64 values
// decoded): the signed sign text, the challenge, the RequestIssuer.
func signedProperty(t *testing.T, doc []byte, name string) string {
	t.Helper()
	re := regexp.MustCompile(`<openoces:Name>` + regexp.QuoteMeta(name) + `</openoces:Name>\s*<openoces:Value Encoding="(base64|xml)"[^>]*>([^<]*)</openoces:Value>`)
	m := re.FindSubmatch(doc)
	if m == nil {
		t.Fatalf("the document has no property %s", name)
	}
	if string(m[1]) == "xml" {
		return string(m[2])
	}
	v, err := base64.StdEncoding.DecodeString(string(m[2]))
	if err != nil {
		t.Fatalf("property %s is not base64: %v", name, err)
	}
	return string(v)
}
