package main

import (
	"context"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/nemid-dk/nemid/internal/ca"
	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/oces"
	"github.com/nemid-dk/nemid/ooapi"
	"github.com/nemid-dk/nemid/ooapi/revocation"
	"github.com/nemid-dk/nemid/ooapi/xmldsig"
)

var responseCommands = commandGroup{
	name: "response",
	subcommands: []command{
		{"verify", "validate a NemID client response FILE as a service provider does; prints the identity as JSON", runResponseVerify},
	},
}

// Default LDAP servers of the partitioned-CRL check (spec §8.1); ours is
// the default --ldap-listen of `nemid serve`.
var defaultLDAP = map[string]string{
	"ours":       "127.0.0.1:3389",
	"preprod":    revocation.PreprodLDAPServer,
	"production": revocation.ProductionLDAPServer,
}

func runResponseVerify(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlagSet("nemid response verify [--trust ours|preprod|production] [--at TIME] [--challenge C] [--logonto NAME] [--revocation ocsp|crl|ldap|none] [--sign-text FILE] FILE", `
Validates a response of the NemID JS or CodeFile client as a service
provider's ooapi does (spec sections 4 and 6): the strict XMLDSig profile and
signature, the certificate chain to a root of the trust environment, the
OCES profile and policy, key usage, validity at --at, revocation, the
challenge and the RequestIssuer. FILE holds the response as the client
posted it (base64) or as raw XML; - reads standard input.

Prints the result as JSON: the identity (PID, or RID/UID/FID and CVR), the
certificate status, how revocation was checked. A refusal prints the error
as JSON too ({"error": …} with the reason, or {"clientError": …} with the
client's error code and its Danish and English texts) and exits non-zero;
so does a certificate that is expired, not yet valid or revoked.

--trust ours uses this installation's CA (--data/--database); preprod and
production the real OCES II roots shipped with ooapi. Without --challenge
or --logonto that check is skipped, and so is revocation with
--revocation none; the output lists what was not checked ("notChecked").
--sign-text checks a signature of a plain text (SIGNTEXT_FORMAT TEXT); for
HTML, XML and PDF documents use ooapi's Validator.Sign.`)
	var c common
	c.register(fs)
	trust := fs.String("trust", "ours", "trust environment: ours, preprod or production")
	var at timeFlag
	fs.Var(&at, "at", "validate as of this `time`, RFC 3339 (default now)")
	challenge := fs.String("challenge", "", "the challenge the service provider sent (SIGN_PROPERTIES challenge=…)")
	logonto := fs.String("logonto", "", "the service provider's friendly name; the signed RequestIssuer must equal it")
	method := fs.String("revocation", "ocsp", "revocation check: ocsp, crl (full CRL over HTTP), ldap (CRL partition over LDAP) or none")
	ldapServer := fs.String("ldap-server", "", "LDAP `host:port` for --revocation ldap (default: "+defaultLDAP["ours"]+" for ours, NemID's crldir for preprod/production)")
	signText := fs.String("sign-text", "", "`file` holding the plain text the user was asked to sign; validates a signature instead of a logon")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("give the response FILE (or - for standard input)")
	}
	file := fs.Arg(0)
	if err := parse(fs, fs.Args()[1:]); err != nil {
		return err
	}
	// Check every flag before anything is opened.
	if _, ok := defaultLDAP[*trust]; !ok {
		return fmt.Errorf("--trust %q: want ours, preprod or production", *trust)
	}
	server := *ldapServer
	if server == "" {
		server = defaultLDAP[*trust]
	}
	checker, err := revocationChecker(*method, server)
	if err != nil {
		return err
	}
	tr, err := responseTrust(ctx, &c, *trust)
	if err != nil {
		return err
	}
	var agreement *ooapi.SignText
	if *signText != "" {
		b, err := os.ReadFile(*signText)
		if err != nil {
			return err
		}
		st := ooapi.PlainSignText(string(b))
		agreement = &st
	}
	data, err := readInput(file)
	if err != nil {
		return err
	}

	cfg := ooapi.Config{Trust: tr, Revocation: checker, Now: at.get}
	var skipped []string
	const session = "nemid-response-verify"
	if *challenge != "" {
		store := &ooapi.MemoryChallenges{}
		if err := store.Put(ctx, session, ooapi.Challenge(*challenge)); err != nil {
			return err
		}
		cfg.Challenges = store
	} else {
		cfg.InsecureSkipChallenge = true
		skipped = append(skipped, "challenge")
	}
	if *logonto != "" {
		cfg.RequestIssuers = []string{*logonto}
	} else {
		cfg.InsecureSkipRequestIssuer = true
		skipped = append(skipped, "RequestIssuer")
	}
	v, err := ooapi.NewValidator(cfg)
	if err != nil {
		return err
	}
	var res *ooapi.Result
	if agreement != nil {
		res, err = v.Sign(ctx, session, string(data), *agreement)
	} else {
		res, err = v.Logon(ctx, session, string(data))
	}
	if *method == "none" {
		skipped = append(skipped, "revocation")
	}
	report := responseReport{Trust: tr.Name(), NotChecked: skipped}
	if res != nil {
		report.Result = describeResult(res)
	}
	if err != nil {
		report.Error, report.ClientError = describeError(err)
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if werr := enc.Encode(report); werr != nil {
		return werr
	}
	if err != nil {
		return errors.New("the response is not accepted")
	}
	return nil
}

