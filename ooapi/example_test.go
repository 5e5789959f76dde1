package ooapi_test

import (
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/nemid-dk/nemid/ooapi"
)

// A preproduction VOCES and its key (spec 12.2). NemID was shut down in 2023
// and this certificate expired in 2022, so the example freezes its clock
// inside the certificate's validity.
const (
	spCertFile = "../../shared/fixtures/nemid-preprod/sp-test.cert.pem"
	spKeyFile  = "../../shared/fixtures/nemid-preprod/sp-test.key.pem"
)

var exampleNow = time.Date(2021, 1, 19, 14, 44, 0, 0, time.UTC)

func exampleSigner() *ooapi.SPSigner {
	certPEM, err := os.ReadFile(spCertFile)
	if err != nil {
		log.Fatal(err)
	}
	keyPEM, err := os.ReadFile(spKeyFile)
	if err != nil {
		log.Fatal(err)
	}
	signer, err := ooapi.ParseSPSigner(certPEM, keyPEM)
	if err != nil {
		log.Fatal(err)
	}
	signer.Clock = func() time.Time { return exampleNow }
	return signer
}

// From building a logon parameter set to checking it as NemID does.
func Example() {
	signer := exampleSigner()

	// The service provider's server, when it renders the logon page:
	params, challenge, err := signer.Logon(ooapi.LogonOptions{ClientOptions: ooapi.ClientOptions{
		Origin:         "https://sp.example.dk", // the page's origin, as the browser reports it
		Language:       ooapi.DA,
		RememberUserID: true,
	}})
	if err != nil {
		log.Fatal(err)
	}
	session := map[string]string{"nemid-challenge": challenge.String()} // kept server-side
	page := params.ScriptElement()                                      // goes into the page
	fmt.Println(page[:strings.Index(page, ">")+1])

	// NemID's side (and `nemid params verify`): the JSON the page posted.
	received, err := ooapi.ParseParameters(params.JSON())
	if err != nil {
		log.Fatal(err)
	}
	problems := ooapi.VerifyParameters(received, exampleNow, ooapi.VerifyOptions{Origin: "https://sp.example.dk"})
	fmt.Println("problems:", len(problems))

	// NemID copies the challenge into the signed response; the service
	// provider compares it with the one in the session.
	props, _ := received.Get(ooapi.ParamSignProperties)
	fmt.Println("challenge matches:", ooapi.Challenge(session["nemid-challenge"]).Equal(strings.TrimPrefix(props, "challenge=")))
	// Output:
	// <script type="text/x-nemid" id="nemid_parameters">
	// problems: 0
	// challenge matches: true
}

// Signing an HTML document. A document outside the client's HTML whitelist
// is refused with APP002, never cleaned.
func ExampleSPSigner_Sign() {
	signer := exampleSigner()
	opts := ooapi.SignOptions{
		ClientOptions: ooapi.ClientOptions{Origin: "https://sp.example.dk"},
		Text:          ooapi.HTMLSignText(`<html><body><h1>Lejekontrakt</h1><p>Husleje: <b>7.500 kr.</b> om måneden.</p></body></html>`),
	}
	params, _, err := signer.Sign(opts)
	if err != nil {
		log.Fatal(err)
	}
	format, _ := params.Get(ooapi.ParamSignTextFormat)
	fmt.Println("SIGNTEXT_FORMAT:", format)

	opts.Text = ooapi.HTMLSignText(`<html><body><img src="https://tracker.example/x.gif"></body></html>`)
	_, _, err = signer.Sign(opts)
	fmt.Println(err)
	// Output:
	// SIGNTEXT_FORMAT: HTML
	// ooapi: sign text: APP002: HTML at byte 12: element <img> is not allowed
}

// What VerifyParameters says about a parameter set changed after signing.
func ExampleVerifyParameters() {
	signer := exampleSigner()
	params, _, err := signer.Logon(ooapi.LogonOptions{ClientOptions: ooapi.ClientOptions{Origin: "https://sp.example.dk"}})
	if err != nil {
		log.Fatal(err)
	}
	tampered := strings.Replace(string(params.JSON()), `"ORIGIN":"https://sp.example.dk"`, `"ORIGIN":"https://evil.example"`, 1)
	received, err := ooapi.ParseParameters([]byte(tampered))
	if err != nil {
		log.Fatal(err)
	}
	// Two minutes after the parameters were made: inside the ±3 minutes.
	for _, p := range ooapi.VerifyParameters(received, exampleNow.Add(2*time.Minute), ooapi.VerifyOptions{Origin: "https://sp.example.dk"}) {
		fmt.Printf("%s %s\n", p.Code, p.Param)
	}
	// Output:
	// APP007 ORIGIN
	// APP001 PARAMS_DIGEST
	// SRV001 DIGEST_SIGNATURE
}

// The official example of the implementation guidelines (spec 3.2): names
// keep their case, the digest and signature are left out, "_" sorts before
// letters.
func ExampleNormalize() {
	n, err := ooapi.Normalize([]ooapi.Param{
		{Name: "TimeStamp", Value: "2014-02-25 08:37:48+0100"},
		{Name: "ClientFlow", Value: "ocessign2"},
		{Name: "Signtext_Format", Value: "html"},
		{Name: "Params_Digest", Value: "…"},
		{Name: "SP_cert", Value: "MIIE…"},
		{Name: "Signtext", Value: "PGh0bWw+…"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(n))
	// Output:
	// ClientFlowocessign2SigntextPGh0bWw+…Signtext_FormathtmlSP_certMIIE…TimeStamp2014-02-25 08:37:48+0100
}

func ExampleCode_Text() {
	fmt.Println(ooapi.SRV003.Text(ooapi.DA))
	fmt.Println(ooapi.SRV003.Text(ooapi.EN))
	// Output:
	// Der er opstået en teknisk fejl. Forsøg igen. Kontakt tjenesteudbyderen, hvis problemet fortsætter.
	// A technical error has occurred. Please try again. Contact the service provider if the problem persists.
}
