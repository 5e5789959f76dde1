package main

import (
	"context"
	"fmt"
	"io"

	"github.com/nemid-dk/nemid/internal/ca"
	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/oces"
)

func runInit(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlagSet("nemid init", `
Creates a complete CA environment in a new data directory, without questions:
a root CA (RSA-4096, self-signed), an issuing CA (RSA-4096) under it and a
delegated OCSP-responder certificate. The CA keys are sealed under a new
master key file (mode 0600) in the data directory, or generated inside a
PKCS#11 token when --pkcs11-module is set, with an AES master key
("nemid-master") next to them that seals the users' data. Refuses to run
twice.

--env preprod (the default) uses names and policy OIDs in the style of OCES II
preproduction. --env production refuses to start until every name and policy
OID is the operator's own.`)
	var c common
	c.register(fs)
	env := fs.String("env", ca.EnvPreprod, "environment: preprod or production")
	publicURL := fs.String("public-url", "", "base of the HTTP URLs written into certificates (default "+ca.DefaultPublicURL+" for preprod)")
	org := fs.String("org", "", "organization (O) of the CA names")
	rootName := fs.String("root-name", "", "common name of the root CA")
	issuingName := fs.String("issuing-name", "", "common name of the issuing CA")
	ocspName := fs.String("ocsp-name", "", "common name of the OCSP responder")
	notice := fs.String("notice-text", "", `certificate policy user notice; "%s" stands for the policy OID`)
	partitionSize := fs.Int("crl-partition-size", 0, fmt.Sprintf("certificates per CRL partition (default %d)", ca.DefaultPartitionSize))
	policies := map[oces.Type]*string{}
	for _, t := range []oces.Type{oces.POCES, oces.MOCES, oces.VOCES, oces.FOCES} {
		policies[t] = fs.String("policy-"+string(t), "", "certificate policy OID of "+string(t)+" certificates")
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := ca.Defaults(*env)
	if err != nil {
		return err
	}
	override := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	override(&cfg.PublicURL, *publicURL)
	override(&cfg.Organization, *org)
	override(&cfg.RootName, *rootName)
	override(&cfg.IssuingName, *issuingName)
	override(&cfg.OCSPName, *ocspName)
	override(&cfg.NoticeText, *notice)
	for t, v := range policies {
		if *v != "" {
			cfg.Policies[t] = *v
		}
	}
	if *partitionSize != 0 {
		cfg.PartitionSize = *partitionSize
	}
	if err := cfg.Validate(); err != nil {
		if cfg.Environment == ca.EnvProduction {
			return fmt.Errorf("%w\nproduction needs the operator's own --org, --root-name, --issuing-name, --ocsp-name, --notice-text, --public-url and --policy-poces/-moces/-voces/-foces", err)
		}
		return err
	}

	st, err := c.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	// Refuse a second init before touching any key material.
	if _, err := st.Installation(ctx); err == nil {
		return ca.ErrAlreadyInitialised
	}
	kb, err := c.keyBackend(true)
	if err != nil {
		return err
	}
	defer kb.Close()
	fmt.Fprintln(out, "Generating the root, issuing CA and OCSP responder keys (RSA-4096, 4096, 2048); this takes a few seconds…")
	if err := ca.Initialise(ctx, st, kb, clock.Real{}, cfg); err != nil {
		return err
	}
	a, err := ca.Open(ctx, st, kb, clock.Real{})
	if err != nil {
		return err
	}
	// The master key file seals the CA keys and is there already; a
	// token gets its master key for the users' data now.
	if _, err := kb.masterKey(ctx, true); err != nil {
		return err
	}
	fmt.Fprintf(out, "Initialised a %s CA in %s (keys: %s)\n", cfg.Environment, c.data, kb.Describe())
	for _, x := range []struct{ what, dn string }{
		{"root", a.Root().Subject.String()},
		{"issuing CA", a.Issuing().Subject.String()},
		{"OCSP responder", a.OCSPResponder().Subject.String()},
	} {
		fmt.Fprintf(out, "  %-15s %s\n", x.what, x.dn)
	}
	fmt.Fprintf(out, "URLs in certificates start with %s. Next: `nemid serve`, or `nemid ca issue -h`.\n", cfg.PublicURL)
	return nil
}
