package revocation

import (
	"context"
	"crypto"
	"crypto/x509"
	"math/big"

	"github.com/nemid-dk/nemid/internal/store"
)

// The revocation services only read: what they serve was signed by the CA
// (internal/ca) and stored (internal/store). These interfaces are the parts
// of those they use; *store.Store and *ca.Authority satisfy them.

// CRLSource gives the latest signed CRL of an issuer's partition (0: full CRL).
type CRLSource interface {
	CRL(ctx context.Context, issuer string, partition int) (store.CRL, error)
}

// OCSPSource gives the pre-signed OCSP response of a serial (a response
// whose CertID uses SHA-1, as NemID's OOAPI asked).
type OCSPSource interface {
	OCSPResponse(ctx context.Context, serial string) (store.OCSPResponse, error)
}

// OCSPSigner signs a response at request time: for a CertID hash other than
// the pre-signed one, for a certificate whose first response is not signed
// yet, and "unknown" for a serial the CA never issued.
type OCSPSigner interface {
	SignOCSP(ctx context.Context, serial *big.Int, hash crypto.Hash) ([]byte, error)
}

// Authority is one CA whose certificate and CRLs the services publish.
type Authority struct {
	// StoreName is the issuer name in the store ("root", "issuing").
	StoreName string
	Cert      *x509.Certificate
}
