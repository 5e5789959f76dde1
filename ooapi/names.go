package ooapi

// The parameter names of the JS client (spec 2), as the builder writes them.
// NemID compares them case-insensitively.
const (
	ParamClientFlow                     = "CLIENTFLOW"
	ParamClientMode                     = "CLIENTMODE"
	ParamCredentialUpdate               = "CREDENTIAL_UPDATE"
	ParamDoNotShowCancel                = "DO_NOT_SHOW_CANCEL"
	ParamEnableAwaitingAppApprovalEvent = "ENABLE_AWAITING_APP_APPROVAL_EVENT"
	ParamLanguage                       = "LANGUAGE"
	ParamOrigin                         = "ORIGIN"
	ParamPreventOTPCard                 = "PREVENT_OTP_CARD"
	ParamRememberUserID                 = "REMEMBER_USERID"
	ParamRememberUserIDInitialStatus    = "REMEMBER_USERID_INITIAL_STATUS"
	ParamSignText                       = "SIGNTEXT"
	ParamSignTextFormat                 = "SIGNTEXT_FORMAT"
	ParamSignTextMonospaceFont          = "SIGNTEXT_MONOSPACEFONT"
	ParamSignTextRemoteHash             = "SIGNTEXT_REMOTE_HASH"
	ParamSignTextTransformation         = "SIGNTEXT_TRANSFORMATION"
	ParamSignTextTransformationID       = "SIGNTEXT_TRANSFORMATION_ID"
	ParamSignTextURI                    = "SIGNTEXT_URI"
	ParamSignProperties                 = "SIGN_PROPERTIES"
	ParamSPCert                         = "SP_CERT"
	ParamSuppressPushToDevice           = "SUPPRESS_PUSH_TO_DEVICE"
	ParamTimestamp                      = "TIMESTAMP"
	ParamTransactionContext             = "TRANSACTION_CONTEXT"
	// ParamAllowStepUp is not in the implementation guidelines; NemID's
	// error table names it (APP004), so it is accepted.
	ParamAllowStepUp = "ALLOW_STEPUP"

	// The CodeFile client's own parameters (spec 11.1).
	ParamRequestIssuer    = "REQUESTISSUER"
	ParamAdditionalParams = "ADDITIONAL_PARAMS"
	ParamTUVersion        = "TU_VERSION"
)

// The CLIENTFLOW values: FlowLogon and FlowSign for the JS client,
// FlowCodeFileLogon and FlowCodeFileSign for the CodeFile client (whose
// values are case-sensitive).
const (
	FlowLogon         = "OCESLOGIN2"
	FlowSign          = "OCESSIGN2"
	FlowCodeFileLogon = "login"
	FlowCodeFileSign  = "sign"
)

// MaxTransactionContext is the longest TRANSACTION_CONTEXT NemID accepted,
// in characters (Java's UTF-16 code units) of the decoded text (SRV011).
const MaxTransactionContext = 100

// paramSpec describes one parameter for VerifyParameters.
type paramSpec struct {
	base64   bool     // the value is base64
	signOnly bool     // only in a signing flow
	values   []string // the accepted values (case-insensitive for the JS client); nil: any
}

