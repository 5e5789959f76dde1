package cpr_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/nemid-dk/nemid/internal/cpr"
	wire "github.com/nemid-dk/nemid/ooapi/cpr"
)

// FuzzRequests feeds any body to each interface, as a registered service
// provider with every right, and checks that the service answers in the
// interface's own format (never a panic, never an HTTP error of Go's).
// The seeds are valid requests of every kind and some broken ones.
func FuzzRequests(f *testing.F) {
	s := startService(f, nil, cpr.Limits{})
	e := s.env
	sp := e.newSP(f, true, true)
	pid := e.newPerson(f, cprA)
	serial := e.newEmployee(f, cprA)
	mux := http.NewServeMux()
	s.svc.Register(mux)
	leaf, err := x509.ParseCertificate(sp.cert.Certificate[0])
	if err != nil {
		f.Fatal(err)
	}

	seed := func(path string, body []byte) { f.Add(path, body) }
	doc, _ := wire.MarshalPIDXMLRequest(wire.PIDRequest{ID: "1", ServiceID: sp.spid(), PID: pid, CPR: cprA})
	seed(wire.PIDXMLPath, doc)
	seed(wire.PIDXMLPath, wire.PIDXMLForm(doc))
	lookup, _ := wire.MarshalPIDXMLRequest(wire.PIDRequest{ServiceID: sp.spid(), PID: "PID:" + pid})
	seed(wire.PIDXMLPath, lookup)
	env, _ := wire.MarshalPIDSOAPRequest([]wire.PIDRequest{{ServiceID: sp.spid(), PID: pid, CPR: cprB}, {ServiceID: sp.spid(), PID: pid}})
	seed(wire.PIDSOAPPath, env)
	seed(wire.PIDSOAPPath, wire.MarshalPIDSOAPTestConnection(3))
	seed(wire.PIDSOAPPath, wire.MarshalPIDSOAPTest())
	for _, r := range []wire.RIDRequest{
		{Operation: wire.RIDGetCpr, SerialNumber: serial, ServiceProviderID: uint64(sp.sp.ID)},
		{Operation: wire.RIDMatchRidAndCpr, SerialNumber: serial, CPR: cprA, ServiceProviderID: uint64(sp.sp.ID)},
		{Operation: wire.RIDTestConnection, TestText: "t", ServiceProviderID: uint64(sp.sp.ID)},
	} {
		b, _ := wire.MarshalRIDRequest(r)
		seed(wire.RIDPath, b)
	}
	seed(wire.RIDPath, []byte(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaa">]><x>&a;&a;</x>`))
	seed(wire.PIDXMLPath, []byte("PID_REQUEST=%3Cmethod"))

	f.Fuzz(func(t *testing.T, path string, body []byte) {
		switch path {
		case wire.PIDXMLPath, wire.PIDSOAPPath, wire.RIDPath:
		default:
			return
		}
		for _, ct := range []string{"text/xml", "application/x-www-form-urlencoded"} {
			req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
			req.Header.Set("Content-Type", ct)
			req.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf, e.ca.Issuing()}}
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			out := rec.Body.Bytes()
			switch path {
			case wire.PIDXMLPath:
				if _, err := wire.ParsePIDXMLReply(out); rec.Code != 200 || err != nil {
					t.Fatalf("pidxml (%s): HTTP %d, %v\n%s", ct, rec.Code, err, out)
				}
			case wire.PIDSOAPPath:
				checkSOAPAnswer(t, rec.Code, out, func(b []byte) error {
					_, err := wire.ParsePIDSOAPReplies(b)
					if err == nil {
						return nil
					}
					if _, err2 := wire.ParsePIDSOAPTestConnectionResponse(b); err2 == nil {
						return nil
					}
					if wire.ParsePIDSOAPTestResponse(b) == nil {
						return nil
					}
					return err
				})
			default:
				checkSOAPAnswer(t, rec.Code, out, func(b []byte) error {
					var last error
					for _, op := range []wire.RIDOperation{wire.RIDGetCpr, wire.RIDMatchRidAndCpr, wire.RIDTestConnection} {
						if _, last = wire.ParseRIDReply(op, b); last == nil {
							return nil
						}
					}
					return last
				})
			}
		}
	})
}

// checkSOAPAnswer: HTTP 200 with an answer parse accepts, or HTTP 500 with
// a Fault that carries a status.
func checkSOAPAnswer(t *testing.T, code int, out []byte, parse func([]byte) error) {
	t.Helper()
	err := parse(out)
	var se *wire.ServiceError
	switch {
	case code == 200 && err == nil:
	case code == 500 && errors.As(err, &se) && se.Code.Known():
	default:
		t.Fatalf("HTTP %d, %v\n%s", code, err, out)
	}
}
