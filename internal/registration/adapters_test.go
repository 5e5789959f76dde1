package registration_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/nemid-dk/nemid/internal/audit"
	"github.com/nemid-dk/nemid/internal/auth"
	"github.com/nemid-dk/nemid/internal/outbox"
)

// TestLetters: the letters auth sends after registration (a reset's
// temporary password, a new key card) reach the outbox through the
// service's Mailer, readable, and work.
func TestLetters(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		r := e.register(t, "")
		temp, _, err := e.svc.ResetPassword(ctx, auth.OperatorActor("test"), r.User.NemID)
		if err != nil {
			t.Fatal(err)
		}
		card, err := e.svc.NewKeyCard(ctx, auth.OperatorActor("test"), r.User.NemID, true, "lost")
		if err != nil {
			t.Fatal(err)
		}
		list, err := e.svc.Outbox().List(ctx, outbox.Filter{User: r.User.NemID})
		if err != nil || len(list) != 4 {
			t.Fatalf("outbox: %d letters (%v), want 4", len(list), err)
		}
		// Newest first: the card, then the reset's password.
		cardLetter, err := e.svc.Outbox().Show(ctx, list[0].ID)
		if err != nil || !strings.Contains(cardLetter.Body, card.Number) || !strings.HasPrefix(string(cardLetter.Attachment), "%PDF-") {
			t.Errorf("the new card's letter: %v", err)
		}
		pwLetter, err := e.svc.Outbox().Show(ctx, list[1].ID)
		if err != nil || !strings.Contains(pwLetter.Body, temp) || !strings.Contains(pwLetter.Body, r.User.NemID) {
			t.Errorf("the reset's letter: %v", err)
		}
		// The new card is the current one (the old was revoked): the
		// activation takes its codes.
		e.activate(t, r.User.NemID, temp, "Sommer2026", card)
		if _, err := e.svc.Auth().StartLogon(ctx, r.User.NemID, "sommer2026"); err != nil {
			t.Fatal(err)
		}
	})
}

// TestAuditor: auth's security events reach the audit log through the
// service's Auditor, as valid entries without secrets, in a chain that
// verifies.
func TestAuditor(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		r := e.register(t, "")
		if _, err := e.svc.Auth().StartLogon(ctx, r.User.NemID, "wrong1pw"); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatal(err)
		}
		if _, err := e.svc.Auth().StartLogon(ctx, "nobody.here", "wrong1pw"); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatal(err)
		}
		e.activate(t, r.User.NemID, r.TemporaryPassword, "Sommer2026", r.Card)
		recs, err := e.svc.AuditLog().Records(ctx, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		count := map[string]int{}
		for _, rec := range recs {
			count[string(rec.Action)+"/"+string(rec.Outcome)]++
			if rec.Action == audit.LogonAttempt && rec.Outcome == audit.Failure && rec.Subject == "user:unknown" && rec.Actor != audit.System {
				t.Errorf("an unknown user-id's attempt is recorded with actor %s", rec.Actor)
			}
		}
		for _, want := range []string{"logon-attempt/failure", "logon-attempt/success", "otp-use/success", "activation/success"} {
			if count[want] == 0 {
				t.Errorf("no %s in the audit log: %v", want, count)
			}
		}
		if count["logon-attempt/failure"] != 2 {
			t.Errorf("%d failed logon attempts recorded, want 2", count["logon-attempt/failure"])
		}
		rep, err := e.svc.AuditLog().Verify(ctx)
		if err != nil || rep.Problem != nil {
			t.Errorf("audit verify: %+v, %v", rep, err)
		}
		noSecretsInAudit(t, e, mustResolve(t, e, r.User.NemID), r.TemporaryPassword, r.Card)
	})
}
