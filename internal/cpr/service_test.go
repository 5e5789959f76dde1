package cpr_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/ca"
	"github.com/nemid-dk/nemid/internal/cpr"
	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/oces"
	wire "github.com/nemid-dk/nemid/ooapi/cpr"
)

const (
	cprA = "1111111118"
	cprB = "0101010101"
)

var ctx = context.Background()

// failures returns the SP's failed queries since the start of the test
// run, for identity and in all.
func failures(t *testing.T, sp testSP, identity string) (int, int) {
	t.Helper()
	a, b, err := getEnv(t).st.CPRQueryCounts(ctx, sp.sp.ID, identity, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return a, b
}

func TestPIDMatchAndLookup(t *testing.T) {
	s := startService(t, nil, cpr.Limits{})
	e := s.env
	for _, iface := range []wire.PIDInterface{wire.PIDXML, wire.PIDSOAP} {
		sp := e.newSP(t, true, true)
		c := s.pidClient(t, sp, iface)
		pid := e.newPerson(t, cprA)
		if ok, err := c.Match(ctx, pid, cprA); !ok || err != nil {
			t.Errorf("interface %d: match: %v, %v", iface, ok, err)
		}
		if ok, err := c.Match(ctx, "PID:"+pid, cprA); !ok || err != nil {
			t.Errorf("interface %d: match with the PID: prefix: %v, %v", iface, ok, err)
		}
		if ok, err := c.Match(ctx, pid, cprB); ok || err != nil {
			t.Errorf("interface %d: mismatch: %v, %v; want false, nil", iface, ok, err)
		}
		if got, err := c.LookupCPR(ctx, pid); got != cprA || err != nil {
			t.Errorf("interface %d: look-up: %v", iface, err)
		}
		if _, err := c.Match(ctx, "9208-2002-2-000000000000", cprA); !errors.Is(err, wire.ErrUnknownIdentity) {
			t.Errorf("interface %d: unknown PID: %v, want status 2", iface, err)
		}
		// Every answered query is recorded; the failed ones count.
		forPID, all := failures(t, sp, "PID:"+pid)
		if forPID != 1 || all != 2 {
			t.Errorf("interface %d: recorded failures %d for the PID, %d in all; want 1 and 2", iface, forPID, all)
		}
	}
}

// TestPIDInterfacesAgree: pidxml and SOAP give the same answer to the same question.
func TestPIDInterfacesAgree(t *testing.T) {
	s := startService(t, nil, cpr.Limits{})
	e := s.env
	pid := e.newPerson(t, cprA)
	full, matchOnly := e.newSP(t, true, true), e.newSP(t, true, false)
	cases := []struct {
		name string
		sp   testSP
		req  wire.PIDRequest
	}{
		{"match", full, wire.PIDRequest{PID: pid, CPR: cprA}},
		{"mismatch", full, wire.PIDRequest{PID: pid, CPR: cprB}},
		{"prefix", full, wire.PIDRequest{PID: "PID:" + pid, CPR: cprA}},
		{"look-up", full, wire.PIDRequest{PID: pid}},
		{"unknown", full, wire.PIDRequest{PID: "9208-2002-2-000000000001", CPR: cprA}},
		{"malformed CPR", full, wire.PIDRequest{PID: pid, CPR: "11-11"}},
		{"look-up without the right", matchOnly, wire.PIDRequest{PID: pid}},
		{"another SPID", matchOnly, wire.PIDRequest{PID: pid, CPR: cprA, ServiceID: "999999"}},
		{"empty PID", full, wire.PIDRequest{PID: "PID:", CPR: cprA}},
	}
	for _, c := range cases {
		req := c.req
		req.ID = "req-" + strings.ReplaceAll(c.name, " ", "-")
		if req.ServiceID == "" {
			req.ServiceID = c.sp.spid()
		}
		doc, err := wire.MarshalPIDXMLRequest(req)
		if err != nil {
			t.Fatal(err)
		}
		_, b := s.post(t, &c.sp.cert, wire.PIDXMLPath, "application/x-www-form-urlencoded", wire.PIDXMLForm(doc))
		viaXML, err := wire.ParsePIDXMLReply(b)
		if err != nil {
			t.Fatalf("%s: pidxml answer: %v\n%s", c.name, err, b)
		}
		env, _ := wire.MarshalPIDSOAPRequest([]wire.PIDRequest{req})
		_, b = s.post(t, &c.sp.cert, wire.PIDSOAPPath, "text/xml; charset=utf-8", env)
		viaSOAP, err := wire.ParsePIDSOAPReplies(b)
		if err != nil || len(viaSOAP) != 1 {
			t.Fatalf("%s: SOAP answer: %v\n%s", c.name, err, b)
		}
		viaXML.RedirURL = "" // pidxml's constant "Not implemented"
		if viaXML != viaSOAP[0] {
			t.Errorf("%s: pidxml %+v, SOAP %+v", c.name, viaXML, viaSOAP[0])
		}
		if viaXML.ID != req.ID {
			t.Errorf("%s: the answer does not echo the request id", c.name)
		}
	}
}

func TestRIDMatchAndLookup(t *testing.T) {
	s := startService(t, nil, cpr.Limits{})
	e := s.env
	sp := e.newSP(t, true, true)
	c := s.ridClient(t, sp)
	serial := e.newEmployee(t, cprA)
	if ok, err := c.Match(ctx, serial, cprA); !ok || err != nil {
		t.Errorf("match: %v, %v", ok, err)
	}
	if ok, err := c.Match(ctx, serial, cprB); ok || err != nil {
		t.Errorf("mismatch: %v, %v", ok, err)
	}
	if got, err := c.LookupCPR(ctx, serial); got != cprA || err != nil {
		t.Errorf("look-up: %v", err)
	}
	unknown := "CVR:30808460-RID:1"
	if ok, err := c.Match(ctx, unknown, cprA); ok || err != nil {
		t.Errorf("unknown RID: %v, %v; want false, nil (the RID service has no unknown-RID status)", ok, err)
	}
	if _, err := c.LookupCPR(ctx, unknown); !errors.Is(err, wire.ErrUnknownIdentity) {
		t.Errorf("unknown RID look-up: %v", err)
	}
	if _, err := c.LookupCPR(ctx, "PID:"+e.newPerson(t, cprA)); !errors.Is(err, wire.ErrUnknownIdentity) {
		t.Error("the RID service answered about a PID")
	}
	if err := c.TestConnection(ctx); err != nil {
		t.Errorf("TestConnection: %v", err)
	}
	if forRID, all := failures(t, sp, serial); forRID != 1 || all != 4 {
		t.Errorf("recorded failures %d for the RID, %d in all; want 1 and 4", forRID, all)
	}
}

// pidStatus asks one PID question over pidxml with a raw body and returns
// the status answered.
func pidStatus(t *testing.T, s *service, cert *tls.Certificate, req wire.PIDRequest) wire.StatusCode {
	t.Helper()
	doc, err := wire.MarshalPIDXMLRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	code, b := s.post(t, cert, wire.PIDXMLPath, "text/xml", doc)
	r, err := wire.ParsePIDXMLReply(b)
	if code != 200 || err != nil {
		t.Fatalf("HTTP %d, %v:\n%s", code, err, b)
	}
	if r.TextUK != r.Status.TextUK() || r.TextDK != r.Status.TextDK() {
		t.Errorf("status %v with texts %q / %q", r.Status, r.TextUK, r.TextDK)
	}
	return r.Status
}

// ridStatus asks one RID question and returns the status answered.
func ridStatus(t *testing.T, s *service, cert *tls.Certificate, req wire.RIDRequest) wire.StatusCode {
	t.Helper()
	env, err := wire.MarshalRIDRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	code, b := s.post(t, cert, wire.RIDPath, "text/xml; charset=utf-8", env)
	r, err := wire.ParseRIDReply(req.Operation, b)
	if code != 200 || err != nil {
		t.Fatalf("HTTP %d, %v:\n%s", code, err, b)
	}
	if r.StatusText != r.Status.RIDText() {
		t.Errorf("status %v with text %q", r.Status, r.StatusText)
	}
	return r.Status
}

// TestRefusals: every way a caller is refused, with the spec's status.
func TestRefusals(t *testing.T) {
	s := startService(t, nil, cpr.Limits{})
	e := s.env
	pid := e.newPerson(t, cprA)
	serial := e.newEmployee(t, cprA)
	full := e.newSP(t, true, true)
	matchOnly := e.newSP(t, true, false)
	none := e.newSP(t, false, false)
	disabled := e.newSP(t, true, true)
	if _, err := e.st.DisableServiceProvider(ctx, disabled.sp.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	revoked := e.newSP(t, true, true)
	if _, err := e.ca.Revoke(ctx, ca.SerialText(revoked.leaf.SerialNumber), ca.Reason(1)); err != nil {
		t.Fatal(err)
	}
	unregistered, _ := e.newVOCES(t, "Ikke Registreret")
	foreign := selfSigned(t)
	spoof := foreign
	spoof.Certificate = [][]byte{foreign.Certificate[0], e.ca.Issuing().Raw}

	match := func(sp testSP) wire.PIDRequest { return wire.PIDRequest{ServiceID: sp.spid(), PID: pid, CPR: cprA} }
	ridMatch := func(sp testSP) wire.RIDRequest {
		return wire.RIDRequest{Operation: wire.RIDMatchRidAndCpr, SerialNumber: serial, CPR: cprA, ServiceProviderID: uint64(sp.sp.ID)}
	}
	otherPOCES := pocesB64(t, e)
	for _, c := range []struct {
		name string
		cert *tls.Certificate
		pid  wire.PIDRequest
		rid  wire.RIDRequest
		want wire.StatusCode
	}{
		{"no client certificate", nil, match(full), ridMatch(full), wire.StatusMissingClientCert},
		{"a certificate of another CA", &foreign, match(full), ridMatch(full), wire.StatusNotAuthorizedForServiceLookup},
		{"another CA's certificate with our issuing CA", &spoof, match(full), ridMatch(full), wire.StatusNotAuthorizedForServiceLookup},
		{"our certificate, no agreement", &unregistered, match(full), ridMatch(full), wire.StatusNotAuthorizedForServiceLookup},
		{"a disabled service provider", &disabled.cert, match(disabled), ridMatch(disabled), wire.StatusNotAuthorizedForServiceLookup},
		{"a revoked certificate", &revoked.cert, match(revoked), ridMatch(revoked), wire.StatusNotAuthorizedForServiceLookup},
		{"another SP's SPID", &matchOnly.cert, match(full), ridMatch(full), wire.StatusNotAuthorizedForServiceLookup},
		{"no match right", &none.cert, match(none), ridMatch(none), wire.StatusNotAuthorizedForServiceLookup},
		{"look-up without the right", &matchOnly.cert,
			wire.PIDRequest{ServiceID: matchOnly.spid(), PID: pid},
			wire.RIDRequest{Operation: wire.RIDGetCpr, SerialNumber: serial, ServiceProviderID: uint64(matchOnly.sp.ID)},
			wire.StatusNotAuthorizedForCPRLookup},
		{"a certificate of another person", &full.cert,
			wire.PIDRequest{ServiceID: full.spid(), PID: pid, CPR: cprA, B64Cert: otherPOCES},
			wire.RIDRequest{Operation: wire.RIDMatchRidAndCpr, SerialNumber: serial, CPR: cprA, ServiceProviderID: uint64(full.sp.ID), CertificateRequestData: mocesB64(t, e)},
			wire.StatusPIDDoesNotMatchBase64Certificate},
		{"a certificate without the identity", &full.cert,
			wire.PIDRequest{ServiceID: full.spid(), PID: pid, CPR: cprA, B64Cert: base64.StdEncoding.EncodeToString(full.leaf.Raw)},
			wire.RIDRequest{Operation: wire.RIDMatchRidAndCpr, SerialNumber: serial, CPR: cprA, ServiceProviderID: uint64(full.sp.ID), CertificateRequestData: "bm90IGEgY2VydA=="},
			wire.StatusNoPIDInCertificate},
	} {
		// b64Cert exists in the SOAP interface only.
		if c.pid.B64Cert == "" {
			if got := pidStatus(t, s, c.cert, c.pid); got != c.want {
				t.Errorf("PID, %s: status %v, want %v", c.name, got, c.want)
			}
		}
		env, _ := wire.MarshalPIDSOAPRequest([]wire.PIDRequest{c.pid})
		_, b := s.post(t, c.cert, wire.PIDSOAPPath, "text/xml", env)
		if r, err := wire.ParsePIDSOAPReplies(b); err != nil || len(r) != 1 || r[0].Status != c.want {
			t.Errorf("PID SOAP, %s: %+v %v, want %v", c.name, r, err, c.want)
		}
		if got := ridStatus(t, s, c.cert, c.rid); got != c.want {
			t.Errorf("RID, %s: status %v, want %v", c.name, got, c.want)
		}
	}
	// None of the refused questions was compared or recorded.
	for _, sp := range []testSP{full, matchOnly, none, disabled, revoked} {
		if _, all := failures(t, sp, ""); all != 0 {
			t.Errorf("SP %d: %d failures recorded for refused questions", sp.sp.ID, all)
		}
	}

	// The test operations answer only whether the caller is accepted.
	// PID's testConnection names no SPID; RID's TestConnection does.
	for _, c := range []struct {
		cert         *tls.Certificate
		spid         int64
		ridOK, pidOK bool
	}{
		{&full.cert, full.sp.ID, true, true},
		{nil, full.sp.ID, false, false},
		{&none.cert, none.sp.ID, false, false},
		{&disabled.cert, disabled.sp.ID, false, false},
		{&matchOnly.cert, full.sp.ID, false, true},
	} {
		env, _ := wire.MarshalRIDRequest(wire.RIDRequest{Operation: wire.RIDTestConnection, TestText: "x", ServiceProviderID: uint64(c.spid)})
		_, b := s.post(t, c.cert, wire.RIDPath, "text/xml", env)
		r, err := wire.ParseRIDReply(wire.RIDTestConnection, b)
		if err != nil || (r.TestReply == wire.RIDTestReplyOk) != c.ridOK {
			t.Errorf("RID TestConnection (SP %d, cert %v): %+v %v", c.spid, c.cert != nil, r, err)
		}
		code, b := s.post(t, c.cert, wire.PIDSOAPPath, "text/xml", wire.MarshalPIDSOAPTestConnection(7))
		v, err := wire.ParsePIDSOAPTestConnectionResponse(b)
		if c.pidOK != (err == nil && v == 7 && code == 200) || (!c.pidOK && code != 500) {
			t.Errorf("PID testConnection (SP %d, cert %v): HTTP %d, %d, %v", c.spid, c.cert != nil, code, v, err)
		}
	}
	code, b := s.post(t, nil, wire.PIDSOAPPath, "text/xml", wire.MarshalPIDSOAPTest())
	var se *wire.ServiceError
	if err := wire.ParsePIDSOAPTestResponse(b); code != 500 || !errors.As(err, &se) || se.Code != wire.StatusMissingClientCert {
		t.Errorf("PID test without a certificate: HTTP %d, %v", code, err)
	}

	// An SP certificate that has expired (by the service's clock).
	s.clock.Set(full.leaf.NotAfter.Add(time.Second))
	if got := pidStatus(t, s, &full.cert, match(full)); got != wire.StatusNotAuthorizedForServiceLookup {
		t.Errorf("an expired certificate: %v", got)
	}
}

// TestUnreadableRequests: the statuses for requests that cannot be read.
func TestUnreadableRequests(t *testing.T) {
	s := startService(t, nil, cpr.Limits{})
	sp := s.env.newSP(t, true, true)
	for _, c := range []struct {
		name, path, contentType, body string
		wantHTTP                      int
		want                          wire.StatusCode
	}{
		{"pidxml, not XML", wire.PIDXMLPath, "text/xml", "hello", 200, wire.StatusXMLParseError},
		{"pidxml, form without PID_REQUEST", wire.PIDXMLPath, "application/x-www-form-urlencoded", "X=1", 200, wire.StatusXMLParseError},
		{"pidxml, another method", wire.PIDXMLPath, "text/xml", `<method name="pidCprServerStatus" version="1.0"/>`, 200, wire.StatusNotPIDServiceRequest},
		{"pidxml, another version", wire.PIDXMLPath, "text/xml", `<method name="pidCprRequest" version="1.1"/>`, 200, wire.StatusXMLVersionNotSupported},
		{"pidxml, too long", wire.PIDXMLPath, "text/xml", strings.Repeat(" ", wire.MaxMessageSize+1), 200, wire.StatusXMLParseError},
		{"pidws, not SOAP", wire.PIDSOAPPath, "text/xml", "<pid/>", 200, wire.StatusXMLParseError},
		{"pidws, unknown operation", wire.PIDSOAPPath, "text/xml", `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><x xmlns="http://localhost/"/></s:Body></s:Envelope>`, 200, wire.StatusNotPIDServiceRequest},
		{"pidws, SOAP 1.2", wire.PIDSOAPPath, "application/soap+xml", `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>`, 200, wire.StatusXMLVersionNotSupported},
		{"rid, not XML", wire.RIDPath, "text/xml", "{}", 500, wire.StatusXMLParseError},
		{"rid, unknown operation", wire.RIDPath, "text/xml", `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetRidInput xmlns="urn:oio:danid:nemid:erhverv:1.0.0"/></s:Body></s:Envelope>`, 500, wire.StatusNotPIDServiceRequest},
		{"rid, another version", wire.RIDPath, "text/xml", `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetCprInput xmlns="urn:oio:danid:nemid:erhverv:1.1.0"/></s:Body></s:Envelope>`, 500, wire.StatusXMLVersionNotSupported},
	} {
		code, b := s.post(t, &sp.cert, c.path, c.contentType, []byte(c.body))
		var got wire.StatusCode
		var err error
		switch c.path {
		case wire.PIDXMLPath:
			var r wire.PIDReply
			r, err = wire.ParsePIDXMLReply(b)
			got = r.Status
		case wire.PIDSOAPPath:
			var r []wire.PIDReply
			if r, err = wire.ParsePIDSOAPReplies(b); err == nil && len(r) == 1 {
				got = r[0].Status
			}
		default:
			_, err = wire.ParseRIDReply(wire.RIDGetCpr, b)
			var se *wire.ServiceError
			if errors.As(err, &se) {
				got, err = se.Code, nil
			}
		}
		if code != c.wantHTTP || err != nil || got != c.want {
			t.Errorf("%s: HTTP %d, status %v, %v; want HTTP %d, status %v\n%s", c.name, code, got, err, c.wantHTTP, c.want, b)
		}
	}
	// A known RID operation with a broken field answers in its own output.
	env := `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetCprInput xmlns="urn:oio:danid:nemid:erhverv:1.0.0"><ServiceProviderIdentifier>x</ServiceProviderIdentifier></GetCprInput></s:Body></s:Envelope>`
	if got := ridRaw(t, s, &sp.cert, wire.RIDGetCpr, env); got != wire.StatusXMLParseError {
		t.Errorf("GetCpr with a bad SPID: %v", got)
	}
	// Missing arguments.
	env = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetCprInput xmlns="urn:oio:danid:nemid:erhverv:1.0.0"><ServiceProviderIdentifier>` + sp.spid() + `</ServiceProviderIdentifier></GetCprInput></s:Body></s:Envelope>`
	if got := ridRaw(t, s, &sp.cert, wire.RIDGetCpr, env); got != wire.StatusMissingArgument {
		t.Errorf("GetCpr without a serialNumber: %v", got)
	}
	env = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><MatchRidAndCprInput xmlns="urn:oio:danid:nemid:erhverv:1.0.0"><SubjectSerialNumberIdentifier>CVR:30808460-RID:1</SubjectSerialNumberIdentifier></MatchRidAndCprInput></s:Body></s:Envelope>`
	if got := ridRaw(t, s, &sp.cert, wire.RIDMatchRidAndCpr, env); got != wire.StatusMissingArgument {
		t.Errorf("MatchRidAndCpr without an SPID: %v", got)
	}
	// Only POST.
	resp, err := s.srv.Client().Get(s.srv.URL + wire.PIDXMLPath)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != 405 {
			t.Errorf("GET: HTTP %d, want 405", resp.StatusCode)
		}
	}
}

func ridRaw(t *testing.T, s *service, cert *tls.Certificate, op wire.RIDOperation, env string) wire.StatusCode {
	t.Helper()
	code, b := s.post(t, cert, wire.RIDPath, "text/xml", []byte(env))
	r, err := wire.ParseRIDReply(op, b)
	if code != 200 || err != nil {
		t.Fatalf("HTTP %d, %v\n%s", code, err, b)
	}
	return r.Status
}

// TestBruteForce: the limits of docs/cpr.md with the default thresholds,
// on a frozen clock.
func TestBruteForce(t *testing.T) {
	s := startService(t, nil, cpr.Limits{})
	e := s.env

	t.Run("per identity", func(t *testing.T) {
		sp := e.newSP(t, true, true)
		c := s.pidClient(t, sp, wire.PIDXML)
		pid, other := e.newPerson(t, cprA), e.newPerson(t, cprA)
		for i := 0; i < cpr.DefaultIdentityFailures; i++ {
			if ok, err := c.Match(ctx, pid, cprB); ok || err != nil {
				t.Fatalf("guess %d: %v, %v", i+1, ok, err)
			}
			s.clock.Advance(time.Hour)
		}
		// Five failures within 24 hours: the right CPR number is not even
		// compared, and the refusal is not counted as a failure.
		if _, err := c.Match(ctx, pid, cprA); !errors.Is(err, wire.ErrBruteForceDetected) {
			t.Fatalf("sixth question about the PID: %v, want status 16", err)
		}
		if _, err := c.LookupCPR(ctx, pid); !errors.Is(err, wire.ErrBruteForceDetected) {
			t.Errorf("look-up of the PID: %v, want status 16", err)
		}
		if forPID, _ := failures(t, sp, "PID:"+pid); forPID != cpr.DefaultIdentityFailures {
			t.Errorf("%d failures recorded for the PID, want %d", forPID, cpr.DefaultIdentityFailures)
		}
		// Other persons are answered; another SP is not affected.
		if ok, err := c.Match(ctx, other, cprA); !ok || err != nil {
			t.Errorf("another PID: %v, %v", ok, err)
		}
		if ok, err := s.pidClient(t, e.newSP(t, true, false), wire.PIDSOAP).Match(ctx, pid, cprA); !ok || err != nil {
			t.Errorf("another SP: %v, %v", ok, err)
		}
		// 24 hours after the first failure, only four are in the window.
		s.clock.Advance(24*time.Hour - 5*time.Hour + time.Second)
		if ok, err := c.Match(ctx, pid, cprA); !ok || err != nil {
			t.Errorf("after the first failure left the window: %v, %v", ok, err)
		}
	})

	t.Run("in all", func(t *testing.T) {
		sp := e.newSP(t, true, false)
		c := s.pidClient(t, sp, wire.PIDXML)
		pid := e.newPerson(t, cprA)
		start := s.clock.Now()
		// 100 failures within the hour, each about another (unknown) PID.
		for i := 0; i < cpr.DefaultTotalFailures; i++ {
			unknown := "9208-2002-2-9" + strings.Repeat("0", 11-len(itoa(i))) + itoa(i)
			if _, err := c.Match(ctx, unknown, cprA); !errors.Is(err, wire.ErrUnknownIdentity) {
				t.Fatalf("failure %d: %v", i+1, err)
			}
			s.clock.Advance(30 * time.Second)
		}
		if _, err := c.Match(ctx, pid, cprA); !errors.Is(err, wire.ErrBruteForceDetected) {
			t.Fatalf("after 100 failures: %v, want status 16 for every question", err)
		}
		if _, err := s.ridClient(t, sp).Match(ctx, e.newEmployee(t, cprA), cprA); !errors.Is(err, wire.ErrBruteForceDetected) {
			t.Errorf("RID after 100 failures: %v, want status 16", err)
		}
		// An hour after the first failure, it has left the window.
		s.clock.Set(start.Add(time.Hour + time.Second))
		if ok, err := c.Match(ctx, pid, cprA); !ok || err != nil {
			t.Errorf("after the first failure left the window: %v, %v", ok, err)
		}
	})

	t.Run("configured limits", func(t *testing.T) {
		s2 := startService(t, nil, cpr.Limits{IdentityFailures: 1, IdentityWindow: time.Minute, TotalFailures: 2, TotalWindow: time.Minute})
		sp := e.newSP(t, true, false)
		c := s2.pidClient(t, sp, wire.PIDSOAP)
		pid := e.newPerson(t, cprA)
		c.Match(ctx, pid, cprB)
		if _, err := c.Match(ctx, pid, cprA); !errors.Is(err, wire.ErrBruteForceDetected) {
			t.Errorf("IdentityFailures 1: %v", err)
		}
		s2.clock.Advance(time.Minute + time.Second)
		if ok, err := c.Match(ctx, pid, cprA); !ok || err != nil {
			t.Errorf("IdentityWindow 1 minute: %v, %v", ok, err)
		}
	})
}

func itoa(i int) string { return big.NewInt(int64(i)).String() }

// failingStore fails CPRLink, as a broken database would.
type failingStore struct{ cpr.Store }

func (failingStore) CPRLink(context.Context, string) (store.CPRLink, error) {
	return store.CPRLink{}, errors.New("database is on fire")
}

func TestInternalError(t *testing.T) {
	e := getEnv(t)
	s := startService(t, failingStore{e.st}, cpr.Limits{})
	sp := e.newSP(t, true, true)
	got := pidStatus(t, s, &sp.cert, wire.PIDRequest{ServiceID: sp.spid(), PID: e.newPerson(t, cprA), CPR: cprA})
	if got != wire.StatusInternalError {
		t.Errorf("status %v, want 16384", got)
	}
	if !strings.Contains(s.logs.String(), "database is on fire") {
		t.Error("the cause is not in the log")
	}
	if _, all := failures(t, sp, ""); all != 0 {
		t.Error("a failed look-up was recorded")
	}
}

// TestMetricsAndLogs: answers are counted by interface and status; no CPR
// number or PID reaches the log.
func TestMetricsAndLogs(t *testing.T) {
	s := startService(t, nil, cpr.Limits{})
	e := s.env
	sp := e.newSP(t, true, true)
	pid := e.newPerson(t, "2902881234")
	serial := e.newEmployee(t, "2902881234")
	s.pidClient(t, sp, wire.PIDXML).Match(ctx, pid, "2902881234")
	s.pidClient(t, sp, wire.PIDXML).Match(ctx, pid, "3112991234")
	s.pidClient(t, sp, wire.PIDSOAP).LookupCPR(ctx, pid)
	s.ridClient(t, sp).Match(ctx, serial, "2902881234")
	pidStatus(t, s, nil, wire.PIDRequest{ServiceID: sp.spid(), PID: pid, CPR: "2902881234"})
	for _, c := range []struct {
		iface, status string
		want          float64
	}{{"pidxml", "0", 1}, {"pidxml", "1", 1}, {"pidxml", "8195", 1}, {"pidws", "0", 1}, {"rid", "0", 1}} {
		got := answers(t, s, c.iface, c.status)
		if got != c.want {
			t.Errorf("nemid_cpr_answers_total{interface=%q,status=%q} = %v, want %v", c.iface, c.status, got, c.want)
		}
	}
	logs := s.logs.String()
	for _, secret := range []string{"2902881234", "3112991234", pid, serial} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds %q:\n%s", secret, logs)
		}
	}
	if !strings.Contains(logs, "cpr answer") {
		t.Errorf("no answers logged:\n%s", logs)
	}
}

// selfSigned is a client certificate from outside the installation.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "Mallory", SerialNumber: "CVR:30808460-UID:1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}
}

// pocesB64 is base64 of a POCES certificate of a new person.
func pocesB64(t *testing.T, e *env) string {
	return issueB64(t, e, oces.Request{Type: oces.POCES, Name: "Anden Person"})
}

// mocesB64 is base64 of a MOCES certificate of a new employee.
func mocesB64(t *testing.T, e *env) string {
	return issueB64(t, e, oces.Request{Type: oces.MOCES, Name: "Anden Ansat", CVR: "30808460", Organization: "Testfirma A/S"})
}

func issueB64(t *testing.T, e *env, req oces.Request) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	iss, err := e.ca.Issue(ctx, ca.IssueRequest{Subject: req, PublicKey: k.Public()})
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(iss.Certificate.Raw)
}

// answers reads nemid_cpr_answers_total for one interface and status.
func answers(t *testing.T, s *service, iface, status string) float64 {
	t.Helper()
	mfs, err := s.metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "nemid_cpr_answers_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["interface"] == iface && labels["status"] == status {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
