package revocation

// The content of the LDAP directory: a read-only tree computed from the
// authorities' certificates, with CRLs read from the store at request time.
//
//	C=DK                                       country
//	O=NemID Systemtest,C=DK                    organization
//	CN=NemID Systemtest I CA,O=…,C=DK          CA entry: cACertificate;binary and the full CRL
//	CN=CRL7,CN=NemID Systemtest I CA,O=…,C=DK  partition entry: that partition's CRL
//
// Containers and CA entries are fixed when the server starts. A partition
// entry exists while the store holds a CRL for it; it is found by a
// base-scope search at its DN (what OOAPI does), and is never listed by a
// one-level or subtree search: there may be thousands, the CRLSource can
// only be asked for one partition at a time, and listing them all would let
// one request read every CRL of the installation.

import (
	"context"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/nemid-dk/nemid/internal/store"
)

// ldapAttrType is an attribute type the directory knows (RFC 4519, RFC 4523,
// RFC 4512 for the root DSE).
type ldapAttrType struct {
	name string
	// binary: the syntax (Certificate, CertificateList) must be transferred
	// with the ;binary option (RFC 4522), so the value is always returned
	// under "<name>;binary", whether or not the client asked with it.
	binary bool
	// operational attributes are returned only when asked for by name or "+".
	operational bool
	// noSubstr: no substrings matching rule (objectClass is an OID).
	noSubstr bool
}

var (
	atObjectClass          = &ldapAttrType{name: "objectClass", noSubstr: true}
	atCN                   = &ldapAttrType{name: "cn"}
	atC                    = &ldapAttrType{name: "c"}
	atO                    = &ldapAttrType{name: "o"}
	atOU                   = &ldapAttrType{name: "ou"}
	atCACertificate        = &ldapAttrType{name: "cACertificate", binary: true}
	atCRL                  = &ldapAttrType{name: "certificateRevocationList", binary: true}
	atNamingContexts       = &ldapAttrType{name: "namingContexts", operational: true}
	atSupportedLDAPVersion = &ldapAttrType{name: "supportedLDAPVersion", operational: true}
	atSupportedExtension   = &ldapAttrType{name: "supportedExtension", operational: true}
)

// ldapAttrTypes maps lower-case names, aliases and OIDs to the types.
var ldapAttrTypes = map[string]*ldapAttrType{
	"objectclass": atObjectClass, "2.5.4.0": atObjectClass,
	"cn": atCN, "commonname": atCN, "2.5.4.3": atCN,
	"c": atC, "countryname": atC, "2.5.4.6": atC,
	"o": atO, "organizationname": atO, "2.5.4.10": atO,
	"ou": atOU, "organizationalunitname": atOU, "2.5.4.11": atOU,
	"cacertificate": atCACertificate, "2.5.4.37": atCACertificate,
	"certificaterevocationlist": atCRL, "2.5.4.39": atCRL,
	"namingcontexts": atNamingContexts, "1.3.6.1.4.1.1466.101.120.5": atNamingContexts,
	"supportedldapversion": atSupportedLDAPVersion, "1.3.6.1.4.1.1466.101.120.15": atSupportedLDAPVersion,
	"supportedextension": atSupportedExtension, "1.3.6.1.4.1.1466.101.120.7": atSupportedExtension,
}

// ldapAttrDesc is a parsed attribute description: type *(";" option).
type ldapAttrDesc struct {
	typ     string        // the type as the client spelt it
	t       *ldapAttrType // nil: unknown to the directory
	binary  bool          // has the ;binary option
	options bool          // has an option other than binary (we hold no such subtypes)
}

func parseLDAPAttrDesc(s string) ldapAttrDesc {
	parts := strings.Split(s, ";")
	d := ldapAttrDesc{typ: parts[0], t: ldapAttrTypes[strings.ToLower(parts[0])]}
	for _, o := range parts[1:] {
		if strings.EqualFold(o, "binary") {
			d.binary = true
		} else {
			d.options = true
		}
	}
	return d
}

// matches reports whether the description names attribute type t.
// "cn;binary" names nothing: only Certificate and CertificateList values
// are transferred in binary.
func (d ldapAttrDesc) matches(t *ldapAttrType) bool {
	return d.t == t && !d.options && (!d.binary || t.binary)
}

// ldapFold normalises a directoryString for caseIgnoreMatch (RFC 4518,
// simplified): case folded, runs of spaces made one, leading and trailing
// spaces removed.
func ldapFold(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }

// ldapRDN is one normalised RDN of a parsed DN.
type ldapRDN struct {
	key  string // canonical, for comparing
	typ  string // canonical type of a single-valued RDN ("" if multi-valued)
	norm string // its normalised value
}

var errInvalidDN = errors.New("ldap: invalid DN syntax")

