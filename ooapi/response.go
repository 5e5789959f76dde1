package ooapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nemid-dk/nemid/oces"
	"github.com/nemid-dk/nemid/ooapi/revocation"
	"github.com/nemid-dk/nemid/ooapi/xmldsig"
)

// Config configures a Validator. Trust and Revocation are required, and so
// are Challenges and RequestIssuers unless the matching Insecure… field
// says, on purpose, that the check is skipped.
type Config struct {
	// Trust is the environment whose roots, issuing CAs and policies are
	// accepted: PreproductionTrust, ProductionTrust, or one of your own
	// from ParseTrust.
	Trust *Trust
	// Revocation finds each certificate's revocation status: the signer's
	// and its issuing CA's (the root is not checked). A status that cannot
	// be established refuses the response. revocation.None() checks
	// nothing and must be chosen explicitly.
	Revocation revocation.Checker
	// Challenges holds the challenge of each session (see ChallengeStore).
	Challenges ChallengeStore
	// RequestIssuers are the service provider's friendly names as
	// registered with NemID; the signed RequestIssuer must be one of them
	// (compared exactly). Several are allowed for a renaming, as OOAPI's
	// "name1;name2".
	RequestIssuers []string
	// Now is the clock; nil means time.Now. Validation happens at Now().
	Now func() time.Time
	// XMLDSig tunes the document limits (zero: the production profile).
	XMLDSig xmldsig.Options

	// InsecureSkipChallenge accepts a response without comparing its
	// challenge. Only for tools that look at a response after the fact
	// (`nemid response verify` without --challenge): a service provider
	// that skips it accepts replayed responses.
	InsecureSkipChallenge bool
	// InsecureSkipRequestIssuer accepts a response made for any service
	// provider. Only for tools: a service provider that skips it accepts a
	// logon the user gave to somebody else.
	InsecureSkipRequestIssuer bool
}

// Validator validates the responses of the NemID clients: the JS client's
// and the CodeFile client's logon and signature responses (spec §4, §6).
// It is safe for concurrent use.
type Validator struct {
	cfg Config
}

