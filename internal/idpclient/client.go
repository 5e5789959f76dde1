// Package idpclient speaks the JS client's server API (docs/idp.md) from
// Go: what the browser's client script does once the service provider's
// page has handed it the parameters, minus the user interface. Tools (`nemid
// bench logon`) and tests use it to run logons and signatures against a
// server over HTTP.
//
// A Client starts a flow with the parameters and the page's origin; each
// later step is a method of the Flow. Every answer is an Answer: the next
// step, a retry of this one, or the end (Done), which Answer.Outcome
// decodes into the signed response document or the error code.
//
// The flow secret travels only in request bodies, never in a URL, and no
// error of this package repeats it or any password or code.
package idpclient

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/nemid-dk/nemid/ooapi"
)

// Modes of the client page (spec 1.1): limited (responsive) and standard.
const (
	ModeLimited  = "lmt"
	ModeStandard = "std"
)

// maxAnswer bounds an answer's body: a signed response to an HTML sign
// text of the server's 1 MiB parameter limit, in base64, fits well.
const maxAnswer = 8 << 20

// Client calls one server's API.
type Client struct {
	// BaseURL is the server's base, e.g. "http://127.0.0.1:8080"; the API
	// is at BaseURL + "/launcher/api/<step>".
	BaseURL string
	// HTTP sends the requests; nil means http.DefaultClient.
	HTTP *http.Client
}

// Answer is one answer of the API (docs/idp.md): exactly one of Step (the
// next step), Retry (this step again, for Field) and Done (the end) is
// set, with the fields that go with it.
type Answer struct {
	// Step is "credentials" (after start), "otp", "activate" or "update".
	Step string `json:"step"`
	// Flow is the flow secret, in the answer to start only. A Flow keeps
	// it; do not log it.
	Flow string `json:"flow"`

	// The answer to start: the flow's language, UI texts, the service
	// provider's friendly name, the action ("logon" or "sign"), and how
	// the page should look.
	Language         string            `json:"language"`
	Texts            map[string]string `json:"texts"`
	SP               string            `json:"sp"`
	Action           string            `json:"action"`
	SignText         *SignTextInfo     `json:"signText"`
	RememberedUserID string            `json:"rememberedUserId"`
	ShowRemember     bool              `json:"showRemember"`
	RememberChecked  bool              `json:"rememberChecked"`
	// ShowCancel is nil when the answer does not say (every answer but
	// start's).
	ShowCancel     *bool `json:"showCancel"`
	TimeoutSeconds int   `json:"timeoutSeconds"`

	// Card and Key name the key-card code to ask for (step "otp", and a
	// retry of it).
	Card string `json:"card"`
	Key  string `json:"key"`
	// AliasAllowed: the activate (or update) step may set an alias.
	AliasAllowed bool `json:"aliasAllowed"`

	// Retry is the text that says what was wrong, in the flow's language;
	// Field is the input it is about: "userid", "password", "code",
	// "newPassword" or "alias".
	Retry string `json:"retry"`
	Field string `json:"field"`

	// Done is base64 of the signed response or of an error code (see
	// Outcome); Origin is where the client posts it; Message is the text
	// to show when the end is an error.
	Done    string `json:"done"`
	Origin  string `json:"origin"`
	Message string `json:"message"`
}

// SignTextInfo is how the sign text of a signing flow is shown.
type SignTextInfo struct {
	Format    string `json:"format"` // "text" or "html"
	Monospace bool   `json:"monospace"`
}

// Ended reports whether the flow has ended with this answer.
func (a *Answer) Ended() bool { return a.Done != "" }

// Outcome decodes Done: the signed response document (XML) when the flow
// ended with one, or else the error code it ended with. An answer that is
// not an end, or whose Done is neither, is an error.
func (a *Answer) Outcome() (document []byte, code ooapi.Code, err error) {
	if a.Done == "" {
		return nil, "", errors.New("idpclient: the answer is not the end of the flow")
	}
	b, err := base64.StdEncoding.Strict().DecodeString(a.Done)
	if err != nil || len(b) == 0 {
		return nil, "", errors.New("idpclient: done is not base64 of a response or an error code")
	}
	if b[0] == '<' {
		return b, "", nil
	}
	// An error code is a few capitals and digits (CAN002, LOCK001, …); the
	// server may send one this package does not know, so only the form is
	// checked.
	if len(b) > 16 || strings.Trim(string(b), "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
		return nil, "", errors.New("idpclient: done is neither an XML document nor an error code")
	}
	return nil, ooapi.Code(b), nil
}

// Code is the error code the flow ended with: "" when the answer is not an
// end, ends with a response, or cannot be decoded (Outcome says why).
func (a *Answer) Code() ooapi.Code {
	_, code, err := a.Outcome()
	if err != nil {
		return ""
	}
	return code
}

