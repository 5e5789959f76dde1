package auth

import (
	"strings"
	"unicode/utf8"
)

// NemID's rules for passwords and aliases (spec section 10.1), each broken
// rule a distinct *UserError.

// Password and alias lengths, in characters.
const (
	PINLength         = 4
	MinPasswordLength = 6
	MaxPasswordLength = 40
	MinAliasLength    = 5
	MaxAliasLength    = 48
)

// allowedSpecials are the characters besides a–z, A–Z, 0–9 and the blank
// that passwords and aliases may hold (spec 10.1). The spec's list shows a
// typographic ’, read here as the ASCII apostrophe a keyboard types.
const allowedSpecials = `{}!#"$'%^&,*()_+-=:;?.@`

// Rules a new password can break.
var (
	ErrPasswordTooShort = userError("password-too-short",
		"Adgangskoden skal være på mindst 6 tegn (eller 4 cifre).",
		"The password must be at least 6 characters long (or 4 digits).")
	ErrPasswordTooLong = userError("password-too-long",
		"Adgangskoden må højst være på 40 tegn.",
		"The password must be at most 40 characters long.")
	ErrPasswordBlankEnds = userError("password-blank-ends",
		"Adgangskoden må ikke begynde eller slutte med et mellemrum.",
		"The password must not begin or end with a space.")
	ErrPasswordDanishLetter = userError("password-danish-letter",
		"Adgangskoden må ikke indeholde æ, ø eller å.",
		"The password must not contain æ, ø or å.")
	ErrPasswordCharacter = userError("password-character",
		"Adgangskoden indeholder et tegn, der ikke er tilladt. Brug a-z, 0-9, mellemrum og "+allowedSpecials,
		"The password contains a character that is not allowed. Use a-z, 0-9, spaces and "+allowedSpecials)
	ErrPasswordNeedsLetter = userError("password-needs-letter",
		"Adgangskoden skal indeholde både bogstaver og tal: der mangler et bogstav.",
		"The password must contain both letters and digits: a letter is missing.")
	ErrPasswordNeedsDigit = userError("password-needs-digit",
		"Adgangskoden skal indeholde både bogstaver og tal: der mangler et tal.",
		"The password must contain both letters and digits: a digit is missing.")
	ErrPasswordRepeats = userError("password-repeats",
		"Adgangskoden må ikke have det samme tegn 4 gange i træk.",
		"The password must not have the same character 4 times in a row.")
	ErrPasswordContainsCPR = userError("password-contains-cpr",
		"Adgangskoden må ikke indeholde dit CPR-nummer.",
		"The password must not contain your CPR number.")
	ErrPasswordContainsNemID = userError("password-contains-nemid",
		"Adgangskoden må ikke indeholde dit NemID-nummer.",
		"The password must not contain your NemID number.")
	ErrPasswordContainsAlias = userError("password-contains-alias",
		"Adgangskoden må ikke indeholde dit bruger-id.",
		"The password must not contain your user ID.")
	ErrPasswordCommon = userError("password-common",
		"Adgangskoden er blandt de mest brugte og er let at gætte. Vælg en anden.",
		"The password is among the most used ones and easy to guess. Please choose another.")

	ErrPINNeedsKeyCard = userError("pin-needs-key-card",
		"En adgangskode på 4 cifre kan kun bruges sammen med et nøglekort.",
		"A 4-digit password can only be used together with a key card.")
	ErrPINSameDigits = userError("pin-same-digits",
		"De 4 cifre må ikke være ens.",
		"The 4 digits must not all be the same.")
	ErrPINRun = userError("pin-run",
		"De 4 cifre må ikke være en række som 1234 eller 4321.",
		"The 4 digits must not be a run such as 1234 or 4321.")
	ErrPINInCPR = userError("pin-in-cpr",
		"De 4 cifre må ikke være en del af dit CPR-nummer.",
		"The 4 digits must not be part of your CPR number.")
)

// Rules a new alias can break.
var (
	ErrAliasTooShort = userError("alias-too-short",
		"Bruger-id skal være på mindst 5 tegn.",
		"The user ID must be at least 5 characters long.")
	ErrAliasTooLong = userError("alias-too-long",
		"Bruger-id må højst være på 48 tegn.",
		"The user ID must be at most 48 characters long.")
	ErrAliasBlankEnds = userError("alias-blank-ends",
		"Bruger-id må ikke begynde eller slutte med et mellemrum.",
		"The user ID must not begin or end with a space.")
	ErrAliasDanishLetter = userError("alias-danish-letter",
		"Bruger-id må ikke indeholde æ, ø eller å.",
		"The user ID must not contain æ, ø or å.")
	ErrAliasCharacter = userError("alias-character",
		"Bruger-id indeholder et tegn, der ikke er tilladt. Brug a-z, 0-9, mellemrum og "+allowedSpecials,
		"The user ID contains a character that is not allowed. Use a-z, 0-9, spaces and "+allowedSpecials)
	ErrAliasLikeNumber = userError("alias-like-number",
		"Bruger-id må ikke ligne et NemID-nummer eller et CPR-nummer.",
		"The user ID must not look like a NemID number or a CPR number.")
	ErrAliasTaken = userError("alias-taken",
		"Bruger-id er allerede i brug. Vælg et andet.",
		"The user ID is taken. Please choose another.")
)

// PasswordOwner is what the password rules need to know of the user.
type PasswordOwner struct {
	CPR   string // 10 digits
	NemID string // 9 digits
	Alias string // "" if none
	// HasKeyCard: a 4-digit password is allowed only with a key card.
	HasKeyCard bool
}

