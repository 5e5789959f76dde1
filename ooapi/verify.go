package ooapi

import (
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nemid-dk/nemid/oces"
)

// MaxClockSkew is how far TIMESTAMP may be from the server's clock, either
// way, before NemID refuses the parameters (SRV003).
const MaxClockSkew = 3 * time.Minute

// VerifyOptions are the settings of VerifyParameters. The zero value checks
// everything that needs no outside knowledge.
type VerifyOptions struct {
	// Client is the client the set is for; "" means ps.Client().
	Client Client
	// Origin is the origin of the page that posted the parameters
	// (event.origin); if set, ORIGIN must equal it. "" skips the check.
	Origin string
	// MaxClockSkew replaces the package's MaxClockSkew if positive.
	MaxClockSkew time.Duration
	// Location is the server's time zone, for a TIMESTAMP without a zone;
	// nil means UTC.
	Location *time.Location
}

// Problem is one thing wrong with a parameter set: the NemID error code it
// causes, the parameter concerned ("" for the set as a whole) and an
// explanation for the service provider's developer.
type Problem struct {
	Code    Code
	Param   string
	Message string
}

func (p Problem) String() string {
	if p.Param == "" {
		return string(p.Code) + ": " + p.Message
	}
	return string(p.Code) + " " + p.Param + ": " + p.Message
}

// Error makes a Problem usable as an error.
func (p Problem) Error() string { return p.String() }

// VerifyParameters checks a parameter set as NemID did on receiving it, at
// time now, and returns every problem found (none: the set is acceptable).
// The problems come in the order NemID checked — first the client (names,
// values, PARAMS_DIGEST, combinations, sign text), then the server
// (DIGEST_SIGNATURE, SP_CERT, TIMESTAMP, TRANSACTION_CONTEXT) — so the code
// of the first problem is the one NemID would have answered.
//
// SP_CERT is checked to be a VOCES (oces.ParseCertificate) with an RSA key
// of at least 2048 bits, valid at now. Whether it chains to an OCES root,
// is unrevoked, and is registered for a service provider (SRV005
// otherwise) only the NemID server knows; VerifyParameters does not check
// that.
func VerifyParameters(ps *ParameterSet, now time.Time, opts VerifyOptions) []Problem {
	v := &verifier{ps: ps, opts: opts, now: now}
	if v.opts.Client == "" {
		v.opts.Client = ps.Client()
	}
	if v.opts.Location == nil {
		v.opts.Location = time.UTC
	}
	if v.opts.MaxClockSkew <= 0 {
		v.opts.MaxClockSkew = MaxClockSkew
	}
	if v.opts.Client == CodeFileClient {
		v.codeFile()
	} else {
		v.js()
	}
	return v.problems
}

type verifier struct {
	ps       *ParameterSet
	opts     VerifyOptions
	now      time.Time
	problems []Problem
	bad      map[string]bool // parameters already reported as unreadable
	norm     []byte          // the normalized parameters, once computed
}

func (v *verifier) normalized() []byte {
	if v.norm == nil {
		v.norm = v.ps.Normalized()
	}
	return v.norm
}

func (v *verifier) add(code Code, param, format string, args ...any) {
	v.problems = append(v.problems, Problem{Code: code, Param: param, Message: fmt.Sprintf(format, args...)})
}

// get returns a parameter's value by its canonical name: for the JS client
// compared case-insensitively over ASCII only (a name that only Java's
// comparison folds onto a NemID name, such as "ſP_CERT", is an unknown
// parameter, not that one), for the CodeFile client exactly.
func (v *verifier) get(name string) (string, bool) {
	for _, p := range v.ps.params {
		if p.Name == name || (v.opts.Client != CodeFileClient && isASCII(p.Name) && upperASCII(p.Name) == name) {
			return p.Value, true
		}
	}
	return "", false
}

func (v *verifier) has(name string) bool { _, ok := v.get(name); return ok }

// markBad records that a parameter's value was reported unreadable, so that
// later checks do not report it again.
func (v *verifier) markBad(name string) {
	if v.bad == nil {
		v.bad = map[string]bool{}
	}
	v.bad[name] = true
}

