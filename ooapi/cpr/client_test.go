package cpr_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nemid-dk/nemid/ooapi/cpr"
)

const (
	testSPID   = "4711"
	testPID    = "9208-2002-2-143168190719"
	testCPR    = "1111111118"
	testSerial = "CVR:30808460-RID:45490598"
)

// honestAnswer answers every interface as a service that knows testPID
// and testSerial to be testCPR would, using the package's own server-side
// readers and writers.
func honestAnswer(c captured) (int, []byte) {
	switch c.path {
	case cpr.PIDXMLPath:
		form, _ := url.ParseQuery(string(c.body))
		req, err := cpr.ParsePIDXMLRequest([]byte(form.Get(cpr.PIDXMLFormField)))
		if err != nil {
			return 200, cpr.MarshalPIDXMLReply(cpr.NewPIDReply(req, cpr.StatusXMLParseError))
		}
		return 200, cpr.MarshalPIDXMLReply(pidAnswer(req))
	case cpr.PIDSOAPPath:
		call, err := cpr.ParsePIDSOAPCall(c.body)
		if err != nil {
			return 500, cpr.MarshalPIDSOAPFault(cpr.StatusXMLParseError)
		}
		switch call.Operation {
		case cpr.PIDSOAPTestConnection:
			return 200, cpr.MarshalPIDSOAPTestConnectionResponse(call.IntVal)
		case cpr.PIDSOAPTest:
			return 200, cpr.MarshalPIDSOAPTestResponse()
		}
		var replies []cpr.PIDReply
		for _, r := range call.Requests {
			replies = append(replies, pidAnswer(r))
		}
		return 200, cpr.MarshalPIDSOAPReplies(replies)
	case cpr.RIDPath:
		req, err := cpr.ParseRIDRequest(c.body)
		if err != nil {
			return 500, cpr.MarshalRIDSOAPFault(cpr.StatusXMLParseError)
		}
		reply := cpr.NewRIDReply(req, cpr.StatusOK)
		switch req.Operation {
		case cpr.RIDTestConnection:
			reply.TestReply = cpr.RIDTestReplyOk
		case cpr.RIDGetCpr:
			if req.SerialNumber == testSerial {
				reply.CPR = testCPR
			}
		case cpr.RIDMatchRidAndCpr:
			reply.Match = req.SerialNumber == testSerial && req.CPR == testCPR
		}
		return 200, cpr.MarshalRIDReply(reply)
	}
	return 404, nil
}

func pidAnswer(r cpr.PIDRequest) cpr.PIDReply {
	switch {
	case cpr.NormalizePID(r.PID) != testPID:
		return cpr.NewPIDReply(r, cpr.StatusNoPID)
	case r.CPR == "":
		reply := cpr.NewPIDReply(r, cpr.StatusOK)
		reply.CPR = testCPR
		return reply
	case r.CPR == testCPR:
		return cpr.NewPIDReply(r, cpr.StatusOK)
	}
	return cpr.NewPIDReply(r, cpr.StatusNoMatch)
}

// requestID finds the request id in a (decoded) request document.
var requestID = regexp.MustCompile(`(?:id="|<id>)([0-9a-f]{32})[<"]`)

// TestGoldenRequests checks the bytes each client call puts on the wire
// (path, headers, body) against golden files written independently of
// this package (see testdata). The random request id is replaced by "ID".
func TestGoldenRequests(t *testing.T) {
	pki := newTestPKI(t)
	f := newFakeService(t, pki, honestAnswer)
	ctx := context.Background()
	pidXML, err := cpr.NewPIDClient(f.config(pki, testSPID))
	if err != nil {
		t.Fatal(err)
	}
	pidSOAP, _ := cpr.NewPIDClient(f.config(pki, testSPID))
	pidSOAP.Interface = cpr.PIDSOAP
	rid, err := cpr.NewRIDClient(f.config(pki, testSPID))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		golden string
		call   func() error
	}{
		{"pidxml-match", func() error { return wantMatch(pidXML.Match(ctx, "PID:"+testPID, testCPR)) }},
		{"pidxml-lookup", func() error { return wantCPR(pidXML.LookupCPR(ctx, testPID)) }},
		{"pidws-match", func() error { return wantMatch(pidSOAP.Match(ctx, testPID, testCPR)) }},
		{"pidws-lookup", func() error { return wantCPR(pidSOAP.LookupCPR(ctx, "PID:"+testPID)) }},
		{"pidws-testconnection", func() error {
			v, err := pidSOAP.TestConnection(ctx, 42)
			if err == nil && v != 42 {
				err = errors.New("testConnection did not return its argument")
			}
			return err
		}},
		{"rid-match", func() error { return wantMatch(rid.Match(ctx, testSerial, testCPR)) }},
		{"rid-getcpr", func() error { return wantCPR(rid.LookupCPR(ctx, testSerial)) }},
		{"rid-testconnection", func() error { return rid.TestConnection(ctx) }},
	} {
		t.Run(c.golden, func(t *testing.T) {
			if err := c.call(); err != nil {
				t.Fatal(err)
			}
			got := f.last(t)
			if !got.clientCert {
				t.Error("the client presented no certificate")
			}
			var sb strings.Builder
			sb.WriteString(got.method + " " + got.path + "\nContent-Type: " + got.contentType + "\n")
			if got.contentType != "application/x-www-form-urlencoded" {
				sb.WriteString("SOAPAction: " + got.soapAction + "\n")
			}
			doc := string(got.body)
			if dec, err := url.QueryUnescape(doc); err == nil {
				doc = dec
			}
			body := string(got.body)
			ids := requestID.FindAllStringSubmatch(doc, -1)
			if strings.HasPrefix(c.golden, "pid") && c.golden != "pidws-testconnection" {
				if len(ids) != 1 {
					t.Fatalf("want one random 128-bit request id in the request, found %d", len(ids))
				}
				body = strings.ReplaceAll(body, ids[0][1], "ID")
			}
			sb.WriteString("\n" + body)
			want, err := os.ReadFile(filepath.Join("testdata", c.golden+".golden"))
			if err != nil {
				t.Fatal(err)
			}
			if sb.String() != string(want) {
				t.Errorf("request on the wire:\n%s\nwant (testdata/%s.golden):\n%s", sb.String(), c.golden, want)
			}
		})
	}
}

