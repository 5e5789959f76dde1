package revocation

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Defaults of FullCRL and PartitionedCRL.
const (
	// DefaultCRLMaxAge is how long a fetched CRL is used at most, unless
	// its nextUpdate comes first (OOAPI's HTTP CRL cache timeout).
	DefaultCRLMaxAge = 10 * time.Minute
	// DefaultCRLTimeout bounds one CRL download or LDAP search. A full
	// CRL of a large CA is megabytes.
	DefaultCRLTimeout = 30 * time.Second
	// DefaultMaxCRLSize is the largest CRL accepted.
	DefaultMaxCRLSize = 64 << 20
)

// CRL extensions this package understands (RFC 5280 §5.2, §5.3).
var (
	oidCRLNumber         = asn1.ObjectIdentifier{2, 5, 29, 20}
	oidAuthorityKeyID    = asn1.ObjectIdentifier{2, 5, 29, 35}
	oidDeltaCRLIndicator = asn1.ObjectIdentifier{2, 5, 29, 27}
	oidEntryReasonCode   = asn1.ObjectIdentifier{2, 5, 29, 21}
	oidEntryInvalidity   = asn1.ObjectIdentifier{2, 5, 29, 24}
	oidEntryCertIssuer   = asn1.ObjectIdentifier{2, 5, 29, 29}
)

// FullCRL checks certificates against the complete CRL of their issuing CA,
// downloaded over HTTP from the certificate's CRL distribution point
// (spec §8.4). The CRL must be a full one (no issuing distribution point),
// issued and signed by the certificate's issuer, and current at the time
// asked.
//
// The zero value is ready to use. A FullCRL is safe for concurrent use and
// must not be copied after first use.
type FullCRL struct {
	// HTTPClient fetches the CRLs; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Timeout bounds one download; 0 means DefaultCRLTimeout.
	Timeout time.Duration
	// MaxAge bounds how long a CRL is used before it is fetched again
	// (it is never used past its nextUpdate); 0 means DefaultCRLMaxAge,
	// negative disables caching.
	MaxAge time.Duration
	// MaxSize is the largest CRL accepted, in bytes; 0 means
	// DefaultMaxCRLSize.
	MaxSize int64
	// Now is the wall clock that ages cached CRLs; nil means time.Now.
	// (Which CRL is current is decided by Check's at, not by Now.)
	Now func() time.Time

	cache cache[*verifiedCRL]
}

// Check implements Checker; Status.Method is "crl".
func (c *FullCRL) Check(ctx context.Context, cert, issuer *x509.Certificate, at time.Time) (Status, error) {
	if err := checkArgs(MethodCRL, cert, issuer, at); err != nil {
		return Status{}, err
	}
	target, err := fullCRLURL(cert)
	if err != nil {
		return Status{}, err
	}
	p := policyDefaults(MethodCRL, c.MaxAge, DefaultCRLMaxAge, c.Timeout, DefaultCRLTimeout, c.Now)
	max := c.MaxSize
	if max <= 0 {
		max = DefaultMaxCRLSize
	}
	v, err := c.cache.get(ctx, target+"\x00"+issuerKey(issuer), at, p, func(ctx context.Context) (*verifiedCRL, time.Time, error) {
		der, err := httpFetch(ctx, MethodCRL, c.HTTPClient, http.MethodGet, target, nil,
			http.Header{"Accept": {"application/pkix-crl"}}, max)
		if err != nil {
			return nil, time.Time{}, err
		}
		v, err := verifyCRL(MethodCRL, der, issuer, nil)
		if err != nil {
			return nil, time.Time{}, err
		}
		return v, v.nextUpdate, nil
	})
	if err != nil {
		return Status{}, err
	}
	return v.status(MethodCRL, cert, at)
}

// fullCRLURL is the first http:// URI among the certificate's CRL
// distribution points.
func fullCRLURL(cert *x509.Certificate) (string, error) {
	dps, err := distributionPoints(cert)
	if err != nil {
		return "", fail(MethodCRL, ErrNoSource, "reading the certificate's CRL distribution points", err)
	}
	var seen []string
	for _, dp := range dps {
		for _, u := range dp.uris {
			if strings.HasPrefix(strings.ToLower(u), "http://") {
				return httpURL(MethodCRL, "CRL distribution point", u)
			}
			seen = append(seen, u)
		}
	}
	return "", fail(MethodCRL, ErrNoSource, "the certificate names no http:// CRL distribution point (URIs: "+describeURIs(seen)+")", nil)
}

// verifiedCRL is a CRL whose issuer, signature and scope have been
// checked; only its times remain to be checked against each caller's time.
type verifiedCRL struct {
	thisUpdate, nextUpdate time.Time
	revoked                map[string]revokedEntry // by serialKey
	// From a partition CRL's issuing distribution point.
	onlyUsers, onlyCAs bool
}

