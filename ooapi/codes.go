package ooapi

import (
	"slices"
	"strings"
)

// Code is a NemID client error code (spec section 5), such as APP001 or
// SRV003. It is the one typed value shared by the NemID server side and this
// library: the client answers a service provider with base64 of the bare code,
// and VerifyParameters reports every problem with the code NemID returns for
// it.
type Code string

// The client error codes of spec section 5: the union of the lists of
// DanID's OOAPI 1.214.1 for Java and of OOAPI.NET, and the code-app codes
// (CAPP). Parameter checking (VerifyParameters) produces APP001, APP002,
// APP007, APP008, SRV001, SRV003, SRV005 and SRV011; the others are answered
// by the NemID client and servers. The meanings follow DanID's error-code
// table (spec section 5).
const (
	// APP001: the parameters could not be parsed (not a JSON object of
	// strings), a value is not supported, or PARAMS_DIGEST does not match.
	APP001 Code = "APP001"
	// APP002: the sign text is not allowed (HTML outside the whitelist, a
	// PDF that does not match its hash).
	APP002 Code = "APP002"
	// APP003: an unrecoverable internal error in the client.
	APP003 Code = "APP003"
	// APP004: the client could not resume an existing session and
	// ALLOW_STEPUP is not TRUE (other clients: NO_FALLBACK is set).
	APP004 Code = "APP004"
	// APP005: the user did not trust the certificate that signs the client
	// (Java applet era only).
	APP005 Code = "APP005"
	// APP007: a mandatory parameter is missing, a parameter is not
	// recognised, or ORIGIN does not match the page's origin.
	APP007 Code = "APP007"
	// APP008: an invalid combination of parameters.
	APP008 Code = "APP008"
	// APP009: an invalid HSession.
	APP009 Code = "APP009"
	// APP010: the JavaScript client could not start.
	APP010 Code = "APP010"

	// AUTH001: too many pin-code attempts; the pin code is revoked.
	AUTH001 Code = "AUTH001"
	// AUTH003: the user has no agreement with the bank.
	AUTH003 Code = "AUTH003"
	// AUTH004: the OTP device is quarantined (8 hours) since an earlier
	// session.
	AUTH004 Code = "AUTH004"
	// AUTH005: the OTP device is locked permanently since an earlier session
	// (too many wrong passwords).
	AUTH005 Code = "AUTH005"
	// AUTH006: the user has used all OTP codes and has no new card on the way.
	AUTH006 Code = "AUTH006"
	// AUTH007: the password is revoked (compromised, or too many wrong OTP
	// codes in an earlier session).
	AUTH007 Code = "AUTH007"
	// AUTH008: the OTP device is not activated and has no active temporary
	// password.
	AUTH008 Code = "AUTH008"
	// AUTH009: the session could not be resumed and single sign-on failed.
	AUTH009 Code = "AUTH009"
	// AUTH010: the user answered an OTP challenge that was not the latest
	// (parallel sessions).
	AUTH010 Code = "AUTH010"
	// AUTH011: a temporary password was used on the mobile client.
	AUTH011 Code = "AUTH011"
	// AUTH012: the user answered an expired OTP challenge.
	AUTH012 Code = "AUTH012"
	// AUTH013: split 2-factor authentication is not possible.
	AUTH013 Code = "AUTH013"
	// AUTH014: in the Java OOAPI 1.214.1 list only; meaning unknown.
	AUTH014 Code = "AUTH014"
	// AUTH015: in the Java OOAPI 1.214.1 list only; meaning unknown.
	AUTH015 Code = "AUTH015"
	// AUTH016: in the Java OOAPI 1.214.1 list only; meaning unknown.
	AUTH016 Code = "AUTH016"
	// AUTH017: an error in the user's environment (browser, plug-ins).
	AUTH017 Code = "AUTH017"
	// AUTH018: the code app was revoked between the request and its approval.
	AUTH018 Code = "AUTH018"
	// AUTH019: PREVENT_OTP_CARD is set and the user has no code app or key
	// token.
	AUTH019 Code = "AUTH019"
	// AUTH020: too many 1-factor (self-contained) logons; use 2-factor.
	AUTH020 Code = "AUTH020"

	// CAN001: the user cancelled a flow started with a temporary password,
	// which is no longer valid.
	CAN001 Code = "CAN001"
	// CAN002: the user pressed Cancel.
	CAN002 Code = "CAN002"
	// CAN003: the client timed out for inactivity (mobile client: the user
	// switched app).
	CAN003 Code = "CAN003"
	// CAN004: the bank app logged out during the flow.
	CAN004 Code = "CAN004"
	// CAN005: the code app did not answer in time.
	CAN005 Code = "CAN005"
	// CAN006: code-app enrolment cancelled: the user has the maximum number
	// of active code apps.
	CAN006 Code = "CAN006"
	// CAN007: the user rejected the request in the code app.
	CAN007 Code = "CAN007"
	// CAN008: the code-app request was overwritten by a newer one.
	CAN008 Code = "CAN008"

	// CAPP001: code-app enrolment violates the app's restricted identity
	// type.
	CAPP001 Code = "CAPP001"
	// CAPP002: code-app enrolment violates the suspension rules.
	CAPP002 Code = "CAPP002"
	// CAPP003: code-app enrolment: the app id is not active.
	CAPP003 Code = "CAPP003"
	// CAPP004: the code app used to approve is suspended or revoked.
	CAPP004 Code = "CAPP004"
	// CAPP006: code-app activation: the app is not found for the user who
	// logged on.
	CAPP006 Code = "CAPP006"
	// CAPP007: code-app activation: the app's status is not
	// VALIDATION_MISSING.
	CAPP007 Code = "CAPP007"
	// CAPP008: code-app activation: the waiting period has not expired.
	CAPP008 Code = "CAPP008"
	// CAPP009: code-app activation: the waiting period has not expired (as
	// CAPP008; the difference is not documented).
	CAPP009 Code = "CAPP009"
	// CAPP010: the code app's pin could not be reset: the app is not active.
	CAPP010 Code = "CAPP010"
	// CAPP011: the admin action challenge failed validation.
	CAPP011 Code = "CAPP011"
	// CAPP012: code-app enrolment: the app id does not exist.
	CAPP012 Code = "CAPP012"
	// CAPP013: code-app enrolment: wrong or not whitelisted software
	// fingerprint.
	CAPP013 Code = "CAPP013"

	// LIB002: a network or communication error.
	LIB002 Code = "LIB002"

	// LOCK001: too many wrong passwords; the OTP device is quarantined for 8
	// hours (in this session).
	LOCK001 Code = "LOCK001"
	// LOCK002: too many wrong passwords; the OTP device is locked
	// permanently (in this session).
	LOCK002 Code = "LOCK002"
	// LOCK003: too many wrong OTP codes; the OTP device is revoked (in this
	// session).
	LOCK003 Code = "LOCK003"

	// OCES001: the user opted out of OCES (NemID for online banking only)
	// and the service provider requires OCES.
	OCES001 Code = "OCES001"
	// OCES002: the user is not OCES-qualified.
	OCES002 Code = "OCES002"
	// OCES003: the OTP device used has no OCES, another of the user's has.
	OCES003 Code = "OCES003"
	// OCES004: the user cannot be OCES-qualified (no CPR number, under 15,
	// or a bank-employee identity).
	OCES004 Code = "OCES004"
	// OCES005: a certificate had to be issued and issuing it failed.
	OCES005 Code = "OCES005"
	// OCES006: the user has only inaccessible or inactive OCES, or none.
	OCES006 Code = "OCES006"

	// SRV001: DIGEST_SIGNATURE does not verify with the key in SP_CERT.
	SRV001 Code = "SRV001"
	// SRV002: the authentication request could not be parsed.
	SRV002 Code = "SRV002"
	// SRV003: TIMESTAMP is outside the allowed window (±3 minutes).
	SRV003 Code = "SRV003"
	// SRV004: an unrecoverable internal error in the NemID servers.
	SRV004 Code = "SRV004"
	// SRV005: the service provider is not known (SP_CERT is not an
	// acceptable, registered VOCES).
	SRV005 Code = "SRV005"
	// SRV006: the server lost the client's session (idle too long).
	SRV006 Code = "SRV006"
	// SRV007: an obsolete version of the CSP or mobile client.
	SRV007 Code = "SRV007"
	// SRV008: the server requires identity protection in the SAML request.
	SRV008 Code = "SRV008"
	// SRV009: in the Java OOAPI 1.214.1 list only; meaning unknown.
	SRV009 Code = "SRV009"
	// SRV010: the requested client is not available to the service provider.
	SRV010 Code = "SRV010"
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

// The Danish user texts are DanID's wherever DanID published one:
//
//   - error-codes.properties of DanID's TU example ("Copyright (c) 2010,
//     DanID A/S", BSD licence; GitHub jpramming/nets-tuexample, file
//     src/main/resources/error-codes.properties) for every code it lists;
//   - for APP005, which that table no longer has, the text of DanID's
//     applet-era table as copied into ml-archive/nodes-php-nemid
//     (src/Login/Errors/errors.php, MIT; it keeps DanID's [TU] placeholder).
//
// They are changed only so that a text can be shown as it is: the
// placeholder for the service provider's name becomes "tjenesteudbyderen",
// the one for its app's name "appen"; the bracketed links are dropped (NemID
// support's contact page is named as "NemID support", an order page as "på
// nemid.nu", and AUTH011's link to the service provider's logon page
// becomes "igen"); and slips are mended (AUTH018 "spørret", the missing full
// stops of CAN005 and LOCK001, CAN006's unfinished last sentence).
//
// DanID published no texts for AUTH014–AUTH016, CAPP001–CAPP003,
// CAPP006–CAPP013 and SRV009. The Danish texts of the CAPP codes are ours
// (davideluque/nemid has Danish CAPP texts, but they read as that gem's own
// translation of English descriptions, not as DanID's). The meaning of
// AUTH014–AUTH016 and SRV009 is not known, so they get generic texts: SRV009
// DanID's technical-error text of the other SRV codes, AUTH014–AUTH016 a
// text of ours that sends the user to NemID support.
//
// All English texts are ours. There are no Greenlandic texts: KL falls back
// to Danish, as NemID's own pages did for texts they lacked.
var codes = map[Code]codeInfo{
	APP001: {
		description: "The parameters could not be used: not a JSON object of strings, a mandatory parameter missing, " +
			"an unsupported parameter or value, ORIGIN not matching the page, or PARAMS_DIGEST not matching the parameters.",
		da: daTechRetryContactSP,
		en: enTechRetryContactSP,
	},
	APP002: {
		description: "The sign text is not allowed: HTML outside the whitelist, or a PDF document that does not match its hash.",
		da:          daTechRetryContactSP,
		en:          enTechRetryContactSP,
	},
	APP003: {
		description: "An unrecoverable internal error occurred in the client (the client reports its stack trace to NemID).",
		da:          daTechContactSupport,
		en:          enTechContactSupport,
	},
	APP004: {
		description: "The client could not resume the user's existing session and ALLOW_STEPUP is not TRUE " +
			"(other clients: the NO_FALLBACK parameter is set).",
		da: "Der er opstået en teknisk fejl. Kontakt tjenesteudbyderen, hvis problemet fortsætter.",
		en: "A technical error has occurred. Contact the service provider if the problem persists.",
	},
	APP005: {
		description: "The user chose not to trust the certificate that signs the client (the Java applet; not sent by the JavaScript client).",
		da:          "Du har ikke givet tilladelse til at NemID login kan køre på din computer. Du skal give tilladelse for at kunne logge på.",
		en:          "You have not allowed NemID log-on to run on your computer. You must allow it to be able to log on.",
	},
	APP007: {
		description: "A mandatory parameter is missing, a parameter is not recognised, or ORIGIN does not match the page's origin.",
		da:          daTechContactSP,
		en:          enTechContactSP,
	},
	APP008: {
		description: "The parameters form an invalid combination (for example CLIENTMODE=LIMITED with CREDENTIAL_UPDATE=ALIAS).",
		da:          daTechContactSP,
		en:          enTechContactSP,
	},
	APP009: {
		description: "The HSession is invalid.",
		da:          daTechRetryContactSP,
		en:          enTechRetryContactSP,
	},
	APP010: {
		description: "The JavaScript client could not start.",
		da:          daTechRetry,
		en:          enTechRetry,
	},

	AUTH001: {
		description: "The number of allowed pin-code attempts was exceeded and the pin code is revoked. The client has told the user.",
		da:          "Dit NemID er spærret. Kontakt NemID support.",
		en:          "Your NemID is blocked. Please contact NemID support.",
	},
	AUTH003: {
		description: "The user has no agreement with the bank (bank logon flows).",
		da:          "Login er gennemført korrekt, men du har ikke en bankaftale. Kontakt din bank for at høre nærmere.",
		en:          "You have logged on correctly, but you do not have an agreement with the bank. Please contact your bank for details.",
	},
	AUTH004: {
		description: "The user's OTP device is quarantined after too many failed attempts in an earlier session; the quarantine lasts 8 hours.",
		da:          "Dit NemID er midlertidigt låst i 8 timer og du kan ikke logge på før spærringen er ophævet.",
		en:          "Your NemID is temporarily locked for 8 hours, and you cannot log on until the lock has been lifted.",
	},
	AUTH005: {
		description: "The user's OTP device is locked permanently after too many failed password attempts in an earlier session.",
		da:          "Dit NemID er spærret. Kontakt venligst NemID-support.",
		en:          "Your NemID has been blocked. Please contact NemID support.",
	},
	AUTH006: {
		description: "The user has used all the OTP codes of the code card and has no new card on the way.",
		da:          "Du har brugt alle nøgler på nøglekortet. Du kan bestille et nyt på siden Mistet nøglekort på nemid.nu.",
		en:          "You have used all the codes on your code card. You can order a new one on the Lost code card page at nemid.nu.",
	},
	AUTH007: {
		description: "The user's password is revoked, because it was marked as compromised or after too many failed OTP attempts " +
			"in an earlier session.",
		da: "Din NemID-adgangskode er spærret på grund af for mange fejlede forsøg. Kontakt NemID support.",
		en: "Your NemID password is blocked because of too many failed attempts. Please contact NemID support.",
	},
	AUTH008: {
		description: "The user's OTP device is not activated and has no active temporary password (activation pin code).",
		da:          "Dit NemID er ikke aktivt og du skal bestille en ny midlertidig adgangskode til aktivering hos support. Ring til NemID support.",
		en:          "Your NemID is not active, and you must order a new temporary password from support to activate it. Please call NemID support.",
	},
	AUTH009: {
		description: "The client could not resume the user's session (logged on with one factor only, timed out, or tampered with) " +
			"and single sign-on failed. Reload the client so that the user can log on again.",
		da: daTechRetry,
		en: enTechRetry,
	},
	AUTH010: {
		description: "The user answered an OTP challenge that was not the latest issued, probably using the device in several sessions at once. " +
			"Reload the client.",
		da: "Der er opstået en teknisk fejl. Tjek at kun ét NemID login er aktivt og forsøg igen.",
		en: "A technical error has occurred. Please make sure that only one NemID log-on is in progress, and try again.",
	},
	AUTH011: {
		description: "The user logged on with a temporary password (activation pin code) on the mobile client, which does not support it.",
		da: "NemID på mobil understøtter ikke brug af midlertidig adgangskode. Kontakt NemID support for at få en ny kode udstedt. " +
			"Log derefter på med NemID igen.",
		en: "NemID on mobile does not support temporary passwords. Please contact NemID support to have a new one issued. " +
			"Then log on with NemID again.",
	},
	AUTH012: {
		description: "The user answered an expired OTP challenge. Reload the client.",
		da:          daTechRetry,
		en:          enTechRetry,
	},
	AUTH013: {
		description: "Split 2-factor authentication is not possible. Reload the client for normal 2-factor authentication.",
		da:          daTechRetry,
		en:          enTechRetry,
	},
	AUTH014: {
		description: "Meaning not known (UNCERTAIN): listed only by DanID's Java OOAPI 1.214.1, with no description. The texts are generic.",
		da:          daErrorRetryContactSupport,
		en:          enErrorRetryContactSupport,
	},
	AUTH015: {
		description: "Meaning not known (UNCERTAIN): listed only by DanID's Java OOAPI 1.214.1, with no description. The texts are generic.",
		da:          daErrorRetryContactSupport,
		en:          enErrorRetryContactSupport,
	},
	AUTH016: {
		description: "Meaning not known (UNCERTAIN): listed only by DanID's Java OOAPI 1.214.1, with no description. The texts are generic.",
		da:          daErrorRetryContactSupport,
		en:          enErrorRetryContactSupport,
	},
	AUTH017: {
		description: "An error in the user's environment (browser settings, plug-ins) stopped the client. Suggest another browser.",
		da:          "En teknisk fejl i browseren gør at NemID ikke kan starte. Forsøg at slå unødige plug-ins fra, eller prøv igen med en anden browser.",
		en:          "A technical problem in your browser prevents NemID from starting. Please turn off unneeded plug-ins, or try again with another browser.",
	},
	AUTH018: {
		description: "The code app was revoked between the start of the request and the user's approval in the app.",
		da:          "Din nøgleapp er spærret. For at bruge den igen skal den genaktiveres.",
		en:          "Your code app is blocked. To use it again, you must reactivate it.",
	},
	AUTH019: {
		description: "PREVENT_OTP_CARD is in effect and the user has no alternative to the code card (no code app, no key token).",
		da:          "Det er ikke muligt at logge ind med nøglekort, brug anden løsning nøgleapp eller nøgleviser.",
		en:          "You cannot log on with a code card here. Please use your code app or code token instead.",
	},
	AUTH020: {
		description: "Too many self-contained (1-factor) logons; the user must log on with 2 factors.",
		da:          "Kunne ikke logge ind med 1-faktor, prøv med 2-faktor login.",
		en:          "Logging on with one factor failed. Please log on with two factors.",
	},

	CAN001: {
		description: "The user cancelled a flow started with a temporary password (activation pin code), which is no longer valid. " +
			"Not sent when the user leaves the page.",
		da: "Du har afbrudt aktiveringen efter du har brugt den midlertidige adgangskode. Din midlertidige adgangskode er ikke længere gyldig, " +
			"og du skal bestille en ny midlertidig adgangskode, før du kan aktivere og bruge NemID. " +
			"Den nye, midlertidige adgangskode kan du bestille via NemID-support.",
		en: "You cancelled the activation after using your temporary password. The temporary password is no longer valid, " +
			"and you must order a new one before you can activate and use NemID. You can order it from NemID support.",
	},
	CAN002: {
		description: "The user pressed Cancel. Not sent when the user leaves the page. Send the user somewhere sensible.",
		da:          "Du har afbrudt login.",
		en:          "You have cancelled the log-on.",
	},
	CAN003: {
		description: "The client timed out for user inactivity and the flow was cancelled (mobile client: the user switched to another app).",
		da:          "Forbindelsen til applikationen er timet ud eller er blevet afbrudt af en anden app. Forsøg igen.",
		en:          "The connection timed out or was interrupted by another app. Please try again.",
	},
	CAN004: {
		description: "The bank app called logout during the flow.",
		da:          "Sessionen er afbrudt. Forsøg igen.",
		en:          "The session was interrupted. Please try again.",
	},
	CAN005: {
		description: "No answer came from the code app in time. Not sent when the user leaves the page.",
		da:          "Det tog for lang tid, før du godkendte den anmodning, du havde sendt til din nøgleapp.",
		en:          "It took too long before you approved the request sent to your code app.",
	},
	CAN006: {
		description: "Code-app enrolment was cancelled: the user already has the maximum number (3) of active code apps.",
		da: "Du kan højst have 3 aktive nøgleapps ad gangen. Hvis du vil aktivere en ny nøgleapp, skal du først spærre en af dine nuværende " +
			"på nemid.nu eller ved at kontakte NemID support.",
		en: "You can have at most 3 active code apps at a time. To activate a new code app, first block one of your current ones " +
			"at nemid.nu or by contacting NemID support.",
	},
	CAN007: {
		description: "The user rejected the request in the code app.",
		da: "Du har afvist din anmodning om godkendelse i din nøgleapp. Hvis det var en fejl, kan du sende en ny anmodning, " +
			"når du har afsluttet ved at klikke på ”Ok”.",
		en: "You rejected the request for approval in your code app. If that was a mistake, you can send a new request " +
			"after finishing by clicking \"OK\".",
	},
	CAN008: {
		description: "The request was cancelled because a newer request to the code app overwrote its notification. Offer a restart.",
		da:          "Du har sendt en ny anmodning til godkendelse i din nøgleapp, som overskriver en eksisterende.",
		en:          "You have sent a new request for approval to your code app, which replaces an earlier one.",
	},

	CAPP001: {
		description: "Code-app enrolment failed: it would violate the app's restricted identity type.",
		da:          "Nøgleappen kan ikke bruges med denne type NemID. Kontakt NemID support, hvis du har spørgsmål.",
		en:          "The code app cannot be used with this type of NemID. Contact NemID support if you have questions.",
	},
	CAPP002: {
		description: "Code-app enrolment failed: it would violate the suspension rules.",
		da:          "Din nøgleapp kunne ikke aktiveres, fordi den er suspenderet. Kontakt NemID support for at få hjælp.",
		en:          "Your code app could not be activated because it is suspended. Contact NemID support for help.",
	},
	CAPP003: {
		description: "Code-app enrolment failed: the app id is not in status active.",
		da:          "Din nøgleapp kunne ikke tilknyttes, fordi den ikke er aktiv. Start aktiveringen af nøgleappen forfra.",
		en:          "Your code app could not be enrolled because it is not active. Please start the activation of the code app again.",
	},
	CAPP004: {
		description: "The user tried to approve with a code app that is suspended or revoked.",
		da:          "Din nøgleapp er suspenderet eller spærret. Prøv at opdatere din nøgleapp.",
		en:          "Your code app is suspended or blocked. Please try updating your code app.",
	},
	CAPP006: {
		description: "Code-app activation failed: the app was not found for the user who logged on.",
		da:          "Nøgleappen findes ikke på det NemID, du loggede på med. Tjek, at du bruger det rigtige NemID, og forsøg igen.",
		en:          "The code app was not found on the NemID you logged on with. Please check that you are using the right NemID, and try again.",
	},
	CAPP007: {
		description: "Code-app activation failed: the app does not have the status VALIDATION_MISSING.",
		da:          "Din nøgleapp kunne ikke aktiveres, fordi den ikke afventer aktivering. Start aktiveringen af nøgleappen forfra.",
		en:          "Your code app could not be activated because it is not awaiting activation. Please start the activation of the code app again.",
	},
	CAPP008: {
		description: "Code-app activation failed: the waiting period has not expired.",
		da:          "Din nøgleapp kan ikke aktiveres endnu, fordi ventetiden ikke er udløbet. Forsøg igen senere.",
		en:          "Your code app cannot be activated yet because the waiting period has not expired. Please try again later.",
	},
	CAPP009: {
		description: "Code-app activation failed: the waiting period has not expired (the same meaning as CAPP008; the difference is not documented).",
		da:          "Din nøgleapp kan ikke aktiveres endnu, fordi ventetiden ikke er udløbet. Forsøg igen senere.",
		en:          "Your code app cannot be activated yet because the waiting period has not expired. Please try again later.",
	},
	CAPP010: {
		description: "The code app's pin could not be reset: the app is not in status active.",
		da:          "Pinkoden til din nøgleapp kunne ikke nulstilles, fordi nøgleappen ikke er aktiv.",
		en:          "The PIN of your code app could not be reset because the code app is not active.",
	},
	CAPP011: {
		description: "The validation of the admin action challenge failed.",
		da:          "Handlingen kunne ikke godkendes. Forsøg igen.",
		en:          "The action could not be approved. Please try again.",
	},
	CAPP012: {
		description: "Code-app enrolment failed: the app id does not exist.",
		da:          "Din nøgleapp kunne ikke findes. Installer og aktiver nøgleappen igen.",
		en:          "Your code app could not be found. Please install and activate the code app again.",
	},
	CAPP013: {
		description: "Code-app enrolment failed: the app's software fingerprint is wrong or not whitelisted.",
		da:          "Din nøgleapp kunne ikke godkendes. Opdater nøgleappen til den nyeste version, og forsøg igen.",
		en:          "Your code app could not be approved. Please update the code app to the latest version, and try again.",
	},

	LIB002: {
		description: "A network or communication error occurred.",
		da:          "Der er opstået en teknisk fejl på grund af netværksproblemer. Forsøg igen. Kontakt tjenesteudbyderen, hvis problemet fortsætter.",
		en:          "A technical error has occurred because of network problems. Please try again. Contact the service provider if the problem persists.",
	},

	LOCK001: {
		description: "The user entered a wrong password too many times; the OTP device is now quarantined for 8 hours. " +
			"Sent in the session that started the quarantine.",
		da: "Du har angivet forkert bruger-id eller adgangskode for mange gange. NemID er nu spærret i 8 timer, hvorefter du kan forsøge igen. " +
			"Har du glemt din adgangskode kan du finde hjælp hos NemID support.",
		en: "You have entered a wrong user ID or password too many times. Your NemID is now locked for 8 hours, after which you can try again. " +
			"If you have forgotten your password, NemID support can help you.",
	},
	LOCK002: {
		description: "The user entered a wrong password too many times; the OTP device is now locked permanently. " +
			"Sent in the session that started the lock.",
		da: "Du har angivet en forkert adgangskode for mange gange. Dit NemID er spærret. Kontakt NemID support for at få adgang til dit NemID igen.",
		en: "You have entered a wrong password too many times. Your NemID is blocked. Contact NemID support to regain access to your NemID.",
	},
	LOCK003: {
		description: "The user exceeded the allowed number of OTP code attempts; the OTP device is now revoked. " +
			"Sent in the session that revoked it.",
		da: "Du har angivet forkert NemID nøgle for mange gange. Dit NemID er spærret. Kontakt NemID support for at få adgang til dit NemID igen.",
		en: "You have entered a wrong NemID code too many times. Your NemID is blocked. Contact NemID support to regain access to your NemID.",
	},

	OCES001: {
		description: "The user has opted out of OCES (NemID for online banking only), but the service provider requires OCES.",
		da: "Du har kun NemID til netbank. Ønsker du at bruge NemID til andre hjemmesider, " +
			"skal du tilknytte en offentlig digital signatur til dit NemID.",
		en: "Your NemID is for online banking only. To use NemID on other websites, you must add a public digital signature to your NemID.",
	},
	OCES002: {
		description: "The user is not OCES-qualified, but the service provider requires OCES.",
		da: "Ønsker du at bruge NemID til andet end netbank, skal du først tilknytte en offentlig digital signatur. " +
			"Det kan du gøre ved at lave en almindelig NemID bestilling. Bestil NemID på nemid.nu.",
		en: "To use NemID for anything other than online banking, you must first add a public digital signature. " +
			"You do that by placing an ordinary NemID order. Order NemID at nemid.nu.",
	},
	OCES003: {
		description: "The OTP device used to log on has no OCES, but another OTP device of the user has.",
		da: "Der er ikke tilknyttet en offentlig digital signatur til det NemID du har forsøgt at logge på med. " +
			"Hvis du tidligere har logget ind hos os med NemID, kan fejlen skyldes, at du har flere NemID, og har brugt et andet end normalt.",
		en: "No public digital signature is attached to the NemID you tried to log on with. " +
			"If you have logged on here with NemID before, you may have more than one NemID and have used a different one than usual.",
	},
	OCES004: {
		description: "The user cannot be OCES-qualified: no CPR number, younger than 15, or a bank-employee identity.",
		da:          "Du kan kun bruge dette NemID til netbank.",
		en:          "You can only use this NemID for online banking.",
	},
	OCES005: {
		description: "A new certificate had to be issued to complete the operation, and a technical error occurred while issuing it.",
		da:          "Udstedelsen af din offentlige digitale signatur mislykkedes. Forsøg venligst igen. Hvis problemet fortsætter, kontakt NemID support.",
		en:          "Issuing your public digital signature failed. Please try again. If the problem persists, contact NemID support.",
	},
	OCES006: {
		description: "The user has only inaccessible or inactive OCES on all OTP devices, or no OCES at all.",
		da: "Du har ikke en aktiv offentlig digital signatur tilknyttet NemID i øjeblikket. " +
			"Ved bestilling af NemID vil du blive tilbudt at knytte en signatur til dit nuværende NemID. Bestil NemID på nemid.nu.",
		en: "You do not currently have an active public digital signature attached to your NemID. " +
			"When you order NemID, you will be offered to attach one to your current NemID. Order NemID at nemid.nu.",
	},

	SRV001: {
		description: "The signature on the client parameters (DIGEST_SIGNATURE) could not be verified.",
		da:          daTechRetryContactSP,
		en:          enTechRetryContactSP,
	},
	SRV002: {
		description: "The authentication request could not be parsed by NemID.",
		da:          daTechRetryContactSP,
		en:          enTechRetryContactSP,
	},
	SRV003: {
		description: "The TIMESTAMP of the parameters is not within the allowed time span (3 minutes either side of the server's clock).",
		da:          daTechRetryContactSP,
		en:          enTechRetryContactSP,
	},
	SRV004: {
		description: "An unrecoverable internal error occurred in the NemID servers.",
		da:          daTechContactSupport,
		en:          enTechContactSupport,
	},
	SRV005: {
		description: "The service provider is not known: SP_CERT is not a valid VOCES registered for a service provider.",
		da:          "Der er opstået en teknisk fejl. Kontakt tjenesteudbyderen, hvis problemet fortsætter.",
		en:          "A technical error has occurred. Contact the service provider if the problem persists.",
	},
	SRV006: {
		description: "The server lost the session it had with the client, typically because the client was left idle for a long time.",
		da:          "Tidsgrænse er overskredet. Forsøg venligst igen.",
		en:          "The time limit was exceeded. Please try again.",
	},
	SRV007: {
		description: "The user has an obsolete version of the CSP or the mobile client.",
		da:          "Opdater venligst til nyeste version af appen.",
		en:          "Please update to the latest version of the app.",
	},
	SRV008: {
		description: "The server requires identity protection to be enabled in the SAML request.",
		da:          daTechContactSP,
		en:          enTechContactSP,
	},
	SRV009: {
		description: "Meaning not known (UNCERTAIN): listed only by DanID's Java OOAPI 1.214.1, with no description. The texts are generic.",
		da:          daTechRetryContactSP,
		en:          enTechRetryContactSP,
	},
	SRV010: {
		description: "The requested client is not available to the service provider (check the enrolment and validity of its VOCES).",
		da:          daTechRetryContactSP,
		en:          enTechRetryContactSP,
	},
	SRV011: {
		description: "The transaction context (TRANSACTION_CONTEXT) is longer than 100 characters.",
		da:          daTechRetryContactSP,
		en:          enTechRetryContactSP,
	},
}

// User texts shared by several codes.
const (
	daTechRetryContactSP = "Der er opstået en teknisk fejl. Forsøg igen. Kontakt tjenesteudbyderen, hvis problemet fortsætter."
	enTechRetryContactSP = "A technical error has occurred. Please try again. Contact the service provider if the problem persists."
	daTechContactSP      = "Der er opstået en teknisk fejl. Kontakt tjenesteudbyderen."
	enTechContactSP      = "A technical error has occurred. Contact the service provider."
	daTechRetry          = "Der er opstået en teknisk fejl. Forsøg igen."
	enTechRetry          = "A technical error has occurred. Please try again."
	daTechContactSupport = "Der er opstået en teknisk fejl. Kontakt NemID support."
	enTechContactSupport = "A technical error has occurred. Please contact NemID support."

	// Ours, for the AUTH codes of unknown meaning.
	daErrorRetryContactSupport = "Der er opstået en fejl. Forsøg igen. Kontakt NemID support, hvis problemet fortsætter."
	enErrorRetryContactSupport = "An error has occurred. Please try again. Contact NemID support if the problem persists."
)

// Codes returns every code this package knows, sorted.
func Codes() []Code {
	list := make([]Code, 0, len(codes))
	for c := range codes {
		list = append(list, c)
	}
	slices.Sort(list)
	return list
}

// ParseCode recognises a client error code as the NemID client sends it: the
// bare code (after base64 decoding), in upper case, perhaps with white space
// around it. It tells an error-code response from an XML response.
//
// s, trimmed, must be 3 or 4 upper-case ASCII letters followed by 3 digits;
// otherwise ParseCode returns "" and false. A code of that shape is returned
// whether known or not, and ok reports whether it is known (see Codes).
// Codes are matched exactly: "app001" is not a code.
func ParseCode(s string) (c Code, ok bool) {
	s = strings.TrimSpace(s)
	if !codeShaped(s) {
		return "", false
	}
	c = Code(s)
	return c, c.Known()
}

// codeShaped reports whether s is 3 or 4 upper-case ASCII letters followed by
// 3 ASCII digits.
func codeShaped(s string) bool {
	if len(s) != 6 && len(s) != 7 {
		return false
	}
	letters := len(s) - 3
	for i := 0; i < len(s); i++ {
		c := s[i]
		if i < letters && !('A' <= c && c <= 'Z') || i >= letters && !('0' <= c && c <= '9') {
			return false
		}
	}
	return true
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
