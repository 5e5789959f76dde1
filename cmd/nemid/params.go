package main

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/nemid-dk/nemid/oces"
	"github.com/nemid-dk/nemid/ooapi"
)

var paramsCommands = commandGroup{
	name: "params",
	subcommands: []command{
		{"sign", "build and sign a client parameter set; prints its JSON", runParamsSign},
		{"verify", "check a parameter set as NemID does and explain every problem", runParamsVerify},
	},
}

// paramList is a repeatable --param NAME=VALUE flag.
type paramList []ooapi.Param

func (l *paramList) String() string {
	var s []string
	for _, p := range *l {
		s = append(s, p.Name+"="+p.Value)
	}
	return strings.Join(s, " ")
}

func (l *paramList) Set(v string) error {
	name, value, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return fmt.Errorf("%q: want NAME=VALUE", v)
	}
	*l = append(*l, ooapi.Param{Name: name, Value: value})
	return nil
}

// timeFlag is an RFC 3339 time; zero means now.
type timeFlag struct{ t time.Time }

func (f *timeFlag) String() string {
	if f.t.IsZero() {
		return ""
	}
	return f.t.Format(time.RFC3339)
}

func (f *timeFlag) Set(v string) error {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return fmt.Errorf("want an RFC 3339 time such as 2021-01-19T14:44:00Z")
	}
	f.t = t
	return nil
}

func (f *timeFlag) get() time.Time {
	if f.t.IsZero() {
		return time.Now()
	}
	return f.t
}

var flows = map[string]string{
	"logon": ooapi.FlowLogon, "sign": ooapi.FlowSign,
	"codefile-logon": ooapi.FlowCodeFileLogon, "codefile-sign": ooapi.FlowCodeFileSign,
}

// configFlag registers --config alone: the params tools need no CA, so the
// CA's settings (--data, --database, PKCS#11) would only clutter their help.
func configFlag(fs *flag.FlagSet) {
	fs.String("config", "", "optional config file of `name = value` lines")
}

func runParamsSign(_ context.Context, args []string, out io.Writer) error {
	fs := newFlagSet("nemid params sign --cert FILE --key FILE [--flow logon|sign|codefile-logon|codefile-sign] [--param NAME=VALUE ...]", `
Builds a NemID client parameter set and signs it with a service provider's
VOCES key (spec section 3): PARAMS_DIGEST is the SHA-256 of the normalized
parameters, DIGEST_SIGNATURE their SHA256withRSA signature. Prints the JSON
for <script type="text/x-nemid" id="nemid_parameters">.

Given by default: CLIENTFLOW from --flow, SP_CERT from --cert, TIMESTAMP
(base64 of "yyyy-MM-dd HH:mm:ss+0000", now or --at) and SIGN_PROPERTIES
with a fresh challenge, printed on standard error: keep it server-side, it
comes back in the response. Each --param NAME=VALUE replaces a default of
the same name (in any case) or adds a parameter; values are sent as given,
so base64 parameters must be given in base64. --sign-text FILE adds
SIGNTEXT (the file in base64) and SIGNTEXT_FORMAT.

The set is signed even if NemID would refuse it (to test NemID's side);
what NemID would say is printed on standard error. The key (PEM, PKCS#8 or
PKCS#1, unencrypted) is never printed.`)
	configFlag(fs)
	certFile := fs.String("cert", "", "the service provider's VOCES certificate (PEM or DER)")
	keyFile := fs.String("key", "", "its private key (PEM: PKCS#8 or PKCS#1)")
	flow := fs.String("flow", "logon", "logon, sign (JS client), codefile-logon or codefile-sign")
	var params paramList
	fs.Var(&params, "param", "a parameter `NAME=VALUE` (repeatable)")
	var at timeFlag
	fs.Var(&at, "at", "the `time` for TIMESTAMP, RFC 3339 (default now)")
	signText := fs.String("sign-text", "", "`FILE` to sign: sent base64 in SIGNTEXT")
	signFormat := fs.String("sign-format", "TEXT", "SIGNTEXT_FORMAT for --sign-text: TEXT, HTML, XML or PDF")
	script := fs.Bool("script", false, "print the whole <script> element, not just the JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *certFile == "" || *keyFile == "" {
		return errors.New("--cert and --key are required")
	}
	clientFlow, ok := flows[*flow]
	if !ok {
		return fmt.Errorf("--flow %q: want logon, sign, codefile-logon or codefile-sign", *flow)
	}
	signer, err := loadSigner(*certFile, *keyFile)
	if err != nil {
		return err
	}
	challenge, err := ooapi.NewChallenge()
	if err != nil {
		return err
	}
	now := at.get()
	set := []ooapi.Param{
		{Name: ooapi.ParamClientFlow, Value: clientFlow},
		{Name: ooapi.ParamSPCert, Value: signer.SPCert()},
		{Name: ooapi.ParamTimestamp, Value: ooapi.FormatTimestamp(now)},
		{Name: ooapi.ParamSignProperties, Value: "challenge=" + challenge.String()},
	}
	if *signText != "" {
		doc, err := os.ReadFile(*signText)
		if err != nil {
			return err
		}
		format := strings.ToUpper(*signFormat)
		if clientFlow == ooapi.FlowCodeFileSign {
			format = strings.ToLower(format) // the CodeFile client's values are lower case
		}
		set = append(set,
			ooapi.Param{Name: ooapi.ParamSignTextFormat, Value: format},
			ooapi.Param{Name: ooapi.ParamSignText, Value: base64.StdEncoding.EncodeToString(doc)})
	}
	challengeKept := true
	for i, p := range params {
		for _, q := range params[:i] {
			if ooapi.CompareNames(p.Name, q.Name) == 0 {
				return fmt.Errorf("--param %s and --param %s: NemID takes them for the same parameter", q.Name, p.Name)
			}
		}
		i := slices.IndexFunc(set, func(q ooapi.Param) bool { return ooapi.CompareNames(q.Name, p.Name) == 0 })
		if i < 0 {
			set = append(set, p)
			continue
		}
		if set[i].Name == ooapi.ParamSignProperties {
			challengeKept = false
		}
		set[i] = p
	}
	// The same member order as the library's builders: normalization order.
	slices.SortStableFunc(set, func(a, b ooapi.Param) int { return ooapi.CompareNames(a.Name, b.Name) })
	ps, err := signer.SignParams(set)
	if err != nil {
		return err
	}
	if challengeKept {
		fmt.Fprintf(os.Stderr, "challenge: %s   (keep it server-side; the response must carry it)\n", challenge)
	}
	for _, p := range ooapi.VerifyParameters(ps, now, ooapi.VerifyOptions{}) {
		fmt.Fprintf(os.Stderr, "warning: NemID would refuse this set: %s\n", p)
	}
	if *script {
		_, err = fmt.Fprintln(out, ps.ScriptElement())
	} else {
		_, err = fmt.Fprintf(out, "%s\n", ps.JSON())
	}
	return err
}

