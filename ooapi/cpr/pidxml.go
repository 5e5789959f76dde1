package cpr

import (
	"encoding/xml"
	"net/url"
	"strconv"
	"strings"
)

// The plain HTTP XML interface of the PID-CPR service ("pidxml", spec
// section 9.2): a form field PID_REQUEST holding
//
//	<?xml version="1.0" encoding="iso-8859-1"?><method name="pidCprRequest" version="1.0"><request id="ID"><serviceId>SPID</serviceId><pid>PID</pid><cpr>CPR</cpr></request></method>
//
// (<cpr> left out for a look-up), answered by
//
//	<?xml version="1.0" encoding="UTF-8" standalone="yes"?><method name="pidCprResponse" version="1.0"><response id="ID"><status statusCode="N"><statusText language="DK">…</statusText><statusText language="UK">…</statusText></status><pid>…</pid><cpr>…</cpr><redirURL>Not implemented</redirURL></response></method>

// Names of the pidxml interface.
const (
	// PIDXMLFormField is the form field that carries the request.
	PIDXMLFormField = "PID_REQUEST"
	// PIDXMLMethod is the method name of a request.
	PIDXMLMethod = "pidCprRequest"
	// PIDXMLResponseMethod is the method name of an answer, as a published
	// answer of the real service has it; ParsePIDXMLReply also accepts
	// PIDXMLMethod there.
	PIDXMLResponseMethod = "pidCprResponse"
	// PIDXMLVersion is the only version of the interface.
	PIDXMLVersion = "1.0"
	// RedirURLNotImplemented is the redirURL of every pidxml answer of the real service.
	RedirURLNotImplemented = "Not implemented"
)

// MarshalPIDXMLRequest returns the XML document of a pidxml request. The
// document declares ISO-8859-1, as the service's users sent it, and is
// encoded so: a value outside ISO-8859-1 is refused.
func MarshalPIDXMLRequest(r PIDRequest) ([]byte, error) {
	if err := checkValues(r.ID, r.ServiceID, r.PID, r.CPR); err != nil {
		return nil, err
	}
	var sb strings.Builder
	sb.WriteString(`<?xml version="1.0" encoding="iso-8859-1"?><method name="pidCprRequest" version="1.0"><request`)
	if r.ID != "" {
		sb.WriteString(` id="`)
		escape(&sb, r.ID)
		sb.WriteString(`"`)
	}
	sb.WriteString(">")
	element(&sb, "serviceId", r.ServiceID, false)
	element(&sb, "pid", r.PID, false)
	if r.CPR != "" {
		element(&sb, "cpr", r.CPR, false)
	}
	sb.WriteString("</request></method>")
	s := sb.String()
	if !isLatin1(s) {
		return nil, errBadValue
	}
	out := make([]byte, 0, len(s))
	for _, c := range s {
		out = append(out, byte(c))
	}
	return out, nil
}

// PIDXMLForm returns the form-encoded HTTP body of a pidxml request
// (Content-Type application/x-www-form-urlencoded): PID_REQUEST= and the
// document, percent-encoded byte by byte.
func PIDXMLForm(doc []byte) []byte {
	return []byte(PIDXMLFormField + "=" + url.QueryEscape(string(doc)))
}

// ParsePIDXMLRequest reads a pidxml request document. Errors are
// *ParseError: 8192 for XML that does not parse or has the wrong
// structure, 4096 for a document that is not a pidCprRequest, 8193 for
// another version.
func ParsePIDXMLRequest(b []byte) (PIDRequest, error) {
	root, err := parseTree(b)
	if err != nil {
		return PIDRequest{}, err
	}
	if root.name.Space != "" || root.name.Local != "method" {
		return PIDRequest{}, parseErr(StatusNotPIDServiceRequest, "root element <%s> is not <method>", root.name.Local)
	}
	if name, _ := root.attr("", "name"); name != PIDXMLMethod {
		// pidCprServerStatus, the other method NemID's texts name, has no
		// public shape and is not offered.
		return PIDRequest{}, parseErr(StatusNotPIDServiceRequest, "method is not %s", PIDXMLMethod)
	}
	if v, _ := root.attr("", "version"); v != PIDXMLVersion {
		return PIDRequest{}, parseErr(StatusXMLVersionNotSupported, "method version is not %s", PIDXMLVersion)
	}
	if len(root.children) != 1 || root.children[0].name != (xml.Name{Local: "request"}) {
		return PIDRequest{}, badXML("<method> must hold exactly one <request>")
	}
	req := root.children[0]
	els, err := children(req, map[string][]string{"serviceId": {""}, "pid": {""}, "cpr": {""}})
	if err != nil {
		return PIDRequest{}, err
	}
	var r PIDRequest
	r.ID, _ = req.attr("", "id")
	if els["serviceId"] == nil || els["pid"] == nil {
		return PIDRequest{}, badXML("<request> must hold <serviceId> and <pid>")
	}
	if r.ServiceID, err = leafText(els["serviceId"]); err != nil {
		return PIDRequest{}, err
	}
	if r.PID, err = leafText(els["pid"]); err != nil {
		return PIDRequest{}, err
	}
	if r.CPR, _, err = optionalText(els["cpr"]); err != nil {
		return PIDRequest{}, err
	}
	return r, nil
}

