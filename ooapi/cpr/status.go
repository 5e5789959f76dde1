package cpr

import "strconv"

// StatusCode is the status of one answer of the PID-CPR service (both its
// interfaces; spec section 9.3) and the RequestStatusCode of the RID-CPR
// service (spec section 9.4).
type StatusCode int

// The status codes of spec section 9.3. The RID-CPR service uses the same
// numbers for the same conditions (its status texts name them in its own
// words, see RIDStatusText); MissingArgumentError is the RID service's only
// condition without a PID counterpart.
const (
	StatusOK                               StatusCode = 0
	StatusNoMatch                          StatusCode = 1
	StatusNoPID                            StatusCode = 2
	StatusNoPIDInCertificate               StatusCode = 4
	StatusNotAuthorizedForCPRLookup        StatusCode = 8
	StatusBruteForceAttemptDetected        StatusCode = 16
	StatusNotAuthorizedForServiceLookup    StatusCode = 17
	StatusNotPIDServiceRequest             StatusCode = 4096
	StatusXMLParseError                    StatusCode = 8192
	StatusXMLVersionNotSupported           StatusCode = 8193
	StatusPIDDoesNotMatchBase64Certificate StatusCode = 8194
	StatusMissingClientCert                StatusCode = 8195
	// StatusMissingArgument is RID's MissingArgumentError. Its number is not
	// public (spec section 9.4 lists only the text); 8196, the next free
	// number among the request errors, is this implementation's choice.
	StatusMissingArgument StatusCode = 8196
	StatusInternalError   StatusCode = 16384
)

// statusInfo is what NemID said about one status: the constant's name in
// DanID's documentation and the Danish and English status texts the PID
// service sent with it, word for word as published (spelling included:
// "certifikat" in the English text of 8194 is NemID's), spec section 9.3.
type statusInfo struct {
	name, dk, uk string
	rid          RIDStatusText
}

var statuses = map[StatusCode]statusInfo{
	StatusOK:                               {"OK", "OK", "OK", RIDOk},
	StatusNoMatch:                          {"NO_MATCH", "CPR svarer ikke til PID", "CPR does not match PID", ""},
	StatusNoPID:                            {"NO_PID", "PID eksisterer ikke", "PID doesn't exist", ""},
	StatusNoPIDInCertificate:               {"NO_PID_IN_CERTIFICATE", "PID kunne ikke findes i certifikatet", "No PID in certificate", RIDNoRidInCertificate},
	StatusNotAuthorizedForCPRLookup:        {"NOT_AUTHORIZED_FOR_CPR_LOOKUP", "Der er ikke rettighed til at foretage CPR opslag", "Caller not authorized for CPR lookup", RIDNotAuthorizedForCprLookup},
	StatusBruteForceAttemptDetected:        {"BRUTE_FORCE_ATTEMPT_DETECTED", "Forsøg på systematisk søgning på CPR", "Brute force attempt detected", RIDBruteForceAttemptDetected},
	StatusNotAuthorizedForServiceLookup:    {"NOT_AUTHORIZED_FOR_SERVICE_LOOKUP", "Der er ikke rettighed til at foretage opslag på service", "Caller not authorized for service lookup", RIDNotAuthorizedForServiceLookup},
	StatusNotPIDServiceRequest:             {"NOT_PID_SERVICE_REQUEST", "Modtaget message ikke pidCprRequest eller pidCprServerStatus", "Non request XML received", RIDNotRidServiceRequest},
	StatusXMLParseError:                    {"XML_PARSE_ERROR", "XML pakke kan ikke parses", "Non parsable XML received", RIDXmlParseError},
	StatusXMLVersionNotSupported:           {"XML_VERSION_NOT_SUPPORTED", "Version er ikke understøttet", "Version not supported", RIDXmlVersionNotSupported},
	StatusPIDDoesNotMatchBase64Certificate: {"PID_DOES_NOT_MATCH_BASE64_CERTIFICATE", "PID stemmer med ikke med certifikat", "PID does not match certifikat", RIDRidDoesNotMatchBase64Certificate},
	StatusMissingClientCert:                {"MISSING_CLIENT_CERT", "Klient certifikat ikke præsenteret", "No client certificate presented", RIDMissingClientCert},
	// Not a PID status: the texts are ours, in the style of the others.
	StatusMissingArgument: {"MISSING_ARGUMENT", "Manglende argument", "Missing argument", RIDMissingArgumentError},
	StatusInternalError:   {"INTERNAL_ERROR", "Intern DanID fejl", "Internal DanID error", RIDInternalError},
}

// Known reports whether c is one of the status codes above.
func (c StatusCode) Known() bool { _, ok := statuses[c]; return ok }

// Name is the status's name in DanID's documentation, e.g. "NO_MATCH", or
// "UNKNOWN_<n>" for a code this package does not know.
func (c StatusCode) Name() string {
	if s, ok := statuses[c]; ok {
		return s.name
	}
	return "UNKNOWN_" + strconv.Itoa(int(c))
}

// TextUK is the English status text the PID service sends with c (empty
// for an unknown code).
func (c StatusCode) TextUK() string { return statuses[c].uk }

// TextDK is the Danish status text the PID service sends with c (empty for
// an unknown code).
func (c StatusCode) TextDK() string { return statuses[c].dk }

// RIDText is the RID service's EmployeeIdentifierLookupStatusText for c, or
// "" when the RID service has none (1 and 2: a RID answer carries
// MatchIndicator false, or no CPR, instead).
func (c StatusCode) RIDText() RIDStatusText { return statuses[c].rid }

// String is the number and the name, e.g. "1 (NO_MATCH)".
func (c StatusCode) String() string { return strconv.Itoa(int(c)) + " (" + c.Name() + ")" }

// RIDStatusText is a value of the RID service's
// EmployeeIdentifierLookupStatusText (spec section 9.4).
type RIDStatusText string

// The EmployeeIdentifierLookupStatusText enumeration of RidService v1.0.0.
const (
	RIDOk                               RIDStatusText = "Ok"
	RIDNoRidInCertificate               RIDStatusText = "NoRidInCertificate"
	RIDNotAuthorizedForCprLookup        RIDStatusText = "NotAuthorizedForCprLookup"
	RIDBruteForceAttemptDetected        RIDStatusText = "BruteForceAttemptDetected"
	RIDNotAuthorizedForServiceLookup    RIDStatusText = "NotAuthorizedForServiceLookup"
	RIDNotRidServiceRequest             RIDStatusText = "NotRidServiceRequest"
	RIDXmlParseError                    RIDStatusText = "XmlParseError"
	RIDXmlVersionNotSupported           RIDStatusText = "XmlVersionNotSupported"
	RIDRidDoesNotMatchBase64Certificate RIDStatusText = "RidDoesNotMatchBase64Certificate"
	RIDMissingClientCert                RIDStatusText = "MissingClientCert"
	RIDInternalError                    RIDStatusText = "InternalError"
	RIDMissingArgumentError             RIDStatusText = "MissingArgumentError"
)

// Code is the status code a RID status text stands for. Only Ok's number
// (0) is published; the others are inferred from the PID codes of the same
// name (spec section 9.4), and MissingArgumentError's is ours. ok is false
// for a text outside the enumeration.
func (t RIDStatusText) Code() (c StatusCode, ok bool) {
	for code, s := range statuses {
		if s.rid == t && t != "" {
			return code, true
		}
	}
	return 0, false
}

// TestReply values of the RID service's TestConnection (spec section 9.4).
const (
	RIDTestReplyOk                 = "Ok"
	RIDTestReplyAuthorizationError = "AuthorizationError"
)
