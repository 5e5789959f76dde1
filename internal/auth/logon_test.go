package auth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/auth"
	"github.com/nemid-dk/nemid/ooapi"
)

var bg = context.Background()

func TestRegisterAndActivate(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		r := e.register(t, "")
		if len(r.User.NemID) != 9 || r.User.NemID[0] == '0' || r.User.State != auth.StateAwaitingActivation {
			t.Fatalf("registered %+v", r.User)
		}
		if len(r.TemporaryPassword) != 6 || !r.ValidUntil.Equal(t0.Add(auth.DefaultTemporaryPassword)) {
			t.Errorf("temporary password of %d characters, valid until %v", len(r.TemporaryPassword), r.ValidUntil)
		}
		// The letters carry what Register returned.
		if pw, _ := e.mailer.LatestTemporaryPassword(r.User.NemID); pw != r.TemporaryPassword {
			t.Error("the temporary-password letter does not carry the password")
		}
		if c, _ := e.mailer.LatestCard(r.User.NemID); c == nil || c.Number != r.Card.Number || len(c.Keys) != auth.KeysPerCard {
			t.Error("the key-card letter does not carry the card")
		}

		f, err := e.svc.StartLogon(bg, r.User.NemID, r.TemporaryPassword)
		if err != nil || f.Step != auth.StepOTP || f.CardNumber != r.Card.Number || f.User != nil {
			t.Fatalf("StartLogon = %+v, %v", f, err)
		}
		if !f.ExpiresAt.Equal(t0.Add(auth.DefaultStepValidity)) {
			t.Errorf("challenge expires %v", f.ExpiresAt)
		}
		f, err = e.svc.AnswerOTP(bg, f.ID, f.KeyNumber, e.code(t, f))
		if err != nil || f.Step != auth.StepActivate || f.User == nil || f.User.NemID != r.User.NemID {
			t.Fatalf("AnswerOTP = %+v, %v; want StepActivate with the user", f, err)
		}
		f, err = e.svc.Activate(bg, f.ID, "Hemmelig42", "Test.Bruger")
		if err != nil || f.Step != auth.StepDone || f.User.State != auth.StateActive || f.User.Alias != "Test.Bruger" {
			t.Fatalf("Activate = %+v, %v", f, err)
		}
		events, err := e.svc.Events(bg, r.User.NemID)
		if err != nil || len(events) != 2 || events[0].To != auth.StateAwaitingActivation ||
			events[1].From != auth.StateAwaitingActivation || events[1].To != auth.StateActive ||
			events[1].Actor != "user:"+r.User.NemID {
			t.Errorf("events = %+v, %v", events, err)
		}

		// All three user-ids now work, the password in any case.
		cpr := f.User.CPR
		for _, id := range []string{r.User.NemID, cpr, cpr[:6] + "-" + cpr[6:], "test.bruger", " TEST.BRUGER "} {
			e.logon(t, id, "hEMMELIG42")
		}
		// The temporary password works no more.
		_, err = e.svc.StartLogon(bg, r.User.NemID, r.TemporaryPassword)
		wantErr(t, "StartLogon with the used temporary password", err, auth.ErrInvalidCredentials)
	})
}

func TestResolve(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		r := e.register(t, "Mit-Alias")
		cpr := r.User.CPR
		for _, id := range []string{r.User.NemID, cpr, cpr[:6] + "-" + cpr[6:], "mit-alias", "MIT-ALIAS"} {
			u, err := e.svc.Resolve(bg, id)
			if err != nil || u.ID != r.User.ID {
				t.Errorf("Resolve(%q) = %+v, %v", id, u, err)
			}
		}
		for _, id := range []string{"", "123456789", "0101010000", "nobody", cpr[:9]} {
			if _, err := e.svc.Resolve(bg, id); !errors.Is(err, auth.ErrUnknownUser) {
				t.Errorf("Resolve(%q): err = %v, want ErrUnknownUser", id, err)
			}
		}
	})
}

