package cpr_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/nemid-dk/nemid/ooapi/cpr"
)

// TestPIDXMLReplyOfTheRealShape reads an answer laid out as published
// answers of the real service were (pretty-printed, UTF-8 with standalone,
// method pidCprResponse, Danish text first, redirURL "Not implemented").
func TestPIDXMLReplyOfTheRealShape(t *testing.T) {
	doc := "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n" +
		"<method name=\"pidCprResponse\" version=\"1.0\">\n" +
		"    <response id=\"7D1C0F5E\">\n" +
		"        <status statusCode=\"1\">\n" +
		"            <statusText language=\"DK\">CPR svarer ikke til PID</statusText>\n" +
		"            <statusText language=\"UK\">CPR does not match PID</statusText>\n" +
		"        </status>\n" +
		"        <pid>9208-2002-2-143168190719</pid>\n" +
		"        <cpr>0101010101</cpr>\n" +
		"        <redirURL>Not implemented</redirURL>\n" +
		"    </response>\n" +
		"</method>\n"
	r, err := cpr.ParsePIDXMLReply([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := cpr.PIDReply{ID: "7D1C0F5E", Status: cpr.StatusNoMatch, TextDK: "CPR svarer ikke til PID", TextUK: "CPR does not match PID",
		PID: "9208-2002-2-143168190719", CPR: "0101010101", RedirURL: "Not implemented"}
	if r != want {
		t.Errorf("got %+v\nwant %+v", r, want)
	}
	// Our own answer is that shape, compact, byte for byte.
	got := string(cpr.MarshalPIDXMLReply(cpr.NewPIDReply(cpr.PIDRequest{ID: "7D1C0F5E", PID: "9208-2002-2-143168190719", CPR: "0101010101"}, cpr.StatusNoMatch)))
	compact := `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><method name="pidCprResponse" version="1.0"><response id="7D1C0F5E"><status statusCode="1"><statusText language="DK">CPR svarer ikke til PID</statusText><statusText language="UK">CPR does not match PID</statusText></status><pid>9208-2002-2-143168190719</pid><cpr>0101010101</cpr><redirURL>Not implemented</redirURL></response></method>`
	if got != compact {
		t.Errorf("MarshalPIDXMLReply:\n%s\nwant\n%s", got, compact)
	}
}

// TestParseRequestStatuses: what a server answers requests it cannot take with.
func TestParseRequestStatuses(t *testing.T) {
	const decl = `<?xml version="1.0" encoding="iso-8859-1"?>`
	const soap11 = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>`
	const soapEnd = `</s:Body></s:Envelope>`
	pidxml := func(doc string) error { _, err := cpr.ParsePIDXMLRequest([]byte(doc)); return err }
	pidws := func(doc string) error { _, err := cpr.ParsePIDSOAPCall([]byte(doc)); return err }
	rid := func(doc string) error { _, err := cpr.ParseRIDRequest([]byte(doc)); return err }
	many := strings.Repeat(`<PIDRequest xmlns="java:dk.certifikat.pid.webservices"><PID>1</PID></PIDRequest>`, cpr.MaxPIDRequests+1)
	for _, c := range []struct {
		name  string
		parse func(string) error
		doc   string
		want  cpr.StatusCode
	}{
		{"not XML", pidxml, "PID_REQUEST", cpr.StatusXMLParseError},
		{"truncated", pidxml, decl + `<method name="pidCprRequest" version="1.0"><request>`, cpr.StatusXMLParseError},
		{"a DTD", pidxml, decl + `<!DOCTYPE method [<!ENTITY e SYSTEM "file:///etc/passwd">]><method name="pidCprRequest" version="1.0"><request><serviceId>1</serviceId><pid>&e;</pid></request></method>`, cpr.StatusXMLParseError},
		{"an unknown entity", pidxml, decl + `<method name="pidCprRequest" version="1.0"><request><serviceId>1</serviceId><pid>&e;</pid></request></method>`, cpr.StatusXMLParseError},
		{"a processing instruction", pidxml, decl + `<?php x?><method name="pidCprRequest" version="1.0"><request><serviceId>1</serviceId><pid>1</pid></request></method>`, cpr.StatusXMLParseError},
		{"another encoding", pidxml, `<?xml version="1.0" encoding="utf-16"?><method/>`, cpr.StatusXMLParseError},
		{"another root", pidxml, decl + `<pidCprRequest/>`, cpr.StatusNotPIDServiceRequest},
		{"pidCprServerStatus", pidxml, decl + `<method name="pidCprServerStatus" version="1.0"><request/></method>`, cpr.StatusNotPIDServiceRequest},
		{"another version", pidxml, decl + `<method name="pidCprRequest" version="2.0"><request/></method>`, cpr.StatusXMLVersionNotSupported},
		{"no pid", pidxml, decl + `<method name="pidCprRequest" version="1.0"><request><serviceId>1</serviceId></request></method>`, cpr.StatusXMLParseError},
		{"an unknown element", pidxml, decl + `<method name="pidCprRequest" version="1.0"><request><serviceId>1</serviceId><pid>1</pid><name>x</name></request></method>`, cpr.StatusXMLParseError},
		{"a repeated element", pidxml, decl + `<method name="pidCprRequest" version="1.0"><request><serviceId>1</serviceId><pid>1</pid><pid>2</pid></request></method>`, cpr.StatusXMLParseError},
		{"mixed content", pidxml, decl + `<method name="pidCprRequest" version="1.0"><request>x<serviceId>1</serviceId><pid>1</pid></request></method>`, cpr.StatusXMLParseError},
		{"two requests", pidxml, decl + `<method name="pidCprRequest" version="1.0"><request><serviceId>1</serviceId><pid>1</pid></request><request/></method>`, cpr.StatusXMLParseError},
		{"deep nesting", pidxml, decl + strings.Repeat("<a>", 40) + strings.Repeat("</a>", 40), cpr.StatusXMLParseError},

		{"SOAP 1.2", pidws, `<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body><pid xmlns="http://localhost/"/></e:Body></e:Envelope>`, cpr.StatusXMLVersionNotSupported},
		{"no envelope", pidws, `<pid xmlns="http://localhost/"/>`, cpr.StatusXMLParseError},
		{"an unknown operation", pidws, soap11 + `<lookup xmlns="http://localhost/"/>` + soapEnd, cpr.StatusNotPIDServiceRequest},
		{"another service", pidws, soap11 + `<GetCprInput xmlns="urn:oio:danid:nemid:erhverv:1.0.0"/>` + soapEnd, cpr.StatusNotPIDServiceRequest},
		{"a header to understand", pidws, `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><sec s:mustUnderstand="1"/></s:Header><s:Body><test xmlns="http://localhost/"/>` + soapEnd, cpr.StatusXMLParseError},
		{"two operations", pidws, soap11 + `<test xmlns="http://localhost/"/><test xmlns="http://localhost/"/>` + soapEnd, cpr.StatusXMLParseError},
		{"too many PIDRequests", pidws, soap11 + `<pid xmlns="http://localhost/"><pIDRequests>` + many + `</pIDRequests></pid>` + soapEnd, cpr.StatusXMLParseError},
		{"nil with content", pidws, soap11 + `<pid xmlns="http://localhost/"><pIDRequests><PIDRequest xmlns="java:dk.certifikat.pid.webservices" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><CPR i:nil="true">1</CPR></PIDRequest></pIDRequests></pid>` + soapEnd, cpr.StatusXMLParseError},
		{"intVal not an int", pidws, soap11 + `<testConnection xmlns="http://localhost/"><intVal>99999999999</intVal></testConnection>` + soapEnd, cpr.StatusXMLParseError},

		{"another RID version", rid, soap11 + `<GetCprInput xmlns="urn:oio:danid:nemid:erhverv:2.0.0"/>` + soapEnd, cpr.StatusXMLVersionNotSupported},
		{"an unknown RID operation", rid, soap11 + `<GetRidInput xmlns="urn:oio:danid:nemid:erhverv:1.0.0"/>` + soapEnd, cpr.StatusNotPIDServiceRequest},
		{"the legacy RID service", rid, soap11 + `<getCPR xmlns="http://localhost/"/>` + soapEnd, cpr.StatusNotPIDServiceRequest},
		{"a CPR outside the pattern", rid, soap11 + `<MatchRidAndCprInput xmlns="urn:oio:danid:nemid:erhverv:1.0.0"><SubjectSerialNumberIdentifier>CVR:1-RID:2</SubjectSerialNumberIdentifier><PersonCivilRegistrationIdentifier>3102991234</PersonCivilRegistrationIdentifier><ServiceProviderIdentifier>1</ServiceProviderIdentifier></MatchRidAndCprInput>` + soapEnd, cpr.StatusXMLParseError},
		{"a negative SPID", rid, soap11 + `<GetCprInput xmlns="urn:oio:danid:nemid:erhverv:1.0.0"><ServiceProviderIdentifier>-1</ServiceProviderIdentifier></GetCprInput>` + soapEnd, cpr.StatusXMLParseError},
	} {
		err := c.parse(c.doc)
		var pe *cpr.ParseError
		if !errors.As(err, &pe) || pe.Status != c.want {
			t.Errorf("%s: %v, want status %v", c.name, err, c.want)
		}
	}
}

// TestParseRequestsAsSent reads requests in forms other clients sent.
func TestParseRequestsAsSent(t *testing.T) {
	// ISO-8859-1 as declared: the byte 0xE6 is "æ".
	r, err := cpr.ParsePIDXMLRequest([]byte("<?xml version=\"1.0\" encoding=\"iso-8859-1\"?><method name=\"pidCprRequest\" version=\"1.0\"><request id=\"\xe6\"><serviceId> 42 </serviceId><pid>PID:9208-2002-2-143168190719</pid><cpr/></request></method>"))
	if err != nil || r != (cpr.PIDRequest{ID: "æ", ServiceID: "42", PID: "PID:9208-2002-2-143168190719"}) {
		t.Errorf("latin-1 request: %+v, %v", r, err)
	}
	// A SOAP toolkit that qualified everything with the target namespace,
	// left out nil fields, and sent a header.
	call, err := cpr.ParsePIDSOAPCall([]byte(`<?xml version="1.0"?><env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:tns="http://localhost/"><env:Header><tns:trace>1</tns:trace></env:Header><env:Body><tns:pid><tns:pIDRequests><tns:PIDRequest><tns:PID>9208-2002-2-143168190719</tns:PID><tns:CPR>1111111118</tns:CPR><tns:serviceId>42</tns:serviceId></tns:PIDRequest></tns:pIDRequests></tns:pid></env:Body></env:Envelope>`))
	if err != nil || len(call.Requests) != 1 || call.Requests[0] != (cpr.PIDRequest{ServiceID: "42", PID: "9208-2002-2-143168190719", CPR: "1111111118"}) {
		t.Errorf("target-namespace SOAP: %+v, %v", call, err)
	}
	// An OIO request with unqualified fields and a certificate.
	rr, err := cpr.ParseRIDRequest([]byte(`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><m:MatchRidAndCprInput xmlns:m="urn:oio:danid:nemid:erhverv:1.0.0"><SubjectSerialNumberIdentifier>CVR:30808460-RID:45490598</SubjectSerialNumberIdentifier><PersonCivilRegistrationIdentifier>2902881234</PersonCivilRegistrationIdentifier><CertificateRequestData>QUJD</CertificateRequestData><ServiceProviderIdentifier>+007</ServiceProviderIdentifier></m:MatchRidAndCprInput></soap:Body></soap:Envelope>`))
	want := cpr.RIDRequest{Operation: cpr.RIDMatchRidAndCpr, SerialNumber: "CVR:30808460-RID:45490598", CPR: "2902881234", CertificateRequestData: "QUJD",
		ServiceProviderID: 7, HasSerialNumber: true, HasCPR: true, HasServiceProviderID: true}
	if err != nil || rr != want {
		t.Errorf("OIO request: %+v, %v", rr, err)
	}
	// Missing arguments are for the server to answer, not a parse error.
	rr, err = cpr.ParseRIDRequest([]byte(`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><GetCprInput xmlns="urn:oio:danid:nemid:erhverv:1.0.0"/></soap:Body></soap:Envelope>`))
	if err != nil || rr.HasSerialNumber || rr.HasServiceProviderID || rr.Operation != cpr.RIDGetCpr {
		t.Errorf("empty GetCprInput: %+v, %v", rr, err)
	}
}

// TestRoundTrips: what the writers write, the readers read back unchanged.
func TestRoundTrips(t *testing.T) {
	req := cpr.PIDRequest{ID: `a<b&"c'`, ServiceID: "42", PID: "9208-2002-2-143168190719", CPR: "1111111118", B64Cert: "QUJD"}
	call, err := cpr.ParsePIDSOAPCall(must(cpr.MarshalPIDSOAPRequest([]cpr.PIDRequest{req, {PID: "x"}})))
	if err != nil || len(call.Requests) != 2 || call.Requests[0] != req || call.Requests[1] != (cpr.PIDRequest{PID: "x"}) {
		t.Errorf("SOAP request: %+v, %v", call, err)
	}
	req.B64Cert = ""
	doc, err := cpr.MarshalPIDXMLRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := cpr.ParsePIDXMLRequest(doc); err != nil || got != req {
		t.Errorf("pidxml request: %+v, %v", got, err)
	}
	reply := cpr.NewPIDReply(req, cpr.StatusBruteForceAttemptDetected)
	if got, err := cpr.ParsePIDXMLReply(cpr.MarshalPIDXMLReply(reply)); err != nil || got != withRedir(reply) {
		t.Errorf("pidxml reply: %+v, %v", got, err)
	}
	if got, err := cpr.ParsePIDSOAPReplies(cpr.MarshalPIDSOAPReplies([]cpr.PIDReply{reply})); err != nil || len(got) != 1 || got[0] != reply {
		t.Errorf("SOAP reply: %+v, %v", got, err)
	}
	for _, r := range []cpr.RIDRequest{
		{Operation: cpr.RIDGetCpr, SerialNumber: "CVR:1-RID:2", ServiceProviderID: 1<<63 + 5, HasSerialNumber: true, HasServiceProviderID: true},
		{Operation: cpr.RIDMatchRidAndCpr, SerialNumber: "s", CPR: "0000000000", CertificateRequestData: "x", ServiceProviderID: 0, HasSerialNumber: true, HasCPR: true, HasServiceProviderID: true},
		{Operation: cpr.RIDTestConnection, TestText: "hej", ServiceProviderID: 9, HasServiceProviderID: true},
	} {
		if got, err := cpr.ParseRIDRequest(must(cpr.MarshalRIDRequest(r))); err != nil || got != r {
			t.Errorf("RID %s request: %+v, %v", r.Operation, got, err)
		}
	}
	for _, r := range []cpr.RIDReply{
		{Operation: cpr.RIDGetCpr, Status: cpr.StatusOK, StatusText: cpr.RIDOk, CPR: "1111111118"},
		{Operation: cpr.RIDMatchRidAndCpr, Status: cpr.StatusOK, StatusText: cpr.RIDOk, Match: true},
		{Operation: cpr.RIDMatchRidAndCpr, Status: cpr.StatusMissingArgument, StatusText: cpr.RIDMissingArgumentError},
		{Operation: cpr.RIDTestConnection, TestReply: cpr.RIDTestReplyAuthorizationError},
	} {
		if got, err := cpr.ParseRIDReply(r.Operation, cpr.MarshalRIDReply(r)); err != nil || got != r {
			t.Errorf("RID %s reply: %+v, %v", r.Operation, got, err)
		}
	}
	// Faults come back as the status they carry.
	var se *cpr.ServiceError
	if _, err := cpr.ParsePIDSOAPTestConnectionResponse(cpr.MarshalPIDSOAPFault(cpr.StatusNotAuthorizedForServiceLookup)); !errors.As(err, &se) ||
		se.Code != cpr.StatusNotAuthorizedForServiceLookup || se.TextUK != "Caller not authorized for service lookup" {
		t.Errorf("PID fault: %v", err)
	}
	if _, err := cpr.ParseRIDReply(cpr.RIDGetCpr, cpr.MarshalRIDSOAPFault(cpr.StatusNotPIDServiceRequest)); !errors.As(err, &se) ||
		se.Code != cpr.StatusNotPIDServiceRequest || se.TextUK != "NotRidServiceRequest" {
		t.Errorf("RID fault: %v", err)
	}
	// A value XML cannot carry is refused, not sent garbled.
	if _, err := cpr.MarshalPIDXMLRequest(cpr.PIDRequest{PID: "\x00"}); err == nil {
		t.Error("a NUL in a value was accepted")
	}
	if _, err := cpr.MarshalPIDXMLRequest(cpr.PIDRequest{PID: "€"}); err == nil {
		t.Error("a character outside ISO-8859-1 was accepted into a pidxml request")
	}
}

func withRedir(r cpr.PIDReply) cpr.PIDReply {
	r.RedirURL = cpr.RedirURLNotImplemented
	return r
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// TestStatusTexts: every status has its name, both texts and, but for the
// two PID-only outcomes, its RID text, which maps back to the code.
func TestStatusTexts(t *testing.T) {
	codes := []cpr.StatusCode{0, 1, 2, 4, 8, 16, 17, 4096, 8192, 8193, 8194, 8195, 8196, 16384}
	for _, c := range codes {
		if !c.Known() || c.Name() == "" || c.TextDK() == "" || c.TextUK() == "" {
			t.Errorf("%d: name %q, DK %q, UK %q", int(c), c.Name(), c.TextDK(), c.TextUK())
		}
		rt := c.RIDText()
		if (rt == "") != (c == cpr.StatusNoMatch || c == cpr.StatusNoPID) {
			t.Errorf("%d: RID text %q", int(c), rt)
		}
		if back, ok := rt.Code(); rt != "" && (!ok || back != c) {
			t.Errorf("RID text %q maps back to %d", rt, int(back))
		}
	}
	if cpr.StatusCode(3).Known() || cpr.StatusCode(3).Name() != "UNKNOWN_3" {
		t.Error("status 3 is not a NemID status")
	}
	if _, ok := cpr.RIDStatusText("ok").Code(); ok {
		t.Error("RID status texts are case-sensitive")
	}
	if cpr.StatusBruteForceAttemptDetected.TextDK() != "Forsøg på systematisk søgning på CPR" {
		t.Error("the Danish text of 16 is not NemID's")
	}
}

func TestOIOCPR(t *testing.T) {
	for s, want := range map[string]bool{
		"1111111118": true, "0000000000": true, "2902881234": true, "3112991234": true,
		"3002881234": false, "3104991234": false, "0001991234": false, "0113991234": false, "111111111": false, "11111111a8": false,
	} {
		if cpr.OIOCPR(s) != want {
			t.Errorf("OIOCPR(%s) = %v", s, !want)
		}
	}
}
