package ca

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/nemid-dk/nemid/internal/store"
	"golang.org/x/crypto/ocsp"
)

// SignOCSP signs an OCSP response for a serial of the issuing CA, at request
// time, with the delegated responder key: good or revoked for a certificate
// this CA issued, unknown for any other serial. hash is the CertID hash of
// the request, echoed in the response.
func (a *Authority) SignOCSP(ctx context.Context, serial *big.Int, hash crypto.Hash) ([]byte, error) {
	rec, err := a.store.Certificate(ctx, SerialText(serial))
	switch {
	case errors.Is(err, store.ErrNotFound):
		der, _, err := a.signOCSP(ctx, serial, ocsp.Unknown, store.Certificate{}, hash, DefaultOCSPValidity)
		return der, err
	case err != nil:
		return nil, err
	case rec.Issuer != IssuingCA:
		// The root's certificates (the issuing CA itself) are checked by CRL,
		// and a serial of another issuer is unknown to this responder.
		der, _, err := a.signOCSP(ctx, serial, ocsp.Unknown, store.Certificate{}, hash, DefaultOCSPValidity)
		return der, err
	}
	der, _, err := a.signOCSP(ctx, serial, ocspStatus(rec.Status), rec, hash, DefaultOCSPValidity)
	return der, err
}

func ocspStatus(s store.Status) int {
	if s == store.StatusRevoked {
		return ocsp.Revoked
	}
	return ocsp.Good
}

// signOCSP makes one response. It returns the response's thisUpdate too.
func (a *Authority) signOCSP(ctx context.Context, serial *big.Int, status int, rec store.Certificate, hash crypto.Hash, validity time.Duration) ([]byte, time.Time, error) {
	if validity <= 0 || validity > MaxValidity {
		return nil, time.Time{}, fmt.Errorf("OCSP validity %v: want more than 0 and at most %v", validity, MaxValidity)
	}
	signer, err := a.signerFor(ctx, a.ocsp)
	if err != nil {
		return nil, time.Time{}, err
	}
	now := a.clock.Now().Truncate(time.Second)
	tmpl := ocsp.Response{
		Status:       status,
		SerialNumber: serial,
		ThisUpdate:   now,
		NextUpdate:   now.Add(validity),
		Certificate:  a.ocspCert,
		IssuerHash:   hash,
	}
	if status == ocsp.Revoked {
		tmpl.RevokedAt = rec.RevokedAt.Truncate(time.Second)
		tmpl.RevocationReason = rec.Reason
	}
	der, err := ocsp.CreateResponse(a.issuingCert, a.ocspCert, tmpl, signer)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("signing OCSP response for %s: %w", SerialText(serial), err)
	}
	return der, now, nil
}

// presignOCSP signs and stores the SHA-1 CertID response of one certificate
// (what NemID's OOAPI asks for), due again at 40 % of its validity — before
// half-life, so a relying party caching it never holds one past half its
// life — or never again once the certificate has expired: its last word stands.
func (a *Authority) presignOCSP(ctx context.Context, rec store.Certificate, validity time.Duration) (bool, error) {
	serial, ok := new(big.Int).SetString(rec.Serial, 16)
	if !ok {
		return false, fmt.Errorf("stored serial %q is not hexadecimal", rec.Serial)
	}
	der, thisUpdate, err := a.signOCSP(ctx, serial, ocspStatus(rec.Status), rec, crypto.SHA1, validity)
	if err != nil {
		return false, err
	}
	refresh := thisUpdate.Add(validity * 2 / 5)
	if rec.NotAfter.Before(thisUpdate) {
		refresh = never
	}
	return a.store.PutOCSPResponse(ctx, store.OCSPResponse{
		Serial: rec.Serial, Status: rec.Status, ThisUpdate: thisUpdate, NextUpdate: thisUpdate.Add(validity), DER: der,
	}, refresh)
}

// never is a refresh time no clock reaches (and that fits unix microseconds).
var never = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