// CheckPassword checks a new password against NemID's rules: either a
// 4-digit code (key-card users only; not 4 equal digits, not a run such as
// 1234 or 4321, not part of the CPR number), or 6–40 characters of a–z,
// 0–9, blanks and the allowed specials, with letters and digits, without
// the same character 4 times in a row, without a blank at either end, and
// without the user's CPR number, NemID number or alias. Passwords are
// case-insensitive, so every comparison is too. Finally the password must
// not be one of the most common ones. It returns the first rule broken.
func CheckPassword(password string, owner PasswordOwner) error {
	if len(password) == PINLength && allDigits(password) {
		return checkPIN(password, owner)
	}
	if err := checkPasswordShape(password); err != nil {
		return err
	}
	lower := NormalizePassword(password)
	cpr := owner.CPR
	switch {
	case len(cpr) == 10 && (strings.Contains(lower, cpr) || strings.Contains(lower, cpr[:6]+"-"+cpr[6:])):
		return ErrPasswordContainsCPR
	case owner.NemID != "" && strings.Contains(lower, owner.NemID):
		return ErrPasswordContainsNemID
	case owner.Alias != "" && strings.Contains(lower, NormalizePassword(owner.Alias)):
		return ErrPasswordContainsAlias
	case isCommonPassword(lower):
		return ErrPasswordCommon
	}
	return nil
}

// checkPasswordShape checks the rules of a 6–40 character password that
// do not depend on the user; the common-password list holds only passwords
// that pass it.
func checkPasswordShape(password string) error {
	if strings.TrimSpace(password) != password {
		return ErrPasswordBlankEnds
	}
	switch n := utf8.RuneCountInString(password); {
	case n < MinPasswordLength:
		return ErrPasswordTooShort
	case n > MaxPasswordLength:
		return ErrPasswordTooLong
	}
	if err := checkCharacters(password, ErrPasswordDanishLetter, ErrPasswordCharacter); err != nil {
		return err
	}
	var letter, digit bool
	for i := 0; i < len(password); i++ {
		c := password[i]
		letter = letter || isASCIILetter(c)
		digit = digit || ('0' <= c && c <= '9')
	}
	switch {
	case !letter:
		return ErrPasswordNeedsLetter
	case !digit:
		return ErrPasswordNeedsDigit
	case hasRepeat(NormalizePassword(password), 4):
		return ErrPasswordRepeats
	}
	return nil
}

// runs holds every 4-digit run: four consecutive digits up or down, where
// 0 follows 9 (7890 and 0987, as on a keyboard's number row).
const (
	runUp   = "01234567890"
	runDown = "09876543210"
)

func checkPIN(pin string, owner PasswordOwner) error {
	if !owner.HasKeyCard {
		return ErrPINNeedsKeyCard
	}
	if err := checkPINShape(pin); err != nil {
		return err
	}
	switch {
	case owner.CPR != "" && strings.Contains(owner.CPR, pin):
		return ErrPINInCPR
	case isCommonPassword(pin):
		return ErrPasswordCommon
	}
	return nil
}

// checkPINShape checks the rules of a 4-digit code that do not depend on
// the user; the common-password list holds only codes that pass it.
func checkPINShape(pin string) error {
	switch {
	case strings.Count(pin, pin[:1]) == PINLength:
		return ErrPINSameDigits
	case strings.Contains(runUp, pin) || strings.Contains(runDown, pin):
		return ErrPINRun
	}
	return nil
}

// CheckAlias checks a new alias against NemID's rules: 5–48 characters of
// a–z, 0–9, blanks and the allowed specials, no blank at either end, and
// not confusable with a NemID or CPR number (a 9- or 10-digit number,
// however it is spaced or dashed). Whether it is taken is the store's
// answer (ErrAliasTaken).
func CheckAlias(alias string) error {
	if strings.TrimSpace(alias) != alias {
		return ErrAliasBlankEnds
	}
	switch n := utf8.RuneCountInString(alias); {
	case n < MinAliasLength:
		return ErrAliasTooShort
	case n > MaxAliasLength:
		return ErrAliasTooLong
	}
	if err := checkCharacters(alias, ErrAliasDanishLetter, ErrAliasCharacter); err != nil {
		return err
	}
	// Only digits and separators: read as a number by a person, and by
	// Resolve if it were 9 or 10 digits without them.
	digits := 0
	for i := 0; i < len(alias); i++ {
		switch c := alias[i]; {
		case isASCIILetter(c):
			return nil
		case '0' <= c && c <= '9':
			digits++
		}
	}
	if digits == 9 || digits == 10 {
		return ErrAliasLikeNumber
	}
	return nil
}

// checkCharacters allows a–z, A–Z, 0–9, the blank and allowedSpecials,
// and names æ, ø and å apart because NemID's rules did.
func checkCharacters(s string, danish, other *UserError) error {
	for _, r := range s {
		switch {
		case strings.ContainsRune("æøåÆØÅ", r):
			return danish
		case r < utf8.RuneSelf && (isASCIILetter(byte(r)) || ('0' <= r && r <= '9') || r == ' ' ||
			strings.ContainsRune(allowedSpecials, r)):
		default:
			return other
		}
	}
	return nil
}

// hasRepeat reports whether s has one byte n times in a row.
func hasRepeat(s string, n int) bool {
	run := 1
	for i := 1; i < len(s); i++ {
		if s[i] == s[i-1] {
			run++
			if run >= n {
				return true
			}
		} else {
			run = 1
		}
	}
	return false
}

func isASCIILetter(c byte) bool { return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// NormalizePassword is what is hashed and compared: NemID passwords are
// case-insensitive, so A–Z become a–z. Only ASCII letters are changed:
// the rules allow no other letters, and a logon with any other character
// simply fails to match. Everything else that derives a key from a
// password (the key vault's wrapping) must apply this same function.
func NormalizePassword(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}
