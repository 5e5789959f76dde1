package demo

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"html/template"
	"net/http"
	"strconv"

	"github.com/nemid-dk/nemid/ooapi"
)

// maxResponseForm bounds the body of a response form: the signed document
// with its certificates and the sign text, base64-encoded.
const maxResponseForm = 2 << 20

// clientPage is the page that frames the NemID client.
type clientPage struct {
	Title, Intro string
	// FrameSrc is the launcher URL, LauncherOrigin its origin: the only
	// origin sp.js listens to and posts to.
	FrameSrc       string
	LauncherOrigin string
	// Parameters is ParameterSet.ScriptElement, safe to insert as it is.
	Parameters template.HTML
	// Action is where the client's answer is posted.
	Action string
}

// launcherURL is a fresh URL of the client in limited (responsive) mode.
// The last segment only defeats caches (spec §1.1), so it changes on every
// load.
func (s *Server) launcherURL() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return s.idpBase + "/launcher/lmt/" + hex.EncodeToString(b), nil
}

// clientOptions are the options of every flow: the shop's origin, the
// language, and the remember-user-id box, filled in from the cookie an
// earlier logon left.
func (s *Server) clientOptions(r *http.Request, lang language, withToken bool) ooapi.ClientOptions {
	opts := ooapi.ClientOptions{Origin: s.origin, Language: lang.client, RememberUserID: true}
	if c, err := r.Cookie(rememberCookie); err == nil && withToken {
		opts.RememberUserIDToken = c.Value
	}
	return opts
}

// GET /login: parameters for a logon, the challenge kept for the session.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	lang := s.languageOf(w, r)
	sess, ok := s.session(w, r, lang)
	if !ok {
		return
	}
	// ?update=password asks NemID to have the user change the password
	// after the code (CREDENTIAL_UPDATE), as a shop may after a breach.
	update := ""
	if r.URL.Query().Get("update") == "password" {
		update = "PASSWORD"
	}
	ps, challenge, err := s.cfg.Signer.Logon(ooapi.LogonOptions{ClientOptions: s.clientOptions(r, lang, true), CredentialUpdate: update})
	if err != nil && s.hasRememberCookie(r) {
		// A token NemID gave us earlier that the builder refuses now is
		// worth nothing: forget it rather than refuse the logon.
		s.log.Warn("remember-user-id token refused; dropping it", "err", err)
		s.clearCookie(w, rememberCookie)
		ps, challenge, err = s.cfg.Signer.Logon(ooapi.LogonOptions{ClientOptions: s.clientOptions(r, lang, false), CredentialUpdate: update})
	}
	if err != nil {
		s.internalError(w, r, lang, sess, "building logon parameters", err)
		return
	}
	s.showClient(w, r, lang, sess, ps, challenge, "login_title", "login_intro", "/login/response")
}

func (s *Server) hasRememberCookie(r *http.Request) bool {
	_, err := r.Cookie(rememberCookie)
	return err == nil
}

// showClient keeps the challenge and renders the page with the client.
func (s *Server) showClient(w http.ResponseWriter, r *http.Request, lang language, sess *session,
	ps *ooapi.ParameterSet, challenge ooapi.Challenge, title, intro, action string) {
	var key string
	s.sessions.with(sess, func(x *session) { key = x.challengeKey() })
	if err := s.challenges.Put(r.Context(), key, challenge); err != nil {
		s.internalError(w, r, lang, sess, "storing the challenge", err)
		return
	}
	src, err := s.launcherURL()
	if err != nil {
		s.internalError(w, r, lang, sess, "making the launcher URL", err)
		return
	}
	t := texts[lang.page]
	s.render(w, r, lang, sess, http.StatusOK, "client", clientPage{
		Title: t[title], Intro: t[intro], FrameSrc: src, LauncherOrigin: s.idpOrigin,
		Parameters: template.HTML(ps.ScriptElement()), Action: action,
	})
}

