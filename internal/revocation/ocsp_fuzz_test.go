package revocation

import (
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"math/big"
	"net/http"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/nemid-dk/nemid/internal/clock"
)

// FuzzOCSPRequest feeds arbitrary bytes to the responder as a POST body
// (and, when they decode, as a GET path). It must never panic, always
// answer HTTP 200 with either one of the fixed unsigned error responses or
// a signed response that verifies against the issuing CA and answers the
// CertID asked for.
//
//	go test -run '^$' -fuzz FuzzOCSPRequest -fuzztime 10m ./internal/revocation/
func FuzzOCSPRequest(f *testing.F) {
	p := testPKI(f)
	o := newTestResponder(f, newFakeCA(p, clock.Real{}), nil)
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		for _, s := range []*big.Int{p.good.SerialNumber, p.revoked.SerialNumber, big.NewInt(0x77)} {
			f.Add(ocspRequestDER(p.issuing, s, h))
		}
	}
	one := ocspRequestDER(p.issuing, p.good.SerialNumber, crypto.SHA1)
	f.Add(twoCertIDs(f, one, one))
	f.Add(ocspRequestDER(p.other, p.good.SerialNumber, crypto.SHA1))
	f.Add([]byte(base64.StdEncoding.EncodeToString(one)))
	f.Add([]byte(base64.RawURLEncoding.EncodeToString(one)))
	f.Add([]byte{})
	f.Add([]byte{0x30, 0x80, 0x30, 0x80, 0x00, 0x00})

	errorResponses := [][]byte{ocsp.MalformedRequestErrorResponse, ocsp.UnauthorizedErrorResponse,
		ocsp.InternalErrorErrorResponse, ocsp.TryLaterErrorResponse}
	check := func(t *testing.T, req, resp []byte) {
		for _, e := range errorResponses {
			if bytes.Equal(resp, e) {
				return
			}
		}
		r, err := ocsp.ParseResponse(resp, p.issuing)
		if err != nil {
			t.Fatalf("answer %x is neither a fixed error nor a valid response: %v", resp, err)
		}
		q, err := ocsp.ParseRequest(req)
		if err != nil {
			t.Fatalf("signed answer to a request ParseRequest refuses (%v)", err)
		}
		if q.HashAlgorithm != r.IssuerHash || q.SerialNumber.Cmp(r.SerialNumber) != 0 {
			t.Fatalf("answer for %v/%x to a request for %v/%x", r.IssuerHash, r.SerialNumber, q.HashAlgorithm, q.SerialNumber)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		w := doPOST(o, body)
		if w.Code != http.StatusOK {
			t.Fatalf("HTTP %d", w.Code)
		}
		check(t, body, w.Body.Bytes())
		if der, ok := decodeOCSPGET("/ocsp/" + string(body)); ok {
			e, _ := o.answer(context.Background(), der, time.Now())
			check(t, der, e.der)
		}
	})
}
