package auth_test

import (
	"strings"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/auth"
	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/ooapi"
)

func TestPasswordQuarantineAndLock(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		r := e.register(t, "")
		e.activate(t, r, "Hemmelig42")
		id := r.User.NemID
		for i := 1; i < auth.DefaultQuarantineAfter; i++ {
			_, err := e.svc.StartLogon(bg, id, "Forkert42")
			wantErr(t, "a wrong password", err, auth.ErrInvalidCredentials)
		}
		_, err := e.svc.StartLogon(bg, id, "Forkert42")
		wantCode(t, "the 5th wrong password", err, ooapi.LOCK001)
		// During the quarantine even the right password is refused, with AUTH004.
		_, err = e.svc.StartLogon(bg, id, "Hemmelig42")
		wantCode(t, "the right password in quarantine", err, ooapi.AUTH004)
		e.clock.Advance(auth.DefaultQuarantine - time.Second)
		_, err = e.svc.StartLogon(bg, id, "Hemmelig42")
		wantCode(t, "a second before the quarantine ends", err, ooapi.AUTH004)
		e.clock.Advance(time.Second)

		// After the quarantine, fewer wrong passwords lock.
		for i := 1; i < auth.DefaultLockAfter; i++ {
			_, err := e.svc.StartLogon(bg, id, "Forkert42")
			wantErr(t, "a wrong password after the quarantine", err, auth.ErrInvalidCredentials)
		}
		_, err = e.svc.StartLogon(bg, id, "Forkert42")
		wantCode(t, "the 3rd wrong password after a quarantine", err, ooapi.LOCK002)
		_, err = e.svc.StartLogon(bg, id, "Hemmelig42")
		wantCode(t, "the right password when locked", err, ooapi.AUTH005)
		e.clock.Advance(30 * 24 * time.Hour)
		_, err = e.svc.StartLogon(bg, id, "Hemmelig42")
		wantCode(t, "the right password a month later", err, ooapi.AUTH005)

		var trail []string
		events, _ := e.svc.Events(bg, id)
		for _, ev := range events {
			trail = append(trail, string(ev.To))
		}
		if got, want := strings.Join(trail, ","), "awaiting_activation,active,quarantined,active,locked"; got != want {
			t.Errorf("states %s, want %s", got, want)
		}
		// An operator's unlock lets the user in again.
		if err := e.svc.Unlock(bg, auth.OperatorActor("support"), id, "identified by phone"); err != nil {
			t.Fatal(err)
		}
		e.logon(t, id, "Hemmelig42")
	})
}

// TestRightPasswordResetsCount: a right password forgives the wrong ones
// before it, and after a quarantine a right password makes the next limit
// the quarantine again.
func TestRightPasswordResetsCount(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		r := e.register(t, "")
		e.activate(t, r, "Hemmelig42")
		id := r.User.NemID
		wrong := func(n int) error {
			var err error
			for range n {
				_, err = e.svc.StartLogon(bg, id, "Forkert42")
			}
			return err
		}
		wantErr(t, "4 wrong", wrong(4), auth.ErrInvalidCredentials)
		e.logon(t, id, "Hemmelig42")
		wantErr(t, "4 more wrong", wrong(4), auth.ErrInvalidCredentials)
		wantCode(t, "the 5th in a row", wrong(1), ooapi.LOCK001)
		e.clock.Advance(auth.DefaultQuarantine)
		e.logon(t, id, "Hemmelig42")
		// The right password after the quarantine: 5 again to quarantine, not 3 to lock.
		wantErr(t, "4 wrong after a right one", wrong(4), auth.ErrInvalidCredentials)
		wantCode(t, "the 5th", wrong(1), ooapi.LOCK001)
	})
}

func TestTemporaryPasswordLockout(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		r := e.register(t, "")
		for i := 1; i < auth.DefaultQuarantineAfter; i++ {
			_, err := e.svc.StartLogon(bg, r.User.NemID, "999999")
			wantErr(t, "a wrong temporary password", err, auth.ErrInvalidCredentials)
		}
		_, err := e.svc.StartLogon(bg, r.User.NemID, "999999")
		wantCode(t, "the 5th wrong temporary password", err, ooapi.LOCK001)
		_, err = e.svc.StartLogon(bg, r.User.NemID, r.TemporaryPassword)
		wantCode(t, "the temporary password in quarantine", err, ooapi.AUTH004)
		e.clock.Advance(auth.DefaultQuarantine)
		if f, err := e.svc.StartLogon(bg, r.User.NemID, r.TemporaryPassword); err != nil || f.Step != auth.StepOTP {
			t.Fatalf("after the quarantine: %+v, %v", f, err)
		}
		if s := e.state(t, r.User.NemID); s != auth.StateAwaitingActivation {
			t.Errorf("state after the quarantine = %s, want awaiting_activation", s)
		}
	})
}

func TestWrongCodesRevoke(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		r := e.register(t, "")
		e.activate(t, r, "Hemmelig42")
		f, err := e.svc.StartLogon(bg, r.User.NemID, "Hemmelig42")
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i < auth.DefaultRevokeAfter; i++ {
			_, err := e.svc.AnswerOTP(bg, f.ID, f.KeyNumber, e.wrongCode(t, f))
			wantErr(t, "a wrong code", err, auth.ErrWrongCode)
		}
		_, err = e.svc.AnswerOTP(bg, f.ID, f.KeyNumber, e.wrongCode(t, f))
		wantCode(t, "the 5th wrong code", err, ooapi.LOCK003)
		// The right code no longer helps, and the password is revoked.
		_, err = e.svc.AnswerOTP(bg, f.ID, f.KeyNumber, e.code(t, f))
		wantCode(t, "the right code after the revocation", err, ooapi.AUTH007)
		_, err = e.svc.StartLogon(bg, r.User.NemID, "Hemmelig42")
		wantCode(t, "logon after the revocation", err, ooapi.AUTH007)
		cards, _ := e.svc.KeyCards(bg, r.User.NemID)
		if len(cards) != 1 || cards[0].Status != store.CardRevoked || cards[0].Failures != auth.DefaultRevokeAfter {
			t.Errorf("cards = %+v", cards)
		}
		// Support: a new card and a new temporary password.
		if _, err := e.svc.IssueKeyCard(bg, auth.OperatorActor("support"), r.User.NemID, false, "revoked after wrong codes"); err != nil {
			t.Fatal(err)
		}
		pw, _, err := e.svc.ResetPassword(bg, auth.OperatorActor("support"), r.User.NemID)
		if err != nil {
			t.Fatal(err)
		}
		e.activate(t, &auth.Registered{User: r.User, TemporaryPassword: pw}, "Nyhemmelig7")
		e.logon(t, r.User.NemID, "Nyhemmelig7")
	})
}

func TestRightCodeResetsCount(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		r := e.register(t, "")
		e.activate(t, r, "Hemmelig42")
		for range 3 {
			f, err := e.svc.StartLogon(bg, r.User.NemID, "Hemmelig42")
			if err != nil {
				t.Fatal(err)
			}
			for range auth.DefaultRevokeAfter - 1 {
				_, err := e.svc.AnswerOTP(bg, f.ID, f.KeyNumber, e.wrongCode(t, f))
				wantErr(t, "a wrong code", err, auth.ErrWrongCode)
			}
			if _, err := e.svc.AnswerOTP(bg, f.ID, f.KeyNumber, e.code(t, f)); err != nil {
				t.Fatalf("the right code: %v", err)
			}
		}
	})
}
