package registration_test

// The consistency choice for credential changes: the auth change (the
// password, the state, the flow) and the key change (the vault key's
// re-wrap or replacement, the new certificate, the revocations) are written
// in one transaction. These tests make that transaction fail after its
// last write, where a crash would stop it short of its commit, and check
// that nothing of it is left: no password without its key, no key without
// its password, no revocation without its block.

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/audit"
	"github.com/nemid-dk/nemid/internal/auth"
	"github.com/nemid-dk/nemid/internal/ca"
	"github.com/nemid-dk/nemid/internal/keyvault"
	"github.com/nemid-dk/nemid/internal/registration"
	"github.com/nemid-dk/nemid/internal/store"
)

var errInjected = errors.New("injected failure: the process stops before the commit")

// faultyStore fails every auth transaction after the write named failAfter.
type faultyStore struct {
	store.Store
	failAfter string
}

func (f *faultyStore) UpdateAuth(ctx context.Context, fn func(tx store.AuthTx) error) error {
	return f.Store.UpdateAuth(ctx, func(tx store.AuthTx) error { return fn(&faultyTx{AuthTx: tx, f: f}) })
}

type faultyTx struct {
	store.AuthTx
	f *faultyStore
}

func (t *faultyTx) after(op string, err error) error {
	if err == nil && op == t.f.failAfter {
		return errInjected
	}
	return err
}

func (t *faultyTx) RewrapVaultKey(userID, version, generation int64, blob []byte, at time.Time) error {
	return t.after("RewrapVaultKey", t.AuthTx.RewrapVaultKey(userID, version, generation, blob, at))
}

func (t *faultyTx) ReplaceVaultKey(k store.VaultKey) error {
	return t.after("ReplaceVaultKey", t.AuthTx.ReplaceVaultKey(k))
}

func (t *faultyTx) DestroyVaultKey(userID int64, at time.Time) (store.VaultKey, error) {
	k, err := t.AuthTx.DestroyVaultKey(userID, at)
	return k, t.after("DestroyVaultKey", err)
}

func (t *faultyTx) InsertUserCertificate(userID, keyVersion int64, c store.Certificate) error {
	return t.after("InsertUserCertificate", t.AuthTx.InsertUserCertificate(userID, keyVersion, c))
}

func (t *faultyTx) RevokeCertificate(serial string, at time.Time, reason int) (store.Certificate, error) {
	c, err := t.AuthTx.RevokeCertificate(serial, at, reason)
	return c, t.after("RevokeCertificate", err)
}

