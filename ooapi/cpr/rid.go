package cpr

import (
	"strconv"
	"strings"
)

// The RID-CPR OIO service v1.0.0 (spec section 9.4): SOAP 1.1,
// document/literal, namespace urn:oio:danid:nemid:erhverv:1.0.0, the CPR
// number in the OIO CPR core namespace. Each operation X takes an element
// XInput and answers XOutput:
//
//	GetCprInput{SubjectSerialNumberIdentifier?, ServiceProviderIdentifier}
//	  → GetCprOutput{RequestStatusCode, EmployeeIdentifierLookupStatusText, cpr:PersonCivilRegistrationIdentifier?}
//	MatchRidAndCprInput{SubjectSerialNumberIdentifier, cpr:PersonCivilRegistrationIdentifier, CertificateRequestData?, ServiceProviderIdentifier}
//	  → MatchRidAndCprOutput{RequestStatusCode, EmployeeIdentifierLookupStatusText, MatchIndicator}
//	TestConnectionInput{TestRequestText, ServiceProviderIdentifier} → TestConnectionOutput{TestReplyText}
//
// The WSDL itself is not public outside DanID's OOAPI jar; the element
// names come from the specification's summary of it. Which namespace the
// fields' elements are in is not known for certain, so a reader accepts
// them in the service namespace or unqualified (and the CPR number also in
// the CPR namespace); a writer qualifies them as above.

// Namespaces of the RID OIO interface.
const (
	NamespaceRID = "urn:oio:danid:nemid:erhverv:1.0.0"
	NamespaceCPR = "http://rep.oio.dk/cpr.dk/xml/schemas/core/2005/03/18/"
	// ridNamespacePrefix starts the namespace of every version of the service.
	ridNamespacePrefix = "urn:oio:danid:nemid:erhverv:"
)

var (
	ridFieldSpaces = []string{NamespaceRID, ""}
	ridCPRSpaces   = []string{NamespaceCPR, NamespaceRID, ""}
)

// MarshalRIDRequest returns the SOAP envelope of a RID call.
func MarshalRIDRequest(r RIDRequest) ([]byte, error) {
	if err := checkValues(r.SerialNumber, r.CPR, r.CertificateRequestData, r.TestText); err != nil {
		return nil, err
	}
	spid := strconv.FormatUint(r.ServiceProviderID, 10)
	var sb strings.Builder
	sb.WriteString(soapOpen)
	switch r.Operation {
	case RIDGetCpr:
		sb.WriteString(`<GetCprInput xmlns="urn:oio:danid:nemid:erhverv:1.0.0">`)
		element(&sb, "SubjectSerialNumberIdentifier", r.SerialNumber, false)
		element(&sb, "ServiceProviderIdentifier", spid, false)
		sb.WriteString(`</GetCprInput>`)
	case RIDMatchRidAndCpr:
		sb.WriteString(`<MatchRidAndCprInput xmlns="urn:oio:danid:nemid:erhverv:1.0.0">`)
		element(&sb, "SubjectSerialNumberIdentifier", r.SerialNumber, false)
		writeCPR(&sb, r.CPR)
		if r.CertificateRequestData != "" {
			element(&sb, "CertificateRequestData", r.CertificateRequestData, false)
		}
		element(&sb, "ServiceProviderIdentifier", spid, false)
		sb.WriteString(`</MatchRidAndCprInput>`)
	case RIDTestConnection:
		sb.WriteString(`<TestConnectionInput xmlns="urn:oio:danid:nemid:erhverv:1.0.0">`)
		element(&sb, "TestRequestText", r.TestText, false)
		element(&sb, "ServiceProviderIdentifier", spid, false)
		sb.WriteString(`</TestConnectionInput>`)
	default:
		return nil, errBadOperation
	}
	sb.WriteString(soapClose)
	return []byte(sb.String()), nil
}

func writeCPR(sb *strings.Builder, cpr string) {
	sb.WriteString(`<cpr:PersonCivilRegistrationIdentifier xmlns:cpr="http://rep.oio.dk/cpr.dk/xml/schemas/core/2005/03/18/">`)
	escape(sb, cpr)
	sb.WriteString(`</cpr:PersonCivilRegistrationIdentifier>`)
}

