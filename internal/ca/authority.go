package ca

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"time"

	"github.com/nemid-dk/nemid/oces"
)

// Authority certificate profiles, as observed on the OCES II roots and
// issuing CAs (spec section 7.1): RSA-4096 (ours; the sampled issuing CAs
// were RSA-2048), sha256WithRSAEncryption, critical basicConstraints CA and
// critical keyCertSign+cRLSign, anyPolicy, a CRL distribution point with the
// root's full CRL and its partition CN=CRL1, SKI and AKI.

// Key sizes of the operator's keys (DESIGN.md, Cryptography).
const (
	caKeyBits   = 4096
	ocspKeyBits = 2048
)

var (
	oidAnyPolicy   = asn1.ObjectIdentifier{2, 5, 29, 32, 0}
	oidOCSPNoCheck = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 5}
	// asn1NULL is the DER of NULL, the value of id-pkix-ocsp-nocheck.
	asn1NULL = []byte{0x05, 0x00}
)

// caName is the subject of an authority: C, O, CN as separate RDNs, as the
// OCES CAs have it.
func (c Config) caName(cn string) pkix.Name {
	return pkix.Name{Country: []string{c.Country}, Organization: []string{c.Organization}, CommonName: cn}
}

// encodedName returns a name's RDN sequence with the string types crypto/x509
// gives it in a certificate, so that a directoryName built from it (a CRL
// partition) is byte-identical to the CA's subject.
func encodedName(n pkix.Name) (pkix.RDNSequence, error) {
	der, err := asn1.Marshal(n.ToRDNSequence())
	if err != nil {
		return nil, err
	}
	return oces.ParseRawName(der)
}

// newSerial returns a random positive 16-octet serial number with 126 random
// bits: well above the 64 bits of entropy asked for, within RFC 5280's
// 20-octet limit, and with the second-highest bit set so it is never zero and
// never needs a leading zero octet.
func newSerial() (*big.Int, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("serial: %w", err)
	}
	b[0] &= 0x7f
	b[0] |= 0x40
	return new(big.Int).SetBytes(b), nil
}

// SerialText is how serials are written in the store and on the command line:
// lowercase hexadecimal without leading zeros.
func SerialText(n *big.Int) string { return n.Text(16) }

// ParseSerial reads a serial given by an operator: hexadecimal, any case,
// with or without a 0x prefix or colons (as openssl prints them).
func ParseSerial(s string) (string, error) {
	clean := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			continue
		}
		clean = append(clean, s[i])
	}
	t := string(clean)
	if len(t) > 2 && (t[:2] == "0x" || t[:2] == "0X") {
		t = t[2:]
	}
	n, ok := new(big.Int).SetString(t, 16)
	if !ok || t == "" || len(t) > 40 {
		return "", fmt.Errorf("serial %q: want a hexadecimal certificate serial number (at most 20 octets)", s)
	}
	if n.Sign() <= 0 {
		return "", fmt.Errorf("serial %q: serial numbers are positive", s)
	}
	return SerialText(n), nil
}

// caTemplate is the template of a root or issuing CA certificate. Both sit
// in partition CRL1 of the root's CRL, named crlIssuerName.
func (c Config) caTemplate(cn string, pub crypto.PublicKey, notBefore time.Time, days int, crlURL, crlIssuerName string) (*x509.Certificate, error) {
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	ski, err := oces.SubjectKeyID(pub)
	if err != nil {
		return nil, err
	}
	policies, err := asn1.Marshal([]policyInformation{{Policy: oidAnyPolicy}})
	if err != nil {
		return nil, err
	}
	crlIssuer, err := encodedName(c.caName(crlIssuerName))
	if err != nil {
		return nil, err
	}
	cdp, err := oces.CRLDistributionPoints(crlURL, crlIssuer, 1)
	if err != nil {
		return nil, err
	}
	return &x509.Certificate{
		SerialNumber:          serial,
		Subject:               c.caName(cn),
		NotBefore:             notBefore,
		NotAfter:              notBefore.AddDate(0, 0, days),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		SubjectKeyId:          ski,
		SignatureAlgorithm:    x509.SHA256WithRSA,
		ExtraExtensions: []pkix.Extension{
			{Id: asn1.ObjectIdentifier{2, 5, 29, 32}, Value: policies},
			cdp,
		},
	}, nil
}

// ocspTemplate is the delegated OCSP responder's certificate: issued by the
// issuing CA, EKU OCSPSigning only, and id-pkix-ocsp-nocheck so relying
// parties do not ask for the responder's own revocation status (RFC 6960
// section 4.2.2.2.1). It is short-lived for the same reason.
func (c Config) ocspTemplate(pub crypto.PublicKey, notBefore time.Time) (*x509.Certificate, error) {
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	ski, err := oces.SubjectKeyID(pub)
	if err != nil {
		return nil, err
	}
	return &x509.Certificate{
		SerialNumber:          serial,
		Subject:               c.caName(c.OCSPName),
		NotBefore:             notBefore,
		NotAfter:              notBefore.AddDate(0, 0, c.OCSPValidityDays),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning},
		BasicConstraintsValid: true,
		IsCA:                  false,
		SubjectKeyId:          ski,
		SignatureAlgorithm:    x509.SHA256WithRSA,
		ExtraExtensions:       []pkix.Extension{{Id: oidOCSPNoCheck, Value: asn1NULL}},
	}, nil
}

type policyInformation struct {
	Policy asn1.ObjectIdentifier
}