func wantMatch(ok bool, err error) error {
	if err == nil && !ok {
		err = errors.New("no match, want a match")
	}
	return err
}

func wantCPR(got string, err error) error {
	if err == nil && got != testCPR {
		err = errors.New("looked up the wrong CPR number")
	}
	return err
}

// TestClientAnswers: the clients turn each answer into the result or error
// OOAPI's clients gave.
func TestClientAnswers(t *testing.T) {
	pki := newTestPKI(t)
	ctx := context.Background()
	for _, iface := range []cpr.PIDInterface{cpr.PIDXML, cpr.PIDSOAP} {
		f := newFakeService(t, pki, honestAnswer)
		p, _ := cpr.NewPIDClient(f.config(pki, testSPID))
		p.Interface = iface
		if ok, err := p.Match(ctx, testPID, "0101010101"); ok || err != nil {
			t.Errorf("interface %d: mismatch gave %v, %v; want false, nil", iface, ok, err)
		}
		if _, err := p.Match(ctx, "9208-2002-2-000000000000", testCPR); !errors.Is(err, cpr.ErrUnknownIdentity) {
			t.Errorf("interface %d: unknown PID gave %v; want ErrUnknownIdentity", iface, err)
		}
		var se *cpr.ServiceError
		_, err := p.LookupCPR(ctx, "9208-2002-2-000000000000")
		if !errors.As(err, &se) || se.Code != cpr.StatusNoPID || se.TextUK != "PID doesn't exist" || se.TextDK != "PID eksisterer ikke" {
			t.Errorf("interface %d: unknown PID look-up gave %#v", iface, err)
		}
	}

	// Refusals, as the service sends them, become typed errors.
	for _, code := range []cpr.StatusCode{cpr.StatusNotAuthorizedForServiceLookup, cpr.StatusNotAuthorizedForCPRLookup,
		cpr.StatusBruteForceAttemptDetected, cpr.StatusMissingClientCert} {
		want := map[cpr.StatusCode]error{
			cpr.StatusNotAuthorizedForServiceLookup: cpr.ErrNotAuthorized,
			cpr.StatusNotAuthorizedForCPRLookup:     cpr.ErrNotAuthorizedForCPRLookup,
			cpr.StatusBruteForceAttemptDetected:     cpr.ErrBruteForceDetected,
			cpr.StatusMissingClientCert:             cpr.ErrMissingClientCert,
		}[code]
		f := newFakeService(t, pki, func(c captured) (int, []byte) {
			switch c.path {
			case cpr.PIDXMLPath:
				form, _ := url.ParseQuery(string(c.body))
				req, _ := cpr.ParsePIDXMLRequest([]byte(form.Get(cpr.PIDXMLFormField)))
				return 200, cpr.MarshalPIDXMLReply(cpr.NewPIDReply(req, code))
			case cpr.PIDSOAPPath:
				call, _ := cpr.ParsePIDSOAPCall(c.body)
				return 200, cpr.MarshalPIDSOAPReplies([]cpr.PIDReply{cpr.NewPIDReply(call.Requests[0], code)})
			}
			req, _ := cpr.ParseRIDRequest(c.body)
			return 200, cpr.MarshalRIDReply(cpr.NewRIDReply(req, code))
		})
		p, _ := cpr.NewPIDClient(f.config(pki, testSPID))
		if _, err := p.Match(ctx, testPID, testCPR); !errors.Is(err, want) {
			t.Errorf("pidxml status %v: %v, want %v", code, err, want)
		}
		p.Interface = cpr.PIDSOAP
		if _, err := p.LookupCPR(ctx, testPID); !errors.Is(err, want) {
			t.Errorf("pidws status %v: %v, want %v", code, err, want)
		}
		r, _ := cpr.NewRIDClient(f.config(pki, testSPID))
		_, err := r.Match(ctx, testSerial, testCPR)
		var se *cpr.ServiceError
		if !errors.Is(err, want) || !errors.As(err, &se) || se.TextUK != string(code.RIDText()) {
			t.Errorf("rid status %v: %v, want %v with the RID status text", code, err, want)
		}
	}

	// The RID service answers an unknown employee Ok without a CPR number.
	f := newFakeService(t, pki, honestAnswer)
	r, _ := cpr.NewRIDClient(f.config(pki, testSPID))
	if _, err := r.LookupCPR(ctx, "CVR:30808460-RID:1"); !errors.Is(err, cpr.ErrUnknownIdentity) {
		t.Errorf("RID look-up of an unknown employee: %v, want ErrUnknownIdentity", err)
	}
	if ok, err := r.Match(ctx, "CVR:30808460-RID:1", testCPR); ok || err != nil {
		t.Errorf("RID match of an unknown employee: %v %v, want false, nil", ok, err)
	}
}

