package revocation

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"sync"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
	"golang.org/x/crypto/ocsp"
)

// Defaults of OCSP.
const (
	// DefaultOCSPTimeout bounds one OCSP request (OOAPI .NET: 10 s).
	DefaultOCSPTimeout = 10 * time.Second
	// DefaultOCSPMaxAge is how long an OCSP answer is used at most, unless
	// its nextUpdate comes first.
	DefaultOCSPMaxAge = time.Minute
	// OCSPClockSkew is how far in the future of the time asked an OCSP
	// response's thisUpdate may be (OOAPI: 60 s): the responder's clock
	// and ours differ a little.
	OCSPClockSkew = 60 * time.Second
	// MaxOCSPAgeWithoutNextUpdate bounds the age of an OCSP response that
	// has no nextUpdate. OOAPI accepted such a response however old; with
	// no nonce that lets an old "good" be replayed after a revocation, so
	// we accept it only while its thisUpdate is this recent (our own
	// responder always sets nextUpdate, as RFC 5019 asks).
	MaxOCSPAgeWithoutNextUpdate = 5 * time.Minute
	// maxOCSPResponse bounds a response; one with a responder certificate
	// is two or three kilobytes.
	maxOCSPResponse = 1 << 20
)

var (
	oidSHA1   = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
)

// OCSP checks end-entity certificates with the OCSP responder named in
// the certificate (spec §8.5), and issuing CAs with CAs, as OOAPI did.
//
// The request has one SHA-1 CertID and no nonce, and is POSTed to the
// first OCSP URL of the certificate's AIA, which must be http://. The
// response must be successful and hold exactly one SingleResponse, about
// this certificate of this issuer (the CertID may come back with SHA-1 or
// SHA-256); it must be signed by the issuer itself or by a delegated
// responder whose certificate is in the response, has the OCSPSigning
// extended key usage, is issued by the issuer and is valid at the time
// asked; its thisUpdate may be at most OCSPClockSkew after that time and
// its nextUpdate, if any, not before it. "good" is not revoked, "revoked"
// is revoked, "unknown" is an error. The responder's own certificate is not
// checked for revocation (RFC 6960 §4.2.2.2.1 leaves that to the CA's
// choice; ours carries id-pkix-ocsp-nocheck).
//
// The zero value is ready to use. An OCSP is safe for concurrent use and
// must not be copied after first use.
type OCSP struct {
	// HTTPClient sends the requests; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Timeout bounds one request; 0 means DefaultOCSPTimeout.
	Timeout time.Duration
	// MaxAge bounds how long an answer is used before asking again (never
	// past its nextUpdate; an answer without nextUpdate is not kept);
	// 0 means DefaultOCSPMaxAge, negative disables caching.
	MaxAge time.Duration
	// CAs checks certificates with IsCA (the issuing CAs, whose status the
	// root's CRL gives). nil means a FullCRL with the same HTTPClient and
	// Now.
	CAs Checker
	// Now is the wall clock that ages cached answers; nil means time.Now.
	Now func() time.Time

	mu         sync.Mutex
	defaultCAs *FullCRL
	cache      cache[*verifiedOCSP]
}