type revokedEntry struct {
	at     time.Time
	reason int
}

// partitionScope says which partition a CRL must be (partitioned checker):
// the certificate's distribution point name, and its name (e.g. "CRL197").
type partitionScope struct {
	dirName []byte
	name    string
}

// verifyCRL parses a CRL and checks what does not depend on the time
// asked: issued by issuer, signed with its key, has a nextUpdate, no
// critical extension we do not understand, not a delta CRL, and either
// full (part == nil: no issuing distribution point) or exactly the
// partition asked for.
func verifyCRL(method string, der []byte, issuer *x509.Certificate, part *partitionScope) (*verifiedCRL, error) {
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, fail(method, ErrInvalid, "the CRL does not parse", err)
	}
	if !bytes.Equal(crl.RawIssuer, issuer.RawSubject) {
		return nil, fail(method, ErrInvalid, fmt.Sprintf("the CRL is issued by %q, not by the certificate's issuer %q", crl.Issuer, issuer.Subject), nil)
	}
	if err := crl.CheckSignatureFrom(issuer); err != nil {
		return nil, fail(method, ErrInvalid, "the CRL's signature does not verify with the issuer's key", err)
	}
	if crl.NextUpdate.IsZero() {
		return nil, fail(method, ErrInvalid, "the CRL has no nextUpdate, so it cannot be known to be current", nil)
	}
	v := &verifiedCRL{thisUpdate: crl.ThisUpdate, nextUpdate: crl.NextUpdate, revoked: make(map[string]revokedEntry, len(crl.RevokedCertificateEntries))}
	var idp []byte
	for _, e := range crl.Extensions {
		switch {
		case e.Id.Equal(oidIssuingDistPoint):
			idp = e.Value
		case e.Id.Equal(oidDeltaCRLIndicator):
			return nil, fail(method, ErrInvalid, "the CRL is a delta CRL, which lists only recent changes", nil)
		case e.Id.Equal(oidCRLNumber), e.Id.Equal(oidAuthorityKeyID):
		case e.Critical:
			// RFC 5280 §5.2: a CRL with an unknown critical extension
			// must not be used to decide a status.
			return nil, fail(method, ErrInvalid, "the CRL has a critical extension "+e.Id.String()+" this checker does not understand", nil)
		}
	}
	switch {
	case part == nil && idp != nil:
		return nil, fail(method, ErrInvalid, "the CRL has an issuing distribution point: it is partial, not the full CRL", nil)
	case part != nil && idp == nil:
		return nil, fail(method, ErrInvalid, "the CRL has no issuing distribution point: it is not the partition "+part.name, nil)
	case part != nil:
		if v.onlyUsers, v.onlyCAs, err = checkIDP(idp, crl.RawIssuer, part); err != nil {
			return nil, fail(method, ErrInvalid, "the CRL's issuing distribution point", err)
		}
	}
	for _, e := range crl.RevokedCertificateEntries {
		for _, x := range e.Extensions {
			switch {
			case x.Id.Equal(oidEntryCertIssuer):
				// An indirect CRL's entries may be about another CA's
				// certificates: serials alone would be ambiguous.
				return nil, fail(method, ErrInvalid, "the CRL has a certificateIssuer entry extension (an indirect CRL)", nil)
			case x.Id.Equal(oidEntryReasonCode), x.Id.Equal(oidEntryInvalidity):
			case x.Critical:
				return nil, fail(method, ErrInvalid, "a CRL entry has a critical extension "+x.Id.String()+" this checker does not understand", nil)
			}
		}
		if e.SerialNumber == nil {
			return nil, fail(method, ErrInvalid, "a CRL entry has no serial number", nil)
		}
		k := serialKey(e.SerialNumber.Bytes(), e.SerialNumber.Sign())
		if _, dup := v.revoked[k]; !dup {
			v.revoked[k] = revokedEntry{at: e.RevocationTime, reason: e.ReasonCode}
		}
	}
	return v, nil
}

func serialKey(magnitude []byte, sign int) string {
	if sign < 0 {
		return "-" + string(magnitude)
	}
	return string(magnitude)
}

