// Package idptest sets up, for tests, one installation that serves the JS
// client's launcher over HTTP (httptest): store (SQLite or PostgreSQL), CA,
// registration, internal/idp, a registered service provider with its VOCES
// and ooapi.SPSigner, users with their key cards, and ooapi validation
// trusting the installation's CA. The clock is frozen near the real time;
// the service providers' signers stamp TIMESTAMP with it.
package idptest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/auth"
	"github.com/nemid-dk/nemid/internal/ca"
	"github.com/nemid-dk/nemid/internal/ca/keys"
	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/idp"
	"github.com/nemid-dk/nemid/internal/idpclient"
	"github.com/nemid-dk/nemid/internal/keyvault"
	"github.com/nemid-dk/nemid/internal/registration"
	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/internal/store/storetest"
	"github.com/nemid-dk/nemid/oces"
	"github.com/nemid-dk/nemid/ooapi"
	"github.com/nemid-dk/nemid/ooapi/revocation"
)

// The first service provider's name (RequestIssuer) and page origin.
const (
	SPName   = "Testbutikken"
	SPOrigin = "https://shop.example"
)

// KDF and Argon2 are the cheapest parameters the vault and auth allow, so
// that tests spend their time on what they test.
var (
	KDF    = keyvault.KDFParams{Memory: 19 * 1024, Time: 2, Threads: 1}
	Argon2 = auth.Argon2Params{Memory: 19 * 1024, Time: 2, Threads: 1}
)

// Env is one installation serving the launcher.
type Env struct {
	Dir      string
	Database string // "" for SQLite in Dir
	St       store.Store
	MK       keys.MasterKey
	CA       *ca.Authority
	Clock    *clock.Frozen
	Reg      *registration.Service
	Svc      *idp.Service
	Srv      *httptest.Server
	// URL is Srv.URL; Client calls the API there.
	URL    string
	Client *idpclient.Client
	// SP is the first service provider (SPName, SPOrigin); Signer signs
	// its parameters.
	SP     store.ServiceProvider
	Signer *ooapi.SPSigner
	Origin string
}

// NewEnv sets up an installation on engine "sqlite" or "postgres" (a fresh
// schema on the test server) with the first service provider registered.
func NewEnv(t testing.TB, engine string) *Env {
	t.Helper()
	e := &Env{Dir: t.TempDir(), Clock: clock.NewFrozen(time.Now().UTC().Truncate(time.Second)), Origin: SPOrigin}
	switch engine {
	case "sqlite":
	case "postgres":
		e.Database = storetest.NewPostgresSchema(t)
	default:
		t.Fatalf("idptest: engine %q: want sqlite or postgres", engine)
	}
	if err := keys.CreateMasterKeyFile(filepath.Join(e.Dir, "master.key")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(e.Dir, "keys"), 0o700); err != nil {
		t.Fatal(err)
	}
	// The CA was made a day ago, so that what it issues is valid now.
	e.open(t, clock.NewFrozen(e.Clock.Now().Add(-24*time.Hour)), true)
	e.SP, e.Signer = e.AddSP(t, SPName, SPOrigin, "12345678")
	e.open(t, e.Clock, false)
	return e
}

// AddSP issues a VOCES to a new service provider of the given friendly
// name, page origin and CVR number, registers it, and returns it with the
// signer of its parameters (on the env's clock).
func (e *Env) AddSP(t testing.TB, name, origin, cvr string) (store.ServiceProvider, *ooapi.SPSigner) {
	t.Helper()
	ctx := context.Background()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	issued, err := e.CA.Issue(ctx, ca.IssueRequest{Subject: oces.Request{Type: oces.VOCES, Name: name, CVR: cvr,
		Organization: name + " A/S"}, PublicKey: key.Public()})
	if err != nil {
		t.Fatal(err)
	}
	sp, err := e.St.RegisterServiceProvider(ctx, store.ServiceProvider{Name: name, Origins: []string{origin},
		CertDER: issued.Certificate.Raw, Subject: issued.Record.Subject})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ooapi.NewSPSigner(issued.Certificate, key)
	if err != nil {
		t.Fatal(err)
	}
	signer.Clock = e.Clock.Now
	return sp, signer
}

