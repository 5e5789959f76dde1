package oces

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"strings"
)

// PIDPrefix starts every OCES II PID: "9208-2002-2-" followed by 12 digits.
// The meaning of 9208-2002-2 is not documented publicly.
const PIDPrefix = "9208-2002-2-"

// maxIDDigits keeps "CVR:nnnnnnnn-RID:" (17 characters) plus the identifier
// within the 64-character bound of the subject serialNumber.
const maxIDDigits = MaxSerialNumber - len("CVR:12345678-RID:")

// NewPID returns a new random PID (personal identifier in a POCES
// certificate), e.g. "9208-2002-2-175183276275".
func NewPID() (string, error) {
	n, err := randomBelow(big.NewInt(1_000_000_000_000))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s%012d", PIDPrefix, n), nil
}

// NewRID returns a new random RID (employee identifier in a MOCES
// certificate): 8 digits, the first not 0, e.g. "45490598".
func NewRID() (string, error) { return newID() }

// NewUID returns a new random UID (organisation identifier in a VOCES
// certificate): 8 digits, the first not 0, e.g. "25351738".
func NewUID() (string, error) { return newID() }

// NewFID returns a new random FID (function identifier in a FOCES
// certificate): 8 digits, the first not 0.
func NewFID() (string, error) { return newID() }

func newID() (string, error) {
	n, err := randomBelow(big.NewInt(90_000_000))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d", n+10_000_000), nil
}

// randomBelow draws uniformly from [0, max). crypto/rand.Int rejects and
// redraws out-of-range samples, so there is no modulo bias.
func randomBelow(max *big.Int) (int64, error) {
	n, err := rand.Int(rand.Reader, max)
	if err != nil {
		return 0, fmt.Errorf("oces: generating identifier: %w", err)
	}
	return n.Int64(), nil
}

// ValidatePID checks an existing PID given without the "PID:" prefix: the
// OCES II form "9208-2002-2-" followed by 12 digits.
func ValidatePID(s string) error {
	rest, ok := strings.CutPrefix(s, PIDPrefix)
	if !ok || len(rest) != 12 || !allDigits(rest) {
		return fieldErr("PID", s, "must be %q followed by 12 digits", PIDPrefix)
	}
	return nil
}

// ValidateRID checks an existing RID given without the "RID:" prefix: 1 to
// 47 ASCII digits.
func ValidateRID(s string) error { return validateID("RID", s) }

// ValidateUID checks an existing UID given without the "UID:" prefix: 1 to
// 47 ASCII digits.
func ValidateUID(s string) error { return validateID("UID", s) }

// ValidateFID checks an existing FID given without the "FID:" prefix: 1 to
// 47 ASCII digits.
func ValidateFID(s string) error { return validateID("FID", s) }

// validateID accepts 1 to 47 digits. That is wider than what NewRID and its
// siblings generate, because real identifiers are longer (the preproduction
// UID 1322561980007 has 13 digits) and an operator may need to re-issue one.
func validateID(field, s string) error {
	if s == "" || len(s) > maxIDDigits || !allDigits(s) {
		return fieldErr(field, s, "must be 1 to %d ASCII digits", maxIDDigits)
	}
	return nil
}
