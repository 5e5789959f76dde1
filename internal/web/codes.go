package web

import "github.com/nemid-dk/nemid/ooapi"

// Greenlandic texts of the client error codes. ooapi has Danish and English
// texts only. Like the catalogue, these are our own translation and have not
// been checked by a native speaker.
//
// klByCode holds the texts written for one code; klByDanish translates the
// generic technical-error texts that many codes share, found by their Danish
// wording, so every code with such a text has a Greenlandic one too.
var (
	klByCode = map[ooapi.Code]string{
		ooapi.CAN001: "Taamaatitsivutit isissutissaq killilimmik atuuttoq atoreerlugu. " +
			"Isissutissaq taanna atorsinnaajunnaarpoq, NemID-illu atorsinnaalersinnagu isissutissaq " +
			"killilimmik atuuttoq nutaaq piniartariaqarpat. NemID support-imit piniarsinnaavat.",
		ooapi.CAN002: "Isernerit taamaatippat.",
		ooapi.CAN003: "Piffissaq qaangiuppoq imaluunniit attaveqaat app-imit allamit kipitinneqarpoq. Misileeqqiguk.",
		ooapi.LOCK001: "Atuisup kinaassusia imaluunniit isissutissaq kukkusoq amerlavallaartumik allappat. " +
			"NemID-it nalunaaquttap akunnerini 8-ni parnaarneqarpoq, taava misileeqqissinnaavutit. " +
			"Isissutissat puigorsimagukku NemID support ikiorsinnaavaatit.",
		ooapi.LOCK002: "Isissutissaq kukkusoq amerlavallaartumik allappat. NemID-it parnaarneqarpoq. " +
			"NemID-it atorsinnaaqqinniarukku NemID support attavigiuk.",
		ooapi.LOCK003: "NemID-ip kodia kukkusoq amerlavallaartumik allappat. NemID-it parnaarneqarpoq. " +
			"NemID-it atorsinnaaqqinniarukku NemID support attavigiuk.",
		ooapi.AUTH004: "NemID-it nalunaaquttap akunnerini 8-ni parnaarneqarpoq. Parnaarneq atorunnaarsinnagu isersinnaanngilatit.",
		ooapi.AUTH005: "NemID-it parnaarneqarpoq. NemID support attavigiuk.",
		ooapi.AUTH007: "NemID-ip isissutissaa misiliinerit kukkusut amerlavallaarmata parnaarneqarpoq. NemID support attavigiuk.",
		ooapi.AUTH008: "NemID-it atuutinngilaq. Atuutilersinniarukku isissutissaq killilimmik atuuttoq nutaaq " +
			"NemID support-imit piniartariaqarpat. NemID support sianerfigiuk.",
		ooapi.AUTH010: "Kukkuneq teknikkimut tunngasoq pivoq. NemID-imut isernermik ataatsimik kisimi " +
			"ingerlatsisoqarnersoq misissoruk, misileeqqillutillu.",
		ooapi.SRV006: "Piffissaliussaq qaangiuppoq. Misileeqqiguk.",
	}

	klByDanish = map[string]string{
		"Der er opstået en teknisk fejl. Forsøg igen. Kontakt tjenesteudbyderen, hvis problemet fortsætter.": "Kukkuneq teknikkimut tunngasoq pivoq. Misileeqqiguk. Ajornartorsiut nangippat kiffartuussisoq attavigiuk.",
		"Der er opstået en teknisk fejl. Kontakt tjenesteudbyderen.":                                         "Kukkuneq teknikkimut tunngasoq pivoq. Kiffartuussisoq attavigiuk.",
		"Der er opstået en teknisk fejl. Forsøg igen.":                                                       "Kukkuneq teknikkimut tunngasoq pivoq. Misileeqqiguk.",
		"Der er opstået en teknisk fejl. Kontakt NemID support.":                                             "Kukkuneq teknikkimut tunngasoq pivoq. NemID support attavigiuk.",
		"Der er opstået en teknisk fejl. Kontakt tjenesteudbyderen, hvis problemet fortsætter.":              "Kukkuneq teknikkimut tunngasoq pivoq. Ajornartorsiut nangippat kiffartuussisoq attavigiuk.",
	}
)

// CodeText is the text the client shows for a client error code: ooapi's
// Code.Text in Danish and English; in Greenlandic our own text where we have
// one, else the Danish text (as NemID's pages did for texts they lacked).
// Language names are compared case-insensitively; an unknown language is
// Danish.
func CodeText(lang ooapi.Language, c ooapi.Code) string {
	lang = normLanguage(lang)
	if lang != ooapi.KL {
		return c.Text(lang)
	}
	if s, ok := klByCode[c]; ok {
		return s
	}
	da := c.Text(ooapi.DA)
	if s, ok := klByDanish[da]; ok {
		return s
	}
	return da
}
