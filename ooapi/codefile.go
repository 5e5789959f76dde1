package ooapi

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// CodeFileOptions are the parameters of the CodeFile client (spec 11.1), the
// client for OCES certificates kept in key files. Its parameter names and
// values are case-sensitive, and it takes several values in base64 that the
// JS client takes plain; the builder handles both.
type CodeFileOptions struct {
	// RequestIssuer is the service provider's friendly name, shown to the
	// user at logon (REQUESTISSUER, base64). Required.
	RequestIssuer string
	// Origin is the page's origin as in ClientOptions.Origin (ORIGIN,
	// base64). Required.
	Origin string
	// Language is DA (the client's default when empty) or EN (LANGUAGE,
	// sent in lower case).
	Language Language
	// SubjectDNFilter limits the certificates offered to the user: "PID:"
	// personal certificates (POCES) only, "RID:" employee certificates
	// (MOCES) only, "" all (ADDITIONAL_PARAMS subjectdnfilter).
	SubjectDNFilter string
	// IssuerDNFilter limits the certificates offered by a prefix of their
	// issuer's name, e.g. "TRUST2408 Systemtest"; "" leaves the client's
	// default (ADDITIONAL_PARAMS issuerdnfilter).
	IssuerDNFilter string
	// Extra are further CodeFile parameters with values as sent, e.g.
	// TU_VERSION, which DanID's example sent (whether NemID required it is
	// not known).
	Extra []Param
}

// CodeFileLogon builds and signs the CodeFile client's logon parameters
// (CLIENTFLOW=login) and returns them with the challenge put into
// SIGN_PROPERTIES. The set holds CLIENTFLOW, SP_CERT, TIMESTAMP (base64,
// see FormatTimestamp), SIGN_PROPERTIES, REQUESTISSUER, ORIGIN,
// ADDITIONAL_PARAMS (base64 of "subjectdnfilter=<base64 of the filter>",
// always sent, as DanID's example did, plus ";issuerdnfilter=…" when set),
// LANGUAGE when set, and Extra, in normalization order, then PARAMS_DIGEST
// and DIGEST_SIGNATURE.
func (s *SPSigner) CodeFileLogon(opts CodeFileOptions) (*ParameterSet, Challenge, error) {
	b, err := s.newCodeFileBuilder(FlowCodeFileLogon, opts)
	if err != nil {
		return nil, "", err
	}
	return b.finish(opts.Extra)
}

// CodeFileSign builds and signs the CodeFile client's signing parameters
// (CLIENTFLOW=sign) for the document text, like CodeFileLogon, adding
// SIGNTEXT_FORMAT (text, html, xml or pdf; sent plain as DanID's example
// did, though the guidelines say base64), SIGNTEXT (base64) and, for XML,
// SIGNTEXT_TRANSFORMATION (base64). The CodeFile client takes neither a
// transformation id nor a PDF by URI.
func (s *SPSigner) CodeFileSign(opts CodeFileOptions, text SignText) (*ParameterSet, Challenge, error) {
	if err := text.check(); err != nil {
		return nil, "", fmt.Errorf("ooapi: sign text: %w", err)
	}
	if text.uri != "" {
		return nil, "", errors.New("ooapi: the CodeFile client takes a PDF inline (PDFSignText), not by URI")
	}
	if text.transformationID != "" {
		return nil, "", errors.New("ooapi: the CodeFile client takes no transformation id")
	}
	b, err := s.newCodeFileBuilder(FlowCodeFileSign, opts)
	if err != nil {
		return nil, "", err
	}
	b.add(ParamSignTextFormat, strings.ToLower(text.format))
	b.add(ParamSignText, base64.StdEncoding.EncodeToString(text.content))
	if text.format == FormatXML {
		b.add(ParamSignTextTransformation, base64.StdEncoding.EncodeToString(text.transformation))
	}
	return b.finish(opts.Extra)
}

func (s *SPSigner) newCodeFileBuilder(flow string, o CodeFileOptions) (*paramBuilder, error) {
	b, err := s.newBuilder(CodeFileClient)
	if err != nil {
		return nil, err
	}
	if o.RequestIssuer == "" {
		return nil, errors.New("ooapi: the CodeFile client needs RequestIssuer, the service provider's name")
	}
	if err := checkOrigin(o.Origin); err != nil {
		return nil, fmt.Errorf("ooapi: %w", err)
	}
	switch o.SubjectDNFilter {
	case "", "PID:", "RID:":
	default:
		return nil, fmt.Errorf("ooapi: SubjectDNFilter %q: want \"PID:\", \"RID:\" or \"\"", o.SubjectDNFilter)
	}
	b64 := base64.StdEncoding.EncodeToString
	b.add(ParamClientFlow, flow)
	b.add(ParamSPCert, s.SPCert())
	b.add(ParamTimestamp, FormatTimestamp(s.now()))
	b.add(ParamSignProperties, "challenge="+string(b.challenge))
	b.add(ParamRequestIssuer, b64([]byte(o.RequestIssuer)))
	b.add(ParamOrigin, b64([]byte(o.Origin)))
	additional := "subjectdnfilter=" + b64([]byte(o.SubjectDNFilter))
	if o.IssuerDNFilter != "" {
		additional += ";issuerdnfilter=" + b64([]byte(o.IssuerDNFilter))
	}
	b.add(ParamAdditionalParams, b64([]byte(additional)))
	switch lang := Language(upperASCII(string(o.Language))); lang {
	case "":
	case DA, EN:
		b.add(ParamLanguage, strings.ToLower(string(lang)))
	default:
		return nil, fmt.Errorf("ooapi: Language %q: the CodeFile client takes DA or EN", o.Language)
	}
	return b, nil
}

