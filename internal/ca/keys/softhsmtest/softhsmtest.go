// Package softhsmtest gives tests a fresh, private SoftHSM2 token.
//
// It is test support: import it only from _test.go files. The tests that use
// it need cgo (crypto11) and the softhsm2 package; when SoftHSM2 is missing
// they fail, loudly, with "install softhsm2" — they never skip, so a CI
// machine without it cannot pass by testing nothing.
package softhsmtest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nemid-dk/nemid/internal/ca/keys"
)

// TokenLabel is the label of every token NewToken makes.
const TokenLabel = "nemid-test"

// installHint ends every "not found" failure.
const installHint = "install softhsm2 (Debian: apt-get install -y softhsm2)"

// knownModulePaths are where Debian and Ubuntu put the library, used when
// dpkg cannot say.
var knownModulePaths = []string{
	"/usr/lib/softhsm/libsofthsm2.so",
	"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib64/pkcs11/libsofthsm2.so",
	"/usr/local/lib/softhsm/libsofthsm2.so",
}

// NewToken creates a SoftHSM2 token that belongs to this test alone and
// returns the configuration to open it.
//
// It writes a SoftHSM2 config whose token directory is a temporary
// directory, points SOFTHSM2_CONF at it with t.Setenv (so the test cannot
// be parallel, which SoftHSM2's one-config-per-process design requires
// anyway), and initialises a token labelled TokenLabel with a random user
// PIN and SO PIN.
//
// The PKCS#11 library reads SOFTHSM2_CONF once, when the first back-end
// loads it, and keeps it until the last one is closed. So close every
// back-end before the test ends (t.Cleanup(func() { b.Close() })); one left
// open makes the next test's token invisible.
func NewToken(t testing.TB) keys.PKCS11Config {
	t.Helper()
	module, err := ModulePath()
	if err != nil {
		t.Fatalf("softhsmtest: %v", err)
	}
	util, err := exec.LookPath("softhsm2-util")
	if err != nil {
		t.Fatalf("softhsmtest: softhsm2-util not found on PATH: %s", installHint)
	}

	dir := t.TempDir()
	tokenDir := filepath.Join(dir, "tokens")
	if err := os.Mkdir(tokenDir, 0o700); err != nil {
		t.Fatalf("softhsmtest: %v", err)
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	confText := "directories.tokendir = " + tokenDir + "\n" +
		"objectstore.backend = file\n" +
		"log.level = ERROR\n" +
		"slots.removable = false\n"
	if err := os.WriteFile(conf, []byte(confText), 0o600); err != nil {
		t.Fatalf("softhsmtest: %v", err)
	}
	t.Setenv("SOFTHSM2_CONF", conf)

	// Random PINs, so that a test that checks "the PIN is in no error
	// message" cannot pass by accident of a common string like "1234".
	pin, soPIN := randomPIN(t), randomPIN(t)
	cmd := exec.Command(util, "--init-token", "--free", "--label", TokenLabel, "--pin", pin, "--so-pin", soPIN)
	cmd.Env = append(os.Environ(), "SOFTHSM2_CONF="+conf)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("softhsmtest: softhsm2-util --init-token failed: %v\n%s", err, out)
	}
	return keys.PKCS11Config{Module: module, TokenLabel: TokenLabel, PIN: pin}
}

// ModulePath finds libsofthsm2.so: first from dpkg's file list of the
// libsofthsm2 package, then in the usual install locations. The error says
// to install softhsm2.
func ModulePath() (string, error) {
	if out, err := exec.Command("dpkg", "-L", "libsofthsm2").Output(); err == nil {
		for line := range bytes.Lines(out) {
			p := strings.TrimSpace(string(line))
			if strings.HasSuffix(p, "/libsofthsm2.so") && isFile(p) {
				return p, nil
			}
		}
	}
	for _, p := range knownModulePaths {
		if isFile(p) {
			return p, nil
		}
	}
	return "", &notFoundError{}
}

type notFoundError struct{}

func (*notFoundError) Error() string {
	return "SoftHSM2 PKCS#11 library libsofthsm2.so not found (looked in `dpkg -L libsofthsm2` and " +
		strings.Join(knownModulePaths, ", ") + "): " + installHint
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

func randomPIN(t testing.TB) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("softhsmtest: %v", err)
	}
	return "pin-" + hex.EncodeToString(b)
}
