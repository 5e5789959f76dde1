package idp_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"sync"
	"testing"

	"github.com/nemid-dk/nemid/internal/idp/idptest"
	"github.com/nemid-dk/nemid/internal/idpclient"
	"github.com/nemid-dk/nemid/ooapi"
)

// TestSignPropertiesChecked: SIGN_PROPERTIES that pose as NemID's own
// properties, repeat a name or carry what XML cannot are refused at the
// start (APP001), before any user spends a key.
func TestSignPropertiesChecked(t *testing.T) {
	e := idptest.NewEnv(t, "sqlite")
	for _, props := range []string{
		"challenge=1;RequestIssuer=Someone else",
		"challenge=1;identityassurancelevel=2",
		"challenge=1;challenge=2",
		"challenge=1;a b=c",
		"challenge=1;note=line\nbreak",
	} {
		ps, err := e.Signer.SignParams([]ooapi.Param{
			{Name: "CLIENTFLOW", Value: "OCESLOGIN2"},
			{Name: "SP_CERT", Value: spCertB64(e)},
			{Name: "TIMESTAMP", Value: ooapi.FormatTimestamp(e.Clock.Now())},
			{Name: "ORIGIN", Value: idptest.SPOrigin},
			{Name: "SIGN_PROPERTIES", Value: props},
		})
		if err != nil {
			t.Fatal(err)
		}
		f, a := e.Start(t, string(ps.JSON()), idptest.SPOrigin)
		if f != nil || a.Code() != ooapi.APP001 {
			t.Errorf("SIGN_PROPERTIES %q: %+v, want APP001", props, a)
		}
	}
}

// TestFlowWrongPasswordLimit: one flow takes five wrong passwords, across
// whatever user-ids, then ends with AUTH009.
func TestFlowWrongPasswordLimit(t *testing.T) {
	e := idptest.NewEnv(t, "sqlite")
	users := []*idptest.User{e.Active(t), e.Active(t), e.Active(t)}
	c := e.StartLogon(t, ooapi.LogonOptions{})
	for i := 0; i < 4; i++ {
		a := c.Password(t, users[i%len(users)].NemID(), fmt.Sprintf("Forkert%d026", i))
		if a.Retry == "" {
			t.Fatalf("wrong password %d: %+v", i+1, a)
		}
	}
	if a := c.Password(t, users[1].NemID(), "Forkert9026"); a.Code() != ooapi.AUTH009 {
		t.Fatalf("the fifth wrong password in one flow: %+v, want AUTH009", a)
	}
	// The users are not locked by it: each had at most two wrong passwords.
	c = e.StartLogon(t, ooapi.LogonOptions{})
	if a := c.Logon(t, users[0]); a.Code() != "" {
		t.Errorf("a user of the sprayed flow logs on: %+v", a)
	}
}

// TestRememberTokenBoundToSP: a token issued at one service provider fills
// in nothing at another.
func TestRememberTokenBoundToSP(t *testing.T) {
	e := idptest.NewEnv(t, "sqlite")
	u := e.Active(t)
	c := e.StartLogon(t, ooapi.LogonOptions{ClientOptions: ooapi.ClientOptions{RememberUserID: true}})
	a := c.PasswordRemember(t, u.NemID(), u.Password)
	a = c.OTP(t, u.Code(t, a.Key))
	res, err := e.Validator(t, c).Logon(context.Background(), "session", a.Done)
	if err != nil || res.RememberUseridToken == "" {
		t.Fatalf("no token: %v", err)
	}
	const otherOrigin = "https://other-shop.example"
	_, other := e.AddSP(t, "Anden butik", otherOrigin, "11223344")
	ps, _, err := other.Logon(ooapi.LogonOptions{ClientOptions: ooapi.ClientOptions{Origin: otherOrigin, RememberUserIDToken: res.RememberUseridToken}})
	if err != nil {
		t.Fatal(err)
	}
	f, start := e.Start(t, string(ps.JSON()), otherOrigin)
	if f == nil || start.RememberedUserID != "" || !start.ShowRemember {
		t.Errorf("another SP's token: %+v", start)
	}
	// At the SP it was issued to, it fills in the user-id.
	c = e.StartLogon(t, ooapi.LogonOptions{ClientOptions: ooapi.ClientOptions{RememberUserIDToken: res.RememberUseridToken}})
	if c.Start.RememberedUserID != u.NemID() {
		t.Errorf("the SP's own token: %+v", c.Start)
	}
}