// responseOf reads the posted form of a client answer: the session, the
// CSRF token and the response field. It writes the error page itself when
// it returns false.
func (s *Server) responseOf(w http.ResponseWriter, r *http.Request, lang language) (*session, string, bool) {
	sess := s.currentSession(r)
	if sess == nil {
		s.fail(w, r, lang, nil, http.StatusBadRequest, errorPage{Message: "error_no_session", Retry: "/"})
		return nil, "", false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxResponseForm)
	if !s.checkForm(w, r, lang, sess) {
		return nil, "", false
	}
	return sess, r.PostForm.Get("response"), true
}

// POST /login/response: validate the logon; on success the session is
// logged on (under a new id) and goes to /me.
func (s *Server) handleLoginResponse(w http.ResponseWriter, r *http.Request) {
	lang := s.languageOf(w, r)
	sess, response, ok := s.responseOf(w, r, lang)
	if !ok {
		return
	}
	var key string
	s.sessions.with(sess, func(x *session) { key = x.challengeKey() })
	res, err := s.validator.Logon(r.Context(), key, response)
	if err != nil {
		s.refuse(w, r, lang, sess, "/login", res, err)
		return
	}
	if res.RememberUseridToken != "" {
		http.SetCookie(w, &http.Cookie{Name: rememberCookie, Value: res.RememberUseridToken, Path: "/",
			MaxAge: 365 * 24 * 3600, HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	}
	user := identityOf(res, s.cfg.Now())
	s.sessions.with(sess, func(x *session) { x.user = user })
	if err := s.sessions.rotate(sess); err != nil {
		s.internalError(w, r, lang, sess, "renewing the session", err)
		return
	}
	var id string
	s.sessions.with(sess, func(x *session) { id = x.id })
	s.setSessionCookie(w, id)
	s.log.Info("logon accepted", "type", user.Type, "certificate_serial", user.CertificateSerial,
		"revocation", user.RevocationMethod)
	http.Redirect(w, r, "/me", http.StatusSeeOther)
}

// signFormPage is the form of /sign.
type signFormPage struct {
	Text  string
	Error string
}

// GET /sign: the text to sign, editable.
func (s *Server) handleSignForm(w http.ResponseWriter, r *http.Request) {
	lang := s.languageOf(w, r)
	sess, ok := s.session(w, r, lang)
	if !ok {
		return
	}
	s.render(w, r, lang, sess, http.StatusOK, "sign", signFormPage{Text: defaultSignText[lang.page]})
}

// POST /sign: parameters for signing the posted text.
func (s *Server) handleSignText(w http.ResponseWriter, r *http.Request) {
	lang := s.languageOf(w, r)
	sess := s.currentSession(r)
	if sess == nil {
		s.fail(w, r, lang, nil, http.StatusBadRequest, errorPage{Message: "error_no_session", Retry: "/sign"})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if !s.checkForm(w, r, lang, sess) {
		return
	}
	text := r.PostForm.Get("text")
	ag, problem := plainAgreement(text)
	if problem != "" {
		s.render(w, r, lang, sess, http.StatusBadRequest, "sign", signFormPage{Text: text, Error: texts[lang.page][problem]})
		return
	}
	ag.retry = "/sign"
	opts := ooapi.SignOptions{ClientOptions: s.clientOptions(r, lang, false), Text: ag.text, MonospaceFont: true}
	ps, challenge, err := s.cfg.Signer.Sign(opts)
	var ste *ooapi.SignTextError
	if errors.As(err, &ste) {
		s.render(w, r, lang, sess, http.StatusBadRequest, "sign", signFormPage{Text: text, Error: texts[lang.page]["error_text_refused"]})
		return
	}
	if err != nil {
		s.internalError(w, r, lang, sess, "building signing parameters", err)
		return
	}
	s.sessions.with(sess, func(x *session) { x.pending = &ag })
	s.showClient(w, r, lang, sess, ps, challenge, "sign_title", "sign_client_intro", "/sign/response")
}

// GET /sign-html: parameters for signing the HTML agreement.
func (s *Server) handleSignHTML(w http.ResponseWriter, r *http.Request) {
	lang := s.languageOf(w, r)
	sess, ok := s.session(w, r, lang)
	if !ok {
		return
	}
	doc := htmlAgreement[lang.page]
	ag := agreement{text: ooapi.HTMLSignText(doc.doc), title: doc.title, retry: "/sign-html"}
	ps, challenge, err := s.cfg.Signer.Sign(ooapi.SignOptions{ClientOptions: s.clientOptions(r, lang, false), Text: ag.text})
	if err != nil {
		s.internalError(w, r, lang, sess, "building signing parameters", err)
		return
	}
	s.sessions.with(sess, func(x *session) { x.pending = &ag })
	s.showClient(w, r, lang, sess, ps, challenge, "sign_html_title", "sign_html_intro", "/sign/response")
}

// signedPage is the receipt of a signature.
type signedPage struct {
	Record Record
	Link   string
}

// POST /sign/response: validate the signature against the agreement kept
// for the session, and keep the signed document as evidence.
func (s *Server) handleSignResponse(w http.ResponseWriter, r *http.Request) {
	lang := s.languageOf(w, r)
	sess, response, ok := s.responseOf(w, r, lang)
	if !ok {
		return
	}
	var key string
	var ag *agreement
	s.sessions.with(sess, func(x *session) { key, ag, x.pending = x.challengeKey(), x.pending, nil })
	if ag == nil {
		// Whatever this answer is, the challenge it may belong to is spent.
		s.challenges.Take(r.Context(), key)
		s.fail(w, r, lang, sess, http.StatusBadRequest, errorPage{Message: "error_no_signing", Retry: "/"})
		return
	}
	res, err := s.validator.Sign(r.Context(), key, response, ag.text)
	if err != nil {
		s.refuse(w, r, lang, sess, ag.retry, res, err)
		return
	}
	rec, err := s.evidence.store(res.Document, Record{
		SignedAt:          s.cfg.Now().UTC(),
		Format:            ag.text.Format(),
		Title:             ag.title,
		Signer:            res.Identity.SerialNumber,
		Name:              res.Identity.CommonName,
		CertificateSerial: certificateSerial(res),
		RequestIssuer:     res.RequestIssuer,
	})
	if err != nil {
		s.internalError(w, r, lang, sess, "storing evidence", err)
		return
	}
	s.sessions.with(sess, func(x *session) { x.documents[rec.ID] = true })
	s.log.Info("signature accepted", "document", rec.ID, "format", rec.Format, "certificate_serial", rec.CertificateSerial)
	s.render(w, r, lang, sess, http.StatusOK, "signed", signedPage{Record: rec, Link: "/documents/" + rec.ID})
}

// refuse explains a response that was not accepted: the client's error
// code in the user's language, or why the shop refused it. Details of a
// refusal go to the log, not to the browser.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, lang language, sess *session, retry string, res *ooapi.Result, err error) {
	var ce *ooapi.ClientError
	if errors.As(err, &ce) {
		s.log.Info("client answered with an error code", "code", string(ce.Code))
		s.fail(w, r, lang, sess, http.StatusOK, errorPage{
			Heading: "error_client", Code: string(ce.Code), CodeText: ce.Code.Text(lang.client), Retry: retry,
		})
		return
	}
	var ve *ooapi.ValidationError
	if !errors.As(err, &ve) {
		s.internalError(w, r, lang, sess, "validating a response", err)
		return
	}
	s.log.Warn("response refused", "reason", ve.Reason.String(), "detail", ve.Detail, "err", ve.Err)
	page := errorPage{
		Heading: "error_refused", Reason: ve.Reason.String(), ReasonText: "reason_" + strconv.Itoa(int(ve.Reason)), Retry: retry,
	}
	if res != nil {
		page.Status = string(res.Status)
	}
	s.fail(w, r, lang, sess, http.StatusBadRequest, page)
}
