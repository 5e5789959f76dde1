package cpr

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Where NemID ran the services ([CS]; spec sections 9.1, 9.2 and 9.4).
const (
	PIDProductionURL = "https://pidws.certifikat.dk"
	PIDPreprodURL    = "https://pidws.pp.certifikat.dk"
	RIDProductionURL = "https://ws-erhverv.certifikat.dk"
	RIDPreprodURL    = "https://ws-erhverv.pp.certifikat.dk"

	PIDXMLPath  = "/pid_serviceprovider_server/pidxml/"
	PIDSOAPPath = "/pid_serviceprovider_server/pidws/"
	RIDPath     = "/rid_serviceprovider_oio_server/v1.0.0/"
)

// DefaultTimeout bounds one call when Config.Timeout is zero.
const DefaultTimeout = time.Minute

// Config says where a client calls and who it is.
type Config struct {
	// BaseURL is the service's scheme and host, e.g. PIDPreprodURL or the
	// TLS address of a nemid server; the client adds the interface's path.
	// It must be https: the service identifies callers by their TLS client
	// certificate.
	BaseURL string
	// SPID is the service provider's id (serviceId; the RID service's
	// ServiceProviderIdentifier): decimal digits.
	SPID string
	// TLS holds the service provider's VOCES certificate and key
	// (Certificates or GetClientCertificate) and the roots that the
	// service's server certificate must chain to (RootCAs; nil: the
	// system's). NewTLSConfig makes one. Ignored when HTTPClient is set.
	TLS *tls.Config
	// HTTPClient, if set, is used as it is; its transport must present the
	// client certificate.
	HTTPClient *http.Client
	// Timeout bounds one call; 0 means DefaultTimeout.
	Timeout time.Duration
}

// NewTLSConfig returns a TLS configuration that presents cert (the service
// provider's VOCES certificate with its key, and any intermediates) and
// trusts the server only if its certificate chains to roots.
func NewTLSConfig(cert tls.Certificate, roots *x509.CertPool) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: roots, MinVersion: tls.VersionTLS12}
}

// client is what both clients share: a checked configuration and the HTTP client.
type client struct {
	base *url.URL
	spid string
	http *http.Client
}

func newClient(cfg Config) (*client, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, errors.New("cpr: BaseURL must be https://host[:port] with no path (the client adds the service's path)")
	}
	if cfg.SPID == "" || strings.Trim(cfg.SPID, "0123456789") != "" {
		return nil, errors.New("cpr: SPID must be the service provider's id in decimal digits")
	}
	hc := cfg.HTTPClient
	if hc == nil {
		if cfg.TLS == nil || (len(cfg.TLS.Certificates) == 0 && cfg.TLS.GetClientCertificate == nil) {
			return nil, errors.New("cpr: TLS must hold the service provider's VOCES certificate and key: the service identifies callers by it")
		}
		tc := cfg.TLS.Clone()
		if tc.MinVersion < tls.VersionTLS12 {
			tc.MinVersion = tls.VersionTLS12
		}
		timeout := cfg.Timeout
		if timeout == 0 {
			timeout = DefaultTimeout
		}
		hc = &http.Client{
			Timeout:   timeout,
			Transport: &http.Transport{TLSClientConfig: tc, ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 4, IdleConnTimeout: 90 * time.Second},
			// A redirect would replay a request about a person elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	u.Path = ""
	return &client{base: u, spid: cfg.SPID, http: hc}, nil
}

// post sends body to path and returns the answer's body. Answers with
// HTTP status 200, and 500 when they are SOAP (a Fault), are returned;
// others are errors.
func (c *client) post(ctx context.Context, path, contentType string, body []byte, soapAction bool) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.String()+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", contentType)
	if soapAction {
		// soapAction "" (the WSDLs); SOAP 1.1 wants the header present.
		req.Header.Set("SOAPAction", `""`)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cpr: calling %s: %w", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxMessageSize+1))
	if err != nil {
		return nil, fmt.Errorf("cpr: reading the answer of %s: %w", path, err)
	}
	if len(b) > MaxMessageSize {
		return nil, fmt.Errorf("%w: answer longer than %d bytes", ErrBadResponse, MaxMessageSize)
	}
	if resp.StatusCode != http.StatusOK && !(soapAction && resp.StatusCode == http.StatusInternalServerError) {
		return nil, fmt.Errorf("%w: HTTP status %d from %s", ErrBadResponse, resp.StatusCode, path)
	}
	return b, nil
}

// badResponse wraps a parse error of an answer.
func badResponse(err error) error {
	var se *ServiceError
	if errors.As(err, &se) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrBadResponse, err)
}