var errBadOperation = &ParseError{Status: StatusNotPIDServiceRequest, Reason: "unknown RID operation"}

// ParseRIDRequest reads a call of the RID service. Errors are *ParseError:
// 8192 for XML or SOAP that does not parse or has the wrong structure
// (including a CPR number outside the schema's pattern), 4096 for a body
// that is no operation of the service, 8193 for another version of the
// service or a SOAP 1.2 envelope. The operation is set in the returned
// request whenever it could be read, also with an error, so that the
// caller can answer in the operation's own output. Missing required
// elements are not an error here: Has* says which were present.
func ParseRIDRequest(b []byte) (RIDRequest, error) {
	op, err := soapBody(b)
	if err != nil {
		return RIDRequest{}, err
	}
	if op.name.Space != NamespaceRID {
		if strings.HasPrefix(op.name.Space, ridNamespacePrefix) {
			return RIDRequest{}, parseErr(StatusXMLVersionNotSupported, "another version of the RID service")
		}
		return RIDRequest{}, parseErr(StatusNotPIDServiceRequest, "<%s> is not an operation of the RID service", op.name.Local)
	}
	var r RIDRequest
	var allowed map[string][]string
	switch op.name.Local {
	case "GetCprInput":
		r.Operation = RIDGetCpr
		allowed = map[string][]string{"SubjectSerialNumberIdentifier": ridFieldSpaces, "ServiceProviderIdentifier": ridFieldSpaces}
	case "MatchRidAndCprInput":
		r.Operation = RIDMatchRidAndCpr
		allowed = map[string][]string{"SubjectSerialNumberIdentifier": ridFieldSpaces, "PersonCivilRegistrationIdentifier": ridCPRSpaces,
			"CertificateRequestData": ridFieldSpaces, "ServiceProviderIdentifier": ridFieldSpaces}
	case "TestConnectionInput":
		r.Operation = RIDTestConnection
		allowed = map[string][]string{"TestRequestText": ridFieldSpaces, "ServiceProviderIdentifier": ridFieldSpaces}
	default:
		return RIDRequest{}, parseErr(StatusNotPIDServiceRequest, "<%s> is not an operation of the RID service", op.name.Local)
	}
	els, err := children(op, allowed)
	if err != nil {
		return r, err
	}
	if r.SerialNumber, r.HasSerialNumber, err = optionalText(els["SubjectSerialNumberIdentifier"]); err != nil {
		return r, err
	}
	if r.CPR, r.HasCPR, err = optionalText(els["PersonCivilRegistrationIdentifier"]); err != nil {
		return r, err
	}
	if r.HasCPR && !OIOCPR(r.CPR) {
		return r, badXML("PersonCivilRegistrationIdentifier does not match the schema's pattern")
	}
	if r.CertificateRequestData, _, err = optionalText(els["CertificateRequestData"]); err != nil {
		return r, err
	}
	if r.TestText, _, err = optionalText(els["TestRequestText"]); err != nil {
		return r, err
	}
	spid, has, err := optionalText(els["ServiceProviderIdentifier"])
	if err != nil {
		return r, err
	}
	if has {
		// xsd:nonNegativeInteger, within the 64 bits OOAPI gives it (a long).
		if r.ServiceProviderID, err = strconv.ParseUint(strings.TrimPrefix(spid, "+"), 10, 64); err != nil {
			return r, badXML("ServiceProviderIdentifier is not a non-negative 64-bit integer")
		}
		r.HasServiceProviderID = true
	}
	return r, nil
}

