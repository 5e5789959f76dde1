package cpr

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"net/url"

	"github.com/nemid-dk/nemid/oces"
	wire "github.com/nemid-dk/nemid/ooapi/cpr"
)

// servePIDXML answers the plain HTTP XML interface. NemID's users sent the
// request as the form field PID_REQUEST (application/x-www-form-urlencoded,
// spec section 9.2); one published client posted the XML document itself
// as the body (text/xml). Which of the two NemID's server took is not
// known (spec: UNCERTAIN), so both are accepted: a form body when the
// Content-Type says so, the raw document otherwise. Every answer is an
// XML document with HTTP status 200; errors are status codes in it.
func (s *Service) servePIDXML(w http.ResponseWriter, r *http.Request) {
	var reply wire.PIDReply
	var sp int64
	doc, ok := s.pidxmlDocument(w, r)
	req, err := wire.ParsePIDXMLRequest(doc)
	switch {
	case !ok:
		reply = wire.NewPIDReply(wire.PIDRequest{}, wire.StatusXMLParseError)
	case err != nil:
		reply = wire.NewPIDReply(wire.PIDRequest{}, parseStatus(err))
	default:
		c, st := s.identify(r)
		if st != wire.StatusOK {
			reply = wire.NewPIDReply(req, st)
		} else {
			sp = c.sp.ID
			reply = s.answerPID(r.Context(), c, req)
		}
	}
	writeXML(w, http.StatusOK, "text/xml; charset=UTF-8", wire.MarshalPIDXMLReply(reply))
	s.count(ifacePIDXML, wire.PIDXMLMethod, sp, reply.Status)
}

// pidxmlDocument returns the request document of a pidxml request, or
// false when the body is too long or is a form without exactly one
// PID_REQUEST.
func (s *Service) pidxmlDocument(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, ok := readBody(w, r)
	if !ok {
		return nil, false
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		return body, true
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || len(form[wire.PIDXMLFormField]) != 1 {
		return nil, false
	}
	return []byte(form[wire.PIDXMLFormField][0]), true
}

// servePIDSOAP answers the SOAP interface. A pid call is answered with one
// PIDReply per PIDRequest, each with its own status; a call that cannot be
// read is answered with one PIDReply carrying the parse status (HTTP 200,
// like every pidResponse). test and testConnection have no status in their
// answers, so a caller they refuse gets a SOAP Fault (see ooapi/cpr).
func (s *Service) servePIDSOAP(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	var call wire.PIDSOAPCall
	err := errors.New("body too long")
	if ok {
		call, err = wire.ParsePIDSOAPCall(body)
	}
	if err != nil {
		st := wire.StatusXMLParseError
		if ok {
			st = parseStatus(err)
		}
		writeXML(w, http.StatusOK, soapContentType, wire.MarshalPIDSOAPReplies([]wire.PIDReply{wire.NewPIDReply(wire.PIDRequest{}, st)}))
		s.count(ifacePIDWS, "pid", 0, st)
		return
	}
	c, st := s.identify(r)
	if call.Operation != wire.PIDSOAPPid {
		if st == wire.StatusOK && !c.sp.AllowCPRMatch {
			st = wire.StatusNotAuthorizedForServiceLookup
		}
		switch {
		case st != wire.StatusOK:
			writeXML(w, http.StatusInternalServerError, soapContentType, wire.MarshalPIDSOAPFault(st))
		case call.Operation == wire.PIDSOAPTest:
			writeXML(w, http.StatusOK, soapContentType, wire.MarshalPIDSOAPTestResponse())
		default:
			// testConnection answers its argument: a round trip that
			// proves the caller's certificate is accepted.
			writeXML(w, http.StatusOK, soapContentType, wire.MarshalPIDSOAPTestConnectionResponse(call.IntVal))
		}
		s.count(ifacePIDWS, string(call.Operation), c.sp.ID, st)
		return
	}
	replies := make([]wire.PIDReply, len(call.Requests))
	for i, req := range call.Requests {
		if st != wire.StatusOK {
			replies[i] = wire.NewPIDReply(req, st)
		} else {
			replies[i] = s.answerPID(r.Context(), c, req)
		}
		s.count(ifacePIDWS, string(call.Operation), c.sp.ID, replies[i].Status)
	}
	writeXML(w, http.StatusOK, soapContentType, wire.MarshalPIDSOAPReplies(replies))
}

// answerPID answers one PIDRequest of an identified caller, on either interface.
func (s *Service) answerPID(ctx context.Context, c caller, req wire.PIDRequest) wire.PIDReply {
	pid := wire.NormalizePID(req.PID)
	if pid == "" || len("PID:"+pid) > maxIdentity {
		return wire.NewPIDReply(req, wire.StatusXMLParseError)
	}
	lookup := req.CPR == ""
	if st := s.authorize(c, req.ServiceID, lookup); st != wire.StatusOK {
		return wire.NewPIDReply(req, st)
	}
	if req.B64Cert != "" {
		id, ok := certIdentity(req.B64Cert)
		if !ok || id.Type != oces.POCES {
			return wire.NewPIDReply(req, wire.StatusNoPIDInCertificate)
		}
		if id.PID != pid {
			return wire.NewPIDReply(req, wire.StatusPIDDoesNotMatchBase64Certificate)
		}
	}
	o := s.query(ctx, c, "PID:"+pid, req.CPR, true)
	reply := wire.NewPIDReply(req, o.status)
	if lookup && o.status == wire.StatusOK {
		reply.CPR = o.cpr
	}
	return reply
}

// parseStatus is the status a request that could not be read is answered with.
func parseStatus(err error) wire.StatusCode {
	var pe *wire.ParseError
	if errors.As(err, &pe) {
		return pe.Status
	}
	return wire.StatusXMLParseError
}

const soapContentType = "text/xml; charset=utf-8"

func writeXML(w http.ResponseWriter, code int, contentType string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	// Answers about persons: never cached anywhere.
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(body)
}