// open opens the installation's store, CA and services on clk; init first
// initialises the CA. Each call makes a new Service and server on the same
// data: what a restart does.
func (e *Env) open(t testing.TB, clk *clock.Frozen, init bool) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, e.Database, e.Dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	mk, err := keys.LoadMasterKeyFile(filepath.Join(e.Dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mk.Close() })
	kb := keys.NewFileBackend(filepath.Join(e.Dir, "keys"), mk)
	if init {
		if err := ca.Initialise(ctx, st, kb, clk, ca.PreprodDefaults()); err != nil {
			t.Fatal(err)
		}
	}
	a, err := ca.Open(ctx, st, kb, clk)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := registration.New(ctx, registration.Config{Store: st, MasterKey: mk, CA: a, KDF: KDF, Argon2: Argon2, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := idp.New(ctx, idp.Config{Store: st, Registration: reg, Root: a.Root(), Issuing: a.Issuing(), MasterKey: mk, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	svc.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e.St, e.MK, e.CA, e.Reg, e.Svc, e.Srv, e.URL = st, mk, a, reg, svc, srv, srv.URL
	e.Client = &idpclient.Client{BaseURL: srv.URL, HTTP: srv.Client()}
}

// Restart is a new process on the same data: a new store handle, CA,
// services and server (at a new URL). The old server stops.
func (e *Env) Restart(t testing.TB) {
	t.Helper()
	e.Srv.Close()
	e.open(t, e.Clock, false)
}

var cprCounter atomic.Int64

// NewCPR returns a valid CPR number not used before in this test binary.
func NewCPR() string {
	for {
		n := cprCounter.Add(1)
		cpr := fmt.Sprintf("0202%02d%04d", 50+n/10000%40, n%10000)
		if oces.ValidateCPR(cpr) == nil {
			return cpr
		}
	}
}

// User is a registered user with their key card and current password.
type User struct {
	*registration.Registered
	Password string
}

// NemID is the user's NemID number (their user-id).
func (u *User) NemID() string { return u.User.NemID }

// Code is the code of a key on the user's card.
func (u *User) Code(t testing.TB, key string) string {
	t.Helper()
	c, ok := u.Card.Code(key)
	if !ok {
		t.Fatalf("card %s has no key %s", u.Card.Number, key)
	}
	return c
}

// Register registers a new user, awaiting activation (temporary password).
func (e *Env) Register(t testing.TB) *User {
	t.Helper()
	u, err := e.register(context.Background())
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	return u
}

func (e *Env) register(ctx context.Context) (*User, error) {
	r, err := e.Reg.Register(ctx, auth.OperatorActor("test"), registration.Request{
		Name: "Test Testesen", CPR: NewCPR(), Address: []string{"Testvej 1", "1000 København K"},
	})
	if err != nil {
		return nil, err
	}
	return &User{Registered: r, Password: r.TemporaryPassword}, nil
}

// ActivePassword is the password Active gives every user.
const ActivePassword = "Sommer2026"

// Active registers a user and activates them with ActivePassword through
// the client.
func (e *Env) Active(t testing.TB) *User {
	t.Helper()
	u, err := e.active(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// ActiveUsers registers and activates n users as Active does, as many at
// once as there are CPUs.
func (e *Env) ActiveUsers(t testing.TB, n int) []*User {
	t.Helper()
	users := make([]*User, n)
	errs := make([]error, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(n, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				users[i], errs[i] = e.active(context.Background())
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return users
}

// active registers a user and activates them through the client: the
// temporary password, the code, ActivePassword.
func (e *Env) active(ctx context.Context) (*User, error) {
	u, err := e.register(ctx)
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	ps, _, err := e.Signer.Logon(ooapi.LogonOptions{ClientOptions: ooapi.ClientOptions{Origin: e.Origin}})
	if err != nil {
		return nil, err
	}
	f, a, err := e.Client.Start(ctx, ps.JSON(), e.Origin, idpclient.ModeLimited)
	if err != nil || f == nil {
		return nil, fmt.Errorf("activation, start: %v, %+v", err, a)
	}
	if a, err = f.Password(ctx, u.NemID(), u.Password, false); err != nil || a.Step != "otp" {
		return nil, fmt.Errorf("activation, the temporary password: %v, %+v", err, a)
	}
	code, ok := u.Card.Code(a.Key)
	if !ok {
		return nil, fmt.Errorf("activation: card %s has no key %s", u.Card.Number, a.Key)
	}
	if a, err = f.OTP(ctx, code); err != nil || a.Step != "activate" {
		return nil, fmt.Errorf("activation, after the temporary password and the code: %v, %+v, want activate", err, a)
	}
	if a, err = f.Activate(ctx, ActivePassword, ""); err != nil || !a.Ended() || a.Code() != "" {
		return nil, fmt.Errorf("activation: %v, %+v", err, a)
	}
	u.Password = ActivePassword
	return u, nil
}

// Session is one run of the client for a service provider: the parameters
// it signed, the challenge it keeps, and the flow the server started.
type Session struct {
	e         *Env
	Secret    string
	Start     *idpclient.Answer
	Params    *ooapi.ParameterSet
	Challenge ooapi.Challenge
}

// StartLogon starts a logon at the first service provider (its origin
// unless opts names one), and fails the test unless the server asks for
// the credentials.
func (e *Env) StartLogon(t testing.TB, opts ooapi.LogonOptions) *Session {
	t.Helper()
	if opts.Origin == "" {
		opts.Origin = e.Origin
	}
	ps, ch, err := e.Signer.Logon(opts)
	if err != nil {
		t.Fatal(err)
	}
	return e.StartSession(t, ps, ch, opts.Origin)
}

// StartSign starts a signature at the first service provider, as StartLogon.
func (e *Env) StartSign(t testing.TB, opts ooapi.SignOptions) *Session {
	t.Helper()
	if opts.Origin == "" {
		opts.Origin = e.Origin
	}
	ps, ch, err := e.Signer.Sign(opts)
	if err != nil {
		t.Fatal(err)
	}
	return e.StartSession(t, ps, ch, opts.Origin)
}

// StartSession posts a parameter set from a page of origin and fails the
// test unless the server asks for the credentials.
func (e *Env) StartSession(t testing.TB, ps *ooapi.ParameterSet, ch ooapi.Challenge, origin string) *Session {
	t.Helper()
	f, a := e.Start(t, string(ps.JSON()), origin)
	if f == nil || a.Step != "credentials" {
		t.Fatalf("start: %+v (code %s)", a, a.Code())
	}
	return &Session{e: e, Secret: f.Secret(), Start: a, Params: ps, Challenge: ch}
}

// Start posts parameters (any text) from a page of origin in limited mode
// and returns the flow (nil if the server refused them) and the answer. It
// fails the test on an HTTP error.
func (e *Env) Start(t testing.TB, parameters, origin string) (*idpclient.Flow, *idpclient.Answer) {
	t.Helper()
	f, a, err := e.Client.Start(context.Background(), []byte(parameters), origin, idpclient.ModeLimited)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	return f, a
}

// Flow is the session's flow on the env's current server (after a Restart
// too).
func (s *Session) Flow() *idpclient.Flow { return s.e.Client.Resume(s.Secret) }

// Password sends the credentials; like every step below, it fails the
// test on an HTTP or transport error.
func (s *Session) Password(t testing.TB, userID, password string) *idpclient.Answer {
	t.Helper()
	return must(t, "password")(s.Flow().Password(context.Background(), userID, password, false))
}

// PasswordRemember sends the credentials asking to be remembered.
func (s *Session) PasswordRemember(t testing.TB, userID, password string) *idpclient.Answer {
	t.Helper()
	return must(t, "password")(s.Flow().Password(context.Background(), userID, password, true))
}

// OTP sends a key-card code.
func (s *Session) OTP(t testing.TB, code string) *idpclient.Answer {
	t.Helper()
	return must(t, "otp")(s.Flow().OTP(context.Background(), code))
}

// Activate sets the first personal password (and an alias unless "").
func (s *Session) Activate(t testing.TB, newPassword, alias string) *idpclient.Answer {
	t.Helper()
	return must(t, "activate")(s.Flow().Activate(context.Background(), newPassword, alias))
}

// Cancel ends the flow at the user's wish.
func (s *Session) Cancel(t testing.TB) *idpclient.Answer {
	t.Helper()
	return must(t, "cancel")(s.Flow().Cancel(context.Background()))
}

// Timeout ends the flow as idle.
func (s *Session) Timeout(t testing.TB) *idpclient.Answer {
	t.Helper()
	return must(t, "timeout")(s.Flow().Timeout(context.Background()))
}

// Logon answers the password and the right code for u, and returns the
// final answer.
func (s *Session) Logon(t testing.TB, u *User) *idpclient.Answer {
	t.Helper()
	a := s.Password(t, u.NemID(), u.Password)
	if a.Step != "otp" {
		t.Fatalf("after the password: %+v", a)
	}
	return s.OTP(t, u.Code(t, a.Key))
}

func must(t testing.TB, step string) func(*idpclient.Answer, error) *idpclient.Answer {
	return func(a *idpclient.Answer, err error) *idpclient.Answer {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		return a
	}
}

// Validator validates responses as the first service provider would,
// trusting the env's CA, with the session's challenge kept as "session".
func (e *Env) Validator(t testing.TB, s *Session) *ooapi.Validator {
	t.Helper()
	challenges := &ooapi.MemoryChallenges{Now: e.Clock.Now}
	if err := challenges.Put(context.Background(), "session", s.Challenge); err != nil {
		t.Fatal(err)
	}
	return e.ValidatorFor(t, SPName, challenges)
}

// ValidatorFor is a service provider's validator: it trusts the env's CA,
// accepts the friendly name requestIssuer and takes challenges from
// challenges. It checks no revocation.
func (e *Env) ValidatorFor(t testing.TB, requestIssuer string, challenges ooapi.ChallengeStore) *ooapi.Validator {
	t.Helper()
	v, err := ooapi.NewValidator(ooapi.Config{Trust: e.Trust(t), Revocation: revocation.None(), Challenges: challenges,
		RequestIssuers: []string{requestIssuer}, Now: e.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Trust is the env's CA as a service provider's trust environment.
func (e *Env) Trust(t testing.TB) *ooapi.Trust {
	t.Helper()
	cfg := e.CA.Config()
	env := oces.Environment{Name: "test", Prefixes: map[oces.Type]asn1.ObjectIdentifier{}}
	for typ := range cfg.Policies {
		oid, err := cfg.Policy(typ)
		if err != nil {
			t.Fatal(err)
		}
		env.Prefixes[typ] = oid
	}
	var pemCerts []byte
	for _, c := range [][]byte{e.CA.Root().Raw, e.CA.Issuing().Raw} {
		pemCerts = append(pemCerts, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c})...)
	}
	tr, err := ooapi.ParseTrust("test", env, pemCerts)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}