// MarshalRIDReply returns the SOAP envelope of the answer to a RID call.
func MarshalRIDReply(r RIDReply) []byte {
	var sb strings.Builder
	sb.WriteString(soapOpen)
	switch r.Operation {
	case RIDTestConnection:
		sb.WriteString(`<TestConnectionOutput xmlns="urn:oio:danid:nemid:erhverv:1.0.0">`)
		element(&sb, "TestReplyText", r.TestReply, false)
		sb.WriteString(`</TestConnectionOutput>`)
	case RIDMatchRidAndCpr:
		sb.WriteString(`<MatchRidAndCprOutput xmlns="urn:oio:danid:nemid:erhverv:1.0.0">`)
		writeRIDStatus(&sb, r)
		element(&sb, "MatchIndicator", strconv.FormatBool(r.Match), false)
		sb.WriteString(`</MatchRidAndCprOutput>`)
	default:
		sb.WriteString(`<GetCprOutput xmlns="urn:oio:danid:nemid:erhverv:1.0.0">`)
		writeRIDStatus(&sb, r)
		if r.CPR != "" {
			writeCPR(&sb, r.CPR)
		}
		sb.WriteString(`</GetCprOutput>`)
	}
	sb.WriteString(soapClose)
	return []byte(sb.String())
}

func writeRIDStatus(sb *strings.Builder, r RIDReply) {
	element(sb, "RequestStatusCode", strconv.Itoa(int(r.Status)), false)
	element(sb, "EmployeeIdentifierLookupStatusText", string(r.StatusText), false)
}

// ParseRIDReply reads the answer to a RID call of operation op. A SOAP
// Fault is returned as the error it carries.
func ParseRIDReply(op RIDOperation, b []byte) (RIDReply, error) {
	n, err := soapResponseBody(b)
	if err != nil {
		return RIDReply{}, err
	}
	want := string(op) + "Output"
	if n.name.Space != NamespaceRID || n.name.Local != want {
		return RIDReply{}, badXML("answer is <%s>, not <%s>", n.name.Local, want)
	}
	r := RIDReply{Operation: op}
	var allowed map[string][]string
	switch op {
	case RIDTestConnection:
		allowed = map[string][]string{"TestReplyText": ridFieldSpaces}
	case RIDMatchRidAndCpr:
		allowed = map[string][]string{"RequestStatusCode": ridFieldSpaces, "EmployeeIdentifierLookupStatusText": ridFieldSpaces, "MatchIndicator": ridFieldSpaces}
	case RIDGetCpr:
		allowed = map[string][]string{"RequestStatusCode": ridFieldSpaces, "EmployeeIdentifierLookupStatusText": ridFieldSpaces, "PersonCivilRegistrationIdentifier": ridCPRSpaces}
	default:
		return RIDReply{}, errBadOperation
	}
	els, err := children(n, allowed)
	if err != nil {
		return RIDReply{}, err
	}
	if op == RIDTestConnection {
		if els["TestReplyText"] == nil {
			return RIDReply{}, badXML("<TestConnectionOutput> holds no <TestReplyText>")
		}
		r.TestReply, err = leafText(els["TestReplyText"])
		return r, err
	}
	if els["RequestStatusCode"] == nil || els["EmployeeIdentifierLookupStatusText"] == nil {
		return RIDReply{}, badXML("<%s> lacks RequestStatusCode or EmployeeIdentifierLookupStatusText", want)
	}
	code, err := leafText(els["RequestStatusCode"])
	if err != nil {
		return RIDReply{}, err
	}
	c, err := strconv.Atoi(code)
	if err != nil {
		return RIDReply{}, badXML("RequestStatusCode is not a number")
	}
	r.Status = StatusCode(c)
	text, err := leafText(els["EmployeeIdentifierLookupStatusText"])
	if err != nil {
		return RIDReply{}, err
	}
	r.StatusText = RIDStatusText(text)
	if op == RIDMatchRidAndCpr {
		if els["MatchIndicator"] == nil {
			if r.StatusText == RIDOk {
				return RIDReply{}, badXML("an Ok <MatchRidAndCprOutput> holds no MatchIndicator")
			}
			return r, nil
		}
		m, err := leafText(els["MatchIndicator"])
		if err != nil {
			return RIDReply{}, err
		}
		switch m {
		case "true", "1":
			r.Match = true
		case "false", "0":
		default:
			return RIDReply{}, badXML("MatchIndicator is not an xsd:boolean")
		}
		return r, nil
	}
	if r.CPR, _, err = optionalText(els["PersonCivilRegistrationIdentifier"]); err != nil {
		return RIDReply{}, err
	}
	return r, nil
}
