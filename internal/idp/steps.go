package idp

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/nemid-dk/nemid/internal/audit"
	"github.com/nemid-dk/nemid/internal/auth"
	"github.com/nemid-dk/nemid/internal/keyvault"
	"github.com/nemid-dk/nemid/internal/registration"
	"github.com/nemid-dk/nemid/internal/spcheck"
	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/internal/web"
	"github.com/nemid-dk/nemid/ooapi"
	"github.com/nemid-dk/nemid/ooapi/xmldsig"
)

// request is every field a step of the client's API may carry
// (docs/idp.md); each step reads its own.
type request struct {
	Parameters  string `json:"parameters"`
	Origin      string `json:"origin"`
	Mode        string `json:"mode"`
	Flow        string `json:"flow"`
	UserID      string `json:"userId"`
	Password    string `json:"password"`
	Remember    bool   `json:"remember"`
	Code        string `json:"code"`
	NewPassword string `json:"newPassword"`
	Alias       string `json:"alias"`
}

// answer is what a step answers (docs/idp.md): the next step, a retry of
// this one, or the end (done).
type answer struct {
	Step             string            `json:"step,omitempty"`
	Flow             string            `json:"flow,omitempty"`
	Language         string            `json:"language,omitempty"`
	Texts            map[string]string `json:"texts,omitempty"`
	SP               string            `json:"sp,omitempty"`
	Action           string            `json:"action,omitempty"`
	SignText         *signTextInfo     `json:"signText,omitempty"`
	RememberedUserID string            `json:"rememberedUserId,omitempty"`
	ShowRemember     bool              `json:"showRemember,omitempty"`
	RememberChecked  bool              `json:"rememberChecked,omitempty"`
	ShowCancel       *bool             `json:"showCancel,omitempty"`
	TimeoutSeconds   int               `json:"timeoutSeconds,omitempty"`
	Card             string            `json:"card,omitempty"`
	Key              string            `json:"key,omitempty"`
	AliasAllowed     bool              `json:"aliasAllowed,omitempty"`
	Retry            string            `json:"retry,omitempty"`
	Field            string            `json:"field,omitempty"`
	Done             string            `json:"done,omitempty"`
	Origin           string            `json:"origin,omitempty"`
	Message          string            `json:"message,omitempty"`
}

type signTextInfo struct {
	Format    string `json:"format"`
	Monospace bool   `json:"monospace,omitempty"`
}

// errBadRequest marks a malformed API call (HTTP 400): not a user's
// mistake but a client that does not speak the API.
var errBadRequest = errors.New("idp: malformed request")

// flowCtx is a flow loaded for a step.
type flowCtx struct {
	secret string
	row    store.IdPFlow
	ps     *ooapi.ParameterSet
	lang   ooapi.Language
	action string // "logon" or "sign"
}

// Parameter values the client acts on.
const (
	actionLogon = "logon"
	actionSign  = "sign"
)

func isTrue(v string) bool { return strings.EqualFold(v, "TRUE") }

// languageOf is the flow's language: LANGUAGE if it names one, else Danish.
func languageOf(ps *ooapi.ParameterSet) ooapi.Language {
	v, _ := ps.Get(ooapi.ParamLanguage)
	switch l := ooapi.Language(strings.ToUpper(v)); l {
	case ooapi.EN, ooapi.KL:
		return l
	}
	return ooapi.DA
}

func actionOf(ps *ooapi.ParameterSet) string {
	if v, _ := ps.Get(ooapi.ParamClientFlow); strings.EqualFold(v, "OCESSIGN2") {
		return actionSign
	}
	return actionLogon
}

// refusal ends a start whose parameters were refused: the code goes to the
// page that posted them.
func (s *Service) refusal(ctx context.Context, origin string, lang ooapi.Language, code ooapi.Code, sp int64, why string) *answer {
	s.log.Info("idp: parameters refused", "code", code, "origin", origin, "sp", sp, "reason", why)
	s.ends.WithLabelValues("none", string(code)).Inc()
	// Only a refusal of parameters a registered SP signed is a security
	// event of that SP; anything else anyone can send, and it is logged
	// and counted, not written to the audit log.
	if sp != 0 {
		s.appendAudit(ctx, audit.Entry{Actor: audit.ServiceProvider(sp), Action: audit.ClientStart, Subject: audit.ServiceProvider(sp),
			Outcome: audit.Refused, Code: string(code), Detail: map[string]string{"origin": origin}})
	}
	return &answer{Done: encodeCode(code), Origin: origin, Message: web.CodeText(lang, code)}
}

