package ooapi

import (
	"bufio"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The official example of the implementation guidelines (spec 3.2), with
// its truncated values filled in: names keep their case, the two signature
// parameters are left out whatever their case, and "_" sorts before letters.
func TestNormalizeOfficialExample(t *testing.T) {
	params := []Param{
		{"TimeStamp", "2014-02-25 08:37:48+0100"},
		{"ClientFlow", "ocessign2"},
		{"Signtext_Format", "html"},
		{"Params_Digest", "ignored"},
		{"Digest_signature", "ignored"},
		{"SP_cert", "MIIE/x"},
		{"Signtext", "PGh0bWw+"},
	}
	n, err := Normalize(params)
	if err != nil {
		t.Fatal(err)
	}
	const want = "ClientFlowocessign2SigntextPGh0bWw+Signtext_FormathtmlSP_certMIIE/xTimeStamp2014-02-25 08:37:48+0100"
	if string(n) != want {
		t.Errorf("got  %s\nwant %s", n, want)
	}
}

func TestNormalizeUnderscoreOrder(t *testing.T) {
	n, err := Normalize([]Param{{"SIGNTEXT_FORMAT", "3"}, {"SIGNTEXT", "2"}, {"SIGN_PROPERTIES", "1"}})
	if err != nil {
		t.Fatal(err)
	}
	// An upper-case byte comparison (PHP ksort in [LAR]) would give
	// SIGNTEXT2SIGNTEXT_FORMAT3SIGN_PROPERTIES1.
	if want := "SIGN_PROPERTIES1SIGNTEXT2SIGNTEXT_FORMAT3"; string(n) != want {
		t.Errorf("got %s, want %s", n, want)
	}
}

func TestNormalizeErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		params []Param
		dup    bool
	}{
		{"case-only duplicate", []Param{{"LANGUAGE", "DA"}, {"language", "EN"}}, true},
		{"exact duplicate", []Param{{"ORIGIN", "a"}, {"ORIGIN", "a"}}, true},
		{"Kelvin sign folds onto k", []Param{{"k", "1"}, {"\u212A", "2"}}, true},
		{"duplicate digest", []Param{{"PARAMS_DIGEST", "a"}, {"params_digest", "b"}}, true},
		{"empty name", []Param{{"", "x"}}, false},
		{"invalid UTF-8 value", []Param{{"SIGNTEXT", "\xff"}}, false},
		{"invalid UTF-8 name", []Param{{"A\xc3", "x"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Normalize(tc.params)
			if err == nil {
				t.Fatal("no error")
			}
			if got := errors.Is(err, ErrDuplicateName); got != tc.dup {
				t.Errorf("errors.Is(%v, ErrDuplicateName) = %v", err, got)
			}
		})
	}
}

// compareNames against Java's own String.CASE_INSENSITIVE_ORDER, recorded
// by testdata/JavaOrder.java.
func TestCompareNamesMatchesJava(t *testing.T) {
	f, err := os.Open("testdata/java-case-insensitive-order.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() && sc.Text() != "---" {
		name, err := strconv.Unquote(`"` + sc.Text() + `"`)
		if err != nil {
			t.Fatalf("name %q: %v", sc.Text(), err)
		}
		names = append(names, name)
	}
	sign := map[byte]int{'-': -1, '0': 0, '+': 1}
	rows := 0
	for i := 0; sc.Scan(); i++ {
		row := sc.Text()
		if len(row) != len(names) {
			t.Fatalf("row %d has %d entries, want %d", i, len(row), len(names))
		}
		for j := range names {
			got := compareNames(names[i], names[j])
			if got > 0 {
				got = 1
			} else if got < 0 {
				got = -1
			}
			if got != sign[row[j]] {
				t.Errorf("compareNames(%q, %q) = %d, Java says %c", names[i], names[j], got, row[j])
			}
		}
		rows++
	}
	if rows != len(names) || len(names) < 100 {
		t.Fatalf("%d names, %d rows", len(names), rows)
	}
}

// Outside the Basic Multilingual Plane, compareNames is Java 8's
// comparison: UTF-16 code units, which have no case, so the Deseret capital
// and small letter differ (Java 16 and later would fold them).
func TestCompareNamesSupplementary(t *testing.T) {
	if compareNames("\U00010400", "\U00010428") == 0 {
		t.Error("Deseret capital long I equals its small letter")
	}
	// U+10000 is D800 DC00 in UTF-16, so it sorts before U+E000.
	if compareNames("\U00010000", "\uE000") >= 0 {
		t.Error("U+10000 does not sort before U+E000 as UTF-16 does")
	}
}

func TestNormalizeOrderIsSorted(t *testing.T) {
	names := []string{"b", "A", "_x", "a_", "ab", "Z", "SIGNTEXT", "sign_properties"}
	var params []Param
	for _, n := range names {
		params = append(params, Param{n, "."})
	}
	n, err := Normalize(params)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(names, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	if want := strings.Join(names, ".") + "."; string(n) != want {
		t.Errorf("got %s, want %s", n, want)
	}
}
