package auth

import (
	"errors"

	"github.com/nemid-dk/nemid/ooapi"
)

// CodeError is a refusal that NemID answers with one of its client error
// codes (spec section 5): the client shows Code's text and hands the code
// to the service provider. Test for a code with CodeOf.
type CodeError struct {
	Code ooapi.Code
	// why is for the log: what led to the code. Never a secret.
	why string
}

func (e *CodeError) Error() string {
	if e.why == "" {
		return "auth: " + string(e.Code)
	}
	return "auth: " + string(e.Code) + ": " + e.why
}

// Is makes errors.Is(err, &CodeError{Code: c}) match any refusal with code c.
func (e *CodeError) Is(target error) bool {
	t, ok := target.(*CodeError)
	return ok && t.Code == e.Code
}

func refuse(code ooapi.Code, why string) error { return &CodeError{Code: code, why: why} }

// CodeOf returns the NemID error code err carries, if any.
func CodeOf(err error) (ooapi.Code, bool) {
	var ce *CodeError
	if errors.As(err, &ce) {
		return ce.Code, true
	}
	return "", false
}

// UserError is a problem the user can fix, with the text to show them in
// Danish and in English: a rule a new password or alias breaks, or a wrong
// password or code. NemID had no error code for these: its client told the
// user and let them try again. Each is a distinct value; test with
// errors.Is.
type UserError struct {
	// ID names the problem for logs and tests, e.g. "password-too-short".
	ID     string
	da, en string
}

func (e *UserError) Error() string { return "auth: " + e.ID + ": " + e.en }

// Text is the message for the user in the language: Danish for DA (and for
// KL, which has no texts of its own), English for EN.
func (e *UserError) Text(lang ooapi.Language) string {
	if lang == ooapi.EN {
		return e.en
	}
	return e.da
}

func userError(id, da, en string) *UserError { return &UserError{ID: id, da: da, en: en} }

// Answers to a logon that the client shows to the user, who may try again.
var (
	// ErrInvalidCredentials: the user-id is unknown or the password is
	// wrong. The two are one answer on purpose: a caller cannot tell
	// whether a user-id exists.
	ErrInvalidCredentials = userError("invalid-credentials",
		"Forkert bruger-id eller adgangskode.",
		"Wrong user ID or password.")
	// ErrTooManyAttempts: as many password attempts as the user has left
	// are being checked right now; this one was not checked. Try again in
	// a moment.
	ErrTooManyAttempts = userError("too-many-attempts",
		"Der er for mange samtidige forsøg på at logge på. Prøv igen om lidt.",
		"There are too many attempts to log on at the same time. Please try again in a moment.")
	// ErrWrongCode: the key-card code does not match the key asked for.
	ErrWrongCode = userError("wrong-code",
		"Forkert nøgle. Prøv igen.",
		"Wrong code. Please try again.")
)

// Errors of the operator's and the system's operations.
var (
	// ErrUnknownUser: no user has that user-id (operator operations only;
	// a logon answers ErrInvalidCredentials).
	ErrUnknownUser = errors.New("auth: no user has that user-id")
	// ErrCPRRegistered: a user with that CPR number exists already.
	ErrCPRRegistered = errors.New("auth: a user with that CPR number is registered already")
	// ErrNotAllowed: the user's state does not allow the operation (e.g.
	// resetting the password of a blocked user); the message says why.
	ErrNotAllowed = errors.New("auth: not allowed in the user's state")
	// ErrInvalidReason: a reason for a state change or a key card that the
	// logs cannot hold as written (too long, a control character).
	ErrInvalidReason = errors.New("auth: invalid reason")
	// ErrLetter: the letter carrying a new secret could not be queued; the
	// secret was withdrawn, so nothing usable is left without its letter.
	ErrLetter = errors.New("auth: the letter could not be queued; the new secret was withdrawn")
)
