package revocation

// The LDAP directory of CRLs: an anonymous, read-only LDAPv3 server from
// which relying parties fetch partitioned CRLs as NemID's OOAPI did (a
// base-scope search at the certificate's CRL partition DN for
// certificateRevocationList;binary) and the CA certificates
// (cACertificate;binary at the CA's DN). This file has the server and its
// connections; ldapdir.go the content, ldapops.go and ldapsearch.go the
// operations, ldapfilter.go the filters, ldapber.go the encoding.
//
// The protocol layer is ours rather than gldap's (STACK.md's pick), because
// gldap v0.1.14 cannot give what a directory open to anyone needs: it
// listens itself, so connections cannot be counted or refused and the
// address of port 0 is not known; its read deadline is set once per
// connection, so it is a lifetime, not an idle timeout; its only size
// limit is asn1-ber's process-wide 2 GiB; it starts a goroutine per
// request, without panic recovery, however many a client pipelines; and
// Stop blocks until idle clients leave or reach that deadline. A read-only
// directory needs only a handful of operations, and owning the loop gives
// all of that.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// LDAPConfig configures the LDAP directory. Zero limits take the defaults.
type LDAPConfig struct {
	// Listen is the host:port to listen on (default 127.0.0.1:3389).
	Listen string
	// Authorities are the CAs whose certificates and CRLs are published
	// (root and issuing); their subjects give the directory's DNs.
	Authorities []Authority
	// CRLs gives the signed CRLs, read at request time so that a new CRL is
	// served at once.
	CRLs CRLSource
	Log  *slog.Logger

	// MaxRequestSize bounds one LDAP message from a client (default 64 KiB;
	// a search request is some hundred bytes). A longer one ends the
	// connection before it is read.
	MaxRequestSize int
	// MaxConnections bounds the open connections (default 256), and
	// MaxConnectionsPerIP those from one address (default 32).
	MaxConnections      int
	MaxConnectionsPerIP int
	// IdleTimeout closes a connection on which no request starts
	// (default 2 minutes, OOAPI's LDAP timeout).
	IdleTimeout time.Duration
	// ReadTimeout bounds reading the rest of a request once its first byte
	// has arrived (default 10 s), against clients that trickle bytes.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing one response (default 30 s; a full CRL
	// may be megabytes).
	WriteTimeout time.Duration
	// RequestTimeout bounds the store reads of one request (default 10 s).
	RequestTimeout time.Duration
	// MaxResults is the server's own size limit on a search (default 1000).
	MaxResults int
	// ShutdownTimeout is how long Serve waits for requests in progress
	// after its context is cancelled, before cancelling them and closing
	// their connections (default 5 s).
	ShutdownTimeout time.Duration
}

// LDAPServer is the LDAP directory. Create it with NewLDAPServer, then
// call Serve (and Listen first if the address is needed before serving).
type LDAPServer struct {
	cfg LDAPConfig
	dir *ldapDirectory
	log *slog.Logger

	mu      sync.Mutex
	ln      net.Listener
	conns   map[net.Conn]struct{}
	perIP   map[string]int
	serving bool

	closing    atomic.Bool
	refusedLog atomic.Int64 // the Unix second of the last "refused" log line
	wg         sync.WaitGroup
}

// NewLDAPServer checks cfg and builds the directory from the authorities.
func NewLDAPServer(cfg LDAPConfig) (*LDAPServer, error) {
	if cfg.CRLs == nil {
		return nil, errors.New("ldap: no CRL source")
	}
	if len(cfg.Authorities) == 0 {
		return nil, errors.New("ldap: no authorities")
	}
	dir, err := newLDAPDirectory(cfg.Authorities, cfg.CRLs)
	if err != nil {
		return nil, err
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:3389"
	}
	def(&cfg.MaxRequestSize, 64<<10)
	def(&cfg.MaxConnections, 256)
	def(&cfg.MaxConnectionsPerIP, 32)
	def(&cfg.MaxResults, 1000)
	defDur(&cfg.IdleTimeout, 2*time.Minute)
	defDur(&cfg.ReadTimeout, 10*time.Second)
	defDur(&cfg.WriteTimeout, 30*time.Second)
	defDur(&cfg.RequestTimeout, 10*time.Second)
	defDur(&cfg.ShutdownTimeout, 5*time.Second)
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	return &LDAPServer{
		cfg: cfg, dir: dir, log: log.With("component", "ldap"),
		conns: map[net.Conn]struct{}{}, perIP: map[string]int{},
	}, nil
}

