package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/net/idna"

	"github.com/nemid-dk/nemid/internal/audit"
	"github.com/nemid-dk/nemid/internal/ca"
	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/oces"
)

var spCommands = commandGroup{
	name: "sp",
	subcommands: []command{
		{"register", "register a service provider: its name, origins, VOCES certificate and CPR rights", runSPRegister},
		{"list", "list the registered service providers", runSPList},
		{"show", "show one service provider", runSPShow},
		{"disable", "disable a service provider (final)", runSPDisable},
	},
}

// stringList is a flag that may be given several times.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ", ") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// originHosts checks and converts a host name as browsers do (UTS #46,
// non-transitional, STD3 rules), and also insists on DNS label lengths, so
// that "a..b" or a trailing dot is refused rather than stored.
var originHosts = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.VerifyDNSLength(true), idna.Transitional(false))

// canonicalOrigin returns s in the one form a browser gives an origin (the
// origin of a postMessage event, RFC 6454 serialisation): lower-case
// scheme://host[:port], the host in punycode, an IPv6 address in brackets
// and compressed, the scheme's default port left out. Only that form can be
// compared with what the browser reports, so anything else — a path, even
// "/", a query, a fragment, user information — is refused rather than cut
// off. http is allowed for the loopback hosts only, for development.
func canonicalOrigin(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", errors.New("not a URL; want scheme://host[:port]")
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme != "https" && scheme != "http":
		return "", errors.New("want an https:// origin (http:// only for localhost)")
	case u.Opaque != "" || !strings.Contains(s, "://"):
		return "", errors.New("want scheme://host[:port]")
	case u.User != nil:
		return "", errors.New("an origin has no user name or password")
	case u.Path != "" || u.RawPath != "":
		return "", fmt.Errorf("an origin has no path (%q): give only scheme://host[:port]", u.Path)
	case u.RawQuery != "" || u.ForceQuery:
		return "", errors.New("an origin has no query: give only scheme://host[:port]")
	case u.Fragment != "" || strings.Contains(s, "#"):
		return "", errors.New("an origin has no fragment: give only scheme://host[:port]")
	case strings.HasSuffix(u.Host, ":"):
		return "", errors.New("empty port after the colon")
	}
	host := u.Hostname()
	if host == "" {
		return "", errors.New("no host")
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		switch {
		case ip.Zone() != "":
			return "", errors.New("an IPv6 zone is not part of an origin")
		case ip.Is4In6():
			// Browsers write these in hexadecimal (::ffff:7f00:1), unlike
			// anyone typing them; the plain IPv4 address is what is meant.
			return "", errors.New("an IPv4-mapped IPv6 address: give the IPv4 address")
		case ip.Is6():
			host = "[" + ip.String() + "]"
		default:
			host = ip.String()
		}
	} else {
		if last := host[strings.LastIndex(host, ".")+1:]; last != "" && strings.Trim(last, "0123456789") == "" {
			// Browsers read a name ending in a number as an IPv4 address
			// (127.1 is 127.0.0.1); accept only the dotted-decimal form.
			return "", fmt.Errorf("host %q: not an IPv4 address in dotted-decimal form, nor a host name", host)
		}
		// Browsers put a Unicode host into punycode; so do we, checking it
		// is a host name at all.
		if host, err = originHosts.ToASCII(host); err != nil {
			return "", fmt.Errorf("host: %v", err)
		}
	}
	loopback := host == "localhost" || host == "127.0.0.1" || host == "[::1]"
	if scheme == "http" && !loopback {
		return "", errors.New("http is allowed only for localhost, 127.0.0.1 and [::1]; use https")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			return "", fmt.Errorf("port %q: want 1 to 65535", p)
		}
		if !(scheme == "https" && n == 443) && !(scheme == "http" && n == 80) {
			host += ":" + strconv.FormatUint(n, 10)
		}
	}
	return scheme + "://" + host, nil
}

