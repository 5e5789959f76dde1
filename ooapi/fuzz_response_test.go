package ooapi_test

import (
	"context"
	"encoding/base64"
	"testing"

	"github.com/nemid-dk/nemid/ooapi"
	"github.com/nemid-dk/nemid/ooapi/revocation"
)

// FuzzLogon feeds arbitrary client answers to a Validator: it must never
// panic, and whatever it accepts must come with a trusted chain and an
// identity. Seeds: the real responses (raw and base64) and error codes.
func FuzzLogon(f *testing.F) {
	for _, name := range []string{"XMLDSigMessage-POCES.xml", "XMLDSigMessage-POCES-encoding-base64.xml",
		"XMLDSigMessage-MOCES.xml", "XMLDSigMessage-MOCES-expired.xml"} {
		doc := fixture(f, name)
		f.Add(doc)
		f.Add(base64.StdEncoding.EncodeToString([]byte(doc)))
	}
	for _, s := range []string{"CAN002", "Q0FOMDAy", "APP001", "", "<", "PD94bWw="} {
		f.Add(s)
	}
	v, err := ooapi.NewValidator(ooapi.Config{Trust: ooapi.PreproductionTrust(), Revocation: revocation.None(),
		InsecureSkipChallenge: true, InsecureSkipRequestIssuer: true, Now: at(fixtureTime)})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, response string) {
		res, err := v.Logon(context.Background(), "", response)
		if err != nil {
			return
		}
		if res == nil || res.Status != ooapi.Valid || len(res.Chain) < 2 || res.Identity.SerialNumber == "" {
			t.Fatalf("accepted without a full result: %+v", res)
		}
	})
}
