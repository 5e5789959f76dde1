package ooapi

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/nemid-dk/nemid/oces"
)

// SPSigner builds and signs the client parameters of one service provider:
// Cert is the service provider's VOCES (sent as SP_CERT) and Key its private
// key (RSA; a crypto.Signer, so the key may live in a hardware module).
// Clock gives the TIMESTAMP; nil means time.Now. An SPSigner is safe for
// concurrent use as long as Key is.
type SPSigner struct {
	Cert  *x509.Certificate
	Key   crypto.Signer
	Clock func() time.Time
}

// NewSPSigner checks that key belongs to cert, that it is an RSA key, and
// that cert is a VOCES (oces.ParseCertificate), and returns a signer using
// time.Now. Whether the certificate is valid today and registered for a
// service provider is for NemID to say (SRV005).
func NewSPSigner(cert *x509.Certificate, key crypto.Signer) (*SPSigner, error) {
	pub, ok := key.Public().(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("ooapi: the service provider's key is %T; NemID takes RSA keys", key.Public())
	}
	if !pub.Equal(cert.PublicKey) {
		return nil, errors.New("ooapi: the private key does not belong to the certificate")
	}
	id, err := oces.ParseCertificate(cert)
	if err != nil {
		return nil, fmt.Errorf("ooapi: the service provider's certificate: %w", err)
	}
	if id.Type != oces.VOCES {
		return nil, fmt.Errorf("ooapi: the service provider's certificate is a %s certificate, not a VOCES", id.Type)
	}
	return &SPSigner{Cert: cert, Key: key}, nil
}

// ParseSPSigner is NewSPSigner for PEM input: certPEM holds the VOCES
// ("CERTIFICATE"; DER is accepted too), keyPEM its private key as PKCS#8
// ("PRIVATE KEY") or PKCS#1 ("RSA PRIVATE KEY"), unencrypted.
func ParseSPSigner(certPEM, keyPEM []byte) (*SPSigner, error) {
	cert, err := ParseCertificatePEM(certPEM)
	if err != nil {
		return nil, err
	}
	key, err := ParseRSAPrivateKeyPEM(keyPEM)
	if err != nil {
		return nil, err
	}
	return NewSPSigner(cert, key)
}

// ParseCertificatePEM reads the first certificate of a PEM file, or a DER
// certificate.
func ParseCertificatePEM(data []byte) (*x509.Certificate, error) {
	der := data
	if block, _ := pem.Decode(data); block != nil {
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("ooapi: PEM block %q, want CERTIFICATE", block.Type)
		}
		der = block.Bytes
	} else if bytes.Contains(data, []byte("-----BEGIN")) {
		return nil, errors.New("ooapi: malformed PEM certificate")
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("ooapi: certificate: %w", err)
	}
	return cert, nil
}

// ParseRSAPrivateKeyPEM reads an unencrypted RSA private key in PEM, PKCS#8
// or PKCS#1. Errors never quote the key.
func ParseRSAPrivateKeyPEM(data []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("ooapi: no PEM private key found")
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("ooapi: malformed PKCS#1 private key")
		}
		return k, nil
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("ooapi: malformed PKCS#8 private key")
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("ooapi: the private key is %T; NemID takes RSA keys", k)
		}
		return rk, nil
	case "ENCRYPTED PRIVATE KEY":
		return nil, errors.New("ooapi: the private key is encrypted; decrypt it first (openssl pkcs8)")
	}
	return nil, fmt.Errorf("ooapi: PEM block %q, want PRIVATE KEY or RSA PRIVATE KEY", block.Type)
}

// SPCert returns the SP_CERT value: the certificate's DER in base64 on one
// line.
func (s *SPSigner) SPCert() string { return base64.StdEncoding.EncodeToString(s.Cert.Raw) }

func (s *SPSigner) now() time.Time {
	if s.Clock != nil {
		return s.Clock()
	}
	return time.Now()
}

// SignParams signs params as they are (see SignParameters) with the
// signer's key. It adds nothing else: use it for parameter sets that Logon,
// Sign and the CodeFile methods do not build.
func (s *SPSigner) SignParams(params []Param) (*ParameterSet, error) {
	return SignParameters(params, s.Key)
}

// SignParameters returns the parameter set made of params, in their order,
// followed by PARAMS_DIGEST and DIGEST_SIGNATURE (spec 3.1): the SHA-256 of
// Normalize(params) and an RSASSA-PKCS1-v1_5 SHA-256 signature of it made
// with key, both in base64. params must not contain PARAMS_DIGEST or
// DIGEST_SIGNATURE. Nothing else is checked: a set signed here may still be
// one that NemID refuses (see VerifyParameters).
func SignParameters(params []Param, key crypto.Signer) (*ParameterSet, error) {
	for _, p := range params {
		if isSignatureParam(p.Name) {
			return nil, fmt.Errorf("ooapi: %s is added by the signer, not given", p.Name)
		}
	}
	if _, ok := key.Public().(*rsa.PublicKey); !ok {
		return nil, fmt.Errorf("ooapi: the key is %T; NemID takes RSA keys", key.Public())
	}
	normalized, err := Normalize(params)
	if err != nil {
		return nil, fmt.Errorf("ooapi: %w", err)
	}
	sum := sha256.Sum256(normalized)
	// For an RSA crypto.Signer, crypto.SHA256 as the options means
	// PKCS#1 v1.5 over this SHA-256 digest: Java's SHA256withRSA.
	sig, err := key.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("ooapi: signing the parameters: %w", err)
	}
	all := make([]Param, 0, len(params)+2)
	all = append(all, params...)
	all = append(all,
		Param{ParamsDigest, base64.StdEncoding.EncodeToString(sum[:])},
		Param{DigestSignature, base64.StdEncoding.EncodeToString(sig)})
	return newParameterSet(all)
}

// verifySignature checks DIGEST_SIGNATURE over normalized with pub.
func verifySignature(pub *rsa.PublicKey, normalized []byte, signatureB64 string) error {
	sig, err := decodeBase64(signatureB64)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(normalized)
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig)
}