// Listen opens the listening socket, so that Addr is known (with port 0)
// before Serve. Serve calls it if it was not called.
func (s *LDAPServer) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("ldap: %w", err)
	}
	s.ln = ln
	return nil
}

// Addr is the listening address, or nil before Listen.
func (s *LDAPServer) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Serve accepts connections until ctx is cancelled, then stops cleanly: it
// stops accepting, lets the requests in progress finish (for at most
// ShutdownTimeout), tells idle clients with a Notice of Disconnection, and
// returns when every connection is closed. It returns nil after such a
// stop, or the error that made accepting fail.
func (s *LDAPServer) Serve(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.serving {
		s.mu.Unlock()
		return errors.New("ldap: Serve called twice")
	}
	s.serving = true
	ln := s.ln
	s.mu.Unlock()
	s.log.Info("LDAP directory listening", "addr", ln.Addr().String())

	// Requests keep ctx's values but not its cancellation, so that those in
	// progress at a stop can finish; hardStop cancels them when
	// ShutdownTimeout has passed.
	reqCtx, hardStop := context.WithCancel(context.WithoutCancel(ctx))
	defer hardStop()
	stop := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-stop:
		}
		s.closing.Store(true)
		ln.Close()
		s.wakeAll()
	}()

	var err error
	var backoff time.Duration
	for {
		c, aerr := ln.Accept()
		if aerr != nil {
			if s.closing.Load() {
				break
			}
			var ne net.Error
			if errors.As(aerr, &ne) && ne.Timeout() || errors.Is(aerr, syscall.EMFILE) || errors.Is(aerr, syscall.ENFILE) {
				// Out of descriptors and the like: wait, as net/http does.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("LDAP accept failed; retrying", "err", aerr, "delay", backoff)
				time.Sleep(backoff)
				continue
			}
			err = fmt.Errorf("ldap: accept: %w", aerr)
			break
		}
		backoff = 0
		s.admit(reqCtx, c)
	}
	close(stop)
	s.drain(hardStop)
	return err
}

// admit starts serving c unless the connection limits are reached; then
// it answers with a Notice of Disconnection (busy) and closes.
func (s *LDAPServer) admit(ctx context.Context, c net.Conn) {
	ip := ldapRemoteIP(c)
	s.mu.Lock()
	full := len(s.conns) >= s.cfg.MaxConnections || s.perIP[ip] >= s.cfg.MaxConnectionsPerIP
	if !full {
		s.conns[c] = struct{}{}
		s.perIP[ip]++
		s.wg.Add(1)
	}
	s.mu.Unlock()
	if full {
		// Refused at once, on the accepting goroutine and without lingering:
		// a flood of connections must not hold more descriptors or
		// goroutines than the limits allow. A fresh socket's send buffer
		// is empty, so the write does not wait.
		if now := time.Now().Unix(); s.refusedLog.Swap(now) != now { // one log line a second at most
			s.log.Warn("LDAP connection refused: limit reached", "remote", ip)
		}
		c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		ldapWriteNotice(c, ldap.LDAPResultBusy, "too many connections")
		c.Close()
		return
	}
	go s.serveConn(ctx, c, ip)
}

func ldapRemoteIP(c net.Conn) string {
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return c.RemoteAddr().String()
	}
	return host
}

// wakeAll interrupts every connection's pending read, so that its loop
// sees the server closing. A connection busy with a request finishes it
// first: its loop checks s.closing before reading again.
func (s *LDAPServer) wakeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.SetReadDeadline(time.Now())
	}
}

// drain waits for the connections; after ShutdownTimeout it cancels the
// requests still running and closes their connections.
func (s *LDAPServer) drain(hardStop context.CancelFunc) {
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return
	case <-time.After(s.cfg.ShutdownTimeout):
	}
	s.log.Warn("LDAP requests still running at shutdown; cancelling them")
	hardStop()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	<-done
}

