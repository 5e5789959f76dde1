// Package cpr serves NemID's PID-CPR and RID-CPR services (spec section
// 9): a service provider, identified by the VOCES certificate it presents
// in mutual TLS, asks whether a PID or an employee's RID belongs to a CPR
// number, or (with the right to) which CPR number it is. The three
// interfaces of the real service are served at their real paths:
//
//	/pid_serviceprovider_server/pidxml/      PID, plain HTTP XML (form field PID_REQUEST, or a raw XML body)
//	/pid_serviceprovider_server/pidws/       PID, SOAP 1.1 (pid, test, testConnection)
//	/rid_serviceprovider_oio_server/v1.0.0/  RID, OIO SOAP 1.1 (GetCpr, MatchRidAndCpr, TestConnection)
//
// The wire formats live in ooapi/cpr, shared with the service providers'
// clients. This package decides the answers: who is calling, may it ask,
// is it searching systematically, and what the store knows. The handlers
// only make sense behind TLS that asks for a client certificate (see
// TLSServer); a request without one is answered with status 8195.
//
// CPR numbers are personal data: they are never logged, never put in an
// error and never in a metric label.
package cpr

import (
	"context"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/spcheck"
	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/oces"
	wire "github.com/nemid-dk/nemid/ooapi/cpr"
)

// Store is what the service needs of the store.
type Store interface {
	spcheck.Store
	CPRLink(ctx context.Context, identity string) (store.CPRLink, error)
	RecordCPRQuery(ctx context.Context, q store.CPRQuery) error
	CPRQueryCounts(ctx context.Context, sp int64, identity string, since time.Time) (failedForIdentity, failedInAll int, err error)
}

// Defaults of the limits on systematic searching (docs/cpr.md).
const (
	DefaultIdentityFailures = 5
	DefaultIdentityWindow   = 24 * time.Hour
	DefaultTotalFailures    = 100
	DefaultTotalWindow      = time.Hour
)

// Limits say when a service provider is searching systematically: once it
// has IdentityFailures failed queries (no match, or an unknown identity)
// for one identity within IdentityWindow, it gets status 16 for that
// identity; once it has TotalFailures failed queries in all within
// TotalWindow, it gets status 16 for every query. Zero fields take the
// defaults above.
type Limits struct {
	IdentityFailures int
	IdentityWindow   time.Duration
	TotalFailures    int
	TotalWindow      time.Duration
}

func (l *Limits) setDefaults() error {
	if l.IdentityFailures == 0 {
		l.IdentityFailures = DefaultIdentityFailures
	}
	if l.IdentityWindow == 0 {
		l.IdentityWindow = DefaultIdentityWindow
	}
	if l.TotalFailures == 0 {
		l.TotalFailures = DefaultTotalFailures
	}
	if l.TotalWindow == 0 {
		l.TotalWindow = DefaultTotalWindow
	}
	if l.IdentityFailures < 0 || l.TotalFailures < 0 || l.IdentityWindow < 0 || l.TotalWindow < 0 {
		return errors.New("cpr: limits must not be negative")
	}
	return nil
}

// Config configures a Service.
type Config struct {
	Store Store
	// Root is the installation's root CA and Issuing its issuing CA: a
	// caller's certificate must chain through them.
	Root, Issuing *x509.Certificate
	Limits        Limits
	Clock         clock.Clock  // default clock.Real
	Log           *slog.Logger // default: discard
	// Metrics receives nemid_cpr_answers_total; nil: not registered.
	Metrics prometheus.Registerer
}

// Service answers the PID-CPR and RID-CPR interfaces. It is a server.Role.
type Service struct {
	st      Store
	sps     *spcheck.Checker
	limits  Limits
	clock   clock.Clock
	log     *slog.Logger
	answers *prometheus.CounterVec
}

// New checks cfg and returns the service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Root == nil || cfg.Issuing == nil {
		return nil, errors.New("cpr: Store, Root and Issuing are required")
	}
	if err := cfg.Limits.setDefaults(); err != nil {
		return nil, err
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Service{
		st: cfg.Store, sps: spcheck.New(cfg.Store, cfg.Root, cfg.Issuing, cfg.Clock), limits: cfg.Limits, clock: cfg.Clock, log: cfg.Log,
		answers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nemid_cpr_answers_total",
			Help: "PID-CPR and RID-CPR answers, by interface (pidxml, pidws, rid) and status code.",
		}, []string{"interface", "status"}),
	}
	if cfg.Metrics != nil {
		if err := cfg.Metrics.Register(s.answers); err != nil {
			return nil, fmt.Errorf("cpr: registering metrics: %w", err)
		}
	}
	return s, nil
}

// Register adds the three interfaces to mux, each with and without the
// trailing slash (clients were seen calling both; a redirect would lose a
// POST body).
func (s *Service) Register(mux *http.ServeMux) {
	for _, p := range []struct {
		path string
		h    http.HandlerFunc
	}{
		{wire.PIDXMLPath, s.servePIDXML},
		{wire.PIDSOAPPath, s.servePIDSOAP},
		{wire.RIDPath, s.serveRID},
	} {
		mux.HandleFunc("POST "+p.path+"{$}", p.h)
		mux.HandleFunc("POST "+strings.TrimSuffix(p.path, "/"), p.h)
	}
}

// Interface names, as metrics and logs label them.
const (
	ifacePIDXML = "pidxml"
	ifacePIDWS  = "pidws"
	ifaceRID    = "rid"
)

// readBody reads at most wire.MaxMessageSize bytes; ok is false when the
// body is longer or cannot be read (answered as unparsable XML).
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, wire.MaxMessageSize))
	return b, err == nil
}