// TestClientRefusesWrongAnswers: an answer that is not to this request,
// is too long, or comes with an unexpected HTTP status is an error.
func TestClientRefusesWrongAnswers(t *testing.T) {
	pki := newTestPKI(t)
	ctx := context.Background()
	for name, answer := range map[string]func(c captured) (int, []byte){
		"another request's id": func(c captured) (int, []byte) {
			return 200, cpr.MarshalPIDXMLReply(cpr.PIDReply{ID: "0123456789abcdef0123456789abcdef", Status: cpr.StatusOK})
		},
		"no id": func(c captured) (int, []byte) {
			return 200, cpr.MarshalPIDXMLReply(cpr.PIDReply{Status: cpr.StatusOK})
		},
		"HTTP 503": func(c captured) (int, []byte) { return 503, []byte("busy") },
		"too long": func(c captured) (int, []byte) {
			return 200, []byte(strings.Repeat(" ", cpr.MaxMessageSize+1))
		},
		"a document type declaration": func(c captured) (int, []byte) {
			return 200, []byte(`<?xml version="1.0"?><!DOCTYPE method [<!ENTITY x "0">]><method name="pidCprResponse" version="1.0"><response><status statusCode="&x;"/></response></method>`)
		},
		"a redirect": func(c captured) (int, []byte) { return http.StatusTemporaryRedirect, nil },
	} {
		f := newFakeService(t, pki, answer)
		p, _ := cpr.NewPIDClient(f.config(pki, testSPID))
		ok, err := p.Match(ctx, testPID, testCPR)
		if ok || !errors.Is(err, cpr.ErrBadResponse) {
			t.Errorf("%s: %v, %v; want ErrBadResponse", name, ok, err)
		}
		if err != nil && strings.Contains(err.Error(), testCPR) {
			t.Errorf("%s: the error repeats the CPR number: %v", name, err)
		}
	}
}

func TestClientChecksItsInput(t *testing.T) {
	pki := newTestPKI(t)
	f := newFakeService(t, pki, honestAnswer)
	good := f.config(pki, testSPID)
	for name, cfg := range map[string]cpr.Config{
		"plain http":      {BaseURL: strings.Replace(good.BaseURL, "https", "http", 1), SPID: testSPID, TLS: good.TLS},
		"a path":          {BaseURL: good.BaseURL + "/x", SPID: testSPID, TLS: good.TLS},
		"no SPID":         {BaseURL: good.BaseURL, TLS: good.TLS},
		"a non-digit ID":  {BaseURL: good.BaseURL, SPID: "47a", TLS: good.TLS},
		"no client cert":  {BaseURL: good.BaseURL, SPID: testSPID, TLS: cpr.NewTLSConfig(pki.client, nil).Clone()},
		"no TLS settings": {BaseURL: good.BaseURL, SPID: testSPID},
	} {
		if name == "no client cert" {
			cfg.TLS.Certificates = nil
		}
		if _, err := cpr.NewPIDClient(cfg); err == nil {
			t.Errorf("%s: NewPIDClient accepted it", name)
		}
	}
	if _, err := cpr.NewRIDClient(cpr.Config{BaseURL: good.BaseURL, SPID: "99999999999999999999", TLS: good.TLS}); err == nil {
		t.Error("NewRIDClient accepted an SPID beyond 64 bits")
	}
	p, _ := cpr.NewPIDClient(good)
	for _, bad := range []string{"111111111", "11111111189", "11111-1118", ""} {
		if _, err := p.Match(context.Background(), testPID, bad); err == nil || strings.Contains(err.Error(), bad) && bad != "" {
			t.Errorf("Match with CPR of %d characters: %v", len(bad), err)
		}
	}
	if len(f.got) != 0 {
		t.Errorf("%d requests sent for bad input, want none", len(f.got))
	}
}