// responseTrust returns the named trust environment.
func responseTrust(ctx context.Context, c *common, name string) (*ooapi.Trust, error) {
	switch name {
	case "preprod":
		return ooapi.PreproductionTrust(), nil
	case "production":
		return ooapi.ProductionTrust(), nil
	case "ours":
		return ourTrust(ctx, c)
	}
	return nil, fmt.Errorf("--trust %q: want ours, preprod or production", name)
}

// ourTrust is this installation's CA as a trust environment: its root and
// issuing CA, and the policy OIDs it writes into certificates. It reads
// only public data, so it needs no CA keys.
func ourTrust(ctx context.Context, c *common) (*ooapi.Trust, error) {
	st, err := c.openExistingStore(ctx)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return installationTrust(ctx, st)
}

// installationTrust is ourTrust on an open store.
func installationTrust(ctx context.Context, st store.Store) (*ooapi.Trust, error) {
	inst, err := st.Installation(ctx)
	if err != nil {
		return nil, err
	}
	var cfg ca.Config
	if err := json.Unmarshal(inst.Config, &cfg); err != nil {
		return nil, fmt.Errorf("the installation's CA configuration: %w", err)
	}
	env := oces.Environment{Name: "nemid " + cfg.Environment, Prefixes: map[oces.Type]asn1.ObjectIdentifier{}}
	for t := range cfg.Policies {
		oid, err := cfg.Policy(t)
		if err != nil {
			return nil, err
		}
		env.Prefixes[t] = oid
	}
	var pemCerts []byte
	for _, name := range []string{"root", "issuing"} {
		a, err := st.CA(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("CA %q: %w", name, err)
		}
		pemCerts = append(pemCerts, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.CertDER})...)
	}
	return ooapi.ParseTrust(fmt.Sprintf("this installation's CA (%s, %s)", cfg.RootName, cfg.Environment), env, pemCerts)
}

// revocationChecker returns the checker for --revocation.
func revocationChecker(method, ldapServer string) (revocation.Checker, error) {
	switch method {
	case "ocsp":
		return &revocation.OCSP{}, nil
	case "crl":
		return &revocation.FullCRL{}, nil
	case "ldap":
		return &revocation.PartitionedCRL{Server: ldapServer}, nil
	case "none":
		return revocation.None(), nil
	}
	return nil, fmt.Errorf("--revocation %q: want ocsp, crl, ldap or none", method)
}

// responseReport is what `nemid response verify` prints.
type responseReport struct {
	Trust       string             `json:"trust"`
	NotChecked  []string           `json:"notChecked,omitempty"`
	Result      *resultJSON        `json:"result,omitempty"`
	Error       *validationErrJSON `json:"error,omitempty"`
	ClientError *clientErrJSON     `json:"clientError,omitempty"`
}

