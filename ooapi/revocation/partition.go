package revocation

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"time"
)

// The LDAP directories of NemID's CRL partitions (spec §8.1).
const (
	ProductionLDAPServer = "crldir.certifikat.dk:389"
	PreprodLDAPServer    = "crldir.pp.certifikat.dk:389"
)

// PartitionedCRL checks certificates against their CRL partition, fetched
// from an LDAP directory (spec §8.3; OOAPI's default checker).
//
// The partition is the certificate's directoryName CRL distribution point,
// e.g. C=DK, O=TRUST2408, CN=TRUST2408 Systemtest XXII CA, CN=CRL197; its
// CRL is the attribute certificateRevocationList;binary of the entry with
// that DN (CN=CRL197,CN=TRUST2408 Systemtest XXII CA,O=TRUST2408,C=DK),
// read with an anonymous LDAPv3 base-scope search. The CRL must be that
// partition's (its issuing distribution point names it), issued and
// signed by the certificate's issuer, and current at the time asked.
// Issuing CAs are checked the same way, in the root's partition, when
// given with the root as issuer.
//
// The zero value has no server and refuses every check; set Server. A
// PartitionedCRL is safe for concurrent use and must not be copied after
// first use.
type PartitionedCRL struct {
	// Server is the directory's host:port, e.g. PreprodLDAPServer, or
	// 127.0.0.1:3389 for `nemid serve`. Plain LDAP: the CRLs are signed.
	Server string
	// Dialer opens the connections; nil means a net.Dialer.
	Dialer interface {
		DialContext(ctx context.Context, network, address string) (net.Conn, error)
	}
	// Timeout bounds one search, connection included; 0 means
	// DefaultCRLTimeout.
	Timeout time.Duration
	// MaxAge bounds how long a CRL is used before it is fetched again
	// (never past its nextUpdate); 0 means DefaultCRLMaxAge, negative
	// disables caching.
	MaxAge time.Duration
	// MaxSize is the largest LDAP message (and so CRL) accepted, in bytes;
	// 0 means DefaultMaxCRLSize.
	MaxSize int64
	// Now is the wall clock that ages cached CRLs; nil means time.Now.
	Now func() time.Time

	cache cache[*verifiedCRL]
}

// Check implements Checker; Status.Method is "ldap".
func (c *PartitionedCRL) Check(ctx context.Context, cert, issuer *x509.Certificate, at time.Time) (Status, error) {
	if err := checkArgs(MethodLDAP, cert, issuer, at); err != nil {
		return Status{}, err
	}
	if c.Server == "" {
		return Status{}, fail(MethodLDAP, ErrNoSource, "no LDAP server configured (PartitionedCRL.Server)", nil)
	}
	part, dn, err := partitionOf(cert)
	if err != nil {
		return Status{}, err
	}
	p := policyDefaults(MethodLDAP, c.MaxAge, DefaultCRLMaxAge, c.Timeout, DefaultCRLTimeout, c.Now)
	max := c.MaxSize
	if max <= 0 {
		max = DefaultMaxCRLSize
	}
	key := c.Server + "\x00" + dn + "\x00" + issuerKey(issuer)
	v, err := c.cache.get(ctx, key, at, p, func(ctx context.Context) (*verifiedCRL, time.Time, error) {
		der, err := ldapFetchCRL(ctx, c.Dialer, c.Server, dn, p.timeout, max)
		if err != nil {
			return nil, time.Time{}, err
		}
		v, err := verifyCRL(MethodLDAP, der, issuer, part)
		if err != nil {
			return nil, time.Time{}, err
		}
		return v, v.nextUpdate, nil
	})
	if err != nil {
		return Status{}, err
	}
	return v.status(MethodLDAP, cert, at)
}

// partitionOf finds the certificate's partition: the first directoryName
// among its complete-coverage CRL distribution points, and its LDAP DN.
func partitionOf(cert *x509.Certificate) (*partitionScope, string, error) {
	dps, err := distributionPoints(cert)
	if err != nil {
		return nil, "", fail(MethodLDAP, ErrNoSource, "reading the certificate's CRL distribution points", err)
	}
	for _, dp := range dps {
		for _, n := range dp.dirNames {
			dn, name, err := ldapDN(n)
			if err != nil {
				return nil, "", fail(MethodLDAP, ErrNoSource, "the certificate's CRL partition name", err)
			}
			if name == "" {
				return nil, "", fail(MethodLDAP, ErrNoSource, fmt.Sprintf("the certificate's CRL partition %q does not end in a single text value such as CN=CRL197", dn), nil)
			}
			return &partitionScope{dirName: n, name: name}, dn, nil
		}
	}
	return nil, "", fail(MethodLDAP, ErrNoSource, "the certificate names no CRL partition (no directoryName CRL distribution point)", nil)
}