// caller is the identified service provider of a request.
type caller struct {
	sp store.ServiceProvider
}

// identify finds the service provider behind the request's TLS client
// certificate. It returns a status other than 0 when the caller is refused:
// 8195 without a certificate, 17 for a certificate that does not chain to
// this installation's CA, is not valid now, is revoked or unknown to the
// store, or belongs to no enabled service provider; 16384 when the store
// fails. Why a caller was refused goes to the log, not to the caller.
func (s *Service) identify(r *http.Request) (caller, wire.StatusCode) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return caller{}, wire.StatusMissingClientCert
	}
	peer := r.TLS.PeerCertificates
	sp, err := s.sps.Identify(r.Context(), peer[0], peer[1:]...)
	if errors.Is(err, spcheck.ErrRefused) {
		s.log.Info("cpr: client certificate refused", "reason", err.Error())
		return caller{}, wire.StatusNotAuthorizedForServiceLookup
	}
	if err != nil {
		s.log.Error("cpr: checking the client certificate", "err", err)
		return caller{}, wire.StatusInternalError
	}
	return caller{sp: sp}, wire.StatusOK
}

// authorize checks the SPID the request names and the caller's rights:
// 17 when the SPID is not the caller's own or the caller may not use the
// service at all, 8 when it asks for a look-up it has no right to.
// Matching is the service; looking up is the wider right on top of it.
func (s *Service) authorize(c caller, spid string, lookup bool) wire.StatusCode {
	n, err := strconv.ParseUint(strings.TrimSpace(spid), 10, 63)
	if err != nil || int64(n) != c.sp.ID {
		s.log.Info("cpr: the request names another SPID than the caller's certificate", "sp", c.sp.ID)
		return wire.StatusNotAuthorizedForServiceLookup
	}
	if !c.sp.AllowCPRMatch {
		return wire.StatusNotAuthorizedForServiceLookup
	}
	if lookup && !c.sp.AllowCPRLookup {
		return wire.StatusNotAuthorizedForCPRLookup
	}
	return wire.StatusOK
}

// maxIdentity bounds an identity asked about: an OCES subject serialNumber
// has at most 64 characters.
const maxIdentity = oces.MaxSerialNumber

// outcome is the answer to one match or look-up.
type outcome struct {
	status wire.StatusCode
	cpr    string // the CPR number found (look-up)
	match  bool
}

// query answers one match (cpr set) or look-up (cpr empty) about identity
// ("PID:…" or "CVR:…-RID:…") for an authorised caller. It applies the
// limits on systematic searching first: a caller over them gets 16, and
// nothing is compared or recorded. Every other answered query is recorded
// before it is answered; when recording fails, the answer is 16384, so a
// store failure can never lift the limits.
func (s *Service) query(ctx context.Context, c caller, identity, cpr string, known bool) outcome {
	now := s.clock.Now()
	// One count serves both limits when their windows are the same.
	forIdentity, inAll, err := s.st.CPRQueryCounts(ctx, c.sp.ID, identity, now.Add(-s.limits.IdentityWindow))
	if err == nil && s.limits.TotalWindow != s.limits.IdentityWindow {
		_, inAll, err = s.st.CPRQueryCounts(ctx, c.sp.ID, identity, now.Add(-s.limits.TotalWindow))
	}
	if err != nil {
		s.log.Error("cpr: counting failed queries", "err", err)
		return outcome{status: wire.StatusInternalError}
	}
	if forIdentity >= s.limits.IdentityFailures || inAll >= s.limits.TotalFailures {
		s.log.Warn("cpr: systematic searching detected", "sp", c.sp.ID,
			"failed_for_identity", forIdentity, "failed_in_all", inAll)
		return outcome{status: wire.StatusBruteForceAttemptDetected}
	}

	var linked string
	if known {
		link, err := s.st.CPRLink(ctx, identity)
		switch {
		case err == nil:
			linked = link.CPR
		case errors.Is(err, store.ErrNotFound):
		default:
			s.log.Error("cpr: reading the CPR link", "err", err)
			return outcome{status: wire.StatusInternalError}
		}
	}
	var out outcome
	switch {
	case linked == "":
		out = outcome{status: wire.StatusNoPID}
	case cpr == "":
		out = outcome{status: wire.StatusOK, cpr: linked}
	case subtle.ConstantTimeCompare([]byte(cpr), []byte(linked)) == 1:
		out = outcome{status: wire.StatusOK, match: true}
	default:
		out = outcome{status: wire.StatusNoMatch}
	}
	if err := s.st.RecordCPRQuery(ctx, store.CPRQuery{SP: c.sp.ID, Identity: identity, Failed: out.status != wire.StatusOK, At: now}); err != nil {
		s.log.Error("cpr: recording the query", "err", err)
		return outcome{status: wire.StatusInternalError}
	}
	return out
}

// certIdentity reads the subject serialNumber from base64 of a DER
// certificate that a request says the identity belongs to.
func certIdentity(b64 string) (oces.Identity, bool) {
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(b64), ""))
	if err != nil {
		return oces.Identity{}, false
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return oces.Identity{}, false
	}
	id, err := oces.ParseCertificate(c)
	return id, err == nil
}

// count records one answer in the metrics and the log. The log names the
// caller and the status, never the identity or the CPR number.
func (s *Service) count(iface, op string, sp int64, status wire.StatusCode) {
	s.answers.WithLabelValues(iface, strconv.Itoa(int(status))).Inc()
	s.log.Info("cpr answer", "interface", iface, "operation", op, "sp", sp, "status", int(status), "status_name", status.Name())
}