func (v *verifier) js() {
	// Names.
	for _, p := range v.ps.params {
		if _, _, ok := lookupJSParam(p.Name); ok {
			continue
		}
		if repl, removed := removedParams[strings.ToLower(p.Name)]; removed {
			if repl != "" {
				v.add(APP007, p.Name, "not a parameter of the JS client: NemID removed it; use %s", repl)
			} else {
				v.add(APP007, p.Name, "not a parameter of the JS client: NemID removed it")
			}
			continue
		}
		v.add(APP007, p.Name, "not a parameter of the JS client (spec section 2)")
	}
	for _, name := range []string{ParamClientFlow, ParamSPCert, ParamTimestamp, ParamsDigest, DigestSignature} {
		if !v.has(name) {
			v.add(APP007, name, "mandatory parameter missing")
		}
	}
	// Values.
	for _, p := range v.ps.params {
		canonical, spec, ok := lookupJSParam(p.Name)
		if !ok {
			continue
		}
		if spec.values != nil && !containsFold(spec.values, p.Value) {
			v.add(APP001, p.Name, "value %q is not supported; want one of %s", p.Value, strings.Join(spec.values, ", "))
			v.markBad(canonical)
		}
		if spec.base64 {
			if _, err := decodeBase64(p.Value); err != nil {
				v.add(APP001, p.Name, "%v", err)
				v.markBad(canonical)
			}
		}
	}
	v.checkJSValues()
	v.checkDigest()
	flow, ok := v.get(ParamClientFlow)
	signing := equalFoldASCII(flow, FlowSign)
	// Without a valid CLIENTFLOW there is no telling which parameters
	// belong together: that problem is reported already.
	if ok && !v.bad[ParamClientFlow] {
		v.checkJSCombinations(signing)
	}
	if signing && !v.bad[ParamSignText] && !v.bad[ParamSignTextFormat] && !v.bad[ParamSignTextTransformation] {
		v.checkJSSignText()
	}
	v.checkServer(false)
}

func (v *verifier) checkJSValues() {
	if origin, ok := v.get(ParamOrigin); ok {
		v.checkOriginValue(ParamOrigin, origin)
	}
	if props, ok := v.get(ParamSignProperties); ok {
		v.checkSignProperties(props)
	}
	for _, name := range []string{ParamsDigest, ParamSignTextRemoteHash} {
		if val, ok := v.get(name); ok && !v.bad[name] {
			if b, _ := decodeBase64(val); len(b) != 32 {
				v.add(APP001, name, "%d bytes, want a SHA-256 hash (32 bytes)", len(b))
				v.markBad(name)
			}
		}
	}
	if uri, ok := v.get(ParamSignTextURI); ok {
		if err := checkSignTextURI(uri); err != nil {
			v.add(APP001, ParamSignTextURI, "%v", err)
		}
	}
}

func (v *verifier) checkOriginValue(name, origin string) {
	if err := checkOrigin(origin); err != nil {
		v.add(APP001, name, "%v", err)
		return
	}
	if v.opts.Origin != "" && origin != v.opts.Origin {
		v.add(APP007, name, "%q does not match the origin of the page that posted the parameters, %q", origin, v.opts.Origin)
	}
}

func (v *verifier) checkSignProperties(props string) {
	for _, pair := range strings.Split(props, ";") {
		if k, _, ok := strings.Cut(pair, "="); !ok || strings.TrimSpace(k) == "" {
			v.add(APP001, ParamSignProperties, "%q is not a list of name=value pairs separated by ;", props)
			return
		}
	}
}

func (v *verifier) checkDigest() {
	got, ok := v.get(ParamsDigest)
	if !ok || v.bad[ParamsDigest] {
		return
	}
	want := digestOf(v.normalized())
	if got != want {
		v.add(APP001, ParamsDigest, "does not match the parameters: the normalized parameters (spec 3.1) have digest %s, the set says %s", want, got)
	}
}

