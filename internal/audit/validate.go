package audit

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrInvalidEntry is wrapped by every refusal of an entry. The messages
// name the field and the rule, never the refused value: it may be the very
// secret the rule keeps out.
var ErrInvalidEntry = errors.New("audit: invalid entry")

// Limits on an entry's size: a record is a fact, not a document.
const (
	MaxDetailEntries = 16
	MaxDetailKey     = 32  // bytes
	MaxDetailValue   = 200 // bytes
	MaxRefID         = 200 // bytes of the id in an Actor or Subject
)

// secretWords are refused anywhere in a Detail key, in any case, so that no
// caller files a password, one-time code, PIN, key, token, CPR number or
// other secret under an innocent-looking name by mistake: "pass" (password,
// passphrase, passcode), "pwd", "code", "pin", "key", "token", "cpr",
// "secret". The net is wide on purpose ("keycard" and "pin_hint" are refused
// too): a key card is "card", its position "position". A NemID error code
// has its own field, Code.
var secretWords = []string{"pass", "pwd", "code", "pin", "key", "token", "cpr", "secret"}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidEntry}, args...)...)
}

// Validate checks an entry before it is appended:
//
//   - Actor is "operator", "system", "user:<id>" or "sp:<id>", the id 1 to
//     MaxRefID characters of A–Z, a–z, 0–9, '.', '_' and '-'.
//   - Action is one of the actions (see Actions).
//   - Subject is "<kind>:<id>": the kind a lower-case word (letters,
//     digits, '-'; not "cpr"), the id 1 to MaxRefID printable ASCII
//     characters without spaces (':' allowed, as in "identity:PID:9208-…").
//   - Outcome is Success, Failure or Refused; Code is "" or a NemID error
//     code (three or four capital letters and three digits, e.g. LOCK001),
//     and only a failure or a refusal has one.
//   - Detail has at most MaxDetailEntries entries; each key is a lower-case
//     word of letters, digits and '_' of at most MaxDetailKey bytes holding
//     none of the secret words (pass, pwd, code, pin, key, token, cpr,
//     secret); each value is at most MaxDetailValue bytes of printable UTF-8.
//   - As a last net under those rules, no id and no Detail value may have
//     the shape of a CPR number (ten digits, or six, a dash and four), and
//     no Detail value the shape of a one-time code or temporary password
//     (exactly six digits).
func (e Entry) Validate() error {
	if err := validActor(e.Actor); err != nil {
		return err
	}
	if !e.Action.Known() {
		return invalid("action %q is not one of the audit actions", e.Action)
	}
	if err := validSubject(e.Subject); err != nil {
		return err
	}
	switch e.Outcome {
	case Success:
		if e.Code != "" {
			return invalid("outcome success with code %q: only a failure or a refusal has a code", e.Code)
		}
	case Failure, Refused:
		if e.Code != "" && !isNemIDCode(e.Code) {
			return invalid("code %q is not a NemID error code (like LOCK001 or AUTH004)", e.Code)
		}
	default:
		return invalid("outcome %q: want success, failure or refused", e.Outcome)
	}
	return validDetail(e.Detail)
}

func validActor(a string) error {
	switch a {
	case Operator, System:
		return nil
	case "":
		return invalid("no actor")
	}
	kind, id, ok := strings.Cut(a, ":")
	if !ok || (kind != "user" && kind != "sp") {
		return invalid(`actor: want "operator", "system", "user:<id>" or "sp:<id>"`)
	}
	if len(id) == 0 || len(id) > MaxRefID || strings.TrimFunc(id, isIDChar) != "" {
		return invalid("actor %s:<id>: the id must be 1 to %d characters of A-Z, a-z, 0-9, '.', '_' and '-'", kind, MaxRefID)
	}
	if looksLikeCPR(id) {
		return invalid("actor %s:<id>: the id has the shape of a CPR number, which is never recorded", kind)
	}
	return nil
}

func isIDChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
}

func validSubject(s string) error {
	if s == "" {
		return invalid("no subject")
	}
	kind, id, ok := strings.Cut(s, ":")
	if !ok || !isWord(kind, 32, '-') {
		return invalid("subject: want <kind>:<id>, the kind a lower-case word such as user, cert or sp")
	}
	if kind == "cpr" {
		return invalid("subject: a CPR number is never recorded")
	}
	if len(id) == 0 || len(id) > MaxRefID {
		return invalid("subject %s:<id>: the id must be 1 to %d characters", kind, MaxRefID)
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return invalid("subject %s:<id>: the id must be printable ASCII without spaces", kind)
		}
	}
	if looksLikeCPR(id) {
		return invalid("subject %s:<id>: the id has the shape of a CPR number, which is never recorded", kind)
	}
	return nil
}

// isWord reports whether s is 1 to max bytes of a-z, 0-9 and sep, starting
// with a letter.
func isWord(s string, max int, sep byte) bool {
	if len(s) == 0 || len(s) > max || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != sep {
			return false
		}
	}
	return true
}

func isNemIDCode(c string) bool {
	n := len(c) - 3
	if n < 3 || n > 4 {
		return false
	}
	for i := 0; i < len(c); i++ {
		if i < n && (c[i] < 'A' || c[i] > 'Z') || i >= n && (c[i] < '0' || c[i] > '9') {
			return false
		}
	}
	return true
}

func validDetail(d map[string]string) error {
	if len(d) > MaxDetailEntries {
		return invalid("detail has %d entries: at most %d are allowed", len(d), MaxDetailEntries)
	}
	for _, k := range sortedKeys(d) {
		if !isWord(k, MaxDetailKey, '_') {
			return invalid("detail key %q: want a lower-case word of letters, digits and '_', at most %d bytes", k, MaxDetailKey)
		}
		for _, w := range secretWords {
			if strings.Contains(k, w) {
				return invalid("detail key %q contains %q: the audit log never holds passwords, codes, PINs, keys, tokens, CPR numbers or other secrets, nor names that suggest one", k, w)
			}
		}
		v := d[k]
		switch {
		case len(v) > MaxDetailValue:
			return invalid("detail %q is %d bytes long: at most %d are allowed", k, len(v), MaxDetailValue)
		case !utf8.ValidString(v):
			return invalid("detail %q is not valid UTF-8", k)
		case strings.IndexFunc(v, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
			return invalid("detail %q holds an unprintable character", k)
		case looksLikeCPR(v):
			return invalid("detail %q has the shape of a CPR number, which is never recorded", k)
		case len(v) == 6 && allDigits(v):
			return invalid("detail %q is six digits, the shape of a one-time code or temporary password, which are never recorded", k)
		}
	}
	return nil
}

// looksLikeCPR reports whether s is ten digits, or six digits, a dash and
// four digits: how a CPR number is written.
func looksLikeCPR(s string) bool {
	switch len(s) {
	case 10:
		return allDigits(s)
	case 11:
		return s[6] == '-' && allDigits(s[:6]) && allDigits(s[7:])
	}
	return false
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return len(s) > 0
}
