package ooapi

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"time"
)

// maxChain is the longest chain accepted: leaf, issuing CA, root — with one
// spare level. OCES II has exactly three.
const maxChain = 4

// buildChain builds and verifies the chain from the signer leaf to a root of
// the trust environment (spec §6.4), at time at. Candidates for each issuer
// are the KeyInfo certificates and the environment's known issuing CAs and
// roots, matched by the raw issuer DN and proven by the signature. Every CA
// must be a CA (basicConstraints, keyCertSign), within its path length and
// valid at at; the chain must end at a root that is byte for byte one of
// the environment's; and every KeyInfo certificate must be part of the
// chain, so that nothing unverified rides along in a response. The leaf's
// own validity is not checked here: it becomes the result's Status.
func buildChain(t *Trust, leaf *x509.Certificate, keyInfo []*x509.Certificate, at time.Time) ([]*x509.Certificate, error) {
	candidates := make([]*x509.Certificate, 0, len(keyInfo)+len(t.intermediates)+len(t.roots))
	// Trusted roots first: where KeyInfo carries a copy of the root, the
	// trusted one is the one used.
	candidates = append(candidates, t.roots...)
	candidates = append(candidates, t.intermediates...)
	for _, c := range keyInfo {
		if c != leaf {
			candidates = append(candidates, c)
		}
	}
	if len(leaf.UnhandledCriticalExtensions) > 0 {
		return nil, refuse(UntrustedChain, "the signer certificate has an unknown critical extension %v", leaf.UnhandledCriticalExtensions[0])
	}
	chain := []*x509.Certificate{leaf}
	for cur := leaf; ; {
		if len(chain) > maxChain {
			return nil, refuse(UntrustedChain, "chain longer than %d certificates", maxChain)
		}
		parent, err := t.findIssuer(cur, candidates)
		if err != nil {
			return nil, err
		}
		if err := checkCA(parent, len(chain)-1, at); err != nil {
			return nil, err
		}
		chain = append(chain, parent)
		if t.isRoot(parent) {
			break
		}
		if selfSigned(parent) {
			return nil, refuse(UntrustedChain, "the chain ends at %q, which is not a root of %s", parent.Subject.String(), t.name)
		}
		cur = parent
	}
	for _, c := range keyInfo {
		if !containsCert(chain, c) {
			return nil, refuse(UntrustedChain, "KeyInfo certificate %q is not part of the signer's chain", c.Subject.String())
		}
	}
	return chain, nil
}

// findIssuer returns the candidate that issued c: its subject equals c's
// issuer DN byte for byte and its key verifies c's signature (which
// crypto/x509 refuses for a parent that is not a CA allowed to sign
// certificates).
func (t *Trust) findIssuer(c *x509.Certificate, candidates []*x509.Certificate) (*x509.Certificate, error) {
	var named bool
	var lastErr error
	for _, p := range candidates {
		if !bytes.Equal(p.RawSubject, c.RawIssuer) || bytes.Equal(p.Raw, c.Raw) {
			continue
		}
		named = true
		if err := t.checkLink(c, p); err != nil {
			lastErr = err
			continue
		}
		return p, nil
	}
	if !named {
		return nil, refuse(UntrustedChain, "issuer %q of %q is neither in KeyInfo nor in the trust environment", c.Issuer.String(), c.Subject.String())
	}
	return nil, &ValidationError{Reason: UntrustedChain, Detail: "no certificate named " + quoteDN(c.Issuer.String()) + " signed " + quoteDN(c.Subject.String()), Err: lastErr}
}

// checkLink checks that parent signed c. A link between two CA
// certificates is the same in every response (issuing CA under root), so
// once verified it is remembered, keyed by both certificates' SHA-256: an
// RSA-4096 verification saved per response. Only successful CA-to-CA links
// are kept, so the cache holds at most the environment's genuine CAs.
func (t *Trust) checkLink(c, parent *x509.Certificate) error {
	if !c.IsCA {
		return c.CheckSignatureFrom(parent)
	}
	key := [2][32]byte{sha256.Sum256(c.Raw), sha256.Sum256(parent.Raw)}
	if _, ok := t.verifiedCALinks.Load(key); ok {
		return nil
	}
	if err := c.CheckSignatureFrom(parent); err != nil {
		return err
	}
	t.verifiedCALinks.Store(key, struct{}{})
	return nil
}

// checkCA checks a CA certificate that has below itself the given number of
// CA certificates (0 for the leaf's issuer).
func checkCA(ca *x509.Certificate, below int, at time.Time) error {
	name := quoteDN(ca.Subject.String())
	switch {
	case len(ca.UnhandledCriticalExtensions) > 0:
		return refuse(UntrustedChain, "CA %s has an unknown critical extension %v", name, ca.UnhandledCriticalExtensions[0])
	case !ca.BasicConstraintsValid || !ca.IsCA:
		return refuse(UntrustedChain, "%s is not a CA certificate", name)
	case ca.KeyUsage&x509.KeyUsageCertSign == 0:
		return refuse(UntrustedChain, "CA %s may not sign certificates (keyCertSign)", name)
	case ca.MaxPathLen >= 0 && (ca.MaxPathLen > 0 || ca.MaxPathLenZero) && below > ca.MaxPathLen:
		return refuse(UntrustedChain, "CA %s allows %d CA certificates below it, the chain has %d", name, ca.MaxPathLen, below)
	case at.Before(ca.NotBefore):
		return refuse(UntrustedChain, "CA %s is not valid before %s", name, ca.NotBefore.UTC().Format(time.RFC3339))
	case at.After(ca.NotAfter):
		return refuse(UntrustedChain, "CA %s expired at %s", name, ca.NotAfter.UTC().Format(time.RFC3339))
	}
	return nil
}

func containsCert(list []*x509.Certificate, c *x509.Certificate) bool {
	for _, x := range list {
		if bytes.Equal(x.Raw, c.Raw) {
			return true
		}
	}
	return false
}

// quoteDN quotes a distinguished name for an error message, shortened: DNs
// come from the response, which an attacker writes.
func quoteDN(s string) string {
	const max = 120
	if len(s) > max {
		s = s[:max] + "…"
	}
	return `"` + s + `"`
}
