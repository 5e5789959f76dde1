package ca

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nemid-dk/nemid/internal/store"
)

// Reason is an RFC 5280 CRLReason.
type Reason int

// The revocation reasons an operator may give. certificateHold (6) is not
// among them: an OCES revocation is final. removeFromCRL (8) exists only in
// delta CRLs.
const (
	ReasonUnspecified          Reason = 0
	ReasonKeyCompromise        Reason = 1
	ReasonCACompromise         Reason = 2
	ReasonAffiliationChanged   Reason = 3
	ReasonSuperseded           Reason = 4
	ReasonCessationOfOperation Reason = 5
	ReasonPrivilegeWithdrawn   Reason = 9
	ReasonAACompromise         Reason = 10
)

var reasonNames = map[Reason]string{
	ReasonUnspecified:          "unspecified",
	ReasonKeyCompromise:        "keyCompromise",
	ReasonCACompromise:         "cACompromise",
	ReasonAffiliationChanged:   "affiliationChanged",
	ReasonSuperseded:           "superseded",
	ReasonCessationOfOperation: "cessationOfOperation",
	ReasonPrivilegeWithdrawn:   "privilegeWithdrawn",
	ReasonAACompromise:         "aACompromise",
}

// String returns the RFC 5280 name of the reason.
func (r Reason) String() string {
	if n, ok := reasonNames[r]; ok {
		return n
	}
	return "reason(" + strconv.Itoa(int(r)) + ")"
}

// ReasonNames lists the accepted reason names, for help texts.
func ReasonNames() []string {
	out := make([]string, 0, len(reasonNames))
	for _, r := range []Reason{0, 1, 2, 3, 4, 5, 9, 10} {
		out = append(out, reasonNames[r])
	}
	return out
}

// ParseReason reads a reason by its RFC 5280 name (any case, with or without
// dashes) or its number.
func ParseReason(s string) (Reason, error) {
	key := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), "-", ""))
	if n, err := strconv.Atoi(key); err == nil {
		if _, ok := reasonNames[Reason(n)]; ok {
			return Reason(n), nil
		}
	}
	for r, name := range reasonNames {
		if strings.ToLower(name) == key {
			return r, nil
		}
	}
	if key == "certificatehold" || key == "6" {
		return 0, errors.New("reason certificateHold is not allowed: an OCES revocation cannot be undone")
	}
	return 0, fmt.Errorf("unknown revocation reason %q: want one of %s", s, strings.Join(ReasonNames(), ", "))
}

// Revoke records the revocation of a certificate durably before it returns.
// Revoking a certificate twice is an error that changes nothing.
func (a *Authority) Revoke(ctx context.Context, serial string, reason Reason) (store.Certificate, error) {
	if _, ok := reasonNames[reason]; !ok {
		return store.Certificate{}, fmt.Errorf("revocation reason %d is not allowed", int(reason))
	}
	s, err := ParseSerial(serial)
	if err != nil {
		return store.Certificate{}, err
	}
	c, err := a.store.Revoke(ctx, s, a.clock.Now(), int(reason))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Certificate{}, fmt.Errorf("no certificate with serial %s was issued here", s)
	case errors.Is(err, store.ErrAlreadyRevoked):
		return store.Certificate{}, fmt.Errorf("certificate %s is already revoked; a revocation cannot be changed", s)
	}
	return c, err
}

// List returns stored certificates.
func (a *Authority) List(ctx context.Context, f store.ListFilter) ([]store.Certificate, error) {
	return a.store.ListCertificates(ctx, f)
}
