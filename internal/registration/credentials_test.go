package registration_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/audit"
	"github.com/nemid-dk/nemid/internal/auth"
	"github.com/nemid-dk/nemid/internal/ca"
	"github.com/nemid-dk/nemid/internal/keyvault"
	"github.com/nemid-dk/nemid/internal/registration"
	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/oces"
	"github.com/nemid-dk/nemid/ooapi"
)

// TestActivation: the first logon with the temporary password and a code
// from the card the registration returned, then Activate; after that the
// vault signs with the new password only (in any letter case, as auth
// compares passwords), still with the first key and certificate.
func TestActivation(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		r := e.register(t, "")
		e.activate(t, r.User.NemID, r.TemporaryPassword, "Sommer2026", r.Card)

		u, err := e.svc.Auth().Resolve(ctx, r.User.NemID)
		if err != nil || u.State != auth.StateActive {
			t.Fatalf("after activation: %+v, %v", u, err)
		}
		if !e.signs(t, r.User.ID, "sommer2026", r.Certificate) || !e.signs(t, r.User.ID, "SOMMER2026", r.Certificate) {
			t.Error("the vault does not sign with the new password")
		}
		if e.signs(t, r.User.ID, r.TemporaryPassword, r.Certificate) {
			t.Error("the vault still signs with the temporary password")
		}
		key, err := e.svc.Vault().ActiveKey(ctx, r.User.ID)
		if err != nil || key.Version != 1 || !key.Public.Equal(r.Certificate.PublicKey) {
			t.Errorf("after activation the key is version %d, or another key (%v)", key.Version, err)
		}
		if c := e.currentCertificate(t, r.User.NemID); !c.Equal(r.Certificate) {
			t.Error("activation changed the certificate")
		}
		// A logon with the new password works; with the temporary one not.
		f := e.logon(t, r.User.NemID, "SOMMER2026", r.Card)
		if f.Step != auth.StepDone {
			t.Errorf("logon after activation: step %s", f.Step)
		}
		if _, err := e.svc.Auth().StartLogon(ctx, r.User.NemID, r.TemporaryPassword); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Errorf("logon with the used temporary password: %v", err)
		}
	})
}

// TestActivateWrongTemporaryPassword: Activate with a temporary password
// other than the one the logon began with changes nothing; the right one
// then works.
func TestActivateWrongTemporaryPassword(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		r := e.register(t, "")
		f := e.logon(t, r.User.NemID, r.TemporaryPassword, r.Card)
		wrong := "111111"
		if wrong == r.TemporaryPassword {
			wrong = "222222"
		}
		before := tableCounts(t, e.db(t), e.database)
		if _, err := e.svc.Activate(ctx, f.ID, wrong, "Sommer2026", ""); !errors.Is(err, auth.ErrWrongTemporaryPassword) {
			t.Fatalf("Activate with a wrong temporary password: %v", err)
		}
		sameCounts(t, "a refused activation", before, tableCounts(t, e.db(t), e.database))
		if !e.signs(t, r.User.ID, r.TemporaryPassword, r.Certificate) {
			t.Error("the key no longer opens with the temporary password")
		}
		if _, err := e.svc.Activate(ctx, f.ID, r.TemporaryPassword, "Sommer2026", "anne.a"); err != nil {
			t.Fatalf("Activate: %v", err)
		}
		if !e.signs(t, r.User.ID, "Sommer2026", r.Certificate) {
			t.Error("the vault does not sign with the new password")
		}
		if u, err := e.svc.Auth().Resolve(ctx, "ANNE.A"); err != nil || u.ID != r.User.ID {
			t.Errorf("the alias chosen at activation does not resolve: %v", err)
		}
	})
}

// TestChangePassword: auth and the vault change together; a wrong current
// password changes neither.
func TestChangePassword(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		r := e.register(t, "")
		e.activate(t, r.User.NemID, r.TemporaryPassword, "Sommer2026", r.Card)
		f := e.logon(t, r.User.NemID, "sommer2026", r.Card)
		if err := e.svc.ChangePassword(ctx, f.ID, "Vinter2026", "Efteraar2026x", ""); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("ChangePassword with a wrong current password: %v", err)
		}
		if err := e.svc.ChangePassword(ctx, f.ID, "Sommer2026", "Efteraar2026", ""); err != nil {
			t.Fatalf("ChangePassword: %v", err)
		}
		if e.signs(t, r.User.ID, "Sommer2026", r.Certificate) || !e.signs(t, r.User.ID, "EFTERAAR2026", r.Certificate) {
			t.Error("after the change the vault signs with the old password or not with the new one")
		}
		if f := e.logon(t, r.User.NemID, "efteraar2026", r.Card); f.Step != auth.StepDone {
			t.Errorf("logon with the new password: step %s", f.Step)
		}
		if key, _ := e.svc.Vault().ActiveKey(ctx, r.User.ID); key.Version != 1 {
			t.Errorf("a password change made key version %d", key.Version)
		}
	})
}

