package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nemid-dk/nemid/internal/demo"
	"github.com/nemid-dk/nemid/oces"
	"github.com/nemid-dk/nemid/ooapi"
	"github.com/nemid-dk/nemid/ooapi/cpr"
)

// demoSPDir is the directory under --data where the example service
// provider keeps its evidence.
const demoSPDir = "demo-sp"

func runDemoSP(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlagSet("nemid demo-sp --name NAME --sp-cert FILE --sp-key FILE --trust FILE|DIR [--idp URL] [--listen ADDR]", `
Runs the example service provider, "Demo-butikken": a small shop on its own
origin that uses nothing but the ooapi library. It frames the NemID client
of --idp to log users on ("Log på med nøglekort") and to sign a text or an
HTML agreement, shows the identity NemID vouched for (/me), and, with
--cpr-url, matches the PID (or RID) to a CPR number.

Set it up against a running `+"`nemid serve`"+`:

  nemid ca export --out ca
  nemid sp register --name Demo-butikken --origin http://127.0.0.1:8090 \
    --issue-voces --cvr 12345678 --organization "Demo-butikken ApS" \
    --cert-out sp.pem --key-out sp.key [--allow-cpr-match]
  nemid demo-sp --name Demo-butikken --sp-cert sp.pem --sp-key sp.key --trust ca

--name must be the name the SP was registered with: every response must
carry it as RequestIssuer. --trust is the directory `+"`nemid ca export`"+` wrote
(root.pem and issuing.pem are read) or a PEM file of CA certificates;
--policies says which certificate policies its users' certificates carry.
The page origin (--public-url, default http://<listen>) must be one of the
SP's registered origins.

Signed documents are kept as evidence in <data>/`+demoSPDir+`/documents/<id>.xml,
listed in <data>/`+demoSPDir+`/index.json. Sessions live in memory.

--revocation none checks no certificate for revocation: a revoked (stolen)
certificate logs on. It is for tests only, and says so loudly.`)
	dataDir := fs.String("data", "./nemid-data", "nemid's data `directory`; the evidence goes into its "+demoSPDir+" subdirectory")
	listen := fs.String("listen", "127.0.0.1:8090", "HTTP listen address of the shop")
	publicURL := fs.String("public-url", "", "the shop's origin as browsers see it, sent as ORIGIN (default http://<listen>)")
	idp := fs.String("idp", "http://127.0.0.1:8080", "base `URL` of the NemID server (nemid serve): the client is framed from <idp>/launcher/lmt/…")
	name := fs.String("name", "", "the SP's registered friendly name (the RequestIssuer of every response)")
	spCert := fs.String("sp-cert", "", "the SP's VOCES certificate (PEM `file`)")
	spKey := fs.String("sp-key", "", "the SP's private key (PEM `file`, unencrypted)")
	trustPath := fs.String("trust", "", "the installation's CA certificates: the `DIR` nemid ca export wrote, or a PEM file")
	policies := fs.String("policies", "preprod", "certificate policies of the users' certificates: preprod, production, or poces=OID,moces=OID,voces=OID,foces=OID")
	method := fs.String("revocation", "ocsp", "revocation check: ocsp, crl (full CRL over HTTP), ldap (CRL partition over LDAP) or none (tests only)")
	ldapServer := fs.String("ldap-server", defaultLDAP["ours"], "LDAP `host:port` for --revocation ldap")
	cprURL := fs.String("cpr-url", "", "base `URL` of the PID/RID-CPR services, e.g. https://127.0.0.1:8443; enables the CPR match form (needs --spid)")
	spid := fs.String("spid", "", "with --cpr-url: the SP's `SPID`, as nemid sp register printed it")
	language := fs.String("language", "da", "default language of the pages and the client: da, en or kl")
	logFormat := fs.String("log-format", "text", "text or json")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := parse(fs, args); err != nil {
		return err
	}

	// Every setting is checked before anything listens.
	for flagName, v := range map[string]string{"--name": *name, "--sp-cert": *spCert, "--sp-key": *spKey, "--trust": *trustPath} {
		if v == "" {
			return fmt.Errorf("%s is required (see nemid demo-sp -h)", flagName)
		}
	}
	lang := ooapi.Language(strings.ToUpper(*language))
	if lang != ooapi.DA && lang != ooapi.EN && lang != ooapi.KL {
		return fmt.Errorf("--language %q: want da, en or kl", *language)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level %q: want debug, info, warn or error", *logLevel)
	}
	log, err := newLogger(*logFormat, "", level, os.Stderr)
	if err != nil {
		return err
	}
	if *cprURL != "" && *spid == "" {
		return errors.New("--cpr-url needs --spid: the CPR services know the SP by it")
	}
	if *spid != "" && *cprURL == "" {
		return errors.New("--spid goes with --cpr-url")
	}
	checker, err := revocationChecker(*method, *ldapServer)
	if err != nil {
		return err
	}
	env, err := policyEnvironment(*policies)
	if err != nil {
		return err
	}
	certPEM, err := os.ReadFile(*spCert)
	if err != nil {
		return fmt.Errorf("--sp-cert: %w", err)
	}
	keyPEM, err := os.ReadFile(*spKey)
	if err != nil {
		return fmt.Errorf("--sp-key: %w", err)
	}
	signer, err := ooapi.ParseSPSigner(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("--sp-cert/--sp-key: %w", err)
	}
	trust, err := loadDemoTrust(*trustPath, env)
	if err != nil {
		return err
	}
	cfg := demo.Config{
		Listen:     *listen,
		PublicURL:  *publicURL,
		IdPURL:     *idp,
		Signer:     signer,
		Name:       strings.TrimSpace(*name),
		Trust:      trust,
		Revocation: checker,
		DataDir:    filepath.Join(*dataDir, demoSPDir),
		Language:   lang,
		Log:        log,
	}
	if *cprURL != "" {
		cfg.CPR = demoCPRConfig(*cprURL, *spid, signer, trust)
	}
	srv, err := demo.New(cfg)
	if err != nil {
		return err
	}
	addr, err := srv.Listen()
	if err != nil {
		return err
	}
	if *method == "none" {
		const warning = "WARNING: --revocation none: certificates are NOT checked for revocation; a revoked (stolen) certificate is accepted. For tests only."
		fmt.Fprintln(os.Stderr, warning)
		log.Warn("revocation checking is off (--revocation none)")
	}
	log.Info("demo SP serving", "http", "http://"+addr.String(), "origin", srv.Origin(), "idp", *idp,
		"name", cfg.Name, "trust", trust.Name(), "revocation", *method, "cpr", *cprURL != "", "evidence", cfg.DataDir)
	fmt.Fprintf(out, "Demo-butikken is serving on http://%s (origin %s, NemID at %s). Stop with Ctrl-C.\n", addr, srv.Origin(), *idp)
	return srv.Serve(ctx)
}

