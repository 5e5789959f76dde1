// Package server runs nemid's network roles in one process: it assembles the
// HTTP handlers of each role with health and metrics endpoints, logs every
// request, and shuts down gracefully.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Role is one server role (CA publication, later revocation, idp, …) that
// adds its handlers to the shared mux.
type Role interface {
	Register(mux *http.ServeMux)
}

// RawRouter is implemented by a Role that must receive some requests with
// their path exactly as sent. ServeMux cleans every path and answers one
// holding "//" with a 307 redirect to the cleaned path; an OCSP GET request
// carries base64 in its path, and base64 may hold "//" (STACK.md G6). The
// server asks each RawRouter first; a nil handler leaves the request to the mux.
type RawRouter interface {
	// RawRoute returns the handler for r and its route label (for metrics
	// and logs), or a nil handler.
	RawRoute(r *http.Request) (route string, h http.Handler)
}

// Config says where and how to serve.
type Config struct {
	Listen string
	Log    *slog.Logger
	// Health reports whether the process can serve (e.g. the database answers).
	Health func(context.Context) error
	// Registry receives the server's metrics and is served at /metrics; the
	// roles register theirs on it too. Nil: a new one.
	Registry *prometheus.Registry
	// ShutdownTimeout bounds the wait for in-flight requests on shutdown.
	ShutdownTimeout time.Duration
}

// Server is the HTTP server of one nemid process.
type Server struct {
	cfg      Config
	handler  http.Handler
	registry *prometheus.Registry
	ln       net.Listener
}

// New builds the server with its roles. Metrics go to a registry of our own
// (not the global one), so tests can run several servers in one process.
func New(cfg Config, roles ...Role) *Server {
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 15 * time.Second
	}
	reg := cfg.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "nemid_http_requests_total", Help: "HTTP requests served, by route pattern and status code.",
	}, []string{"route", "code"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "nemid_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
	}, []string{"route"})
	reg.MustRegister(requests, duration)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if cfg.Health != nil {
			if err := cfg.Health(r.Context()); err != nil {
				cfg.Log.Error("health check failed", "err", err)
				http.Error(w, "unhealthy", http.StatusServiceUnavailable)
				return
			}
		}
		fmt.Fprintln(w, "ok")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	var raw []RawRouter
	for _, r := range roles {
		r.Register(mux)
		if rr, ok := r.(RawRouter); ok {
			raw = append(raw, rr)
		}
	}

	logged := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := NewStatusRecorder(w)
		var h http.Handler
		var route string
		for _, rr := range raw {
			if route, h = rr.RawRoute(r); h != nil {
				break
			}
		}
		if h == nil {
			h = mux
			if _, route = mux.Handler(r); route == "" {
				route = "unmatched"
			}
		}
		h.ServeHTTP(rec, r)
		elapsed := time.Since(start)
		requests.WithLabelValues(route, strconv.Itoa(rec.Code)).Inc()
		duration.WithLabelValues(route).Observe(elapsed.Seconds())
		// The path, never the query: a query string may carry a secret.
		cfg.Log.Info("http request", "method", r.Method, "path", r.URL.Path, "route", route,
			"status", rec.Code, "bytes", rec.Bytes, "duration_ms", float64(elapsed.Microseconds())/1000, "remote", r.RemoteAddr)
	})
	return &Server{cfg: cfg, handler: logged, registry: reg}
}

// Handler returns the server's full HTTP handler (for tests).
func (s *Server) Handler() http.Handler { return s.handler }

// Listen binds the listening socket, so that callers know the address (and
// port conflicts are reported) before Serve.
func (s *Server) Listen() (net.Addr, error) {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", s.cfg.Listen, err)
	}
	s.ln = ln
	return ln.Addr(), nil
}

// Serve serves until ctx is cancelled, then stops accepting connections and
// waits (up to ShutdownTimeout) for requests in flight.
func (s *Server) Serve(ctx context.Context) error {
	if s.ln == nil {
		if _, err := s.Listen(); err != nil {
			return err
		}
	}
	hs := NewHTTPServer(s.handler, s.cfg.Log)
	return Run(ctx, hs, func() error { return hs.Serve(s.ln) }, s.cfg.ShutdownTimeout, s.cfg.Log)
}

// NewHTTPServer is an http.Server with the timeouts and limits every nemid
// listener uses, its own errors going to log as warnings.
func NewHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// Run calls serve (hs.Serve or hs.ServeTLS on a listener) until ctx is
// cancelled, then stops accepting connections and waits up to timeout for
// requests in flight.
func Run(ctx context.Context, hs *http.Server, serve func() error, timeout time.Duration, log *slog.Logger) error {
	errc := make(chan error, 1)
	go func() { errc <- serve() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "addr", hs.Addr, "timeout", timeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// StatusRecorder wraps a ResponseWriter to record the status code and the
// body size, for request logs and metrics.
type StatusRecorder struct {
	http.ResponseWriter
	Code  int
	Bytes int
}

// NewStatusRecorder records what is written to w; the status is 200 until
// WriteHeader says otherwise.
func NewStatusRecorder(w http.ResponseWriter) *StatusRecorder {
	return &StatusRecorder{ResponseWriter: w, Code: http.StatusOK}
}

func (r *StatusRecorder) WriteHeader(code int) {
	r.Code = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *StatusRecorder) Write(b []byte) (int, error) {
	n, err := r.ResponseWriter.Write(b)
	r.Bytes += n
	return n, err
}