// NewValidator checks the configuration and returns a Validator.
func NewValidator(cfg Config) (*Validator, error) {
	switch {
	case cfg.Trust == nil:
		return nil, errors.New("ooapi: Config.Trust is required")
	case cfg.Revocation == nil:
		return nil, errors.New("ooapi: Config.Revocation is required (revocation.None() skips revocation checking, explicitly)")
	case cfg.Challenges == nil && !cfg.InsecureSkipChallenge:
		return nil, errors.New("ooapi: Config.Challenges is required")
	case len(cfg.RequestIssuers) == 0 && !cfg.InsecureSkipRequestIssuer:
		return nil, errors.New("ooapi: Config.RequestIssuers is required (the service provider's friendly name)")
	}
	for _, n := range cfg.RequestIssuers {
		if strings.TrimSpace(n) == "" {
			return nil, errors.New("ooapi: Config.RequestIssuers holds an empty name")
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.RequestIssuers = append([]string(nil), cfg.RequestIssuers...)
	// The environment's CAs travel in nearly every response: xmldsig takes
	// them from here instead of parsing the same bytes again each time.
	known := append([]*x509.Certificate(nil), cfg.XMLDSig.KnownCertificates...)
	known = append(known, cfg.Trust.roots...)
	cfg.XMLDSig.KnownCertificates = append(known, cfg.Trust.intermediates...)
	return &Validator{cfg: cfg}, nil
}

// CertificateStatus is the status of the signer's certificate at the
// validator's time.
type CertificateStatus string

// The statuses (OOAPI's CertificateStatus less INVALID, which here is an
// error with a Reason instead).
const (
	Valid       CertificateStatus = "valid"
	NotYetValid CertificateStatus = "not-yet-valid"
	Expired     CertificateStatus = "expired"
	Revoked     CertificateStatus = "revoked"
)

// Action is what the user did: log on or sign.
type Action string

// The two actions.
const (
	ActionLogon Action = "logon"
	ActionSign  Action = "sign"
)

// Result is a validated response.
type Result struct {
	Action Action
	// Identity is the signer as read from the certificate: the PID of a
	// person (POCES), the RID and CVR of an employee (MOCES), the UID or
	// FID and CVR of an organisation or function (VOCES, FOCES).
	Identity oces.Identity
	// Status is the certificate's status; anything but Valid comes with a
	// *ValidationError of Reason CertificateNotValid.
	Status CertificateStatus
	// Revocation is how the status was established (when Status is Valid
	// or Revoked).
	Revocation revocation.Status
	// Certificate is the signer's certificate; Chain runs from it to the
	// trusted root.
	Certificate *x509.Certificate
	Chain       []*x509.Certificate
	// RequestIssuer is the friendly name the user was shown.
	RequestIssuer string
	// RememberUseridToken is the opaque token to store (for example in a
	// cookie) and send back as REMEMBER_USERID next time; empty if none.
	RememberUseridToken string
	// IdentityAssuranceLevel is "1" or "2" (NSIS Substantial) when NemID
	// sent it, else empty.
	IdentityAssuranceLevel string
	// SignedText is the document the user signed (Sign only), as the
	// service provider gave it.
	SignedText []byte
	// Document is the response XML. NemID keeps no copy of signed
	// documents: store it as evidence (spec §4.1).
	Document []byte
}

// DecodeResponse turns what the client posted (base64 of the XML document
// or of an error code; raw XML is accepted too) into the XML document, or a
// *ClientError for an error code, or a *ValidationError (Malformed).
func DecodeResponse(response string) ([]byte, error) {
	s := strings.TrimSpace(response)
	if strings.HasPrefix(s, "<") {
		return []byte(s), nil
	}
	if c, _ := ParseCode(s); c != "" {
		return nil, &ClientError{Code: c}
	}
	// Tolerate line breaks inside the base64, as form posts sometimes add.
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s)
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, refuse(Malformed, "neither XML nor base64")
	}
	// The client sends an error code as base64 of the bare code; OOAPI told
	// the two apart by length, we by shape.
	if c, _ := ParseCode(string(raw)); c != "" {
		return nil, &ClientError{Code: c}
	}
	if !bytes.HasPrefix(bytes.TrimLeft(raw, " \t\r\n"), []byte("<")) {
		return nil, refuse(Malformed, "the decoded response is neither XML nor an error code")
	}
	return raw, nil
}

// Logon validates a logon response for the session whose challenge is in
// the ChallengeStore. The challenge is taken out of the store first, so
// that whatever the outcome the same response cannot be accepted twice.
//
// It returns the Result and nil only for a good, valid, unrevoked
// certificate. For an expired, not yet valid or revoked one it returns the
// Result (with Status) and a *ValidationError of Reason CertificateNotValid;
// every other refusal is a *ValidationError or a *ClientError and no
// Result.
func (v *Validator) Logon(ctx context.Context, session, response string) (*Result, error) {
	return v.validate(ctx, session, response, ActionLogon, nil)
}

// Sign validates a signature response for the session, like Logon, and
// also checks that the user signed exactly agreement — the SignText the
// service provider built the parameters with — and that it was shown to
// the user.
func (v *Validator) Sign(ctx context.Context, session, response string, agreement SignText) (*Result, error) {
	if agreement.format == "" {
		return nil, errors.New("ooapi: Sign needs the agreement that was sent for signing")
	}
	return v.validate(ctx, session, response, ActionSign, &agreement)
}

