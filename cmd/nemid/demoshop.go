package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"

	"github.com/nemid-dk/nemid/internal/audit"
	"github.com/nemid-dk/nemid/internal/demo"
	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/ooapi"
	"github.com/nemid-dk/nemid/ooapi/revocation"
)

// demoShopName is the friendly name `nemid serve --demo` registers the
// example service provider under.
const demoShopName = "Demo-butikken"

// demoShop is the example service provider as `nemid serve --demo` runs
// it: registered once (its VOCES key kept in <data>/demo-sp/), then
// started in-process next to the servers.
type demoShop struct {
	listen, idpURL, cprURL string
}

// start registers the shop on a first start and returns it listening.
func (d demoShop) start(ctx context.Context, c *common, st store.Store, log *slog.Logger, out io.Writer) (*demo.Server, error) {
	origin, err := canonicalOrigin("http://" + d.listen)
	if err != nil {
		return nil, fmt.Errorf("--demo-listen %q: %w", d.listen, err)
	}
	dir := filepath.Join(c.data, demoSPDir)
	certFile, keyFile := filepath.Join(dir, "sp.pem"), filepath.Join(dir, "sp-key.pem")
	sp, err := st.ServiceProviderByName(ctx, demoShopName)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if sp, err = d.register(ctx, c, st, origin, dir, certFile, keyFile); err != nil {
			return nil, err
		}
		fmt.Fprintf(out, "Registered the example service provider %q (SPID %d) for %s; its VOCES and key are in %s\n", sp.Name, sp.ID, origin, dir)
	case err != nil:
		return nil, err
	case sp.Disabled:
		return nil, fmt.Errorf("the example service provider %q (SPID %d) is disabled: start without --demo, or with a fresh data directory", sp.Name, sp.ID)
	case !slices.Contains(sp.Origins, origin):
		return nil, fmt.Errorf("the example service provider %q is registered for %v, not %s: give --demo-listen to match", sp.Name, sp.Origins, origin)
	}
	signer, err := spSignerFor(sp, certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("the example service provider's VOCES: %w", err)
	}
	trust, err := installationTrust(ctx, st)
	if err != nil {
		return nil, err
	}
	cfg := demo.Config{Listen: d.listen, IdPURL: d.idpURL, Signer: signer, Name: sp.Name, Trust: trust,
		Revocation: &revocation.OCSP{}, DataDir: dir, Log: log.With("role", "demo-sp")}
	if d.cprURL != "" {
		cfg.CPR = demoCPRConfig(d.cprURL, fmt.Sprint(sp.ID), signer, trust)
	}
	shop, err := demo.New(cfg)
	if err != nil {
		return nil, err
	}
	if _, err := shop.Listen(); err != nil {
		return nil, err
	}
	return shop, nil
}

// register issues the shop's VOCES and registers it with CPR match. Files
// a crashed earlier attempt left (no registration refers to them) go first.
func (d demoShop) register(ctx context.Context, c *common, st store.Store, origin, dir, certFile, keyFile string) (store.ServiceProvider, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return store.ServiceProvider{}, err
	}
	for _, f := range []string{certFile, keyFile} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return store.ServiceProvider{}, err
		}
	}
	sp := store.ServiceProvider{Name: demoShopName, Origins: []string{origin}, AllowCPRMatch: true}
	sp, err := issueAndRegister(ctx, c, st, sp, "12345678", "Demo-butikken ApS", certFile, keyFile)
	if err != nil {
		return sp, err
	}
	return sp, recordAudit(ctx, st, audit.Entry{Actor: audit.Operator, Action: audit.SPRegistered,
		Subject: audit.ServiceProvider(sp.ID), Outcome: audit.Success, Detail: spAuditDetail(sp)})
}

// spSignerFor reads a service provider's VOCES and key, and checks that the
// certificate is the one sp is registered with.
func spSignerFor(sp store.ServiceProvider, certFile, keyFile string) (*ooapi.SPSigner, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("%w (it is written when the service provider is registered; without it the registration cannot be used)", err)
	}
	signer, err := ooapi.ParseSPSigner(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s, %s: %w", certFile, keyFile, err)
	}
	if !slices.Equal(signer.Cert.Raw, sp.CertDER) {
		return nil, fmt.Errorf("%s is not the certificate service provider %q (SPID %d) is registered with", certFile, sp.Name, sp.ID)
	}
	return signer, nil
}
