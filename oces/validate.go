package oces

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ErrInvalidInput is the error all FieldErrors match with errors.Is.
var ErrInvalidInput = errors.New("oces: invalid input")

// FieldError reports a value that breaks a rule of the OCES profile or of
// X.509. The CPR number is personal data, so a FieldError for a CPR number
// never carries the number itself.
type FieldError struct {
	Field  string // e.g. "CVR", "CPR", "CN", "email"
	Value  string // the offending value; empty for CPR numbers
	Reason string // the rule that was broken
}

// Error names the field, the value (unless it is a CPR number) and the rule.
func (e *FieldError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("oces: invalid %s: %s", e.Field, e.Reason)
	}
	return fmt.Sprintf("oces: invalid %s %q: %s", e.Field, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidInput.
func (e *FieldError) Unwrap() error { return ErrInvalidInput }

func fieldErr(field, value, format string, args ...any) error {
	return &FieldError{Field: field, Value: value, Reason: fmt.Sprintf(format, args...)}
}

// Upper bounds from X.520 (ub-common-name etc.), counted in characters.
const (
	MaxCommonName         = 64
	MaxOrganization       = 64 // including the " // CVR:nnnnnnnn" suffix
	MaxOrganizationalUnit = 64
	MaxSerialNumber       = 64
	MaxEmail              = 128 // ub-emailaddress-length
	MaxNoticeText         = 200 // RFC 5280 §4.2.1.4
)

// ValidateCVR checks that s is a CVR number (the Danish company register
// number): exactly 8 ASCII digits, the first not 0.
//
// Real CVR numbers also satisfy a modulus-11 check, but it is deliberately not
// enforced: NemID's own test data (and test data in general) often fails it.
func ValidateCVR(s string) error {
	if len(s) != 8 || !allDigits(s) {
		return fieldErr("CVR", s, "must be exactly 8 ASCII digits")
	}
	if s[0] == '0' {
		return fieldErr("CVR", s, "must not start with 0")
	}
	return nil
}

// ValidateCPR checks that s is a CPR number (the Danish personal
// identification number); see ParseCPR for the rules.
func ValidateCPR(s string) error {
	_, err := ParseCPR(s)
	return err
}

// ParseCPR checks that s is a CPR number, "DDMMYYXXXX" or "DDMMYY-XXXX", whose
// date exists, and returns the date of birth (midnight UTC).
//
// The century follows from the seventh digit (the first of XXXX) by the rule
// of the CPR office (CPR-kontoret, "Personnummeret i CPR"):
//
//	0–3:    1900–1999
//	4, 9:   2000–2036 if YY ≤ 36, else 1937–1999
//	5–8:    2000–2057 if YY ≤ 57, else 1858–1899
//
// The modulus-11 check is not applied: since 2007 numbers are issued that do
// not satisfy it.
func ParseCPR(s string) (time.Time, error) {
	digits := s
	if len(s) == 11 {
		if s[6] != '-' {
			return time.Time{}, fieldErr("CPR", "", "must be DDMMYYXXXX or DDMMYY-XXXX")
		}
		digits = s[:6] + s[7:]
	}
	if len(digits) != 10 || !allDigits(digits) {
		return time.Time{}, fieldErr("CPR", "", "must be DDMMYYXXXX or DDMMYY-XXXX")
	}
	num := func(i int) int { return int(digits[i]-'0')*10 + int(digits[i+1]-'0') }
	day, month, yy := num(0), num(2), num(4)
	year := 1900 + yy
	switch c := digits[6]; {
	case c == '4' || c == '9':
		if yy <= 36 {
			year = 2000 + yy
		}
	case c >= '5' && c <= '8':
		if yy <= 57 {
			year = 2000 + yy
		} else {
			year = 1800 + yy
		}
	}
	birth := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	if month < 1 || month > 12 || birth.Day() != day || birth.Month() != time.Month(month) {
		return time.Time{}, fieldErr("CPR", "", "the date DDMMYY does not exist")
	}
	return birth, nil
}

// ValidateCommonName checks a subject common name (CN).
func ValidateCommonName(s string) error { return validateText("CN", s, MaxCommonName) }

// ValidateOrganizationalUnit checks a subject organizational unit (OU).
func ValidateOrganizationalUnit(s string) error {
	return validateText("OU", s, MaxOrganizationalUnit)
}

// ValidateOrganization checks a company name as it will appear in the subject
// O attribute, "<company> // CVR:<cvr>", including the suffix in the length.
func ValidateOrganization(company, cvr string) error {
	if err := ValidateCVR(cvr); err != nil {
		return err
	}
	return validateCompany(company)
}

// validateCompany checks a company name, leaving room for the CVR suffix.
func validateCompany(company string) error {
	if err := validateText("O", company, MaxOrganization); err != nil {
		return err
	}
	const max = MaxOrganization - len(cvrSuffix) - 8
	if n := utf8.RuneCountInString(strings.TrimSpace(company)); n > max {
		return fieldErr("O", company, "company name of %d characters; at most %d fit, since O (at most %d) also holds %q and the CVR number",
			n, max, MaxOrganization, cvrSuffix)
	}
	// A second suffix would make the organisation name misleading when read
	// back by ParseCertificate, which strips only the last one.
	if strings.Contains(company, cvrSuffix) {
		return fieldErr("O", company, "must not contain %q", cvrSuffix)
	}
	return nil
}

// ValidateEmail checks an e-mail address for the subject alternative name:
// a bare ASCII addr-spec (local@domain, no display name) of at most
// MaxEmail characters. ASCII only, because an rfc822Name is an IA5String.
func ValidateEmail(s string) error {
	if s == "" {
		return fieldErr("email", s, "must not be empty")
	}
	if len(s) > MaxEmail {
		return fieldErr("email", s, "longer than %d characters", MaxEmail)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return fieldErr("email", s, "must be printable ASCII without spaces")
		}
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return fieldErr("email", s, "not a valid address of the form local@domain")
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return fieldErr("email", s, "not a valid address of the form local@domain")
	}
	return nil
}

// validateText applies the rules shared by all subject names: non-empty after
// trimming surrounding spaces, valid UTF-8, no control or bidirectional
// formatting characters (they could disguise a name when displayed), and at
// most max characters after trimming.
func validateText(field, s string, max int) error {
	if !utf8.ValidString(s) {
		return fieldErr(field, s, "not valid UTF-8")
	}
	t := strings.TrimSpace(s)
	if t == "" {
		return fieldErr(field, s, "must not be empty")
	}
	for _, r := range t {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return fieldErr(field, s, "contains control character %U", r)
		}
	}
	if n := utf8.RuneCountInString(t); n > max {
		return fieldErr(field, s, "%d characters, at most %d allowed", n, max)
	}
	return nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
