package auth

import (
	_ "embed"
	"strings"
	"sync"
)

// commonPasswordsText is the list of refused common passwords, one a line,
// lower-case: the entries of Openwall's password.lst (Solar Designer,
// 1996–2011, "assumed to be in the public domain"; the most common
// passwords of 1990s Unix systems and of the 2006–2010 website leaks,
// most common first; Debian package john-data, /usr/share/john/password.lst)
// that NemID's other rules would let through: 6–40 characters with letters
// and digits, or a 4-digit code. Regenerate with
//
//	go test ./internal/auth -run TestCommonPasswordsFile -common-src /usr/share/john/password.lst
//
//go:embed common_passwords.txt
var commonPasswordsText string

var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{})
	for _, line := range strings.Split(commonPasswordsText, "\n") {
		if line != "" {
			set[line] = struct{}{}
		}
	}
	return set
})

// contextWords are words an attacker of this service tries first with a
// few digits around them (NIST SP 800-63B 3.1.1.2 names "context-specific
// words, such as the name of the service"): the service, the words for
// password and key card, the country and its capital. Ours, not from a list.
var contextWords = map[string]bool{
	"nemid": true, "danid": true, "nets": true, "mitid": true,
	"password": true, "passw": true, "adgangskode": true, "kodeord": true, "noeglekort": true, "noglekort": true,
	"danmark": true, "denmark": true, "kobenhavn": true, "koebenhavn": true, "copenhagen": true,
}

// isCommonPassword reports whether the normalised password is on the list,
// or is a context word with only digits and specials added to it.
func isCommonPassword(normalized string) bool {
	if _, ok := commonPasswords()[normalized]; ok {
		return true
	}
	var letters strings.Builder
	for i := 0; i < len(normalized); i++ {
		if c := normalized[i]; 'a' <= c && c <= 'z' {
			letters.WriteByte(c)
		} else if c >= 0x80 {
			return false
		}
	}
	return contextWords[letters.String()]
}