// TestResetReactivation: after an operator's reset nobody can open the old
// key; the activation with the new temporary password makes a new key and
// certificate (same PID) and revokes the old one as superseded.
func TestResetReactivation(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		r := e.register(t, "")
		e.activate(t, r.User.NemID, r.TemporaryPassword, "Sommer2026", r.Card)
		e.clk.Advance(time.Hour)

		temp, _, err := e.svc.ResetPassword(ctx, auth.OperatorActor("test"), r.User.NemID)
		if err != nil {
			t.Fatal(err)
		}
		// From the reset on, the old password signs nothing (a reset often
		// follows a compromise) and the old certificate is revoked.
		if _, err := e.svc.Vault().Sign(ctx, r.User.ID, auth.NormalizePassword("Sommer2026"), make([]byte, 32), crypto.SHA256); !errors.Is(err, keyvault.ErrNoKey) {
			t.Errorf("Sign with the old password after the reset: %v, want no key", err)
		}
		if c, err := e.st.Certificate(ctx, r.Certificate.SerialNumber.Text(16)); err != nil || c.Status != store.StatusRevoked {
			t.Errorf("right after the reset the old certificate is %s (%v), want revoked", c.Status, err)
		}
		e.activate(t, r.User.NemID, temp, "Vinter2026", r.Card)

		old, err := e.st.Certificate(ctx, r.Certificate.SerialNumber.Text(16))
		if err != nil {
			t.Fatal(err)
		}
		if old.Status != store.StatusRevoked || old.Reason != int(ca.ReasonSuperseded) {
			t.Errorf("the old certificate is %s (reason %d), want revoked as superseded", old.Status, old.Reason)
		}
		cert := e.currentCertificate(t, r.User.NemID)
		if cert.Equal(r.Certificate) || cert.PublicKey.(*rsa.PublicKey).Equal(r.Certificate.PublicKey) {
			t.Fatal("the re-activation kept the old certificate or key")
		}
		e.opensslVerify(t, cert)
		id, err := oces.ParseCertificate(cert)
		if err != nil || id.PID != r.PID {
			t.Errorf("new certificate PID %q (%v), want the person's %s", id.PID, err, r.PID)
		}
		key, err := e.svc.Vault().ActiveKey(ctx, r.User.ID)
		if err != nil || key.Version != 2 || !key.Public.Equal(cert.PublicKey) {
			t.Errorf("vault key version %d (%v), want 2 with the new certificate's key", key.Version, err)
		}
		if !e.signs(t, r.User.ID, "vinter2026", cert) || e.signs(t, r.User.ID, "Sommer2026", cert) {
			t.Error("the new key does not sign with the new password, or signs with the old one")
		}
		certs, err := e.svc.Certificates(ctx, r.User.NemID)
		if err != nil || len(certs) != 2 || certs[0].KeyVersion != 1 || certs[1].KeyVersion != 2 {
			t.Errorf("Certificates = %+v, %v", certs, err)
		}
		noSecretsInAudit(t, e, mustResolve(t, e, r.User.NemID), temp, r.Card)
	})
}

// TestResetBeforeActivation: a reset before the first activation (a lost
// letter) leaves the key under the first temporary password, which is gone
// too: the activation re-keys.
func TestResetBeforeActivation(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		r := e.register(t, "")
		temp, _, err := e.svc.ResetPassword(ctx, auth.OperatorActor("test"), r.User.NemID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Auth().StartLogon(ctx, r.User.NemID, r.TemporaryPassword); err == nil {
			t.Fatal("the first temporary password works after the reset")
		}
		e.activate(t, r.User.NemID, temp, "Sommer2026", r.Card)
		if key, _ := e.svc.Vault().ActiveKey(ctx, r.User.ID); key.Version != 2 {
			t.Errorf("key version %d after a reset before activation, want 2", key.Version)
		}
		if old, _ := e.st.Certificate(ctx, r.Certificate.SerialNumber.Text(16)); old.Reason != int(ca.ReasonSuperseded) || old.Status != store.StatusRevoked {
			t.Errorf("the first certificate is %s/%d", old.Status, old.Reason)
		}
	})
}

