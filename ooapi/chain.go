package ooapi

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"strconv"
	"time"
	"unicode/utf8"
)

// maxChain is the longest chain accepted: leaf, issuing CA, root — with one
// spare level. OCES II has exactly three.
const maxChain = 4

// maxKeyInfo bounds the certificates a response may carry, checked before
// any signature work: real responses carry three, and every candidate
// issuer costs an RSA verification.
const maxKeyInfo = 6

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
	if len(keyInfo) > maxKeyInfo {
		return nil, refuse(UntrustedChain, "%d certificates in KeyInfo, at most %d are accepted", len(keyInfo), maxKeyInfo)
	}
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
	var caLinks [][2][32]byte // CA-to-CA links verified on the way, remembered only if the chain is trusted
	for cur := leaf; ; {
		parent, link, err := t.findIssuer(cur, candidates)
		if err != nil {
			return nil, err
		}
		if err := checkCA(parent, len(chain)-1, at); err != nil {
			return nil, err
		}
		chain = append(chain, parent)
		if len(chain) > maxChain {
			return nil, refuse(UntrustedChain, "chain longer than %d certificates", maxChain)
		}
		if link != nil {
			caLinks = append(caLinks, *link)
		}
		if t.isRoot(parent) {
			break
		}
		if selfSigned(parent) {
			return nil, refuse(UntrustedChain, "the chain ends at %s, which is not a root of %s", quoteDN(parent.Subject.String()), t.name)
		}
		cur = parent
	}
	for _, c := range keyInfo {
		if !containsCert(chain, c) {
			return nil, refuse(UntrustedChain, "KeyInfo certificate %s is not part of the signer's chain", quoteDN(c.Subject.String()))
		}
	}
	for _, l := range caLinks {
		t.verifiedCALinks.Store(l, struct{}{})
	}
	return chain, nil
}

// findIssuer returns the candidate that issued c: its subject equals c's
// issuer DN byte for byte and its key verifies c's signature (which
// crypto/x509 refuses for a parent that is not a CA allowed to sign
// certificates). For a CA-to-CA link not verified before, it also returns
// the link's key, for the caller to remember once the chain is trusted.
func (t *Trust) findIssuer(c *x509.Certificate, candidates []*x509.Certificate) (*x509.Certificate, *[2][32]byte, error) {
	var named bool
	var lastErr error
	for _, p := range candidates {
		if !bytes.Equal(p.RawSubject, c.RawIssuer) || bytes.Equal(p.Raw, c.Raw) {
			continue
		}
		named = true
		link, err := t.checkLink(c, p)
		if err != nil {
			lastErr = err
			continue
		}
		return p, link, nil
	}
	if !named {
		return nil, nil, refuse(UntrustedChain, "issuer %s of %s is neither in KeyInfo nor in the trust environment", quoteDN(c.Issuer.String()), quoteDN(c.Subject.String()))
	}
	return nil, nil, &ValidationError{Reason: UntrustedChain, Detail: "no certificate named " + quoteDN(c.Issuer.String()) + " signed " + quoteDN(c.Subject.String()), Err: lastErr}
}

// checkLink checks that parent signed c. A link between two CA
// certificates is the same in every response (issuing CA under root), so
// once verified within a chain that reached a trusted root it is
// remembered, keyed by both certificates' SHA-256: an RSA-4096
// verification saved per response. Links of refused chains are never
// kept, so the cache holds only the environment's genuine CAs.
func (t *Trust) checkLink(c, parent *x509.Certificate) (*[2][32]byte, error) {
	if !c.IsCA {
		return nil, c.CheckSignatureFrom(parent)
	}
	key := [2][32]byte{sha256.Sum256(c.Raw), sha256.Sum256(parent.Raw)}
	if _, ok := t.verifiedCALinks.Load(key); ok {
		return nil, nil
	}
	if err := c.CheckSignatureFrom(parent); err != nil {
		return nil, err
	}
	return &key, nil
}

// checkCA checks a CA certificate that has below itself the given number of
// CA certificates (0 for the leaf's issuer).
func checkCA(ca *x509.Certificate, below int, at time.Time) error {
	switch {
	case len(ca.UnhandledCriticalExtensions) > 0:
		return refuse(UntrustedChain, "CA %s has an unknown critical extension %v", caName(ca), ca.UnhandledCriticalExtensions[0])
	case !ca.BasicConstraintsValid || !ca.IsCA:
		return refuse(UntrustedChain, "%s is not a CA certificate", caName(ca))
	case ca.KeyUsage&x509.KeyUsageCertSign == 0:
		return refuse(UntrustedChain, "CA %s may not sign certificates (keyCertSign)", caName(ca))
	case ca.MaxPathLen >= 0 && (ca.MaxPathLen > 0 || ca.MaxPathLenZero) && below > ca.MaxPathLen:
		return refuse(UntrustedChain, "CA %s allows %d CA certificates below it, the chain has %d", caName(ca), ca.MaxPathLen, below)
	case at.Before(ca.NotBefore):
		return refuse(UntrustedChain, "CA %s is not valid before %s", caName(ca), ca.NotBefore.UTC().Format(time.RFC3339))
	case at.After(ca.NotAfter):
		return refuse(UntrustedChain, "CA %s expired at %s", caName(ca), ca.NotAfter.UTC().Format(time.RFC3339))
	}
	return nil
}

// caName quotes a CA's subject for a refusal. Only refusals pay for it:
// formatting a DN takes dozens of allocations.
func caName(ca *x509.Certificate) string { return quoteDN(ca.Subject.String()) }

func containsCert(list []*x509.Certificate, c *x509.Certificate) bool {
	for _, x := range list {
		if bytes.Equal(x.Raw, c.Raw) {
			return true
		}
	}
	return false
}

// quoteDN quotes a distinguished name for an error message: shortened at a
// character boundary and with every control or non-ASCII character
// escaped, since DNs come from the response, which an attacker writes, and
// error messages end up in logs.
func quoteDN(s string) string { return quoteShort(s, 120) }

// quoteShort quotes s, cut to at most max bytes at a character boundary,
// escaped as a Go string literal in ASCII.
func quoteShort(s string, max int) string {
	cut := len(s) > max
	if cut {
		s = s[:max]
		for len(s) > 0 && !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	q := strconv.QuoteToASCII(s)
	if cut {
		q += "…"
	}
	return q
}
