package ooapi

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Challenge is the one-time value that a parameter set carries in
// SIGN_PROPERTIES ("challenge=<value>") and that NemID copies into the signed
// response. The service provider keeps it server-side (in the session) and
// accepts a response only if it carries the same challenge, once.
//
// A challenge made by this package is 128 bits from crypto/rand written as
// 32 lower-case hexadecimal digits: more entropy than DanID's example (a
// random Java long), and only characters that need no escaping in
// SIGN_PROPERTIES (whose pairs are separated by ";" and "="), in XML or in a
// URL.
type Challenge string

// NewChallenge returns a fresh random challenge.
func NewChallenge() (Challenge, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("ooapi: challenge: %w", err)
	}
	return Challenge(hex.EncodeToString(b[:])), nil
}

// Equal reports whether s is this challenge, in constant time. An empty
// challenge equals nothing.
func (c Challenge) Equal(s string) bool {
	if c == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(c), []byte(s)) == 1
}

// String returns the challenge.
func (c Challenge) String() string { return string(c) }

// timestampLayout is Java's SimpleDateFormat "yyyy-MM-dd HH:mm:ssZ".
const timestampLayout = "2006-01-02 15:04:05-0700"

// FormatTimestamp returns the TIMESTAMP value this package sends: base64 of
// the time in UTC written as "yyyy-MM-dd HH:mm:ss+0000", e.g.
// "MjAyMS0wMS0xOSAxNDo0NDowMCswMDAw" for 2021-01-19 14:44:00 UTC. It is one
// of the forms the spec lists as accepted (spec 2) and the one DanID's own
// example and NemID's banks sent; the same form serves the CodeFile client,
// which requires base64.
func FormatTimestamp(t time.Time) string {
	return base64.StdEncoding.EncodeToString([]byte(t.UTC().Format(timestampLayout)))
}

// zoneOffsets are the zone names a TIMESTAMP may end with, besides numeric
// offsets. NemID's examples use CEST; Go's time.Parse would read an unknown
// name as UTC without a word, so only these are accepted.
var zoneOffsets = map[string]int{"UTC": 0, "GMT": 0, "CET": 3600, "CEST": 7200}

// ParseTimestamp reads a TIMESTAMP value in every form NemID accepted (spec
// 2): plain or base64, either "yyyy-MM-dd HH:mm:ss" followed by a numeric
// zone (+0200), a zone name (UTC, GMT, CET, CEST) or nothing (then the time
// is in loc, the server's zone; nil means UTC), or milliseconds since
// 1970-01-01 UTC. A plain reading is tried before base64.
func ParseTimestamp(v string, loc *time.Location) (time.Time, error) {
	if loc == nil {
		loc = time.UTC
	}
	t, err := parseTimestampPlain(v, loc)
	if err == nil {
		return t, nil
	}
	dec, derr := base64.StdEncoding.Strict().DecodeString(v)
	if derr != nil {
		return time.Time{}, err
	}
	t, err2 := parseTimestampPlain(string(dec), loc)
	if err2 != nil {
		return time.Time{}, fmt.Errorf("%q (base64 of %q): %v", v, dec, err2)
	}
	return t, nil
}

func parseTimestampPlain(s string, loc *time.Location) (time.Time, error) {
	if s != "" && len(s) <= 15 && strings.Trim(s, "0123456789") == "" {
		ms, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, err
		}
		return time.UnixMilli(ms).UTC(), nil
	}
	const base = "2006-01-02 15:04:05"
	if len(s) < len(base) {
		return time.Time{}, fmt.Errorf("%q is neither yyyy-MM-dd HH:mm:ssZ nor milliseconds since 1970", s)
	}
	date, zone := s[:len(base)], s[len(base):]
	switch {
	case zone == "":
		return time.ParseInLocation(base, date, loc)
	case zone[0] == '+' || zone[0] == '-':
		return time.Parse(timestampLayout, s)
	}
	off, ok := zoneOffsets[zone]
	if !ok {
		return time.Time{}, fmt.Errorf("%q: unknown time zone %q (use a numeric offset such as +0100)", s, zone)
	}
	return time.ParseInLocation(base, date, time.FixedZone(zone, off))
}

// checkOrigin checks an ORIGIN value: scheme://host[:port] exactly as a
// browser reports a page's origin (lower case, host in punycode, no default
// port, nothing after the host), since the client compares it with the
// origin of the page that posts the parameters.
func checkOrigin(origin string) error {
	u, err := url.Parse(origin)
	if err != nil {
		return fmt.Errorf("ORIGIN %q is not a URL", origin)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return fmt.Errorf("ORIGIN %q: scheme must be https (or http)", origin)
	}
	if u.Host == "" || u.User != nil || u.Opaque != "" {
		return fmt.Errorf("ORIGIN %q: want scheme://host[:port]", origin)
	}
	if !isASCII(u.Host) {
		return fmt.Errorf("ORIGIN %q: give the host name in punycode (xn--…)", origin)
	}
	if port := u.Port(); (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		return fmt.Errorf("ORIGIN %q: leave out the default port, as browsers do", origin)
	}
	if want := u.Scheme + "://" + strings.ToLower(u.Host); origin != want {
		return fmt.Errorf("ORIGIN %q: want exactly %q (no path, query or trailing slash; lower case)", origin, want)
	}
	return nil
}

// checkSignTextURI checks SIGNTEXT_URI: an absolute http(s) URL.
func checkSignTextURI(uri string) error {
	u, err := url.Parse(uri)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("SIGNTEXT_URI %q is not an absolute http(s) URL", uri)
	}
	return nil
}

// decodeBase64 decodes the standard, padded base64 alphabet without line
// breaks, as NemID uses for every base64 parameter.
func decodeBase64(v string) ([]byte, error) {
	b, err := base64.StdEncoding.Strict().DecodeString(v)
	if err != nil || strings.ContainsAny(v, "\r\n") {
		return nil, errors.New("not base64 (standard alphabet, padded, no line breaks)")
	}
	return b, nil
}

// javaLength is the length of s as Java counts it (UTF-16 code units):
// NemID's limits on text were Java String lengths.
func javaLength(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r >= 0x10000 {
			n++
		}
	}
	return n
}
