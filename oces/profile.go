package oces

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Request describes the holder of a new OCES end-entity certificate.
type Request struct {
	Type Type
	// Name is the CN; ignored when Pseudonym is set (the CN becomes
	// PseudonymName). Surrounding spaces are removed.
	Name string
	// Pseudonym and Youth apply to POCES only (see PseudonymName and
	// YouthUnit).
	Pseudonym, Youth bool
	// CVR and Organization (the company name, without the CVR suffix) are
	// required for MOCES, VOCES and FOCES and forbidden for POCES.
	CVR, Organization string
	// OrganizationalUnit is an optional OU, MOCES only.
	OrganizationalUnit string
	// ID is the PID, RID, UID or FID without prefix. It is required:
	// generate one with NewPID, NewRID, NewUID or NewFID.
	ID string
	// Email is an optional rfc822Name for the subject alternative name
	// (MOCES, VOCES and FOCES only).
	Email string
}

// Validate checks the request against the rules of its profile and reports
// every problem found.
func (r Request) Validate() error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := ParseType(string(r.Type)); err != nil {
		return fieldErr("type", string(r.Type), "want poces, moces, voces or foces")
	}
	upper := strings.ToUpper(string(r.Type))
	forbid := func(set bool, field, why string) {
		if set {
			add(fieldErr(field, "", "not allowed in a %s certificate%s", upper, why))
		}
	}
	if !r.Pseudonym {
		add(ValidateCommonName(r.Name))
		if r.Type == POCES && strings.EqualFold(strings.TrimSpace(r.Name), PseudonymName) {
			add(fieldErr("CN", r.Name, "reserved for pseudonym certificates; set Pseudonym instead"))
		}
	}
	switch r.Type {
	case POCES:
		add(ValidatePID(r.ID))
		forbid(r.CVR != "", "CVR", " (persons have no organisation)")
		forbid(r.Organization != "", "O", " (persons have no organisation)")
		forbid(r.OrganizationalUnit != "", "OU", "")
		forbid(r.Email != "", "email", "")
	default:
		forbid(r.Pseudonym, "pseudonym", " (POCES only)")
		forbid(r.Youth, "youth", " (POCES only)")
		if r.CVR == "" {
			add(fieldErr("CVR", "", "required in a %s certificate", upper))
		} else {
			add(ValidateCVR(r.CVR))
		}
		if r.Organization == "" {
			add(fieldErr("O", "", "required in a %s certificate", upper))
		} else {
			add(validateCompany(r.Organization))
		}
		switch r.Type {
		case MOCES:
			add(ValidateRID(r.ID))
		case VOCES:
			add(ValidateUID(r.ID))
		case FOCES:
			add(ValidateFID(r.ID))
		}
		if r.OrganizationalUnit != "" {
			if r.Type == MOCES {
				add(ValidateOrganizationalUnit(r.OrganizationalUnit))
			} else {
				forbid(true, "OU", " (MOCES only)")
			}
		}
		if r.Email != "" {
			add(ValidateEmail(r.Email))
		}
	}
	if sn := serialNumberOf(r.Type, r.CVR, r.ID); len(sn) > MaxSerialNumber {
		add(fieldErr("serialNumber", sn, "longer than %d characters", MaxSerialNumber))
	}
	return errors.Join(errs...)
}

// Params holds what the issuing CA contributes to a certificate.
type Params struct {
	// Policy is the full certificate policy OID for the request's profile.
	Policy asn1.ObjectIdentifier
	// CPSURL points to the CA's certification practice statement.
	CPSURL string
	// NoticeText is the explicit text of the policy's user notice, at most
	// MaxNoticeText characters.
	NoticeText string
	// OCSPURL and CAIssuersURL go into the authority information access;
	// FullCRLURL is the first CRL distribution point.
	OCSPURL, CAIssuersURL, FullCRLURL string
	// IssuerName is the issuing CA's subject (C=DK, O=…, CN=…), the base of
	// the partition CRL's directory name. ParseRawName(ca.RawSubject) keeps
	// its string types.
	IssuerName pkix.RDNSequence
	// Partition is the number of the CRL partition (CN=CRL<n>), at least 1.
	Partition int
	// NotBefore starts the validity period.
	NotBefore time.Time
	// Validity is the length of the validity period; 0 means three years
	// (NotBefore.AddDate(3, 0, 0)), as in every preproduction sample.
	Validity time.Duration
}

// Validate checks the parameters and reports every problem found.
func (p Params) Validate() error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(p.Policy) < 2 {
		add(fieldErr("policy", p.Policy.String(), "must be an OID of at least two arcs"))
	}
	add(validateURL("CPS URL", p.CPSURL))
	add(validateURL("OCSP URL", p.OCSPURL))
	add(validateURL("CA issuers URL", p.CAIssuersURL))
	add(validateURL("full CRL URL", p.FullCRLURL))
	add(validateNotice(p.NoticeText))
	if len(p.IssuerName) == 0 {
		add(fieldErr("issuer name", "", "required (the CA's subject)"))
	}
	if p.Partition < 1 {
		add(fieldErr("partition", fmt.Sprint(p.Partition), "must be at least 1"))
	}
	if p.NotBefore.IsZero() {
		add(fieldErr("NotBefore", "", "required"))
	}
	if p.Validity < 0 {
		add(fieldErr("validity", p.Validity.String(), "must not be negative"))
	}
	return errors.Join(errs...)
}