func (v *verifier) checkJSCombinations(signing bool) {
	if !signing {
		for _, p := range v.ps.params {
			if _, spec, ok := lookupJSParam(p.Name); ok && spec.signOnly {
				v.add(APP008, p.Name, "belongs to a signing flow (CLIENTFLOW=OCESSIGN2), not a logon")
			}
		}
	} else {
		_, text := v.get(ParamSignText)
		_, uri := v.get(ParamSignTextURI)
		_, hash := v.get(ParamSignTextRemoteHash)
		format, _ := v.get(ParamSignTextFormat)
		switch {
		case !text && !uri:
			v.add(APP007, ParamSignText, "a signing flow needs SIGNTEXT or SIGNTEXT_URI")
		case text && uri:
			v.add(APP008, ParamSignTextURI, "SIGNTEXT and SIGNTEXT_URI together: give the document one way")
		}
		if uri && !hash {
			v.add(APP008, ParamSignTextRemoteHash, "SIGNTEXT_URI needs SIGNTEXT_REMOTE_HASH")
		}
		if hash && !uri {
			v.add(APP008, ParamSignTextRemoteHash, "SIGNTEXT_REMOTE_HASH belongs to SIGNTEXT_URI")
		}
		if uri && !equalFoldASCII(format, FormatPDF) {
			v.add(APP008, ParamSignTextURI, "a document by URI must be a PDF (SIGNTEXT_FORMAT=PDF)")
		}
		isXML := equalFoldASCII(format, FormatXML)
		if _, ok := v.get(ParamSignTextTransformation); ok != isXML {
			if isXML {
				v.add(APP008, ParamSignTextTransformation, "an XML sign text needs SIGNTEXT_TRANSFORMATION")
			} else {
				v.add(APP008, ParamSignTextTransformation, "belongs to an XML sign text (SIGNTEXT_FORMAT=XML)")
			}
			v.markBad(ParamSignTextTransformation)
		}
		if _, ok := v.get(ParamSignTextTransformationID); ok && !isXML {
			v.add(APP008, ParamSignTextTransformationID, "belongs to an XML sign text (SIGNTEXT_FORMAT=XML)")
		}
	}
	if v.has(ParamRememberUserIDInitialStatus) && !v.has(ParamRememberUserID) {
		v.add(APP008, ParamRememberUserIDInitialStatus, "needs REMEMBER_USERID")
	}
	mode, _ := v.get(ParamClientMode)
	cu, _ := v.get(ParamCredentialUpdate)
	if equalFoldASCII(mode, "LIMITED") && equalFoldASCII(cu, "ALIAS") {
		v.add(APP008, ParamCredentialUpdate, "ALIAS is not possible with CLIENTMODE=LIMITED")
	}
}

func (v *verifier) checkJSSignText() {
	text, ok := v.get(ParamSignText)
	if !ok {
		return // a remote PDF: the client checks it against the hash when it fetches it
	}
	format, ok := v.get(ParamSignTextFormat)
	if !ok {
		format = FormatText
	}
	content, _ := decodeBase64(text)
	var xslt []byte
	if t, ok := v.get(ParamSignTextTransformation); ok {
		xslt, _ = decodeBase64(t)
	}
	v.signTextProblem(checkSignTextContent(upperASCII(format), content, xslt))
}

func (v *verifier) signTextProblem(err error) {
	if err == nil {
		return
	}
	var se *SignTextError
	if errors.As(err, &se) {
		v.add(se.Code, ParamSignText, "%s", se.Reason)
		return
	}
	v.add(APP002, ParamSignText, "%v", err)
}

// checkServer makes the NemID server's checks: DIGEST_SIGNATURE with the key
// of SP_CERT, SP_CERT itself, TIMESTAMP and TRANSACTION_CONTEXT.
// base64Timestamp says TIMESTAMP must be base64 (the CodeFile client).
func (v *verifier) checkServer(base64Timestamp bool) {
	v.checkCertAndSignature()
	if ts, ok := v.get(ParamTimestamp); ok && !v.bad[ParamTimestamp] {
		v.checkTimestamp(ts, base64Timestamp)
	}
	if tc, ok := v.get(ParamTransactionContext); ok && !v.bad[ParamTransactionContext] {
		b, _ := decodeBase64(tc)
		if n := javaLength(string(b)); n > MaxTransactionContext {
			v.add(SRV011, ParamTransactionContext, "%d characters, at most %d are allowed", n, MaxTransactionContext)
		}
	}
}

