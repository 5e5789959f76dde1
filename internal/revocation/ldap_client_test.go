package revocation

import (
	"bytes"
	"crypto/tls"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

func ldapDial(t *testing.T, addr string) *ldap.Conn {
	t.Helper()
	c, err := ldap.DialURL("ldap://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ldapCode(err error) int {
	var le *ldap.Error
	if errors.As(err, &le) {
		return int(le.ResultCode)
	}
	if err == nil {
		return 0
	}
	return -1
}

// TestLDAPSearches drives filters, scopes and attribute selection with
// go-ldap's client.
func TestLDAPSearches(t *testing.T) {
	f := ldapTestFixture(t)
	src := newLDAPFakeCRLs(f)
	src.fail["issuing/666"] = errors.New("database on fire")
	_, addr := startLDAP(t, src, nil)
	c := ldapDial(t, addr)
	if err := c.UnauthenticatedBind(""); err != nil {
		t.Fatalf("anonymous bind: %v", err)
	}
	part := f.partitionDN
	type attrs map[string]int // attribute description → number of values
	for _, tc := range []struct {
		name      string
		base      string
		scope     int
		filter    string
		attrs     []string
		typesOnly bool
		sizeLimit int
		code      int
		dns       []string
		want      attrs // of the first entry
	}{
		{name: "what OOAPI asks", base: part, filter: "(objectClass=*)", attrs: []string{"certificateRevocationList;binary"},
			dns: []string{part}, want: attrs{"certificateRevocationList;binary": 1}},
		{name: "cn only", base: part, filter: "(objectClass=*)", attrs: []string{"cn"}, dns: []string{part}, want: attrs{"cn": 1}},
		{name: "name as asked", base: part, filter: "(objectClass=*)", attrs: []string{"CN", "CertificateRevocationList"},
			dns: []string{part}, want: attrs{"CN": 1, "CertificateRevocationList;binary": 1}},
		{name: "by OID", base: part, filter: "(2.5.4.3=crl7)", attrs: []string{"2.5.4.39;binary"}, dns: []string{part}, want: attrs{"2.5.4.39;binary": 1}},
		{name: "all user attributes", base: part, filter: "(objectClass=*)",
			dns: []string{part}, want: attrs{"objectClass": 2, "cn": 1, "certificateRevocationList;binary": 1}},
		{name: "star and a name", base: ldapTestIssuingDN, filter: "(objectClass=*)", attrs: []string{"*", "cn"}, dns: []string{ldapTestIssuingDN},
			want: attrs{"objectClass": 3, "cn": 1, "cACertificate;binary": 1, "certificateRevocationList;binary": 1}},
		{name: "no attributes", base: part, filter: "(objectClass=*)", attrs: []string{"1.1"}, dns: []string{part}, want: attrs{}},
		{name: "types only", base: part, filter: "(objectClass=*)", attrs: []string{"cn"}, typesOnly: true, dns: []string{part}, want: attrs{"cn": 0}},
		{name: "unknown attribute asked", base: part, filter: "(objectClass=*)", attrs: []string{"userCertificate", "cn;lang-da", "cn;binary"}, dns: []string{part}, want: attrs{}},
		{name: "other partition", base: part, filter: "(cn=CRL8)"},
		{name: "same partition", base: part, filter: "(cn=crl7)", dns: []string{part}},
		{name: "substrings", base: part, filter: "(&(objectClass=cRLDistributionPoint)(cn=CR*7))", dns: []string{part}},
		{name: "substrings any", base: part, filter: "(cn=*R*L*)", dns: []string{part}},
		{name: "substrings miss", base: part, filter: "(cn=C*8)"},
		{name: "not", base: part, filter: "(!(cn=CRL7))"},
		{name: "presence of the CRL", base: part, filter: "(certificateRevocationList;binary=*)", dns: []string{part}},
		{name: "presence of the CA's full CRL", base: ldapTestIssuingDN, filter: "(certificateRevocationList=*)", dns: []string{ldapTestIssuingDN}},
		{name: "presence, absent", base: part, filter: "(cACertificate=*)"},
		{name: "unknown attribute is Undefined", base: part, filter: "(foo=bar)"},
		{name: "not Undefined is Undefined", base: part, filter: "(!(foo=bar))"},
		{name: "or with Undefined", base: part, filter: "(|(foo=bar)(cn=CRL7))", dns: []string{part}},
		{name: "and with Undefined", base: part, filter: "(&(foo=bar)(cn=CRL7))"},
		{name: "no equality rule on a CRL", base: part, filter: "(!(certificateRevocationList;binary=x))"},
		{name: "no ordering rule", base: part, filter: "(!(cn>=A))"},
		{name: "extensible match", base: part, filter: "(!(cn:caseExactMatch:=CRL7))"},
		{name: "approx", base: part, filter: "(cn~=crl7)", dns: []string{part}},
		{name: "one level of a partition", base: part, scope: ldap.ScopeSingleLevel, filter: "(objectClass=*)"},
		{name: "subtree of a partition", base: part, scope: ldap.ScopeWholeSubtree, filter: "(objectClass=*)", dns: []string{part}},
		{name: "subtree", base: "c=dk", scope: ldap.ScopeWholeSubtree, filter: "(objectClass=*)",
			dns: []string{"C=DK", "O=NemID Systemtest,C=DK", ldapTestRootDN, ldapTestIssuingDN}},
		{name: "size limit", base: "C=DK", scope: ldap.ScopeWholeSubtree, filter: "(objectClass=*)", sizeLimit: 2,
			code: ldap.LDAPResultSizeLimitExceeded, dns: []string{"C=DK", "O=NemID Systemtest,C=DK"}},
		{name: "container", base: "C=DK", filter: "(c=dk)", dns: []string{"C=DK"}, want: attrs{"objectClass": 2, "c": 1}},
		{name: "root DSE", base: "", filter: "(objectClass=*)", attrs: []string{"+"}, dns: []string{""},
			want: attrs{"namingContexts": 1, "supportedLDAPVersion": 1, "supportedExtension": 1}},
		{name: "unknown DN", base: "CN=Nobody,O=NemID Systemtest,C=DK", filter: "(objectClass=*)", code: ldap.LDAPResultNoSuchObject},
		{name: "partition without a CRL", base: "CN=CRL9," + ldapTestIssuingDN, filter: "(objectClass=*)", code: ldap.LDAPResultNoSuchObject},
		{name: "partition with a leading zero", base: "CN=CRL07," + ldapTestIssuingDN, filter: "(objectClass=*)", code: ldap.LDAPResultNoSuchObject},
		{name: "partition under a container", base: "CN=CRL7,O=NemID Systemtest,C=DK", filter: "(objectClass=*)", code: ldap.LDAPResultNoSuchObject},
		{name: "invalid DN", base: "CN=CRL7,,C=DK", filter: "(objectClass=*)", code: ldap.LDAPResultInvalidDNSyntax},
		{name: "invalid attribute type in DN", base: "C N=CRL7", filter: "(objectClass=*)", code: ldap.LDAPResultInvalidDNSyntax},
		{name: "store failure", base: "CN=CRL666," + ldapTestIssuingDN, filter: "(objectClass=*)", code: ldap.LDAPResultOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := ldap.NewSearchRequest(tc.base, tc.scope, ldap.NeverDerefAliases, tc.sizeLimit, 0, tc.typesOnly, tc.filter, tc.attrs, nil)
			res, err := c.Search(req)
			if code := ldapCode(err); code != tc.code {
				t.Fatalf("result %d (%v), want %d", code, err, tc.code)
			}
			if res == nil {
				return
			}
			var dns []string
			for _, e := range res.Entries {
				dns = append(dns, e.DN)
			}
			if !slices.Equal(dns, tc.dns) {
				t.Fatalf("entries %q, want %q", dns, tc.dns)
			}
			if tc.want == nil || len(res.Entries) == 0 {
				return
			}
			got := attrs{}
			for _, a := range res.Entries[0].Attributes {
				got[a.Name] = len(a.ByteValues)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("attributes %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if n, ok := got[k]; !ok || n != v {
					t.Fatalf("attributes %v, want %v", got, tc.want)
				}
			}
		})
	}

	// The values themselves.
	res, err := c.Search(ldap.NewSearchRequest(ldapTestIssuingDN, ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", nil, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatal(err)
	}
	e := res.Entries[0]
	if !bytes.Equal(e.GetRawAttributeValue("cACertificate;binary"), f.issuing.Raw) ||
		!bytes.Equal(e.GetRawAttributeValue("certificateRevocationList;binary"), f.crls["issuing/0"]) ||
		e.GetAttributeValue("cn") != "NemID Systemtest I CA" ||
		strings.Join(e.GetAttributeValues("objectClass"), ",") != "top,cRLDistributionPoint,pkiCA" {
		t.Fatalf("CA entry: %v", e.Attributes)
	}
	res, err = c.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", []string{"namingContexts", "supportedLDAPVersion"}, nil))
	if err != nil || res.Entries[0].GetAttributeValue("namingContexts") != "C=DK" || res.Entries[0].GetAttributeValue("supportedLDAPVersion") != "3" {
		t.Fatalf("root DSE: %v", err)
	}
	res, err = c.Search(ldap.NewSearchRequest("CN=Nobody,O=NemID Systemtest,C=DK", 0, 0, 0, 0, false, "(objectClass=*)", nil, nil))
	var le *ldap.Error
	if !errors.As(err, &le) || le.MatchedDN != "O=NemID Systemtest,C=DK" {
		t.Fatalf("matchedDN of an unknown entry: %v", err)
	}
}

// TestLDAPOtherOperations: binds, updates, compare and extended operations.
func TestLDAPOtherOperations(t *testing.T) {
	f := ldapTestFixture(t)
	_, addr := startLDAP(t, newLDAPFakeCRLs(f), nil)
	c := ldapDial(t, addr)

	if err := c.Bind("cn=admin,c=dk", "secret"); ldapCode(err) != ldap.LDAPResultInvalidCredentials {
		t.Errorf("bind with password: %v", err)
	}
	if err := c.UnauthenticatedBind("cn=admin,c=dk"); ldapCode(err) != ldap.LDAPResultUnwillingToPerform {
		t.Errorf("unauthenticated bind: %v", err)
	}
	if err := c.UnauthenticatedBind(""); err != nil {
		t.Errorf("anonymous bind: %v", err)
	}

	add := ldap.NewAddRequest("CN=CRL9,"+ldapTestIssuingDN, nil)
	add.Attribute("objectClass", []string{"cRLDistributionPoint"})
	add.Attribute("cn", []string{"CRL9"})
	mod := ldap.NewModifyRequest(f.partitionDN, nil)
	mod.Replace("certificateRevocationList;binary", []string{"forged"})
	for name, op := range map[string]func() error{
		"add":    func() error { return c.Add(add) },
		"modify": func() error { return c.Modify(mod) },
		"delete": func() error { return c.Del(ldap.NewDelRequest(f.partitionDN, nil)) },
		"moddn":  func() error { return c.ModifyDN(ldap.NewModifyDNRequest(f.partitionDN, "CN=CRL10", true, "")) },
		"passwd": func() error {
			_, err := c.PasswordModify(ldap.NewPasswordModifyRequest("", "a", "b"))
			return err
		},
	} {
		want := ldap.LDAPResultUnwillingToPerform
		if name == "passwd" { // an extended operation the directory does not know
			want = ldap.LDAPResultProtocolError
		}
		if err := op(); ldapCode(err) != want {
			t.Errorf("%s: %v, want result %d", name, err, want)
		}
	}

	for _, tc := range []struct {
		dn, attr, value string
		want            bool
		code            int
	}{
		{ldapTestIssuingDN, "cn", "nemid  systemtest i ca", true, 0},
		{ldapTestIssuingDN, "objectClass", "PKICA", true, 0},
		{f.partitionDN, "cn", "CRL8", false, 0},
		{f.partitionDN, "certificateRevocationList;binary", "x", false, ldap.LDAPResultInappropriateMatching},
		{f.partitionDN, "foo", "x", false, ldap.LDAPResultUndefinedAttributeType},
		{f.partitionDN, "o", "x", false, ldap.LDAPResultNoSuchAttribute},
		{"CN=CRL9," + ldapTestIssuingDN, "cn", "CRL9", false, ldap.LDAPResultNoSuchObject},
	} {
		got, err := c.Compare(tc.dn, tc.attr, tc.value)
		if ldapCode(err) != tc.code || got != tc.want {
			t.Errorf("compare %s %s=%s: %v %v", tc.dn, tc.attr, tc.value, got, err)
		}
	}

	if who, err := c.WhoAmI(nil); err != nil || who.AuthzID != "" {
		t.Errorf("whoami: %v %v", who, err)
	}
	// (On a connection of its own: go-ldap's client stops reading after a
	// refused StartTLS.)
	if err := ldapDial(t, addr).StartTLS(&tls.Config{}); ldapCode(err) != ldap.LDAPResultProtocolError {
		t.Errorf("StartTLS: %v", err)
	}
	// A critical control the directory does not know (RFC 4511 §4.1.11).
	crit := ldap.NewControlString("1.2.3.4", true, "")
	if _, err := c.Search(ldap.NewSearchRequest(f.partitionDN, 0, 0, 0, 0, false, "(objectClass=*)", nil, []ldap.Control{crit})); ldapCode(err) != ldap.LDAPResultUnavailableCriticalExtension {
		t.Errorf("critical control: %v", err)
	}
	// The same connection still answers after all those refusals.
	res, err := c.Search(ldap.NewSearchRequest(f.partitionDN, 0, 0, 0, 0, false, "(objectClass=*)", []string{"certificateRevocationList;binary"}, nil))
	if err != nil || !bytes.Equal(res.Entries[0].GetRawAttributeValue("certificateRevocationList;binary"), f.crls["issuing/7"]) {
		t.Fatalf("search after refusals: %v", err)
	}
}
