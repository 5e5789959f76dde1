package auth_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/auth"
	"github.com/nemid-dk/nemid/internal/auth/authtest"
	"github.com/nemid-dk/nemid/internal/ca/keys"
	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/internal/store/storetest"
	"github.com/nemid-dk/nemid/ooapi"
)

// t0 is the frozen start time of every test.
var t0 = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

// cheapArgon2 keeps the logic tests fast; the hashing tests and the
// benchmark use the real parameters.
var cheapArgon2 = auth.Argon2Params{Memory: 64, Time: 1, Threads: 1}

// env is one service on one store, with its letters, audit and clock.
type env struct {
	svc     *auth.Service
	st      store.Store
	mailer  *authtest.RecordingMailer
	auditor *authtest.RecordingAuditor
	clock   *clock.Frozen
	mk      keys.MasterKey
}

// engines runs f once on SQLite and once on PostgreSQL.
func engines(t *testing.T, f func(t *testing.T, open func(t *testing.T) store.Store)) {
	t.Run("sqlite", func(t *testing.T) { f(t, func(t *testing.T) store.Store { return storetest.OpenSQLite(t) }) })
	t.Run("postgres", func(t *testing.T) { f(t, func(t *testing.T) store.Store { return storetest.OpenPostgres(t) }) })
}

// eachEngine runs f with a fresh env on each engine.
func eachEngine(t *testing.T, f func(t *testing.T, e *env)) {
	engines(t, func(t *testing.T, open func(t *testing.T) store.Store) { f(t, newEnv(t, open(t))) })
}

func masterKey(t testing.TB) keys.MasterKey {
	t.Helper()
	path := filepath.Join(t.TempDir(), "master.key")
	if err := keys.CreateMasterKeyFile(path); err != nil {
		t.Fatal(err)
	}
	mk, err := keys.LoadMasterKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mk.Close() })
	return mk
}

func newEnv(t testing.TB, st store.Store) *env {
	t.Helper()
	e := &env{st: st, mailer: &authtest.RecordingMailer{}, auditor: &authtest.RecordingAuditor{},
		clock: clock.NewFrozen(t0), mk: masterKey(t)}
	e.svc = e.service(t, cheapArgon2)
	return e
}

// service returns another service on the env's store, master key and clock.
func (e *env) service(t testing.TB, params auth.Argon2Params) *auth.Service {
	t.Helper()
	svc, err := auth.New(context.Background(), auth.Config{
		Store: e.st, MasterKey: e.mk, Mailer: e.mailer, Audit: e.auditor, Clock: e.clock, Argon2: params,
	})
	if err != nil {
		t.Fatalf("auth.New: %v", err)
	}
	return svc
}

var (
	cprMu   sync.Mutex
	cprNext = 1
)

// newCPR returns a valid CPR number not used before in this test binary,
// without a digit three times in a row (so that a password holding it
// breaks the CPR rule, not the repeat rule).
func newCPR() string {
	cprMu.Lock()
	defer cprMu.Unlock()
	for {
		cprNext++
		cpr := fmt.Sprintf("1503%02d%04d", 70+cprNext/10000%30, cprNext%10000)
		if !hasTriple(cpr) {
			return cpr
		}
	}
}

func hasTriple(s string) bool {
	for i := 2; i < len(s); i++ {
		if s[i] == s[i-1] && s[i] == s[i-2] {
			return true
		}
	}
	return false
}

// register registers a new user and returns them as registered.
func (e *env) register(t testing.TB, alias string) *auth.Registered {
	t.Helper()
	r, err := e.svc.Register(context.Background(), auth.OperatorActor("test"), auth.Registration{
		Name: "Test Testesen", CPR: newCPR(), Alias: alias, Address: []string{"Testvej 1", "1000 København K"},
	})
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	return r
}

// code returns the code of the flow's key from the cards the user was sent.
func (e *env) code(t testing.TB, f *auth.Flow) string {
	t.Helper()
	card, err := e.mailer.CardByNumber(f.CardNumber)
	if err != nil {
		t.Fatalf("card %s: %v", f.CardNumber, err)
	}
	code, ok := card.Code(f.KeyNumber)
	if !ok {
		t.Fatalf("card %s has no key %s", f.CardNumber, f.KeyNumber)
	}
	return code
}

// wrongCode returns a code that is not the flow's.
func (e *env) wrongCode(t testing.TB, f *auth.Flow) string {
	t.Helper()
	right := e.code(t, f)
	if right == "000000" {
		return "000001"
	}
	return "000000"
}

// activate takes a registered user through their first logon, with an
// activation, to an active user with password pw.
func (e *env) activate(t testing.TB, r *auth.Registered, pw string) {
	t.Helper()
	ctx := context.Background()
	f, err := e.svc.StartLogon(ctx, r.User.NemID, r.TemporaryPassword)
	if err != nil {
		t.Fatalf("StartLogon with the temporary password: %v", err)
	}
	f, err = e.svc.AnswerOTP(ctx, f.ID, f.KeyNumber, e.code(t, f))
	if err != nil || f.Step != auth.StepActivate {
		t.Fatalf("AnswerOTP of an activation = %+v, %v; want StepActivate", f, err)
	}
	f, err = e.svc.Activate(ctx, f.ID, pw, "")
	if err != nil || f.Step != auth.StepDone {
		t.Fatalf("Activate = %+v, %v; want StepDone", f, err)
	}
}

// logon logs the user on with two factors and returns the done flow.
func (e *env) logon(t testing.TB, userID, pw string) *auth.Flow {
	t.Helper()
	ctx := context.Background()
	f, err := e.svc.StartLogon(ctx, userID, pw)
	if err != nil {
		t.Fatalf("StartLogon(%s): %v", userID, err)
	}
	f, err = e.svc.AnswerOTP(ctx, f.ID, f.KeyNumber, e.code(t, f))
	if err != nil || f.Step != auth.StepDone {
		t.Fatalf("AnswerOTP = %+v, %v; want StepDone", f, err)
	}
	return f
}

// state returns the user's current state.
func (e *env) state(t testing.TB, nemid string) auth.State {
	t.Helper()
	u, err := e.svc.Resolve(context.Background(), nemid)
	if err != nil {
		t.Fatal(err)
	}
	return u.State
}

// wantCode fails unless err carries the NemID code.
func wantCode(t testing.TB, what string, err error, code ooapi.Code) {
	t.Helper()
	if got, ok := auth.CodeOf(err); !ok || got != code {
		t.Fatalf("%s: err = %v, want %s", what, err, code)
	}
}

// wantErr fails unless errors.Is(err, want).
func wantErr(t testing.TB, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: err = %v, want %v", what, err, want)
	}
}

// parallel runs f(i) for i in [0, n) in n goroutines released together.
func parallel(n int, f func(i int) error) []error {
	errs := make([]error, n)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(n)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			errs[i] = f(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return errs
}

// tally counts errors by their NemID code or UserError ID ("ok" for nil).
func tally(errs []error) map[string]int {
	out := map[string]int{}
	for _, err := range errs {
		var ue *auth.UserError
		switch code, ok := auth.CodeOf(err); {
		case err == nil:
			out["ok"]++
		case ok:
			out[string(code)]++
		case errors.As(err, &ue):
			out[ue.ID]++
		default:
			out["error: "+err.Error()]++
		}
	}
	return out
}

// newService starts a service on the env's store with its master key.
func newService(e *env) (*auth.Service, error) {
	return auth.New(context.Background(), auth.Config{
		Store: e.st, MasterKey: e.mk, Mailer: e.mailer, Audit: e.auditor, Clock: e.clock, Argon2: cheapArgon2,
	})
}