// loadSigner reads the certificate and key and checks that they belong
// together. The certificate need not be a VOCES: NemID's verdict on that
// (SRV005) is printed as a warning.
func loadSigner(certFile, keyFile string) (*ooapi.SPSigner, error) {
	certData, err := os.ReadFile(certFile)
	if err != nil {
		return nil, err
	}
	cert, err := ooapi.ParseCertificatePEM(certData)
	if err != nil {
		return nil, fmt.Errorf("--cert %s: %w", certFile, err)
	}
	keyData, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, err
	}
	key, err := ooapi.ParseRSAPrivateKeyPEM(keyData)
	if err != nil {
		return nil, fmt.Errorf("--key %s: %w", keyFile, err)
	}
	if pub, ok := cert.PublicKey.(*rsa.PublicKey); !ok || !key.PublicKey.Equal(pub) {
		return nil, fmt.Errorf("--key %s does not belong to --cert %s", keyFile, certFile)
	}
	return &ooapi.SPSigner{Cert: cert, Key: key}, nil
}

func runParamsVerify(_ context.Context, args []string, out io.Writer) error {
	fs := newFlagSet("nemid params verify [--at TIME] [--origin URL] FILE", `
Checks a NemID client parameter set as the NemID client and server did, and
explains every problem with the error code NemID answers for it (APP001,
APP007, SRV001, …): the JSON, unknown and missing parameters, values,
PARAMS_DIGEST, combinations, the sign text, DIGEST_SIGNATURE, SP_CERT,
TIMESTAMP (±3 minutes around --at) and TRANSACTION_CONTEXT. FILE holds the
JSON, or a page with the <script type="text/x-nemid"> element; - reads
standard input. Exits non-zero if there is any problem.

Whether SP_CERT is registered for a service provider, chains to an OCES root
and is unrevoked is checked by the NemID server, not here.`)
	configFlag(fs)
	var at timeFlag
	fs.Var(&at, "at", "check as of this `time`, RFC 3339 (default now)")
	origin := fs.String("origin", "", "the origin of the page that posts the parameters; ORIGIN must match it")
	client := fs.String("client", "", "js or codefile (default: from CLIENTFLOW)")
	normalized := fs.Bool("normalized", false, "also print the normalized parameters that the digest covers")
	// FILE may come before or after the flags.
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("give the parameter FILE (or - for standard input)")
	}
	file := fs.Arg(0)
	if err := parse(fs, fs.Args()[1:]); err != nil {
		return err
	}
	opts := ooapi.VerifyOptions{Origin: *origin}
	switch *client {
	case "":
	case "js":
		opts.Client = ooapi.JSClient
	case "codefile":
		opts.Client = ooapi.CodeFileClient
	default:
		return fmt.Errorf("--client %q: want js or codefile", *client)
	}
	data, err := readInput(file)
	if err != nil {
		return err
	}
	ps, err := ooapi.ParseParameters(extractParameters(data))
	if err != nil {
		var pe *ooapi.ParseError
		if errors.As(err, &pe) {
			fmt.Fprintf(out, "%s: the parameters cannot be read: %s\n  %s means: %s\n", pe.Code, pe.Reason, pe.Code, pe.Code.Description())
			return errors.New("1 problem")
		}
		return err
	}
	now := at.get()
	return reportParameters(out, ps, now, opts, *normalized)
}

