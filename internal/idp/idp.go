// Package idp is the server side of NemID's JavaScript client: it takes a
// service provider's signed parameters (spec §2–3, §13), runs the logon or
// signing flow — user-id and password, key-card code, activation or a
// credential update — with
// internal/auth, and answers with the XMLDSig response of spec §4 signed by
// the key vault with the user's key, or with an error code (§5). Flows live
// in the store, so any instance continues any flow and a restart loses
// none. The iframe-to-server API is our own design: docs/idp.md.
package idp

import (
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"time"

	"github.com/nemid-dk/nemid/internal/audit"
	"github.com/nemid-dk/nemid/internal/auth"
	"github.com/nemid-dk/nemid/internal/ca/keys"
	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/registration"
	"github.com/nemid-dk/nemid/internal/spcheck"
	"github.com/nemid-dk/nemid/internal/store"
	"github.com/prometheus/client_golang/prometheus"
)

// DefaultFlowTimeout is how long a flow waits for the user's next answer
// before it ends with CAN003.
const DefaultFlowTimeout = 10 * time.Minute

// endedRetention is how long an ended flow is kept (so that a late call
// gets a clear answer) before Purge removes it.
const endedRetention = 10 * time.Minute

// Config configures a Service.
type Config struct {
	Store store.Store
	// Registration runs logons (its Auth), activations and signatures.
	Registration *registration.Service
	// Root and Issuing are the installation's CAs: a service provider's
	// certificate must chain through them, and the response's KeyInfo
	// carries them with the user's certificate.
	Root, Issuing *x509.Certificate
	// MasterKey seals the remember-user-id key.
	MasterKey keys.MasterKey
	// FlowTimeout: DefaultFlowTimeout if zero.
	FlowTimeout time.Duration
	// Location is the server's time zone, for a TIMESTAMP without a zone
	// (spec 2); nil means UTC.
	Location *time.Location
	Clock    clock.Clock  // default clock.Real
	Log      *slog.Logger // default: discard
	// Metrics receives the client's counters; nil: not registered.
	Metrics prometheus.Registerer
}

// Service is the JS client's server side. It is a server.Role and safe for
// concurrent use; many Services (in many processes) may share one store.
type Service struct {
	st       store.Store
	reg      *registration.Service
	auth     *auth.Service
	audit    *audit.Log
	sps      *spcheck.Checker
	root     *x509.Certificate
	issuing  *x509.Certificate
	remember *rememberer
	timeout  time.Duration
	loc      *time.Location
	clock    clock.Clock
	log      *slog.Logger
	ends     *prometheus.CounterVec
	frames   frameAncestors
}

// rememberSecret names the remember-user-id key among the installation's secrets.
const rememberSecret = "idp-remember-v1"

// New checks cfg and returns the service.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Registration == nil || cfg.Root == nil || cfg.Issuing == nil || cfg.MasterKey == nil {
		return nil, errors.New("idp: Store, Registration, Root, Issuing and MasterKey are required")
	}
	if cfg.FlowTimeout == 0 {
		cfg.FlowTimeout = DefaultFlowTimeout
	}
	if cfg.FlowTimeout < 0 {
		return nil, errors.New("idp: FlowTimeout must not be negative")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	key, err := auth.InstallationSecret(ctx, cfg.Store, cfg.MasterKey, rememberSecret, cfg.Clock.Now())
	if err != nil {
		return nil, err
	}
	rem, err := newRememberer(key)
	clear(key)
	if err != nil {
		return nil, err
	}
	s := &Service{
		st: cfg.Store, reg: cfg.Registration, auth: cfg.Registration.Auth(), audit: cfg.Registration.AuditLog(),
		sps:  spcheck.New(cfg.Store, cfg.Root, cfg.Issuing, cfg.Clock),
		root: cfg.Root, issuing: cfg.Issuing, remember: rem, timeout: cfg.FlowTimeout, loc: cfg.Location,
		clock: cfg.Clock, log: cfg.Log,
		ends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nemid_client_flows_ended_total",
			Help: "JS-client flows ended, by action (logon, sign, none when the parameters were refused) and result (response, or the error code).",
		}, []string{"action", "result"}),
	}
	s.frames.st, s.frames.clock = cfg.Store, cfg.Clock
	if cfg.Metrics != nil {
		if err := cfg.Metrics.Register(s.ends); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Purge removes flows that expired before now minus the retention of
// ended flows, and says how many.
func (s *Service) Purge(ctx context.Context) (int64, error) {
	return s.st.DeleteIdPFlows(ctx, s.clock.Now().Add(-endedRetention))
}