// HTTPError is an API call the server refused with a status other than
// 200: 400 (a malformed call), 403 (cross-site), 415 (not JSON), 500 (an
// internal error; the browser's client then ends with SRV004).
type HTTPError struct {
	Step   string
	Status int
	// Body is the start of the server's plain-text reason.
	Body string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("idpclient: %s: HTTP %d %s", e.Step, e.Status, e.Body)
}

// Flow is one started flow: it holds the flow secret that each step sends.
// A Flow is safe for concurrent use, but the server lets only one call of a
// step win; the client's script never sends two at once.
type Flow struct {
	c      *Client
	secret string
}

// Start sends the service provider's parameter set (the JSON its page
// posted with the "parameters" command), the origin of that page and the
// client mode. When the server accepts them the flow is returned with the
// answer (step "credentials"); when it refuses them the answer is the end,
// with the error code, and the Flow is nil.
func (c *Client) Start(ctx context.Context, parameterJSON []byte, origin, mode string) (*Flow, *Answer, error) {
	a, err := c.call(ctx, "start", map[string]any{"parameters": string(parameterJSON), "origin": origin, "mode": mode})
	if err != nil {
		return nil, nil, err
	}
	if a.Flow == "" {
		if !a.Ended() {
			return nil, nil, errors.New("idpclient: start answered with neither a flow nor an end")
		}
		return nil, a, nil
	}
	return &Flow{c: c, secret: a.Flow}, a, nil
}

// Resume is a flow whose secret is known, continued through this client:
// on another server of the installation, or after a restart.
func (c *Client) Resume(secret string) *Flow { return &Flow{c: c, secret: secret} }

// Secret is the flow secret, for what the API does not carry: the form
// post that shows the sign text (/launcher/signtext), or Resume. Whoever
// holds it can finish the flow: never log it or put it in a URL.
func (f *Flow) Secret() string { return f.secret }

// Password sends the user-id and password; remember asks for a
// remember-user-id token in the response (REMEMBER_USERID). The answer is
// the "otp" step, a retry, or the end.
func (f *Flow) Password(ctx context.Context, userID, password string, remember bool) (*Answer, error) {
	return f.step(ctx, "password", map[string]any{"userId": userID, "password": password, "remember": remember})
}

// OTP sends the key-card code. The answer is the "activate" step (after a
// temporary password), the "update" step (CREDENTIAL_UPDATE), a retry (with
// the key to ask for now), or the end: the signed response or an error code.
func (f *Flow) OTP(ctx context.Context, code string) (*Answer, error) {
	return f.step(ctx, "otp", map[string]any{"code": code})
}

// Activate sets the first personal password, and an alias unless alias is
// "". The answer is a retry or the end.
func (f *Flow) Activate(ctx context.Context, newPassword, alias string) (*Answer, error) {
	return f.step(ctx, "activate", map[string]any{"newPassword": newPassword, "alias": alias})
}

// Update changes the password — and, when the answer allowed it, the
// alias (unless "") — at the update step (CREDENTIAL_UPDATE), giving the
// current password again.
func (f *Flow) Update(ctx context.Context, current, newPassword, alias string) (*Answer, error) {
	return f.step(ctx, "update", map[string]any{"password": current, "newPassword": newPassword, "alias": alias})
}

// Cancel ends the flow at the user's wish (CAN002, or CAN001 after a
// temporary password).
func (f *Flow) Cancel(ctx context.Context) (*Answer, error) {
	return f.step(ctx, "cancel", map[string]any{})
}

// Timeout ends the flow because the user was idle (CAN003).
func (f *Flow) Timeout(ctx context.Context) (*Answer, error) {
	return f.step(ctx, "timeout", map[string]any{})
}

func (f *Flow) step(ctx context.Context, step string, body map[string]any) (*Answer, error) {
	body["flow"] = f.secret
	return f.c.call(ctx, step, body)
}

// call posts one step as the client's script in the launcher page does:
// JSON, marked as a same-origin request.
func (c *Client) call(ctx context.Context, step string, body map[string]any) (*Answer, error) {
	payload, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.BaseURL, "/")+"/launcher/api/"+step, bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("idpclient: %s: %w", step, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		// *url.Error names the URL, which holds no secret.
		return nil, fmt.Errorf("idpclient: %s: %w", step, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer+1))
	if err != nil {
		return nil, fmt.Errorf("idpclient: %s: reading the answer: %w", step, err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, &HTTPError{Step: step, Status: res.StatusCode, Body: reason(data)}
	}
	if len(data) > maxAnswer {
		return nil, fmt.Errorf("idpclient: %s: the answer is over %d bytes", step, maxAnswer)
	}
	var a Answer
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, fmt.Errorf("idpclient: %s: the answer is not the API's JSON: %v", step, err)
	}
	return &a, nil
}

// reason is the first line of an error body, cut short: the server's
// refusals are one short line of text.
func reason(body []byte) string {
	s, _, _ := strings.Cut(string(body), "\n")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return strings.TrimSpace(s)
}
