package cpr

import (
	"fmt"
	"strconv"
	"strings"
)

// SOAP Faults. NemID documented no fault for either SOAP interface; this
// implementation answers with a SOAP 1.1 Fault (HTTP 500, as SOAP 1.1's
// HTTP binding requires) where the operation's own answer cannot carry the
// status: a PID test or testConnection call from a caller the service
// refuses, and a RID call whose operation cannot be read. The detail
// carries the status in the interface's own element names:
//
//	PID: <detail><statusCode xmlns="java:dk.certifikat.pid.webservices">17</statusCode></detail>
//	RID: <detail><RequestStatusCode xmlns="urn:oio:danid:nemid:erhverv:1.0.0">8192</RequestStatusCode><EmployeeIdentifierLookupStatusText xmlns="urn:oio:danid:nemid:erhverv:1.0.0">XmlParseError</EmployeeIdentifierLookupStatusText></detail>
//
// faultcode is soap:Client for a request the caller must change, and
// soap:Server for an internal error.

// MarshalPIDSOAPFault returns a Fault carrying a PID status.
func MarshalPIDSOAPFault(code StatusCode) []byte {
	var sb strings.Builder
	writeFaultStart(&sb, code, code.TextUK())
	sb.WriteString(`<statusCode xmlns="java:dk.certifikat.pid.webservices">` + strconv.Itoa(int(code)) + `</statusCode>`)
	sb.WriteString(`</detail></soap:Fault>` + soapClose)
	return []byte(sb.String())
}

// MarshalRIDSOAPFault returns a Fault carrying a RID status.
func MarshalRIDSOAPFault(code StatusCode) []byte {
	var sb strings.Builder
	writeFaultStart(&sb, code, string(code.RIDText()))
	sb.WriteString(`<RequestStatusCode xmlns="urn:oio:danid:nemid:erhverv:1.0.0">` + strconv.Itoa(int(code)) + `</RequestStatusCode>`)
	sb.WriteString(`<EmployeeIdentifierLookupStatusText xmlns="urn:oio:danid:nemid:erhverv:1.0.0">`)
	escape(&sb, string(code.RIDText()))
	sb.WriteString(`</EmployeeIdentifierLookupStatusText></detail></soap:Fault>` + soapClose)
	return []byte(sb.String())
}

func writeFaultStart(sb *strings.Builder, code StatusCode, text string) {
	faultcode := "soap:Client"
	if code == StatusInternalError {
		faultcode = "soap:Server"
	}
	sb.WriteString(soapOpen + `<soap:Fault><faultcode>` + faultcode + `</faultcode><faultstring>`)
	escape(sb, text)
	sb.WriteString(`</faultstring><detail>`)
}

// soapResponseBody reads a SOAP answer and returns the element in its Body.
// A Fault is returned as an error: a *ServiceError when its detail carries
// a status (as MarshalPIDSOAPFault and MarshalRIDSOAPFault write it), else
// an error wrapping ErrBadResponse with the fault's code and string.
func soapResponseBody(b []byte) (*node, error) {
	op, err := soapBody(b)
	if err != nil {
		return nil, err
	}
	if op.name.Space != nsSOAP11 || op.name.Local != "Fault" {
		return op, nil
	}
	var faultcode, faultstring string
	var detail *node
	for _, c := range op.children {
		switch c.name.Local {
		case "faultcode":
			faultcode = strings.TrimSpace(c.text)
		case "faultstring":
			faultstring = strings.TrimSpace(c.text)
		case "detail":
			detail = c
		}
	}
	if detail != nil {
		var code, ridText string
		found := false
		for _, d := range detail.children {
			switch {
			case d.name.Space == NamespacePIDTypes && d.name.Local == "statusCode",
				d.name.Space == NamespaceRID && d.name.Local == "RequestStatusCode":
				code, found = strings.TrimSpace(d.text), true
			case d.name.Space == NamespaceRID && d.name.Local == "EmployeeIdentifierLookupStatusText":
				ridText = strings.TrimSpace(d.text)
			}
		}
		if n, err := strconv.Atoi(code); found && err == nil {
			if ridText != "" {
				return nil, serviceError(StatusCode(n), ridText, "")
			}
			return nil, serviceError(StatusCode(n), faultstring, "")
		}
	}
	return nil, fmt.Errorf("%w: SOAP fault %q: %q", ErrBadResponse, faultcode, faultstring)
}