func reportParameters(out io.Writer, ps *ooapi.ParameterSet, now time.Time, opts ooapi.VerifyOptions, showNormalized bool) error {
	client := opts.Client
	if client == "" {
		client = ps.Client()
	}
	flow, _ := ps.Get(ooapi.ParamClientFlow)
	clientName := map[ooapi.Client]string{ooapi.JSClient: "JS", ooapi.CodeFileClient: "CodeFile"}[client]
	fmt.Fprintf(out, "%d parameters for the %s client, CLIENTFLOW=%s, checked as of %s\n",
		len(ps.Params()), clientName, flow, now.UTC().Format(time.RFC3339))
	if certB64, ok := ps.Get(ooapi.ParamSPCert); ok {
		describeSPCert(out, certB64)
	}
	if showNormalized {
		fmt.Fprintf(out, "normalized parameters (%d bytes):\n%s\n", len(ps.Normalized()), ps.Normalized())
	}
	problems := ooapi.VerifyParameters(ps, now, opts)
	if len(problems) == 0 {
		fmt.Fprintln(out, "OK: NemID would accept these parameters (PARAMS_DIGEST, DIGEST_SIGNATURE, SP_CERT and TIMESTAMP checked).")
		fmt.Fprintln(out, "Not checked here: that SP_CERT is registered for a service provider, chains to an OCES root and is unrevoked (the NemID server's job).")
		return nil
	}
	fmt.Fprintf(out, "%d problem(s), in the order NemID checks them (the first is the code the client answers):\n", len(problems))
	explained := map[ooapi.Code]bool{}
	for _, p := range problems {
		fmt.Fprintf(out, "  %s\n", p)
		if !explained[p.Code] {
			explained[p.Code] = true
			fmt.Fprintf(out, "      %s means: %s\n", p.Code, p.Code.Description())
		}
	}
	fmt.Fprintln(out, "Not checked here: that SP_CERT is registered for a service provider, chains to an OCES root and is unrevoked (the NemID server's job).")
	if len(problems) == 1 {
		return errors.New("1 problem")
	}
	return fmt.Errorf("%d problems", len(problems))
}

func describeSPCert(out io.Writer, certB64 string) {
	der, err := base64.StdEncoding.DecodeString(certB64)
	if err != nil {
		return
	}
	cert, err := ooapi.ParseCertificatePEM(der)
	if err != nil {
		return
	}
	who := cert.Subject.String()
	if id, err := oces.ParseCertificate(cert); err == nil {
		who = fmt.Sprintf("%s %s (%s)", strings.ToUpper(string(id.Type)), id.SerialNumber, id.CommonName)
	}
	fmt.Fprintf(out, "SP_CERT: %s, issued by %s, valid %s to %s\n", who, cert.Issuer.CommonName,
		cert.NotBefore.UTC().Format(time.DateOnly), cert.NotAfter.UTC().Format(time.DateOnly))
}

func readInput(file string) ([]byte, error) {
	if file == "-" {
		return io.ReadAll(io.LimitReader(os.Stdin, ooapi.MaxParametersSize+1))
	}
	return os.ReadFile(file)
}

// extractParameters returns the content of a <script type="text/x-nemid">
// element if data holds one, else data.
func extractParameters(data []byte) []byte {
	s := string(data)
	i := strings.Index(s, "text/x-nemid")
	if i < 0 || !strings.HasPrefix(strings.TrimSpace(s), "<") {
		return data
	}
	start := strings.IndexByte(s[i:], '>')
	if start < 0 {
		return data
	}
	rest := s[i+start+1:]
	end := strings.Index(rest, "</script>")
	if end < 0 {
		return data
	}
	return []byte(strings.TrimSpace(rest[:end]))
}