// MarshalPIDXMLReply returns the XML document of a pidxml answer, in UTF-8.
func MarshalPIDXMLReply(r PIDReply) []byte {
	var sb strings.Builder
	sb.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><method name="pidCprResponse" version="1.0"><response`)
	if r.ID != "" {
		sb.WriteString(` id="`)
		escape(&sb, r.ID)
		sb.WriteString(`"`)
	}
	sb.WriteString(`><status statusCode="` + strconv.Itoa(int(r.Status)) + `">`)
	sb.WriteString(`<statusText language="DK">`)
	escape(&sb, r.TextDK)
	sb.WriteString(`</statusText><statusText language="UK">`)
	escape(&sb, r.TextUK)
	sb.WriteString(`</statusText></status>`)
	if r.PID != "" {
		element(&sb, "pid", r.PID, false)
	}
	if r.CPR != "" {
		element(&sb, "cpr", r.CPR, false)
	}
	element(&sb, "redirURL", RedirURLNotImplemented, false)
	sb.WriteString("</response></method>")
	return []byte(sb.String())
}

// ParsePIDXMLReply reads a pidxml answer.
func ParsePIDXMLReply(b []byte) (PIDReply, error) {
	root, err := parseTree(b)
	if err != nil {
		return PIDReply{}, err
	}
	name, _ := root.attr("", "name")
	if root.name.Space != "" || root.name.Local != "method" || (name != PIDXMLResponseMethod && name != PIDXMLMethod) {
		return PIDReply{}, badXML("not a pidCprResponse <method>")
	}
	if v, _ := root.attr("", "version"); v != PIDXMLVersion {
		return PIDReply{}, parseErr(StatusXMLVersionNotSupported, "method version is not %s", PIDXMLVersion)
	}
	if len(root.children) != 1 || root.children[0].name != (xml.Name{Local: "response"}) {
		return PIDReply{}, badXML("<method> must hold exactly one <response>")
	}
	resp := root.children[0]
	els, err := children(resp, map[string][]string{"status": {""}, "pid": {""}, "cpr": {""}, "redirURL": {""}})
	if err != nil {
		return PIDReply{}, err
	}
	var r PIDReply
	r.ID, _ = resp.attr("", "id")
	st := els["status"]
	if st == nil {
		return PIDReply{}, badXML("<response> holds no <status>")
	}
	code, ok := st.attr("", "statusCode")
	n, err := strconv.Atoi(strings.TrimSpace(code))
	if !ok || err != nil {
		return PIDReply{}, badXML("<status> has no numeric statusCode")
	}
	r.Status = StatusCode(n)
	for _, t := range st.children {
		if t.name.Space != "" || t.name.Local != "statusText" {
			return PIDReply{}, badXML("unexpected element <%s> in <status>", t.name.Local)
		}
		text, err := leafText(t)
		if err != nil {
			return PIDReply{}, err
		}
		switch lang, _ := t.attr("", "language"); lang {
		case "DK":
			r.TextDK = text
		case "UK":
			r.TextUK = text
		default:
			return PIDReply{}, badXML("<statusText> with unknown language")
		}
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"pid", &r.PID}, {"cpr", &r.CPR}, {"redirURL", &r.RedirURL}} {
		if *f.dst, _, err = optionalText(els[f.name]); err != nil {
			return PIDReply{}, err
		}
	}
	return r, nil
}
