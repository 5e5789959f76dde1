package ca

import (
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"time"

	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/oces"
)

// IssueRequest asks for one OCES end-entity certificate.
type IssueRequest struct {
	// Subject says who the certificate is for. An empty Subject.ID gets a
	// fresh random PID, RID, UID or FID.
	Subject oces.Request
	// Exactly one of CSR (DER; its signature is checked as proof of
	// possession, and only its key is used: the subject comes from Subject)
	// and PublicKey must be set.
	CSR       []byte
	PublicKey crypto.PublicKey
}

// Issued is a newly issued certificate.
type Issued struct {
	Certificate *x509.Certificate
	Record      store.Certificate
}

// ErrBadCSR is returned for a CSR that cannot be parsed or whose signature
// does not verify.
var ErrBadCSR = errors.New("bad certificate signing request")

// Issue validates the request, gives the certificate a CRL partition, lints
// it, signs it with the issuing CA and stores it. Bad input is refused before
// anything is changed.
func (a *Authority) Issue(ctx context.Context, req IssueRequest) (*Issued, error) {
	// A clash of 126-bit random serials is practically impossible; should
	// one happen, the store refuses it and we sign again under a new one.
	for attempt := 0; ; attempt++ {
		issued, err := a.Prepare(ctx, req)
		if err != nil {
			return nil, err
		}
		err = a.store.InsertCertificate(ctx, issued.Record)
		if errors.Is(err, store.ErrDuplicateSerial) && attempt < 3 {
			continue
		}
		if err != nil {
			return nil, err
		}
		return issued, nil
	}
}

// Prepare is Issue without the store's insert: it validates the request,
// gives the certificate a CRL partition, lints it and signs it, and returns
// the certificate with the record to store (Issued.Record, status good),
// which the caller stores in its own transaction with what the certificate
// belongs to (a registration: the user and the key). A certificate
// prepared and never stored was never issued: it is in no list, no CRL and
// no OCSP answer, and its partition place is merely unused (harmless; see
// store.AllocatePartition). Bad input is refused before anything changes.
func (a *Authority) Prepare(ctx context.Context, req IssueRequest) (*Issued, error) {
	pub, err := requestKey(req)
	if err != nil {
		return nil, err
	}
	subject := req.Subject
	if subject.ID == "" {
		if subject.ID, err = newIdentifier(subject.Type); err != nil {
			return nil, err
		}
	}
	if err := subject.Validate(); err != nil {
		return nil, err
	}
	policy, err := a.cfg.Policy(subject.Type)
	if err != nil {
		return nil, err
	}
	issuerName, err := oces.ParseRawName(a.issuingCert.RawSubject)
	if err != nil {
		return nil, fmt.Errorf("issuing CA subject: %w", err)
	}
	params := oces.Params{
		Policy:       policy,
		CPSURL:       a.cfg.CPSURL(),
		NoticeText:   a.cfg.Notice(policy),
		OCSPURL:      a.cfg.OCSPURL(),
		CAIssuersURL: a.cfg.IssuingCertURL(),
		FullCRLURL:   a.cfg.IssuingCRLURL(),
		IssuerName:   issuerName,
		Partition:    1, // checked here with a placeholder, set below once allocated
		NotBefore:    a.clock.Now().Truncate(time.Second),
		Validity:     a.cfg.leafValidity(),
	}
	// Build once before allocating, so that a request the profile refuses
	// changes nothing.
	probe, err := oces.Template(subject, params, pub)
	if err != nil {
		return nil, err
	}
	if probe.NotAfter.After(a.issuingCert.NotAfter) {
		return nil, fmt.Errorf("the issuing CA expires %s, before this certificate would", a.issuingCert.NotAfter.Format(time.DateOnly))
	}
	// Lint the probe too: what zlint refuses (a weak key, say) must not
	// take a partition place. The final certificate is linted again (in
	// createCertificate), since its partition differs.
	if probe.SerialNumber, err = newSerial(); err != nil {
		return nil, err
	}
	if err := lintTemplate(probe, a.issuingCert, pub); err != nil {
		return nil, err
	}
	signer, err := a.signerFor(ctx, a.issuing)
	if err != nil {
		return nil, err
	}
	params.Partition, err = a.store.AllocatePartition(ctx, IssuingCA, a.cfg.PartitionSize)
	if err != nil {
		return nil, err
	}
	tmpl, err := oces.Template(subject, params, pub)
	if err != nil {
		return nil, err
	}
	if tmpl.SerialNumber, err = newSerial(); err != nil {
		return nil, err
	}
	der, err := createCertificate(tmpl, a.issuingCert, pub, signer)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	rec := storedCertificate(cert, IssuingCA, string(subject.Type), params.Partition, a.clock.Now())
	return &Issued{Certificate: cert, Record: rec}, nil
}

// requestKey returns the subject public key, checking the CSR's proof of possession.
func requestKey(req IssueRequest) (crypto.PublicKey, error) {
	switch {
	case req.CSR != nil && req.PublicKey != nil:
		return nil, errors.New("give either a CSR or a public key, not both")
	case req.PublicKey != nil:
		return req.PublicKey, nil
	case req.CSR == nil:
		return nil, errors.New("no CSR and no public key: nothing to certify")
	}
	csr, err := x509.ParseCertificateRequest(req.CSR)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCSR, err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("%w: its signature does not verify, so it does not prove possession of the key: %v", ErrBadCSR, err)
	}
	return csr.PublicKey, nil
}

func newIdentifier(t oces.Type) (string, error) {
	switch t {
	case oces.POCES:
		return oces.NewPID()
	case oces.MOCES:
		return oces.NewRID()
	case oces.VOCES:
		return oces.NewUID()
	case oces.FOCES:
		return oces.NewFID()
	}
	return "", fmt.Errorf("unknown OCES type %q", t)
}

func storedCertificate(c *x509.Certificate, issuer, profile string, partition int, issuedAt time.Time) store.Certificate {
	return store.Certificate{
		Serial:    SerialText(c.SerialNumber),
		Issuer:    issuer,
		Profile:   profile,
		Subject:   subjectString(c),
		NotBefore: c.NotBefore,
		NotAfter:  c.NotAfter,
		Partition: partition,
		DER:       c.Raw,
		IssuedAt:  issuedAt,
		Status:    store.StatusGood,
	}
}

// subjectString is the subject in RFC 2253 form with multi-valued RDNs kept
// (CN and serialNumber share one: "SERIALNUMBER=PID:…+CN=…,O=…,C=DK").
func subjectString(c *x509.Certificate) string {
	var rdns pkix.RDNSequence
	if _, err := asn1.Unmarshal(c.RawSubject, &rdns); err != nil {
		return c.Subject.String()
	}
	return rdns.String()
}