func encodeCode(c ooapi.Code) string { return base64.StdEncoding.EncodeToString([]byte(c)) }

// start takes the service provider's parameters and begins a flow.
func (s *Service) start(ctx context.Context, req request) (*answer, error) {
	if req.Mode != "lmt" && req.Mode != "std" {
		return nil, errBadRequest
	}
	if !isOrigin(req.Origin) {
		return nil, errBadRequest
	}
	ps, err := ooapi.ParseParameters([]byte(req.Parameters))
	if err != nil {
		var pe *ooapi.ParseError
		code := ooapi.APP001
		if errors.As(err, &pe) {
			code = pe.Code
		}
		return s.refusal(ctx, req.Origin, ooapi.DA, code, 0, err.Error()), nil
	}
	lang := languageOf(ps)
	if ps.Client() != ooapi.JSClient {
		return s.refusal(ctx, req.Origin, lang, ooapi.APP001, 0, "a CodeFile parameter set sent to the JS client"), nil
	}
	now := s.clock.Now()
	if problems := ooapi.VerifyParameters(ps, now, ooapi.VerifyOptions{Origin: req.Origin, Location: s.loc}); len(problems) > 0 {
		all := make([]string, len(problems))
		for i, p := range problems {
			all[i] = p.String()
		}
		return s.refusal(ctx, req.Origin, lang, problems[0].Code, 0, strings.Join(all, "; ")), nil
	}
	if err := checkSignProperties(valueOf(ps, ooapi.ParamSignProperties)); err != nil {
		return s.refusal(ctx, req.Origin, lang, ooapi.APP001, 0, "SIGN_PROPERTIES: "+err.Error()), nil
	}
	if f, _ := ps.Get(ooapi.ParamSignTextFormat); strings.EqualFold(f, "XML") || strings.EqualFold(f, "PDF") {
		return s.refusal(ctx, req.Origin, lang, ooapi.APP001, 0, "SIGNTEXT_FORMAT "+f+" is not supported by this server yet: sign TEXT or HTML"), nil
	}
	sp, err := s.identifySP(ctx, ps)
	if errors.Is(err, spcheck.ErrRefused) {
		return s.refusal(ctx, req.Origin, lang, ooapi.SRV005, sp.ID, err.Error()), nil
	}
	if err != nil {
		return nil, err
	}
	if !slices.Contains(sp.Origins, req.Origin) {
		return s.refusal(ctx, req.Origin, lang, ooapi.APP007, sp.ID, "the page's origin is not registered for the service provider"), nil
	}
	if isTrue(valueOf(ps, ooapi.ParamPreventOTPCard)) {
		// The key card is every user's only device here.
		return s.refusal(ctx, req.Origin, lang, ooapi.AUTH019, sp.ID, "PREVENT_OTP_CARD and the key card is the only device"), nil
	}

	secret, idHash, err := newFlowSecret()
	if err != nil {
		return nil, err
	}
	action := actionOf(ps)
	// A signing waits until the sign text has been shown (signText):
	// nothing is signed that the launcher did not serve to the user.
	first := store.IdPCredentials
	if action == actionSign {
		first = store.IdPSignText
	}
	row := store.IdPFlow{IDHash: idHash, SP: sp.ID, Origin: req.Origin, Mode: req.Mode, Parameters: req.Parameters,
		Step: first, CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(s.timeout)}
	if err := s.st.InsertIdPFlow(ctx, row); err != nil {
		return nil, err
	}
	s.appendAudit(ctx, audit.Entry{Actor: audit.ServiceProvider(sp.ID), Action: audit.ClientStart, Subject: audit.ServiceProvider(sp.ID),
		Outcome: audit.Success, Detail: map[string]string{"flow": flowRef(idHash), "action": action}})

	showCancel := !(req.Mode == "std" && isTrue(valueOf(ps, ooapi.ParamDoNotShowCancel)))
	a := &answer{Step: "credentials", Flow: secret, Origin: req.Origin, Language: strings.ToLower(string(lang)),
		Texts: web.Texts(lang), SP: sp.Name, Action: action, ShowCancel: &showCancel,
		TimeoutSeconds: int(s.timeout.Seconds())}
	if token, ok := ps.Get(ooapi.ParamRememberUserID); ok {
		a.ShowRemember = true
		a.RememberChecked = !strings.EqualFold(valueOf(ps, ooapi.ParamRememberUserIDInitialStatus), "FALSE")
		if nemid, ok := s.remember.user(token, sp.ID, now); ok {
			a.RememberedUserID, a.RememberChecked = nemid, true
		}
	}
	if action == actionSign {
		a.SignText = &signTextInfo{Format: strings.ToLower(valueOr(ps, ooapi.ParamSignTextFormat, "TEXT")),
			Monospace: isTrue(valueOf(ps, ooapi.ParamSignTextMonospaceFont))}
	}
	return a, nil
}