// jsParams are the JS client's parameters, by upper-case name.
var jsParams = map[string]paramSpec{
	ParamClientFlow:                     {values: []string{FlowLogon, FlowSign}},
	ParamClientMode:                     {}, // STANDARD or LIMITED, but NemID ignored it
	ParamCredentialUpdate:               {}, // PASSWORD or ALIAS; NemID ignored other values
	DigestSignature:                     {base64: true},
	ParamDoNotShowCancel:                {},
	ParamEnableAwaitingAppApprovalEvent: {},
	ParamLanguage:                       {values: []string{string(DA), string(EN), string(KL)}},
	ParamOrigin:                         {},
	ParamsDigest:                        {base64: true},
	ParamPreventOTPCard:                 {},
	ParamRememberUserID:                 {},
	ParamRememberUserIDInitialStatus:    {},
	ParamSignText:                       {base64: true, signOnly: true},
	ParamSignTextFormat:                 {signOnly: true, values: []string{FormatText, FormatHTML, FormatXML, FormatPDF}},
	ParamSignTextMonospaceFont:          {signOnly: true},
	ParamSignTextRemoteHash:             {base64: true, signOnly: true},
	ParamSignTextTransformation:         {base64: true, signOnly: true},
	ParamSignTextTransformationID:       {signOnly: true},
	ParamSignTextURI:                    {signOnly: true},
	ParamSignProperties:                 {},
	ParamSPCert:                         {base64: true},
	ParamSuppressPushToDevice:           {},
	ParamTimestamp:                      {},
	ParamTransactionContext:             {base64: true},
	ParamAllowStepUp:                    {},
}

// codeFileParams are the CodeFile client's parameters; there, names are
// case-sensitive. SIGNTEXT_FORMAT is base64 per the guidelines but plain in
// DanID's example; both are accepted.
var codeFileParams = map[string]paramSpec{
	ParamClientFlow:             {values: []string{FlowCodeFileLogon, FlowCodeFileSign}},
	ParamSPCert:                 {base64: true},
	ParamTimestamp:              {base64: true},
	ParamAdditionalParams:       {base64: true},
	ParamRequestIssuer:          {base64: true},
	ParamLanguage:               {values: []string{"da", "en"}},
	ParamOrigin:                 {base64: true},
	ParamsDigest:                {base64: true},
	DigestSignature:             {base64: true},
	ParamSignProperties:         {},
	ParamSignText:               {base64: true, signOnly: true},
	ParamSignTextFormat:         {signOnly: true},
	ParamSignTextTransformation: {base64: true, signOnly: true},
	ParamTUVersion:              {},
}

// codeFileAdditional are the keys of ADDITIONAL_PARAMS (spec 11.1).
var codeFileAdditional = map[string]bool{
	"subjectdnfilter": true, "issuerdnfilter": true, "signtext.uri": true,
	"signtext.uri.hash.value": true, "signtext.uri.hash.algorithm": true, "attachments": true,
}

// removedParams are the parameters NemID removed ([IG] Appendix B), by
// lower-case name, with what replaced them where something did.
var removedParams = map[string]string{
	"always_embedded": "", "appletlog_enabled": "", "attachments": "", "danid": "",
	"extra_file_name_param": "", "locale": "LANGUAGE", "ocesprovider": "",
	"opensign.alerturi": "", "opensign.canceluri": "", "opensign.cookiecount": "",
	"opensign.doappletrequest": "", "opensign.doappletrequestonmac": "", "opensign.erroruri": "",
	"opensign.formdata.count": "", "opensign.message.name": "", "opensign.result.name": "",
	"opensign.verifieddokuri": "", "opensign.verifieruri": "", "paramsdigest": ParamsDigest,
	"requestissuerid": "", "request_issuer_id": "", "setfocusafterappletfunction": "",
	"setfocusbeforeappletfunction": "", "serverurlprefix": "", "signeddigest": DigestSignature,
	"signproperties": ParamSignProperties, "signtext.chunk": "", "sso": "",
	"two_factor": ParamClientFlow, "usesha1": "", "windowdecorated": "", "zip_base_url": "",
	"zip_file_alias": ParamClientFlow,
}

// lookupJSParam finds a JS-client parameter by name, case-insensitively
// over ASCII only: a name with other characters is no NemID name, even one
// that Java's comparison would fold onto one (such as "ſP_CERT").
func lookupJSParam(name string) (canonical string, spec paramSpec, ok bool) {
	if !isASCII(name) {
		return "", paramSpec{}, false
	}
	canonical = upperASCII(name)
	spec, ok = jsParams[canonical]
	return canonical, spec, ok
}
