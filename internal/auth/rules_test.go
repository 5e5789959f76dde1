package auth_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/nemid-dk/nemid/internal/auth"
	"github.com/nemid-dk/nemid/ooapi"
)

func TestCheckPassword(t *testing.T) {
	owner := auth.PasswordOwner{CPR: "1503871234", NemID: "456789123", Alias: "Kim.K", HasKeyCard: true}
	tests := []struct {
		pw   string
		want error
	}{
		// 4-digit codes.
		{"3719", nil},
		{"5555", auth.ErrPINSameDigits},
		{"1234", auth.ErrPINRun},
		{"4321", auth.ErrPINRun},
		{"5678", auth.ErrPINRun},
		{"7890", auth.ErrPINRun},
		{"0987", auth.ErrPINRun},
		{"0387", auth.ErrPINInCPR},
		{"1503", auth.ErrPINInCPR},
		{"1212", auth.ErrPasswordCommon},
		// Long passwords.
		{"Hemmelig42", nil},
		{"hemmelig 42!", nil},
		{`{}!#"$'%^&,*()_+-=:;?.@a1`, nil},
		{"abc12", auth.ErrPasswordTooShort},
		{"12345", auth.ErrPasswordTooShort},
		{"ab1", auth.ErrPasswordTooShort},
		{strings.Repeat("ab1", 13) + "a", nil},
		{strings.Repeat("ab1", 13) + "ab", auth.ErrPasswordTooLong},
		{" Hemmelig42", auth.ErrPasswordBlankEnds},
		{"Hemmelig42 ", auth.ErrPasswordBlankEnds},
		{"Hømmelig42", auth.ErrPasswordDanishLetter},
		{"HÆmmelig42", auth.ErrPasswordDanishLetter},
		{"påske2024x", auth.ErrPasswordDanishLetter},
		{"Hemmelig42é", auth.ErrPasswordCharacter},
		{"Hemmelig42~", auth.ErrPasswordCharacter},
		{"Hemmelig\t42", auth.ErrPasswordCharacter},
		{"123456", auth.ErrPasswordNeedsLetter},
		{"!!!!!!123", auth.ErrPasswordNeedsLetter},
		{"Hemmelig", auth.ErrPasswordNeedsDigit},
		{"Hemmmmelig42", auth.ErrPasswordRepeats},
		{"HemmMMelig42", auth.ErrPasswordRepeats},
		{"Hemmelig4444", auth.ErrPasswordRepeats},
		{"x1503871234", auth.ErrPasswordContainsCPR},
		{"x150387-1234", auth.ErrPasswordContainsCPR},
		{"nr456789123", auth.ErrPasswordContainsNemID},
		{"kim.k2024", auth.ErrPasswordContainsAlias},
		{"password1", auth.ErrPasswordCommon},
		{"PassWord1", auth.ErrPasswordCommon},
		{"abc123", auth.ErrPasswordCommon},
		{"trustno1", auth.ErrPasswordCommon},
		{"nemid2024", auth.ErrPasswordCommon},
		{"NemID-123!", auth.ErrPasswordCommon},
		{"adgangskode1", auth.ErrPasswordCommon},
	}
	for _, tc := range tests {
		err := auth.CheckPassword(tc.pw, owner)
		if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("CheckPassword(%q) = %v, want %v", tc.pw, err, tc.want)
		}
	}
	// Without a key card a 4-digit code is not allowed.
	if err := auth.CheckPassword("3719", auth.PasswordOwner{CPR: owner.CPR}); !errors.Is(err, auth.ErrPINNeedsKeyCard) {
		t.Errorf("a 4-digit code without a key card: %v", err)
	}
}

func TestCheckAlias(t *testing.T) {
	tests := []struct {
		alias string
		want  error
	}{
		{"Kim.K", nil},
		{"kim k 1967", nil},
		{`a{}!#"$'%^&,*()_+-=:;?.@`, nil},
		{"12345", nil},
		{"12345678901", nil},
		{strings.Repeat("a", 48), nil},
		{"Kim", auth.ErrAliasTooShort},
		{strings.Repeat("a", 49), auth.ErrAliasTooLong},
		{" Kim.K", auth.ErrAliasBlankEnds},
		{"Kim.K ", auth.ErrAliasBlankEnds},
		{"Søren", auth.ErrAliasDanishLetter},
		{"Åge.Å", auth.ErrAliasDanishLetter},
		{"Kim/K", auth.ErrAliasCharacter},
		{"Kim\u00a0K", auth.ErrAliasCharacter},
		{"José.K", auth.ErrAliasCharacter},
		{"123456789", auth.ErrAliasLikeNumber},
		{"1234567890", auth.ErrAliasLikeNumber},
		{"150387-1234", auth.ErrAliasLikeNumber},
		{"123 456 789", auth.ErrAliasLikeNumber},
		{"12.34.56.78.90", auth.ErrAliasLikeNumber},
	}
	for _, tc := range tests {
		err := auth.CheckAlias(tc.alias)
		if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("CheckAlias(%q) = %v, want %v", tc.alias, err, tc.want)
		}
	}
}

// TestUserErrorTexts: every rule has a Danish and an English text, and
// the rules are distinct values.
func TestUserErrorTexts(t *testing.T) {
	all := []*auth.UserError{
		auth.ErrInvalidCredentials, auth.ErrWrongCode, auth.ErrTooManyAttempts,
		auth.ErrPasswordTooShort, auth.ErrPasswordTooLong, auth.ErrPasswordBlankEnds, auth.ErrPasswordDanishLetter,
		auth.ErrPasswordCharacter, auth.ErrPasswordNeedsLetter, auth.ErrPasswordNeedsDigit, auth.ErrPasswordRepeats,
		auth.ErrPasswordContainsCPR, auth.ErrPasswordContainsNemID, auth.ErrPasswordContainsAlias, auth.ErrPasswordCommon,
		auth.ErrPINNeedsKeyCard, auth.ErrPINSameDigits, auth.ErrPINRun, auth.ErrPINInCPR,
		auth.ErrAliasTooShort, auth.ErrAliasTooLong, auth.ErrAliasBlankEnds, auth.ErrAliasDanishLetter,
		auth.ErrAliasCharacter, auth.ErrAliasLikeNumber, auth.ErrAliasTaken,
	}
	ids := map[string]bool{}
	for _, e := range all {
		da, en := e.Text(ooapi.DA), e.Text(ooapi.EN)
		if da == "" || en == "" || da == en || e.Text(ooapi.KL) != da {
			t.Errorf("%s: texts %q / %q", e.ID, da, en)
		}
		if ids[e.ID] {
			t.Errorf("%s is used twice", e.ID)
		}
		ids[e.ID] = true
	}
}
