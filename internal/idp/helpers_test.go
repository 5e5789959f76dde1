package idp_test

import (
	"testing"

	"github.com/nemid-dk/nemid/internal/idp/idptest"
	"github.com/nemid-dk/nemid/internal/idpclient"
	"github.com/nemid-dk/nemid/ooapi"
)

// responseOf fails the test unless the flow ended with a signed response,
// and returns the document.
func responseOf(t testing.TB, a *idpclient.Answer) []byte {
	t.Helper()
	doc, code, err := a.Outcome()
	switch {
	case err != nil:
		t.Fatalf("%v: %+v", err, a)
	case doc == nil:
		t.Fatalf("the flow ended with %s, not a response: %+v", code, a)
	}
	return doc
}

// startAnswer posts a parameter set from a page of origin and returns the
// server's answer, whether it started a flow or not.
func startAnswer(t testing.TB, e *idptest.Env, ps *ooapi.ParameterSet, origin string) *idpclient.Answer {
	t.Helper()
	_, a := e.Start(t, string(ps.JSON()), origin)
	return a
}
