package auth_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/auth"
	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/internal/store/storetest"
)

// TestAudit: registrations, logon attempts, code answers, lock-outs and
// the operator's actions reach the auditor, with their outcomes, and no
// secret or CPR number does.
func TestAudit(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t))
	r := e.register(t, "")
	e.activate(t, r, "Hemmelig42")
	for range auth.DefaultQuarantineAfter {
		e.svc.StartLogon(bg, r.User.NemID, "Forkert42")
	}
	e.svc.StartLogon(bg, "000000001", "Forkert42")
	if err := e.svc.Block(bg, auth.OperatorActor("support"), r.User.NemID, "fraud"); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, ev := range e.auditor.Events() {
		line := fmt.Sprintf("%s %s %s %s %d %s %s", ev.Action, ev.Outcome, ev.Code, ev.Actor, ev.UserID, ev.NemID, ev.Detail)
		lines = append(lines, line)
		for _, secret := range []string{r.TemporaryPassword, "Hemmelig42", "Forkert42", r.User.CPR, r.Card.Keys[0].Code} {
			if strings.Contains(line, secret) {
				t.Errorf("an audit event holds a secret: %s", line)
			}
		}
		if ev.At.IsZero() {
			t.Errorf("an audit event without a time: %s", line)
		}
	}
	all := strings.Join(lines, "\n")
	user := fmt.Sprintf("%d %s", r.User.ID, r.User.NemID)
	for _, want := range []string{
		"registration success  operator:test " + user,
		"keycard-issued success  operator:test " + user + " card " + r.Card.Number,
		"logon-attempt success  user:" + r.User.NemID + " " + user,
		"otp-use success  user:" + r.User.NemID + " " + user,
		"activation success  user:" + r.User.NemID + " " + user,
		"logon-attempt failure  user:" + r.User.NemID + " " + user + " invalid-credentials",
		"logon-attempt failure LOCK001 user:" + r.User.NemID + " " + user,
		"quarantine success  system " + user + " active -> quarantined: 5 wrong passwords",
		"logon-attempt failure  system 0  unknown user-id",
		"block success  operator:support " + user + " quarantined -> blocked: fraud",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no audit event %q in\n%s", want, all)
		}
	}
}

// TestRehashOnLogon: a password hashed with weaker parameters than the
// service's is re-hashed at the next right logon.
func TestRehashOnLogon(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t))
	r := e.register(t, "")
	e.activate(t, r, "Hemmelig42") // hashed with cheapArgon2
	before, _ := e.st.UserByNemID(bg, r.User.NemID)
	if !strings.Contains(before.PasswordHash, "$m=64,t=1,p=1$") {
		t.Fatalf("hash %q is not the cheap one", before.PasswordHash)
	}
	stronger := auth.Argon2Params{Memory: 128, Time: 2, Threads: 1}
	e.svc = e.service(t, stronger)
	e.logon(t, r.User.NemID, "Hemmelig42")
	after, _ := e.st.UserByNemID(bg, r.User.NemID)
	if !strings.Contains(after.PasswordHash, "$m=128,t=2,p=1$") {
		t.Fatalf("hash after logon %q: not re-hashed with the service's parameters", after.PasswordHash)
	}
	e.logon(t, r.User.NemID, "Hemmelig42")
	// A wrong password never re-hashes.
	e.svc = e.service(t, auth.Argon2Params{Memory: 256, Time: 2, Threads: 1})
	e.svc.StartLogon(bg, r.User.NemID, "Forkert42")
	if again, _ := e.st.UserByNemID(bg, r.User.NemID); again.PasswordHash != after.PasswordHash {
		t.Error("a wrong password re-hashed the stored hash")
	}
}

func TestNewInvalid(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t))
	good := auth.Config{Store: e.st, MasterKey: e.mk, Mailer: e.mailer}
	for name, change := range map[string]func(c *auth.Config){
		"no store":          func(c *auth.Config) { c.Store = nil },
		"no master key":     func(c *auth.Config) { c.MasterKey = nil },
		"no mailer":         func(c *auth.Config) { c.Mailer = nil },
		"negative":          func(c *auth.Config) { c.Limits.QuarantineAfter = -1 },
		"over NIST's cap":   func(c *auth.Config) { c.Limits.RevokeAfter = 101 },
		"NewCardAt":         func(c *auth.Config) { c.Limits.NewCardAt = auth.KeysPerCard },
		"weak Argon2":       func(c *auth.Config) { c.Argon2 = auth.Argon2Params{Memory: 1, Time: 1, Threads: 1} },
		"negative duration": func(c *auth.Config) { c.Limits.StepValidity = -1 },
	} {
		c := good
		change(&c)
		if _, err := auth.New(bg, c); err == nil {
			t.Errorf("%s: New gave no error", name)
		}
	}
}

// TestStaleAttemptsExpire: attempts admitted by a checker that died hold
// their places only until their lease ends.
func TestStaleAttemptsExpire(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t))
	r := e.register(t, "")
	e.activate(t, r, "Hemmelig42")
	// As a crashed process would leave it: every place taken.
	err := e.st.UpdateAuth(bg, func(tx store.AuthTx) error {
		u, err := tx.LockUser(r.User.ID)
		if err != nil {
			return err
		}
		u.PasswordPending, u.PendingUntil = auth.DefaultQuarantineAfter, e.clock.Now().Add(time.Minute)
		return tx.UpdateUser(u)
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.StartLogon(bg, r.User.NemID, "Hemmelig42")
	wantErr(t, "logon with every place taken", err, auth.ErrTooManyAttempts)
	e.clock.Advance(time.Minute)
	e.logon(t, r.User.NemID, "Hemmelig42")
	if u, _ := e.st.UserByNemID(bg, r.User.NemID); u.PasswordPending != 0 {
		t.Errorf("pending = %d after the logon", u.PasswordPending)
	}
}