// errBadCPR is returned for a CPR argument that is not ten digits; it
// never repeats the value.
var errBadCPR = errors.New("cpr: the CPR number must be ten digits")

// PIDInterface chooses how a PIDClient talks to the PID-CPR service.
type PIDInterface int

const (
	// PIDXML is the plain HTTP XML interface (spec section 9.2), the default.
	PIDXML PIDInterface = iota
	// PIDSOAP is the SOAP interface (spec section 9.1), which DanID's OOAPI used.
	PIDSOAP
)

// PIDClient calls the PID-CPR service: does a PID belong to a CPR number,
// and (for service providers with the right) which CPR number is a PID's.
// It is safe for concurrent use.
type PIDClient struct {
	// Interface chooses pidxml (the zero value) or SOAP.
	Interface PIDInterface
	c         *client
}

// NewPIDClient checks cfg and returns a client of the PID-CPR service.
func NewPIDClient(cfg Config) (*PIDClient, error) {
	c, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	return &PIDClient{c: c}, nil
}

// Match reports whether pid (with or without "PID:") belongs to the person
// with CPR number cpr. A mismatch is false with a nil error; an unknown PID
// is an error matching ErrUnknownIdentity, a refusal a *ServiceError.
func (p *PIDClient) Match(ctx context.Context, pid, cpr string) (bool, error) {
	if !ValidCPR(cpr) {
		return false, errBadCPR
	}
	r, err := p.call(ctx, pid, cpr)
	if err != nil {
		return false, err
	}
	switch r.Status {
	case StatusOK:
		return true, nil
	case StatusNoMatch:
		return false, nil
	}
	return false, serviceError(r.Status, r.TextUK, r.TextDK)
}

// LookupCPR returns the CPR number of the person with this PID (with or
// without "PID:"). Only service providers with the look-up right get one;
// others get an error matching ErrNotAuthorizedForCPRLookup.
func (p *PIDClient) LookupCPR(ctx context.Context, pid string) (string, error) {
	r, err := p.call(ctx, pid, "")
	if err != nil {
		return "", err
	}
	if r.Status != StatusOK {
		return "", serviceError(r.Status, r.TextUK, r.TextDK)
	}
	if !ValidCPR(r.CPR) {
		return "", fmt.Errorf("%w: status OK without a CPR number", ErrBadResponse)
	}
	return r.CPR, nil
}

func (p *PIDClient) call(ctx context.Context, pid, cpr string) (PIDReply, error) {
	pid = NormalizePID(pid)
	if pid == "" {
		return PIDReply{}, errors.New("cpr: no PID given")
	}
	id, err := newRequestID()
	if err != nil {
		return PIDReply{}, err
	}
	req := PIDRequest{ID: id, ServiceID: p.c.spid, PID: pid, CPR: cpr}
	var reply PIDReply
	switch p.Interface {
	case PIDXML:
		doc, err := MarshalPIDXMLRequest(req)
		if err != nil {
			return PIDReply{}, err
		}
		b, err := p.c.post(ctx, PIDXMLPath, "application/x-www-form-urlencoded", PIDXMLForm(doc), false)
		if err != nil {
			return PIDReply{}, err
		}
		if reply, err = ParsePIDXMLReply(b); err != nil {
			return PIDReply{}, badResponse(err)
		}
	case PIDSOAP:
		env, err := MarshalPIDSOAPRequest([]PIDRequest{req})
		if err != nil {
			return PIDReply{}, err
		}
		b, err := p.c.post(ctx, PIDSOAPPath, "text/xml; charset=utf-8", env, true)
		if err != nil {
			return PIDReply{}, err
		}
		replies, err := ParsePIDSOAPReplies(b)
		if err != nil {
			return PIDReply{}, badResponse(err)
		}
		if len(replies) != 1 {
			return PIDReply{}, fmt.Errorf("%w: %d PIDReplies to one PIDRequest", ErrBadResponse, len(replies))
		}
		reply = replies[0]
	default:
		return PIDReply{}, fmt.Errorf("cpr: unknown PIDInterface %d", p.Interface)
	}
	// The answer must be to this request: a proxy or a confused server
	// must not make one person's answer another's.
	if reply.ID != id {
		return PIDReply{}, fmt.Errorf("%w: the answer's id is not the request's", ErrBadResponse)
	}
	return reply, nil
}

