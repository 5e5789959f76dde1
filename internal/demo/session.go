package demo

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/nemid-dk/nemid/ooapi"
)

// Session limits. A session is made only when a flow starts (logon or
// signing), not for every visitor.
const (
	sessionIdle     = 30 * time.Minute
	sessionLifetime = 8 * time.Hour
	maxSessions     = 10000
)

// errTooManySessions: the session table is full of live sessions.
var errTooManySessions = errors.New("demo: too many sessions")

// session is one browser's state. Its id is the cookie's secret; csrf is
// the token every form carries.
type session struct {
	id       string
	csrf     string
	created  time.Time
	lastSeen time.Time
	// user is set once a logon response was accepted.
	user *identity
	// pending is the agreement of the signing in progress: the response is
	// validated against exactly this document.
	pending *agreement
	// documents are the ids of the evidence this session signed; only they
	// can be downloaded by it.
	documents map[string]bool
}

// identity is what the shop keeps of a validated logon.
type identity struct {
	Type               string
	CommonName         string
	SerialNumber       string
	PID, RID, UID, FID string
	CVR, Organization  string
	CertificateSerial  string
	Issuer             string
	NotAfter           time.Time
	Status             ooapi.CertificateStatus
	RevocationMethod   string
	AssuranceLevel     string
	LoggedInAt         time.Time
}

// identityOf summarises a validated result.
func identityOf(res *ooapi.Result, at time.Time) *identity {
	id := res.Identity
	return &identity{
		Type:              string(id.Type),
		CommonName:        id.CommonName,
		SerialNumber:      id.SerialNumber,
		PID:               id.PID,
		RID:               id.RID,
		UID:               id.UID,
		FID:               id.FID,
		CVR:               id.CVR,
		Organization:      id.Organization,
		CertificateSerial: certificateSerial(res),
		Issuer:            res.Certificate.Issuer.CommonName,
		NotAfter:          res.Certificate.NotAfter,
		Status:            res.Status,
		RevocationMethod:  res.Revocation.Method,
		AssuranceLevel:    res.IdentityAssuranceLevel,
		LoggedInAt:        at,
	}
}

func certificateSerial(res *ooapi.Result) string {
	if res.Certificate == nil {
		return ""
	}
	return res.Certificate.SerialNumber.Text(16)
}

// sessions is the in-memory session table.
type sessions struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]*session
}

func newSessions(now func() time.Time) *sessions {
	return &sessions{now: now, m: map[string]*session{}}
}

func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// get returns the live session with this id, or nil.
func (ss *sessions) get(id string) *session {
	if id == "" {
		return nil
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[id]
	if s == nil {
		return nil
	}
	now := ss.now()
	if ss.expired(s, now) {
		delete(ss.m, id)
		return nil
	}
	s.lastSeen = now
	return s
}

func (ss *sessions) expired(s *session, now time.Time) bool {
	return now.Sub(s.lastSeen) > sessionIdle || now.Sub(s.created) > sessionLifetime
}

// create makes a new session. When the table is full it first drops the
// expired ones; if it is still full it refuses rather than evict a live
// session (which would log somebody out).
func (ss *sessions) create() (*session, error) {
	id, err := randomToken()
	if err != nil {
		return nil, err
	}
	csrf, err := randomToken()
	if err != nil {
		return nil, err
	}
	now := ss.now()
	s := &session{id: id, csrf: csrf, created: now, lastSeen: now, documents: map[string]bool{}}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if len(ss.m) >= maxSessions {
		for k, old := range ss.m {
			if ss.expired(old, now) {
				delete(ss.m, k)
			}
		}
		if len(ss.m) >= maxSessions {
			return nil, errTooManySessions
		}
	}
	ss.m[id] = s
	return s, nil
}

// rotate gives s a new id and CSRF token, keeping its state: done at logon,
// so that an id planted in the browser before the logon is worth nothing
// after it.
func (ss *sessions) rotate(s *session) error {
	id, err := randomToken()
	if err != nil {
		return err
	}
	csrf, err := randomToken()
	if err != nil {
		return err
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.m, s.id)
	s.id, s.csrf = id, csrf
	ss.m[id] = s
	return nil
}

func (ss *sessions) delete(s *session) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.m, s.id)
}

// with runs f on the session under the table's lock, so that handlers of
// two requests of one browser do not race on its fields.
func (ss *sessions) with(s *session, f func(*session)) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	f(s)
}

// challengeKey is the session's key in the ChallengeStore: a hash of the
// id, so that a shared challenge store never holds the cookie's secret.
func (s *session) challengeKey() string {
	sum := sha256.Sum256([]byte("demo-challenge\x00" + s.id))
	return hex.EncodeToString(sum[:])
}

// checkCSRF reports whether token is the session's CSRF token.
func (s *session) checkCSRF(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.csrf)) == 1
}

// Cookie names. Over https the session cookie takes the __Host- prefix, so
// that no other host of the site can set it.
const (
	sessionCookie  = "demo_session"
	rememberCookie = "demo_remember"
	languageCookie = "demo_lang"
)

func (s *Server) sessionCookieName() string {
	if s.secure {
		return "__Host-" + sessionCookie
	}
	return sessionCookie
}

// currentSession returns the request's session, or nil.
func (s *Server) currentSession(r *http.Request) *session {
	c, err := r.Cookie(s.sessionCookieName())
	if err != nil {
		return nil
	}
	return s.sessions.get(c.Value)
}

// startSession returns the request's session, making one (and setting its
// cookie) if there is none.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request) (*session, error) {
	if sess := s.currentSession(r); sess != nil {
		return sess, nil
	}
	sess, err := s.sessions.create()
	if err != nil {
		return nil, err
	}
	s.setSessionCookie(w, sess.id)
	return sess, nil
}

func (s *Server) setSessionCookie(w http.ResponseWriter, id string) {
	http.SetCookie(w, &http.Cookie{
		Name: s.sessionCookieName(), Value: id, Path: "/",
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode,
	})
}
