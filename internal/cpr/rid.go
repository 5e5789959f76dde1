package cpr

import (
	"net/http"
	"strconv"

	"github.com/nemid-dk/nemid/oces"
	wire "github.com/nemid-dk/nemid/ooapi/cpr"
)

// serveRID answers the RID-CPR OIO interface. A call whose operation is
// known is answered in that operation's output, whatever its status (HTTP
// 200); one whose operation cannot be read (not XML, not SOAP 1.1, not an
// operation of the service) gets a SOAP Fault carrying the status (HTTP 500).
func (s *Service) serveRID(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		writeXML(w, http.StatusInternalServerError, soapContentType, wire.MarshalRIDSOAPFault(wire.StatusXMLParseError))
		s.count(ifaceRID, "", 0, wire.StatusXMLParseError)
		return
	}
	req, err := wire.ParseRIDRequest(body)
	if err != nil {
		st := parseStatus(err)
		if req.Operation == "" {
			writeXML(w, http.StatusInternalServerError, soapContentType, wire.MarshalRIDSOAPFault(st))
		} else {
			writeXML(w, http.StatusOK, soapContentType, wire.MarshalRIDReply(wire.NewRIDReply(req, st)))
		}
		s.count(ifaceRID, string(req.Operation), 0, st)
		return
	}
	c, st := s.identify(r)
	if req.Operation == wire.RIDTestConnection {
		// TestConnection answers only Ok or AuthorizationError: whether
		// this caller, with this SPID, may use the service.
		if st == wire.StatusOK && (!req.HasServiceProviderID || s.authorize(c, strconv.FormatUint(req.ServiceProviderID, 10), false) != wire.StatusOK) {
			st = wire.StatusNotAuthorizedForServiceLookup
		}
		reply := wire.RIDReply{Operation: req.Operation, TestReply: wire.RIDTestReplyOk}
		if st != wire.StatusOK {
			reply.TestReply = wire.RIDTestReplyAuthorizationError
		}
		writeXML(w, http.StatusOK, soapContentType, wire.MarshalRIDReply(reply))
		s.count(ifaceRID, string(req.Operation), c.sp.ID, st)
		return
	}
	reply := wire.NewRIDReply(req, st)
	if st == wire.StatusOK {
		reply = s.answerRID(r, c, req)
	}
	writeXML(w, http.StatusOK, soapContentType, wire.MarshalRIDReply(reply))
	s.count(ifaceRID, string(req.Operation), c.sp.ID, reply.Status)
}

// answerRID answers GetCpr or MatchRidAndCpr for an identified caller. An
// employee the service knows no CPR number for is answered like a
// mismatch (MatchIndicator false) or with no CPR number, status Ok: the
// RID service has no "unknown RID" status (spec section 9.4).
func (s *Service) answerRID(r *http.Request, c caller, req wire.RIDRequest) wire.RIDReply {
	lookup := req.Operation == wire.RIDGetCpr
	if !req.HasServiceProviderID {
		return wire.NewRIDReply(req, wire.StatusMissingArgument)
	}
	if st := s.authorize(c, strconv.FormatUint(req.ServiceProviderID, 10), lookup); st != wire.StatusOK {
		return wire.NewRIDReply(req, st)
	}
	if !req.HasSerialNumber || (!lookup && !req.HasCPR) {
		return wire.NewRIDReply(req, wire.StatusMissingArgument)
	}
	if len(req.SerialNumber) > maxIdentity {
		return wire.NewRIDReply(req, wire.StatusXMLParseError)
	}
	if req.CertificateRequestData != "" {
		id, ok := certIdentity(req.CertificateRequestData)
		if !ok || id.Type != oces.MOCES {
			return wire.NewRIDReply(req, wire.StatusNoPIDInCertificate)
		}
		if id.SerialNumber != req.SerialNumber {
			return wire.NewRIDReply(req, wire.StatusPIDDoesNotMatchBase64Certificate)
		}
	}
	id, err := oces.ParseSerialNumber(req.SerialNumber)
	known := err == nil && id.Type == oces.MOCES
	o := s.query(r.Context(), c, req.SerialNumber, req.CPR, known)
	reply := wire.NewRIDReply(req, o.status)
	switch o.status {
	case wire.StatusOK:
		reply.Match, reply.CPR = o.match, o.cpr
	case wire.StatusNoMatch, wire.StatusNoPID:
		reply = wire.NewRIDReply(req, wire.StatusOK)
	}
	return reply
}
