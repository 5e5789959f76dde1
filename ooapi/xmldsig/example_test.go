package xmldsig_test

import (
	"errors"
	"fmt"
	"os"

	"github.com/nemid-dk/nemid/ooapi/xmldsig"
)

func ExampleVerify() {
	doc, err := os.ReadFile("../../../shared/fixtures/nemid-preprod/XMLDSigMessage-POCES.xml")
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := xmldsig.Verify(doc, xmldsig.Options{})
	if err != nil {
		var e *xmldsig.Error
		if errors.As(err, &e) && e.Reason == xmldsig.SignatureInvalid {
			fmt.Println("forged or damaged response")
		}
		return
	}
	// The signer is not trusted yet: ooapi builds its chain to an OCES root
	// from s.Certificates and checks revocation before believing anything.
	issuer, _ := s.Property("RequestIssuer")
	action, _ := s.Property("action")
	fmt.Println(s.Style, "|", issuer.Value, "|", action.Value, "|", s.Signer.Subject.SerialNumber)
	// Output: JS client | Nets Customer Demo | logon | PID:9208-2002-2-751708631151
}
