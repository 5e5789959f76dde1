package registration

import (
	"context"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/nemid-dk/nemid/internal/audit"
	"github.com/nemid-dk/nemid/internal/auth"
)

// auditor is auth's Auditor: it appends auth's security events to the
// audit log. auth's events hold no secret and no CPR number; the audit log
// checks that again (audit.Entry.Validate) and refuses what looks like one.
type auditor struct{ log *audit.Log }

var _ auth.Auditor = auditor{}

// Record implements auth.Auditor.
func (a auditor) Record(ctx context.Context, e auth.AuditEvent) error {
	actor, detail := auditActor(e.Actor, e.UserID, e.NemID)
	subject := "user:unknown" // a logon with a user-id nobody has
	if e.UserID != 0 {
		subject = audit.User(strconv.FormatInt(e.UserID, 10))
		detail["nemid"] = e.NemID
	}
	if e.Detail != "" {
		detail["detail"] = truncate(e.Detail, audit.MaxDetailValue)
	}
	_, err := a.log.Append(ctx, audit.Entry{
		Actor: actor, Action: audit.Action(e.Action), Subject: subject,
		Outcome: audit.Outcome(e.Outcome), Code: string(e.Code), Detail: detail,
	})
	return err
}

// auditActor is the audit log's actor for an auth actor acting on the user
// with that id and NemID number, and the detail that names it further: an
// operator's name, or the NemID number of a user acting on another.
func auditActor(a auth.Actor, userID int64, nemid string) (string, map[string]string) {
	detail := map[string]string{}
	kind, name, _ := strings.Cut(string(a), ":")
	switch {
	case a == auth.ActorSystem:
		return audit.System, detail
	case kind == "operator":
		detail["operator"] = truncate(name, audit.MaxDetailValue)
		return audit.Operator, detail
	case kind == "user" && name == nemid && userID != 0:
		return audit.User(strconv.FormatInt(userID, 10)), detail
	}
	detail["actor"] = truncate(string(a), audit.MaxDetailValue)
	return audit.System, detail
}

// truncate cuts s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
