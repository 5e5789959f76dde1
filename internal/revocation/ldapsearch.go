package revocation

// Search (RFC 4511 §4.5) and compare (§4.10).

import (
	"context"
	"unicode/utf8"

	"github.com/go-ldap/ldap/v3"
)

// ldapSearchRequest is a decoded SearchRequest.
type ldapSearchRequest struct {
	base      string
	scope     int64
	sizeLimit int64
	typesOnly bool
	filter    *ldapFilter
	attrs     []string
}

func decodeLDAPSearch(op berElem) (*ldapSearchRequest, error) {
	k := op.children
	if len(k) != 8 || k[1].id != berTagEnumerated || k[2].id != berTagEnumerated ||
		k[3].id != berTagInteger || k[4].id != berTagInteger || k[7].id != berTagSequence {
		return nil, errBERMalformed
	}
	var r ldapSearchRequest
	var err error
	if r.base, err = berString(k[0], berTagOctetString); err != nil {
		return nil, err
	}
	if r.scope, err = berInt(k[1]); err != nil || r.scope < ldapScopeBase || r.scope > ldapScopeSubtree {
		return nil, errBERMalformed
	}
	// derefAliases (k[2]) and timeLimit (k[4]) are checked, not used: there
	// are no aliases, and RequestTimeout bounds the time.
	if deref, err := berInt(k[2]); err != nil || deref < 0 || deref > 3 {
		return nil, errBERMalformed
	}
	if r.sizeLimit, err = berInt(k[3]); err != nil || r.sizeLimit < 0 {
		return nil, errBERMalformed
	}
	if t, err := berInt(k[4]); err != nil || t < 0 {
		return nil, errBERMalformed
	}
	if r.typesOnly, err = berBool(k[5]); err != nil {
		return nil, err
	}
	if r.filter, err = compileLDAPFilter(k[6]); err != nil {
		return nil, err
	}
	for _, a := range k[7].children {
		s, err := berString(a, berTagOctetString)
		if err != nil {
			return nil, err
		}
		r.attrs = append(r.attrs, s)
	}
	return &r, nil
}

// search answers a SearchRequest. Errors from the CRLSource end the search
// with "other"; only malformed requests and write failures are returned.
func (lc *ldapConn) search(ctx context.Context, id int64, op berElem) error {
	req, err := decodeLDAPSearch(op)
	if err != nil {
		return err
	}
	done := func(code int, matched, diag string) error {
		lc.log.Debug("LDAP search", "base", req.base, "scope", req.scope, "result", code)
		return lc.write(id, ldapResult(ldapOpSearchDone, code, matched, diag))
	}
	if !utf8.ValidString(req.base) {
		return done(ldap.LDAPResultInvalidDNSyntax, "", "invalid DN")
	}
	rdns, err := parseLDAPDN(req.base)
	if err != nil {
		return done(ldap.LDAPResultInvalidDNSyntax, "", "invalid DN")
	}
	dir := lc.s.dir

	// The candidates, in order. The root DSE is returned only by a base
	// search at the empty DN (RFC 4512 §5.1); one-level and subtree
	// searches from the empty DN cover the naming contexts.
	var nodes []*ldapNode
	var single *ldapEntry
	if len(rdns) == 0 {
		switch req.scope {
		case ldapScopeBase:
			single = dir.rootDSE()
		case ldapScopeOne:
			nodes = dir.top
		default:
			for _, n := range dir.top {
				nodes = ldapAppendSubtree(nodes, n)
			}
		}
	} else {
		node, part, matched, err := dir.lookup(ctx, rdns)
		switch {
		case err != nil:
			lc.log.Error("LDAP search: reading the CRL failed", "base", req.base, "err", err)
			return done(ldap.LDAPResultOther, "", "internal error")
		case part != nil:
			if req.scope != ldapScopeOne { // a partition entry has no children
				single = part
			}
		case node == nil:
			return done(ldap.LDAPResultNoSuchObject, matched, "")
		case req.scope == ldapScopeBase:
			nodes = []*ldapNode{node}
		case req.scope == ldapScopeOne:
			nodes = node.children
		default:
			nodes = ldapAppendSubtree(nil, node)
		}
	}

	limit := int64(lc.s.cfg.MaxResults)
	if req.sizeLimit > 0 && req.sizeLimit < limit {
		limit = req.sizeLimit
	}
	sel := newLDAPSelection(req.attrs)
	sent := int64(0)
	try := func(e *ldapEntry) (int, error) {
		match, err := req.filter.eval(ctx, e)
		if err != nil {
			return ldap.LDAPResultOther, err
		}
		if match != ldapTrue {
			return ldap.LDAPResultSuccess, nil
		}
		if sent == limit {
			return ldap.LDAPResultSizeLimitExceeded, nil
		}
		out, err := ldapEntryOut(ctx, e, sel, req.typesOnly)
		if err != nil {
			return ldap.LDAPResultOther, err
		}
		sent++
		return ldap.LDAPResultSuccess, lc.write(id, out)
	}
	if single != nil {
		nodes = nil
		if code, err := try(single); code != ldap.LDAPResultSuccess || err != nil {
			return lc.searchFailed(done, code, err)
		}
	}
	for _, n := range nodes {
		if code, err := try(dir.entry(n)); code != ldap.LDAPResultSuccess || err != nil {
			return lc.searchFailed(done, code, err)
		}
	}
	return done(ldap.LDAPResultSuccess, "", "")
}