// TestConnection calls the SOAP interface's testConnection with v and
// returns the service's result. It checks that the service accepts this
// caller's certificate.
func (p *PIDClient) TestConnection(ctx context.Context, v int32) (int32, error) {
	b, err := p.c.post(ctx, PIDSOAPPath, "text/xml; charset=utf-8", MarshalPIDSOAPTestConnection(v), true)
	if err != nil {
		return 0, err
	}
	r, err := ParsePIDSOAPTestConnectionResponse(b)
	if err != nil {
		return 0, badResponse(err)
	}
	return r, nil
}

// RIDClient calls the RID-CPR OIO service v1.0.0: does an employee's RID
// belong to a CPR number, and which CPR number is it. It is safe for
// concurrent use.
type RIDClient struct {
	c    *client
	spid uint64
}

// NewRIDClient checks cfg and returns a client of the RID-CPR service.
func NewRIDClient(cfg Config) (*RIDClient, error) {
	c, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	spid, err := strconv.ParseUint(cfg.SPID, 10, 64)
	if err != nil {
		return nil, errors.New("cpr: the RID service's SPID must fit in 64 bits")
	}
	return &RIDClient{c: c, spid: spid}, nil
}

// Match reports whether the employee with this subject serialNumber
// ("CVR:12345678-RID:12345678") is the person with CPR number cpr. The RID
// service answers an unknown employee as a mismatch: false, nil error.
func (r *RIDClient) Match(ctx context.Context, serialNumber, cpr string) (bool, error) {
	if !ValidCPR(cpr) {
		return false, errBadCPR
	}
	reply, err := r.call(ctx, RIDRequest{Operation: RIDMatchRidAndCpr, SerialNumber: serialNumber, CPR: cpr})
	if err != nil {
		return false, err
	}
	return reply.Match, nil
}

// LookupCPR returns the CPR number of the employee with this subject
// serialNumber. An employee the service knows no CPR number for is an
// error matching ErrUnknownIdentity.
func (r *RIDClient) LookupCPR(ctx context.Context, serialNumber string) (string, error) {
	reply, err := r.call(ctx, RIDRequest{Operation: RIDGetCpr, SerialNumber: serialNumber})
	if err != nil {
		return "", err
	}
	if reply.CPR == "" {
		return "", ErrUnknownIdentity
	}
	if !ValidCPR(reply.CPR) {
		return "", fmt.Errorf("%w: the CPR number is not ten digits", ErrBadResponse)
	}
	return reply.CPR, nil
}

// TestConnection calls the service's TestConnection. A nil error means the
// service accepts this caller; a refusal is a *ServiceError matching
// ErrNotAuthorized.
func (r *RIDClient) TestConnection(ctx context.Context) error {
	reply, err := r.send(ctx, RIDRequest{Operation: RIDTestConnection, TestText: "Test"})
	if err != nil {
		return err
	}
	switch reply.TestReply {
	case RIDTestReplyOk:
		return nil
	case RIDTestReplyAuthorizationError:
		return serviceError(StatusNotAuthorizedForServiceLookup, reply.TestReply, "")
	}
	return fmt.Errorf("%w: unknown TestReplyText", ErrBadResponse)
}

// call sends a GetCpr or MatchRidAndCpr request and turns any status but
// Ok into an error.
func (r *RIDClient) call(ctx context.Context, req RIDRequest) (RIDReply, error) {
	if strings.TrimSpace(req.SerialNumber) == "" {
		return RIDReply{}, errors.New("cpr: no subject serialNumber given")
	}
	reply, err := r.send(ctx, req)
	if err != nil {
		return RIDReply{}, err
	}
	if reply.StatusText != RIDOk || reply.Status != StatusOK {
		if reply.StatusText == RIDOk {
			return RIDReply{}, fmt.Errorf("%w: status text Ok with status code %d", ErrBadResponse, int(reply.Status))
		}
		return RIDReply{}, serviceError(reply.Status, string(reply.StatusText), "")
	}
	return reply, nil
}

func (r *RIDClient) send(ctx context.Context, req RIDRequest) (RIDReply, error) {
	req.ServiceProviderID = r.spid
	env, err := MarshalRIDRequest(req)
	if err != nil {
		return RIDReply{}, err
	}
	b, err := r.c.post(ctx, RIDPath, "text/xml; charset=utf-8", env, true)
	if err != nil {
		return RIDReply{}, err
	}
	reply, err := ParseRIDReply(req.Operation, b)
	if err != nil {
		return RIDReply{}, badResponse(err)
	}
	return reply, nil
}