// checkIDP checks a partition CRL's issuing distribution point (RFC 5280
// §5.2.5) against the partition asked for, and returns its
// onlyContainsUserCerts and onlyContainsCACerts.
//
// OOAPI only checked that the lower-cased DER of the extension contains
// the lower-cased partition name; that alone would take the CRL of
// partition CRL19 (or CRL1970) for CRL197. Both that check and RFC 5280's
// are made here: the distribution point name must be the certificate's
// directoryName. A CRL that covers only some reasons, is indirect or about
// attribute certificates cannot settle a status and is refused.
func checkIDP(der, crlIssuer []byte, part *partitionScope) (onlyUsers, onlyCAs bool, err error) {
	if !bytes.Contains(bytes.ToLower(der), []byte(strings.ToLower(part.name))) {
		return false, false, fmt.Errorf("it does not name partition %s", part.name)
	}
	errBad := errors.New("malformed issuing distribution point")
	in := cryptobyte.String(der)
	var idp cryptobyte.String
	if !in.ReadASN1(&idp, cbasn1.SEQUENCE) || !in.Empty() {
		return false, false, errBad
	}
	var dpName cryptobyte.String
	var hasName bool
	if !idp.ReadOptionalASN1(&dpName, &hasName, tagCtx0) {
		return false, false, errBad
	}
	if !hasName {
		return false, false, fmt.Errorf("it names no distribution point, so it is not partition %s", part.name)
	}
	matched := false
	switch {
	case dpName.PeekASN1Tag(tagCtx0): // fullName: GeneralNames
		var full cryptobyte.String
		if !dpName.ReadASN1(&full, tagCtx0) || !dpName.Empty() {
			return false, false, errBad
		}
		for !full.Empty() {
			var gn cryptobyte.String
			var tag cbasn1.Tag
			if !full.ReadAnyASN1(&gn, &tag) {
				return false, false, errBad
			}
			if tag != tagDir {
				continue
			}
			var n cryptobyte.String
			if !gn.ReadASN1Element(&n, cbasn1.SEQUENCE) || !gn.Empty() {
				return false, false, errBad
			}
			matched = matched || sameName(n, part.dirName)
		}
	case dpName.PeekASN1Tag(tagCtx1): // nameRelativeToCRLIssuer: one RDN below the CRL's issuer
		var rdn cryptobyte.String
		if !dpName.ReadASN1(&rdn, tagCtx1) || !dpName.Empty() {
			return false, false, errBad
		}
		full, err := appendRDN(crlIssuer, rdn)
		if err != nil {
			return false, false, errBad
		}
		matched = sameName(full, part.dirName)
	default:
		return false, false, errBad
	}
	if !matched {
		return false, false, fmt.Errorf("its distribution point is not the certificate's partition %s", part.name)
	}
	readBool := func(n uint8) (bool, error) {
		var present bool
		var val cryptobyte.String
		if !idp.ReadOptionalASN1(&val, &present, cbasn1.Tag(n).ContextSpecific()) {
			return false, errBad
		}
		if !present {
			return false, nil
		}
		if len(val) != 1 {
			return false, errBad
		}
		return val[0] != 0, nil
	}
	if onlyUsers, err = readBool(1); err != nil {
		return false, false, err
	}
	if onlyCAs, err = readBool(2); err != nil {
		return false, false, err
	}
	if idp.PeekASN1Tag(cbasn1.Tag(3).ContextSpecific()) {
		return false, false, errors.New("it covers only some revocation reasons")
	}
	indirect, err := readBool(4)
	if err != nil {
		return false, false, err
	}
	if indirect {
		return false, false, errors.New("it is an indirect CRL")
	}
	attrs, err := readBool(5)
	if err != nil {
		return false, false, err
	}
	if attrs {
		return false, false, errors.New("it is about attribute certificates")
	}
	if !idp.Empty() {
		return false, false, errBad
	}
	return onlyUsers, onlyCAs, nil
}

// appendRDN is the DER Name of name with one more RDN (whose SET contents
// are given) at the end.
func appendRDN(name []byte, rdnContents []byte) ([]byte, error) {
	in := cryptobyte.String(name)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, errors.New("malformed name")
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(seq)
		b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { b.AddBytes(rdnContents) })
	})
	return b.Bytes()
}

// status is the certificate's status in a verified CRL at time at.
func (v *verifiedCRL) status(method string, cert *x509.Certificate, at time.Time) (Status, error) {
	if at.Before(v.thisUpdate) {
		return Status{}, fail(method, ErrNotCurrent, fmt.Sprintf("the CRL is not yet valid at %s (thisUpdate %s)", stamp(at), stamp(v.thisUpdate)), nil)
	}
	if at.After(v.nextUpdate) {
		return Status{}, fail(method, ErrNotCurrent, fmt.Sprintf("the CRL has expired at %s (nextUpdate %s)", stamp(at), stamp(v.nextUpdate)), nil)
	}
	if v.onlyUsers && cert.IsCA || v.onlyCAs && !cert.IsCA {
		return Status{}, fail(method, ErrInvalid, "the partition CRL is not for certificates of this kind (CA or end-entity)", nil)
	}
	e, ok := v.revoked[serialKey(cert.SerialNumber.Bytes(), cert.SerialNumber.Sign())]
	if !ok {
		return Status{Method: method}, nil
	}
	return Status{Revoked: true, RevokedAt: e.at, Reason: e.reason, Method: method}, nil
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
