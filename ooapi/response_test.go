package ooapi_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/oces"
	"github.com/nemid-dk/nemid/ooapi"
	"github.com/nemid-dk/nemid/ooapi/revocation"
	"github.com/nemid-dk/nemid/ooapi/xmldsig"
)

const fixtures = "../../shared/fixtures/nemid-preprod"

// fixtureTime lies inside the validity of every valid fixture certificate
// and of the fixture CRLs (2021-05-13 09:27 to 21:27 UTC).
var fixtureTime = time.Date(2021, 5, 13, 12, 0, 0, 0, time.UTC)

func fixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatalf("fixture %s (the shared NemID fixtures must be at %s): %v", name, fixtures, err)
	}
	return string(b)
}

func at(t time.Time) func() time.Time { return func() time.Time { return t } }

// reason returns the Reason of a *ValidationError, failing the test for
// any other error.
func reason(t *testing.T, err error) ooapi.Reason {
	t.Helper()
	var ve *ooapi.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want a *ValidationError, got %T: %v", err, err)
	}
	return ve.Reason
}

func TestRealResponsesValidate(t *testing.T) {
	cases := []struct {
		file, issuer string
		typ          oces.Type
		id, cvr      string
	}{
		{"XMLDSigMessage-POCES.xml", "Nets Customer Demo", oces.POCES, "9208-2002-2-751708631151", ""},
		{"XMLDSigMessage-POCES-encoding-base64.xml", "Nets Customer Demo", oces.POCES, "9208-2002-2-751953802340", ""},
		{"XMLDSigMessage-MOCES.xml", "Rently API", oces.MOCES, "45490598", "30808460"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			v, err := ooapi.NewValidator(ooapi.Config{
				Trust:      ooapi.PreproductionTrust(),
				Revocation: revocation.None(),
				// The real responses were made without a challenge.
				InsecureSkipChallenge: true,
				RequestIssuers:        []string{"Some other name", c.issuer},
				Now:                   at(fixtureTime),
			})
			if err != nil {
				t.Fatal(err)
			}
			doc := fixture(t, c.file)
			// As posted (base64) and as raw XML.
			for _, in := range []string{base64.StdEncoding.EncodeToString([]byte(doc)), doc} {
				res, err := v.Logon(context.Background(), "", in)
				if err != nil {
					t.Fatal(err)
				}
				if res.Status != ooapi.Valid || res.Identity.Type != c.typ || res.Identity.ID() != c.id || res.Identity.CVR != c.cvr {
					t.Fatalf("got %s %s %q cvr %q, want valid %s %q cvr %q", res.Status, res.Identity.Type, res.Identity.ID(), res.Identity.CVR, c.typ, c.id, c.cvr)
				}
				if res.RequestIssuer != c.issuer || res.Action != ooapi.ActionLogon || len(res.Chain) != 3 {
					t.Fatalf("issuer %q action %s chain %d", res.RequestIssuer, res.Action, len(res.Chain))
				}
				if !res.Chain[2].Equal(ooapi.PreproductionTrust().Roots()[0]) {
					t.Fatalf("chain ends at %s", res.Chain[2].Subject)
				}
			}

			// The same response refused where it does not belong.
			for name, cfg := range map[string]ooapi.Config{
				"production trust": {Trust: ooapi.ProductionTrust(), Revocation: revocation.None(), InsecureSkipChallenge: true, InsecureSkipRequestIssuer: true, Now: at(fixtureTime)},
				"our trust":        {Trust: our(t).trust, Revocation: revocation.None(), InsecureSkipChallenge: true, InsecureSkipRequestIssuer: true, Now: at(fixtureTime)},
			} {
				v, err := ooapi.NewValidator(cfg)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := v.Logon(context.Background(), "", doc); reason(t, err) != ooapi.UntrustedChain {
					t.Fatalf("%s: %v", name, err)
				}
			}
			v, _ = ooapi.NewValidator(ooapi.Config{Trust: ooapi.PreproductionTrust(), Revocation: revocation.None(),
				InsecureSkipChallenge: true, RequestIssuers: []string{"www.nemid.nu"}, Now: at(fixtureTime)})
			if _, err := v.Logon(context.Background(), "", doc); reason(t, err) != ooapi.RequestIssuerMismatch {
				t.Fatalf("other SP: %v", err)
			}
			// A service provider that sends challenges refuses a response without one.
			store := &ooapi.MemoryChallenges{Now: at(fixtureTime)}
			store.Put(context.Background(), "s1", "0123456789abcdef0123456789abcdef")
			v, _ = ooapi.NewValidator(ooapi.Config{Trust: ooapi.PreproductionTrust(), Revocation: revocation.None(),
				Challenges: store, RequestIssuers: []string{c.issuer}, Now: at(fixtureTime)})
			if _, err := v.Logon(context.Background(), "s1", doc); reason(t, err) != ooapi.ChallengeMismatch {
				t.Fatalf("no challenge: %v", err)
			}
		})
	}
}