// parseStored reads the parameters a flow was started with.
func parseStored(row store.IdPFlow) (*ooapi.ParameterSet, error) {
	ps, err := ooapi.ParseParameters([]byte(row.Parameters))
	if err != nil {
		// They were accepted at the start: the stored row is damaged.
		return nil, fmt.Errorf("idp: the stored parameters of flow %s: %w", flowRef(row.IDHash), err)
	}
	return ps, nil
}

func valueOf(ps *ooapi.ParameterSet, name string) string { v, _ := ps.Get(name); return v }

func valueOr(ps *ooapi.ParameterSet, name, def string) string {
	if v, ok := ps.Get(name); ok && v != "" {
		return v
	}
	return def
}

// isOrigin reports whether s is an origin as a browser serialises one:
// http(s)://host[:port], nothing else.
func isOrigin(s string) bool {
	if len(s) > 300 || !originToken.MatchString(s) {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && u.Host != "" && u.Path == "" && u.RawQuery == "" && u.User == nil && u.Scheme+"://"+u.Host == s
}

// reservedProperties are the response properties NemID itself writes
// (spec 4.3): a SIGN_PROPERTIES pair may not pose as one of them.
var reservedProperties = []string{"RequestIssuer", "TimeStamp", "action", "signtext", "rememberUseridToken",
	"identityAssuranceLevel", "stylesheetDigest"}

// checkSignProperties checks the SP's SIGN_PROPERTIES pairs before any
// user works on the flow: each name an XML-safe word used once and not one
// of NemID's own properties, each value text that XML can carry.
func checkSignProperties(v string) error {
	if v == "" {
		return nil
	}
	seen := map[string]bool{}
	for _, pair := range strings.Split(v, ";") {
		name, value, _ := strings.Cut(pair, "=")
		name = strings.TrimSpace(name)
		switch {
		case !propertyName.MatchString(name):
			return fmt.Errorf("%q is not a property name (letters, digits, '_', '-', '.', starting with a letter)", name)
		case seen[strings.ToLower(name)]:
			return fmt.Errorf("property %q is given twice", name)
		}
		for _, r := range reservedProperties {
			if strings.EqualFold(r, name) {
				return fmt.Errorf("property %q is NemID's own", name)
			}
		}
		seen[strings.ToLower(name)] = true
		for _, r := range value {
			if r < 0x20 || r == 0xFFFD || r == 0xFFFE || r == 0xFFFF {
				return fmt.Errorf("the value of %q holds a character XML cannot carry (%U)", name, r)
			}
		}
	}
	return nil
}

var propertyName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,63}$`)

// load reads the flow a step continues. A flow that is unknown, ended, at
// another step or timed out ends the client with a code (the answer);
// the error is for what could not be read.
func (s *Service) load(ctx context.Context, secret string, want store.IdPStep) (*flowCtx, *answer, error) {
	if !validSecret(secret) {
		return nil, nil, errBadRequest
	}
	row, err := s.st.IdPFlow(ctx, flowHash(secret))
	if errors.Is(err, store.ErrNotFound) {
		return nil, &answer{Done: encodeCode(ooapi.SRV006), Message: web.CodeText(ooapi.DA, ooapi.SRV006)}, nil
	}
	if err != nil {
		return nil, nil, err
	}
	ps, err := parseStored(row)
	if err != nil {
		return nil, nil, err
	}
	fc := &flowCtx{secret: secret, row: row, ps: ps, lang: languageOf(ps), action: actionOf(ps)}
	switch {
	case row.Step == store.IdPEnded:
		return nil, &answer{Done: encodeCode(ooapi.SRV006), Origin: row.Origin, Message: web.CodeText(fc.lang, ooapi.SRV006)}, nil
	case !s.clock.Now().Before(row.ExpiresAt):
		a, err := s.abandon(ctx, fc, ooapi.CAN003, "timed out")
		return nil, a, err
	case want != "" && row.Step != want:
		a, err := s.end(ctx, fc, "", ooapi.AUTH009, "step "+string(want)+" asked at step "+string(row.Step))
		return nil, a, err
	}
	return fc, nil, nil
}

// loadSealed is load for a step after the password, with the flow's
// sealed state opened. The caller wipes it.
func (s *Service) loadSealed(ctx context.Context, secret string, want store.IdPStep) (*flowCtx, *sealedState, *answer, error) {
	fc, a, err := s.load(ctx, secret, want)
	if fc == nil {
		return nil, nil, a, err
	}
	st, err := openState(fc.secret, fc.row.IDHash, fc.row.Sealed)
	if err != nil {
		return nil, nil, nil, err
	}
	return fc, &st, nil, nil
}

// lostRace is the answer to a step that another call on the same flow
// overtook (the store's version check): this one cannot go on.
func (fc *flowCtx) lostRace() *answer {
	return &answer{Done: encodeCode(ooapi.AUTH009), Origin: fc.row.Origin, Message: web.CodeText(fc.lang, ooapi.AUTH009)}
}

// busyLease is how long a claimed flow turns other calls away; every
// step's end clears it, so it only matters for a call that died half-way.
const busyLease = 30 * time.Second

// claim takes the flow for this call before it asks auth anything: of two
// calls on one flow at once (a double submit), one marks the flow busy (the
// store's version check decides a tie) and the other gets AUTH009 and
// leaves no trace in auth (no second password attempt, no answer to a
// challenge the first call answers).
func (s *Service) claim(ctx context.Context, fc *flowCtx) (*answer, error) {
	now := s.clock.Now()
	if now.Before(fc.row.BusyUntil) {
		return fc.lostRace(), nil
	}
	next := fc.row
	next.UpdatedAt, next.BusyUntil = now, now.Add(busyLease)
	if err := s.st.UpdateIdPFlow(ctx, next); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return fc.lostRace(), nil
		}
		return nil, err
	}
	fc.row = next
	fc.row.Version++
	return nil, nil
}

// advance moves the flow to its next step with a new sealed state.
func (s *Service) advance(ctx context.Context, fc *flowCtx, step store.IdPStep, st sealedState) (*answer, error) {
	sealed, err := sealState(fc.secret, fc.row.IDHash, st)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	next := fc.row
	next.Step, next.Sealed, next.UpdatedAt, next.ExpiresAt, next.BusyUntil = step, sealed, now, now.Add(s.timeout), time.Time{}
	if err := s.st.UpdateIdPFlow(ctx, next); err != nil {
		if errors.Is(err, store.ErrConflict) {
			// Another call on this flow won: this one cannot go on.
			return fc.lostRace(), nil
		}
		return nil, err
	}
	fc.row = next
	fc.row.Version++
	return nil, nil
}

// end ends the flow: with the response (doc non-empty) or with code.
func (s *Service) end(ctx context.Context, fc *flowCtx, user string, code ooapi.Code, why string, doc ...[]byte) (*answer, error) {
	now := s.clock.Now()
	next := fc.row
	next.Step, next.Sealed, next.UpdatedAt, next.ExpiresAt, next.BusyUntil = store.IdPEnded, nil, now, now, time.Time{}
	if err := s.st.UpdateIdPFlow(ctx, next); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return fc.lostRace(), nil
		}
		return nil, err
	}
	e := audit.Entry{Actor: audit.ServiceProvider(fc.row.SP), Action: audit.ClientEnd, Subject: audit.ServiceProvider(fc.row.SP),
		Detail: map[string]string{"flow": flowRef(fc.row.IDHash), "action": fc.action}}
	if user != "" {
		e.Actor = audit.User(user)
		e.Detail["user"] = user
	}
	if len(doc) > 0 {
		e.Outcome = audit.Success
		s.ends.WithLabelValues(fc.action, "response").Inc()
		s.appendAudit(ctx, e)
		return &answer{Done: base64.StdEncoding.EncodeToString(doc[0]), Origin: fc.row.Origin}, nil
	}
	e.Outcome, e.Code = audit.Refused, string(code)
	if why != "" {
		e.Detail["reason"] = why
	}
	s.ends.WithLabelValues(fc.action, string(code)).Inc()
	s.appendAudit(ctx, e)
	return &answer{Done: encodeCode(code), Origin: fc.row.Origin, Message: web.CodeText(fc.lang, code)}, nil
}

// failOn ends the flow with the NemID code err carries or, for an error
// without one, with SRV004 after logging it: a flow that failed after a
// step had effects (a code used, a key unlocked) is ended, its sealed
// state gone, rather than left open.
func (s *Service) failOn(ctx context.Context, fc *flowCtx, user string, err error) (*answer, error) {
	if code, ok := auth.CodeOf(err); ok {
		return s.end(ctx, fc, user, code, err.Error())
	}
	s.log.Error("idp: flow failed", "flow", flowRef(fc.row.IDHash), "err", err)
	return s.end(ctx, fc, user, ooapi.SRV004, "internal error")
}

// maxFlowFailures is how many wrong passwords (and refused new passwords)
// one flow takes before it ends with AUTH009: auth counts wrong passwords
// per user, this bounds one flow trying many user-ids.
const maxFlowFailures = 5

// maxUserID is the longest user-id a flow reads: an alias of at most
// auth.MaxAliasLength characters of at most 4 bytes.
const maxUserID = 4 * auth.MaxAliasLength

// retry answers a user's fixable mistake in the flow's language and gives
// the flow its full time again; counted mistakes end the flow after
// maxFlowFailures.
func (s *Service) retry(ctx context.Context, fc *flowCtx, ue *auth.UserError, field string, counted bool) (*answer, error) {
	now := s.clock.Now()
	next := fc.row
	next.UpdatedAt, next.ExpiresAt, next.BusyUntil = now, now.Add(s.timeout), time.Time{}
	if counted {
		next.Failures++
	}
	if next.Failures >= maxFlowFailures {
		return s.end(ctx, fc, "", ooapi.AUTH009, "too many wrong answers in one flow")
	}
	if err := s.st.UpdateIdPFlow(ctx, next); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return fc.lostRace(), nil
		}
		return nil, err
	}
	text := ue.Text(fc.lang)
	if fc.lang == ooapi.KL {
		text = web.Text(ooapi.KL, "auth."+ue.ID)
	}
	return &answer{Retry: text, Field: field}, nil
}

// password checks user-id and password and asks for a key-card code.
func (s *Service) password(ctx context.Context, req request) (*answer, error) {
	fc, a, err := s.load(ctx, req.Flow, store.IdPCredentials)
	if fc == nil {
		return a, err
	}
	if req.UserID == "" || req.Password == "" {
		return &answer{Retry: web.Text(fc.lang, "wrongCredentials"), Field: "userid"}, nil
	}
	if len(req.UserID) > maxUserID {
		return nil, errBadRequest
	}
	if a, err := s.claim(ctx, fc); a != nil || err != nil {
		return a, err
	}
	f, err := s.auth.StartLogon(ctx, req.UserID, req.Password)
	var ue *auth.UserError
	if errors.As(err, &ue) {
		return s.retry(ctx, fc, ue, "password", true)
	}
	if err != nil {
		return s.failOn(ctx, fc, "", err)
	}
	st := sealedState{AuthFlow: f.ID, Unlocked: f.Unlocked, Card: f.CardNumber, Key: f.KeyNumber, Remember: req.Remember}
	if f.Activation {
		st.Temporary = req.Password
	}
	defer st.wipe()
	if a, err := s.advance(ctx, fc, store.IdPOTP, st); a != nil || err != nil {
		return a, err
	}
	return &answer{Step: "otp", Card: f.CardNumber, Key: f.KeyNumber}, nil
}

// otp checks the key-card code; then the flow activates or finishes.
func (s *Service) otp(ctx context.Context, req request) (*answer, error) {
	fc, st, a, err := s.loadSealed(ctx, req.Flow, store.IdPOTP)
	if fc == nil {
		return a, err
	}
	defer st.wipe()
	if a, err := s.claim(ctx, fc); a != nil || err != nil {
		return a, err
	}
	f, err := s.auth.AnswerOTP(ctx, st.AuthFlow, st.Key, strings.TrimSpace(req.Code))
	var ue *auth.UserError
	if errors.As(err, &ue) {
		// Wrong codes are counted against the card by auth (LOCK003).
		r, err := s.retry(ctx, fc, ue, "code", false)
		if r != nil && r.Retry != "" {
			r.Card, r.Key = st.Card, st.Key
		}
		return r, err
	}
	if err != nil {
		return s.failOn(ctx, fc, "", err)
	}
	if f.Step == auth.StepActivate {
		if a, err := s.advance(ctx, fc, store.IdPActivate, *st); a != nil || err != nil {
			return a, err
		}
		// An alias is offered to a user who has none yet.
		return &answer{Step: "activate", AliasAllowed: f.User == nil || f.User.Alias == ""}, nil
	}
	if kind := credentialUpdate(fc.ps); kind != "" {
		st.User = f.User.NemID
		if a, err := s.advance(ctx, fc, store.IdPUpdate, *st); a != nil || err != nil {
			return a, err
		}
		return &answer{Step: "update", AliasAllowed: kind == "ALIAS"}, nil
	}
	return s.finish(ctx, fc, *st, f.User)
}

// activate sets the first personal password after a temporary one.
func (s *Service) activate(ctx context.Context, req request) (*answer, error) {
	fc, st, a, err := s.loadSealed(ctx, req.Flow, store.IdPActivate)
	if fc == nil {
		return a, err
	}
	defer st.wipe()
	if a, err := s.claim(ctx, fc); a != nil || err != nil {
		return a, err
	}
	f, err := s.reg.Activate(ctx, st.AuthFlow, st.Temporary, req.NewPassword, strings.TrimSpace(req.Alias))
	var ue *auth.UserError
	if errors.As(err, &ue) {
		field := "newPassword"
		if strings.HasPrefix(ue.ID, "alias") {
			field = "alias"
		}
		return s.retry(ctx, fc, ue, field, true)
	}
	if err != nil {
		return s.failOn(ctx, fc, "", err)
	}
	// The key is now wrapped under the new password: unlock it for the
	// signature (activations cost a second derivation; logons do not).
	clear(st.Unlocked)
	if st.Unlocked, err = s.reg.Unlock(ctx, f.User.ID, req.NewPassword); err != nil {
		return s.failOn(ctx, fc, f.User.NemID, err)
	}
	return s.finish(ctx, fc, *st, f.User)
}

// credentialUpdate is what CREDENTIAL_UPDATE asks the user to change
// after the logon (spec 2): "PASSWORD", "ALIAS" (alias and password), or
// "" for nothing (any other value).
func credentialUpdate(ps *ooapi.ParameterSet) string {
	switch v := strings.ToUpper(valueOf(ps, ooapi.ParamCredentialUpdate)); v {
	case "PASSWORD", "ALIAS":
		return v
	}
	return ""
}

// update changes the password (and with CREDENTIAL_UPDATE=ALIAS the
// alias) after the two factors, before the response is signed. The
// current password is asked again, and counts like a logon attempt.
func (s *Service) update(ctx context.Context, req request) (*answer, error) {
	fc, st, a, err := s.loadSealed(ctx, req.Flow, store.IdPUpdate)
	if fc == nil {
		return a, err
	}
	defer st.wipe()
	alias := ""
	if credentialUpdate(fc.ps) == "ALIAS" {
		alias = strings.TrimSpace(req.Alias)
	}
	if a, err := s.claim(ctx, fc); a != nil || err != nil {
		return a, err
	}
	err = s.reg.ChangePassword(ctx, st.AuthFlow, req.Password, req.NewPassword, alias)
	var ue *auth.UserError
	if errors.As(err, &ue) {
		field := "newPassword"
		switch {
		case errors.Is(err, auth.ErrInvalidCredentials):
			field = "password"
		case strings.HasPrefix(ue.ID, "alias"):
			field = "alias"
		}
		return s.retry(ctx, fc, ue, field, true)
	}
	if err != nil {
		return s.failOn(ctx, fc, "", err)
	}
	u, err := s.auth.Resolve(ctx, st.User)
	if err != nil {
		return s.failOn(ctx, fc, st.User, err)
	}
	// The key is now wrapped under the new password: unlock it for the
	// signature.
	clear(st.Unlocked)
	if st.Unlocked, err = s.reg.Unlock(ctx, u.ID, req.NewPassword); err != nil {
		return s.failOn(ctx, fc, u.NemID, err)
	}
	return s.finish(ctx, fc, *st, &u)
}

// cancel ends the flow at the user's wish: CAN002, or CAN001 once a
// temporary password was used (it is then spent).
func (s *Service) cancel(ctx context.Context, req request) (*answer, error) {
	fc, a, err := s.load(ctx, req.Flow, "")
	if fc == nil {
		return a, err
	}
	return s.abandon(ctx, fc, ooapi.CAN002, "cancelled by the user")
}

// idle ends a flow the client found idle: CAN003.
func (s *Service) idle(ctx context.Context, req request) (*answer, error) {
	fc, a, err := s.load(ctx, req.Flow, "")
	if fc == nil {
		return a, err
	}
	return s.abandon(ctx, fc, ooapi.CAN003, "idle in the client")
}

// abandon ends a flow the user left (cancel, time-out) and the logon flow
// in auth with it. A cancel after a temporary password is CAN001, as auth
// says; a time-out stays CAN003.
func (s *Service) abandon(ctx context.Context, fc *flowCtx, code ooapi.Code, why string) (*answer, error) {
	if fc.row.Sealed != nil {
		st, err := openState(fc.secret, fc.row.IDHash, fc.row.Sealed)
		if err != nil {
			return s.failOn(ctx, fc, "", err)
		}
		defer st.wipe()
		authCode, err := s.auth.CancelFlow(ctx, st.AuthFlow)
		if c, ok := auth.CodeOf(err); ok {
			authCode, err = c, nil
		}
		if err != nil {
			return s.failOn(ctx, fc, "", err)
		}
		if code == ooapi.CAN002 {
			code = authCode
		}
	}
	return s.end(ctx, fc, "", code, why)
}

// finish builds the response (spec §4.2–4.3), has the vault sign it with
// the user's key, and ends the flow with it.
func (s *Service) finish(ctx context.Context, fc *flowCtx, st sealedState, u *auth.User) (*answer, error) {
	if u == nil {
		return s.failOn(ctx, fc, "", errors.New("idp: a done logon flow without its user"))
	}
	// The service provider is checked again: its agreement or certificate
	// may have ended while the user logged on.
	sp, err := s.identifySP(ctx, fc.ps)
	switch {
	case errors.Is(err, spcheck.ErrRefused) || (err == nil && sp.ID != fc.row.SP):
		return s.end(ctx, fc, u.NemID, ooapi.SRV005, "the service provider's agreement or certificate ended during the flow")
	case err != nil:
		return s.failOn(ctx, fc, u.NemID, err)
	}
	cert, err := s.reg.Certificate(ctx, u.NemID)
	if errors.Is(err, registration.ErrNoCertificate) {
		return s.end(ctx, fc, u.NemID, ooapi.OCES006, "the user has no valid certificate")
	}
	if err != nil {
		return s.failOn(ctx, fc, u.NemID, err)
	}
	props, err := s.properties(fc, sp, st, u)
	if err != nil {
		return s.failOn(ctx, fc, u.NemID, err)
	}
	doc, err := xmldsig.BuildJSClientResponse(props, []*x509.Certificate{s.issuing, cert, s.root}, func(signedInfo []byte) ([]byte, error) {
		digest := sha256.Sum256(signedInfo)
		return s.reg.Sign(ctx, st.AuthFlow, st.Unlocked, digest[:], crypto.SHA256)
	})
	switch {
	case errors.Is(err, keyvault.ErrNoKey):
		return s.end(ctx, fc, u.NemID, ooapi.OCES006, "the user has no key")
	case err != nil:
		return s.failOn(ctx, fc, u.NemID, err)
	}
	return s.end(ctx, fc, u.NemID, "", "", doc)
}

// identifySP finds the service provider by the parameters' SP_CERT
// (spcheck: registered, enabled, ours, unrevoked). A certificate that does
// not parse is a refusal.
func (s *Service) identifySP(ctx context.Context, ps *ooapi.ParameterSet) (store.ServiceProvider, error) {
	der, err := base64.StdEncoding.DecodeString(valueOf(ps, ooapi.ParamSPCert))
	if err != nil {
		return store.ServiceProvider{}, fmt.Errorf("%w: SP_CERT is not base64", spcheck.ErrRefused)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return store.ServiceProvider{}, fmt.Errorf("%w: SP_CERT is not a certificate", spcheck.ErrRefused)
	}
	return s.sps.Identify(ctx, cert)
}

// properties are the signed properties of the response, in the order the
// JS client wrote them (spec 4.3): RequestIssuer, the SIGN_PROPERTIES
// pairs, TimeStamp, action, then signtext and rememberUseridToken.
func (s *Service) properties(fc *flowCtx, sp store.ServiceProvider, st sealedState, u *auth.User) ([]xmldsig.Property, error) {
	props := []xmldsig.Property{{Name: "RequestIssuer", Value: sp.Name, Encoding: xmldsig.EncodingBase64, VisibleToSigner: true}}
	if v, ok := fc.ps.Get(ooapi.ParamSignProperties); ok && v != "" {
		for _, pair := range strings.Split(v, ";") {
			name, value, _ := strings.Cut(pair, "=")
			props = append(props, xmldsig.Property{Name: strings.TrimSpace(name), Value: value, Encoding: xmldsig.EncodingXML})
		}
	}
	ts := valueOf(fc.ps, ooapi.ParamTimestamp)
	tsEnc := xmldsig.EncodingXML
	if timestampIsBase64(ts) {
		tsEnc = xmldsig.EncodingBase64
	}
	props = append(props, xmldsig.Property{Name: "TimeStamp", Raw: ts, Value: decodedTimestamp(ts, tsEnc), Encoding: tsEnc},
		xmldsig.Property{Name: "action", Value: fc.action, Encoding: xmldsig.EncodingXML})
	if fc.action == actionSign {
		raw := valueOf(fc.ps, ooapi.ParamSignText)
		text, err := base64.StdEncoding.DecodeString(raw)
		if err != nil {
			return nil, err // checked at the start
		}
		props = append(props, xmldsig.Property{Name: "signtext", Raw: raw, Value: string(text), Encoding: xmldsig.EncodingBase64, VisibleToSigner: true})
	}
	if _, ok := fc.ps.Get(ooapi.ParamRememberUserID); ok && st.Remember {
		token, err := s.remember.token(u.NemID, sp.ID, s.clock.Now())
		if err != nil {
			return nil, err
		}
		props = append(props, xmldsig.Property{Name: "rememberUseridToken", Raw: token, Encoding: xmldsig.EncodingBase64})
	}
	return props, nil
}

// timestampIsBase64 tells how TIMESTAMP came, to echo it the same way
// (spec 4.3, INFERRED). The plain forms are digits only (milliseconds) or
// hold a space ("yyyy-MM-dd HH:mm:ss…"); base64 holds neither a space nor,
// for a timestamp, only digits. ooapi.ParseTimestamp tries plain first, too.
func timestampIsBase64(ts string) bool {
	if ts != "" && len(ts) <= 15 && strings.Trim(ts, "0123456789") == "" {
		return false
	}
	return !strings.Contains(ts, " ")
}

func decodedTimestamp(ts string, enc xmldsig.Encoding) string {
	if enc == xmldsig.EncodingXML {
		return ts
	}
	b, err := base64.StdEncoding.DecodeString(ts)
	if err != nil {
		return ""
	}
	return string(b)
}

// appendAudit records a security event; a failure to record is logged
// (the step has happened and is not undone).
func (s *Service) appendAudit(ctx context.Context, e audit.Entry) {
	if _, err := s.audit.Append(context.WithoutCancel(ctx), e); err != nil {
		s.log.Error("idp: audit log append failed", "action", e.Action, "err", err)
	}
}
