package revocation

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The real NemID preproduction fixtures (read-only; see their README).
const fixtureDir = "../../../shared/fixtures/nemid-preprod"

// fixtureAt is inside both CRLs' windows (systemtest221: 10:57–22:57,
// systemtest34: 09:27–21:27 UTC on 2021-05-13) and every certificate
// checked here.
var fixtureAt = time.Date(2021, 5, 13, 12, 0, 0, 0, time.UTC)

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fixtureCert(t *testing.T, name string) *x509.Certificate {
	t.Helper()
	blk, _ := pem.Decode(readFixture(t, name))
	if blk == nil {
		t.Fatalf("%s: no PEM", name)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// xmlCerts returns the certificates in a signed XML response's KeyInfo.
func xmlCerts(t *testing.T, name string) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	for _, m := range regexp.MustCompile(`(?s)<ds:X509Certificate>(.*?)</ds:X509Certificate>`).FindAllSubmatch(readFixture(t, name), -1) {
		der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(m[1])), ""))
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// fixtureCRLServer serves the two real CRLs at the paths of their URLs
// (any host: clients are routed to it), counting requests.
func fixtureCRLServer(t *testing.T, files map[string]string) (*httptest.Server, *hitCounter) {
	t.Helper()
	mux := http.NewServeMux()
	for path, file := range files {
		der := readFixture(t, file)
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/pkix-crl")
			w.Write(der) //nolint:errcheck
		})
	}
	hits := &hitCounter{}
	srv := httptest.NewServer(hits.wrap(mux))
	t.Cleanup(srv.Close)
	return srv, hits
}

// TestRealPreprodCRLs checks real PP certificates against the real full
// CRLs of their issuing CAs, Systemtest XXII and XXXIV.
func TestRealPreprodCRLs(t *testing.T) {
	ctx := context.Background()
	cas := []*x509.Certificate{
		fixtureCert(t, "TRUST2408-Systemtest-XXII-CA.cert.pem"),
		fixtureCert(t, "TRUST2408-Systemtest-XXXIV-CA.cer.pem"),
		fixtureCert(t, "TRUST2408-Systemtest-VIII-CA.cert.pem"),
	}
	// issuerOf finds the issuing CA by name and proves it by signature.
	issuerOf := func(c *x509.Certificate) *x509.Certificate {
		t.Helper()
		for _, ca := range cas {
			if string(ca.RawSubject) == string(c.RawIssuer) {
				if err := c.CheckSignatureFrom(ca); err != nil {
					t.Fatalf("%s: not signed by %s: %v", c.Subject, ca.Subject, err)
				}
				return ca
			}
		}
		t.Fatalf("%s: issuer %s is not among the fixtures", c.Subject, c.Issuer)
		return nil
	}
	srv, hits := fixtureCRLServer(t, map[string]string{
		"/systemtest221.crl": "systemtest221.crl",
		"/systemtest34.crl":  "systemtest34.crl",
	})
	checker := &FullCRL{HTTPClient: routeTo(srv.Listener.Addr().String())}

	blocked := fixtureCert(t, "nemid-MOCES-employee-blocked.cert.pem")
	st, err := checker.Check(ctx, blocked, issuerOf(blocked), fixtureAt)
	// openssl crl -inform DER -in systemtest221.crl -text: 5BAD39F5, revoked
	// Dec 16 15:07:01 2019 GMT, reason unspecified.
	wantRevoked(t, st, err, MethodCRL, time.Date(2019, 12, 16, 15, 7, 1, 0, time.UTC), 0)

	good := []*x509.Certificate{
		fixtureCert(t, "nemid-MOCES-employee-valid.cert.pem"),      // Systemtest XXII
		fixtureCert(t, "nemid-POCES-personal-valid.cert.pem"),      // Systemtest XXXIV
		xmlCerts(t, "XMLDSigMessage-POCES.xml")[1],                 // Tilde Nilsson, XXXIV
		xmlCerts(t, "XMLDSigMessage-POCES-encoding-base64.xml")[1], // Terkild Dam, XXXIV
		xmlCerts(t, "XMLDSigMessage-MOCES.xml")[0],                 // the valid MOCES again, XXII
	}
	for _, c := range good {
		if c.NotBefore.After(fixtureAt) || c.NotAfter.Before(fixtureAt) {
			t.Fatalf("%s is not valid at %s", c.Subject, fixtureAt)
		}
		st, err := checker.Check(ctx, c, issuerOf(c), fixtureAt)
		wantGood(t, st, err, MethodCRL)
	}
	// Six checks, two CRLs, each downloaded once.
	if a, b := hits.get("/systemtest221.crl"), hits.get("/systemtest34.crl"); a != 1 || b != 1 {
		t.Errorf("downloads: systemtest221.crl %d, systemtest34.crl %d; want 1 each", a, b)
	}

	t.Run("outside the CRL's window", func(t *testing.T) {
		c := &FullCRL{HTTPClient: routeTo(srv.Listener.Addr().String())}
		st, err := c.Check(ctx, blocked, issuerOf(blocked), time.Date(2021, 5, 13, 23, 0, 0, 0, time.UTC))
		wantKind(t, st, err, ErrNotCurrent)
		st, err = c.Check(ctx, good[1], issuerOf(good[1]), time.Date(2021, 5, 13, 9, 0, 0, 0, time.UTC))
		wantKind(t, st, err, ErrNotCurrent)
	})

	t.Run("another CA's CRL at the URL", func(t *testing.T) {
		wrong, _ := fixtureCRLServer(t, map[string]string{"/systemtest221.crl": "systemtest34.crl"})
		st, err := (&FullCRL{HTTPClient: routeTo(wrong.Listener.Addr().String())}).Check(ctx, blocked, issuerOf(blocked), fixtureAt)
		wantKind(t, st, err, ErrInvalid)
	})

	t.Run("a CA whose CRL is not here", func(t *testing.T) {
		// Systemtest VIII's CRL is not among the fixtures: the server
		// answers 404, and that is an error, not "good".
		expired := fixtureCert(t, "nemid-MOCES-employee-expired.cert.pem")
		st, err := checker.Check(ctx, expired, issuerOf(expired), time.Date(2014, 3, 25, 0, 0, 0, 0, time.UTC))
		wantKind(t, st, err, ErrUnreachable)
	})

	t.Run("partition names", func(t *testing.T) {
		for _, tc := range []struct {
			cert     *x509.Certificate
			dn, name string
		}{
			{blocked, "CN=CRL213,CN=TRUST2408 Systemtest XXII CA,O=TRUST2408,C=DK", "CRL213"},
			{good[1], "CN=CRL152,CN=TRUST2408 Systemtest XXXIV CA,O=TRUST2408,C=DK", "CRL152"},
			{cas[0], "CN=CRL1,CN=TRUST2408 Systemtest VII Primary CA,O=TRUST2408,C=DK", "CRL1"},
		} {
			part, dn, err := partitionOf(tc.cert)
			if err != nil {
				t.Fatal(err)
			}
			if dn != tc.dn || part.name != tc.name {
				t.Errorf("%s: partition %q named %q, want %q named %q", tc.cert.Subject.CommonName, dn, part.name, tc.dn, tc.name)
			}
		}
	})
}
