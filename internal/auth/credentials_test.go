package auth_test

import (
	"context"
	"errors"
	"testing"

	"github.com/nemid-dk/nemid/internal/auth"
	"github.com/nemid-dk/nemid/internal/store"
)

var errWork = errors.New("the other package's work failed")

// TestCredentialChange: the work another package does with a credential
// change runs after auth's checks (Prepare) and inside auth's transaction
// (Apply); a failure of either changes nothing, and leaves no attempt
// counted or pending.
func TestCredentialChange(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		reg := e.register(t, "")
		nemid := reg.User.NemID
		f, err := e.svc.StartLogon(ctx, nemid, reg.TemporaryPassword)
		if err != nil {
			t.Fatal(err)
		}
		if f, err = e.svc.AnswerOTP(ctx, f.ID, f.KeyNumber, e.code(t, f)); err != nil || f.Step != auth.StepActivate {
			t.Fatalf("AnswerOTP: %+v, %v", f, err)
		}

		// ActivateWith checks the temporary password before anything else.
		prepared := 0
		change := auth.CredentialChange{
			Prepare: func(context.Context, auth.User) error { prepared++; return nil },
			Apply:   func(store.AuthTx, auth.User) error { return errWork },
		}
		if _, err := e.svc.ActivateWith(ctx, f.ID, "000000x", "Sommer2026", "", change); !errors.Is(err, auth.ErrWrongTemporaryPassword) || prepared != 0 {
			t.Fatalf("ActivateWith with a wrong temporary password: %v (prepared %d times)", err, prepared)
		}
		// An Apply failure rolls the activation back: the flow still waits.
		if _, err := e.svc.ActivateWith(ctx, f.ID, reg.TemporaryPassword, "Sommer2026", "", change); !errors.Is(err, errWork) || prepared != 1 {
			t.Fatalf("ActivateWith with a failing Apply: %v (prepared %d times)", err, prepared)
		}
		if u, _ := e.svc.Resolve(ctx, nemid); u.State != auth.StateAwaitingActivation {
			t.Fatalf("after a failed activation: %s", u.State)
		}
		var applied auth.User
		change.Apply = func(tx store.AuthTx, u auth.User) error {
			locked, err := tx.LockUser(u.ID)
			if err != nil || locked.PasswordHash == "" || locked.State != auth.StateActive {
				return errors.New("Apply does not see auth's writes")
			}
			applied = u
			return nil
		}
		if _, err := e.svc.ActivateWith(ctx, f.ID, reg.TemporaryPassword, "Sommer2026", "", change); err != nil {
			t.Fatalf("ActivateWith: %v", err)
		}
		if applied.ID != reg.User.ID || applied.State != auth.StateActive {
			t.Errorf("Apply got %+v", applied)
		}

		// ChangePasswordWith: a Prepare or Apply failure changes nothing and
		// gives the attempt's place back.
		done := e.logon(t, nemid, "Sommer2026")
		for _, c := range []auth.CredentialChange{
			{Prepare: func(context.Context, auth.User) error { return errWork }},
			{Apply: func(store.AuthTx, auth.User) error { return errWork }},
		} {
			if err := e.svc.ChangePasswordWith(ctx, done.ID, "Sommer2026", "Vinter2026", "", c); !errors.Is(err, errWork) {
				t.Fatalf("ChangePasswordWith: %v", err)
			}
			u, err := e.st.UserByNemID(ctx, nemid)
			if err != nil || u.PasswordPending != 0 || u.PasswordFailures != 0 {
				t.Fatalf("after a failed change: pending %d, failures %d (%v)", u.PasswordPending, u.PasswordFailures, err)
			}
		}
		e.logon(t, nemid, "Sommer2026")

		// BlockWith: an Apply failure leaves the user unblocked.
		if err := e.svc.BlockWith(ctx, auth.OperatorActor("t"), nemid, "x", auth.CredentialChange{Apply: func(store.AuthTx, auth.User) error { return errWork }}); !errors.Is(err, errWork) {
			t.Fatalf("BlockWith: %v", err)
		}
		if u, _ := e.svc.Resolve(ctx, nemid); u.State != auth.StateActive {
			t.Errorf("after a failed block: %s", u.State)
		}
	})
}

// TestPrepareRegistration makes a user without storing it, with the PID.
func TestPrepareRegistration(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		p, err := e.svc.PrepareRegistration(auth.OperatorActor("t"), auth.Registration{
			Name: "  Ane Ager ", CPR: newCPR(), Address: []string{" Vej 1 ", "1000 København K"},
		}, "9208-2002-2-123456789012")
		if err != nil {
			t.Fatal(err)
		}
		u := p.User(42)
		if u.ID != 42 || u.PID != "9208-2002-2-123456789012" || u.Name != "Ane Ager" || u.Address[0] != "Vej 1" ||
			len(p.TemporaryPassword) != 6 || len(p.Card.Keys) != auth.KeysPerCard || len(p.Record.Keys) != auth.KeysPerCard {
			t.Errorf("prepared %+v", u)
		}
		if _, err := e.svc.Resolve(context.Background(), u.NemID); !errors.Is(err, auth.ErrUnknownUser) {
			t.Errorf("PrepareRegistration stored the user: %v", err)
		}
		if _, err := e.svc.PrepareRegistration(auth.OperatorActor("t"), auth.Registration{
			Name: "A", CPR: newCPR(), Address: []string{"1", "2", "3", "4", "5", "6"},
		}, ""); err == nil {
			t.Error("six address lines (the window holds the name and five)")
		}
	})
}
