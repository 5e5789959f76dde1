package oces

import (
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"strings"
)

// Type is an OCES certificate profile.
type Type string

// The four OCES end-entity profiles.
const (
	POCES Type = "poces" // person ("personcertifikat")
	MOCES Type = "moces" // employee of an organisation ("medarbejdercertifikat")
	VOCES Type = "voces" // organisation ("virksomhedscertifikat")
	FOCES Type = "foces" // function or IT system ("funktionscertifikat")
)

// Types returns the four OCES profiles in their conventional order.
func Types() []Type { return []Type{POCES, MOCES, VOCES, FOCES} }

// ParseType returns the profile named s, ignoring case.
func ParseType(s string) (Type, error) {
	t := Type(strings.ToLower(s))
	switch t {
	case POCES, MOCES, VOCES, FOCES:
		return t, nil
	}
	return "", fmt.Errorf("unknown profile %q: want poces, moces, voces or foces", s)
}

// Environment is an OCES trust environment together with the certificate
// policy OID prefix its issuing CAs use for each profile. The full policy OID
// of a certificate is the prefix followed by a version arc (for example
// 1.3.6.1.4.1.31313.2.4.6.1.5 is POCES version 5 in preproduction).
type Environment struct {
	// Name describes the environment, e.g. "OCES II preproduction".
	Name string
	// Prefixes maps every profile to its policy OID prefix. The
	// package-level environments share their maps: treat them as read-only
	// and use Prefix for a copy.
	Prefixes map[Type]asn1.ObjectIdentifier
}

// The policy OID prefixes come from OOAPI (ooapi.properties in the Java
// library, Properties.cs in the .NET one); see the protocol spec §7.3.
var (
	// OCESProduction is the production environment. OCES I (TDC) and
	// OCES II (NemID, TRUST2408) share these prefixes.
	OCESProduction = policyEnvironment("OCES II production", 1, 2, 208, 169, 1, 1, 1)
	// OCESPreproduction is NemID's preproduction (PP) environment, the one
	// the real test certificates come from.
	OCESPreproduction = policyEnvironment("OCES II preproduction", 1, 3, 6, 1, 4, 1, 31313, 2, 4, 6)
	// OCESExternalTest is DanID's external test environment.
	OCESExternalTest = policyEnvironment("OCES II external test", 1, 3, 6, 1, 4, 1, 31313, 2, 4, 5)
	// OCESInternalTest is DanID's internal test environment.
	OCESInternalTest = policyEnvironment("OCES II internal test", 1, 3, 6, 1, 4, 1, 31313, 2, 4, 3)
	// OCESIGTest is the "IG test" environment.
	OCESIGTest = policyEnvironment("OCES II IG test", 1, 3, 6, 1, 4, 1, 31313, 2, 4, 1)
	// OCESOperationsTest is DanID's operations test environment.
	OCESOperationsTest = policyEnvironment("OCES II operations test", 1, 3, 6, 1, 4, 1, 31313, 2, 4, 4)
	// OCESDevelopmentTest is DanID's development environment. It uses one
	// prefix, 1.3.6.1.4.1.31313.2.4.2.1, for all four profiles.
	OCESDevelopmentTest = Environment{Name: "OCES II development test", Prefixes: map[Type]asn1.ObjectIdentifier{
		POCES: {1, 3, 6, 1, 4, 1, 31313, 2, 4, 2, 1},
		MOCES: {1, 3, 6, 1, 4, 1, 31313, 2, 4, 2, 1},
		VOCES: {1, 3, 6, 1, 4, 1, 31313, 2, 4, 2, 1},
		FOCES: {1, 3, 6, 1, 4, 1, 31313, 2, 4, 2, 1},
	}}
)

// Environments returns every known environment, production first.
func Environments() []Environment {
	return []Environment{OCESProduction, OCESPreproduction, OCESExternalTest,
		OCESInternalTest, OCESIGTest, OCESOperationsTest, OCESDevelopmentTest}
}

// policyEnvironment builds an environment whose prefixes are base.1 (POCES)
// to base.4 (FOCES), the numbering every environment but development uses.
func policyEnvironment(name string, base ...int) Environment {
	e := Environment{Name: name, Prefixes: map[Type]asn1.ObjectIdentifier{}}
	for i, t := range Types() {
		oid := make(asn1.ObjectIdentifier, len(base), len(base)+1)
		copy(oid, base)
		e.Prefixes[t] = append(oid, i+1)
	}
	return e
}

// Prefix returns the policy OID prefix for profile t, or nil if the
// environment has none. The result is a copy the caller may modify.
func (e Environment) Prefix(t Type) asn1.ObjectIdentifier {
	p := e.Prefixes[t]
	if p == nil {
		return nil
	}
	return append(asn1.ObjectIdentifier(nil), p...)
}

// Allows reports whether policy is the prefix for profile t or lies under it.
// Arcs are compared, not strings, so 1.2.208.169.1.1.1.10 is not taken to be
// under 1.2.208.169.1.1.1.1.
func (e Environment) Allows(t Type, policy asn1.ObjectIdentifier) bool {
	p := e.Prefixes[t]
	if len(p) == 0 || len(policy) < len(p) {
		return false
	}
	return policy[:len(p)].Equal(p)
}

// MatchPolicy returns the first certificate policy of c that lies under the
// prefix for profile t, or an error naming the policies found when none does.
// A certificate of the wrong profile (a POCES presented where a MOCES is
// expected) or from another environment fails here.
func (e Environment) MatchPolicy(c *x509.Certificate, t Type) (asn1.ObjectIdentifier, error) {
	if _, ok := e.Prefixes[t]; !ok {
		return nil, fmt.Errorf("oces: environment %q has no policy for profile %q", e.Name, t)
	}
	for _, p := range c.PolicyIdentifiers {
		if e.Allows(t, p) {
			return p, nil
		}
	}
	return nil, fmt.Errorf("oces: certificate policies %v are not under %s policy %s of %s",
		c.PolicyIdentifiers, strings.ToUpper(string(t)), e.Prefixes[t], e.Name)
}
