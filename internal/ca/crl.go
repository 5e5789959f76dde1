package ca

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"time"

	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/oces"
	"github.com/zmap/zlint/v3/lint"
)

// Limits on how long a CRL or an OCSP response may be relied on. NemID's
// CRLs lived 12 hours (spec section 8.4); the CA/Browser Forum caps both at
// 10 days, and so do we.
const (
	DefaultCRLValidity  = 12 * time.Hour
	DefaultOCSPValidity = 24 * time.Hour
	MaxValidity         = 10 * 24 * time.Hour
)

var oidIssuingDistributionPoint = asn1.ObjectIdentifier{2, 5, 29, 28}

// issuerKeys names the authorities whose CRLs this installation publishes.
func (a *Authority) crlIssuer(name string) (*x509.Certificate, store.CA, error) {
	switch name {
	case RootCA:
		return a.rootCert, a.root, nil
	case IssuingCA:
		return a.issuingCert, a.issuing, nil
	}
	return nil, store.CA{}, fmt.Errorf("no CA named %q publishes CRLs", name)
}

// CRLIssuers are the authorities that publish CRLs: the root (covering the
// issuing CA) and the issuing CA.
var CRLIssuers = []string{RootCA, IssuingCA}

// SignCRL builds, lints, signs and stores the current CRL of one issuer's
// partition (0: its full CRL) with the next CRL number. The full CRL has no
// issuing distribution point; a partition CRL has a critical one naming
// exactly the directoryName written into that partition's certificates.
func (a *Authority) SignCRL(ctx context.Context, issuer string, partition int, validity time.Duration) (store.CRL, error) {
	if validity <= 0 || validity > MaxValidity {
		return store.CRL{}, fmt.Errorf("CRL validity %v: want more than 0 and at most %v", validity, MaxValidity)
	}
	cert, row, err := a.crlIssuer(issuer)
	if err != nil {
		return store.CRL{}, err
	}
	var revoked []store.Revoked
	if partition == 0 {
		revoked, err = a.store.RevokedByIssuer(ctx, issuer)
	} else {
		revoked, err = a.store.RevokedInPartition(ctx, issuer, partition)
	}
	if err != nil {
		return store.CRL{}, err
	}
	now := a.clock.Now().Truncate(time.Second)
	tmpl := &x509.RevocationList{
		ThisUpdate:                now,
		NextUpdate:                now.Add(validity),
		RevokedCertificateEntries: make([]x509.RevocationListEntry, len(revoked)),
		SignatureAlgorithm:        x509.SHA256WithRSA,
	}
	for i, r := range revoked {
		serial, ok := new(big.Int).SetString(r.Serial, 16)
		if !ok {
			return store.CRL{}, fmt.Errorf("stored serial %q is not hexadecimal", r.Serial)
		}
		// A revocation recorded a moment ago may carry sub-second precision
		// past the second-truncated thisUpdate; it may not lie after it.
		at := r.RevokedAt.Truncate(time.Second)
		if at.After(now) {
			at = now
		}
		tmpl.RevokedCertificateEntries[i] = x509.RevocationListEntry{SerialNumber: serial, RevocationTime: at, ReasonCode: r.Reason}
	}
	if partition > 0 {
		idp, err := issuingDistributionPoint(cert, partition)
		if err != nil {
			return store.CRL{}, err
		}
		tmpl.ExtraExtensions = []pkix.Extension{idp}
	}
	signer, err := a.signerFor(ctx, row)
	if err != nil {
		return store.CRL{}, err
	}
	if err := lintRevocationList(tmpl, cert); err != nil {
		return store.CRL{}, err
	}
	// The number is reserved only now, after everything that can refuse:
	// a number is never reused, and gaps are allowed (RFC 5280 §5.2.3).
	n, err := a.store.NextCRLNumber(ctx, issuer)
	if err != nil {
		return store.CRL{}, err
	}
	tmpl.Number = big.NewInt(n)
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, cert, signer)
	if err != nil {
		return store.CRL{}, fmt.Errorf("signing CRL: %w", err)
	}
	crl := store.CRL{Issuer: issuer, Partition: partition, Number: n, ThisUpdate: tmpl.ThisUpdate, NextUpdate: tmpl.NextUpdate, DER: der}
	if _, err := a.store.PutCRL(ctx, crl); err != nil {
		return store.CRL{}, err
	}
	return crl, nil
}

// issuingDistributionPoint is the critical IDP extension of a partition CRL:
// distributionPoint fullName = the partition's directoryName (RFC 5280 §5.2.5).
func issuingDistributionPoint(issuer *x509.Certificate, partition int) (pkix.Extension, error) {
	name, err := oces.ParseRawName(issuer.RawSubject)
	if err != nil {
		return pkix.Extension{}, err
	}
	dn, err := oces.PartitionName(name, partition)
	if err != nil {
		return pkix.Extension{}, err
	}
	// IssuingDistributionPoint ::= SEQUENCE { distributionPoint [0] DistributionPointName … }
	// DistributionPointName is a CHOICE, so [0] is explicit; fullName [0] is an
	// implicit GeneralNames; directoryName [4] is explicit (Name is a CHOICE).
	dirName := asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: dn}
	dirNameDER, err := asn1.Marshal(dirName)
	if err != nil {
		return pkix.Extension{}, err
	}
	fullName := asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: dirNameDER}
	fullNameDER, err := asn1.Marshal(fullName)
	if err != nil {
		return pkix.Extension{}, err
	}
	dp := asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: fullNameDER}
	dpDER, err := asn1.Marshal(dp)
	if err != nil {
		return pkix.Extension{}, err
	}
	value, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: dpDER})
	if err != nil {
		return pkix.Extension{}, err
	}
	return pkix.Extension{Id: oidIssuingDistributionPoint, Critical: true, Value: value}, nil
}

// lintRevocationList signs a copy of the CRL with the throw-away lint key and
// runs zlint on it; it returns a *LintError when zlint reports an error.
func lintRevocationList(tmpl *x509.RevocationList, issuer *x509.Certificate) error {
	lk, err := lintKey()
	if err != nil {
		return fmt.Errorf("lint key: %w", err)
	}
	lintIssuer := *issuer
	lintIssuer.PublicKey = &lk.PublicKey
	lintTmpl := *tmpl
	if lintTmpl.Number == nil {
		lintTmpl.Number = big.NewInt(1)
	}
	der, err := x509.CreateRevocationList(rand.Reader, &lintTmpl, &lintIssuer, lk)
	if err != nil {
		return fmt.Errorf("building CRL: %w", err)
	}
	bad, err := LintRevocationList(der, lint.Error)
	if err != nil {
		return err
	}
	if len(bad) > 0 {
		return &LintError{What: "CRL", Findings: bad}
	}
	return nil
}

// signerFor loads an authority's key once, on first use.
func (a *Authority) signerFor(ctx context.Context, row store.CA) (crypto.Signer, error) {
	a.signerMu.Lock()
	defer a.signerMu.Unlock()
	if s, ok := a.signers[row.Name]; ok {
		return s, nil
	}
	s, err := a.keys.Signer(ctx, row.KeyRef)
	if err != nil {
		return nil, fmt.Errorf("%s key: %w", row.Name, err)
	}
	if a.signers == nil {
		a.signers = map[string]crypto.Signer{}
	}
	a.signers[row.Name] = s
	return s, nil
}
