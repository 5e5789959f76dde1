package ca

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/oces"
)

// ProfileTLSServer is the store profile of the TLS server certificates the
// issuing CA gives nemid's own HTTPS listeners.
const ProfileTLSServer = "tls-server"

// DefaultTLSServerValidity is the validity of a TLS server certificate: a
// new one is issued at every start (and by a long-running server after two
// thirds of it), so a short life costs nothing and limits a leak.
const DefaultTLSServerValidity = 30 * 24 * time.Hour

// IssueTLSServer issues a TLS server certificate for nemid's own HTTPS
// listener (the PID/RID-CPR services), for the given host names and IP
// addresses, with a new ECDSA P-256 key that never leaves memory. Like
// every certificate the CA signs it is linted first and recorded in the
// store, with a CRL partition, so that it can be revoked and is answered
// by OCSP. A service provider verifies it against the installation's root.
//
// It is not an OCES certificate: the subject is CN=<first host> with the
// installation's O and C, the key usage digitalSignature, the extended key
// usage serverAuth. validity 0 means DefaultTLSServerValidity; it is cut
// short where the issuing CA expires.
func (a *Authority) IssueTLSServer(ctx context.Context, hosts []string, validity time.Duration) (*tls.Certificate, error) {
	if validity == 0 {
		validity = DefaultTLSServerValidity
	}
	if validity < 0 {
		return nil, errors.New("TLS server certificate: negative validity")
	}
	var dns []string
	var ips []net.IP
	seen := map[string]bool{}
	for _, h := range hosts {
		h = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
		if h == "" || seen[h] {
			continue
		}
		seen[h] = true
		if ip := net.ParseIP(h); ip != nil {
			if ip.IsUnspecified() {
				continue // a wildcard listen address names no host
			}
			ips = append(ips, ip)
			continue
		}
		if !validDNSName(h) {
			return nil, fmt.Errorf("TLS server certificate: %q is neither an IP address nor a DNS name", h)
		}
		dns = append(dns, h)
	}
	if len(dns)+len(ips) == 0 {
		return nil, errors.New("TLS server certificate: no host name or IP address to certify")
	}
	cn := ""
	if len(dns) > 0 {
		cn = dns[0]
	} else {
		cn = ips[0].String()
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("TLS server key: %w", err)
	}
	ski, err := oces.SubjectKeyID(key.Public())
	if err != nil {
		return nil, err
	}
	issuerName, err := oces.ParseRawName(a.issuingCert.RawSubject)
	if err != nil {
		return nil, fmt.Errorf("issuing CA subject: %w", err)
	}
	notBefore := a.clock.Now().Truncate(time.Second)
	notAfter := notBefore.Add(validity)
	if notAfter.After(a.issuingCert.NotAfter) {
		notAfter = a.issuingCert.NotAfter
	}
	tmpl := func(partition int) (*x509.Certificate, error) {
		cdp, err := oces.CRLDistributionPoints(a.cfg.IssuingCRLURL(), issuerName, partition)
		if err != nil {
			return nil, err
		}
		serial, err := newSerial()
		if err != nil {
			return nil, err
		}
		return &x509.Certificate{
			SerialNumber:          serial,
			Subject:               pkix.Name{Country: []string{a.cfg.Country}, Organization: []string{a.cfg.Organization}, CommonName: cn},
			NotBefore:             notBefore,
			NotAfter:              notAfter,
			KeyUsage:              x509.KeyUsageDigitalSignature,
			ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			BasicConstraintsValid: true,
			SubjectKeyId:          ski,
			DNSNames:              dns,
			IPAddresses:           ips,
			OCSPServer:            []string{a.cfg.OCSPURL()},
			IssuingCertificateURL: []string{a.cfg.IssuingCertURL()},
			ExtraExtensions:       []pkix.Extension{cdp},
			SignatureAlgorithm:    x509.SHA256WithRSA,
		}, nil
	}
	// Lint before a partition place is taken (as Issue does).
	probe, err := tmpl(1)
	if err != nil {
		return nil, err
	}
	if err := lintTemplate(probe, a.issuingCert, key.Public()); err != nil {
		return nil, err
	}
	signer, err := a.signerFor(ctx, a.issuing)
	if err != nil {
		return nil, err
	}
	partition, err := a.store.AllocatePartition(ctx, IssuingCA, a.cfg.PartitionSize)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		t, err := tmpl(partition)
		if err != nil {
			return nil, err
		}
		der, err := createCertificate(t, a.issuingCert, key.Public(), signer)
		if err != nil {
			return nil, err
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, err
		}
		err = a.store.InsertCertificate(ctx, storedCertificate(cert, IssuingCA, ProfileTLSServer, partition, a.clock.Now()))
		if errors.Is(err, store.ErrDuplicateSerial) && attempt < 3 {
			continue
		}
		if err != nil {
			return nil, err
		}
		return &tls.Certificate{
			Certificate: [][]byte{der, a.issuingCert.Raw},
			PrivateKey:  key,
			Leaf:        cert,
		}, nil
	}
}

// validDNSName accepts a host name of letters, digits and hyphens in
// dot-separated labels of 1 to 63 characters ("localhost" included).
func validDNSName(s string) bool {
	if len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