// TestBlock: a block revokes the certificate with the reason the user
// chose and destroys the key; unblock, reset and activation make a new
// key and certificate.
func TestBlock(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		for _, reason := range []ca.Reason{ca.ReasonKeyCompromise, ca.ReasonCessationOfOperation} {
			r := e.register(t, "")
			e.activate(t, r.User.NemID, r.TemporaryPassword, "Sommer2026", r.Card)
			if err := e.svc.Block(ctx, auth.UserActor(r.User.NemID), r.User.NemID, "lost my card", reason); err != nil {
				t.Fatalf("Block: %v", err)
			}
			c, err := e.st.Certificate(ctx, r.Certificate.SerialNumber.Text(16))
			if err != nil || c.Status != store.StatusRevoked || c.Reason != int(reason) {
				t.Errorf("after a block (%s) the certificate is %s with reason %d (%v)", reason, c.Status, c.Reason, err)
			}
			if _, err := e.svc.Vault().Sign(ctx, r.User.ID, auth.NormalizePassword("Sommer2026"), make([]byte, 32), 5); !errors.Is(err, keyvault.ErrNoKey) {
				t.Errorf("Sign after a block: %v, want no key", err)
			}
			if _, err := e.svc.Certificate(ctx, r.User.NemID); !errors.Is(err, registration.ErrNoCertificate) {
				t.Errorf("Certificate after a block: %v", err)
			}
			u := mustResolve(t, e, r.User.NemID)
			if u.State != auth.StateBlocked || u.BlockedBy != "user" {
				t.Errorf("after a block: %s by %q", u.State, u.BlockedBy)
			}
		}

		// Reasons other than the user's two are refused, changing nothing.
		r := e.register(t, "")
		e.activate(t, r.User.NemID, r.TemporaryPassword, "Sommer2026", r.Card)
		before := tableCounts(t, e.db(t), e.database)
		if err := e.svc.Block(ctx, auth.OperatorActor("test"), r.User.NemID, "x", ca.ReasonSuperseded); err == nil {
			t.Fatal("Block with reason superseded was accepted")
		}
		sameCounts(t, "a refused block", before, tableCounts(t, e.db(t), e.database))

		// Unblock, reset, activate: a new key (version 2) and certificate.
		if err := e.svc.Block(ctx, auth.OperatorActor("test"), r.User.NemID, "fraud", ca.ReasonKeyCompromise); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Unblock(ctx, auth.OperatorActor("test"), r.User.NemID, "identified"); err != nil {
			t.Fatal(err)
		}
		// A password change right after the unblock does not re-key: only an
		// activation after the operator's reset does.
		changed := e.logon(t, r.User.NemID, "Sommer2026", r.Card).ID
		if err := e.svc.ChangePassword(ctx, changed, "Sommer2026", "Efteraar2026", ""); !errors.Is(err, registration.ErrNoKeyPair) {
			t.Errorf("ChangePassword after an unblock: %v, want ErrNoKeyPair", err)
		}
		temp, _, err := e.svc.ResetPassword(ctx, auth.OperatorActor("test"), r.User.NemID)
		if err != nil {
			t.Fatal(err)
		}
		e.activate(t, r.User.NemID, temp, "Sommer2026", r.Card)
		cert := e.currentCertificate(t, r.User.NemID)
		e.opensslVerify(t, cert)
		if cert.Equal(r.Certificate) || !e.signs(t, r.User.ID, "sommer2026", cert) {
			t.Error("after unblock and activation: the old certificate, or no signature")
		}
		if key, _ := e.svc.Vault().ActiveKey(ctx, r.User.ID); key.Version != 2 {
			t.Errorf("key version %d, want 2", key.Version)
		}
		// The revocation of the block stays: it is not turned into superseded.
		if c, _ := e.st.Certificate(ctx, r.Certificate.SerialNumber.Text(16)); c.Reason != int(ca.ReasonKeyCompromise) {
			t.Errorf("the blocked certificate's reason became %d", c.Reason)
		}
	})
}