func TestRegisterInvalid(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		taken := e.register(t, "Taget.Alias")
		ok := auth.Registration{Name: "N N", CPR: newCPR(), Address: []string{"Vej 1"}}
		tests := []struct {
			name   string
			change func(r *auth.Registration)
			want   error
		}{
			{"no name", func(r *auth.Registration) { r.Name = " " }, nil},
			{"bad CPR", func(r *auth.Registration) { r.CPR = "3202901234" }, nil},
			{"CPR registered", func(r *auth.Registration) { r.CPR = taken.User.CPR }, auth.ErrCPRRegistered},
			{"alias taken", func(r *auth.Registration) { r.Alias = "TAGET.alias" }, auth.ErrAliasTaken},
			{"alias like a CPR", func(r *auth.Registration) { r.Alias = "010190-1234" }, auth.ErrAliasLikeNumber},
			{"no address", func(r *auth.Registration) { r.Address = nil }, nil},
			{"control character", func(r *auth.Registration) { r.Address = []string{"Vej\x001"} }, nil},
		}
		for _, tc := range tests {
			r := ok
			tc.change(&r)
			_, err := e.svc.Register(bg, auth.OperatorActor("test"), r)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), taken.User.CPR) {
				t.Errorf("%s: the error shows a CPR number: %v", tc.name, err)
			}
		}
		if _, err := e.svc.Register(bg, "nobody", ok); err == nil {
			t.Error("Register with an invalid actor: no error")
		}
		// Nothing was stored for the refused ones: the valid one still registers.
		if _, err := e.svc.Register(bg, auth.OperatorActor("test"), ok); err != nil {
			t.Fatal(err)
		}
	})
}

// TestUnknownUserAnswer: an unknown user-id and a wrong password give one
// answer (equal values, equal texts).
func TestUnknownUserAnswer(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		r := e.register(t, "")
		e.activate(t, r, "Hemmelig42")
		_, unknown := e.svc.StartLogon(bg, "987654321", "Hemmelig42")
		_, wrong := e.svc.StartLogon(bg, r.User.NemID, "Forkert42")
		_, unknownAlias := e.svc.StartLogon(bg, "ingen.bruger", "Hemmelig42")
		for _, err := range []error{unknown, wrong, unknownAlias} {
			if err != auth.ErrInvalidCredentials {
				t.Errorf("err = %#v, want ErrInvalidCredentials itself", err)
			}
		}
		if unknown.Error() != wrong.Error() {
			t.Errorf("texts differ: %q and %q", unknown, wrong)
		}
		// Too long to be anyone's password: refused the same way.
		_, long := e.svc.StartLogon(bg, r.User.NemID, strings.Repeat("a1", 200))
		wantErr(t, "a too long password", long, auth.ErrInvalidCredentials)
	})
}

func TestTemporaryPasswordOnce(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		r := e.register(t, "")
		f, err := e.svc.StartLogon(bg, r.User.NemID, r.TemporaryPassword)
		if err != nil {
			t.Fatal(err)
		}
		// Cancelling a flow started with a temporary password: CAN001.
		code, err := e.svc.CancelFlow(bg, f.ID)
		if err != nil || code != ooapi.CAN001 {
			t.Fatalf("CancelFlow = %s, %v; want CAN001", code, err)
		}
		_, err = e.svc.AnswerOTP(bg, f.ID, f.KeyNumber, e.code(t, f))
		wantCode(t, "AnswerOTP of a cancelled flow", err, ooapi.AUTH010)
		// Used once: the right temporary password now gives AUTH008.
		_, err = e.svc.StartLogon(bg, r.User.NemID, r.TemporaryPassword)
		wantCode(t, "StartLogon with the used temporary password", err, ooapi.AUTH008)
		// A wrong one is still just wrong.
		_, err = e.svc.StartLogon(bg, r.User.NemID, "000000")
		wantErr(t, "a wrong temporary password", err, auth.ErrInvalidCredentials)

		// An expired one gives AUTH008 too.
		r2 := e.register(t, "")
		e.clock.Advance(auth.DefaultTemporaryPassword)
		_, err = e.svc.StartLogon(bg, r2.User.NemID, r2.TemporaryPassword)
		wantCode(t, "StartLogon with an expired temporary password", err, ooapi.AUTH008)
	})
}

