package ooapi

import (
	"slices"
	"strings"
	"testing"
)

// specCodes is the union of the client error codes of spec section 5:
// APP001–005, 007–010; AUTH001, 003–020; CAN001–008; CAPP001–004, 006–013;
// LIB002; LOCK001–003; OCES001–006; SRV001–011. Sorted.
var specCodes = []Code{
	"APP001", "APP002", "APP003", "APP004", "APP005", "APP007", "APP008", "APP009", "APP010",
	"AUTH001", "AUTH003", "AUTH004", "AUTH005", "AUTH006", "AUTH007", "AUTH008", "AUTH009", "AUTH010",
	"AUTH011", "AUTH012", "AUTH013", "AUTH014", "AUTH015", "AUTH016", "AUTH017", "AUTH018", "AUTH019", "AUTH020",
	"CAN001", "CAN002", "CAN003", "CAN004", "CAN005", "CAN006", "CAN007", "CAN008",
	"CAPP001", "CAPP002", "CAPP003", "CAPP004", "CAPP006", "CAPP007", "CAPP008", "CAPP009", "CAPP010",
	"CAPP011", "CAPP012", "CAPP013",
	"LIB002",
	"LOCK001", "LOCK002", "LOCK003",
	"OCES001", "OCES002", "OCES003", "OCES004", "OCES005", "OCES006",
	"SRV001", "SRV002", "SRV003", "SRV004", "SRV005", "SRV006", "SRV007", "SRV008", "SRV009", "SRV010", "SRV011",
}

func TestCodesMatchSpec(t *testing.T) {
	got := Codes()
	if !slices.Equal(got, specCodes) {
		for _, c := range specCodes {
			if !slices.Contains(got, c) {
				t.Errorf("missing code %s", c)
			}
		}
		for _, c := range got {
			if !slices.Contains(specCodes, c) {
				t.Errorf("code %s is not in spec section 5", c)
			}
		}
		t.Fatalf("Codes() = %v, want %v", got, specCodes)
	}
	if len(got) != 69 {
		t.Errorf("len(Codes()) = %d, want 69", len(got))
	}
	// Codes returns a fresh slice each time.
	got[0] = "XXX999"
	if Codes()[0] != APP001 {
		t.Error("Codes() shares its slice between calls")
	}
}

func TestCodeTexts(t *testing.T) {
	for _, c := range Codes() {
		info := codes[c]
		if !c.Known() {
			t.Errorf("%s: not Known", c)
		}
		if strings.TrimSpace(info.description) == "" || strings.TrimSpace(info.da) == "" || strings.TrimSpace(info.en) == "" {
			t.Errorf("%s: empty text: %+v", c, info)
			continue
		}
		if info.da == info.en {
			t.Errorf("%s: Danish and English texts are the same: %q", c, info.da)
		}
		for lang, text := range map[string]string{"da": info.da, "en": info.en} {
			for _, p := range []string{"##", "{0}", "%s", "[", "]", "http", "\\u"} {
				if strings.Contains(text, p) {
					t.Errorf("%s: %s text contains placeholder or link %q: %q", c, lang, p, text)
				}
			}
			if text != strings.TrimSpace(text) || strings.Contains(text, "  ") {
				t.Errorf("%s: %s text has stray white space: %q", c, lang, text)
			}
			if !strings.HasSuffix(text, ".") {
				t.Errorf("%s: %s text does not end with a full stop: %q", c, lang, text)
			}
		}
		if c.Text(DA) != info.da || c.Text(KL) != info.da || c.Text(EN) != info.en || c.Text("en") != info.en {
			t.Errorf("%s: Text does not pick the language's text", c)
		}
		if c.Description() != info.description {
			t.Errorf("%s: Description() = %q", c, c.Description())
		}
		if c.String() != string(c) {
			t.Errorf("%s: String() = %q", c, c.String())
		}
	}
}

func TestUncertainCodesSayso(t *testing.T) {
	for _, c := range []Code{AUTH014, AUTH015, AUTH016, SRV009} {
		if !strings.Contains(c.Description(), "UNCERTAIN") {
			t.Errorf("%s: description does not say its meaning is uncertain: %q", c, c.Description())
		}
	}
}

func TestUnknownCode(t *testing.T) {
	c := Code("XYZ123")
	if c.Known() {
		t.Fatal("XYZ123 is Known")
	}
	if !strings.Contains(c.Description(), "XYZ123") {
		t.Errorf("Description() = %q", c.Description())
	}
	if c.Text(DA) != APP001.Text(DA) || c.Text(EN) != APP001.Text(EN) {
		t.Error("an unknown code does not get the generic technical-error text")
	}
}

func TestParseCode(t *testing.T) {
	for _, tc := range []struct {
		in        string
		want      Code
		wantKnown bool
	}{
		{"APP001", APP001, true},
		{"AUTH020", AUTH020, true},
		{"CAPP013", CAPP013, true},
		{"LIB002", LIB002, true},
		{"SRV011", SRV011, true},
		{" SRV003\n", SRV003, true},
		{"\tOCES006\r\n", OCES006, true},

		// Right shape, not a known code.
		{"APP006", "APP006", false},
		{"AUTH002", "AUTH002", false},
		{"CAPP005", "CAPP005", false},
		{"LIB001", "LIB001", false},
		{"XYZ999", "XYZ999", false},
		{" ABCD000 ", "ABCD000", false},

		// Wrong shape.
		{"", "", false},
		{"   ", "", false},
		{"app001", "", false},
		{"App001", "", false},
		{"APP01", "", false},
		{"APP0001", "", false},
		{"AUTH0011", "", false},
		{"ABCDE001", "", false},
		{"AB001", "", false},
		{"APP 001", "", false},
		{"APP001 X", "", false},
		{"APP00A", "", false},
		{"ÆØÅ001", "", false},
		{"APP００1", "", false},
		{"<?xml version=\"1.0\"?>", "", false},
		{"QVBQMDAx", "", false}, // base64 of APP001: the caller decodes first
	} {
		got, known := ParseCode(tc.in)
		if got != tc.want || known != tc.wantKnown {
			t.Errorf("ParseCode(%q) = %q, %v; want %q, %v", tc.in, got, known, tc.want, tc.wantKnown)
		}
	}
	for _, c := range Codes() {
		if got, known := ParseCode(string(c)); got != c || !known {
			t.Errorf("ParseCode(%q) = %q, %v", c, got, known)
		}
	}
}
