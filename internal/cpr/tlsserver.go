package cpr

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/server"
)

// TLSServerConfig configures the TLS listener of the CPR services.
type TLSServerConfig struct {
	Listen  string
	Handler http.Handler
	// Certificate issues the server's certificate. It is called before
	// listening, and again whenever two thirds of the current certificate's
	// validity have passed, so that a server running for weeks never
	// serves an expired certificate. The result's Leaf must be set.
	Certificate func(ctx context.Context) (*tls.Certificate, error)
	Clock       clock.Clock  // default clock.Real
	Log         *slog.Logger // default: discard
	// ShutdownTimeout bounds the wait for requests in flight on shutdown; default 15 s.
	ShutdownTimeout time.Duration
}

// TLSServer serves the CPR services over TLS. It asks every client for a
// certificate but does not require or verify one during the handshake
// (tls.RequestClientCert): the handlers verify it themselves, so that a
// client without one gets the services' own answer (status 8195) instead
// of a failed handshake it cannot interpret.
type TLSServer struct {
	cfg  TLSServerConfig
	cert atomic.Pointer[tls.Certificate]
	ln   net.Listener
}

// NewTLSServer checks cfg.
func NewTLSServer(cfg TLSServerConfig) (*TLSServer, error) {
	if cfg.Handler == nil || cfg.Certificate == nil {
		return nil, errors.New("cpr: TLS server needs a Handler and a Certificate function")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 15 * time.Second
	}
	return &TLSServer{cfg: cfg}, nil
}

// Listen binds the socket and issues the first certificate, so that the
// caller knows the address (and a taken port is reported, before any
// certificate is issued) before Serve.
func (s *TLSServer) Listen(ctx context.Context) (net.Addr, error) {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", s.cfg.Listen, err)
	}
	if err := s.renew(ctx); err != nil {
		ln.Close()
		return nil, err
	}
	s.ln = ln
	return ln.Addr(), nil
}

// Certificate returns the certificate being served.
func (s *TLSServer) Certificate() *tls.Certificate { return s.cert.Load() }

func (s *TLSServer) renew(ctx context.Context) error {
	c, err := s.cfg.Certificate(ctx)
	if err != nil {
		return fmt.Errorf("TLS server certificate: %w", err)
	}
	if c == nil || c.Leaf == nil {
		return errors.New("TLS server certificate: none, or its Leaf not set")
	}
	s.cert.Store(c)
	return nil
}

// renewAt is when the certificate is replaced: after two thirds of its validity.
func renewAt(c *tls.Certificate) time.Time {
	nb, na := c.Leaf.NotBefore, c.Leaf.NotAfter
	return nb.Add(na.Sub(nb) * 2 / 3)
}

// Serve serves until ctx is cancelled, then stops accepting connections
// and waits (up to ShutdownTimeout) for requests in flight.
func (s *TLSServer) Serve(ctx context.Context) error {
	if s.ln == nil {
		if _, err := s.Listen(ctx); err != nil {
			return err
		}
	}
	hs := server.NewHTTPServer(s.logged(s.cfg.Handler), s.cfg.Log)
	hs.TLSConfig = &tls.Config{
		MinVersion: tls.VersionTLS12,
		ClientAuth: tls.RequestClientCert,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return s.cert.Load(), nil
		},
	}
	go s.renewLoop(ctx)
	return server.Run(ctx, hs, func() error { return hs.ServeTLS(s.ln, "", "") }, s.cfg.ShutdownTimeout, s.cfg.Log)
}

// renewLoop replaces the certificate on time; a failed renewal is logged
// and retried a minute later while the current certificate is still valid.
func (s *TLSServer) renewLoop(ctx context.Context) {
	for {
		wait := renewAt(s.cert.Load()).Sub(s.cfg.Clock.Now())
		t := time.NewTimer(max(wait, time.Second))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if err := s.renew(ctx); err != nil {
			s.cfg.Log.Error("renewing the CPR TLS server certificate", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Minute):
			}
			continue
		}
		s.cfg.Log.Info("renewed the CPR TLS server certificate", "not_after", s.cert.Load().Leaf.NotAfter)
	}
}

// logged logs every request: method, path (never the query), status, size,
// duration and peer. Bodies, which hold CPR numbers, are never logged.
func (s *TLSServer) logged(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := server.NewStatusRecorder(w)
		h.ServeHTTP(rec, r)
		s.cfg.Log.Info("https request", "method", r.Method, "path", r.URL.Path, "status", rec.Code,
			"bytes", rec.Bytes, "duration_ms", float64(time.Since(start).Microseconds())/1000, "remote", r.RemoteAddr,
			"client_cert", r.TLS != nil && len(r.TLS.PeerCertificates) > 0)
	})
}