// searchFailed ends a search that could not go on: a write error is
// returned as is, a store error is logged and reported as "other".
func (lc *ldapConn) searchFailed(done func(int, string, string) error, code int, err error) error {
	if err != nil && code == ldap.LDAPResultSuccess {
		return err // writing failed
	}
	if err != nil {
		lc.log.Error("LDAP search: reading the CRL failed", "err", err)
		return done(code, "", "internal error")
	}
	return done(code, "", "")
}

// ldapAppendSubtree appends n and its descendants, depth first.
func ldapAppendSubtree(out []*ldapNode, n *ldapNode) []*ldapNode {
	out = append(out, n)
	for _, c := range n.children {
		out = ldapAppendSubtree(out, c)
	}
	return out
}

// compare answers a CompareRequest on the naming attributes and
// objectClass; certificates and CRLs have no equality rule here.
func (lc *ldapConn) compare(ctx context.Context, id int64, op berElem) error {
	k := op.children
	if len(k) != 2 || k[1].id != berTagSequence || len(k[1].children) != 2 {
		return errBERMalformed
	}
	dn, err := berString(k[0], berTagOctetString)
	if err != nil {
		return err
	}
	typ, err1 := berString(k[1].children[0], berTagOctetString)
	val, err2 := berString(k[1].children[1], berTagOctetString)
	if err1 != nil || err2 != nil {
		return errBERMalformed
	}
	res := func(code int, matched, diag string) error {
		return lc.write(id, ldapResult(berApplication|berConstructed|15, code, matched, diag))
	}
	rdns, err := parseLDAPDN(dn)
	if err != nil || !utf8.ValidString(dn) {
		return res(ldap.LDAPResultInvalidDNSyntax, "", "invalid DN")
	}
	var e *ldapEntry
	if len(rdns) == 0 {
		e = lc.s.dir.rootDSE()
	} else {
		node, part, matched, err := lc.s.dir.lookup(ctx, rdns)
		switch {
		case err != nil:
			lc.log.Error("LDAP compare: reading the CRL failed", "err", err)
			return res(ldap.LDAPResultOther, "", "internal error")
		case part != nil:
			e = part
		case node == nil:
			return res(ldap.LDAPResultNoSuchObject, matched, "")
		default:
			e = lc.s.dir.entry(node)
		}
	}
	d := parseLDAPAttrDesc(typ)
	switch {
	case d.t == nil:
		return res(ldap.LDAPResultUndefinedAttributeType, "", "")
	case d.t.binary || d.options:
		return res(ldap.LDAPResultInappropriateMatching, "", "")
	}
	vals, _ := e.values(ctx, d.t) // only a CRL is read from the store, and it is binary
	if len(vals) == 0 {
		return res(ldap.LDAPResultNoSuchAttribute, "", "")
	}
	for _, v := range vals {
		if ldapFold(string(v)) == ldapFold(val) {
			return res(ldap.LDAPResultCompareTrue, "", "")
		}
	}
	return res(ldap.LDAPResultCompareFalse, "", "")
}