func spCertB64(e *idptest.Env) string { return base64.StdEncoding.EncodeToString(e.Signer.Cert.Raw) }

// TestCredentialUpdate: CREDENTIAL_UPDATE=PASSWORD asks, after the code,
// for the current and a new password; ALIAS for an alias too. The response
// is then signed, and the new credentials log on.
func TestCredentialUpdate(t *testing.T) {
	e := idptest.NewEnv(t, "sqlite")
	u := e.Active(t)
	for _, tc := range []struct{ kind, newPassword, alias string }{
		{"PASSWORD", "Efteraar2026", ""},
		{"ALIAS", "Vinter2026x", "Ny.Bruger.42"},
	} {
		ps, ch, err := e.Signer.Logon(ooapi.LogonOptions{ClientOptions: ooapi.ClientOptions{Origin: idptest.SPOrigin}, CredentialUpdate: tc.kind})
		if err != nil {
			t.Fatal(err)
		}
		c := e.StartSession(t, ps, ch, idptest.SPOrigin)
		a := c.Password(t, u.NemID(), u.Password)
		a = c.OTP(t, u.Code(t, a.Key))
		if a.Step != "update" || a.AliasAllowed != (tc.kind == "ALIAS") {
			t.Fatalf("%s: after the code: %+v", tc.kind, a)
		}
		ctx := context.Background()
		a, err = c.Flow().Update(ctx, "Forkert2026", tc.newPassword, tc.alias)
		if err != nil || a.Retry == "" || a.Field != "password" {
			t.Fatalf("%s: a wrong current password: %+v, %v", tc.kind, a, err)
		}
		if a, err = c.Flow().Update(ctx, u.Password, "kort", tc.alias); err != nil || a.Retry == "" || a.Field != "newPassword" {
			t.Fatalf("%s: a new password breaking a rule: %+v, %v", tc.kind, a, err)
		}
		if a, err = c.Flow().Update(ctx, u.Password, tc.newPassword, tc.alias); err != nil || a.Code() != "" {
			t.Fatalf("%s: the update: %+v, %v", tc.kind, a, err)
		}
		if _, err := e.Validator(t, c).Logon(ctx, "session", a.Done); err != nil {
			t.Fatalf("%s: the response after the update: %v", tc.kind, err)
		}
		u.Password = tc.newPassword
		userID := u.NemID()
		if tc.alias != "" {
			userID = tc.alias
		}
		c = e.StartLogon(t, ooapi.LogonOptions{})
		a = c.Password(t, userID, u.Password)
		if a.Step != "otp" {
			t.Fatalf("%s: logon with the new credentials: %+v", tc.kind, a)
		}
	}
}

// TestDoubleSubmit: the same code sent four times at once (a double
// submit) gives one response, which validates; the other calls are told
// AUTH009 without touching the logon.
func TestDoubleSubmit(t *testing.T) {
	e := idptest.NewEnv(t, "sqlite")
	u := e.Active(t)
	for round := 0; round < 3; round++ {
		c := e.StartLogon(t, ooapi.LogonOptions{})
		a := c.Password(t, u.NemID(), u.Password)
		code := u.Code(t, a.Key)
		answers := make([]*idpclient.Answer, 4)
		var wg sync.WaitGroup
		for i := range answers {
			wg.Go(func() { answers[i] = c.OTP(t, code) })
		}
		wg.Wait()
		responses := 0
		for _, a := range answers {
			switch a.Code() {
			case "":
				responses++
				if _, err := e.Validator(t, c).Logon(context.Background(), "session", a.Done); err != nil {
					t.Errorf("the response does not validate: %v", err)
				}
			case ooapi.AUTH009:
			default:
				t.Errorf("a concurrent code: %+v", a)
			}
		}
		if responses != 1 {
			t.Errorf("round %d: %d responses from four concurrent codes, want 1", round, responses)
		}
	}
}