func (v *verifier) checkCertAndSignature() {
	certB64, ok := v.get(ParamSPCert)
	if !ok || v.bad[ParamSPCert] {
		if v.has(DigestSignature) {
			v.add(SRV001, DigestSignature, "cannot be verified without a readable SP_CERT")
		}
		return
	}
	der, _ := decodeBase64(certB64)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		v.add(SRV001, DigestSignature, "cannot be verified: SP_CERT is not a certificate")
		v.add(SRV005, ParamSPCert, "not an X.509 certificate: %v", err)
		return
	}
	pub, isRSA := cert.PublicKey.(*rsa.PublicKey)
	if sig, ok := v.get(DigestSignature); ok && !v.bad[DigestSignature] {
		switch {
		case !isRSA:
			v.add(SRV001, DigestSignature, "cannot be verified: the key of SP_CERT is not RSA")
		default:
			if err := verifySignature(pub, v.normalized(), sig); err != nil {
				v.add(SRV001, DigestSignature, "not a valid SHA256withRSA signature of the normalized parameters by the key of SP_CERT")
			}
		}
	}
	subject := cert.Subject.String()
	id, err := oces.ParseCertificate(cert)
	switch {
	case err != nil:
		v.add(SRV005, ParamSPCert, "%s is not an OCES certificate: %v", subject, err)
	case id.Type != oces.VOCES:
		v.add(SRV005, ParamSPCert, "%s is a %s certificate; a service provider signs with a VOCES", subject, id.Type)
	}
	if !isRSA {
		v.add(SRV005, ParamSPCert, "the key of %s is %T, not RSA", subject, cert.PublicKey)
	} else if n := pub.N.BitLen(); n < oces.MinRSABits {
		v.add(SRV005, ParamSPCert, "the RSA key of %s has %d bits, fewer than %d", subject, n, oces.MinRSABits)
	}
	if v.now.Before(cert.NotBefore) {
		v.add(SRV005, ParamSPCert, "%s is not valid until %s", subject, cert.NotBefore.UTC().Format(time.RFC3339))
	} else if v.now.After(cert.NotAfter) {
		v.add(SRV005, ParamSPCert, "%s expired at %s", subject, cert.NotAfter.UTC().Format(time.RFC3339))
	}
}

func (v *verifier) checkTimestamp(ts string, mustBase64 bool) {
	var t time.Time
	var err error
	if mustBase64 {
		plain, derr := decodeBase64(ts)
		if derr != nil {
			v.add(SRV003, ParamTimestamp, "%v", derr)
			return
		}
		t, err = parseTimestampPlain(string(plain), v.opts.Location)
	} else {
		t, err = ParseTimestamp(ts, v.opts.Location)
	}
	if err != nil {
		v.add(SRV003, ParamTimestamp, "cannot be read: %v", err)
		return
	}
	skew := v.now.Sub(t)
	if skew > v.opts.MaxClockSkew || -skew > v.opts.MaxClockSkew {
		way := "before"
		if skew < 0 {
			way = "after"
		}
		v.add(SRV003, ParamTimestamp, "%s is %s %s the server's time %s; at most %s either way is accepted",
			t.UTC().Format(time.RFC3339), skew.Abs().Round(time.Second), way, v.now.UTC().Format(time.RFC3339), v.opts.MaxClockSkew)
	}
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if equalFoldASCII(x, s) {
			return true
		}
	}
	return false
}

// equalFoldASCII compares case-insensitively over ASCII only: NemID's values
// are ASCII, and Unicode folding would take "OCEſSIGN2" for OCESSIGN2.
func equalFoldASCII(a, b string) bool {
	return isASCII(a) && isASCII(b) && upperASCII(a) == upperASCII(b)
}
