package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/nemid-dk/nemid/internal/auth"
	"github.com/nemid-dk/nemid/internal/ca"
	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/cpr"
	"github.com/nemid-dk/nemid/internal/demo"
	"github.com/nemid-dk/nemid/internal/idp"
	"github.com/nemid-dk/nemid/internal/registration"
	"github.com/nemid-dk/nemid/internal/revocation"
	"github.com/nemid-dk/nemid/internal/server"
	"github.com/nemid-dk/nemid/internal/store"
	"github.com/prometheus/client_golang/prometheus"
)

func runServe(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlagSet("nemid serve [--listen ADDR]", `
Starts the servers of this installation in one process, and stops them
gracefully on SIGTERM or Ctrl-C:

  HTTP (--listen)       /healthz, /metrics; the CA certificates at the
                        caIssuers URLs (/aia/root.cer, /aia/issuing.cer) and
                        /repository; the full CRLs (/crl/issuing.crl,
                        /crl/root.crl) and every partition CRL
                        (/crl/issuing/<n>.crl); the OCSP responder (/ocsp,
                        POST and GET)
  LDAP (--ldap-listen)  the CA entries and partition CRLs, read-only, anonymous
  HTTPS (--tls-listen)  the PID-CPR and RID-CPR services for service
                        providers (/pid_serviceprovider_server/pidxml/,
                        /pid_serviceprovider_server/pidws/,
                        /rid_serviceprovider_oio_server/v1.0.0/), with
                        mutual TLS: callers present their VOCES certificate.
                        The server certificate is issued by the issuing CA
                        at every start (30 days, renewed after 20), for the
                        listen host and the --public-url host; service
                        providers trust it through the installation's root.

It also publishes: within about a second of a revocation (by any process
sharing the database) the OCSP answer, the partition CRL and the full CRL
are re-signed, and every CRL and OCSP answer is re-signed before half its
validity has passed. Work left unpublished by a crash is resumed at start.

On an empty data directory it first initialises a preprod CA (as
`+"`nemid init`"+` would), so that `+"`nemid serve`"+` alone starts a working local system.

--demo registers three demo users (fictitious people) when the installation
has no users yet, and prints each one's NemID number, temporary password and
where the key card is (`+"`nemid keycard print NEMID`"+`, `+"`nemid outbox show ID`"+`);
on later starts it says that they exist and how to see them. It also runs the
example service provider, Demo-butikken, on --demo-listen (registered on the
first start, its VOCES and key kept in <data>/demo-sp/): open it in a browser
and log on or sign through the NemID client.

The NemID JavaScript client is served on the HTTP listener too: the launcher
/launcher/lmt/<random> and /launcher/std/<random> that service providers
frame, its API /launcher/api/*, and /launcher/ping (docs/idp.md).`)
	var c common
	c.register(fs)
	listen := fs.String("listen", "127.0.0.1:8080", "HTTP listen address")
	publicURL := fs.String("public-url", "", "base URL for a first-start initialisation (default http://<listen>; needed when --listen has a wildcard host or port 0)")
	logFormat := fs.String("log-format", "", "text or json (default: json in production, text in preprod)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	ldapListen := fs.String("ldap-listen", "127.0.0.1:3389", `LDAP listen address ("off": no LDAP server)`)
	tlsListen := fs.String("tls-listen", "127.0.0.1:8443", `HTTPS listen address of the PID/RID-CPR services ("off": not served)`)
	crlValidity := fs.Duration("crl-validity", ca.DefaultCRLValidity, "nextUpdate - thisUpdate of every CRL (at most 240h)")
	ocspValidity := fs.Duration("ocsp-validity", ca.DefaultOCSPValidity, "nextUpdate - thisUpdate of every OCSP response (at most 240h)")
	demoMode := fs.Bool("demo", false, "register three demo users if there are no users yet, and run the example service provider (see --demo-listen)")
	demoListen := fs.String("demo-listen", "127.0.0.1:8090", "with --demo: listen address (and origin) of the example service provider, Demo-butikken")
	if err := parse(fs, args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level %q: want debug, info, warn or error", *logLevel)
	}

	st, err := c.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	inst, err := st.Installation(ctx)
	firstStart := errors.Is(err, store.ErrNotFound)
	if err != nil && !firstStart {
		return err
	}
	env := inst.Environment
	if firstStart {
		env = ca.EnvPreprod
	}
	log, err := newLogger(*logFormat, env, level, os.Stderr)
	if err != nil {
		return err
	}
	if firstStart && *publicURL == "" {
		// Decide before the master key is made: a first start that cannot
		// name a reachable URL must leave nothing behind.
		if *publicURL, err = publicURLFromListen(*listen); err != nil {
			return err
		}
	}
	kb, err := c.keyBackend(firstStart)
	if err != nil {
		return err
	}
	defer kb.Close()
	if firstStart {
		cfg := ca.PreprodDefaults()
		cfg.PublicURL = *publicURL
		log.Info("no installation yet: initialising a preprod CA", "data", c.data, "public_url", cfg.PublicURL)
		if err := ca.Initialise(ctx, st, kb, clock.Real{}, cfg); err != nil && !errors.Is(err, ca.ErrAlreadyInitialised) {
			return err
		}
		// As nemid init does: a token gets its master key for the users' data.
		if _, err := kb.masterKey(ctx, true); err != nil {
			return err
		}
	}
	a, err := ca.Open(ctx, st, kb, clock.Real{})
	if err != nil {
		return err
	}
	if *demoMode {
		if err := createDemoUsers(ctx, st, kb, a, out); err != nil {
			return fmt.Errorf("--demo: %w", err)
		}
	}
	metrics := prometheus.NewRegistry()
	publisher, err := a.NewPublisher(ca.PublishConfig{CRLValidity: *crlValidity, OCSPValidity: *ocspValidity, Log: log, Registerer: metrics})
	if err != nil {
		return err
	}
	// One round before serving, so that a fresh installation has its CRLs
	// and work a crash left unpublished is done before anyone asks.
	if err := publisher.PublishOnce(ctx); err != nil {
		return fmt.Errorf("publishing CRLs and OCSP responses: %w", err)
	}
	clk := clock.Real{}
	responder, err := revocation.NewOCSPResponder(revocation.OCSPConfig{
		Issuer: a.Issuing(), Presigned: st, Signer: a, Clock: clk, Log: log, Metrics: metrics,
	})
	if err != nil {
		return err
	}
	reg, err := newRegistration(ctx, st, kb, a)
	if err != nil {
		return err
	}
	client, err := newClientService(ctx, st, kb, reg, a, clk, log, metrics)
	if err != nil {
		return err
	}
	srv := server.New(server.Config{
		Listen:   *listen,
		Log:      log,
		Registry: metrics,
		Health:   func(ctx context.Context) error { _, err := st.Installation(ctx); return err },
	},
		&revocation.Publication{Root: a.Root(), Issuing: a.Issuing(), OCSP: a.OCSPResponder(), Since: a.Issuing().NotBefore},
		&revocation.CRLHandler{CRLs: st, Clock: clk},
		responder,
		client,
	)
	addr, err := srv.Listen()
	if err != nil {
		return err
	}
	// The CPR services listen after the HTTP server has its port, so that
	// a taken --listen is reported before a TLS certificate is issued.
	var cprServer *cpr.TLSServer
	var tlsAddr net.Addr
	if *tlsListen != "off" {
		if cprServer, err = newCPRServer(*tlsListen, a, st, clk, log, metrics); err != nil {
			return err
		}
		if tlsAddr, err = cprServer.Listen(ctx); err != nil {
			return err
		}
	}
	var ldapServer *revocation.LDAPServer
	if *ldapListen != "off" {
		ldapServer, err = revocation.NewLDAPServer(revocation.LDAPConfig{
			Listen: *ldapListen,
			Authorities: []revocation.Authority{
				{StoreName: ca.RootCA, Cert: a.Root()},
				{StoreName: ca.IssuingCA, Cert: a.Issuing()},
			},
			CRLs: st,
			Log:  log,
		})
		if err != nil {
			return err
		}
		if err := ldapServer.Listen(); err != nil {
			return err
		}
	}

	var shop *demo.Server
	if *demoMode {
		d := demoShop{listen: *demoListen, idpURL: "http://" + addr.String()}
		if tlsAddr != nil {
			d.cprURL = "https://" + tlsAddr.String()
		}
		if shop, err = d.start(ctx, &c, st, log, out); err != nil {
			return fmt.Errorf("--demo: the example service provider: %w", err)
		}
	}

	log.Info("nemid serving", "http", "http://"+addr.String(), "environment", a.Config().Environment,
		"public_url", a.Config().PublicURL, "keys", kb.Describe(), "version", version)
	fmt.Fprintf(out, "nemid is serving on http://%s (CA repository: %s/repository). Stop with Ctrl-C.\n", addr, strings.TrimRight(a.Config().PublicURL, "/"))
	if ldapServer != nil {
		fmt.Fprintf(out, "LDAP directory of CRLs on ldap://%s\n", ldapServer.Addr())
	}
	if cprServer != nil {
		log.Info("PID/RID-CPR services serving", "https", "https://"+tlsAddr.String(),
			"certificate_not_after", cprServer.Certificate().Leaf.NotAfter)
		fmt.Fprintf(out, "PID/RID-CPR services on https://%s (mutual TLS with a registered VOCES)\n", tlsAddr)
	}
	if shop != nil {
		fmt.Fprintf(out, "The example service provider %s is on %s: open it, click \"Log på med nøglekort\", and log on as a demo user\n"+
			"(user-id: the alias; password: the temporary one; key card: nemid keycard print <alias>).\n", demoShopName, shop.Origin())
	}

	// Run the roles together; the first to fail stops the others.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 4)
	running := 0
	start := func(f func(context.Context) error) {
		running++
		go func() { errc <- f(ctx) }()
	}
	start(srv.Serve)
	start(publisher.Run)
	start(func(ctx context.Context) error { return purgeFlows(ctx, client, reg.Auth(), log) })
	if ldapServer != nil {
		start(ldapServer.Serve)
	}
	if cprServer != nil {
		start(cprServer.Serve)
	}
	if shop != nil {
		start(shop.Serve)
	}
	var first error
	for ; running > 0; running-- {
		if err := <-errc; err != nil && first == nil {
			first = err
			cancel()
		}
		cancel() // one role ending (cleanly only on shutdown) ends them all
	}
	return first
}

// newClientService builds the JS client's server side (the launcher).
func newClientService(ctx context.Context, st store.Store, kb *keyring, reg *registration.Service, a *ca.Authority, clk clock.Clock, log *slog.Logger, metrics prometheus.Registerer) (*idp.Service, error) {
	mk, err := kb.masterKey(ctx, true)
	if err != nil {
		return nil, err
	}
	return idp.New(ctx, idp.Config{Store: st, Registration: reg, Root: a.Root(), Issuing: a.Issuing(), MasterKey: mk,
		Clock: clk, Log: log, Metrics: metrics})
}

// flowPurgeInterval is how often ended and abandoned flows are deleted.
const flowPurgeInterval = time.Minute

// purgeFlows deletes expired JS-client and logon flows until ctx ends. A
// failed round is logged and retried at the next tick: stale rows harm
// nothing but space.
func purgeFlows(ctx context.Context, client *idp.Service, au *auth.Service, log *slog.Logger) error {
	t := time.NewTicker(flowPurgeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if _, err := client.Purge(ctx); err != nil && ctx.Err() == nil {
			log.Warn("purging JS-client flows", "err", err)
		}
		if _, err := au.PurgeFlows(ctx, time.Hour); err != nil && ctx.Err() == nil {
			log.Warn("purging logon flows", "err", err)
		}
	}
}

// newCPRServer builds the PID/RID-CPR services and their TLS listener. The
// server certificate names the listen host and the public URL's host.
func newCPRServer(listen string, a *ca.Authority, st store.Store, clk clock.Clock, log *slog.Logger, metrics prometheus.Registerer) (*cpr.TLSServer, error) {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("--tls-listen %q: %w", listen, err)
	}
	hosts := []string{host}
	if u, err := url.Parse(a.Config().PublicURL); err == nil && u.Hostname() != "" {
		hosts = append(hosts, u.Hostname())
	}
	svc, err := cpr.New(cpr.Config{Store: st, Root: a.Root(), Issuing: a.Issuing(), Clock: clk, Log: log, Metrics: metrics})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	svc.Register(mux)
	return cpr.NewTLSServer(cpr.TLSServerConfig{
		Listen:  listen,
		Handler: mux,
		Clock:   clk,
		Log:     log,
		Certificate: func(ctx context.Context) (*tls.Certificate, error) {
			return a.IssueTLSServer(ctx, hosts, 0)
		},
	})
}

// publicURLFromListen is the default public URL of a first start: the listen
// address, when it names one. The URL is written into the CA configuration
// and every certificate for good, so a wildcard host (":8080", "0.0.0.0") or
// port 0 (a random port, another one on every start) is refused.
func publicURLFromListen(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("--listen %q: %w", listen, err)
	}
	if ip := net.ParseIP(host); host == "" || port == "0" || (ip != nil && ip.IsUnspecified()) {
		return "", fmt.Errorf("this first start initialises the CA, whose certificates carry URLs under --public-url for good; "+
			"--listen %s names no address those URLs could use (a wildcard host or port 0): give --public-url, e.g. --public-url http://ca.example.dk", listen)
	}
	return "http://" + net.JoinHostPort(host, port), nil
}

func newLogger(format, env string, level slog.Level, w io.Writer) (*slog.Logger, error) {
	if format == "" {
		format = "text"
		if env == ca.EnvProduction {
			format = "json"
		}
	}
	opts := &slog.HandlerOptions{Level: level}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}