// demoCPRConfig is how the shop calls the PID/RID-CPR services: mutual TLS
// with its VOCES, the server trusted through the installation's roots.
func demoCPRConfig(baseURL, spid string, signer *ooapi.SPSigner, trust *ooapi.Trust) *cpr.Config {
	roots := x509.NewCertPool()
	for _, r := range trust.Roots() {
		roots.AddCert(r)
	}
	return &cpr.Config{
		BaseURL: strings.TrimRight(baseURL, "/"),
		SPID:    spid,
		TLS:     cpr.NewTLSConfig(tls.Certificate{Certificate: [][]byte{signer.Cert.Raw}, PrivateKey: signer.Key, Leaf: signer.Cert}, roots),
	}
}

// policyEnvironment reads --policies: a named environment, or one OID per
// OCES type ("poces=1.2.3,moces=…").
func policyEnvironment(v string) (oces.Environment, error) {
	switch v {
	case "preprod":
		return oces.OCESPreproduction, nil
	case "production":
		return oces.OCESProduction, nil
	}
	env := oces.Environment{Name: "custom policies", Prefixes: map[oces.Type]asn1.ObjectIdentifier{}}
	for _, part := range strings.Split(v, ",") {
		typ, oidText, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return oces.Environment{}, fmt.Errorf("--policies %q: want preprod, production or poces=OID,moces=OID,…", v)
		}
		t, err := oces.ParseType(typ)
		if err != nil {
			return oces.Environment{}, fmt.Errorf("--policies: %w", err)
		}
		var oid asn1.ObjectIdentifier
		for _, arc := range strings.Split(oidText, ".") {
			n, err := strconv.Atoi(arc)
			if err != nil || n < 0 || strconv.Itoa(n) != arc {
				return oces.Environment{}, fmt.Errorf("--policies: %q is not an OID", oidText)
			}
			oid = append(oid, n)
		}
		if len(oid) < 2 {
			return oces.Environment{}, fmt.Errorf("--policies: %q is not an OID", oidText)
		}
		env.Prefixes[t] = oid
	}
	return env, nil
}

// loadDemoTrust reads the trust environment from the directory `nemid ca
// export` wrote (root.pem and issuing.pem; ocsp.pem is the responder's, not
// a CA) or from one PEM file, keeping only its CA certificates.
func loadDemoTrust(path string, env oces.Environment) (*ooapi.Trust, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("--trust: %w", err)
	}
	var files []string
	if info.IsDir() {
		files = []string{filepath.Join(path, "root.pem"), filepath.Join(path, "issuing.pem")}
	} else {
		files = []string{path}
	}
	var cas []byte
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("--trust: %w", err)
		}
		for rest := raw; ; {
			var block *pem.Block
			if block, rest = pem.Decode(rest); block == nil {
				break
			}
			if block.Type != "CERTIFICATE" {
				continue
			}
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("--trust %s: %w", f, err)
			}
			if c.IsCA {
				cas = append(cas, pem.EncodeToMemory(block)...)
			}
		}
	}
	if len(cas) == 0 {
		return nil, fmt.Errorf("--trust %s: no CA certificate found", path)
	}
	t, err := ooapi.ParseTrust("CA certificates of "+path+" ("+env.Name+")", env, cas)
	if err != nil {
		return nil, fmt.Errorf("--trust: %w", err)
	}
	return t, nil
}
