package cpr

import (
	"strconv"
	"strings"
)

// The SOAP interface of the PID-CPR service ("pidws", spec section 9.1):
// SOAP 1.1, document/literal, soapAction "", target namespace
// http://localhost/ with the array and record types in
// java:dk.certifikat.pid.webservices; operations pid, test and
// testConnection (the WSDL of DanID's OOAPI, item.wsdl / pidservice.wsdl).

// Namespaces of the PID SOAP interface.
const (
	NamespacePID      = "http://localhost/"
	NamespacePIDTypes = "java:dk.certifikat.pid.webservices"
)

// MaxPIDRequests is the most PIDRequests one SOAP pid call may carry here.
// The WSDL allows any number; each is a query that counts towards the
// caller's limits, and a bounded batch keeps one call's work bounded.
const MaxPIDRequests = 10

// PIDSOAPOperation is an operation of the PID SOAP interface.
type PIDSOAPOperation string

// The operations of pidwsdocPort.
const (
	PIDSOAPPid            PIDSOAPOperation = "pid"
	PIDSOAPTest           PIDSOAPOperation = "test"
	PIDSOAPTestConnection PIDSOAPOperation = "testConnection"
)

// PIDSOAPCall is one call of the PID SOAP interface.
type PIDSOAPCall struct {
	Operation PIDSOAPOperation
	// Requests are the PIDRequests of a pid call.
	Requests []PIDRequest
	// IntVal is testConnection's argument.
	IntVal int32
}

const soapOpen = `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soap:Body>`
const soapClose = `</soap:Body></soap:Envelope>`

// MarshalPIDSOAPRequest returns the SOAP envelope of a pid call. Absent
// values (a look-up's CPR, an unused b64Cert or id) are sent as xsi:nil,
// since the WSDL makes every field required and nillable.
func MarshalPIDSOAPRequest(reqs []PIDRequest) ([]byte, error) {
	var sb strings.Builder
	sb.WriteString(soapOpen + `<pid xmlns="http://localhost/"><pIDRequests>`)
	for _, r := range reqs {
		if err := checkValues(r.ID, r.ServiceID, r.PID, r.CPR, r.B64Cert); err != nil {
			return nil, err
		}
		sb.WriteString(`<PIDRequest xmlns="java:dk.certifikat.pid.webservices">`)
		element(&sb, "CPR", r.CPR, true)
		element(&sb, "PID", r.PID, true)
		element(&sb, "b64Cert", r.B64Cert, true)
		element(&sb, "id", r.ID, true)
		element(&sb, "serviceId", r.ServiceID, true)
		sb.WriteString(`</PIDRequest>`)
	}
	sb.WriteString(`</pIDRequests></pid>` + soapClose)
	return []byte(sb.String()), nil
}

// MarshalPIDSOAPTest returns the SOAP envelope of a test call.
func MarshalPIDSOAPTest() []byte {
	return []byte(soapOpen + `<test xmlns="http://localhost/"/>` + soapClose)
}

// MarshalPIDSOAPTestConnection returns the SOAP envelope of a
// testConnection call.
func MarshalPIDSOAPTestConnection(v int32) []byte {
	return []byte(soapOpen + `<testConnection xmlns="http://localhost/"><intVal>` + strconv.Itoa(int(v)) + `</intVal></testConnection>` + soapClose)
}

// The namespaces in which a reader accepts the inner elements of a call or
// answer. The WSDL puts the wrapper's children in http://localhost/ and the
// records' fields in java:dk.certifikat.pid.webservices; SOAP toolkits that
// read the WSDL loosely qualify everything with the target namespace, or
// nothing, and NemID's server (a WebLogic web service) answered them, so
// the names are what is checked strictly, not which of these namespaces
// they come in.
var (
	pidWrapperSpaces = []string{NamespacePID, ""}
	pidRecordSpaces  = []string{NamespacePIDTypes, NamespacePID, ""}
)