func (v *Validator) validate(ctx context.Context, session, response string, want Action, agreement *SignText) (*Result, error) {
	// Take the challenge before anything else can fail: one response per
	// challenge, whatever happens.
	var challenge Challenge
	var challengeErr error
	if !v.cfg.InsecureSkipChallenge {
		challenge, challengeErr = v.cfg.Challenges.Take(ctx, session)
	}
	doc, err := DecodeResponse(response)
	if err != nil {
		return nil, err // a ClientError needs no challenge to be reported
	}
	if challengeErr != nil {
		if errors.Is(challengeErr, ErrNoChallenge) {
			return nil, refuse(NoChallenge, "start the flow again")
		}
		return nil, &ValidationError{Reason: NoChallenge, Detail: "the challenge store failed", Err: challengeErr}
	}
	signed, err := xmldsig.Verify(doc, v.cfg.XMLDSig)
	if err != nil {
		return nil, &ValidationError{Reason: BadSignature, Err: err}
	}
	res := &Result{Certificate: signed.Signer, Document: doc}
	if err := v.checkProperties(signed, want, challenge, res); err != nil {
		return nil, err
	}
	if agreement != nil {
		if err := checkAgreement(signed, *agreement); err != nil {
			return nil, err
		}
		res.SignedText = agreement.content
	}
	at := v.cfg.Now()
	if err := v.checkCertificate(ctx, signed, at, res); err != nil {
		return nil, err
	}
	if res.Status != Valid {
		return res, refuse(CertificateNotValid, "the certificate of %s is %s", quoteShort(res.Identity.SerialNumber, 80), res.Status)
	}
	return res, nil
}

// checkProperties checks the signed properties: action, challenge,
// RequestIssuer; and copies the informative ones into res.
func (v *Validator) checkProperties(s *xmldsig.Signed, want Action, challenge Challenge, res *Result) error {
	action, ok := propertyFold(s, "action")
	if !ok {
		return refuse(WrongAction, "no action property")
	}
	switch action.Value {
	case "logon":
		res.Action = ActionLogon
	case "sign":
		res.Action = ActionSign
	default:
		// OOAPI takes anything but "logon" for a signature; we name both.
		return refuse(WrongAction, "action %s is neither logon nor sign", quoteShort(action.Value, 80))
	}
	if res.Action != want {
		return refuse(WrongAction, "a %s response where a %s response was expected", res.Action, want)
	}
	if !v.cfg.InsecureSkipChallenge {
		p, ok := propertyFold(s, "challenge")
		if !ok {
			return refuse(ChallengeMismatch, "the response carries no challenge")
		}
		if !challenge.Equal(p.Value) {
			return refuse(ChallengeMismatch, "the signed challenge is not the session's")
		}
	}
	issuer, ok := propertyFold(s, "RequestIssuer")
	if _, logonto := propertyFold(s, "logonto"); logonto && ok {
		return refuse(RequestIssuerMismatch, "both RequestIssuer and logonto are present")
	}
	if !ok {
		issuer, ok = propertyFold(s, "logonto")
	}
	if !ok {
		if !v.cfg.InsecureSkipRequestIssuer {
			return refuse(RequestIssuerMismatch, "no RequestIssuer property")
		}
	} else {
		res.RequestIssuer = issuer.Value
		if !v.cfg.InsecureSkipRequestIssuer && !v.knownIssuer(issuer.Value) {
			return refuse(RequestIssuerMismatch, "signed for %s", quoteShort(issuer.Value, 80))
		}
	}
	if p, ok := propertyFold(s, "rememberUseridToken"); ok {
		// Opaque: OOAPI hands it back as sent, never decoded.
		res.RememberUseridToken = p.Raw
	}
	if p, ok := propertyFold(s, "identityAssuranceLevel"); ok {
		res.IdentityAssuranceLevel = p.Value
	}
	return nil
}

func (v *Validator) knownIssuer(name string) bool {
	for _, n := range v.cfg.RequestIssuers {
		if n == name {
			return true
		}
	}
	return false
}

