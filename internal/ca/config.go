package ca

import (
	"encoding/asn1"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nemid-dk/nemid/oces"
)

// The two environments an installation can be.
const (
	EnvPreprod    = "preprod"
	EnvProduction = "production"
)

// DefaultPublicURL is the base of the HTTP URLs written into certificates when
// the operator names none: the address `nemid serve` listens on by default.
const DefaultPublicURL = "http://127.0.0.1:8080"

// DefaultPartitionSize is how many certificates share one CRL partition
// (CN=CRL<n>). NemID's partition numbers ran into the thousands for millions
// of certificates, so about a thousand per partition is of the same order.
const DefaultPartitionSize = 1000

// Config is everything `nemid init` decides once for an installation: the
// names of its authorities, the URLs written into certificates and the policy
// OIDs of each OCES profile. It is stored in the database as JSON so that
// every process sharing the database issues the same way.
type Config struct {
	Environment string `json:"environment"`
	// PublicURL is the base of every HTTP URL written into certificates.
	PublicURL string `json:"public_url"`

	Country      string `json:"country"`
	Organization string `json:"organization"`
	RootName     string `json:"root_name"`
	IssuingName  string `json:"issuing_name"`
	OCSPName     string `json:"ocsp_name"`

	// Policies maps an OCES profile to its full certificate policy OID (dotted).
	Policies map[oces.Type]string `json:"policies"`
	// NoticeText is the user-notice text of the certificate policy; "%s" is
	// replaced by the policy OID, as in the real OCES certificates.
	NoticeText string `json:"notice_text"`

	PartitionSize int `json:"partition_size"`
	// Validity of each kind of certificate, in days.
	RootValidityDays    int `json:"root_validity_days"`
	IssuingValidityDays int `json:"issuing_validity_days"`
	OCSPValidityDays    int `json:"ocsp_validity_days"`
	LeafValidityDays    int `json:"leaf_validity_days"`
}

// PreprodDefaults returns the configuration of a preproduction installation:
// names in the style of OCES II preproduction (spec section 7.1) and the
// OCES II preproduction policy arcs (spec section 7.3) with the version arcs
// seen in real preproduction certificates.
func PreprodDefaults() Config {
	return Config{
		Environment:  EnvPreprod,
		PublicURL:    DefaultPublicURL,
		Country:      "DK",
		Organization: "NemID Systemtest",
		RootName:     "NemID Systemtest Primary CA",
		IssuingName:  "NemID Systemtest I CA",
		OCSPName:     "NemID Systemtest I CA OCSP Responder",
		Policies: map[oces.Type]string{
			oces.POCES: "1.3.6.1.4.1.31313.2.4.6.1.5",
			oces.MOCES: "1.3.6.1.4.1.31313.2.4.6.2.6",
			oces.VOCES: "1.3.6.1.4.1.31313.2.4.6.3.5",
			oces.FOCES: "1.3.6.1.4.1.31313.2.4.6.4.5",
		},
		NoticeText: "NemID test certifikater fra denne CA udstedes under OID %s. " +
			"NemID test certificates from this CA are issued under OID %s.",
		PartitionSize:       DefaultPartitionSize,
		RootValidityDays:    25 * 365,
		IssuingValidityDays: 15 * 365,
		OCSPValidityDays:    365,
		LeafValidityDays:    0, // 0: exactly three years, as every OCES II certificate sampled
	}
}

// ProductionDefaults returns a production configuration with everything the
// operator must choose left empty: Validate refuses it until the names and
// policy OIDs are the operator's own.
func ProductionDefaults() Config {
	c := PreprodDefaults()
	c.Environment = EnvProduction
	c.PublicURL = ""
	c.Organization, c.RootName, c.IssuingName, c.OCSPName = "", "", "", ""
	c.Policies = map[oces.Type]string{}
	c.NoticeText = ""
	return c
}

// Defaults returns the defaults of an environment.
func Defaults(env string) (Config, error) {
	switch env {
	case EnvPreprod, "":
		return PreprodDefaults(), nil
	case EnvProduction:
		return ProductionDefaults(), nil
	}
	return Config{}, fmt.Errorf("unknown environment %q: want %s or %s", env, EnvPreprod, EnvProduction)
}