// faulty is a second service on the same database whose credential
// transactions fail after the write failAfter.
func (e *env) faulty(t testing.TB, failAfter string) *registration.Service {
	t.Helper()
	svc, err := registration.New(context.Background(), registration.Config{
		Store: &faultyStore{Store: e.st, failAfter: failAfter}, MasterKey: e.mk, CA: e.ca, KDF: testKDF, Clock: e.clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func TestCredentialChangesAreAtomic(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		db := e.db(t)

		t.Run("activation", func(t *testing.T) {
			r := e.register(t, "")
			f := e.logon(t, r.User.NemID, r.TemporaryPassword, r.Card)
			before := tableCounts(t, db, e.database)
			if _, err := e.faulty(t, "RewrapVaultKey").Activate(ctx, f.ID, r.TemporaryPassword, "Sommer2026", ""); !errors.Is(err, errInjected) {
				t.Fatalf("Activate: %v", err)
			}
			sameCounts(t, "a failed activation", before, tableCounts(t, db, e.database))
			if u := mustResolve(t, e, r.User.NemID); u.State != auth.StateAwaitingActivation {
				t.Errorf("after a failed activation the user is %s", u.State)
			}
			if !e.signs(t, r.User.ID, r.TemporaryPassword, r.Certificate) || e.signs(t, r.User.ID, "Sommer2026", r.Certificate) {
				t.Error("after a failed activation the key is not under the temporary password alone")
			}
			// The flow still waits: the user tries again and succeeds.
			if _, err := e.svc.Activate(ctx, f.ID, r.TemporaryPassword, "Sommer2026", ""); err != nil {
				t.Fatalf("Activate again: %v", err)
			}
			if !e.signs(t, r.User.ID, "Sommer2026", r.Certificate) {
				t.Error("no signature with the new password")
			}
		})

		t.Run("re-key after a reset", func(t *testing.T) {
			r := e.register(t, "")
			e.activate(t, r.User.NemID, r.TemporaryPassword, "Sommer2026", r.Card)
			// The reset revokes the certificate and destroys the key in its
			// own transaction: failing at either step changes nothing.
			for _, op := range []string{"RevokeCertificate", "DestroyVaultKey"} {
				before := tableCounts(t, db, e.database)
				if _, _, err := e.faulty(t, op).ResetPassword(ctx, auth.OperatorActor("test"), r.User.NemID); !errors.Is(err, errInjected) {
					t.Fatalf("ResetPassword failing after %s: %v", op, err)
				}
				sameCounts(t, "a reset failing after "+op, before, tableCounts(t, db, e.database))
				if !e.signs(t, r.User.ID, "Sommer2026", r.Certificate) {
					t.Errorf("after a reset failing at %s the key no longer signs", op)
				}
				if c := e.currentCertificate(t, r.User.NemID); !c.Equal(r.Certificate) {
					t.Errorf("after a reset failing at %s the certificate changed", op)
				}
			}
			temp, _, err := e.svc.ResetPassword(ctx, auth.OperatorActor("test"), r.User.NemID)
			if err != nil {
				t.Fatal(err)
			}
			for _, op := range []string{"ReplaceVaultKey", "InsertUserCertificate"} {
				f := e.logon(t, r.User.NemID, temp, r.Card)
				before := tableCounts(t, db, e.database)
				if _, err := e.faulty(t, op).Activate(ctx, f.ID, temp, "Vinter2026", ""); !errors.Is(err, errInjected) {
					t.Fatalf("Activate failing after %s: %v", op, err)
				}
				// The CA's partition counter moves when it prepares the new
				// certificate (a place never used is harmless); nothing else.
				after := tableCounts(t, db, e.database)
				delete(before, "crl_partitions")
				delete(after, "crl_partitions")
				sameCounts(t, "an activation failing after "+op, before, after)
				// The reset left no certificate and no key; the failed
				// activation made none.
				if _, err := e.svc.Certificate(ctx, r.User.NemID); !errors.Is(err, registration.ErrNoCertificate) {
					t.Errorf("after a failure at %s: certificate %v", op, err)
				}
				if _, err := e.svc.Vault().ActiveKey(ctx, r.User.ID); !errors.Is(err, keyvault.ErrNoKey) {
					t.Errorf("after a failure at %s: active key %v", op, err)
				}
				if u := mustResolve(t, e, r.User.NemID); u.State != auth.StateAwaitingActivation {
					t.Errorf("after a failure at %s the user is %s", op, u.State)
				}
				// The temporary password was used by this logon: reset again.
				if temp, _, err = e.svc.ResetPassword(ctx, auth.OperatorActor("test"), r.User.NemID); err != nil {
					t.Fatal(err)
				}
			}
			e.activate(t, r.User.NemID, temp, "Vinter2026", r.Card)
			if c := e.currentCertificate(t, r.User.NemID); c.Equal(r.Certificate) || !e.signs(t, r.User.ID, "Vinter2026", c) {
				t.Error("the re-activation after the failures did not re-key")
			}
		})

		t.Run("password change", func(t *testing.T) {
			r := e.register(t, "")
			e.activate(t, r.User.NemID, r.TemporaryPassword, "Sommer2026", r.Card)
			f := e.logon(t, r.User.NemID, "Sommer2026", r.Card)
			if err := e.faulty(t, "RewrapVaultKey").ChangePassword(ctx, f.ID, "Sommer2026", "Vinter2026", ""); !errors.Is(err, errInjected) {
				t.Fatalf("ChangePassword: %v", err)
			}
			if !e.signs(t, r.User.ID, "Sommer2026", r.Certificate) || e.signs(t, r.User.ID, "Vinter2026", r.Certificate) {
				t.Error("after a failed change the vault key is not under the old password alone")
			}
			if f := e.logon(t, r.User.NemID, "Sommer2026", r.Card); f.Step != auth.StepDone {
				t.Errorf("after a failed change the old password does not log on")
			}
			if _, err := e.svc.Auth().StartLogon(ctx, r.User.NemID, "Vinter2026"); !errors.Is(err, auth.ErrInvalidCredentials) {
				t.Errorf("after a failed change the new password logs on: %v", err)
			}
		})

		t.Run("block", func(t *testing.T) {
			r := e.register(t, "")
			e.activate(t, r.User.NemID, r.TemporaryPassword, "Sommer2026", r.Card)
			for _, op := range []string{"RevokeCertificate", "DestroyVaultKey"} {
				before := tableCounts(t, db, e.database)
				if err := e.faulty(t, op).Block(ctx, auth.OperatorActor("test"), r.User.NemID, "x", ca.ReasonKeyCompromise); !errors.Is(err, errInjected) {
					t.Fatalf("Block failing after %s: %v", op, err)
				}
				// The failed block is audited as one (a failure), and that is all.
				after := tableCounts(t, db, e.database)
				if after["audit_log"] != before["audit_log"]+1 {
					t.Errorf("a failed block added %d audit records, want 1", after["audit_log"]-before["audit_log"])
				}
				delete(before, "audit_log")
				delete(after, "audit_log")
				sameCounts(t, "a block failing after "+op, before, after)
				head, err := e.svc.AuditLog().Head(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if recs, err := e.svc.AuditLog().Records(ctx, head.Seq-1, 1); err != nil || recs[0].Action != audit.Block || recs[0].Outcome != audit.Failure {
					t.Errorf("the last audit record is %+v (%v), want a failed block", recs, err)
				}
				if u := mustResolve(t, e, r.User.NemID); u.State != auth.StateActive {
					t.Errorf("after a failed block the user is %s", u.State)
				}
				if c := e.currentCertificate(t, r.User.NemID); !c.Equal(r.Certificate) || !e.signs(t, r.User.ID, "Sommer2026", c) {
					t.Error("after a failed block the certificate or key is gone")
				}
			}
		})
	})
}
