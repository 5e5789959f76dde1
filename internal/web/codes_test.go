package web

import (
	"testing"

	"github.com/nemid-dk/nemid/ooapi"
)

func TestCodeTextIsOOAPIsInDanishAndEnglish(t *testing.T) {
	for _, c := range ooapi.Codes() {
		for _, lang := range []ooapi.Language{ooapi.DA, ooapi.EN} {
			if got, want := CodeText(lang, c), c.Text(lang); got != want {
				t.Errorf("CodeText(%s, %s) = %q, want ooapi's %q", lang, c, got, want)
			}
		}
		if got, want := CodeText("en", c), c.Text(ooapi.EN); got != want {
			t.Errorf("CodeText(en, %s) = %q, want the English text", c, got)
		}
		if got, want := CodeText("XX", c), c.Text(ooapi.DA); got != want {
			t.Errorf("CodeText(XX, %s) = %q, want the Danish text", c, got)
		}
	}
}

func TestCodeTextHasGreenlandicForTheClientsCodes(t *testing.T) {
	for _, c := range []ooapi.Code{
		ooapi.CAN001, ooapi.CAN002, ooapi.CAN003, ooapi.LOCK001, ooapi.LOCK002, ooapi.LOCK003,
		ooapi.AUTH004, ooapi.AUTH005, ooapi.AUTH007, ooapi.AUTH008, ooapi.AUTH010, ooapi.AUTH012,
		ooapi.SRV001, ooapi.SRV003, ooapi.SRV004, ooapi.SRV005, ooapi.SRV006,
		ooapi.APP001, ooapi.APP002, ooapi.APP003, ooapi.APP007, ooapi.APP008, ooapi.APP010,
	} {
		kl := CodeText(ooapi.KL, c)
		if kl == "" || kl == c.Text(ooapi.DA) || kl == c.Text(ooapi.EN) {
			t.Errorf("CodeText(KL, %s) = %q: no Greenlandic text", c, kl)
		}
		if got := CodeText("kl", c); got != kl {
			t.Errorf("CodeText(kl, %s) differs from CodeText(KL, …)", c)
		}
	}
}

func TestCodeTextGreenlandicFallsBackToDanish(t *testing.T) {
	// OCES001 tells the user about online-banking NemID; we have no
	// Greenlandic text for it.
	if got, want := CodeText(ooapi.KL, ooapi.OCES001), ooapi.OCES001.Text(ooapi.DA); got != want {
		t.Errorf("CodeText(KL, OCES001) = %q, want the Danish %q", got, want)
	}
	// An unknown code gets ooapi's generic text, which we have translated.
	if got := CodeText(ooapi.KL, "XYZ999"); got == "" || got == ooapi.Code("XYZ999").Text(ooapi.DA) {
		t.Errorf("CodeText(KL, unknown) = %q, want the generic Greenlandic text", got)
	}
}

func TestGreenlandicCodeTextsAreForKnownCodesAndTexts(t *testing.T) {
	for c, s := range klByCode {
		if !c.Known() {
			t.Errorf("Greenlandic text for unknown code %s", c)
		}
		if s == "" {
			t.Errorf("empty Greenlandic text for %s", c)
		}
	}
	danish := map[string]bool{}
	for _, c := range ooapi.Codes() {
		danish[c.Text(ooapi.DA)] = true
	}
	for da := range klByDanish {
		if !danish[da] {
			t.Errorf("klByDanish translates %q, which no code has: ooapi's texts changed", da)
		}
	}
}