// ldapConn is one client connection, served by one goroutine: requests are
// handled one after the other in the order they came (RFC 4511 allows
// this), so a client cannot make the server run more than one of its
// requests at a time.
type ldapConn struct {
	s   *LDAPServer
	c   net.Conn
	r   *bufio.Reader
	w   *bufio.Writer
	log *slog.Logger
	// linger: a notice was sent; close without losing it (ldapLingeringClose).
	linger bool
}

func (s *LDAPServer) serveConn(ctx context.Context, c net.Conn, ip string) {
	lc := &ldapConn{s: s, c: c, r: bufio.NewReader(c), w: bufio.NewWriter(c), log: s.log.With("remote", c.RemoteAddr().String())}
	defer func() {
		if lc.linger {
			ldapLingeringClose(c)
		} else {
			c.Close()
		}
		s.mu.Lock()
		delete(s.conns, c)
		if s.perIP[ip]--; s.perIP[ip] <= 0 {
			delete(s.perIP, ip)
		}
		s.mu.Unlock()
		s.wg.Done()
	}()
	defer func() {
		// A bug in handling one request must not take the directory down.
		if r := recover(); r != nil {
			lc.log.Error("LDAP connection handler panicked", "panic", r)
		}
	}()
	lc.log.Debug("LDAP connection opened")
	for {
		msg, err := lc.read()
		if err != nil {
			lc.readFailed(err)
			return
		}
		if !lc.serveMessage(ctx, msg) {
			return
		}
	}
}

// read reads the next message under the idle timeout, then the read
// timeout once it has started. The closing check after each new deadline
// pairs with wakeAll: whichever sets its deadline last, the read cannot
// block through a shutdown.
func (lc *ldapConn) read() ([]byte, error) {
	cfg := &lc.s.cfg
	if err := lc.deadline(cfg.IdleTimeout); err != nil {
		return nil, err
	}
	return readLDAPMessage(lc.r, cfg.MaxRequestSize, func() error { return lc.deadline(cfg.ReadTimeout) })
}

var errLDAPClosing = errors.New("ldap: server closing")

func (lc *ldapConn) deadline(d time.Duration) error {
	if err := lc.c.SetReadDeadline(time.Now().Add(d)); err != nil {
		return err
	}
	if lc.s.closing.Load() {
		return errLDAPClosing
	}
	return nil
}

// readFailed ends the connection after a failed read, telling the client
// why when it can still listen.
func (lc *ldapConn) readFailed(err error) {
	switch {
	case lc.s.closing.Load():
		lc.notice(ldap.LDAPResultUnavailable, "server shutting down")
	case errors.Is(err, errBERTooLarge):
		lc.log.Info("LDAP request too large; closing", "limit", lc.s.cfg.MaxRequestSize)
		lc.notice(ldap.LDAPResultProtocolError, "request too large")
	case errors.Is(err, errBERMalformed):
		lc.log.Debug("LDAP malformed message; closing")
		lc.notice(ldap.LDAPResultProtocolError, "malformed message")
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		lc.log.Debug("LDAP connection closed by client")
	case ldapIsTimeout(err):
		lc.log.Debug("LDAP connection timed out")
	default:
		lc.log.Debug("LDAP read failed", "err", err)
	}
}

func ldapIsTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// notice sends an unsolicited Notice of Disconnection (RFC 4511 §4.4.1).
func (lc *ldapConn) notice(code int, msg string) {
	lc.linger = true
	lc.c.SetWriteDeadline(time.Now().Add(time.Second))
	if ldapWriteNotice(lc.w, code, msg) == nil {
		lc.w.Flush()
	}
}

// write writes one response message; the bufio.Writer sends it when full
// or at flush. The write deadline is set once per request, by serveMessage.
func (lc *ldapConn) write(msgID int64, op *berOut) error {
	return berCons(berTagSequence, berIntOut(berTagInteger, msgID), op).write(lc.w)
}

// ldapLingeringClose closes a connection on which the client may still be
// sending (after a notice or a protocolError): closing with unread data
// makes the kernel send a reset, which can destroy the notice before the
// client reads it. So it half-closes, discards what arrives for a moment,
// then closes.
func ldapLingeringClose(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.CloseWrite()
		tc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		io.CopyN(io.Discard, tc, 256<<10)
	}
	c.Close()
}