// ParsePIDSOAPCall reads a call of the PID SOAP interface. Errors are
// *ParseError: 8192 for XML or SOAP that does not parse or has the wrong
// structure, 4096 for a body that is no operation of the interface, 8193
// for a SOAP 1.2 envelope.
func ParsePIDSOAPCall(b []byte) (PIDSOAPCall, error) {
	op, err := soapBody(b)
	if err != nil {
		return PIDSOAPCall{}, err
	}
	if op.name.Space != NamespacePID {
		return PIDSOAPCall{}, parseErr(StatusNotPIDServiceRequest, "<%s> is not an operation of the PID service", op.name.Local)
	}
	switch PIDSOAPOperation(op.name.Local) {
	case PIDSOAPTest:
		if len(op.children) > 0 || strings.TrimSpace(op.text) != "" {
			return PIDSOAPCall{}, badXML("<test> must be empty")
		}
		return PIDSOAPCall{Operation: PIDSOAPTest}, nil
	case PIDSOAPTestConnection:
		els, err := children(op, map[string][]string{"intVal": pidWrapperSpaces})
		if err != nil {
			return PIDSOAPCall{}, err
		}
		if els["intVal"] == nil {
			return PIDSOAPCall{}, badXML("<testConnection> holds no <intVal>")
		}
		s, err := leafText(els["intVal"])
		if err != nil {
			return PIDSOAPCall{}, err
		}
		v, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return PIDSOAPCall{}, badXML("<intVal> is not an xsd:int")
		}
		return PIDSOAPCall{Operation: PIDSOAPTestConnection, IntVal: int32(v)}, nil
	case PIDSOAPPid:
		return parsePIDCall(op)
	}
	return PIDSOAPCall{}, parseErr(StatusNotPIDServiceRequest, "<%s> is not an operation of the PID service", op.name.Local)
}

func parsePIDCall(op *node) (PIDSOAPCall, error) {
	els, err := children(op, map[string][]string{"pIDRequests": pidWrapperSpaces})
	if err != nil {
		return PIDSOAPCall{}, err
	}
	arr := els["pIDRequests"]
	if arr == nil {
		return PIDSOAPCall{}, badXML("<pid> holds no <pIDRequests>")
	}
	if len(arr.children) > MaxPIDRequests {
		return PIDSOAPCall{}, badXML("more than %d PIDRequests in one call", MaxPIDRequests)
	}
	call := PIDSOAPCall{Operation: PIDSOAPPid, Requests: []PIDRequest{}}
	for _, rn := range arr.children {
		if rn.name.Local != "PIDRequest" || !contains(pidRecordSpaces, rn.name.Space) {
			return PIDSOAPCall{}, badXML("unexpected element <%s> in <pIDRequests>", rn.name.Local)
		}
		if rn.isNil() {
			return PIDSOAPCall{}, badXML("a nil <PIDRequest>")
		}
		f, err := children(rn, map[string][]string{
			"CPR": pidRecordSpaces, "PID": pidRecordSpaces, "b64Cert": pidRecordSpaces, "id": pidRecordSpaces, "serviceId": pidRecordSpaces,
		})
		if err != nil {
			return PIDSOAPCall{}, err
		}
		var r PIDRequest
		for _, x := range []struct {
			name string
			dst  *string
		}{{"CPR", &r.CPR}, {"PID", &r.PID}, {"b64Cert", &r.B64Cert}, {"id", &r.ID}, {"serviceId", &r.ServiceID}} {
			if *x.dst, _, err = optionalText(f[x.name]); err != nil {
				return PIDSOAPCall{}, err
			}
		}
		call.Requests = append(call.Requests, r)
	}
	return call, nil
}

// MarshalPIDSOAPReplies returns the SOAP envelope of a pid answer.
func MarshalPIDSOAPReplies(replies []PIDReply) []byte {
	var sb strings.Builder
	sb.WriteString(soapOpen + `<pidResponse xmlns="http://localhost/"><result>`)
	for _, r := range replies {
		sb.WriteString(`<PIDReply xmlns="java:dk.certifikat.pid.webservices">`)
		element(&sb, "CPR", r.CPR, true)
		element(&sb, "PID", r.PID, true)
		element(&sb, "id", r.ID, true)
		element(&sb, "redirURL", r.RedirURL, true)
		element(&sb, "statusCode", strconv.Itoa(int(r.Status)), false)
		element(&sb, "statusTextDK", r.TextDK, true)
		element(&sb, "statusTextUK", r.TextUK, true)
		sb.WriteString(`</PIDReply>`)
	}
	sb.WriteString(`</result></pidResponse>` + soapClose)
	return []byte(sb.String())
}