// Validate checks the configuration and explains every problem at once.
func (c Config) Validate() error {
	var problems []string
	add := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }

	if c.Environment != EnvPreprod && c.Environment != EnvProduction {
		add("environment %q: want %s or %s", c.Environment, EnvPreprod, EnvProduction)
	}
	if err := checkBaseURL(c.PublicURL); err != nil {
		add("public URL: %v", err)
	}
	if c.Country != "DK" {
		add("country %q: OCES certificates are Danish, want DK", c.Country)
	}
	for _, n := range []struct{ what, v string }{
		{"organization", c.Organization}, {"root CA name", c.RootName},
		{"issuing CA name", c.IssuingName}, {"OCSP responder name", c.OCSPName},
	} {
		switch {
		case strings.TrimSpace(n.v) == "":
			add("%s is not set", n.what)
		case !utf8.ValidString(n.v) || utf8.RuneCountInString(n.v) > 64:
			add("%s %q: must be valid UTF-8 of at most 64 characters (X.520)", n.what, n.v)
		}
	}
	if c.RootName != "" && c.RootName == c.IssuingName {
		add("root and issuing CA must have different names")
	}
	seen := map[string]oces.Type{}
	for _, t := range []oces.Type{oces.POCES, oces.MOCES, oces.VOCES, oces.FOCES} {
		oid, ok := c.Policies[t]
		if !ok || oid == "" {
			add("policy OID for %s is not set", t)
			continue
		}
		if _, err := parseOID(oid); err != nil {
			add("policy OID for %s: %v", t, err)
		}
		if other, dup := seen[oid]; dup {
			add("policy OID %s is used for both %s and %s", oid, other, t)
		}
		seen[oid] = t
	}
	if strings.TrimSpace(c.NoticeText) == "" {
		add("certificate policy notice text is not set")
	}
	if c.PartitionSize < 1 {
		add("CRL partition size %d: must be at least 1", c.PartitionSize)
	}
	if c.RootValidityDays < 1 || c.IssuingValidityDays < 1 || c.OCSPValidityDays < 1 || c.LeafValidityDays < 0 {
		add("validity periods must be positive")
	}
	if c.Environment == EnvProduction {
		d := PreprodDefaults()
		if c.Organization == d.Organization || c.RootName == d.RootName || c.IssuingName == d.IssuingName {
			add("production must not use the preproduction names")
		}
		for t, oid := range c.Policies {
			if oid == d.Policies[t] {
				add("production must not use the preproduction policy OID %s for %s", oid, t)
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("invalid CA configuration:\n  - %s", strings.Join(problems, "\n  - "))
	}
	return nil
}

// Policy returns the parsed policy OID of an OCES profile.
func (c Config) Policy(t oces.Type) (asn1.ObjectIdentifier, error) {
	oid, ok := c.Policies[t]
	if !ok {
		return nil, fmt.Errorf("no policy OID configured for %s", t)
	}
	return parseOID(oid)
}

// Notice returns the user-notice text for a policy OID.
func (c Config) Notice(oid asn1.ObjectIdentifier) string {
	return strings.ReplaceAll(c.NoticeText, "%s", oid.String())
}

// The URLs written into certificates, all under PublicURL. The server serves
// each of them (CA certificates now; CRLs and OCSP with the revocation services).
func (c Config) url(path string) string { return strings.TrimRight(c.PublicURL, "/") + path }

// RootCRLURL is the root's CRL, which covers the issuing CA.
func (c Config) RootCRLURL() string { return c.url("/crl/root.crl") }

// IssuingCRLURL is the issuing CA's full CRL.
func (c Config) IssuingCRLURL() string { return c.url("/crl/issuing.crl") }

// OCSPURL is the OCSP responder of the issuing CA.
func (c Config) OCSPURL() string { return c.url("/ocsp") }

// IssuingCertURL is where the issuing CA's certificate is published (AIA caIssuers).
func (c Config) IssuingCertURL() string { return c.url("/aia/issuing.cer") }

// RootCertURL is where the root certificate is published.
func (c Config) RootCertURL() string { return c.url("/aia/root.cer") }

// CPSURL is the certification practice statement pointer in every policy.
func (c Config) CPSURL() string { return c.url("/repository") }

// leafValidity is how long an end-entity certificate lives.
func (c Config) leafValidity() time.Duration {
	return time.Duration(c.LeafValidityDays) * 24 * time.Hour
}

func checkBaseURL(s string) error {
	if s == "" {
		return errors.New("not set")
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL", s)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q: want an http:// or https:// URL (relying parties fetch CRLs and CA certificates over plain HTTP)", s)
	}
	if u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q: want scheme, host and optional path only", s)
	}
	// Relying parties must be able to reach it: no empty host (":8080") and
	// no port 0 (a listen-anywhere address is not a URL).
	if u.Hostname() == "" || u.Port() == "0" {
		return fmt.Errorf("%q: want a host name and a real port that relying parties can reach", s)
	}
	return nil
}

func parseOID(s string) (asn1.ObjectIdentifier, error) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return nil, fmt.Errorf("%q is not a dotted OID", s)
	}
	oid := make(asn1.ObjectIdentifier, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || (len(p) > 1 && p[0] == '0') {
			return nil, fmt.Errorf("%q is not a dotted OID", s)
		}
		oid[i] = n
	}
	if oid[0] > 2 || (oid[0] < 2 && oid[1] > 39) {
		return nil, fmt.Errorf("%q is not a valid OID", s)
	}
	return oid, nil
}