func TestRealResponseStatusOverTime(t *testing.T) {
	doc := fixture(t, "XMLDSigMessage-POCES.xml") // certificate 2021-04-20 to 2024-04-20
	for _, c := range []struct {
		when time.Time
		want ooapi.CertificateStatus
	}{
		{time.Date(2021, 4, 1, 0, 0, 0, 0, time.UTC), ooapi.NotYetValid},
		{time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC), ooapi.Expired},
	} {
		v, _ := ooapi.NewValidator(ooapi.Config{Trust: ooapi.PreproductionTrust(), Revocation: revocation.None(),
			InsecureSkipChallenge: true, RequestIssuers: []string{"Nets Customer Demo"}, Now: at(c.when)})
		res, err := v.Logon(context.Background(), "", doc)
		if reason(t, err) != ooapi.CertificateNotValid || res == nil || res.Status != c.want {
			t.Fatalf("at %s: %v, %+v", c.when, err, res)
		}
		if res.Identity.PID != "9208-2002-2-751708631151" {
			t.Fatalf("identity %+v", res.Identity)
		}
	}
}

func TestRealResponseBadSignature(t *testing.T) {
	v, _ := ooapi.NewValidator(ooapi.Config{Trust: ooapi.PreproductionTrust(), Revocation: revocation.None(),
		InsecureSkipChallenge: true, InsecureSkipRequestIssuer: true, Now: at(fixtureTime)})
	_, err := v.Logon(context.Background(), "", fixture(t, "XMLDSigMessage-MOCES-expired.xml"))
	var xe *xmldsig.Error
	if reason(t, err) != ooapi.BadSignature || !errors.As(err, &xe) || xe.Reason != xmldsig.SignatureInvalid {
		t.Fatalf("got %v", err)
	}
}

// flow is one service provider with our CA's trust and a challenge store.
type flow struct {
	v          *ooapi.Validator
	challenges *ooapi.MemoryChallenges
}

const spName = "Testbutikken"

func newFlow(t *testing.T, mod func(*ooapi.Config)) *flow {
	t.Helper()
	f := &flow{challenges: &ooapi.MemoryChallenges{Now: at(ourNow)}}
	cfg := ooapi.Config{Trust: our(t).trust, Revocation: revocation.None(), Challenges: f.challenges,
		RequestIssuers: []string{spName}, Now: at(ourNow.Add(time.Hour))}
	if mod != nil {
		mod(&cfg)
	}
	v, err := ooapi.NewValidator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.v = v
	return f
}