// Check implements Checker; Status.Method is "ocsp", or that of CAs for a
// CA certificate.
func (o *OCSP) Check(ctx context.Context, cert, issuer *x509.Certificate, at time.Time) (Status, error) {
	if err := checkArgs(MethodOCSP, cert, issuer, at); err != nil {
		return Status{}, err
	}
	if cert.IsCA {
		return o.caChecker().Check(ctx, cert, issuer, at)
	}
	if len(cert.OCSPServer) == 0 {
		return Status{}, fail(MethodOCSP, ErrNoSource, "the certificate names no OCSP responder", nil)
	}
	target, err := httpURL(MethodOCSP, "OCSP responder URL", cert.OCSPServer[0])
	if err != nil {
		return Status{}, err
	}
	id, err := newCertID(issuer, cert.SerialNumber)
	if err != nil {
		return Status{}, err
	}
	p := policyDefaults(MethodOCSP, o.MaxAge, DefaultOCSPMaxAge, o.Timeout, DefaultOCSPTimeout, o.Now)
	key := string(id.nameHash[crypto.SHA1]) + string(id.keyHash[crypto.SHA1]) + cert.SerialNumber.String() + "\x00" + target
	v, err := o.cache.get(ctx, key, at, p, func(ctx context.Context) (*verifiedOCSP, time.Time, error) {
		req, err := ocsp.CreateRequest(cert, issuer, &ocsp.RequestOptions{Hash: crypto.SHA1})
		if err != nil {
			return nil, time.Time{}, fail(MethodOCSP, ErrNoSource, "cannot build the OCSP request", err)
		}
		der, err := httpFetch(ctx, MethodOCSP, o.HTTPClient, http.MethodPost, target, req,
			http.Header{"Content-Type": {"application/ocsp-request"}, "Accept": {"application/ocsp-response"}}, maxOCSPResponse)
		if err != nil {
			return nil, time.Time{}, err
		}
		v, err := verifyOCSP(der, issuer, id)
		if err != nil {
			return nil, time.Time{}, err
		}
		return v, v.nextUpdate, nil
	})
	if err != nil {
		return Status{}, err
	}
	return v.status(at)
}

func (o *OCSP) caChecker() Checker {
	if o.CAs != nil {
		return o.CAs
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.defaultCAs == nil {
		o.defaultCAs = &FullCRL{HTTPClient: o.HTTPClient, Now: o.Now}
	}
	return o.defaultCAs
}

// certID is what a SingleResponse must be about: the issuer's hashes
// under SHA-1 (what we ask with) and SHA-256 (what a responder may answer
// with), and the serial.
type certID struct {
	nameHash, keyHash map[crypto.Hash][]byte
	serial            *big.Int
}

func newCertID(issuer *x509.Certificate, serial *big.Int) (certID, error) {
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if rest, err := asn1.Unmarshal(issuer.RawSubjectPublicKeyInfo, &spki); err != nil || len(rest) > 0 {
		return certID{}, fail(MethodOCSP, ErrNoSource, "cannot read the issuer's public key", err)
	}
	id := certID{nameHash: map[crypto.Hash][]byte{}, keyHash: map[crypto.Hash][]byte{}, serial: serial}
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256} {
		n, k := h.New(), h.New()
		n.Write(issuer.RawSubject)
		k.Write(spki.PublicKey.RightAlign())
		id.nameHash[h], id.keyHash[h] = n.Sum(nil), k.Sum(nil)
	}
	return id, nil
}

// verifiedOCSP is a response whose signature, signer and subject have been
// checked; its times (and its signer's validity) remain to be checked
// against each caller's time.
type verifiedOCSP struct {
	certStatus             int
	revokedAt              time.Time
	reason                 int
	thisUpdate, nextUpdate time.Time
	// The delegated responder certificate's validity (zero: the issuer
	// signed, and the chain validator checks the issuer's validity).
	signerNotBefore, signerNotAfter time.Time
}

