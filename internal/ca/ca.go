// Package ca is the OCES certificate authority: it creates the operator's
// root, issuing CA and OCSP-responder certificates, issues OCES end-entity
// certificates (every one linted with zlint before the real signature), gives
// each a CRL partition for life, and records revocations durably.
package ca

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/nemid-dk/nemid/internal/ca/keys"
	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/store"
)

// Names of the authorities in the store.
const (
	RootCA    = "root"
	IssuingCA = "issuing"
	OCSPKey   = "ocsp"
)

// ErrNotInitialised is returned when no `nemid init` has run on the database.
var ErrNotInitialised = errors.New("no CA here yet: run `nemid init` first")

// ErrAlreadyInitialised is returned by Initialise on a database that has an installation.
var ErrAlreadyInitialised = errors.New("this installation is already initialised; `nemid init` never runs twice and never overwrites a key")

// Authority is a loaded certificate authority.
type Authority struct {
	store store.Store
	keys  keys.Backend
	clock clock.Clock
	cfg   Config

	root, issuing, ocsp store.CA
	rootCert            *x509.Certificate
	issuingCert         *x509.Certificate
	ocspCert            *x509.Certificate

	signerMu sync.Mutex
	signers  map[string]crypto.Signer // by authority name, loaded on first use
}

// Initialise creates a complete CA environment: root, issuing CA and
// delegated OCSP responder, each with a new key in the key back-end. It
// refuses, generating nothing, when the store already has an installation.
func Initialise(ctx context.Context, st store.Store, kb keys.Backend, clk clock.Clock, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if _, err := st.Installation(ctx); err == nil {
		return ErrAlreadyInitialised
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	now := clk.Now().Truncate(1e9)
	// Labels carry a random suffix: if an earlier init died after making a
	// key but before recording the installation, a new init makes new keys
	// beside the orphan instead of failing on (or overwriting) it.
	suffix := make([]byte, 4)
	if _, err := rand.Read(suffix); err != nil {
		return err
	}
	label := func(name string) string { return name + "-" + hex.EncodeToString(suffix) }

	rootRef, rootKey, err := kb.Generate(ctx, label(RootCA), caKeyBits)
	if err != nil {
		return fmt.Errorf("root key: %w", err)
	}
	rootTmpl, err := cfg.caTemplate(cfg.RootName, rootKey.Public(), now, cfg.RootValidityDays, cfg.RootCRLURL(), cfg.RootName)
	if err != nil {
		return err
	}
	rootTmpl.AuthorityKeyId = rootTmpl.SubjectKeyId
	rootDER, err := createCertificate(rootTmpl, nil, rootKey.Public(), rootKey)
	if err != nil {
		return fmt.Errorf("root certificate: %w", err)
	}
	rootCert, err := x509.ParseCertificate(rootDER)
	if err != nil {
		return err
	}

	issRef, issKey, err := kb.Generate(ctx, label(IssuingCA), caKeyBits)
	if err != nil {
		return fmt.Errorf("issuing CA key: %w", err)
	}
	issTmpl, err := cfg.caTemplate(cfg.IssuingName, issKey.Public(), now, cfg.IssuingValidityDays, cfg.RootCRLURL(), cfg.RootName)
	if err != nil {
		return err
	}
	issDER, err := createCertificate(issTmpl, rootCert, issKey.Public(), rootKey)
	if err != nil {
		return fmt.Errorf("issuing CA certificate: %w", err)
	}
	issCert, err := x509.ParseCertificate(issDER)
	if err != nil {
		return err
	}

	ocspRef, ocspKey, err := kb.Generate(ctx, label(OCSPKey), ocspKeyBits)
	if err != nil {
		return fmt.Errorf("OCSP responder key: %w", err)
	}
	ocspTmpl, err := cfg.ocspTemplate(ocspKey.Public(), now)
	if err != nil {
		return err
	}
	ocspDER, err := createCertificate(ocspTmpl, issCert, ocspKey.Public(), issKey)
	if err != nil {
		return fmt.Errorf("OCSP responder certificate: %w", err)
	}
	ocspCert, err := x509.ParseCertificate(ocspDER)
	if err != nil {
		return err
	}

	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	inst := store.Installation{Environment: cfg.Environment, Config: cfgJSON, CreatedAt: now}
	cas := []store.CA{
		{Name: RootCA, Kind: store.KindRoot, CertDER: rootDER, KeyRef: rootRef, CreatedAt: now},
		{Name: IssuingCA, Kind: store.KindIssuing, CertDER: issDER, KeyRef: issRef, CreatedAt: now},
		{Name: OCSPKey, Kind: store.KindOCSP, CertDER: ocspDER, KeyRef: ocspRef, CreatedAt: now},
	}
	// The issuing CA sits in the root's partition CRL1 (as in OCES II); the
	// responder certificate has no CRL distribution point (partition 0).
	certs := []store.Certificate{
		storedCertificate(issCert, RootCA, "ca", 1, now),
		storedCertificate(ocspCert, IssuingCA, "ocsp", 0, now),
	}
	if err := st.Initialise(ctx, inst, cas, certs); err != nil {
		if errors.Is(err, store.ErrAlreadyInitialised) {
			return ErrAlreadyInitialised
		}
		return err
	}
	return nil
}

// Open loads the installation's authority from the store.
func Open(ctx context.Context, st store.Store, kb keys.Backend, clk clock.Clock) (*Authority, error) {
	inst, err := st.Installation(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotInitialised
	}
	if err != nil {
		return nil, err
	}
	a := &Authority{store: st, keys: kb, clock: clk}
	if err := json.Unmarshal(inst.Config, &a.cfg); err != nil {
		return nil, fmt.Errorf("stored CA configuration: %w", err)
	}
	if err := a.cfg.Validate(); err != nil {
		return nil, fmt.Errorf("stored CA configuration: %w", err)
	}
	for _, x := range []struct {
		name string
		row  *store.CA
		cert **x509.Certificate
	}{{RootCA, &a.root, &a.rootCert}, {IssuingCA, &a.issuing, &a.issuingCert}, {OCSPKey, &a.ocsp, &a.ocspCert}} {
		row, err := st.CA(ctx, x.name)
		if err != nil {
			return nil, fmt.Errorf("authority %q: %w", x.name, err)
		}
		c, err := x509.ParseCertificate(row.CertDER)
		if err != nil {
			return nil, fmt.Errorf("authority %q certificate: %w", x.name, err)
		}
		*x.row, *x.cert = row, c
	}
	return a, nil
}

// Config returns the installation's CA configuration.
func (a *Authority) Config() Config { return a.cfg }

// Root returns the root CA certificate.
func (a *Authority) Root() *x509.Certificate { return a.rootCert }

// Issuing returns the issuing CA certificate.
func (a *Authority) Issuing() *x509.Certificate { return a.issuingCert }

// OCSPResponder returns the delegated OCSP responder certificate.
func (a *Authority) OCSPResponder() *x509.Certificate { return a.ocspCert }
