package web

import (
	"maps"
	"strings"

	"github.com/nemid-dk/nemid/ooapi"
)

// text is one entry of the client's catalogue in its three languages.
type text struct{ da, en, kl string }

// allowedSpecials are the characters besides letters, digits and the blank
// that passwords and aliases may hold (spec 10.1); the auth package names
// them in its rule texts, which the "auth.*" entries repeat.
const allowedSpecials = `{}!#"$'%^&,*()_+-=:;?.@`

// catalogue holds every text the JS client shows. Keys are what the page's
// data-t attributes, the script and the server (Text) use. Texts may hold
// the placeholders {sp}, {card} and {key}, which the script fills in.
//
// The Danish and English texts of the "auth.*" entries are those of the
// auth package's user errors (a test holds them equal). The Greenlandic
// texts are our own translation and have not been checked by a native
// speaker.
var catalogue = map[string]text{
	// The frame around every screen.
	"loading": {"Henter NemID …", "Loading NemID …", "NemID aallarnerneqarpoq …"},
	"busy":    {"Vent venligst …", "Please wait …", "Utaqqigit …"},
	"cancel":  {"Afbryd", "Cancel", "Taamaatiguk"},
	"noScript": {
		"NemID kræver JavaScript.",
		"NemID requires JavaScript.",
		"NemID JavaScript-imik atuinngikkuni atorsinnaanngilaq.",
	},
	"logonTitle": {
		"Log på hos {sp}",
		"Log on to {sp}",
		"Iserit: {sp}",
	},
	"signTitle": {
		"Underskriv hos {sp}",
		"Sign for {sp}",
		"Atsiorit: {sp}",
	},

	// The sign text.
	"signTextFrame": {"Tekst til underskrift", "Text to sign", "Atsiugassaq"},
	"signTextIntro": {
		"Læs teksten, før du underskriver.",
		"Read the text before you sign.",
		"Atsiunngikkallaruit allagaq atuaruk.",
	},
	"continue": {"Videre", "Continue", "Ingerlaqqigit"},

	// User-id and password.
	"userId": {"Bruger-id", "User ID", "Atuisup kinaassusia"},
	"userIdHint": {
		"NemID-nummer, CPR-nummer eller dit eget bruger-id",
		"NemID number, CPR number or your own user ID",
		"NemID-normut, CPR-normut imaluunniit atuisup kinaassusia nammineq toqqakkat",
	},
	"password": {"Adgangskode", "Password", "Isissutissaq"},
	"remember": {"Husk mig", "Remember me", "Eqqaamanga"},
	"next":     {"Næste", "Next", "Ingerlaqqigit"},

	// The one-time code.
	"keyCard":   {"Nøglekort", "Code card", "Kodekorti"},
	"keyNumber": {"Nøgle nr.", "Key no.", "Kodep normua"},
	"code":      {"Nøgle", "Code", "Kode"},
	"codeHint": {
		"Find nøglen ud for nøgle nr. {key} på dit nøglekort: 6 cifre.",
		"Find the code next to key no. {key} on your code card: 6 digits.",
		"Kodekortinni kodep normuata {key}-p saniani kode ujaruk: kisitsisit 6.",
	},
	"logOn": {"Log på", "Log on", "Iserit"},
	"sign":  {"Underskriv", "Sign", "Atsiorit"},

	// Choosing a password after a temporary one.
	"activateTitle": {"Vælg din adgangskode", "Choose your password", "Isissutissat toqqaruk"},
	"activateIntro": {
		"Du har logget på med en midlertidig adgangskode. Vælg nu din egen adgangskode.",
		"You have logged on with a temporary password. Now choose your own password.",
		"Isissutissaq killilimmik atuuttoq atorlugu iserputit. Maanna isissutissat nammineq toqqaruk.",
	},
	// Changing the password (and alias) the service provider asked for
	// (CREDENTIAL_UPDATE), after the code.
	"updateTitle": {"Skift din adgangskode", "Change your password", "Isissutissat allanngortiguk"},
	"updateIntro": {
		"Tjenesteudbyderen beder dig vælge en ny adgangskode.",
		"The service provider asks you to choose a new password.",
		"Kiffartuussisup isissutissamik nutaamik toqqaanissat kissaatigaa.",
	},
	"currentPassword": {"Nuværende adgangskode", "Current password", "Isissutissaq maannakkut atorneqartoq"},
	"newPassword":     {"Ny adgangskode", "New password", "Isissutissaq nutaaq"},
	"repeatPassword":  {"Gentag adgangskoden", "Repeat the password", "Isissutissaq uteqqiguk"},
	"passwordRules": {
		"6–40 tegn med både bogstaver og tal, eller 4 cifre. Ikke æ, ø eller å.",
		"6–40 characters with both letters and digits, or 4 digits. No æ, ø or å.",
		"Naqinnerit 6–40, naqinnerit kisitsisillu, imaluunniit kisitsisit 4. æ, ø, å atorneqassanngillat.",
	},
	"alias": {"Bruger-id (valgfrit)", "User ID (optional)", "Atuisup kinaassusia (toqqarsinnaavat)"},
	"aliasRules": {
		"5–48 tegn, ikke æ, ø eller å. Må ikke ligne et CPR- eller NemID-nummer.",
		"5–48 characters, no æ, ø or å. It must not look like a CPR or NemID number.",
		"Naqinnerit 5–48, æ, ø, å atorneqassanngillat. CPR-normutut NemID-normututluunniit isikkoqassanngilaq.",
	},
	"save": {"Gem", "Save", "Toqqoruk"},

	// The end.
	"doneLogon": {"Logget på", "Logged on", "Iserputit"},
	"doneSign":  {"Underskrevet", "Signed", "Atsiorneqarpoq"},

	// Answers the user may correct. The server sends the first four in
	// retry answers; the client checks the last three itself.
	"wrongCredentials": {
		"Forkert bruger-id eller adgangskode.",
		"Wrong user ID or password.",
		"Atuisup kinaassusia imaluunniit isissutissaq kukkuvoq.",
	},
	"wrongCode": {
		"Forkert nøgle. Prøv igen.",
		"Wrong code. Please try again.",
		"Kode kukkuvoq. Misileeqqiguk.",
	},
	"technicalError": {
		"Der er opstået en teknisk fejl. Forsøg igen.",
		"A technical error has occurred. Please try again.",
		"Kukkuneq teknikkimut tunngasoq pivoq. Misileeqqiguk.",
	},
	"passwordMismatch": {
		"De to adgangskoder er ikke ens.",
		"The two passwords do not match.",
		"Isissutissat marluk assigiinngillat.",
	},
	"fieldRequired": {"Udfyld feltet.", "Please fill in this field.", "Immersoruk."},
	"codeFormat": {
		"Nøglen består af 6 cifre.",
		"The code is 6 digits.",
		"Kode kisitsisinik 6-inik imaqassaaq.",
	},

	// The auth package's user errors, by ID.
	"auth.invalid-credentials": {
		"Forkert bruger-id eller adgangskode.",
		"Wrong user ID or password.",
		"Atuisup kinaassusia imaluunniit isissutissaq kukkuvoq.",
	},
	"auth.too-many-attempts": {
		"Der er for mange samtidige forsøg på at logge på. Prøv igen om lidt.",
		"There are too many attempts to log on at the same time. Please try again in a moment.",
		"Iserniarnerit ataatsikkut amerlavallaarput. Kingusinnerusukkut misileeqqiguk.",
	},
	"auth.wrong-code": {
		"Forkert nøgle. Prøv igen.",
		"Wrong code. Please try again.",
		"Kode kukkuvoq. Misileeqqiguk.",
	},
	"auth.password-too-short": {
		"Adgangskoden skal være på mindst 6 tegn (eller 4 cifre).",
		"The password must be at least 6 characters long (or 4 digits).",
		"Isissutissaq minnerpaamik naqinnernik 6-inik (imaluunniit kisitsisinik 4-nik) imaqassaaq.",
	},
	"auth.password-too-long": {
		"Adgangskoden må højst være på 40 tegn.",
		"The password must be at most 40 characters long.",
		"Isissutissaq annerpaamik naqinnernik 40-nik imaqarsinnaavoq.",
	},
	"auth.password-blank-ends": {
		"Adgangskoden må ikke begynde eller slutte med et mellemrum.",
		"The password must not begin or end with a space.",
		"Isissutissap aallarnerani naggataanilu akunnilersuuteqassanngilaq.",
	},
	"auth.password-danish-letter": {
		"Adgangskoden må ikke indeholde æ, ø eller å.",
		"The password must not contain æ, ø or å.",
		"Isissutissami æ, ø imaluunniit å atorneqassanngillat.",
	},
	"auth.password-character": {
		"Adgangskoden indeholder et tegn, der ikke er tilladt. Brug a-z, 0-9, mellemrum og " + allowedSpecials,
		"The password contains a character that is not allowed. Use a-z, 0-9, spaces and " + allowedSpecials,
		"Isissutissami naqinneq akuerisaanngitsoq atorneqarpoq. Atoruk a-z, 0-9, akunnilersuut aamma " + allowedSpecials,
	},
	"auth.password-needs-letter": {
		"Adgangskoden skal indeholde både bogstaver og tal: der mangler et bogstav.",
		"The password must contain both letters and digits: a letter is missing.",
		"Isissutissaq naqinnernik kisitsisinillu imaqassaaq: naqinneq amigaatigineqarpoq.",
	},
	"auth.password-needs-digit": {
		"Adgangskoden skal indeholde både bogstaver og tal: der mangler et tal.",
		"The password must contain both letters and digits: a digit is missing.",
		"Isissutissaq naqinnernik kisitsisinillu imaqassaaq: kisitsit amigaatigineqarpoq.",
	},
	"auth.password-repeats": {
		"Adgangskoden må ikke have det samme tegn 4 gange i træk.",
		"The password must not have the same character 4 times in a row.",
		"Isissutissami naqinneq ataaseq 4-riarluni tulleriissanngilaq.",
	},
	"auth.password-contains-cpr": {
		"Adgangskoden må ikke indeholde dit CPR-nummer.",
		"The password must not contain your CPR number.",
		"Isissutissami CPR-normut ilaassanngilaq.",
	},
	"auth.password-contains-nemid": {
		"Adgangskoden må ikke indeholde dit NemID-nummer.",
		"The password must not contain your NemID number.",
		"Isissutissami NemID-normut ilaassanngilaq.",
	},
	"auth.password-contains-alias": {
		"Adgangskoden må ikke indeholde dit bruger-id.",
		"The password must not contain your user ID.",
		"Isissutissami atuisup kinaassusia ilaassanngilaq.",
	},
	"auth.password-common": {
		"Adgangskoden er blandt de mest brugte og er let at gætte. Vælg en anden.",
		"The password is among the most used ones and easy to guess. Please choose another.",
		"Isissutissaq tamanit atorneqartorujussuuvoq paasiuminarlunilu. Allamik toqqaagit.",
	},
	"auth.pin-needs-key-card": {
		"En adgangskode på 4 cifre kan kun bruges sammen med et nøglekort.",
		"A 4-digit password can only be used together with a key card.",
		"Isissutissaq kisitsisinik 4-nik kodekortimik atuinermi kisimi atorneqarsinnaavoq.",
	},
	"auth.pin-same-digits": {
		"De 4 cifre må ikke være ens.",
		"The 4 digits must not all be the same.",
		"Kisitsisit 4-t assigiissanngillat.",
	},
	"auth.pin-run": {
		"De 4 cifre må ikke være en række som 1234 eller 4321.",
		"The 4 digits must not be a run such as 1234 or 4321.",
		"Kisitsisit 4-t tulleriissanngillat, soorlu 1234 imaluunniit 4321.",
	},
	"auth.pin-in-cpr": {
		"De 4 cifre må ikke være en del af dit CPR-nummer.",
		"The 4 digits must not be part of your CPR number.",
		"Kisitsisit 4-t CPR-normunni ilaassanngillat.",
	},
	"auth.alias-too-short": {
		"Bruger-id skal være på mindst 5 tegn.",
		"The user ID must be at least 5 characters long.",
		"Atuisup kinaassusia minnerpaamik naqinnernik 5-inik imaqassaaq.",
	},
	"auth.alias-too-long": {
		"Bruger-id må højst være på 48 tegn.",
		"The user ID must be at most 48 characters long.",
		"Atuisup kinaassusia annerpaamik naqinnernik 48-nik imaqarsinnaavoq.",
	},
	"auth.alias-blank-ends": {
		"Bruger-id må ikke begynde eller slutte med et mellemrum.",
		"The user ID must not begin or end with a space.",
		"Atuisup kinaassusiata aallarnerani naggataanilu akunnilersuuteqassanngilaq.",
	},
	"auth.alias-danish-letter": {
		"Bruger-id må ikke indeholde æ, ø eller å.",
		"The user ID must not contain æ, ø or å.",
		"Atuisup kinaassusiani æ, ø imaluunniit å atorneqassanngillat.",
	},
	"auth.alias-character": {
		"Bruger-id indeholder et tegn, der ikke er tilladt. Brug a-z, 0-9, mellemrum og " + allowedSpecials,
		"The user ID contains a character that is not allowed. Use a-z, 0-9, spaces and " + allowedSpecials,
		"Atuisup kinaassusiani naqinneq akuerisaanngitsoq atorneqarpoq. Atoruk a-z, 0-9, akunnilersuut aamma " + allowedSpecials,
	},
	"auth.alias-like-number": {
		"Bruger-id må ikke ligne et NemID-nummer eller et CPR-nummer.",
		"The user ID must not look like a NemID number or a CPR number.",
		"Atuisup kinaassusia NemID-normutut CPR-normututluunniit isikkoqassanngilaq.",
	},
	"auth.alias-taken": {
		"Bruger-id er allerede i brug. Vælg et andet.",
		"The user ID is taken. Please choose another.",
		"Atuisup kinaassusia taanna atorneqareerpoq. Allamik toqqaagit.",
	},
}

