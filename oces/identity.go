package oces

import (
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"
)

// Fixed texts of the OCES II subject names.
const (
	// PseudonymName is the CN of a POCES certificate whose holder chose
	// not to show a name.
	PseudonymName = "Pseudonym"
	// YouthUnit is the OU we write into a POCES certificate for a person
	// aged 15 to 18. NemID wrote YouthUnitOCES2, whose 78 characters exceed
	// the X.520 bound of 64 (zlint: e_subject_organizational_unit_name_max_length);
	// ours says the same within the bound (docs/oces-profiles.md), and
	// ParseCertificate recognises both.
	YouthUnit = "Ung 15-18 år - Kan som udgangspunkt ikke lave bindende aftaler"
	// YouthUnitOCES2 is the youth OU exactly as the real OCES II
	// certificates have it, and as DanID's OOAPI compared it.
	YouthUnitOCES2 = "Ung mellem 15 og 18 - Kan som udgangspunkt ikke lave juridisk bindende aftaler"
	// PersonOrganization is the O of every POCES certificate ("no
	// organisational affiliation").
	PersonOrganization = "Ingen organisatorisk tilknytning"
)

// cvrSuffix separates the company name from its CVR number in the O attribute.
const cvrSuffix = " // CVR:"

// Identity is the holder of an OCES end-entity certificate as read from its
// subject.
type Identity struct {
	Type Type
	// CommonName is the subject CN (the holder's name, or PseudonymName).
	CommonName string
	// SerialNumber is the whole subject serialNumber attribute, e.g.
	// "PID:9208-2002-2-175183276275" or "CVR:30808460-RID:45490598".
	SerialNumber string
	// PID is set for POCES, without the "PID:" prefix.
	PID string
	// CVR is the company number, set for MOCES, VOCES and FOCES.
	CVR string
	// RID, UID and FID are set for MOCES, VOCES and FOCES respectively,
	// without prefix.
	RID, UID, FID string
	// Organization is the company name without the " // CVR:nnnnnnnn"
	// suffix; empty for persons.
	Organization string
	// OrganizationalUnit is the subject OU, if any.
	OrganizationalUnit string
	// Pseudonym is true for a POCES certificate whose CN is PseudonymName.
	Pseudonym bool
	// Youth is true for a POCES certificate whose OU is YouthUnit or YouthUnitOCES2.
	Youth bool
	// Email is the first rfc822Name of the subject alternative name, if any.
	Email string
}

// ID returns the profile's own identifier: the PID, RID, UID or FID.
func (id Identity) ID() string {
	switch id.Type {
	case POCES:
		return id.PID
	case MOCES:
		return id.RID
	case VOCES:
		return id.UID
	case FOCES:
		return id.FID
	}
	return ""
}

// Errors reported by ParseCertificate and ParseSerialNumber, always wrapped in
// an *IdentityError. Every one of them also matches ErrNotOCES.
var (
	// ErrNotOCES matches every error below.
	ErrNotOCES = errors.New("not an OCES end-entity certificate")
	// ErrCACertificate: the certificate is a CA (basicConstraints cA TRUE).
	ErrCACertificate = errors.New("certificate is a CA certificate")
	// ErrNoSerialNumber: the subject has no serialNumber attribute.
	ErrNoSerialNumber = errors.New("subject has no serialNumber attribute")
	// ErrBadSerialNumber: the serialNumber is not PID:… or CVR:…-RID/UID/FID:….
	ErrBadSerialNumber = errors.New("malformed subject serialNumber")
	// ErrBadSubject: a required attribute is missing or repeated.
	ErrBadSubject = errors.New("malformed subject")
	// ErrCVRMismatch: the O attribute does not end in " // CVR:" and the
	// CVR number of the serialNumber.
	ErrCVRMismatch = errors.New("CVR in serialNumber does not match the organization")
)

// IdentityError explains why a certificate or serialNumber does not carry a
// valid OCES identity. errors.Is matches both ErrNotOCES and Reason.
type IdentityError struct {
	Reason error  // one of ErrCACertificate, ErrNoSerialNumber, ...
	Detail string // what was found, e.g. the offending attribute
}

// Error describes the reason and the detail.
func (e *IdentityError) Error() string {
	if e.Detail == "" {
		return fmt.Sprintf("oces: %v: %v", ErrNotOCES, e.Reason)
	}
	return fmt.Sprintf("oces: %v: %v: %s", ErrNotOCES, e.Reason, e.Detail)
}

// Unwrap returns ErrNotOCES and the specific reason.
func (e *IdentityError) Unwrap() []error { return []error{ErrNotOCES, e.Reason} }

