// Package spcheck recognises a registered service provider by its VOCES
// certificate, as every server role that a service provider talks to must:
// the JS client's parameter intake (SP_CERT) and the PID/RID-CPR services
// (the TLS client certificate).
package spcheck

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/store"
)

// ErrRefused is wrapped by every refusal: the certificate is not that of a
// registered, enabled service provider, issued by this installation's CA,
// valid now and unrevoked. Other errors mean the check could not be made.
var ErrRefused = errors.New("not the certificate of a registered service provider in good standing")

// Store is what Checker reads.
type Store interface {
	ServiceProviderByCertificate(ctx context.Context, certSHA256 string) (store.ServiceProvider, error)
	Certificate(ctx context.Context, serial string) (store.Certificate, error)
}

// Checker checks service providers' certificates against the installation.
type Checker struct {
	st      Store
	roots   *x509.CertPool
	issuing *x509.Certificate
	clock   clock.Clock
}

// New returns a Checker for the installation's root and issuing CA.
func New(st Store, root, issuing *x509.Certificate, clk clock.Clock) *Checker {
	roots := x509.NewCertPool()
	roots.AddCert(root)
	if clk == nil {
		clk = clock.Real{}
	}
	return &Checker{st: st, roots: roots, issuing: issuing, clock: clk}
}

// Identify returns the service provider whose certificate leaf is.
// extra are certificates the caller sent along (a TLS chain), usable as
// intermediates. A refusal wraps ErrRefused and says why, for the log; it
// names no secret.
func (c *Checker) Identify(ctx context.Context, leaf *x509.Certificate, extra ...*x509.Certificate) (store.ServiceProvider, error) {
	inter := x509.NewCertPool()
	inter.AddCert(c.issuing)
	for _, e := range extra {
		inter.AddCert(e)
	}
	// ExtKeyUsageAny: a VOCES certificate carries no TLS client EKU, and
	// NemID accepted VOCES certificates for exactly this.
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots: c.roots, Intermediates: inter, CurrentTime: c.clock.Now(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}); err != nil {
		return store.ServiceProvider{}, fmt.Errorf("%w: %v", ErrRefused, err)
	}
	sum := sha256.Sum256(leaf.Raw)
	sp, err := c.st.ServiceProviderByCertificate(ctx, hex.EncodeToString(sum[:]))
	if errors.Is(err, store.ErrNotFound) {
		return store.ServiceProvider{}, fmt.Errorf("%w: certificate %s belongs to no service provider", ErrRefused, leaf.SerialNumber.Text(16))
	}
	if err != nil {
		return store.ServiceProvider{}, err
	}
	if sp.Disabled {
		return sp, fmt.Errorf("%w: service provider %d is disabled", ErrRefused, sp.ID)
	}
	// The chain ends in our root, so our CA issued the certificate and the
	// store knows its status. One it does not know is refused: fail closed.
	rec, err := c.st.Certificate(ctx, leaf.SerialNumber.Text(16))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return sp, fmt.Errorf("%w: certificate %s chains to our CA but is not in the store", ErrRefused, leaf.SerialNumber.Text(16))
	case err != nil:
		return sp, err
	case rec.Status != store.StatusGood:
		return sp, fmt.Errorf("%w: the certificate of service provider %d is revoked", ErrRefused, sp.ID)
	}
	return sp, nil
}