func TestCancelNormalFlow(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		r := e.register(t, "")
		e.activate(t, r, "Hemmelig42")
		f, err := e.svc.StartLogon(bg, r.User.NemID, "Hemmelig42")
		if err != nil {
			t.Fatal(err)
		}
		code, err := e.svc.CancelFlow(bg, f.ID)
		if err != nil || code != ooapi.CAN002 {
			t.Fatalf("CancelFlow = %s, %v; want CAN002", code, err)
		}
		_, err = e.svc.CancelFlow(bg, "no-such-flow")
		wantCode(t, "CancelFlow(unknown)", err, ooapi.SRV006)
	})
}

func TestResetPassword(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		r := e.register(t, "")
		e.activate(t, r, "Hemmelig42")
		pw, until, err := e.svc.ResetPassword(bg, auth.OperatorActor("support"), r.User.NemID)
		if err != nil || len(pw) != 6 || !until.Equal(t0.Add(auth.DefaultTemporaryPassword)) {
			t.Fatalf("ResetPassword = %d digits, %v, %v", len(pw), until, err)
		}
		if got, _ := e.mailer.LatestTemporaryPassword(r.User.NemID); got != pw {
			t.Error("no letter with the new temporary password")
		}
		if e.state(t, r.User.NemID) != auth.StateAwaitingActivation {
			t.Fatal("not awaiting activation after a reset")
		}
		// The reset blocks the old password until the new one is used.
		_, err = e.svc.StartLogon(bg, r.User.NemID, "Hemmelig42")
		wantErr(t, "the old password after a reset", err, auth.ErrInvalidCredentials)
		e.activate(t, &auth.Registered{User: r.User, TemporaryPassword: pw}, "Nyhemmelig7")
		e.logon(t, r.User.NemID, "Nyhemmelig7")

		// A reset ends every logon in progress: one at its code, and an
		// activation begun with the old temporary password.
		atCode, err := e.svc.StartLogon(bg, r.User.NemID, "Nyhemmelig7")
		if err != nil {
			t.Fatal(err)
		}
		pw, _, _ = e.svc.ResetPassword(bg, auth.OperatorActor("support"), r.User.NemID)
		activating, err := e.svc.StartLogon(bg, r.User.NemID, pw)
		if err != nil {
			t.Fatal(err)
		}
		if activating, err = e.svc.AnswerOTP(bg, activating.ID, activating.KeyNumber, e.code(t, activating)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.svc.ResetPassword(bg, auth.OperatorActor("support"), r.User.NemID); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.AnswerOTP(bg, atCode.ID, atCode.KeyNumber, e.code(t, atCode))
		wantCode(t, "the code of a logon begun before a reset", err, ooapi.AUTH010)
		_, err = e.svc.Activate(bg, activating.ID, "Fjerde44z", "")
		wantCode(t, "an activation begun before a reset", err, ooapi.AUTH009)
	})
}

