package demo

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/nemid-dk/nemid/ooapi/cpr"
)

//go:embed templates/*.html static/*
var assets embed.FS

// pageNames are the templates under templates/, each rendered inside
// layout.html.
var pageNames = []string{"index", "client", "sign", "signed", "me", "cpr", "error"}

type pageTemplates map[string]*template.Template

func parsePages() (pageTemplates, error) {
	funcs := template.FuncMap{
		"datetime": func(t time.Time) string { return t.Format("2006-01-02 15:04:05 MST") },
	}
	pages := pageTemplates{}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("demo: template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// pageData is what every template gets.
type pageData struct {
	T    map[string]string
	Lang string
	// LangLink switches the page to the other language, LangName names it.
	LangLink, LangName string
	User               *identity
	CSRF               string
	Page               any
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	static, err := fs.Sub(assets, "static")
	if err != nil {
		panic(err) // the embedded directory exists at compile time
	}
	files := http.StripPrefix("/static/", http.FileServerFS(static))
	mux.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		files.ServeHTTP(w, r)
	}))
	mux.HandleFunc("GET /{$}", s.handleIndex)
	mux.HandleFunc("GET /login", s.handleLogin)
	mux.HandleFunc("POST /login/response", s.handleLoginResponse)
	mux.HandleFunc("GET /sign", s.handleSignForm)
	mux.HandleFunc("POST /sign", s.handleSignText)
	mux.HandleFunc("GET /sign-html", s.handleSignHTML)
	mux.HandleFunc("POST /sign/response", s.handleSignResponse)
	mux.HandleFunc("GET /me", s.handleMe)
	mux.HandleFunc("POST /logout", s.handleLogout)
	mux.HandleFunc("GET /cpr", s.handleCPRForm)
	mux.HandleFunc("POST /cpr", s.handleCPR)
	mux.HandleFunc("GET /documents/{id}", s.handleDocument)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		lang := s.languageOf(w, r)
		s.fail(w, r, lang, s.currentSession(r), http.StatusNotFound, errorPage{Message: "error_not_found", Retry: "/"})
	})
	return s.withHeaders(mux)
}