// MarshalPIDSOAPTestResponse returns the SOAP envelope of test's answer.
func MarshalPIDSOAPTestResponse() []byte {
	return []byte(soapOpen + `<testResponse xmlns="http://localhost/"/>` + soapClose)
}

// MarshalPIDSOAPTestConnectionResponse returns the SOAP envelope of
// testConnection's answer.
func MarshalPIDSOAPTestConnectionResponse(v int32) []byte {
	return []byte(soapOpen + `<testConnectionResponse xmlns="http://localhost/"><result>` + strconv.Itoa(int(v)) + `</result></testConnectionResponse>` + soapClose)
}

// ParsePIDSOAPReplies reads the answer to a pid call. A SOAP Fault is
// returned as the error it carries (see ParseSOAPFault).
func ParsePIDSOAPReplies(b []byte) ([]PIDReply, error) {
	op, err := soapResponseBody(b)
	if err != nil {
		return nil, err
	}
	if op.name.Space != NamespacePID || op.name.Local != "pidResponse" {
		return nil, badXML("answer is <%s>, not <pidResponse>", op.name.Local)
	}
	els, err := children(op, map[string][]string{"result": pidWrapperSpaces})
	if err != nil {
		return nil, err
	}
	if els["result"] == nil {
		return nil, badXML("<pidResponse> holds no <result>")
	}
	var out []PIDReply
	for _, rn := range els["result"].children {
		if rn.name.Local != "PIDReply" || !contains(pidRecordSpaces, rn.name.Space) {
			return nil, badXML("unexpected element <%s> in <result>", rn.name.Local)
		}
		f, err := children(rn, map[string][]string{
			"CPR": pidRecordSpaces, "PID": pidRecordSpaces, "id": pidRecordSpaces, "redirURL": pidRecordSpaces,
			"statusCode": pidRecordSpaces, "statusTextDK": pidRecordSpaces, "statusTextUK": pidRecordSpaces,
		})
		if err != nil {
			return nil, err
		}
		var r PIDReply
		var code string
		for _, x := range []struct {
			name string
			dst  *string
		}{{"CPR", &r.CPR}, {"PID", &r.PID}, {"id", &r.ID}, {"redirURL", &r.RedirURL}, {"statusCode", &code}, {"statusTextDK", &r.TextDK}, {"statusTextUK", &r.TextUK}} {
			if *x.dst, _, err = optionalText(f[x.name]); err != nil {
				return nil, err
			}
		}
		n, err := strconv.Atoi(code)
		if err != nil {
			return nil, badXML("<PIDReply> has no numeric statusCode")
		}
		r.Status = StatusCode(n)
		out = append(out, r)
	}
	return out, nil
}

// ParsePIDSOAPTestConnectionResponse reads testConnection's answer.
func ParsePIDSOAPTestConnectionResponse(b []byte) (int32, error) {
	op, err := soapResponseBody(b)
	if err != nil {
		return 0, err
	}
	if op.name.Space != NamespacePID || op.name.Local != "testConnectionResponse" {
		return 0, badXML("answer is <%s>, not <testConnectionResponse>", op.name.Local)
	}
	els, err := children(op, map[string][]string{"result": pidWrapperSpaces})
	if err != nil {
		return 0, err
	}
	if els["result"] == nil {
		return 0, badXML("<testConnectionResponse> holds no <result>")
	}
	s, err := leafText(els["result"])
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, badXML("<result> is not an xsd:int")
	}
	return int32(v), nil
}

// ParsePIDSOAPTestResponse reads test's answer.
func ParsePIDSOAPTestResponse(b []byte) error {
	op, err := soapResponseBody(b)
	if err != nil {
		return err
	}
	if op.name.Space != NamespacePID || op.name.Local != "testResponse" || len(op.children) > 0 {
		return badXML("answer is not an empty <testResponse>")
	}
	return nil
}