// codeFile makes VerifyParameters' checks for the CodeFile client.
func (v *verifier) codeFile() {
	for _, p := range v.ps.params {
		if _, ok := codeFileParams[p.Name]; ok {
			continue
		}
		if _, ok := codeFileParams[upperASCII(p.Name)]; ok && isASCII(p.Name) {
			v.add(APP007, p.Name, "the CodeFile client's parameter names are case-sensitive: write %s", upperASCII(p.Name))
			continue
		}
		v.add(APP007, p.Name, "not a parameter of the CodeFile client (spec section 11.1)")
	}
	flow, _ := v.get(ParamClientFlow)
	signing := flow == FlowCodeFileSign
	mandatory := []string{ParamClientFlow, ParamSPCert, ParamTimestamp, ParamRequestIssuer, ParamOrigin, ParamsDigest, DigestSignature}
	if signing {
		mandatory = append(mandatory, ParamSignText, ParamSignTextFormat)
	}
	for _, name := range mandatory {
		if !v.has(name) {
			v.add(APP007, name, "mandatory parameter missing")
		}
	}
	for _, p := range v.ps.params {
		spec, ok := codeFileParams[p.Name]
		if !ok {
			continue
		}
		if spec.values != nil && !contains(spec.values, p.Value) {
			v.add(APP001, p.Name, "value %q is not supported; want one of %s (case-sensitive)", p.Value, strings.Join(spec.values, ", "))
			v.markBad(p.Name)
		}
		if spec.base64 {
			if _, err := decodeBase64(p.Value); err != nil {
				v.add(APP001, p.Name, "%v", err)
				v.markBad(p.Name)
			}
		}
		if spec.signOnly && !signing && flow == FlowCodeFileLogon {
			v.add(APP008, p.Name, "belongs to a signing flow (CLIENTFLOW=sign), not a logon")
		}
	}
	if origin, ok := v.get(ParamOrigin); ok && !v.bad[ParamOrigin] {
		plain, _ := decodeBase64(origin)
		v.checkOriginValue(ParamOrigin, string(plain))
	}
	if props, ok := v.get(ParamSignProperties); ok {
		v.checkSignProperties(props)
	}
	if ap, ok := v.get(ParamAdditionalParams); ok && !v.bad[ParamAdditionalParams] {
		v.checkAdditionalParams(ap)
	}
	if pd, ok := v.get(ParamsDigest); ok && !v.bad[ParamsDigest] {
		if b, _ := decodeBase64(pd); len(b) != 32 {
			v.add(APP001, ParamsDigest, "%d bytes, want a SHA-256 hash (32 bytes)", len(b))
			v.markBad(ParamsDigest)
		}
	}
	v.checkDigest()
	if signing {
		v.checkCodeFileSignText()
	}
	v.checkServer(true)
}

func (v *verifier) checkAdditionalParams(ap string) {
	plain, _ := decodeBase64(ap)
	for _, pair := range strings.Split(string(plain), ";") {
		k, _, ok := strings.Cut(pair, "=")
		if !ok {
			v.add(APP001, ParamAdditionalParams, "%q is not a list of key=value pairs separated by ;", plain)
			return
		}
		if !codeFileAdditional[k] {
			v.add(APP007, ParamAdditionalParams, "unknown key %q (known: subjectdnfilter, issuerdnfilter, signtext.uri, signtext.uri.hash.value, signtext.uri.hash.algorithm, attachments)", k)
		}
	}
}

func (v *verifier) checkCodeFileSignText() {
	format, ok := v.get(ParamSignTextFormat)
	text, ok2 := v.get(ParamSignText)
	if !ok || !ok2 || v.bad[ParamSignText] || v.bad[ParamSignTextTransformation] {
		return
	}
	if !contains([]string{"text", "html", "xml", "pdf"}, format) {
		// The guidelines say base64; DanID's example sent it plain.
		dec, err := decodeBase64(format)
		if err != nil || !contains([]string{"text", "html", "xml", "pdf"}, string(dec)) {
			v.add(APP001, ParamSignTextFormat, "%q is not text, html, xml or pdf (plain or base64)", format)
			return
		}
		format = string(dec)
	}
	content, _ := decodeBase64(text)
	var xslt []byte
	if t, ok := v.get(ParamSignTextTransformation); ok {
		xslt, _ = decodeBase64(t)
	}
	v.signTextProblem(checkSignTextContent(upperASCII(format), content, xslt))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
