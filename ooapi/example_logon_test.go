package ooapi_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/oces"
	"github.com/nemid-dk/nemid/ooapi"
	"github.com/nemid-dk/nemid/ooapi/revocation"
	"github.com/nemid-dk/nemid/ooapi/xmldsig"
)

// From the parameters of a logon to a validated PID. The NemID side (a CA,
// a registered service provider, a user who logs on) is simulated by
// exampleNemID below, which runs this project's own CA.
func Example_logon() {
	ctx := context.Background()
	nemid := newExampleNemID()

	// Once, at start-up: the service provider's VOCES and key (from its
	// service-provider agreement) and the validator. Against the real
	// NemID, Trust would be ooapi.ProductionTrust() and Revocation
	// &revocation.OCSP{}; the example has no network.
	signer := &ooapi.SPSigner{Cert: nemid.voces.cert, Key: nemid.voces.key, Clock: nemid.now}
	challenges := &ooapi.MemoryChallenges{}
	validator, err := ooapi.NewValidator(ooapi.Config{
		Trust:          nemid.trust,
		Revocation:     revocation.None(),
		Challenges:     challenges,
		RequestIssuers: []string{"Testbutikken"}, // the friendly name in the agreement
		Now:            nemid.now,
	})
	if err != nil {
		log.Fatal(err)
	}

	// 1. Rendering the logon page for the user's session "s-42": sign the
	// parameters, keep the challenge server-side, put the parameters in
	// the page next to the client's iframe.
	params, challenge, err := signer.Logon(ooapi.LogonOptions{ClientOptions: ooapi.ClientOptions{Origin: "https://testbutikken.example"}})
	if err != nil {
		log.Fatal(err)
	}
	if err := challenges.Put(ctx, "s-42", challenge); err != nil {
		log.Fatal(err)
	}
	_ = params.ScriptElement()

	// 2. The user logs on with NemID; the page posts the client's answer
	// (base64 of the signed XML, or of an error code) to the server.
	posted := nemid.userLogsOn(params)

	// 3. The server validates it for the session.
	res, err := validator.Logon(ctx, "s-42", posted)
	var clientErr *ooapi.ClientError
	switch {
	case errors.As(err, &clientErr):
		fmt.Println("show the user:", clientErr.Code.Text(ooapi.DA))
	case err != nil:
		fmt.Println("refused:", err)
	default:
		fmt.Println(res.Status, res.Identity.Type, "PID:"+res.Identity.PID, res.Identity.CommonName)
	}

	// The same answer again is refused: the challenge was used.
	_, err = validator.Logon(ctx, "s-42", posted)
	fmt.Println(err)
	// Output:
	// valid poces PID:9208-2002-2-123456789012 Karen Blixen
	// ooapi: no outstanding challenge for the session: start the flow again
}

// exampleNemID stands in for NemID in the example: this project's CA with a
// registered service provider's VOCES and a user's POCES.
type exampleNemID struct {
	trust *ooapi.Trust
	voces user
	user  user
	ca    *testCA
}

func (n *exampleNemID) now() time.Time { return ourNow.Add(time.Hour) }

func newExampleNemID() *exampleNemID {
	c, err := newTestCA()
	if err != nil {
		log.Fatal(err)
	}
	t := exampleTB{}
	return &exampleNemID{
		trust: c.trust,
		ca:    c,
		voces: c.issue(t, oces.Request{Type: oces.VOCES, Name: "Testbutikken - web", CVR: "30808460", Organization: "Testbutikken ApS"}),
		user:  c.issue(t, oces.Request{Type: oces.POCES, Name: "Karen Blixen", ID: "9208-2002-2-123456789012"}),
	}
}

// userLogsOn is what the NemID JS client posts after the user logged on:
// the challenge of the parameters, signed with the user's key.
func (n *exampleNemID) userLogsOn(params *ooapi.ParameterSet) string {
	props, _ := params.Get(ooapi.ParamSignProperties)
	challenge := strings.TrimPrefix(props, "challenge=")
	return respond(exampleTB{}, n.user, n.ca.chain(n.user), []xmldsig.Property{
		{Name: "RequestIssuer", Value: "Testbutikken", Encoding: xmldsig.EncodingBase64, VisibleToSigner: true},
		{Name: "challenge", Value: challenge, Encoding: xmldsig.EncodingXML},
		{Name: "TimeStamp", Value: ooapi.FormatTimestamp(n.now()), Encoding: xmldsig.EncodingBase64},
		{Name: "action", Value: "logon", Encoding: xmldsig.EncodingXML},
	})
}

// exampleTB lets the example use the test helpers: it implements the
// methods they call, and stops the program on failure.
type exampleTB struct{ testing.TB }

func (exampleTB) Helper()                   {}
func (exampleTB) Fatal(args ...any)         { log.Fatal(args...) }
func (exampleTB) Fatalf(f string, a ...any) { log.Fatalf(f, a...) }
