package cpr_test

import (
	"errors"
	"testing"

	"github.com/nemid-dk/nemid/ooapi/cpr"
)

// FuzzParsers: every reader either refuses with a *ParseError (or, for
// answers, a *ServiceError from a Fault) or returns a value that the
// matching writer writes and the reader reads back unchanged.
func FuzzParsers(f *testing.F) {
	doc, _ := cpr.MarshalPIDXMLRequest(cpr.PIDRequest{ID: "1", ServiceID: "2", PID: "3", CPR: "4"})
	f.Add(doc)
	env, _ := cpr.MarshalPIDSOAPRequest([]cpr.PIDRequest{{ID: "1", ServiceID: "2", PID: "3", CPR: "4", B64Cert: "5"}})
	f.Add(env)
	rid, _ := cpr.MarshalRIDRequest(cpr.RIDRequest{Operation: cpr.RIDMatchRidAndCpr, SerialNumber: "s", CPR: "0101010101", ServiceProviderID: 3})
	f.Add(rid)
	f.Add(cpr.MarshalPIDXMLReply(cpr.NewPIDReply(cpr.PIDRequest{ID: "x"}, cpr.StatusNoMatch)))
	f.Add(cpr.MarshalRIDSOAPFault(cpr.StatusInternalError))
	f.Add([]byte("<?xml version=\"1.0\" encoding=\"latin1\"?><method name=\"pidCprRequest\" version=\"1.0\"><request><serviceId>\xf8</serviceId><pid>1</pid></request></method>"))

	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := cpr.ParsePIDXMLRequest(b); err == nil {
			if out, err := cpr.MarshalPIDXMLRequest(r); err == nil {
				if back, err := cpr.ParsePIDXMLRequest(out); err != nil || back != r {
					t.Fatalf("pidxml request %+v came back as %+v, %v", r, back, err)
				}
			}
		} else {
			mustBeParseError(t, err)
		}
		if call, err := cpr.ParsePIDSOAPCall(b); err == nil && call.Operation == cpr.PIDSOAPPid {
			if out, err := cpr.MarshalPIDSOAPRequest(call.Requests); err == nil {
				back, err := cpr.ParsePIDSOAPCall(out)
				if err != nil || len(back.Requests) != len(call.Requests) {
					t.Fatalf("SOAP call %+v came back as %+v, %v", call, back, err)
				}
				for i := range back.Requests {
					if back.Requests[i] != call.Requests[i] {
						t.Fatalf("SOAP request %+v came back as %+v", call.Requests[i], back.Requests[i])
					}
				}
			}
		} else if err != nil {
			mustBeParseError(t, err)
		}
		if r, err := cpr.ParseRIDRequest(b); err == nil && r.HasServiceProviderID && (r.Operation == cpr.RIDTestConnection || r.HasSerialNumber) {
			if out, err := cpr.MarshalRIDRequest(r); err == nil {
				back, err := cpr.ParseRIDRequest(out)
				if err != nil || back.ServiceProviderID != r.ServiceProviderID || back.SerialNumber != r.SerialNumber || back.CPR != r.CPR {
					t.Fatalf("RID request %+v came back as %+v, %v", r, back, err)
				}
			}
		} else if err != nil {
			mustBeParseError(t, err)
		}
		if _, err := cpr.ParsePIDXMLReply(b); err != nil {
			mustBeParseError(t, err)
		}
		for _, op := range []cpr.RIDOperation{cpr.RIDGetCpr, cpr.RIDMatchRidAndCpr, cpr.RIDTestConnection} {
			if _, err := cpr.ParseRIDReply(op, b); err != nil {
				var se *cpr.ServiceError
				if !errors.As(err, &se) && !errors.Is(err, cpr.ErrBadResponse) {
					mustBeParseError(t, err)
				}
			}
		}
	})
}

func mustBeParseError(t *testing.T, err error) {
	t.Helper()
	var pe *cpr.ParseError
	if !errors.As(err, &pe) || !pe.Status.Known() {
		t.Fatalf("not a *ParseError with a known status: %#v", err)
	}
}