// parseLDAPDN parses an RFC 4514 DN (go-ldap's parser) and normalises each
// RDN: attribute types by name, alias or OID, values by caseIgnoreMatch
// (every naming attribute here is a directoryString or country code).
func parseLDAPDN(s string) ([]ldapRDN, error) {
	dn, err := ldap.ParseDN(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errInvalidDN, err)
	}
	rdns := make([]ldapRDN, 0, len(dn.RDNs))
	for _, r := range dn.RDNs {
		avas := make([]string, 0, len(r.Attributes))
		var out ldapRDN
		for _, a := range r.Attributes {
			typ := strings.ToLower(a.Type)
			if !ldapValidAttrType(typ) {
				return nil, fmt.Errorf("%w: attribute type %q", errInvalidDN, a.Type)
			}
			if t, ok := ldapAttrTypes[typ]; ok {
				typ = strings.ToLower(t.name)
			}
			out.typ, out.norm = typ, ldapFold(a.Value)
			avas = append(avas, typ+"="+strconv.Quote(out.norm))
		}
		if len(avas) != 1 {
			out.typ, out.norm = "", ""
		}
		slices.Sort(avas)
		out.key = strings.Join(avas, "+")
		rdns = append(rdns, out)
	}
	return rdns, nil
}

// ldapValidAttrType: descr (ALPHA *(ALPHA / DIGIT / "-")) or numericoid (RFC 4512 §1.4).
func ldapValidAttrType(s string) bool {
	if s == "" {
		return false
	}
	if s[0] >= '0' && s[0] <= '9' {
		for _, p := range strings.Split(s, ".") {
			if p == "" || (len(p) > 1 && p[0] == '0') || strings.Trim(p, "0123456789") != "" {
				return false
			}
		}
		return true
	}
	for i, c := range s {
		if !(c >= 'a' && c <= 'z' || i > 0 && (c >= '0' && c <= '9' || c == '-')) {
			return false
		}
	}
	return true
}

func ldapDNKey(rdns []ldapRDN) string {
	keys := make([]string, len(rdns))
	for i, r := range rdns {
		keys[i] = r.key
	}
	return strings.Join(keys, ",")
}

// ldapNode is a fixed entry: a container or a CA.
type ldapNode struct {
	dn       string // as served, RFC 4514
	objClass []string
	naming   *ldapAttrType // the RDN's attribute, if the directory knows it
	value    string        // its value
	ca       *Authority    // nil for a container
	children []*ldapNode
}

// ldapDirectory is the tree. It is immutable after newLDAPDirectory.
type ldapDirectory struct {
	crls  CRLSource
	nodes map[string]*ldapNode // by ldapDNKey
	top   []*ldapNode          // the naming contexts (C=DK)
}

func newLDAPDirectory(auths []Authority, crls CRLSource) (*ldapDirectory, error) {
	d := &ldapDirectory{crls: crls, nodes: map[string]*ldapNode{}}
	for i := range auths {
		a := &auths[i]
		if a.Cert == nil || a.StoreName == "" {
			return nil, fmt.Errorf("ldap: authority %d has no certificate or store name", i)
		}
		var seq pkix.RDNSequence
		if rest, err := asn1.Unmarshal(a.Cert.RawSubject, &seq); err != nil || len(rest) > 0 || len(seq) == 0 {
			return nil, fmt.Errorf("ldap: subject of %s: cannot parse", a.StoreName)
		}
		// The DN is the subject in RFC 4514 order: last RDN first.
		parts := make([]string, len(seq))
		for j, r := range seq {
			parts[len(seq)-1-j] = pkix.RDNSequence{r}.String()
		}
		var parent *ldapNode
		for j := len(parts) - 1; j >= 0; j-- {
			dn := strings.Join(parts[j:], ",")
			rdns, err := parseLDAPDN(dn)
			if err != nil {
				return nil, fmt.Errorf("ldap: subject of %s: %w", a.StoreName, err)
			}
			key := ldapDNKey(rdns)
			n := d.nodes[key]
			if j == 0 {
				if n != nil && n.ca != nil {
					return nil, fmt.Errorf("ldap: %s and %s have the same subject", n.ca.StoreName, a.StoreName)
				}
				if n == nil {
					n = &ldapNode{dn: dn}
				}
				n.ca, n.objClass = a, []string{"top", "cRLDistributionPoint", "pkiCA"}
			}
			if n == nil {
				n = &ldapNode{dn: dn, objClass: ldapContainerClasses(rdns[0].typ)}
			}
			if n.naming == nil {
				n.naming, n.value = ldapAttrTypes[rdns[0].typ], ldapNamingValue(seq[len(seq)-1-j])
			}
			if d.nodes[key] == nil {
				d.nodes[key] = n
				if parent == nil {
					d.top = append(d.top, n)
				} else {
					parent.children = append(parent.children, n)
				}
			}
			parent = n
		}
	}
	return d, nil
}

func ldapContainerClasses(typ string) []string {
	switch typ {
	case "c":
		return []string{"top", "country"}
	case "o":
		return []string{"top", "organization"}
	case "ou":
		return []string{"top", "organizationalUnit"}
	}
	return []string{"top"}
}