// start stores a fresh challenge for the session, as building the
// parameters does.
func (f *flow) start(t *testing.T, session string) ooapi.Challenge {
	t.Helper()
	c, err := ooapi.NewChallenge()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.challenges.Put(context.Background(), session, c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLogonWithOurCA(t *testing.T) {
	ca := our(t)
	u := ca.issue(t, oces.Request{Type: oces.POCES, Name: "Karen Blixen"})
	f := newFlow(t, nil)
	ch := f.start(t, "sess-1")
	resp := respond(t, u, ca.chain(u), logonProps(spName, ch))

	res, err := f.v.Logon(context.Background(), "sess-1", resp)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := oces.ParseCertificate(u.cert)
	if res.Status != ooapi.Valid || res.Identity.PID != id.PID || res.Identity.CommonName != "Karen Blixen" {
		t.Fatalf("result %+v", res)
	}
	if res.RememberUseridToken != base64.StdEncoding.EncodeToString([]byte("opaque-token-from-nemid")) || res.IdentityAssuranceLevel != "2" {
		t.Fatalf("token %q level %q", res.RememberUseridToken, res.IdentityAssuranceLevel)
	}
	if res.Revocation.Method != "none" || !strings.Contains(string(res.Document), "ToBeSigned") {
		t.Fatalf("revocation %+v", res.Revocation)
	}
	// The same response again: the challenge was used.
	if _, err := f.v.Logon(context.Background(), "sess-1", resp); reason(t, err) != ooapi.NoChallenge {
		t.Fatalf("replay: %v", err)
	}
	// Only the signer in KeyInfo: the issuing CA comes from the trust environment.
	ch = f.start(t, "sess-2")
	if _, err := f.v.Logon(context.Background(), "sess-2", respond(t, u, []*x509.Certificate{u.cert}, logonProps(spName, ch))); err != nil {
		t.Fatalf("leaf only: %v", err)
	}
}

func TestLogonRefusals(t *testing.T) {
	ca := our(t)
	u := ca.issue(t, oces.Request{Type: oces.POCES, Name: "Søren Kierkegaard"})
	other := newTestCAOrFail(t) // same names as ours, other keys
	mallory := other.issue(t, oces.Request{Type: oces.POCES, Name: "Søren Kierkegaard"})
	pp := ooapi.PreproductionTrust().Roots()[0]

	cases := []struct {
		name  string
		mod   func(*ooapi.Config)
		build func(ch ooapi.Challenge) string
		want  ooapi.Reason
	}{
		{"challenge of another session", nil, func(ooapi.Challenge) string {
			other, _ := ooapi.NewChallenge()
			return respond(t, u, ca.chain(u), logonProps(spName, other))
		}, ooapi.ChallengeMismatch},
		{"another service provider", nil, func(ch ooapi.Challenge) string {
			return respond(t, u, ca.chain(u), logonProps("Fupbutikken", ch))
		}, ooapi.RequestIssuerMismatch},
		{"a signature given as logon", nil, func(ch ooapi.Challenge) string {
			return respond(t, u, ca.chain(u), signProps(spName, ch, "Jeg køber"))
		}, ooapi.WrongAction},
		{"a CA with the same names but other keys", nil, func(ch ooapi.Challenge) string {
			return respond(t, mallory, other.chain(mallory), logonProps(spName, ch))
		}, ooapi.UntrustedChain},
		{"a certificate from another environment in KeyInfo", nil, func(ch ooapi.Challenge) string {
			return respond(t, u, append(ca.chain(u), pp), logonProps(spName, ch))
		}, ooapi.UntrustedChain},
		{"validated against the preproduction roots", func(c *ooapi.Config) { c.Trust = ooapi.PreproductionTrust() }, func(ch ooapi.Challenge) string {
			return respond(t, u, ca.chain(u), logonProps(spName, ch))
		}, ooapi.UntrustedChain},
		{"production policies", func(c *ooapi.Config) {
			tr, err := ooapi.ParseTrust("ours with production policies", oces.OCESProduction, pemOf(ca.trust.Roots()[0]))
			if err != nil {
				t.Fatal(err)
			}
			c.Trust = tr
		}, func(ch ooapi.Challenge) string {
			return respond(t, u, ca.chain(u), logonProps(spName, ch))
		}, ooapi.NotOCES},
		{"not base64", nil, func(ooapi.Challenge) string { return "%%% not base64 %%%" }, ooapi.Malformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFlow(t, c.mod)
			ch := f.start(t, "s")
			if _, err := f.v.Logon(context.Background(), "s", c.build(ch)); reason(t, err) != c.want {
				t.Fatalf("want %s, got %v", c.want, err)
			}
			// Whatever happened, the challenge is gone.
			if _, err := f.challenges.Take(context.Background(), "s"); !errors.Is(err, ooapi.ErrNoChallenge) {
				t.Fatalf("challenge still stored after a refusal: %v", err)
			}
		})
	}
}

func TestLogonStatusAndClientErrors(t *testing.T) {
	ca := our(t)
	u := ca.issue(t, oces.Request{Type: oces.MOCES, Name: "Bo Jensen", CVR: "30808460", Organization: "Testfirma A/S"})
	f := newFlow(t, func(c *ooapi.Config) { c.Now = at(ourNow.AddDate(4, 0, 0)) })
	ch := f.start(t, "s")
	res, err := f.v.Logon(context.Background(), "s", respond(t, u, ca.chain(u), logonProps(spName, ch)))
	if reason(t, err) != ooapi.CertificateNotValid || res == nil || res.Status != ooapi.Expired || res.Identity.RID == "" || res.Identity.CVR != "30808460" {
		t.Fatalf("expired: %v %+v", err, res)
	}

	f.start(t, "s")
	_, err = f.v.Logon(context.Background(), "s", base64.StdEncoding.EncodeToString([]byte("CAN002")))
	var ce *ooapi.ClientError
	if !errors.As(err, &ce) || ce.Code != "CAN002" || ce.Code.Text(ooapi.DA) == "" || ce.Code.Text(ooapi.EN) == "" {
		t.Fatalf("CAN002: %v", err)
	}
	if _, err := f.challenges.Take(context.Background(), "s"); !errors.Is(err, ooapi.ErrNoChallenge) {
		t.Fatal("an error-code answer must use up the challenge too")
	}
}

func TestSignWithOurCA(t *testing.T) {
	ca := our(t)
	u := ca.issue(t, oces.Request{Type: oces.POCES, Name: "Karen Blixen"})
	const text = "Jeg bestiller 2 × kaffe til 45,00 kr."
	agreement := ooapi.PlainSignText(text)

	f := newFlow(t, nil)
	ch := f.start(t, "s")
	res, err := f.v.Sign(context.Background(), "s", respond(t, u, ca.chain(u), signProps(spName, ch, text)), agreement)
	if err != nil {
		t.Fatal(err)
	}
	if res.Action != ooapi.ActionSign || string(res.SignedText) != text || res.Status != ooapi.Valid {
		t.Fatalf("result %+v", res)
	}

	for name, props := range map[string][]xmldsig.Property{
		"another text":       signProps(spName, f.start(t, "s"), text+" og en kage"),
		"hidden from signer": hidden(signProps(spName, f.start(t, "s"), text)),
	} {
		// start replaced the session's challenge; sign with the latest one.
		props[1].Value = string(f.start(t, "s"))
		if _, err := f.v.Sign(context.Background(), "s", respond(t, u, ca.chain(u), props), agreement); reason(t, err) != ooapi.SignTextMismatch {
			t.Fatalf("%s: %v", name, err)
		}
	}
	ch = f.start(t, "s")
	if _, err := f.v.Sign(context.Background(), "s", respond(t, u, ca.chain(u), logonProps(spName, ch)), agreement); reason(t, err) != ooapi.WrongAction {
		t.Fatalf("logon as signature: %v", err)
	}
}

func hidden(p []xmldsig.Property) []xmldsig.Property {
	p[len(p)-1].VisibleToSigner = false
	return p
}

func TestValidatorConfigFailsClosed(t *testing.T) {
	good := ooapi.Config{Trust: ooapi.PreproductionTrust(), Revocation: revocation.None(), Challenges: &ooapi.MemoryChallenges{}, RequestIssuers: []string{"x"}}
	for name, mod := range map[string]func(*ooapi.Config){
		"no trust":           func(c *ooapi.Config) { c.Trust = nil },
		"no revocation":      func(c *ooapi.Config) { c.Revocation = nil },
		"no challenge store": func(c *ooapi.Config) { c.Challenges = nil },
		"no issuer":          func(c *ooapi.Config) { c.RequestIssuers = nil },
		"blank issuer":       func(c *ooapi.Config) { c.RequestIssuers = []string{" "} },
	} {
		c := good
		mod(&c)
		if _, err := ooapi.NewValidator(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := ooapi.NewValidator(good); err != nil {
		t.Fatal(err)
	}
}

func TestMemoryChallengesExpire(t *testing.T) {
	now := ourNow
	m := &ooapi.MemoryChallenges{TTL: time.Minute, Now: func() time.Time { return now }}
	m.Put(context.Background(), "s", "abc")
	now = now.Add(time.Minute)
	if _, err := m.Take(context.Background(), "s"); !errors.Is(err, ooapi.ErrNoChallenge) {
		t.Fatalf("expired challenge taken: %v", err)
	}
	m.Put(context.Background(), "s", "abc")
	if c, err := m.Take(context.Background(), "s"); err != nil || c != "abc" {
		t.Fatal(c, err)
	}
}

func TestShippedRootsAreDanIDs(t *testing.T) {
	// SHA-256 fingerprints from the protocol specification §7.1.
	for want, tr := range map[string]*ooapi.Trust{
		"0E2FD1FDA36A4BF3995E28619704D60E3382C91E44A2B458AB891316380B1D50": ooapi.PreproductionTrust(),
		"92D8092EE77BC9208F0897DC05271894E63EF27933AE537FB983EEF0EAE3EEC8": ooapi.ProductionTrust(),
	} {
		roots := tr.Roots()
		if len(roots) != 1 || fingerprint(roots[0]) != want {
			t.Fatalf("%s: roots %v", tr.Name(), roots)
		}
	}
}

// TestRealResponsesAgainstRealCRLs validates the real JS-client responses
// with the signer's revocation checked on the real full CRL of its issuing
// CA (Systemtest XXXIV, fixture systemtest34.crl, valid 2021-05-13 09:27 to
// 21:27 UTC), served locally at the URL path the certificates name. The
// root's CRL, against which the issuing CA itself would be checked, is not
// among the fixtures: the issuing CA is checked by revocation.None, said
// explicitly with ForCAs.
func TestRealResponsesAgainstRealCRLs(t *testing.T) {
	der := []byte(fixture(t, "systemtest34.crl"))
	var fetches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/systemtest34.crl" {
			http.NotFound(w, r)
			return
		}
		fetches.Add(1)
		w.Write(der)
	}))
	defer srv.Close()
	// Every host (crl.systemtest34.trust2408.com) is routed to the server.
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, srv.Listener.Addr().String())
	}}}
	v, err := ooapi.NewValidator(ooapi.Config{
		Trust:                 ooapi.PreproductionTrust(),
		Revocation:            revocation.ForCAs(&revocation.FullCRL{HTTPClient: client}, revocation.None()),
		InsecureSkipChallenge: true,
		RequestIssuers:        []string{"Nets Customer Demo"},
		Now:                   at(fixtureTime),
	})
	if err != nil {
		t.Fatal(err)
	}
	for file, pid := range map[string]string{
		"XMLDSigMessage-POCES.xml":                 "9208-2002-2-751708631151",
		"XMLDSigMessage-POCES-encoding-base64.xml": "9208-2002-2-751953802340",
	} {
		res, err := v.Logon(context.Background(), "", fixture(t, file))
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if res.Status != ooapi.Valid || res.Identity.PID != pid || res.Revocation.Method != "crl" {
			t.Fatalf("%s: %s %s %+v", file, res.Status, res.Identity.PID, res.Revocation)
		}
	}
	if fetches.Load() != 1 {
		t.Fatalf("the CRL was fetched %d times for two checks, want 1 (cached until nextUpdate)", fetches.Load())
	}
	// Outside the CRL's window the status cannot be established: refused.
	v, _ = ooapi.NewValidator(ooapi.Config{Trust: ooapi.PreproductionTrust(),
		Revocation:            revocation.ForCAs(&revocation.FullCRL{HTTPClient: client}, revocation.None()),
		InsecureSkipChallenge: true, RequestIssuers: []string{"Nets Customer Demo"},
		Now: at(fixtureTime.Add(12 * time.Hour))})
	if _, err := v.Logon(context.Background(), "", fixture(t, "XMLDSigMessage-POCES.xml")); reason(t, err) != ooapi.RevocationUnknown {
		t.Fatalf("after the CRL's nextUpdate: %v", err)
	}
}
