package ooapi

// Code is a NemID client error code (spec section 5), such as APP001 or
// SRV003. It is the one typed value shared by the NemID server side and this
// library: the client answers a service provider with base64 of the bare code,
// and VerifyParameters reports every problem with the code NemID returns for
// it.
type Code string

// The codes that parameter checking produces. Their meanings follow DanID's
// error-code table (spec section 5).
const (
	// APP001: the parameters could not be parsed (not a JSON object of
	// strings), a value is not supported, or PARAMS_DIGEST does not match.
	APP001 Code = "APP001"
	// APP002: the sign text is not allowed (HTML outside the whitelist, a
	// PDF that does not match its hash).
	APP002 Code = "APP002"
	// APP007: a mandatory parameter is missing, a parameter is not
	// recognised, or ORIGIN does not match the page's origin.
	APP007 Code = "APP007"
	// APP008: an invalid combination of parameters.
	APP008 Code = "APP008"
	// SRV001: DIGEST_SIGNATURE does not verify with the key in SP_CERT.
	SRV001 Code = "SRV001"
	// SRV003: TIMESTAMP is outside the allowed window (±3 minutes).
	SRV003 Code = "SRV003"
	// SRV005: the service provider is not known (SP_CERT is not an
	// acceptable, registered VOCES).
	SRV005 Code = "SRV005"
	// SRV011: TRANSACTION_CONTEXT is longer than 100 characters.
	SRV011 Code = "SRV011"
)

// Language is a user-interface language of the NemID clients: the value of
// the LANGUAGE parameter and the language of Code.Text.
type Language string

// The languages of the JS client. The CodeFile client knows DA and EN only
// (and takes them in lower case; the builder does that).
const (
	DA Language = "DA" // Danish, the default
	EN Language = "EN" // English
	KL Language = "KL" // Greenlandic (JS client only)
)

// codeInfo holds the texts of one code: a technical description for the
// service provider's developers and logs, and the user texts.
type codeInfo struct {
	description string
	da, en      string
}

// The user texts are DanID's (error-codes.properties of the TU example, BSD
// licence), with the placeholder for the service provider's name replaced by
// a generic noun so that a text can be shown as it is. The English texts are
// ours. There are no Greenlandic texts: KL falls back to Danish, as NemID's
// own pages did for texts they lacked.
var codes = map[Code]codeInfo{
	APP001: {
		description: "The parameters could not be used: not a JSON object of strings, a mandatory parameter missing, " +
			"an unsupported parameter or value, ORIGIN not matching the page, or PARAMS_DIGEST not matching the parameters.",
		da: "Der er opstået en teknisk fejl. Forsøg igen. Kontakt tjenesteudbyderen, hvis problemet fortsætter.",
		en: "A technical error has occurred. Please try again. Contact the service provider if the problem persists.",
	},
	APP002: {
		description: "The sign text is not allowed: HTML outside the whitelist, or a PDF document that does not match its hash.",
		da:          "Der er opstået en teknisk fejl. Forsøg igen. Kontakt tjenesteudbyderen, hvis problemet fortsætter.",
		en:          "A technical error has occurred. Please try again. Contact the service provider if the problem persists.",
	},
	APP007: {
		description: "A mandatory parameter is missing, a parameter is not recognised, or ORIGIN does not match the page's origin.",
		da:          "Der er opstået en teknisk fejl. Kontakt tjenesteudbyderen.",
		en:          "A technical error has occurred. Contact the service provider.",
	},
	APP008: {
		description: "The parameters form an invalid combination (for example CLIENTMODE=LIMITED with CREDENTIAL_UPDATE=ALIAS).",
		da:          "Der er opstået en teknisk fejl. Kontakt tjenesteudbyderen.",
		en:          "A technical error has occurred. Contact the service provider.",
	},
	SRV001: {
		description: "The signature on the client parameters (DIGEST_SIGNATURE) could not be verified.",
		da:          "Der er opstået en teknisk fejl. Forsøg igen. Kontakt tjenesteudbyderen, hvis problemet fortsætter.",
		en:          "A technical error has occurred. Please try again. Contact the service provider if the problem persists.",
	},
	SRV003: {
		description: "The TIMESTAMP of the parameters is not within the allowed time span (3 minutes either side of the server's clock).",
		da:          "Der er opstået en teknisk fejl. Forsøg igen. Kontakt tjenesteudbyderen, hvis problemet fortsætter.",
		en:          "A technical error has occurred. Please try again. Contact the service provider if the problem persists.",
	},
	SRV005: {
		description: "The service provider is not known: SP_CERT is not a valid VOCES registered for a service provider.",
		da:          "Der er opstået en teknisk fejl. Kontakt tjenesteudbyderen, hvis problemet fortsætter.",
		en:          "A technical error has occurred. Contact the service provider if the problem persists.",
	},
	SRV011: {
		description: "The transaction context (TRANSACTION_CONTEXT) is longer than 100 characters.",
		da:          "Der er opstået en teknisk fejl. Forsøg igen. Kontakt tjenesteudbyderen, hvis problemet fortsætter.",
		en:          "A technical error has occurred. Please try again. Contact the service provider if the problem persists.",
	},
}

// Known reports whether c is a code this package has texts for.
func (c Code) Known() bool {
	_, ok := codes[c]
	return ok
}

// Description is the technical meaning of the code, in English, for the
// service provider's developers and logs. Never show it to a user.
func (c Code) Description() string {
	if info, ok := codes[c]; ok {
		return info.description
	}
	return "Unknown NemID error code " + string(c) + "."
}

// Text is the text to show the user, in Danish for DA (and for KL, which has
// no texts of its own) and in English for EN. An unknown code gets a generic
// technical-error text. Language names are compared case-insensitively.
func (c Code) Text(lang Language) string {
	info, ok := codes[c]
	if !ok {
		info = codes[APP001] // the generic "technical error, try again" text
	}
	if upperASCII(string(lang)) == string(EN) {
		return info.en
	}
	return info.da
}

// String returns the code itself, e.g. "APP001".
func (c Code) String() string { return string(c) }
