package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// formatTag is the first field of every version-1 encoding.
const formatTag = "nemid-audit-v1"

// Encode returns a record's canonical encoding, the bytes its Hash is the
// SHA-256 of (see the package doc). Seq, Version, At, the Entry and PrevHash
// are encoded; Hash is not.
func Encode(r Record) ([]byte, error) {
	if r.Version != Version {
		return nil, fmt.Errorf("audit: record %d: encoding version %d is unknown to this nemid (it knows %d)", r.Seq, r.Version, Version)
	}
	var b bytes.Buffer
	field := func(v string) {
		b.WriteString(strconv.Itoa(len(v)))
		b.WriteByte(':')
		b.WriteString(v)
		b.WriteByte('\n')
	}
	field(formatTag)
	field(strconv.FormatInt(r.Seq, 10))
	field(r.PrevHash)
	field(strconv.FormatInt(r.At.UnixMicro(), 10))
	field(r.Actor)
	field(string(r.Action))
	field(r.Subject)
	field(string(r.Outcome))
	field(r.Code)
	field(strconv.Itoa(len(r.Detail)))
	for _, k := range sortedKeys(r.Detail) {
		field(k)
		field(r.Detail[k])
	}
	return b.Bytes(), nil
}

// Hash returns the lower-case hexadecimal SHA-256 of the record's encoding:
// what its Hash must be.
func Hash(r Record) (string, error) {
	enc, err := Encode(r)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(enc)
	return hex.EncodeToString(sum[:]), nil
}

// sortedKeys returns m's keys in ascending byte order (Go's string order).
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// encodeDetail writes the detail column: a JSON object with the keys in
// ascending order and no space, its strings escaping only '"' and '\'
// (Validate refuses control characters, the only others JSON needs escaped).
// Written here rather than by encoding/json so that the form is this
// package's and cannot change with a library: decodeDetail insists on it.
func encodeDetail(d map[string]string) string {
	var b strings.Builder
	str := func(s string) {
		b.WriteByte('"')
		for i := 0; i < len(s); i++ {
			if s[i] == '"' || s[i] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(s[i])
		}
		b.WriteByte('"')
	}
	b.WriteByte('{')
	for i, k := range sortedKeys(d) {
		if i > 0 {
			b.WriteByte(',')
		}
		str(k)
		b.WriteByte(':')
		str(d[k])
	}
	b.WriteByte('}')
	return b.String()
}

// decodeDetail reads the detail column. The text must be exactly what
// encodeDetail writes for the object it holds: an edit that leaves the
// decoded value alone (a duplicated key, a reordering, an escape) is still
// an edit of the log, and a reader of the raw column must see what was hashed.
func decodeDetail(s string) (map[string]string, error) {
	var d map[string]string
	if err := json.Unmarshal([]byte(s), &d); err != nil || d == nil {
		return nil, errDetailUnreadable
	}
	if encodeDetail(d) != s {
		return nil, errDetailUnreadable
	}
	if len(d) == 0 {
		return nil, nil
	}
	return d, nil
}