// normLanguage maps a language name, in any case, to DA, EN or KL; anything
// else is DA, the client's default.
func normLanguage(lang ooapi.Language) ooapi.Language {
	switch l := ooapi.Language(strings.ToUpper(string(lang))); l {
	case ooapi.EN, ooapi.KL:
		return l
	default:
		return ooapi.DA
	}
}

// in returns the entry's text in a language already normalised.
func (t text) in(lang ooapi.Language) string {
	switch lang {
	case ooapi.EN:
		return t.en
	case ooapi.KL:
		return t.kl
	default:
		return t.da
	}
}

// textsByLanguage holds the catalogue split by language, built once.
var textsByLanguage = func() map[ooapi.Language]map[string]string {
	byLang := make(map[ooapi.Language]map[string]string, 3)
	for _, lang := range []ooapi.Language{ooapi.DA, ooapi.EN, ooapi.KL} {
		m := make(map[string]string, len(catalogue))
		for key, t := range catalogue {
			if s := t.in(lang); s != "" {
				m[key] = s
			}
		}
		byLang[lang] = m
	}
	return byLang
}()

// Texts returns the client's whole catalogue in lang ("DA", "EN" or "KL", in
// any case; anything else gives Danish), for the start answer of the
// client's API. The map is the caller's own copy.
func Texts(lang ooapi.Language) map[string]string {
	return maps.Clone(textsByLanguage[normLanguage(lang)])
}

// Text returns one entry of the catalogue in lang; an entry the language
// lacks falls back to Danish, and an unknown key to the key itself, so a
// missing text shows up as a visible name rather than as nothing.
func Text(lang ooapi.Language, key string) string {
	if s, ok := textsByLanguage[normLanguage(lang)][key]; ok {
		return s
	}
	if s, ok := textsByLanguage[ooapi.DA][key]; ok {
		return s
	}
	return key
}