func verifyOCSP(der []byte, issuer *x509.Certificate, want certID) (*verifiedOCSP, error) {
	bad := func(reason string, err error) error { return fail(MethodOCSP, ErrInvalid, reason, err) }
	// x/crypto/ocsp parses; it is given no issuer so that the signature
	// checks below are all ours, and all explicit.
	resp, err := ocsp.ParseResponse(der, nil)
	if err != nil {
		var re ocsp.ResponseError
		if errors.As(err, &re) {
			switch re.Status {
			case ocsp.TryLater, ocsp.InternalError:
				return nil, fail(MethodOCSP, ErrUnreachable, "the responder could not answer now", err)
			}
			return nil, bad("the responder refused the request", err)
		}
		// x/crypto/ocsp also refuses here a response whose signature does
		// not verify with the first certificate it includes.
		return nil, bad("the OCSP response does not parse, or its signature does not match the certificate it includes", err)
	}
	ids, err := singleResponseIDs(der)
	if err != nil {
		return nil, bad("reading the OCSP response's CertIDs", err)
	}
	if len(ids) != 1 {
		return nil, bad(fmt.Sprintf("the OCSP response has %d SingleResponses, want exactly one", len(ids)), nil)
	}
	got := ids[0]
	var h crypto.Hash
	switch {
	case got.alg.Equal(oidSHA1):
		h = crypto.SHA1
	case got.alg.Equal(oidSHA256):
		h = crypto.SHA256
	default:
		return nil, bad("the OCSP response's CertID uses hash "+got.alg.String()+", not SHA-1 or SHA-256", nil)
	}
	if got.serial.Cmp(want.serial) != 0 {
		return nil, bad("the OCSP response is about serial "+got.serial.Text(16)+", not "+want.serial.Text(16), nil)
	}
	if !bytes.Equal(got.nameHash, want.nameHash[h]) || !bytes.Equal(got.keyHash, want.keyHash[h]) {
		return nil, bad("the OCSP response is about a certificate of another issuer", nil)
	}

	v := &verifiedOCSP{certStatus: resp.Status, thisUpdate: resp.ThisUpdate, nextUpdate: resp.NextUpdate}
	switch signer := resp.Certificate; {
	case signer == nil || bytes.Equal(signer.Raw, issuer.Raw):
		if err := resp.CheckSignatureFrom(issuer); err != nil {
			return nil, bad("the OCSP response's signature does not verify with the issuer's key", err)
		}
	default:
		// A delegated responder (RFC 6960 §4.2.2.2): issued by this CA
		// for OCSP signing.
		if !bytes.Equal(signer.RawIssuer, issuer.RawSubject) {
			return nil, bad(fmt.Sprintf("the OCSP responder certificate %q is issued by %q, not by the certificate's issuer", signer.Subject, signer.Issuer), nil)
		}
		if err := signer.CheckSignatureFrom(issuer); err != nil {
			return nil, bad(fmt.Sprintf("the OCSP responder certificate %q is not signed by the issuer", signer.Subject), err)
		}
		hasEKU := false
		for _, u := range signer.ExtKeyUsage {
			hasEKU = hasEKU || u == x509.ExtKeyUsageOCSPSigning
		}
		if !hasEKU {
			return nil, bad(fmt.Sprintf("the OCSP responder certificate %q is not for OCSP signing (no OCSPSigning extended key usage)", signer.Subject), nil)
		}
		if err := resp.CheckSignatureFrom(signer); err != nil {
			return nil, bad("the OCSP response's signature does not verify with the responder's key", err)
		}
		v.signerNotBefore, v.signerNotAfter = signer.NotBefore, signer.NotAfter
	}
	switch resp.Status {
	case ocsp.Good, ocsp.Unknown:
	case ocsp.Revoked:
		v.revokedAt, v.reason = resp.RevokedAt, resp.RevocationReason
	default:
		return nil, bad(fmt.Sprintf("the OCSP response has certificate status %d", resp.Status), nil)
	}
	return v, nil
}