func TestChallengeRules(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		r := e.register(t, "")
		e.activate(t, r, "Hemmelig42")
		a, err := e.svc.StartLogon(bg, r.User.NemID, "Hemmelig42")
		if err != nil {
			t.Fatal(err)
		}
		b, err := e.svc.StartLogon(bg, r.User.NemID, "Hemmelig42")
		if err != nil {
			t.Fatal(err)
		}
		if a.KeyNumber == b.KeyNumber && a.CardNumber == b.CardNumber {
			t.Error("two challenges asked for the same key")
		}
		// a is not the latest challenge.
		_, err = e.svc.AnswerOTP(bg, a.ID, a.KeyNumber, e.code(t, a))
		wantCode(t, "answering an older challenge", err, ooapi.AUTH010)
		// An answer for another key than the one asked for.
		_, err = e.svc.AnswerOTP(bg, b.ID, a.KeyNumber, e.code(t, a))
		wantCode(t, "answering another key", err, ooapi.AUTH010)
		// Each key works once: the answered flow cannot be answered again.
		if _, err := e.svc.AnswerOTP(bg, b.ID, b.KeyNumber, e.code(t, b)); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.AnswerOTP(bg, b.ID, b.KeyNumber, e.code(t, b))
		wantCode(t, "answering a key again", err, ooapi.AUTH010)
		// An expired challenge.
		c, err := e.svc.StartLogon(bg, r.User.NemID, "Hemmelig42")
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(auth.DefaultStepValidity)
		_, err = e.svc.AnswerOTP(bg, c.ID, c.KeyNumber, e.code(t, c))
		wantCode(t, "answering an expired challenge", err, ooapi.AUTH012)
		// An unknown flow.
		_, err = e.svc.AnswerOTP(bg, "0123456789abcdef0123456789abcdef", c.KeyNumber, "123456")
		wantCode(t, "answering an unknown flow", err, ooapi.SRV006)
		// Old flows are purged: the activation's and a, b and c.
		e.clock.Advance(time.Second)
		if n, err := e.svc.PurgeFlows(bg, 0); err != nil || n != 4 {
			t.Errorf("PurgeFlows = %d, %v; want the 4 flows", n, err)
		}
	})
}

func TestBlockUnblock(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		r := e.register(t, "")
		e.activate(t, r, "Hemmelig42")
		id := r.User.NemID
		open, err := e.svc.StartLogon(bg, id, "Hemmelig42")
		if err != nil {
			t.Fatal(err)
		}
		// A reason the logs cannot hold is refused, changing nothing.
		wantErr(t, "a reason with a line break", e.svc.Block(bg, auth.UserActor(id), id, "lost\nmy card"), auth.ErrInvalidReason)
		if u, _ := e.svc.Resolve(bg, id); u.State != auth.StateActive {
			t.Fatalf("after a refused block the user is %s", u.State)
		}
		if err := e.svc.Block(bg, auth.UserActor(id), id, "lost my card"); err != nil {
			t.Fatal(err)
		}
		u, _ := e.svc.Resolve(bg, id)
		if u.State != auth.StateBlocked || u.BlockedBy != "user" || u.StateReason != "lost my card" {
			t.Errorf("after Block: %+v", u)
		}
		_, err = e.svc.StartLogon(bg, id, "Hemmelig42")
		wantCode(t, "logon when blocked", err, ooapi.AUTH005)
		_, err = e.svc.AnswerOTP(bg, open.ID, open.KeyNumber, e.code(t, open))
		wantCode(t, "a flow begun before the block", err, ooapi.AUTH005)
		wantErr(t, "blocking twice", e.svc.Block(bg, auth.OperatorActor("support"), id, "again"), auth.ErrNotAllowed)
		_, _, err = e.svc.ResetPassword(bg, auth.OperatorActor("support"), id)
		wantErr(t, "resetting a blocked NemID", err, auth.ErrNotAllowed)
		_, err = e.svc.IssueKeyCard(bg, auth.OperatorActor("support"), id, false, "x")
		wantErr(t, "a card for a blocked NemID", err, auth.ErrNotAllowed)

		if err := e.svc.Unblock(bg, auth.OperatorActor("support"), id, "found the card"); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "unblocking twice", e.svc.Unblock(bg, auth.OperatorActor("support"), id, "x"), auth.ErrNotAllowed)
		e.logon(t, id, "Hemmelig42")

		// A locked NemID stays locked through a block and an unblock.
		for range auth.DefaultQuarantineAfter {
			e.svc.StartLogon(bg, id, "Forkert42")
		}
		e.clock.Advance(auth.DefaultQuarantine)
		for range auth.DefaultLockAfter {
			e.svc.StartLogon(bg, id, "Forkert42")
		}
		if err := e.svc.Block(bg, auth.OperatorActor("support"), id, "fraud suspected"); err != nil {
			t.Fatal(err)
		}
		if u, _ := e.svc.Resolve(bg, id); u.BlockedBy != "operator" {
			t.Errorf("BlockedBy = %q, want operator", u.BlockedBy)
		}
		if err := e.svc.Unblock(bg, auth.OperatorActor("support"), id, "cleared"); err != nil {
			t.Fatal(err)
		}
		if s := e.state(t, id); s != auth.StateLocked {
			t.Errorf("state after unblocking a locked NemID = %s, want locked", s)
		}
		if err := e.svc.Block(bg, "someone", id, "x"); err == nil {
			t.Error("Block by an invalid actor: no error")
		}
	})
}