func mustResolve(t testing.TB, e *env, userID string) auth.User {
	t.Helper()
	u, err := e.svc.Auth().Resolve(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestConcurrentPasswordChanges: two password changes of one user at once
// (two logons) end with one new password, under which both auth and the
// vault open; never auth under one and the vault under the other.
func TestConcurrentPasswordChanges(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		for round := range 3 {
			r := e.register(t, "")
			e.activate(t, r.User.NemID, r.TemporaryPassword, "Sommer2026", r.Card)
			f1 := e.logon(t, r.User.NemID, "Sommer2026", r.Card)
			f2 := e.logon(t, r.User.NemID, "Sommer2026", r.Card)
			news := []string{"Vinter2026a", "Foraar2026b"}
			errs := make([]error, 2)
			done := make(chan int)
			for i, f := range []*auth.Flow{f1, f2} {
				go func() {
					errs[i] = e.svc.ChangePassword(ctx, f.ID, "Sommer2026", news[i], "")
					done <- i
				}()
			}
			<-done
			<-done
			var won []string
			for i, err := range errs {
				switch {
				case err == nil:
					won = append(won, news[i])
				case errors.Is(err, auth.ErrInvalidCredentials), errors.Is(err, keyvault.ErrConflict):
				default:
					t.Fatalf("round %d: ChangePassword: %v", round, err)
				}
			}
			if len(won) > 1 {
				// Both may succeed one after the other only if the second
				// verified the current password before the first changed it
				// and still committed: auth refuses that (the credential it
				// checked is void), so at most one wins.
				t.Fatalf("round %d: both changes succeeded", round)
			}
			want := "Sommer2026"
			if len(won) == 1 {
				want = won[0]
			}
			if !e.signs(t, r.User.ID, want, r.Certificate) {
				t.Errorf("round %d: the vault does not open with %q, the password auth has", round, want)
			}
			if _, err := e.svc.Auth().StartLogon(ctx, r.User.NemID, want); err != nil {
				t.Errorf("round %d: auth does not accept %q: %v", round, want, err)
			}
			for _, other := range append(news, "Sommer2026") {
				if other != want && e.signs(t, r.User.ID, other, r.Certificate) {
					t.Errorf("round %d: the vault opens with %q too", round, other)
				}
			}
		}
	})
}

// TestSignUsesTheFlow: a signature needs a done two-factor logon, and each
// logon gives one, with what the logon's password unlocked (no second
// derivation); a wrong or stale unlock signs nothing.
func TestSignUsesTheFlow(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		r := e.register(t, "")
		e.activate(t, r.User.NemID, r.TemporaryPassword, "Sommer2026", r.Card)
		digest := sha256.Sum256([]byte("the document"))
		logon := func() (string, keyvault.Unlocked) {
			t.Helper()
			f, err := e.svc.Auth().StartLogon(ctx, r.User.NemID, "SOMMER2026")
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Unlocked) != keyvault.UnlockedLen {
				t.Fatalf("StartLogon unlocked %d bytes, want %d", len(f.Unlocked), keyvault.UnlockedLen)
			}
			code, _ := r.Card.Code(f.KeyNumber)
			done, err := e.svc.Auth().AnswerOTP(ctx, f.ID, f.KeyNumber, code)
			if err != nil || done.Step != auth.StepDone {
				t.Fatalf("AnswerOTP = %+v, %v", done, err)
			}
			return f.ID, f.Unlocked
		}

		flow, unlocked := logon()
		sig, err := e.svc.Sign(ctx, flow, unlocked, digest[:], crypto.SHA256)
		if err != nil {
			t.Fatalf("Sign with a done flow: %v", err)
		}
		if err := rsa.VerifyPKCS1v15(r.Certificate.PublicKey.(*rsa.PublicKey), crypto.SHA256, digest[:], sig); err != nil {
			t.Fatalf("the signature does not verify with the certificate: %v", err)
		}
		if _, err := e.svc.Sign(ctx, flow, unlocked, digest[:], crypto.SHA256); !isCode(err, ooapi.AUTH009) {
			t.Errorf("a second Sign on one flow: %v, want AUTH009", err)
		}
		recs, err := e.svc.AuditLog().Records(ctx, 0, 10000)
		if err != nil || len(recs) == 0 || recs[len(recs)-1].Action != audit.Sign || recs[len(recs)-1].Outcome != audit.Success {
			t.Errorf("the signature is not the last audit record: %v", err)
		}

		started, err := e.svc.Auth().StartLogon(ctx, r.User.NemID, "Sommer2026")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Sign(ctx, started.ID, started.Unlocked, digest[:], crypto.SHA256); !isCode(err, ooapi.AUTH009) {
			t.Errorf("Sign before the code: %v, want AUTH009", err)
		}

		flow, unlocked = logon()
		unlocked[len(unlocked)-1] ^= 1
		if _, err := e.svc.Sign(ctx, flow, unlocked, digest[:], crypto.SHA256); !errors.Is(err, keyvault.ErrWrongPassword) {
			t.Errorf("Sign with a damaged unlock: %v, want a wrong password", err)
		}
		// A wrong password unlocks nothing and counts as a wrong password.
		if _, err := e.svc.Auth().StartLogon(ctx, r.User.NemID, "Vinter2026"); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Errorf("StartLogon with a wrong password: %v", err)
		}
	})
}

func isCode(err error, want ooapi.Code) bool {
	c, ok := auth.CodeOf(err)
	return ok && c == want
}
