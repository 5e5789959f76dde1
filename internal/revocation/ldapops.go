package revocation

// The LDAP operations (RFC 4511 §4): anonymous bind, search and compare
// are answered; every update is refused with unwillingToPerform, since the
// CA writes the CRLs to the store and never through the directory.

import (
	"context"
	"errors"
	"io"
	"math"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// protocolOp identifiers ([APPLICATION n]).
const (
	ldapOpBind           = berApplication | berConstructed | 0
	ldapOpBindResponse   = berApplication | berConstructed | 1
	ldapOpUnbind         = berApplication | 2
	ldapOpSearch         = berApplication | berConstructed | 3
	ldapOpSearchEntry    = berApplication | berConstructed | 4
	ldapOpSearchDone     = berApplication | berConstructed | 5
	ldapOpModify         = berApplication | berConstructed | 6
	ldapOpAdd            = berApplication | berConstructed | 8
	ldapOpDelete         = berApplication | 10
	ldapOpModifyDN       = berApplication | berConstructed | 12
	ldapOpCompare        = berApplication | berConstructed | 14
	ldapOpAbandon        = berApplication | 16
	ldapOpExtended       = berApplication | berConstructed | 23
	ldapOpExtendedResult = berApplication | berConstructed | 24
)

// ldapResponseTag gives the response to each request that has one: the
// request's number plus one, except the extended operation.
var ldapResponseTag = map[byte]byte{
	ldapOpBind:     ldapOpBindResponse,
	ldapOpSearch:   ldapOpSearchDone,
	ldapOpModify:   berApplication | berConstructed | 7,
	ldapOpAdd:      berApplication | berConstructed | 9,
	ldapOpDelete:   berApplication | berConstructed | 11,
	ldapOpModifyDN: berApplication | berConstructed | 13,
	ldapOpCompare:  berApplication | berConstructed | 15,
	ldapOpExtended: ldapOpExtendedResult,
}

const (
	ldapOIDWhoAmI       = "1.3.6.1.4.1.4203.1.11.3"
	ldapOIDNoticeOfDisc = "1.3.6.1.4.1.1466.20036"
	ldapOIDManageDsaIT  = "2.16.840.1.113730.3.4.2" // no referrals here, so honoured by doing nothing
	ldapScopeBase       = 0
	ldapScopeOne        = 1
	ldapScopeSubtree    = 2
)

// ldapResult builds an LDAPResult-shaped response.
func ldapResult(tag byte, code int, matched, diag string, extra ...*berOut) *berOut {
	kids := []*berOut{berIntOut(berTagEnumerated, int64(code)), berStr(berTagOctetString, matched), berStr(berTagOctetString, diag)}
	return berCons(tag, append(kids, extra...)...)
}

// ldapWriteNotice writes a Notice of Disconnection (RFC 4511 §4.4.1).
func ldapWriteNotice(w io.Writer, code int, diag string) error {
	m := berCons(berTagSequence, berIntOut(berTagInteger, 0),
		ldapResult(ldapOpExtendedResult, code, "", diag, berStr(berContext|10, ldapOIDNoticeOfDisc)))
	_, err := w.Write(m.encode())
	return err
}

// serveMessage handles one LDAPMessage and reports whether the connection
// stays open. A message whose envelope cannot be understood ends the
// connection with a Notice of Disconnection (RFC 4511 §4.1.1); a known
// request with a malformed body gets protocolError and ends it too.
func (lc *ldapConn) serveMessage(ctx context.Context, msg []byte) bool {
	elems, err := berDecode(msg)
	if err != nil || len(elems) < 2 || len(elems) > 3 || elems[0].id != berTagInteger {
		lc.log.Debug("LDAP malformed message; closing", "err", err)
		lc.notice(ldap.LDAPResultProtocolError, "malformed message")
		return false
	}
	id, err := berInt(elems[0])
	if err != nil || id < 1 || id > math.MaxInt32 {
		lc.notice(ldap.LDAPResultProtocolError, "invalid message ID")
		return false
	}
	op := elems[1]
	switch op.id {
	case ldapOpUnbind:
		return false
	case ldapOpAbandon:
		return true // requests run one at a time: nothing is left to abandon
	}
	resp, ok := ldapResponseTag[op.id]
	if !ok {
		lc.log.Debug("LDAP unknown operation; closing", "op", op.id)
		lc.notice(ldap.LDAPResultProtocolError, "unknown operation")
		return false
	}
	critical := false
	if len(elems) == 3 {
		if critical, err = ldapUnknownCriticalControl(elems[2]); err != nil {
			lc.notice(ldap.LDAPResultProtocolError, "malformed controls")
			return false
		}
	}
	lc.c.SetWriteDeadline(time.Now().Add(lc.s.cfg.WriteTimeout))
	ctx, cancel := context.WithTimeout(ctx, lc.s.cfg.RequestTimeout)
	defer cancel()
	switch {
	case critical:
		err = lc.write(id, ldapResult(resp, ldap.LDAPResultUnavailableCriticalExtension, "", "unsupported critical control"))
	case op.id == ldapOpBind:
		err = lc.bind(id, op)
	case op.id == ldapOpSearch:
		err = lc.search(ctx, id, op)
	case op.id == ldapOpCompare:
		err = lc.compare(ctx, id, op)
	case op.id == ldapOpExtended:
		err = lc.extended(id, op)
	default:
		err = lc.write(id, ldapResult(resp, ldap.LDAPResultUnwillingToPerform, "", "the directory is read-only"))
	}
	if errors.Is(err, errBERMalformed) {
		lc.log.Debug("LDAP malformed request; closing", "op", op.id)
		lc.linger = true
		err = lc.write(id, ldapResult(resp, ldap.LDAPResultProtocolError, "", "malformed request"))
		if err == nil {
			lc.w.Flush()
		}
		return false
	}
	if err == nil {
		err = lc.w.Flush()
	}
	if err != nil {
		lc.log.Debug("LDAP write failed; closing", "err", err)
		return false
	}
	return true
}

// ldapUnknownCriticalControl reports whether the request carries a critical
// control the directory does not implement (RFC 4511 §4.1.11).
func ldapUnknownCriticalControl(e berElem) (bool, error) {
	if e.id != berContext|berConstructed|0 {
		return false, errBERMalformed
	}
	for _, c := range e.children {
		if c.id != berTagSequence || len(c.children) == 0 || len(c.children) > 3 {
			return false, errBERMalformed
		}
		oid, err := berString(c.children[0], berTagOctetString)
		if err != nil {
			return false, err
		}
		if len(c.children) > 1 && c.children[1].id == berTagBoolean {
			crit, err := berBool(c.children[1])
			if err != nil {
				return false, err
			}
			if crit && oid != ldapOIDManageDsaIT {
				return true, nil
			}
		}
	}
	return false, nil
}

// bind accepts only the anonymous simple bind. Passwords are never logged.
func (lc *ldapConn) bind(id int64, op berElem) error {
	k := op.children
	if len(k) != 3 || k[0].id != berTagInteger {
		return errBERMalformed
	}
	version, err := berInt(k[0])
	if err != nil {
		return err
	}
	name, err := berString(k[1], berTagOctetString)
	if err != nil {
		return err
	}
	res := func(code int, diag string) error {
		return lc.write(id, ldapResult(ldapOpBindResponse, code, "", diag))
	}
	// LDAPv2 is accepted for the anonymous bind: old clients default to
	// it, and its search request is the same.
	if version != 2 && version != 3 {
		return res(ldap.LDAPResultProtocolError, "unsupported LDAP version")
	}
	switch k[2].id {
	case berContext | 0: // simple
		switch {
		case name == "" && len(k[2].content) == 0:
			return res(ldap.LDAPResultSuccess, "")
		case len(k[2].content) == 0:
			// RFC 4513 §5.1.2: an unauthenticated bind must fail by default.
			return res(ldap.LDAPResultUnwillingToPerform, "unauthenticated bind is not allowed")
		default:
			lc.log.Debug("LDAP bind with credentials refused")
			return res(ldap.LDAPResultInvalidCredentials, "only anonymous bind is supported")
		}
	case berContext | berConstructed | 3: // SASL
		return res(ldap.LDAPResultAuthMethodNotSupported, "only anonymous bind is supported")
	}
	return errBERMalformed
}

// extended answers "Who am I?" (RFC 4532) for the anonymous user; any
// other extended operation, StartTLS included, is unknown (§4.12).
func (lc *ldapConn) extended(id int64, op berElem) error {
	k := op.children
	if len(k) < 1 || len(k) > 2 || k[0].id != berContext|0 || len(k) == 2 && k[1].id != berContext|1 {
		return errBERMalformed
	}
	if string(k[0].content) == ldapOIDWhoAmI {
		return lc.write(id, ldapResult(ldapOpExtendedResult, ldap.LDAPResultSuccess, "", "", berStr(berContext|11, "")))
	}
	return lc.write(id, ldapResult(ldapOpExtendedResult, ldap.LDAPResultProtocolError, "", "unsupported extended operation"))
}

// ldapSelection is the requested attribute list (RFC 4511 §4.5.1.8).
type ldapSelection struct {
	user, operational bool
	names             []ldapAttrDesc
}

func newLDAPSelection(list []string) ldapSelection {
	sel := ldapSelection{user: len(list) == 0}
	for _, s := range list {
		switch s {
		case "*":
			sel.user = true
		case "+":
			sel.operational = true
		case "1.1": // no attributes
		default:
			sel.names = append(sel.names, parseLDAPAttrDesc(s))
		}
	}
	return sel
}

// name is the description to return t under, "" if t is not selected.
// An attribute asked for by name is returned under the client's spelling,
// so a client that looks for exactly the name it asked for finds it; a
// Certificate or CertificateList always carries ;binary (RFC 4522), as
// OpenLDAP returns it whether or not it was asked for.
func (sel ldapSelection) name(t *ldapAttrType) string {
	suffix := ""
	if t.binary {
		suffix = ";binary"
	}
	for _, d := range sel.names {
		if d.matches(t) {
			return d.typ + suffix
		}
	}
	if t.operational && sel.operational || !t.operational && sel.user {
		return t.name + suffix
	}
	return ""
}

// ldapEntryOut builds the SearchResultEntry of e.
func ldapEntryOut(ctx context.Context, e *ldapEntry, sel ldapSelection, typesOnly bool) (*berOut, error) {
	if sel.name(atCRL) != "" {
		if err := e.ensure(ctx); err != nil {
			return nil, err
		}
	}
	var attrs []*berOut
	for _, a := range e.attrs {
		name := sel.name(a.t)
		if name == "" {
			continue
		}
		var vals []*berOut
		if !typesOnly {
			for _, v := range a.vals {
				vals = append(vals, berPrim(berTagOctetString, v))
			}
		}
		attrs = append(attrs, berCons(berTagSequence, berStr(berTagOctetString, name), berCons(berTagSet, vals...)))
	}
	return berCons(ldapOpSearchEntry, berStr(berTagOctetString, e.dn), berCons(berTagSequence, attrs...)), nil
}