func TestChangePassword(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		r := e.register(t, "")
		e.activate(t, r, "Hemmelig42")
		id := r.User.NemID
		f := e.logon(t, id, "Hemmelig42")
		wantErr(t, "a wrong current password", e.svc.ChangePassword(bg, f.ID, "Forkert42", "Andet99x"), auth.ErrInvalidCredentials)
		wantErr(t, "a new password breaking a rule", e.svc.ChangePassword(bg, f.ID, "Hemmelig42", "kort1"), auth.ErrPasswordTooShort)
		wantErr(t, "a new common password", e.svc.ChangePassword(bg, f.ID, "Hemmelig42", "password1"), auth.ErrPasswordCommon)
		if err := e.svc.ChangePassword(bg, f.ID, "Hemmelig42", "Andet99x"); err != nil {
			t.Fatal(err)
		}
		_, err := e.svc.StartLogon(bg, id, "Hemmelig42")
		wantErr(t, "the old password", err, auth.ErrInvalidCredentials)
		e.logon(t, id, "ANDET99X")

		// Only a done flow, and only in time.
		open, _ := e.svc.StartLogon(bg, id, "Andet99x")
		wantCode(t, "ChangePassword on a flow at the OTP step", e.svc.ChangePassword(bg, open.ID, "Andet99x", "Tredje77y"), ooapi.AUTH009)
		e.clock.Advance(auth.DefaultStepValidity)
		wantCode(t, "ChangePassword on an expired flow", e.svc.ChangePassword(bg, f.ID, "Andet99x", "Tredje77y"), ooapi.CAN003)
	})
}

func TestActivateRules(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		other := e.register(t, "Taget.Alias")
		r := e.register(t, "")
		f, err := e.svc.StartLogon(bg, r.User.NemID, r.TemporaryPassword)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Activate(bg, f.ID, "Hemmelig42", "")
		wantCode(t, "Activate before the code", err, ooapi.AUTH009)
		f, err = e.svc.AnswerOTP(bg, f.ID, f.KeyNumber, e.code(t, f))
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			pw, alias string
			want      error
		}{
			{"kort1", "", auth.ErrPasswordTooShort},
			{"Hemmelig42", "taget.ALIAS", auth.ErrAliasTaken},
			{"Hemmelig42", "abc", auth.ErrAliasTooShort},
			{"Mitalias7x", "mitalias7", auth.ErrPasswordContainsAlias},
			{"x" + r.User.NemID, "", auth.ErrPasswordContainsNemID},
			{"y" + r.User.CPR, "", auth.ErrPasswordContainsCPR},
		}
		for _, tc := range tests {
			_, err := e.svc.Activate(bg, f.ID, tc.pw, tc.alias)
			wantErr(t, "Activate("+tc.alias+")", err, tc.want)
		}
		// None of them changed anything: the flow still waits.
		done, err := e.svc.Activate(bg, f.ID, "Hemmelig42", "Mit.Alias")
		if err != nil || done.User.Alias != "Mit.Alias" {
			t.Fatalf("Activate = %+v, %v", done, err)
		}
		_, err = e.svc.Activate(bg, f.ID, "Hemmelig43", "")
		wantCode(t, "Activate twice", err, ooapi.AUTH009)
		_ = other
	})
}