// withHeaders sets the security headers of every answer, turns a panic into
// a plain error page, and logs each request (path only: never a query or a
// form, which may hold a response or a CPR number).
func (s *Server) withHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h := w.Header()
		h.Set("Content-Security-Policy", s.csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("panic serving a request", "path", r.URL.Path, "panic", fmt.Sprint(p))
				if !rec.wrote {
					http.Error(rec, "internal error", http.StatusInternalServerError)
				}
			}
			s.log.Info("http request", "method", r.Method, "path", r.URL.Path, "status", rec.code,
				"duration_ms", float64(time.Since(start).Microseconds())/1000)
		}()
		next.ServeHTTP(rec, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (w *statusRecorder) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// render executes a page into a buffer first, so that a template error
// becomes a clean 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, lang language, sess *session, status int, name string, page any) {
	data := pageData{T: texts[lang.page], Lang: lang.page, Page: page}
	other := "en"
	if lang.page == "en" {
		other = "da"
	}
	data.LangName = texts[other]["lang_name"]
	path := "/"
	if r.Method == http.MethodGet {
		path = r.URL.Path
	}
	data.LangLink = path + "?lang=" + other
	if sess != nil {
		s.sessions.with(sess, func(x *session) { data.User, data.CSRF = x.user, x.csrf })
	}
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		s.log.Error("rendering a page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// errorPage explains what went wrong. Heading, Message and ReasonText are
// text keys.
type errorPage struct {
	Heading, Message string
	// Code is the client's error code and CodeText its text for the user.
	Code, CodeText string
	// Reason names why a response was refused (ooapi.Reason.String).
	Reason, ReasonText string
	// Status is the certificate's status when the refusal came with one.
	Status, StatusText string
	Retry              string
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, lang language, sess *session, status int, page errorPage) {
	t := texts[lang.page]
	if page.Heading == "" {
		page.Heading = "error_title"
	}
	page.Heading, page.Message, page.ReasonText = t[page.Heading], t[page.Message], t[page.ReasonText]
	if page.Status != "" {
		page.StatusText = t["status_"+page.Status]
	}
	s.render(w, r, lang, sess, status, "error", page)
}

// internalError logs err and shows a page that says nothing about it.
func (s *Server) internalError(w http.ResponseWriter, r *http.Request, lang language, sess *session, what string, err error) {
	s.log.Error(what, "err", err)
	s.fail(w, r, lang, sess, http.StatusInternalServerError, errorPage{Message: "error_internal", Retry: "/"})
}

// session returns the request's session, making one when needed; on
// failure it has answered already.
func (s *Server) session(w http.ResponseWriter, r *http.Request, lang language) (*session, bool) {
	sess, err := s.startSession(w, r)
	if errors.Is(err, errTooManySessions) {
		s.log.Warn("session table full")
		s.fail(w, r, lang, nil, http.StatusServiceUnavailable, errorPage{Message: "error_busy", Retry: "/"})
		return nil, false
	}
	if err != nil {
		s.internalError(w, r, lang, nil, "making a session", err)
		return nil, false
	}
	return sess, true
}

// checkForm parses a POSTed form and checks that it comes from the shop's
// own pages: the session's CSRF token, and the Origin header when the
// browser sends one. It answers 403 itself when not.
func (s *Server) checkForm(w http.ResponseWriter, r *http.Request, lang language, sess *session) bool {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, lang, sess, http.StatusBadRequest, errorPage{Message: "error_form", Retry: "/"})
		return false
	}
	ok := true
	if o := r.Header.Get("Origin"); o != "" && o != s.origin {
		ok = false
	}
	s.sessions.with(sess, func(x *session) { ok = ok && x.checkCSRF(r.PostForm.Get("csrf")) })
	if !ok {
		s.log.Warn("form refused: CSRF token or origin", "path", r.URL.Path)
		s.fail(w, r, lang, sess, http.StatusForbidden, errorPage{Message: "error_csrf", Retry: "/"})
	}
	return ok
}

// loggedOn returns the session and its user, or redirects to /login.
func (s *Server) loggedOn(w http.ResponseWriter, r *http.Request) (*session, *identity, bool) {
	sess := s.currentSession(r)
	var user *identity
	if sess != nil {
		s.sessions.with(sess, func(x *session) { user = x.user })
	}
	if user == nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return nil, nil, false
	}
	return sess, user, true
}

// GET /: the front page.
func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	lang := s.languageOf(w, r)
	s.render(w, r, lang, s.currentSession(r), http.StatusOK, "index", nil)
}

// mePage is /me.
type mePage struct {
	User             *identity
	StatusText       string
	RevocationText   string
	RevocationNotRun bool
	CPR              bool
}

// GET /me: the identity NemID vouched for.
func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	lang := s.languageOf(w, r)
	sess, user, ok := s.loggedOn(w, r)
	if !ok {
		return
	}
	t := texts[lang.page]
	page := mePage{
		User:             user,
		StatusText:       t["status_"+string(user.Status)],
		RevocationText:   t["revocation_"+user.RevocationMethod],
		RevocationNotRun: user.RevocationMethod == "none",
		CPR:              s.pidCPR != nil && (user.PID != "" || user.RID != ""),
	}
	if page.RevocationText == "" {
		page.RevocationText = user.RevocationMethod
	}
	s.render(w, r, lang, sess, http.StatusOK, "me", page)
}

