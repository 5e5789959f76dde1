package cpr

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"unicode/utf8"
)

// PIDRequest is one query of the PID-CPR service, as both of its
// interfaces carry it: a match (CPR set) or a look-up (CPR empty).
type PIDRequest struct {
	// ID is the caller's identifier of the request, echoed in the reply
	// (pidxml: the request's id attribute; SOAP: the id element).
	ID string
	// ServiceID is the caller's SPID.
	ServiceID string
	// PID is the person's PID. OOAPI sends it without the "PID:" prefix;
	// the service accepts both.
	PID string
	// CPR is the CPR number to match; empty for a look-up.
	CPR string
	// B64Cert is optional (SOAP only; OOAPI sends none): base64 of a POCES
	// certificate the PID must belong to.
	B64Cert string
}

// PIDReply is the service's answer to one PIDRequest.
type PIDReply struct {
	ID     string
	Status StatusCode
	// TextDK and TextUK are the status texts (StatusCode.TextDK/TextUK).
	TextDK, TextUK string
	// PID and CPR echo the request; after a successful look-up CPR is the
	// number found.
	PID, CPR string
	// RedirURL is a field of the reply that NemID never filled in (its
	// pidxml answers say "Not implemented").
	RedirURL string
}

// NewPIDReply is the reply with status code to req, with the status's
// texts, echoing the request's ID, PID and CPR.
func NewPIDReply(req PIDRequest, code StatusCode) PIDReply {
	return PIDReply{ID: req.ID, Status: code, TextDK: code.TextDK(), TextUK: code.TextUK(), PID: req.PID, CPR: req.CPR}
}

// RIDOperation is an operation of the RID-CPR OIO service.
type RIDOperation string

// The operations of RidService v1.0.0 (spec section 9.4).
const (
	RIDGetCpr         RIDOperation = "GetCpr"
	RIDMatchRidAndCpr RIDOperation = "MatchRidAndCpr"
	RIDTestConnection RIDOperation = "TestConnection"
)

// RIDRequest is one call of the RID-CPR service.
type RIDRequest struct {
	Operation RIDOperation
	// SerialNumber is the employee's full subject serialNumber,
	// "CVR:12345678-RID:12345678" (GetCpr, MatchRidAndCpr).
	SerialNumber string
	// CPR is the number to match (MatchRidAndCpr).
	CPR string
	// CertificateRequestData is optional base64 of the employee's MOCES
	// certificate (MatchRidAndCpr); the RID must be the certificate's.
	CertificateRequestData string
	// ServiceProviderID is the caller's SPID, a non-negative 64-bit number.
	ServiceProviderID uint64
	// TestText is TestConnection's TestRequestText.
	TestText string
	// HasSerialNumber, HasCPR and HasServiceProviderID say whether the
	// elements were present (a server answers MissingArgumentError otherwise).
	HasSerialNumber, HasCPR, HasServiceProviderID bool
}

// RIDReply is the RID-CPR service's answer.
type RIDReply struct {
	Operation RIDOperation
	// Status and StatusText are RequestStatusCode and
	// EmployeeIdentifierLookupStatusText (GetCpr, MatchRidAndCpr).
	Status     StatusCode
	StatusText RIDStatusText
	// CPR is GetCpr's answer; empty when the service knows none.
	CPR string
	// Match is MatchRidAndCpr's MatchIndicator.
	Match bool
	// TestReply is TestConnection's TestReplyText: RIDTestReplyOk or
	// RIDTestReplyAuthorizationError.
	TestReply string
}

// NewRIDReply is the reply with status code to req.
func NewRIDReply(req RIDRequest, code StatusCode) RIDReply {
	return RIDReply{Operation: req.Operation, Status: code, StatusText: code.RIDText()}
}

// newRequestID returns a fresh request id: 128 random bits in hex.
func newRequestID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// escape writes s as XML character data (also safe in attribute values in
// double quotes).
func escape(sb *strings.Builder, s string) {
	for _, r := range s {
		switch r {
		case '&':
			sb.WriteString("&amp;")
		case '<':
			sb.WriteString("&lt;")
		case '>':
			sb.WriteString("&gt;")
		case '"':
			sb.WriteString("&quot;")
		case '\'':
			sb.WriteString("&apos;")
		default:
			sb.WriteRune(r)
		}
	}
}

// element writes <name>text</name>, or <name xsi:nil="true"/> when nilIfEmpty and text is "".
func element(sb *strings.Builder, name, text string, nilIfEmpty bool) {
	if text == "" && nilIfEmpty {
		sb.WriteString("<" + name + ` xsi:nil="true"/>`)
		return
	}
	sb.WriteString("<" + name + ">")
	escape(sb, text)
	sb.WriteString("</" + name + ">")
}

// errBadValue is returned for a value that cannot be put into a message:
// not UTF-8, or with characters XML cannot carry. It never quotes the value.
var errBadValue = errors.New("cpr: a value holds characters XML cannot carry")

// checkValues refuses values XML 1.0 cannot carry.
func checkValues(vals ...string) error {
	for _, v := range vals {
		if !utf8.ValidString(v) {
			return errBadValue
		}
		for _, r := range v {
			if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0xFFFE || r == 0xFFFF {
				return errBadValue
			}
		}
	}
	return nil
}

// isLatin1 reports whether every character of s is in ISO-8859-1.
func isLatin1(s string) bool {
	for _, r := range s {
		if r > 0xFF {
			return false
		}
	}
	return true
}

// NormalizePID removes the "PID:" prefix a PID may be given with (spec
// section 9.1: OOAPI sends it without; the service accepts both).
func NormalizePID(pid string) string {
	return strings.TrimPrefix(strings.TrimSpace(pid), "PID:")
}

// ValidCPR reports whether s has the form of a CPR number: ten ASCII digits.
func ValidCPR(s string) bool {
	if len(s) != 10 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// OIOCPR reports whether s matches the OIO schema's pattern of
// PersonCivilRegistrationIdentifier: a day and month that exist (29
// February allowed), two year digits, four more digits; or ten zeros.
func OIOCPR(s string) bool {
	if !ValidCPR(s) {
		return false
	}
	if s == "0000000000" {
		return true
	}
	day := int(s[0]-'0')*10 + int(s[1]-'0')
	month := int(s[2]-'0')*10 + int(s[3]-'0')
	days := map[int]int{1: 31, 2: 29, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31}[month]
	return day >= 1 && day <= days
}
