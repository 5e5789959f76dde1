package auth

import (
	"bufio"
	"flag"
	"os"
	"slices"
	"strings"
	"testing"
)

var commonSrc = flag.String("common-src", "", "regenerate common_passwords.txt from this password list (e.g. /usr/share/john/password.lst)")

// commonFromSource filters a password list, one password a line, lines
// starting "#!comment:" skipped, to the entries NemID's user-independent
// rules let through, normalised, first occurrence kept, in list order.
func commonFromSource(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#!comment:") {
			continue
		}
		if !passesShapeRules(line) {
			continue
		}
		p := NormalizePassword(line)
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// passesShapeRules: the rules that do not depend on the user let p
// through, as a 4-digit code or as a longer password.
func passesShapeRules(p string) bool {
	if len(p) == PINLength && allDigits(p) {
		return checkPINShape(p) == nil
	}
	return checkPasswordShape(p) == nil
}

// TestCommonPasswordsFile checks that the embedded list is what the
// filter makes of its source, and regenerates it with -common-src.
// Without the flag it checks the list's own form: every entry normalised,
// unique, and one that the other rules would let through.
func TestCommonPasswordsFile(t *testing.T) {
	if *commonSrc != "" {
		list := commonFromSource(t, *commonSrc)
		if err := os.WriteFile("common_passwords.txt", []byte(strings.Join(list, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %d passwords to common_passwords.txt", len(list))
		return
	}
	lines := strings.Split(strings.TrimSuffix(commonPasswordsText, "\n"), "\n")
	if len(lines) < 100 {
		t.Fatalf("the list has %d entries; regenerate it (see common.go)", len(lines))
	}
	seen := map[string]bool{}
	for _, p := range lines {
		switch {
		case p != NormalizePassword(p):
			t.Errorf("%q is not normalised", p)
		case seen[p]:
			t.Errorf("%q is listed twice", p)
		case !passesShapeRules(p):
			t.Errorf("%q breaks another rule: it need not be listed", p)
		}
		seen[p] = true
	}
	if !slices.Contains(lines, "abc123") || !slices.Contains(lines, "password1") {
		t.Error("abc123 and password1, among the most common passwords with letters and digits, are not listed")
	}
}
