package web

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/nemid-dk/nemid/internal/auth"
	"github.com/nemid-dk/nemid/ooapi"
)

func TestCatalogueHasEveryKeyInEveryLanguage(t *testing.T) {
	for key, entry := range catalogue {
		for lang, s := range map[string]string{"DA": entry.da, "EN": entry.en, "KL": entry.kl} {
			if strings.TrimSpace(s) == "" {
				t.Errorf("%s: no %s text", key, lang)
			}
		}
	}
	for _, lang := range []ooapi.Language{ooapi.DA, ooapi.EN, ooapi.KL} {
		if got := len(Texts(lang)); got != len(catalogue) {
			t.Errorf("Texts(%s) has %d entries, the catalogue %d", lang, got, len(catalogue))
		}
	}
}

func TestTextsChoosesLanguageCaseInsensitively(t *testing.T) {
	for _, c := range []struct {
		lang ooapi.Language
		want string
	}{
		{"DA", "Afbryd"}, {"da", "Afbryd"}, {"EN", "Cancel"}, {"en", "Cancel"},
		{"KL", "Taamaatiguk"}, {"Kl", "Taamaatiguk"}, {"", "Afbryd"}, {"DE", "Afbryd"},
	} {
		if got := Texts(c.lang)["cancel"]; got != c.want {
			t.Errorf("Texts(%q)[cancel] = %q, want %q", c.lang, got, c.want)
		}
		if got := Text(c.lang, "cancel"); got != c.want {
			t.Errorf("Text(%q, cancel) = %q, want %q", c.lang, got, c.want)
		}
	}
}

func TestTextsIsTheCallersCopy(t *testing.T) {
	Texts(ooapi.EN)["cancel"] = "changed"
	if got := Text(ooapi.EN, "cancel"); got != "Cancel" {
		t.Fatalf("changing the returned map changed the catalogue: %q", got)
	}
}

func TestTextFallsBackToDanishThenToTheKey(t *testing.T) {
	const key = "test-only-danish"
	catalogue[key] = text{da: "kun dansk"}
	saved := textsByLanguage
	defer func() {
		delete(catalogue, key)
		textsByLanguage = saved
	}()
	textsByLanguage = map[ooapi.Language]map[string]string{
		ooapi.DA: {key: "kun dansk"}, ooapi.EN: {}, ooapi.KL: {},
	}
	if got := Text(ooapi.KL, key); got != "kun dansk" {
		t.Errorf("Text(KL) of a Danish-only entry = %q, want the Danish text", got)
	}
	if got := Text(ooapi.EN, "no-such-key"); got != "no-such-key" {
		t.Errorf("Text of an unknown key = %q, want the key", got)
	}
}

func TestRetryKeysOfTheServer(t *testing.T) {
	for _, key := range []string{"wrongCredentials", "wrongCode", "passwordMismatch", "technicalError"} {
		if _, ok := catalogue[key]; !ok {
			t.Errorf("no entry %q", key)
		}
	}
	if got, want := Text(ooapi.DA, "wrongCredentials"), auth.ErrInvalidCredentials.Text(ooapi.DA); got != want {
		t.Errorf("wrongCredentials = %q, auth says %q", got, want)
	}
	if got, want := Text(ooapi.EN, "wrongCode"), auth.ErrWrongCode.Text(ooapi.EN); got != want {
		t.Errorf("wrongCode = %q, auth says %q", got, want)
	}
}

// authUserErrorIDs reads the IDs of every userError("…", …) call in the auth
// package's source, so that a new user error without texts here fails.
func authUserErrorIDs(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("../auth/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("auth sources: %v (%d files)", err, len(files))
	}
	ids := map[string]bool{}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			if fn, ok := call.Fun.(*ast.Ident); !ok || fn.Name != "userError" {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok {
				t.Errorf("%s: userError with a non-literal ID", fset.Position(call.Pos()))
				return true
			}
			id, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatal(err)
			}
			ids[id] = true
			return true
		})
	}
	return ids
}