// POST /logout.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	lang := s.languageOf(w, r)
	sess := s.currentSession(r)
	if sess == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	if !s.checkForm(w, r, lang, sess) {
		return
	}
	s.sessions.delete(sess)
	s.clearCookie(w, s.sessionCookieName())
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// GET /documents/{id}: a signed document, to the session that signed it
// only. Anyone else gets 404, so ids cannot be probed.
func (s *Server) handleDocument(w http.ResponseWriter, r *http.Request) {
	lang := s.languageOf(w, r)
	id := r.PathValue("id")
	sess := s.currentSession(r)
	owned := false
	if sess != nil {
		s.sessions.with(sess, func(x *session) { owned = x.documents[id] })
	}
	if !owned {
		s.fail(w, r, lang, sess, http.StatusNotFound, errorPage{Message: "error_not_found", Retry: "/"})
		return
	}
	doc, err := s.evidence.read(id)
	if err != nil {
		s.internalError(w, r, lang, sess, "reading evidence", err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Disposition", `attachment; filename="demo-butikken-`+id+`.xml"`)
	w.Write(doc)
}

// cprPage is /cpr. Result is "", "match", "no-match", "status", "unknown",
// "failed", "invalid" or "not-available".
type cprPage struct {
	Result  string
	Message string
	// StatusCode and StatusText are the service's, for Result "status".
	StatusCode int
	StatusText string
}

// GET /cpr: the match form, when the shop has a CPR service and the user
// is logged on.
func (s *Server) handleCPRForm(w http.ResponseWriter, r *http.Request) {
	lang := s.languageOf(w, r)
	if s.pidCPR == nil {
		s.fail(w, r, lang, s.currentSession(r), http.StatusNotFound, errorPage{Message: "error_not_found", Retry: "/"})
		return
	}
	sess, user, ok := s.loggedOn(w, r)
	if !ok {
		return
	}
	page := cprPage{}
	if user.PID == "" && user.RID == "" {
		page = cprPage{Result: "not-available", Message: texts[lang.page]["cpr_not_available"]}
	}
	s.render(w, r, lang, sess, http.StatusOK, "cpr", page)
}

// POST /cpr: ask the PID-CPR (or RID-CPR) service whether the typed CPR
// number belongs to the logged-on identity. The number is neither logged
// nor shown again.
func (s *Server) handleCPR(w http.ResponseWriter, r *http.Request) {
	lang := s.languageOf(w, r)
	if s.pidCPR == nil {
		s.fail(w, r, lang, s.currentSession(r), http.StatusNotFound, errorPage{Message: "error_not_found", Retry: "/"})
		return
	}
	sess, user, ok := s.loggedOn(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if !s.checkForm(w, r, lang, sess) {
		return
	}
	t := texts[lang.page]
	number := strings.NewReplacer(" ", "", "-", "").Replace(r.PostForm.Get("cpr"))
	if !cpr.ValidCPR(number) {
		s.render(w, r, lang, sess, http.StatusBadRequest, "cpr", cprPage{Result: "invalid", Message: t["cpr_invalid"]})
		return
	}
	var match bool
	var err error
	switch {
	case user.PID != "":
		match, err = s.pidCPR.Match(r.Context(), user.PID, number)
	case user.RID != "":
		match, err = s.ridCPR.Match(r.Context(), user.SerialNumber, number)
	default:
		s.render(w, r, lang, sess, http.StatusOK, "cpr", cprPage{Result: "not-available", Message: t["cpr_not_available"]})
		return
	}
	page := cprPage{Result: "no-match", Message: t["cpr_no_match"]}
	var se *cpr.ServiceError
	switch {
	case err == nil && match:
		page = cprPage{Result: "match", Message: t["cpr_match"]}
	case err == nil:
	case errors.Is(err, cpr.ErrUnknownIdentity):
		page = cprPage{Result: "unknown", Message: t["cpr_unknown"]}
	case errors.As(err, &se):
		text := se.TextUK
		if lang.page == "da" && se.TextDK != "" {
			text = se.TextDK
		}
		page = cprPage{Result: "status", Message: t["cpr_service_status"], StatusCode: int(se.Code), StatusText: text}
	default:
		s.log.Error("CPR service call failed", "err", err)
		page = cprPage{Result: "failed", Message: t["cpr_failed"]}
	}
	s.log.Info("CPR match answered", "result", page.Result, "status", page.StatusCode)
	s.render(w, r, lang, sess, http.StatusOK, "cpr", page)
}