// status is the certificate's status in a verified response at time at.
func (v *verifiedOCSP) status(at time.Time) (Status, error) {
	if !v.signerNotAfter.IsZero() && (at.Before(v.signerNotBefore) || at.After(v.signerNotAfter)) {
		return Status{}, fail(MethodOCSP, ErrNotCurrent, fmt.Sprintf("the OCSP responder's certificate is not valid at %s (%s to %s)", stamp(at), stamp(v.signerNotBefore), stamp(v.signerNotAfter)), nil)
	}
	if v.thisUpdate.After(at.Add(OCSPClockSkew)) {
		return Status{}, fail(MethodOCSP, ErrNotCurrent, fmt.Sprintf("the OCSP response is from the future: thisUpdate %s, time asked %s", stamp(v.thisUpdate), stamp(at)), nil)
	}
	if !v.nextUpdate.IsZero() && v.nextUpdate.Before(at) {
		return Status{}, fail(MethodOCSP, ErrNotCurrent, fmt.Sprintf("the OCSP response has expired at %s (nextUpdate %s)", stamp(at), stamp(v.nextUpdate)), nil)
	}
	if v.nextUpdate.IsZero() && v.thisUpdate.Add(MaxOCSPAgeWithoutNextUpdate).Before(at) {
		return Status{}, fail(MethodOCSP, ErrNotCurrent, fmt.Sprintf("the OCSP response has no nextUpdate and is older than %s (thisUpdate %s)", MaxOCSPAgeWithoutNextUpdate, stamp(v.thisUpdate)), nil)
	}
	switch v.certStatus {
	case ocsp.Good:
		return Status{Method: MethodOCSP}, nil
	case ocsp.Revoked:
		return Status{Revoked: true, RevokedAt: v.revokedAt, Reason: v.reason, Method: MethodOCSP}, nil
	}
	return Status{}, fail(MethodOCSP, ErrUnknownCertificate, "the OCSP responder answered \"unknown\"", nil)
}

// responseCertID is the CertID of one SingleResponse.
type responseCertID struct {
	alg               asn1.ObjectIdentifier
	nameHash, keyHash []byte
	serial            *big.Int
}

// singleResponseIDs reads the CertIDs of a BasicOCSPResponse (RFC 6960
// §4.2.1), which x/crypto/ocsp does not expose.
func singleResponseIDs(der []byte) ([]responseCertID, error) {
	errBad := errors.New("malformed OCSP response")
	in := cryptobyte.String(der)
	var resp, wrapped, bytesSeq, basicDER, basic, tbs, responses cryptobyte.String
	var status int
	var typ asn1.ObjectIdentifier
	if !in.ReadASN1(&resp, cbasn1.SEQUENCE) || !resp.ReadASN1Enum(&status) ||
		!resp.ReadASN1(&wrapped, cbasn1.Tag(0).ContextSpecific().Constructed()) ||
		!wrapped.ReadASN1(&bytesSeq, cbasn1.SEQUENCE) ||
		!bytesSeq.ReadASN1ObjectIdentifier(&typ) || !bytesSeq.ReadASN1(&basicDER, cbasn1.OCTET_STRING) ||
		!basicDER.ReadASN1(&basic, cbasn1.SEQUENCE) || !basic.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		return nil, errBad
	}
	// version [0] EXPLICIT, optional; then responderID ([1] or [2]) and producedAt.
	if !tbs.SkipOptionalASN1(cbasn1.Tag(0).ContextSpecific().Constructed()) ||
		!tbs.SkipASN1(cbasn1.Tag(1).ContextSpecific().Constructed()) && !tbs.SkipASN1(cbasn1.Tag(2).ContextSpecific().Constructed()) ||
		!tbs.SkipASN1(cbasn1.GeneralizedTime) || !tbs.ReadASN1(&responses, cbasn1.SEQUENCE) {
		return nil, errBad
	}
	var out []responseCertID
	for !responses.Empty() {
		var single, id, alg cryptobyte.String
		var r responseCertID
		r.serial = new(big.Int)
		if !responses.ReadASN1(&single, cbasn1.SEQUENCE) || !single.ReadASN1(&id, cbasn1.SEQUENCE) ||
			!id.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&r.alg) ||
			!id.ReadASN1Bytes(&r.nameHash, cbasn1.OCTET_STRING) || !id.ReadASN1Bytes(&r.keyHash, cbasn1.OCTET_STRING) ||
			!id.ReadASN1Integer(r.serial) || !id.Empty() {
			return nil, errBad
		}
		out = append(out, r)
	}
	return out, nil
}