// Template returns the to-be-signed certificate for r, issued with p, for
// the public key pub (RSA, at least MinRSABits). Pass it to
// x509.CreateCertificate with the issuing CA's certificate as parent after
// setting SerialNumber, which is the CA's business.
//
// The result follows the OCES II end-entity profile of the certificates
// NemID issued, with these deliberate differences: key usage lacks
// keyAgreement (an RSA key cannot do key agreement), the user notice has no
// noticeRef and its text is a UTF8String, and the extensions come in
// crypto/x509's order rather than DanID's.
func Template(r Request, p Params, pub crypto.PublicKey) (*x509.Certificate, error) {
	if err := errors.Join(r.Validate(), p.Validate(), checkKey(pub)); err != nil {
		return nil, err
	}
	rawSubject, err := subjectOf(r)
	if err != nil {
		return nil, err
	}
	skid, err := SubjectKeyID(pub)
	if err != nil {
		return nil, err
	}
	policies, err := certificatePolicies(p.Policy, p.CPSURL, p.NoticeText)
	if err != nil {
		return nil, err
	}
	crldp, err := CRLDistributionPoints(p.FullCRLURL, p.IssuerName, p.Partition)
	if err != nil {
		return nil, err
	}
	notAfter := p.NotBefore.AddDate(3, 0, 0)
	if p.Validity > 0 {
		notAfter = p.NotBefore.Add(p.Validity)
	}
	ku := x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment
	if r.Type == POCES || r.Type == MOCES {
		// Persons and employees sign agreements, so their keys also
		// carry non-repudiation; organisations and functions do not.
		ku |= x509.KeyUsageContentCommitment
	}
	t := &x509.Certificate{
		RawSubject:            rawSubject,
		NotBefore:             p.NotBefore,
		NotAfter:              notAfter,
		KeyUsage:              ku,
		BasicConstraintsValid: true,
		SubjectKeyId:          skid,
		OCSPServer:            []string{p.OCSPURL},
		IssuingCertificateURL: []string{p.CAIssuersURL},
		// The two fields below only inform callers: the hand-built
		// extensions in ExtraExtensions replace what crypto/x509 would
		// make of them.
		CRLDistributionPoints: []string{p.FullCRLURL},
		PolicyIdentifiers:     []asn1.ObjectIdentifier{append(asn1.ObjectIdentifier(nil), p.Policy...)},
		ExtraExtensions:       []pkix.Extension{policies, crldp, basicConstraintsEndEntity},
	}
	if r.Email != "" {
		t.EmailAddresses = []string{r.Email}
	}
	// Fill Subject too, for callers that log or inspect the template;
	// crypto/x509 encodes RawSubject and ignores Subject.
	var rdns pkix.RDNSequence
	if _, err := asn1.Unmarshal(rawSubject, &rdns); err != nil {
		return nil, fmt.Errorf("oces: re-reading subject: %w", err)
	}
	t.Subject.FillFromRDNSequence(&rdns)
	return t, nil
}

// subjectOf encodes the subject in the order of the real certificates:
// C, O, [OU], then one multi-valued RDN with CN and serialNumber.
func subjectOf(r Request) ([]byte, error) {
	cn := strings.TrimSpace(r.Name)
	org := PersonOrganization
	ou := strings.TrimSpace(r.OrganizationalUnit)
	switch {
	case r.Type != POCES:
		org = strings.TrimSpace(r.Organization) + cvrSuffix + r.CVR
	case r.Youth:
		ou = YouthUnit
	}
	if r.Pseudonym {
		cn = PseudonymName
	}
	name := pkix.RDNSequence{
		{{Type: oidCountry, Value: printableValue("DK")}},
		{{Type: oidOrganization, Value: utf8Value(org)}},
	}
	if ou != "" {
		name = append(name, pkix.RelativeDistinguishedNameSET{{Type: oidOrganizationalUnit, Value: utf8Value(ou)}})
	}
	name = append(name, pkix.RelativeDistinguishedNameSET{
		{Type: oidCommonName, Value: utf8Value(cn)},
		{Type: oidSerialNumber, Value: printableValue(serialNumberOf(r.Type, r.CVR, r.ID))},
	})
	return marshalName(name)
}

// validateURL requires an absolute http or https URL in ASCII, since the
// certificate carries it as an IA5String.
func validateURL(field, s string) error {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return fieldErr(field, s, "must be printable ASCII without spaces")
		}
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fieldErr(field, s, "must be an absolute http or https URL")
	}
	return nil
}

func validateNotice(s string) error {
	if !utf8.ValidString(s) {
		return fieldErr("notice text", s, "not valid UTF-8")
	}
	if strings.TrimSpace(s) == "" {
		return fieldErr("notice text", s, "must not be empty")
	}
	if n := utf8.RuneCountInString(s); n > MaxNoticeText {
		return fieldErr("notice text", s, "%d characters, at most %d allowed (RFC 5280)", n, MaxNoticeText)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fieldErr("notice text", s, "contains control character %U", r)
		}
	}
	return nil
}