// ldapNamingValue is the string value of a single-valued RDN ("" otherwise).
func ldapNamingValue(r pkix.RelativeDistinguishedNameSET) string {
	if len(r) != 1 {
		return ""
	}
	s, _ := r[0].Value.(string)
	return s
}

// ldapEntry is one entry as a request sees it. It is built per request,
// so the lazily read CRL needs no locking.
type ldapEntry struct {
	dn     string
	attrs  []ldapAttr
	load   func(context.Context) ([]byte, error) // a CA's full CRL, read when first asked for
	loaded bool
}

type ldapAttr struct {
	t    *ldapAttrType
	vals [][]byte
}

func (d *ldapDirectory) entry(n *ldapNode) *ldapEntry {
	e := &ldapEntry{dn: n.dn}
	e.add(atObjectClass, n.objClass...)
	if n.naming != nil && n.value != "" {
		e.add(n.naming, n.value)
	}
	if n.ca != nil {
		e.attrs = append(e.attrs, ldapAttr{atCACertificate, [][]byte{n.ca.Cert.Raw}})
		ca := n.ca
		e.load = func(ctx context.Context) ([]byte, error) {
			c, err := d.crls.CRL(ctx, ca.StoreName, 0)
			if errors.Is(err, store.ErrNotFound) {
				return nil, nil // none signed yet: the entry has no CRL
			}
			return c.DER, err
		}
	}
	return e
}

func (e *ldapEntry) add(t *ldapAttrType, vals ...string) {
	a := ldapAttr{t: t}
	for _, v := range vals {
		a.vals = append(a.vals, []byte(v))
	}
	e.attrs = append(e.attrs, a)
}

// ensure reads the lazily loaded CRL, if the entry has one.
func (e *ldapEntry) ensure(ctx context.Context) error {
	if e.load == nil || e.loaded {
		return nil
	}
	der, err := e.load(ctx)
	if err != nil {
		return err
	}
	e.loaded = true
	if len(der) > 0 {
		e.attrs = append(e.attrs, ldapAttr{atCRL, [][]byte{der}})
	}
	return nil
}

// values returns the entry's values of t (nil if it has none).
func (e *ldapEntry) values(ctx context.Context, t *ldapAttrType) ([][]byte, error) {
	if t == atCRL {
		if err := e.ensure(ctx); err != nil {
			return nil, err
		}
	}
	for _, a := range e.attrs {
		if a.t == t {
			return a.vals, nil
		}
	}
	return nil, nil
}

// rootDSE is the entry with the empty DN (RFC 4512 §5.1).
func (d *ldapDirectory) rootDSE() *ldapEntry {
	e := &ldapEntry{}
	e.add(atObjectClass, "top")
	var ncs []string
	for _, n := range d.top {
		ncs = append(ncs, n.dn)
	}
	e.add(atNamingContexts, ncs...)
	e.add(atSupportedLDAPVersion, "3")
	e.add(atSupportedExtension, ldapOIDWhoAmI)
	return e
}

// ldapPartitionNumber recognises the RDN "CN=CRL<n>" (n ≥ 1, no leading zeros,
// as written into certificates).
func ldapPartitionNumber(r ldapRDN) (int, bool) {
	digits, ok := strings.CutPrefix(r.norm, "crl")
	if r.typ != "cn" || !ok || digits == "" || len(digits) > 9 || digits[0] == '0' {
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	return n, err == nil
}

// lookup finds the entry at a parsed DN. A missing entry gives (nil, nil)
// and the DN of its nearest existing ancestor, for the result's matchedDN.
// A partition entry exists while the store has a CRL for it.
func (d *ldapDirectory) lookup(ctx context.Context, rdns []ldapRDN) (node *ldapNode, partition *ldapEntry, matched string, err error) {
	if n := d.nodes[ldapDNKey(rdns)]; n != nil {
		return n, nil, "", nil
	}
	if len(rdns) >= 2 {
		if ca := d.nodes[ldapDNKey(rdns[1:])]; ca != nil && ca.ca != nil {
			if p, ok := ldapPartitionNumber(rdns[0]); ok {
				c, err := d.crls.CRL(ctx, ca.ca.StoreName, p)
				switch {
				case errors.Is(err, store.ErrNotFound):
				case err != nil:
					return nil, nil, "", err
				default:
					e := &ldapEntry{dn: "CN=CRL" + strconv.Itoa(p) + "," + ca.dn}
					e.add(atObjectClass, "top", "cRLDistributionPoint")
					e.add(atCN, "CRL"+strconv.Itoa(p))
					e.attrs = append(e.attrs, ldapAttr{atCRL, [][]byte{c.DER}})
					return nil, e, "", nil
				}
			}
		}
	}
	for i := 1; i < len(rdns); i++ {
		if n := d.nodes[ldapDNKey(rdns[i:])]; n != nil {
			return nil, nil, n.dn, nil
		}
	}
	return nil, nil, "", nil
}
