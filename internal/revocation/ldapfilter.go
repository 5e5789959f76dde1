package revocation

// Search filters (RFC 4511 §4.5.1.7), compiled from the request's BER once
// and evaluated per entry with three-valued logic: a filter item the
// directory cannot decide (an unknown attribute, a matching rule it lacks)
// is Undefined, and an entry is returned only when the whole filter is
// True.

import (
	"context"
	"strings"
)

// Filter CHOICE tags (context-specific).
const (
	ldapFilterAnd        = berContext | berConstructed | 0
	ldapFilterOr         = berContext | berConstructed | 1
	ldapFilterNot        = berContext | berConstructed | 2
	ldapFilterEquality   = berContext | berConstructed | 3
	ldapFilterSubstrings = berContext | berConstructed | 4
	ldapFilterGreater    = berContext | berConstructed | 5
	ldapFilterLess       = berContext | berConstructed | 6
	ldapFilterPresent    = berContext | 7
	ldapFilterApprox     = berContext | berConstructed | 8
	ldapFilterExtensible = berContext | berConstructed | 9
)

type ldapTri int8

const (
	ldapFalse ldapTri = iota
	ldapTrue
	ldapUndefined
)

type ldapFilter struct {
	op    byte
	kids  []*ldapFilter
	desc  ldapAttrDesc
	value string // normalised assertion value (equality)
	// substrings, normalised
	initial, final       string
	hasInitial, hasFinal bool
	any                  []string
}

// compileLDAPFilter checks the filter's structure; a malformed filter is a
// protocol error. Depth is bounded by the BER decoder.
func compileLDAPFilter(e berElem) (*ldapFilter, error) {
	f := &ldapFilter{op: e.id}
	switch e.id {
	case ldapFilterAnd, ldapFilterOr:
		// An empty and/or is the absolute True/False of RFC 4526.
		for _, k := range e.children {
			kf, err := compileLDAPFilter(k)
			if err != nil {
				return nil, err
			}
			f.kids = append(f.kids, kf)
		}
	case ldapFilterNot:
		if len(e.children) != 1 {
			return nil, errBERMalformed
		}
		kf, err := compileLDAPFilter(e.children[0])
		if err != nil {
			return nil, err
		}
		f.kids = []*ldapFilter{kf}
	case ldapFilterEquality, ldapFilterGreater, ldapFilterLess, ldapFilterApprox:
		if len(e.children) != 2 {
			return nil, errBERMalformed
		}
		typ, err1 := berString(e.children[0], berTagOctetString)
		val, err2 := berString(e.children[1], berTagOctetString)
		if err1 != nil || err2 != nil {
			return nil, errBERMalformed
		}
		f.desc, f.value = parseLDAPAttrDesc(typ), ldapFold(val)
	case ldapFilterSubstrings:
		if len(e.children) != 2 || e.children[1].id != berTagSequence || len(e.children[1].children) == 0 {
			return nil, errBERMalformed
		}
		typ, err := berString(e.children[0], berTagOctetString)
		if err != nil {
			return nil, err
		}
		f.desc = parseLDAPAttrDesc(typ)
		subs := e.children[1].children
		for i, s := range subs {
			v := strings.ToLower(string(s.content))
			switch {
			case s.id == berContext|0 && i == 0:
				f.initial, f.hasInitial = v, true
			case s.id == berContext|1:
				f.any = append(f.any, v)
			case s.id == berContext|2 && i == len(subs)-1:
				f.final, f.hasFinal = v, true
			default:
				return nil, errBERMalformed
			}
		}
	case ldapFilterPresent:
		f.desc = parseLDAPAttrDesc(string(e.content))
	case ldapFilterExtensible:
		// MatchingRuleAssertion: no extensible matching rule is
		// implemented, so it is always Undefined; only check its shape.
		if len(e.children) == 0 {
			return nil, errBERMalformed
		}
		for _, k := range e.children {
			if k.id&berContext == 0 || k.constructed() {
				return nil, errBERMalformed
			}
		}
	default:
		return nil, errBERMalformed
	}
	return f, nil
}

// eval evaluates the filter on e. The error is the CRLSource's, when the
// filter needs a CA's CRL that cannot be read.
func (f *ldapFilter) eval(ctx context.Context, e *ldapEntry) (ldapTri, error) {
	switch f.op {
	case ldapFilterAnd:
		r := ldapTrue
		for _, k := range f.kids {
			v, err := k.eval(ctx, e)
			if err != nil || v == ldapFalse {
				return ldapFalse, err
			}
			if v == ldapUndefined {
				r = ldapUndefined
			}
		}
		return r, nil
	case ldapFilterOr:
		r := ldapFalse
		for _, k := range f.kids {
			v, err := k.eval(ctx, e)
			if err != nil || v == ldapTrue {
				return v, err
			}
			if v == ldapUndefined {
				r = ldapUndefined
			}
		}
		return r, nil
	case ldapFilterNot:
		v, err := f.kids[0].eval(ctx, e)
		switch v {
		case ldapTrue:
			return ldapFalse, err
		case ldapFalse:
			return ldapTrue, err
		}
		return v, err
	case ldapFilterPresent:
		if f.desc.t == nil || !f.desc.matches(f.desc.t) {
			return ldapFalse, nil
		}
		vals, err := e.values(ctx, f.desc.t)
		if len(vals) > 0 {
			return ldapTrue, err
		}
		return ldapFalse, err
	case ldapFilterEquality, ldapFilterApprox, ldapFilterSubstrings:
		// Certificates and CRLs have matching rules on their parsed
		// content (RFC 4523) that the directory does not implement.
		t := f.desc.t
		if t == nil || !f.desc.matches(t) || t.binary || f.op == ldapFilterSubstrings && t.noSubstr {
			return ldapUndefined, nil
		}
		vals, err := e.values(ctx, t)
		if err != nil {
			return ldapFalse, err
		}
		for _, v := range vals {
			if f.op == ldapFilterSubstrings && f.matchSubstrings(ldapFold(string(v))) ||
				f.op != ldapFilterSubstrings && ldapFold(string(v)) == f.value {
				return ldapTrue, nil
			}
		}
		return ldapFalse, nil
	}
	// Ordering (no attribute here has an ordering rule) and extensible match.
	return ldapUndefined, nil
}

func (f *ldapFilter) matchSubstrings(v string) bool {
	if f.hasInitial {
		rest, ok := strings.CutPrefix(v, f.initial)
		if !ok {
			return false
		}
		v = rest
	}
	for _, a := range f.any {
		i := strings.Index(v, a)
		if i < 0 {
			return false
		}
		v = v[i+len(a):]
	}
	return !f.hasFinal || strings.HasSuffix(v, f.final)
}