func runSPRegister(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlagSet("nemid sp register --name NAME --origin URL [--origin URL …] (--voces FILE | --issue-voces --cvr NNNNNNNN --organization NAME --cert-out FILE --key-out FILE) [--allow-cpr-match [--allow-cpr-lookup]] [--json]", `
Registers a service provider (an SP agreement) and prints its SPID, the
number it gives as serviceId / ServiceProviderIdentifier in PID/RID-CPR calls.

--name is the friendly name users see in the client and that signatures
carry as RequestIssuer: 1 to 100 printable characters, unique regardless of
case, not digits only. --origin, once per page origin the SP launches the
client from, is exactly scheme://host[:port] as a browser reports it: https
(http only for localhost, 127.0.0.1 and [::1]), no path.

The SP is known by its VOCES certificate. Either give one issued by this
installation (--voces, PEM or DER; `+"`nemid ca issue --profile voces`"+`), which
must not be revoked or expired; or let this command issue one (--issue-voces)
to --name, --cvr and --organization, writing the new RSA-2048 key (mode 0600)
and the certificate as PEM to files that must not exist yet. If anything
fails, nothing is registered and no file is left; a certificate issued
meanwhile is revoked (cessationOfOperation).

CPR rights are off unless given: --allow-cpr-match lets the SP ask whether a
CPR number belongs to a PID or RID; --allow-cpr-lookup, only together with
it, lets it ask for the CPR number itself.

A registration is never deleted: disabling keeps the SPID, the name and the
certificate from ever meaning another SP.`)
	var c common
	c.register(fs)
	name := fs.String("name", "", "the SP's friendly name (shown to users, sent as RequestIssuer)")
	var origins stringList
	fs.Var(&origins, "origin", "origin of the SP's pages, `scheme://host[:port]`; repeat for several")
	vocesFile := fs.String("voces", "", "the SP's VOCES certificate (PEM or DER), issued by this installation")
	issue := fs.Bool("issue-voces", false, "issue a new VOCES certificate for the SP (needs --cvr, --organization, --cert-out, --key-out)")
	cvr := fs.String("cvr", "", "with --issue-voces: the SP's CVR number, 8 digits")
	org := fs.String("organization", "", "with --issue-voces: the SP's company name")
	certOut := fs.String("cert-out", "", "with --issue-voces: where to write the certificate (PEM)")
	keyOut := fs.String("key-out", "", "with --issue-voces: where to write the private key (PEM, mode 0600)")
	allowMatch := fs.Bool("allow-cpr-match", false, "may call PID/RID-CPR match")
	allowLookup := fs.Bool("allow-cpr-lookup", false, "may also look a CPR number up from a PID or RID (requires --allow-cpr-match)")
	asJSON := fs.Bool("json", false, "print the registration as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}

	// Every check of the input comes before the database is opened.
	spName := strings.TrimSpace(*name)
	if *name == "" {
		return errors.New("--name is required")
	}
	if err := store.ValidateServiceProviderName(spName); err != nil {
		return fmt.Errorf("--name: %w", err)
	}
	if len(origins) == 0 {
		return errors.New("--origin is required (at least one: the origin of the SP's pages, e.g. https://shop.example)")
	}
	var canon []string
	given := map[string]string{}
	for _, o := range origins {
		co, err := canonicalOrigin(o)
		if err != nil {
			return fmt.Errorf("--origin %q: %w", o, err)
		}
		if first, dup := given[co]; dup {
			return fmt.Errorf("--origin %q is the same origin as %q", o, first)
		}
		given[co] = o
		canon = append(canon, co)
	}
	if *allowLookup && !*allowMatch {
		return errors.New("--allow-cpr-lookup requires --allow-cpr-match")
	}
	var voces *x509.Certificate
	switch {
	case *vocesFile != "" && *issue:
		return errors.New("give either --voces FILE or --issue-voces, not both")
	case *vocesFile == "" && !*issue:
		return errors.New("give --voces FILE (a VOCES certificate from this installation) or --issue-voces")
	case *vocesFile != "":
		if *cvr != "" || *org != "" || *certOut != "" || *keyOut != "" {
			return errors.New("--cvr, --organization, --cert-out and --key-out go with --issue-voces only")
		}
		der, err := readPEMOrDER(*vocesFile, "CERTIFICATE")
		if err != nil {
			return fmt.Errorf("--voces: %w", err)
		}
		if voces, err = x509.ParseCertificate(der); err != nil {
			return fmt.Errorf("--voces %s: not an X.509 certificate: %w", *vocesFile, err)
		}
		if err := mustBeVOCES(*vocesFile, voces); err != nil {
			return err
		}
	default:
		if *cvr == "" || *org == "" || *certOut == "" || *keyOut == "" {
			return errors.New("--issue-voces needs --cvr, --organization, --cert-out and --key-out")
		}
		probe := oces.Request{Type: oces.VOCES, Name: spName, CVR: *cvr, Organization: *org, ID: placeholderID(oces.VOCES)}
		if err := probe.Validate(); err != nil {
			return fmt.Errorf("--issue-voces: the certificate would be issued to --name, --cvr and --organization: %w", err)
		}
		if filepath.Clean(*certOut) == filepath.Clean(*keyOut) {
			return errors.New("--cert-out and --key-out name the same file")
		}
		for _, f := range []string{*certOut, *keyOut} {
			if err := mustNotExist(f); err != nil {
				return err
			}
			if err := mustBeDir(filepath.Dir(f)); err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
		}
	}

	st, err := c.openExistingStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	// Refuse a taken name before a certificate is issued for it. The store
	// refuses again, atomically, should another registration race this one.
	if other, err := st.ServiceProviderByName(ctx, spName); err == nil {
		return fmt.Errorf("the name %q is taken by service provider %d (%q)", spName, other.ID, other.Name)
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	sp := store.ServiceProvider{Name: spName, Origins: canon, AllowCPRMatch: *allowMatch, AllowCPRLookup: *allowLookup}

	if voces != nil {
		rec, err := checkOurCertificate(ctx, st, *vocesFile, voces, time.Now())
		if err != nil {
			return err
		}
		sum := sha256.Sum256(voces.Raw)
		if other, err := st.ServiceProviderByCertificate(ctx, hex.EncodeToString(sum[:])); err == nil {
			return fmt.Errorf("%s is the certificate of service provider %d (%q) already", *vocesFile, other.ID, other.Name)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		sp.CertDER, sp.Subject = voces.Raw, rec.Subject
		if sp, err = st.RegisterServiceProvider(ctx, sp); err != nil {
			return err
		}
	} else {
		if sp, err = issueAndRegister(ctx, &c, st, sp, *cvr, *org, *certOut, *keyOut); err != nil {
			return err
		}
	}
	auditErr := recordAudit(ctx, st, audit.Entry{Actor: audit.Operator, Action: audit.SPRegistered,
		Subject: audit.ServiceProvider(sp.ID), Outcome: audit.Success, Detail: spAuditDetail(sp)})
	v := describeSP(ctx, st, sp, time.Now())
	if *asJSON {
		return errors.Join(writeJSON(out, v), auditErr)
	}
	fmt.Fprintf(out, "Registered service provider %d\n", sp.ID)
	if *issue {
		fmt.Fprintf(out, "  key written to          %s\n  certificate written to  %s\n", *keyOut, *certOut)
	}
	return errors.Join(printSP(out, v), auditErr)
}

// spAuditDetail is what the audit log records of a registration besides the
// SPID, which always names the same agreement: its certificate's serial and
// its CPR rights. (Not the name: `nemid sp show` has it, and it can be
// longer than a detail value may be.)
func spAuditDetail(sp store.ServiceProvider) map[string]string {
	rights := "none"
	switch {
	case sp.AllowCPRLookup:
		rights = "match,lookup"
	case sp.AllowCPRMatch:
		rights = "match"
	}
	d := map[string]string{"rights": rights}
	if cert, err := x509.ParseCertificate(sp.CertDER); err == nil {
		d["certificate"] = ca.SerialText(cert.SerialNumber)
	}
	return d
}

// mustBeVOCES refuses a certificate that is not an organisation's VOCES,
// naming what it is instead.
func mustBeVOCES(file string, cert *x509.Certificate) error {
	id, err := oces.ParseCertificate(cert)
	if err != nil {
		return fmt.Errorf("--voces %s: %w", file, err)
	}
	if id.Type != oces.VOCES {
		return fmt.Errorf("--voces %s is a %s certificate (%s); a service provider needs a VOCES certificate (an organisation's)",
			file, strings.ToUpper(string(id.Type)), id.SerialNumber)
	}
	return nil
}

// checkOurCertificate makes sure a certificate was issued by this
// installation's issuing CA, is the one on record, and is neither revoked
// nor outside its validity. It returns the record.
func checkOurCertificate(ctx context.Context, st store.Store, file string, cert *x509.Certificate, now time.Time) (store.Certificate, error) {
	row, err := st.CA(ctx, ca.IssuingCA)
	if err != nil {
		return store.Certificate{}, err
	}
	issuing, err := x509.ParseCertificate(row.CertDER)
	if err != nil {
		return store.Certificate{}, fmt.Errorf("the stored issuing CA certificate: %w", err)
	}
	if !bytes.Equal(cert.RawIssuer, issuing.RawSubject) || cert.CheckSignatureFrom(issuing) != nil {
		return store.Certificate{}, fmt.Errorf("--voces %s was not issued by this installation's issuing CA (%s); use a certificate from `nemid ca issue --profile voces`, or --issue-voces",
			file, issuing.Subject)
	}
	serial := ca.SerialText(cert.SerialNumber)
	rec, err := st.Certificate(ctx, serial)
	if errors.Is(err, store.ErrNotFound) {
		return store.Certificate{}, fmt.Errorf("--voces %s: certificate %s carries this installation's signature but is not in its records", file, serial)
	}
	if err != nil {
		return store.Certificate{}, err
	}
	switch {
	case !bytes.Equal(rec.DER, cert.Raw):
		return store.Certificate{}, fmt.Errorf("--voces %s differs from the certificate with serial %s on record", file, serial)
	case rec.Status == store.StatusRevoked:
		return store.Certificate{}, fmt.Errorf("--voces %s: certificate %s was revoked on %s (%s)", file, serial,
			rec.RevokedAt.Format(time.RFC3339), ca.Reason(rec.Reason))
	case now.After(cert.NotAfter):
		return store.Certificate{}, fmt.Errorf("--voces %s: certificate %s expired on %s", file, serial, cert.NotAfter.Format(time.RFC3339))
	case now.Before(cert.NotBefore):
		return store.Certificate{}, fmt.Errorf("--voces %s: certificate %s is not valid before %s", file, serial, cert.NotBefore.Format(time.RFC3339))
	}
	return rec, nil
}

// issueAndRegister issues a VOCES certificate for the SP, writes its key and
// certificate, and registers the SP with it. If a step fails after the key
// file is written, the files are removed and an issued certificate is
// revoked, so that a failed registration leaves nothing usable behind. The
// issuance and such a revocation go to the audit log as they happen; an
// issuance the log could not record fails the registration too.
func issueAndRegister(ctx context.Context, c *common, st store.Store, sp store.ServiceProvider, cvr, org, certOut, keyOut string) (store.ServiceProvider, error) {
	a, kb, err := c.loadAuthority(ctx, st)
	if err != nil {
		return sp, err
	}
	defer kb.Close()
	pub, err := writeNewKey(keyOut)
	if err != nil {
		return sp, err
	}
	var issued *ca.Issued
	undo := func(cause error) error {
		// The undo must finish even when an interrupt cancelled ctx.
		uctx := context.WithoutCancel(ctx)
		errs := []error{cause}
		if issued != nil {
			if _, err := a.Revoke(uctx, issued.Record.Serial, ca.ReasonCessationOfOperation); err != nil {
				errs = append(errs, fmt.Errorf("revoking the certificate %s issued for it failed too: %w", issued.Record.Serial, err))
			} else {
				errs = append(errs, fmt.Errorf("the certificate %s issued for it has been revoked", issued.Record.Serial))
				if err := recordAudit(uctx, st, audit.Entry{Actor: audit.Operator, Action: audit.CertificateRevoked,
					Subject: audit.Certificate(issued.Record.Serial), Outcome: audit.Success,
					Detail: map[string]string{"reason": ca.ReasonCessationOfOperation.String()}}); err != nil {
					errs = append(errs, err)
				}
			}
			if err := os.Remove(certOut); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
		if err := os.Remove(keyOut); err != nil {
			errs = append(errs, err)
		}
		return fmt.Errorf("nothing registered: %w", errors.Join(errs...))
	}
	issued, err = a.Issue(ctx, ca.IssueRequest{
		Subject:   oces.Request{Type: oces.VOCES, Name: sp.Name, CVR: cvr, Organization: org},
		PublicKey: pub,
	})
	if err != nil {
		return sp, undo(err)
	}
	if err := recordAudit(ctx, st, audit.Entry{Actor: audit.Operator, Action: audit.CertificateIssued,
		Subject: audit.Certificate(issued.Record.Serial), Outcome: audit.Success,
		Detail: map[string]string{"profile": string(oces.VOCES)}}); err != nil {
		return sp, undo(err)
	}
	if err := writeNewFile(certOut, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: issued.Certificate.Raw}), 0o644); err != nil {
		return sp, undo(err)
	}
	sp.CertDER, sp.Subject = issued.Certificate.Raw, issued.Record.Subject
	registered, err := st.RegisterServiceProvider(ctx, sp)
	if err != nil {
		return sp, undo(err)
	}
	return registered, nil
}

// spView is a service provider as `sp show`, `sp list` and `sp register`
// print it, in text or JSON.
type spView struct {
	ID             int64      `json:"id"`
	Name           string     `json:"name"`
	Status         string     `json:"status"` // "active" or "disabled"
	Origins        []string   `json:"origins"`
	AllowCPRMatch  bool       `json:"allow_cpr_match"`
	AllowCPRLookup bool       `json:"allow_cpr_lookup"`
	Certificate    certView   `json:"certificate"`
	CreatedAt      time.Time  `json:"created_at"`
	DisabledAt     *time.Time `json:"disabled_at,omitempty"`
}

type certView struct {
	Subject   string     `json:"subject"`
	Identity  string     `json:"identity,omitempty"` // CVR:…-UID:…
	Serial    string     `json:"serial,omitempty"`
	SHA256    string     `json:"sha256"`
	NotBefore *time.Time `json:"not_before,omitempty"`
	NotAfter  *time.Time `json:"not_after,omitempty"`
	// Status is "good", "revoked", "expired", or "unknown" when this
	// installation has no record of it.
	Status string `json:"status"`
}

// describeSP gathers what is shown about a service provider, including
// its certificate's current status.
func describeSP(ctx context.Context, st store.Store, sp store.ServiceProvider, now time.Time) spView {
	v := spView{ID: sp.ID, Name: sp.Name, Status: "active", Origins: sp.Origins,
		AllowCPRMatch: sp.AllowCPRMatch, AllowCPRLookup: sp.AllowCPRLookup, CreatedAt: sp.CreatedAt,
		Certificate: certView{Subject: sp.Subject, SHA256: sp.CertSHA256, Status: "unknown"}}
	if sp.Disabled {
		v.Status = "disabled"
		t := sp.DisabledAt
		v.DisabledAt = &t
	}
	cert, err := x509.ParseCertificate(sp.CertDER)
	if err != nil {
		return v
	}
	v.Certificate.Serial = ca.SerialText(cert.SerialNumber)
	nb, na := cert.NotBefore.UTC(), cert.NotAfter.UTC()
	v.Certificate.NotBefore, v.Certificate.NotAfter = &nb, &na
	if id, err := oces.ParseCertificate(cert); err == nil {
		v.Certificate.Identity = id.SerialNumber
	}
	if rec, err := st.Certificate(ctx, v.Certificate.Serial); err == nil && bytes.Equal(rec.DER, sp.CertDER) {
		v.Certificate.Status = string(rec.Status)
		if rec.Status == store.StatusGood && now.After(cert.NotAfter) {
			v.Certificate.Status = "expired"
		}
	}
	return v
}

func printSP(out io.Writer, v spView) error {
	yesNo := map[bool]string{true: "allowed", false: "not allowed"}
	status := v.Status
	if v.DisabledAt != nil {
		status += " since " + v.DisabledAt.Format(time.RFC3339)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  SPID\t%d\n  name\t%s\n  status\t%s\n", v.ID, v.Name, status)
	for i, o := range v.Origins {
		label := ""
		if i == 0 {
			label = "origins"
		}
		fmt.Fprintf(tw, "  %s\t%s\n", label, o)
	}
	fmt.Fprintf(tw, "  CPR match\t%s\n  CPR lookup\t%s\n", yesNo[v.AllowCPRMatch], yesNo[v.AllowCPRLookup])
	cv := v.Certificate
	fmt.Fprintf(tw, "  certificate\t%s\n", cv.Subject)
	if cv.Identity != "" {
		fmt.Fprintf(tw, "  identity\t%s\n", cv.Identity)
	}
	if cv.Serial != "" {
		fmt.Fprintf(tw, "  serial\t%s\n", cv.Serial)
	}
	fmt.Fprintf(tw, "  SHA-256\t%s\n", cv.SHA256)
	if cv.NotBefore != nil {
		fmt.Fprintf(tw, "  valid\t%s to %s\n", cv.NotBefore.Format(time.DateOnly), cv.NotAfter.Format(time.DateOnly))
	}
	fmt.Fprintf(tw, "  cert status\t%s\n  registered\t%s\n", cv.Status, v.CreatedAt.Format(time.RFC3339))
	return tw.Flush()
}

func writeJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func runSPList(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlagSet("nemid sp list [--json]", "Lists the registered service providers, active and disabled, by SPID.")
	var c common
	c.register(fs)
	asJSON := fs.Bool("json", false, "print JSON (one array) for scripts")
	if err := parse(fs, args); err != nil {
		return err
	}
	st, err := c.openExistingStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	sps, err := st.ServiceProviders(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	views := make([]spView, len(sps))
	for i, sp := range sps {
		views[i] = describeSP(ctx, st, sp, now)
	}
	if *asJSON {
		return writeJSON(out, views)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SPID\tNAME\tSTATUS\tCPR\tCERTIFICATE\tORIGINS")
	for _, v := range views {
		rights := "-"
		switch {
		case v.AllowCPRLookup:
			rights = "match, lookup"
		case v.AllowCPRMatch:
			rights = "match"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", v.ID, v.Name, v.Status, rights, v.Certificate.Status, strings.Join(v.Origins, " "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "%d service provider(s)\n", len(views))
	return err
}

// parseWithTarget parses a command line with one positional argument
// (before, between or after the flags) and returns it.
func parseWithTarget(fs *flag.FlagSet, args []string, what string) (string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return "", err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if err := parse(fs, nil); err != nil {
		return "", err
	}
	switch len(pos) {
	case 0:
		return "", fmt.Errorf("give the %s (see %s -h)", what, fs.Name())
	case 1:
		return pos[0], nil
	}
	return "", fmt.Errorf("unexpected argument %q: give one %s", pos[1], what)
}

// findSP reads "ID|NAME": digits are an SPID (names cannot be digits only),
// anything else a name, compared regardless of case.
func findSP(ctx context.Context, st store.Store, target string) (store.ServiceProvider, error) {
	if strings.Trim(target, "0123456789") == "" {
		id, err := strconv.ParseInt(target, 10, 64)
		if err != nil {
			return store.ServiceProvider{}, fmt.Errorf("SPID %s is out of range", target)
		}
		sp, err := st.ServiceProvider(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return sp, fmt.Errorf("no service provider has SPID %d (see nemid sp list)", id)
		}
		return sp, err
	}
	sp, err := st.ServiceProviderByName(ctx, strings.TrimSpace(target))
	if errors.Is(err, store.ErrNotFound) {
		return sp, fmt.Errorf("no service provider is named %q (see nemid sp list)", target)
	}
	return sp, err
}

// spIDWhat names the positional argument of the commands on one service
// provider.
const spIDWhat = "SPID or name of a service provider"

// openSP opens the store and finds the service provider target names (as
// findSP reads it), for a command on one service provider. The caller
// closes st.
func (c *common) openSP(ctx context.Context, target string) (st store.Store, sp store.ServiceProvider, err error) {
	if st, err = c.openExistingStore(ctx); err != nil {
		return nil, sp, err
	}
	if sp, err = findSP(ctx, st, target); err != nil {
		st.Close()
		return nil, sp, err
	}
	return st, sp, nil
}

func runSPShow(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlagSet("nemid sp show ID|NAME [--json]", `
Shows one service provider, by SPID or by name (in any case): its status,
origins, CPR rights and certificate (subject, serial, SHA-256 fingerprint,
validity and whether it is revoked).`)
	var c common
	c.register(fs)
	asJSON := fs.Bool("json", false, "print JSON for scripts")
	target, err := parseWithTarget(fs, args, spIDWhat)
	if err != nil {
		return err
	}
	st, sp, err := c.openSP(ctx, target)
	if err != nil {
		return err
	}
	defer st.Close()
	v := describeSP(ctx, st, sp, time.Now())
	if *asJSON {
		return writeJSON(out, v)
	}
	fmt.Fprintf(out, "Service provider %d\n", sp.ID)
	return printSP(out, v)
}

func runSPDisable(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlagSet("nemid sp disable ID|NAME", `
Disables a service provider, by SPID or by name, for the services that
check registrations (PID/RID-CPR) to refuse it from then on. Disabling is final
and changes nothing else: the SPID, the name and the certificate stay taken,
so that they never come to mean another SP. Disabling a disabled SP is no
error and changes nothing.`)
	var c common
	c.register(fs)
	target, err := parseWithTarget(fs, args, spIDWhat)
	if err != nil {
		return err
	}
	st, sp, err := c.openSP(ctx, target)
	if err != nil {
		return err
	}
	defer st.Close()
	if sp.Disabled {
		_, err := fmt.Fprintf(out, "Service provider %d (%s) was disabled already, at %s\n", sp.ID, sp.Name, sp.DisabledAt.Format(time.RFC3339))
		return err
	}
	sp, err = st.DisableServiceProvider(ctx, sp.ID, time.Now())
	if err != nil {
		return err
	}
	auditErr := recordAudit(ctx, st, audit.Entry{Actor: audit.Operator, Action: audit.SPDisabled,
		Subject: audit.ServiceProvider(sp.ID), Outcome: audit.Success})
	_, err = fmt.Fprintf(out, "Disabled service provider %d (%s) at %s\n", sp.ID, sp.Name, sp.DisabledAt.Format(time.RFC3339))
	return errors.Join(err, auditErr)
}
