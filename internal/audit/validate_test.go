package audit

import (
	"errors"
	"strings"
	"testing"
)

func validEntry() Entry {
	return Entry{Actor: Operator, Action: CertificateIssued, Subject: Certificate("4f3a"), Outcome: Success,
		Detail: map[string]string{"profile": "poces"}}
}

func TestValidateAccepts(t *testing.T) {
	for name, change := range map[string]func(e *Entry){
		"as is":              func(*Entry) {},
		"system":             func(e *Entry) { e.Actor = System },
		"user actor":         func(e *Entry) { e.Actor = User("a1b2-C3.d_4") },
		"sp actor":           func(e *Entry) { e.Actor = ServiceProvider(17) },
		"nemid number":       func(e *Entry) { e.Subject = User("123456789") },
		"identity subject":   func(e *Entry) { e.Subject = "identity:PID:9208-2002-2-123456789012" },
		"failure with code":  func(e *Entry) { e.Outcome, e.Code = Failure, "LOCK001" },
		"refused with code":  func(e *Entry) { e.Outcome, e.Code = Refused, "APP001" },
		"failure, no code":   func(e *Entry) { e.Outcome = Failure },
		"no detail":          func(e *Entry) { e.Detail = nil },
		"unicode value":      func(e *Entry) { e.Detail = map[string]string{"name": "Søren Ærø ✓"} },
		"longest value":      func(e *Entry) { e.Detail = map[string]string{"note": strings.Repeat("x", MaxDetailValue)} },
		"five digits":        func(e *Entry) { e.Detail = map[string]string{"count": "12345"} },
		"seven digits":       func(e *Entry) { e.Detail = map[string]string{"count": "1234567"} },
		"most detail":        func(e *Entry) { e.Detail = manyDetails(MaxDetailEntries) },
		"every action":       nil,
		"longest detail key": func(e *Entry) { e.Detail = map[string]string{strings.Repeat("a", MaxDetailKey): "x"} },
	} {
		if change == nil {
			for _, a := range Actions() {
				e := validEntry()
				e.Action = a
				if err := e.Validate(); err != nil {
					t.Errorf("action %s: %v", a, err)
				}
			}
			continue
		}
		e := validEntry()
		change(&e)
		if err := e.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func manyDetails(n int) map[string]string {
	d := map[string]string{}
	for i := range n {
		d["f"+strings.Repeat("x", i)] = "v"
	}
	return d
}

func TestValidateRefuses(t *testing.T) {
	tests := []struct {
		name   string
		change func(e *Entry)
		want   string // in the message
		secret string // must not be in the message
	}{
		{"no actor", func(e *Entry) { e.Actor = "" }, "no actor", ""},
		{"actor kind", func(e *Entry) { e.Actor = "admin" }, `actor: want "operator"`, ""},
		{"actor operator id", func(e *Entry) { e.Actor = "operator:alice" }, `actor: want "operator"`, ""},
		{"actor empty id", func(e *Entry) { e.Actor = "user:" }, "actor user:<id>", ""},
		{"actor id chars", func(e *Entry) { e.Actor = "user:a b" }, "actor user:<id>", ""},
		{"actor id long", func(e *Entry) { e.Actor = User(strings.Repeat("1", MaxRefID+1)) }, "actor user:<id>", ""},
		{"actor CPR", func(e *Entry) { e.Actor = User("0101701234") }, "shape of a CPR number", "0101701234"},
		{"action", func(e *Entry) { e.Action = "delete-everything" }, `action "delete-everything"`, ""},
		{"no action", func(e *Entry) { e.Action = "" }, `action ""`, ""},
		{"no subject", func(e *Entry) { e.Subject = "" }, "no subject", ""},
		{"subject no kind", func(e *Entry) { e.Subject = "17" }, "subject: want <kind>:<id>", ""},
		{"subject kind case", func(e *Entry) { e.Subject = "User:17" }, "subject: want <kind>:<id>", ""},
		{"subject cpr kind", func(e *Entry) { e.Subject = "cpr:0101701234" }, "CPR number is never recorded", "0101701234"},
		{"subject CPR", func(e *Entry) { e.Subject = User("010170-1234") }, "shape of a CPR number", "010170-1234"},
		{"subject space", func(e *Entry) { e.Subject = "user:a b" }, "printable ASCII", ""},
		{"subject newline", func(e *Entry) { e.Subject = "user:a\nb" }, "printable ASCII", ""},
		{"subject empty id", func(e *Entry) { e.Subject = "user:" }, "1 to 200", ""},
		{"outcome", func(e *Entry) { e.Outcome = "ok" }, `outcome "ok"`, ""},
		{"success with code", func(e *Entry) { e.Code = "LOCK001" }, "only a failure or a refusal", ""},
		{"code form", func(e *Entry) { e.Outcome, e.Code = Failure, "lock001" }, "not a NemID error code", ""},
		{"code too short", func(e *Entry) { e.Outcome, e.Code = Failure, "AB001" }, "not a NemID error code", ""},
		{"code too long", func(e *Entry) { e.Outcome, e.Code = Failure, "LOCKS001" }, "not a NemID error code", ""},
		{"too much detail", func(e *Entry) { e.Detail = manyDetails(MaxDetailEntries + 1) }, "at most 16", ""},
		{"detail key form", func(e *Entry) { e.Detail = map[string]string{"Profile": "x"} }, `detail key "Profile"`, ""},
		{"detail key long", func(e *Entry) { e.Detail = map[string]string{strings.Repeat("a", MaxDetailKey+1): "x"} }, "at most 32 bytes", ""},
		{"password key", func(e *Entry) { e.Detail = map[string]string{"password": "hunter22"} }, `contains "pass"`, "hunter22"},
		{"passwd key", func(e *Entry) { e.Detail = map[string]string{"old_passwd": "hunter22"} }, `contains "pass"`, "hunter22"},
		{"pwd key", func(e *Entry) { e.Detail = map[string]string{"pwd": "hunter22"} }, `contains "pwd"`, "hunter22"},
		{"code key", func(e *Entry) { e.Detail = map[string]string{"otp_code": "x12345"} }, `contains "code"`, "x12345"},
		{"pin key", func(e *Entry) { e.Detail = map[string]string{"pin": "x1234"} }, `contains "pin"`, "x1234"},
		{"key key", func(e *Entry) { e.Detail = map[string]string{"private_key": "MIIE"} }, `contains "key"`, "MIIE"},
		{"keycard key", func(e *Entry) { e.Detail = map[string]string{"keycard": "A1"} }, `contains "key"`, ""},
		{"token key", func(e *Entry) { e.Detail = map[string]string{"session_token": "abc"} }, `contains "token"`, "abc"},
		{"cpr key", func(e *Entry) { e.Detail = map[string]string{"cpr": "x"} }, `contains "cpr"`, ""},
		{"secret key", func(e *Entry) { e.Detail = map[string]string{"client_secret": "s3"} }, `contains "secret"`, "s3"},
		{"long value", func(e *Entry) { e.Detail = map[string]string{"note": strings.Repeat("x", MaxDetailValue+1)} }, "201 bytes", ""},
		{"invalid UTF-8", func(e *Entry) { e.Detail = map[string]string{"note": "\xff"} }, "not valid UTF-8", ""},
		{"newline value", func(e *Entry) { e.Detail = map[string]string{"note": "a\nb"} }, "unprintable", ""},
		{"bidi override", func(e *Entry) { e.Detail = map[string]string{"note": "a\u202eb"} }, "unprintable", ""},
		{"CPR value", func(e *Entry) { e.Detail = map[string]string{"who": "0101701234"} }, "shape of a CPR number", "0101701234"},
		{"CPR value dash", func(e *Entry) { e.Detail = map[string]string{"who": "010170-1234"} }, "shape of a CPR number", "010170-1234"},
		{"code value", func(e *Entry) { e.Detail = map[string]string{"entered": "493817"} }, "six digits", "493817"},
	}
	for _, tc := range tests {
		e := validEntry()
		tc.change(&e)
		err := e.Validate()
		switch {
		case err == nil:
			t.Errorf("%s: Validate accepted %+v", tc.name, e)
		case !errors.Is(err, ErrInvalidEntry):
			t.Errorf("%s: err = %v, want ErrInvalidEntry", tc.name, err)
		case !strings.Contains(err.Error(), tc.want):
			t.Errorf("%s: err = %v, want it to say %q", tc.name, err, tc.want)
		case tc.secret != "" && strings.Contains(err.Error(), tc.secret):
			t.Errorf("%s: err = %v: it repeats the refused value", tc.name, err)
		}
	}
}
