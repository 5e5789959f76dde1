package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/nemid-dk/nemid/ooapi"
	"github.com/nemid-dk/nemid/ooapi/cpr"
	"github.com/nemid-dk/nemid/ooapi/revocation"
)

// Config configures the example service provider.
type Config struct {
	// Listen is the address to listen on, host:port.
	Listen string
	// PublicURL is the origin of the shop's pages, scheme://host[:port]
	// exactly as a browser reports it; it is sent as ORIGIN, so it must be
	// one of the origins the service provider was registered with. Empty
	// means http://<Listen>.
	PublicURL string
	// IdPURL is the base URL of the NemID server: the client is framed from
	// IdPURL + "/launcher/lmt/<random>", and its origin is the only one the
	// page talks to.
	IdPURL string
	// Signer holds the service provider's VOCES certificate and key.
	Signer *ooapi.SPSigner
	// Name is the service provider's friendly name as registered (`nemid sp
	// register --name`): the RequestIssuer every response must carry.
	Name string
	// Trust is the environment whose certificates are accepted, e.g.
	// ooapi.ParseTrust of the installation's `nemid ca export`.
	Trust *ooapi.Trust
	// Revocation checks the user's certificate; revocation.None() must be
	// chosen explicitly.
	Revocation revocation.Checker
	// CPR, if set, enables the PID-CPR (and RID-CPR) match form. Its TLS
	// presents the service provider's VOCES.
	CPR *cpr.Config
	// DataDir is where signed documents are kept as evidence (created if
	// missing, mode 0700).
	DataDir string
	// Language is the default language of the pages and the client: DA
	// (when empty), EN or KL (the pages show Danish for KL; the client
	// speaks Greenlandic).
	Language ooapi.Language
	// Log receives one line per request and every refusal; nil discards.
	Log *slog.Logger
	// Now is the clock of parameters and validation; nil means time.Now.
	Now func() time.Time
	// Challenges keeps each session's challenge; nil means a
	// ooapi.MemoryChallenges (one process).
	Challenges ooapi.ChallengeStore
}

// Server is the example service provider.
type Server struct {
	cfg         Config
	origin      string // the shop's origin, sent as ORIGIN
	idpBase     string // IdPURL without a trailing slash
	idpOrigin   string // the launcher's origin: postMessage target and frame-src
	secure      bool   // the shop is served over https: cookies get Secure
	csp         string
	validator   *ooapi.Validator
	challenges  ooapi.ChallengeStore
	sessions    *sessions
	evidence    *evidence
	pidCPR      *cpr.PIDClient // nil without Config.CPR
	ridCPR      *cpr.RIDClient
	pages       pageTemplates
	handler     http.Handler
	log         *slog.Logger
	listener    net.Listener
	shutdownFor time.Duration
}

// New checks cfg and builds the server. It opens (or creates) the evidence
// directory but does not listen yet.
func New(cfg Config) (*Server, error) {
	if cfg.Signer == nil {
		return nil, errors.New("demo: no SPSigner: the service provider's VOCES certificate and key are needed")
	}
	if strings.TrimSpace(cfg.Name) == "" {
		return nil, errors.New("demo: no friendly name: give the name the service provider was registered with")
	}
	if cfg.DataDir == "" {
		return nil, errors.New("demo: no data directory for the evidence")
	}
	switch cfg.Language {
	case "":
		cfg.Language = ooapi.DA
	case ooapi.DA, ooapi.EN, ooapi.KL:
	default:
		return nil, fmt.Errorf("demo: language %q: want DA, EN or KL", cfg.Language)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PublicURL == "" {
		u, err := originFromListen(cfg.Listen)
		if err != nil {
			return nil, err
		}
		cfg.PublicURL = u
	}
	origin, err := originOf(cfg.PublicURL, false)
	if err != nil {
		return nil, fmt.Errorf("demo: public URL %q: %w", cfg.PublicURL, err)
	}
	idpOrigin, err := originOf(cfg.IdPURL, true)
	if err != nil {
		return nil, fmt.Errorf("demo: IdP URL %q: %w", cfg.IdPURL, err)
	}
	if idpOrigin == origin {
		return nil, errors.New("demo: the shop and the NemID server must have different origins (the client checks who frames it)")
	}
	challenges := cfg.Challenges
	if challenges == nil {
		challenges = &ooapi.MemoryChallenges{Now: cfg.Now}
	}
	v, err := ooapi.NewValidator(ooapi.Config{
		Trust:          cfg.Trust,
		Revocation:     cfg.Revocation,
		Challenges:     challenges,
		RequestIssuers: []string{cfg.Name},
		Now:            cfg.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	ev, err := openEvidence(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:         cfg,
		origin:      origin,
		idpBase:     strings.TrimRight(cfg.IdPURL, "/"),
		idpOrigin:   idpOrigin,
		secure:      strings.HasPrefix(origin, "https://"),
		validator:   v,
		challenges:  challenges,
		sessions:    newSessions(cfg.Now),
		evidence:    ev,
		pages:       pages,
		log:         cfg.Log,
		shutdownFor: 15 * time.Second,
	}
	s.csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
		"frame-src " + idpOrigin + "; form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'"
	if cfg.CPR != nil {
		if s.pidCPR, err = cpr.NewPIDClient(*cfg.CPR); err != nil {
			return nil, fmt.Errorf("demo: PID-CPR: %w", err)
		}
		if s.ridCPR, err = cpr.NewRIDClient(*cfg.CPR); err != nil {
			return nil, fmt.Errorf("demo: RID-CPR: %w", err)
		}
	}
	s.handler = s.routes()
	return s, nil
}

// Origin is the shop's origin (ORIGIN of every parameter set).
func (s *Server) Origin() string { return s.origin }

// Handler is the shop's whole HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Listen binds Config.Listen, so that a taken port is reported before
// Serve.
func (s *Server) Listen() (net.Addr, error) {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("demo: listen on %s: %w", s.cfg.Listen, err)
	}
	s.listener = ln
	return ln.Addr(), nil
}

// Serve serves until ctx ends, then stops accepting connections and waits
// a while for requests in flight. It listens first if Listen was not
// called.
func (s *Server) Serve(ctx context.Context) error {
	if s.listener == nil {
		if _, err := s.Listen(); err != nil {
			return err
		}
	}
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(s.listener) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), s.shutdownFor)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("demo: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// originOf returns the origin of raw, an absolute http(s) URL, in the
// form a browser serialises it (lower-case scheme and host, no default
// port). withPath allows a path (the IdP may live under a prefix); the
// shop's own URL must be a bare origin, since it is sent as ORIGIN.
func originOf(raw string, withPath bool) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", errors.New("want an http:// or https:// URL")
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", errors.New("want scheme://host[:port] with no user, query or fragment")
	}
	if !withPath && u.Path != "" && u.Path != "/" {
		return "", errors.New("want an origin, scheme://host[:port], with no path")
	}
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port := u.Port(); port != "" && !(scheme == "http" && port == "80") && !(scheme == "https" && port == "443") {
		host += ":" + port
	}
	return scheme + "://" + host, nil
}

// originFromListen is the default public URL: http://<listen>, when the
// listen address names a host and a port a browser can use.
func originFromListen(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("demo: listen address %q: %w", listen, err)
	}
	if ip := net.ParseIP(host); host == "" || port == "0" || (ip != nil && ip.IsUnspecified()) {
		return "", fmt.Errorf("demo: listen address %q names no origin a browser can use (wildcard host or port 0): give the public URL", listen)
	}
	return "http://" + net.JoinHostPort(host, port), nil
}
