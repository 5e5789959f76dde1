package cpr

import (
	"errors"
	"fmt"
)

// Sentinel errors, matched with errors.Is against what the clients return.
// A *ServiceError matches the sentinel of its code.
var (
	// ErrNotAuthorized: the service refused the caller (status 17,
	// NOT_AUTHORIZED_FOR_SERVICE_LOOKUP): its certificate is not that of
	// an enabled service provider with the right to use the service, or
	// the SPID sent is not the certificate's. OOAPI: CallerNotAuthorizedException.
	ErrNotAuthorized = errors.New("cpr: caller not authorized for the service (status 17)")
	// ErrNotAuthorizedForCPRLookup: the caller may match but not look up
	// CPR numbers (status 8). OOAPI: CallerNotAuthorizedForCprLookupException.
	ErrNotAuthorizedForCPRLookup = errors.New("cpr: caller not authorized for CPR lookup (status 8)")
	// ErrBruteForceDetected: the service saw systematic searching from this
	// caller and answers nothing for now (status 16).
	ErrBruteForceDetected = errors.New("cpr: the service detected systematic CPR searching (status 16)")
	// ErrMissingClientCert: the TLS connection carried no client certificate (status 8195).
	ErrMissingClientCert = errors.New("cpr: no client certificate presented (status 8195)")
	// ErrUnknownIdentity: the PID does not exist (status 2), or the RID
	// service knows no CPR number for the employee (GetCpr answered Ok
	// without a CPR number).
	ErrUnknownIdentity = errors.New("cpr: unknown PID or RID")
	// ErrBadResponse: the service's answer could not be read or does not
	// belong to the request (wrapped with the reason).
	ErrBadResponse = errors.New("cpr: bad response from the service")
)

var sentinels = map[StatusCode]error{
	StatusNotAuthorizedForServiceLookup: ErrNotAuthorized,
	StatusNotAuthorizedForCPRLookup:     ErrNotAuthorizedForCPRLookup,
	StatusBruteForceAttemptDetected:     ErrBruteForceDetected,
	StatusMissingClientCert:             ErrMissingClientCert,
	StatusNoPID:                         ErrUnknownIdentity,
}

// ServiceError is a status other than OK and NO_MATCH, as the service sent
// it: OOAPI's ServiceException (PID) and RidOIOServiceException (RID).
type ServiceError struct {
	Code StatusCode
	// TextUK and TextDK are the PID service's status texts. The RID
	// service sends one text, its EmployeeIdentifierLookupStatusText, which
	// is in TextUK; TextDK is then empty.
	TextUK, TextDK string
}

// Error gives the code and the English text the service sent. The texts
// come from the service and never carry the CPR number asked about.
func (e *ServiceError) Error() string {
	return fmt.Sprintf("cpr: service answered status %d (%s): %s", int(e.Code), e.Code.Name(), e.TextUK)
}

// Is matches the sentinel of the error's code (ErrNotAuthorized for 17 …).
func (e *ServiceError) Is(target error) bool {
	s, ok := sentinels[e.Code]
	return ok && s == target
}

// serviceError is the error of a status, with the texts the service sent.
func serviceError(code StatusCode, uk, dk string) error {
	return &ServiceError{Code: code, TextUK: uk, TextDK: dk}
}

// ParseError says why a request or response could not be read, and the
// status code a server answers it with: 8192 (not well-formed, or not the
// expected structure), 4096 (not a request of the service: another
// method or operation) or 8193 (another version). Its message names
// elements, never their values.
type ParseError struct {
	Status StatusCode
	Reason string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("cpr: %s: %s", e.Status.Name(), e.Reason)
}

func parseErr(status StatusCode, format string, args ...any) error {
	return &ParseError{Status: status, Reason: fmt.Sprintf(format, args...)}
}

func badXML(format string, args ...any) error {
	return parseErr(StatusXMLParseError, format, args...)
}