// checkAgreement compares the signed document with the agreement (spec
// §6.5): the signtext property must hold exactly the agreement's bytes and,
// unless it is XML shown through a transformation, be marked visible to the
// signer; for XML the stylesheetDigest property must be base64 of SHA-256
// of the transformation's base64 text, as DanID's own example computed it
// (spec §4.3, INFERRED).
func checkAgreement(s *xmldsig.Signed, agreement SignText) error {
	p, ok := propertyFold(s, "signtext")
	if !ok {
		return refuse(SignTextMismatch, "no signtext property")
	}
	if subtle.ConstantTimeCompare([]byte(p.Value), agreement.content) != 1 {
		return refuse(SignTextMismatch, "the signed text differs from the agreement")
	}
	if agreement.format == FormatXML {
		d, ok := propertyFold(s, "stylesheetDigest")
		if !ok {
			return refuse(SignTextMismatch, "no stylesheetDigest property for an XML sign text")
		}
		sum := sha256.Sum256([]byte(base64.StdEncoding.EncodeToString(agreement.transformation)))
		if d.Raw != base64.StdEncoding.EncodeToString(sum[:]) && d.Value != base64.StdEncoding.EncodeToString(sum[:]) {
			return refuse(SignTextMismatch, "the signed transformation differs from the agreement's")
		}
		return nil
	}
	if !p.VisibleToSigner {
		return refuse(SignTextMismatch, "the signed text was not visible to the signer")
	}
	return nil
}

// checkCertificate establishes trust in the signer (chain, OCES profile,
// policy, key usage) and its status at at.
func (v *Validator) checkCertificate(ctx context.Context, s *xmldsig.Signed, at time.Time, res *Result) error {
	leaf := s.Signer
	chain, err := buildChain(v.cfg.Trust, leaf, s.Certificates, at)
	if err != nil {
		return err
	}
	res.Chain = chain
	id, err := oces.ParseCertificate(leaf)
	if err != nil {
		return &ValidationError{Reason: NotOCES, Err: err}
	}
	res.Identity = id
	// OOAPI: exactly one policy, under the environment's prefix for the
	// type (it skipped POCES in preproduction for old certificates; every
	// real response we know passes the check, so we make it everywhere).
	// Policies, not PolicyIdentifiers: the latter leaves out OIDs with arcs
	// too large for an int, which would hide a second policy.
	if len(leaf.Policies) != 1 || len(leaf.PolicyIdentifiers) != 1 {
		return refuse(NotOCES, "%d certificate policies, want exactly 1", len(leaf.Policies))
	}
	if _, err := v.cfg.Trust.policies.MatchPolicy(leaf, id.Type); err != nil {
		return &ValidationError{Reason: NotOCES, Detail: "policy not of " + v.cfg.Trust.name, Err: err}
	}
	if leaf.KeyUsage != 0 && leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return refuse(KeyUsage, "the certificate of %s lacks digitalSignature", quoteShort(id.SerialNumber, 80))
	}
	switch {
	case at.Before(leaf.NotBefore):
		res.Status = NotYetValid
		return nil
	case at.After(leaf.NotAfter):
		res.Status = Expired
		return nil
	}
	// Revocation: the leaf, then its issuing CAs; the root is trusted as
	// configured and not checked (spec §8.3).
	for i := 0; i < len(chain)-1; i++ {
		st, err := v.cfg.Revocation.Check(ctx, chain[i], chain[i+1], at)
		if err != nil {
			return &ValidationError{Reason: RevocationUnknown, Detail: fmt.Sprintf("for %s", quoteDN(chain[i].Subject.String())), Err: err}
		}
		if i == 0 {
			res.Revocation = st
		}
		if st.Revoked {
			if i > 0 {
				return refuse(UntrustedChain, "issuing CA %s is revoked", quoteDN(chain[i].Subject.String()))
			}
			res.Status = Revoked
			return nil
		}
	}
	res.Status = Valid
	return nil
}

// propertyFold returns the property whose name equals name without regard
// to case; xmldsig guarantees names are unique that way, so there is no
// ambiguity, and the CodeFile client writes some names in capitals.
func propertyFold(s *xmldsig.Signed, name string) (xmldsig.Property, bool) {
	for _, p := range s.Properties {
		if strings.EqualFold(p.Name, name) {
			return p, true
		}
	}
	return xmldsig.Property{}, false
}