type resultJSON struct {
	Action                 string          `json:"action"`
	Status                 string          `json:"status"`
	Type                   string          `json:"type"`
	SerialNumber           string          `json:"serialNumber"`
	CommonName             string          `json:"commonName"`
	PID                    string          `json:"pid,omitempty"`
	CVR                    string          `json:"cvr,omitempty"`
	RID                    string          `json:"rid,omitempty"`
	UID                    string          `json:"uid,omitempty"`
	FID                    string          `json:"fid,omitempty"`
	Organization           string          `json:"organization,omitempty"`
	RequestIssuer          string          `json:"requestIssuer,omitempty"`
	IdentityAssuranceLevel string          `json:"identityAssuranceLevel,omitempty"`
	HasRememberUseridToken bool            `json:"hasRememberUseridToken"`
	Revocation             *revocationJSON `json:"revocation,omitempty"`
	Certificate            certJSON        `json:"certificate"`
}

type revocationJSON struct {
	Method    string     `json:"method"`
	Revoked   bool       `json:"revoked"`
	RevokedAt *time.Time `json:"revokedAt,omitempty"`
	Reason    *int       `json:"reason,omitempty"`
}

type certJSON struct {
	Serial    string    `json:"serial"`
	Issuer    string    `json:"issuer"`
	NotBefore time.Time `json:"notBefore"`
	NotAfter  time.Time `json:"notAfter"`
}

type validationErrJSON struct {
	Reason string `json:"reason"`
	// XMLDSig is the strict profile's own reason, for a BadSignature.
	XMLDSig string `json:"xmldsig,omitempty"`
	Message string `json:"message"`
}

type clientErrJSON struct {
	Code        string `json:"code"`
	Known       bool   `json:"known"`
	Description string `json:"description"`
	TextDA      string `json:"textDA"`
	TextEN      string `json:"textEN"`
}

func describeResult(r *ooapi.Result) *resultJSON {
	id := r.Identity
	j := &resultJSON{
		Action: string(r.Action), Status: string(r.Status), Type: string(id.Type),
		SerialNumber: id.SerialNumber, CommonName: id.CommonName,
		PID: id.PID, CVR: id.CVR, RID: id.RID, UID: id.UID, FID: id.FID, Organization: id.Organization,
		RequestIssuer: r.RequestIssuer, IdentityAssuranceLevel: r.IdentityAssuranceLevel,
		// The token itself is a credential of sorts: say only that it came.
		HasRememberUseridToken: r.RememberUseridToken != "",
		Certificate: certJSON{
			Serial: strings.ToLower(r.Certificate.SerialNumber.Text(16)), Issuer: r.Certificate.Issuer.String(),
			NotBefore: r.Certificate.NotBefore.UTC(), NotAfter: r.Certificate.NotAfter.UTC(),
		},
	}
	if r.Revocation.Method != "" {
		rj := &revocationJSON{Method: r.Revocation.Method, Revoked: r.Revocation.Revoked}
		if r.Revocation.Revoked {
			t, reason := r.Revocation.RevokedAt.UTC(), r.Revocation.Reason
			rj.RevokedAt, rj.Reason = &t, &reason
		}
		j.Revocation = rj
	}
	return j
}

func describeError(err error) (*validationErrJSON, *clientErrJSON) {
	var ce *ooapi.ClientError
	if errors.As(err, &ce) {
		_, known := ooapi.ParseCode(string(ce.Code))
		return nil, &clientErrJSON{Code: string(ce.Code), Known: known, Description: ce.Code.Description(),
			TextDA: ce.Code.Text(ooapi.DA), TextEN: ce.Code.Text(ooapi.EN)}
	}
	j := &validationErrJSON{Reason: "error", Message: err.Error()}
	var ve *ooapi.ValidationError
	if errors.As(err, &ve) {
		j.Reason = ve.Reason.String()
	}
	var xe *xmldsig.Error
	if errors.As(err, &xe) {
		j.XMLDSig = xe.Reason.String()
	}
	return j, nil
}