func TestEveryAuthUserErrorHasTexts(t *testing.T) {
	ids := authUserErrorIDs(t)
	if len(ids) < 20 {
		t.Fatalf("found only %d user errors in auth: the source scan is broken", len(ids))
	}
	for id := range ids {
		if _, ok := catalogue["auth."+id]; !ok {
			t.Errorf("auth user error %q has no entry auth.%s", id, id)
		}
	}
	for key := range catalogue {
		if id, ok := strings.CutPrefix(key, "auth."); ok && !ids[id] {
			t.Errorf("entry %s names no auth user error", key)
		}
	}
}

func TestAuthTextsMatchTheAuthPackage(t *testing.T) {
	all := []*auth.UserError{
		auth.ErrInvalidCredentials, auth.ErrTooManyAttempts, auth.ErrWrongCode,
		auth.ErrPasswordTooShort, auth.ErrPasswordTooLong, auth.ErrPasswordBlankEnds,
		auth.ErrPasswordDanishLetter, auth.ErrPasswordCharacter, auth.ErrPasswordNeedsLetter,
		auth.ErrPasswordNeedsDigit, auth.ErrPasswordRepeats, auth.ErrPasswordContainsCPR,
		auth.ErrPasswordContainsNemID, auth.ErrPasswordContainsAlias, auth.ErrPasswordCommon,
		auth.ErrPINNeedsKeyCard, auth.ErrPINSameDigits, auth.ErrPINRun, auth.ErrPINInCPR,
		auth.ErrAliasTooShort, auth.ErrAliasTooLong, auth.ErrAliasBlankEnds,
		auth.ErrAliasDanishLetter, auth.ErrAliasCharacter, auth.ErrAliasLikeNumber, auth.ErrAliasTaken,
	}
	if ids := authUserErrorIDs(t); len(all) != len(ids) {
		t.Errorf("this test lists %d auth user errors, auth has %d: update the list", len(all), len(ids))
	}
	for _, e := range all {
		key := "auth." + e.ID
		for _, lang := range []ooapi.Language{ooapi.DA, ooapi.EN} {
			if got, want := Text(lang, key), e.Text(lang); got != want {
				t.Errorf("%s in %s = %q, auth says %q", key, lang, got, want)
			}
		}
		if Text(ooapi.KL, key) == e.Text(ooapi.DA) {
			t.Errorf("%s has no Greenlandic text of its own", key)
		}
	}
}

// The page and the script name catalogue keys; each must exist.
func TestPageAndScriptUseOnlyKnownKeys(t *testing.T) {
	page, err := os.ReadFile("templates/launcher.html")
	if err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile("assets/launcher.js")
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`data-t(?:-label|-title)?="([^"]+)"`).FindAllStringSubmatch(string(page), -1) {
		used[m[1]] = true
	}
	for _, m := range regexp.MustCompile(`\bt\("([^"]+)"\)`).FindAllStringSubmatch(string(script), -1) {
		used[m[1]] = true
	}
	// Keys chosen by the action: t(state.action === "sign" ? "a" : "b").
	chosen := regexp.MustCompile(`\bt\(state\.action === "sign" \? "(\w+)" : "(\w+)"\)`).FindAllStringSubmatch(string(script), -1)
	if len(chosen) < 3 {
		t.Errorf("found %d keys chosen by the action, want at least 3: the scan is broken", len(chosen))
	}
	for _, m := range chosen {
		used[m[1]], used[m[2]] = true, true
	}
	if len(used) < 25 {
		t.Fatalf("found only %d keys in the page and script: the scan is broken", len(used))
	}
	for key := range used {
		if _, ok := catalogue[key]; !ok {
			t.Errorf("the page or script uses %q, which the catalogue lacks", key)
		}
	}
}