func TestActivationTimesOut(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		r := e.register(t, "")
		f, _ := e.svc.StartLogon(bg, r.User.NemID, r.TemporaryPassword)
		f, err := e.svc.AnswerOTP(bg, f.ID, f.KeyNumber, e.code(t, f))
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(auth.DefaultStepValidity)
		_, err = e.svc.Activate(bg, f.ID, "Hemmelig42", "")
		wantCode(t, "Activate after the step's time", err, ooapi.CAN003)
		_, err = e.svc.StartLogon(bg, r.User.NemID, r.TemporaryPassword)
		wantCode(t, "the temporary password after a timed-out activation", err, ooapi.AUTH008)
	})
}

// TestUseFlowOnce: a done flow allows one signature; a flow not done, used
// already, expired, or of a user blocked meanwhile allows none.
func TestUseFlowOnce(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		r := e.register(t, "")
		e.activate(t, r, "Sommer2026")

		started, err := e.svc.StartLogon(ctx, r.User.NemID, "Sommer2026")
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.UseFlow(ctx, started.ID)
		wantCode(t, "UseFlow before the code", err, ooapi.AUTH009)

		f := e.logon(t, r.User.NemID, "Sommer2026")
		u, err := e.svc.UseFlow(ctx, f.ID)
		if err != nil || u.NemID != r.User.NemID {
			t.Fatalf("UseFlow = %+v, %v", u, err)
		}
		_, err = e.svc.UseFlow(ctx, f.ID)
		wantCode(t, "UseFlow twice", err, ooapi.AUTH009)
		_, err = e.svc.UseFlow(ctx, "no-such-flow")
		wantCode(t, "UseFlow of an unknown flow", err, ooapi.SRV006)

		late := e.logon(t, r.User.NemID, "Sommer2026")
		e.clock.Advance(auth.DefaultStepValidity)
		_, err = e.svc.UseFlow(ctx, late.ID)
		wantCode(t, "UseFlow after the step validity", err, ooapi.CAN003)

		blocked := e.logon(t, r.User.NemID, "Sommer2026")
		if err := e.svc.Block(ctx, auth.OperatorActor("test"), r.User.NemID, "lost card"); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.UseFlow(ctx, blocked.ID)
		wantCode(t, "UseFlow of a user blocked meanwhile", err, ooapi.AUTH005)
	})
}

// TestChangePasswordAndAlias: a new alias with the new password, checked
// by the alias rules and taken only if free; the user-id then works.
func TestChangePasswordAndAlias(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.register(t, "Taget.Alias")
		r := e.register(t, "")
		e.activate(t, r, "Hemmelig42")
		f := e.logon(t, r.User.NemID, "Hemmelig42")
		wantErr(t, "an alias breaking a rule", e.svc.ChangePasswordWith(bg, f.ID, "Hemmelig42", "Andet99x", "ab", auth.CredentialChange{}), auth.ErrAliasTooShort)
		wantErr(t, "a taken alias", e.svc.ChangePasswordWith(bg, f.ID, "Hemmelig42", "Andet99x", "taget.alias", auth.CredentialChange{}), auth.ErrAliasTaken)
		if err := e.svc.ChangePasswordWith(bg, f.ID, "Hemmelig42", "Andet99x", "Mit.Nye.Alias", auth.CredentialChange{}); err != nil {
			t.Fatal(err)
		}
		e.logon(t, "mit.nye.alias", "Andet99x")
	})
}