func identityErr(reason error, format string, args ...any) error {
	return &IdentityError{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

var (
	oidCommonName         = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidSerialNumber       = asn1.ObjectIdentifier{2, 5, 4, 5}
	oidCountry            = asn1.ObjectIdentifier{2, 5, 4, 6}
	oidOrganization       = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidOrganizationalUnit = asn1.ObjectIdentifier{2, 5, 4, 11}
	oidDNQualifier        = asn1.ObjectIdentifier{2, 5, 4, 46}
)

// ParseCertificate reads the OCES identity from an end-entity certificate.
// It looks only at the subject and the subject alternative name: whether the
// certificate is trusted, valid and issued under the right policy is for the
// caller to check (see Environment.MatchPolicy).
func ParseCertificate(c *x509.Certificate) (Identity, error) {
	if c.BasicConstraintsValid && c.IsCA {
		return Identity{}, identityErr(ErrCACertificate, "subject %s", c.Subject)
	}
	// Read c.Subject.Names rather than c.Subject.SerialNumber and friends:
	// pkix.Name keeps only the last value of a repeated attribute, and a
	// repeated CN or serialNumber must be rejected, not silently chosen.
	attrs := map[string]string{}
	for _, n := range c.Subject.Names {
		var name string
		switch {
		case n.Type.Equal(oidCommonName):
			name = "CN"
		case n.Type.Equal(oidSerialNumber):
			name = "serialNumber"
		case n.Type.Equal(oidOrganization):
			name = "O"
		case n.Type.Equal(oidOrganizationalUnit):
			name = "OU"
		default:
			continue
		}
		v, ok := n.Value.(string)
		if !ok {
			return Identity{}, identityErr(ErrBadSubject, "%s is not a string", name)
		}
		if _, dup := attrs[name]; dup {
			return Identity{}, identityErr(ErrBadSubject, "more than one %s", name)
		}
		attrs[name] = v
	}
	sn, ok := attrs["serialNumber"]
	if !ok {
		return Identity{}, identityErr(ErrNoSerialNumber, "subject %s", c.Subject)
	}
	id, err := ParseSerialNumber(sn)
	if err != nil {
		return Identity{}, err
	}
	if attrs["CN"] == "" {
		return Identity{}, identityErr(ErrBadSubject, "no CN")
	}
	id.CommonName = attrs["CN"]
	id.OrganizationalUnit = attrs["OU"]
	if id.Type == POCES {
		id.Pseudonym = id.CommonName == PseudonymName
		id.Youth = id.OrganizationalUnit == YouthUnit || id.OrganizationalUnit == YouthUnitOCES2
	} else {
		o, ok := attrs["O"]
		if !ok {
			return Identity{}, identityErr(ErrBadSubject, "no O in a %s certificate", strings.ToUpper(string(id.Type)))
		}
		company, cvr, found := cutLast(o, cvrSuffix)
		if !found || cvr != id.CVR {
			return Identity{}, identityErr(ErrCVRMismatch, "serialNumber %q, O %q", sn, o)
		}
		id.Organization = company
	}
	if len(c.EmailAddresses) > 0 {
		id.Email = c.EmailAddresses[0]
	}
	return id, nil
}

// ParseSerialNumber reads the profile and identifiers from a subject
// serialNumber attribute: "PID:<pid>" (POCES) or "CVR:<8 digits>-RID:<rid>"
// (MOCES), "-UID:<uid>" (VOCES), "-FID:<fid>" (FOCES). Only Type,
// SerialNumber, PID, CVR, RID, UID and FID are set.
//
// Parsing is more lenient than ValidatePID and its siblings, which apply to
// new certificates: any non-empty run of printable ASCII without spaces is
// accepted as identifier, since older or other OCES certificates may use
// other formats and an identity must not be rejected merely for that.
func ParseSerialNumber(s string) (Identity, error) {
	id := Identity{SerialNumber: s}
	if pid, ok := strings.CutPrefix(s, "PID:"); ok {
		if !plainID(pid) {
			return Identity{}, identityErr(ErrBadSerialNumber, "%q: empty or invalid PID", s)
		}
		id.Type, id.PID = POCES, pid
		return id, nil
	}
	rest, ok := strings.CutPrefix(s, "CVR:")
	if !ok {
		return Identity{}, identityErr(ErrBadSerialNumber, "%q: want PID:… or CVR:…", s)
	}
	if len(rest) < 8+5 || !allDigits(rest[:8]) {
		return Identity{}, identityErr(ErrBadSerialNumber, "%q: CVR must be 8 digits followed by -RID:, -UID: or -FID:", s)
	}
	id.CVR, rest = rest[:8], rest[8:]
	value := rest[5:]
	switch rest[:5] {
	case "-RID:":
		id.Type, id.RID = MOCES, value
	case "-UID:":
		id.Type, id.UID = VOCES, value
	case "-FID:":
		id.Type, id.FID = FOCES, value
	default:
		return Identity{}, identityErr(ErrBadSerialNumber, "%q: CVR must be followed by -RID:, -UID: or -FID:", s)
	}
	if !plainID(value) {
		return Identity{}, identityErr(ErrBadSerialNumber, "%q: empty or invalid identifier after %s", s, rest[1:5])
	}
	return id, nil
}

// plainID reports whether s is non-empty printable ASCII without spaces.
func plainID(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// cutLast is strings.Cut at the last occurrence of sep.
func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// serialNumberOf formats the subject serialNumber for a request.
func serialNumberOf(t Type, cvr, id string) string {
	switch t {
	case POCES:
		return "PID:" + id
	case MOCES:
		return "CVR:" + cvr + "-RID:" + id
	case VOCES:
		return "CVR:" + cvr + "-UID:" + id
	default:
		return "CVR:" + cvr + "-FID:" + id
	}
}
