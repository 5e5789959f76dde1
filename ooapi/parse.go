package ooapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// Limits of ParseParameters. They are ours, not NemID's (which published
// none): generous for any real parameter set, small enough that a hostile one
// costs little.
const (
	// MaxParametersSize is the largest JSON text accepted, in bytes. An
	// inline PDF sign text is the only large member; 16 MiB of JSON holds a
	// PDF of about 12 MB.
	MaxParametersSize = 16 << 20
	// MaxParameters is the largest number of members accepted. The JS client
	// knows 24 parameters.
	MaxParameters = 64
	// MaxNameLength is the longest parameter name accepted, in bytes.
	MaxNameLength = 64
)

// ParseError says why a parameter text is not a parameter set. Its Code is
// APP001, what the client answered for parameters it could not read.
type ParseError struct {
	Code   Code
	Reason string
	err    error // the cause, if an error of its own (such as ErrDuplicateName)
}

func (e *ParseError) Error() string { return "ooapi: " + string(e.Code) + ": parameters: " + e.Reason }

// Unwrap returns the cause, so that errors.Is(err, ErrDuplicateName) works.
func (e *ParseError) Unwrap() error { return e.err }

func parseErr(format string, args ...any) error {
	return &ParseError{Code: APP001, Reason: fmt.Sprintf(format, args...)}
}

// ParseParameters reads the JSON text of a parameter set (the content of the
// script element, or of the client's "parameters" message) strictly: it must
// be one JSON object, at most MaxParametersSize bytes of valid UTF-8, with at
// most MaxParameters members, whose names are non-empty (at most
// MaxNameLength bytes) and unique under NemID's case-insensitive comparison
// and whose values are all strings; nothing but white space may follow it.
// Every failure is a *ParseError. The set keeps the members' order.
//
// ParseParameters checks only the form; VerifyParameters checks the content
// (names, values, digest, signature, certificate, timestamp).
func ParseParameters(data []byte) (*ParameterSet, error) {
	if len(data) > MaxParametersSize {
		return nil, parseErr("%d bytes, more than the %d accepted", len(data), MaxParametersSize)
	}
	// encoding/json would quietly turn invalid UTF-8 into U+FFFD, and the
	// digest would then cover text that was never sent.
	if !utf8.Valid(data) {
		return nil, parseErr("not valid UTF-8")
	}
	// encoding/json turns a lone surrogate escape such as \ud800 into
	// U+FFFD too, while Java (NemID) kept the surrogate and digested it as
	// "?": the two sides would disagree on the digest.
	if err := checkSurrogateEscapes(data); err != nil {
		return nil, parseErr("%v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, parseErr("not JSON: %v", jsonErr(err))
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, parseErr("not a JSON object (starts with %s)", describeToken(tok))
	}
	var params []Param
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, parseErr("not JSON: %v", jsonErr(err))
		}
		name, ok := tok.(string)
		if !ok {
			return nil, parseErr("member name is %s", describeToken(tok)) // cannot happen: the decoder checks
		}
		if name == "" {
			return nil, parseErr("a member has an empty name")
		}
		if len(name) > MaxNameLength {
			return nil, parseErr("member name %.20q… is longer than %d bytes", name, MaxNameLength)
		}
		if len(params) == MaxParameters {
			return nil, parseErr("more than %d members", MaxParameters)
		}
		tok, err = dec.Token()
		if err != nil {
			return nil, parseErr("not JSON: %v", jsonErr(err))
		}
		value, ok := tok.(string)
		if !ok {
			return nil, parseErr("the value of %s is %s; every value must be a JSON string", name, describeToken(tok))
		}
		params = append(params, Param{Name: name, Value: value})
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, parseErr("not JSON: %v", jsonErr(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, parseErr("data after the JSON object")
	}
	ps, err := newParameterSet(params)
	if err != nil {
		return nil, &ParseError{Code: APP001, Reason: err.Error(), err: err}
	}
	return ps, nil
}

// describeToken names a JSON token for an error message.
func describeToken(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			return "an object"
		case '[':
			return "an array"
		}
		return fmt.Sprintf("%q", string(v))
	case string:
		return "a string"
	case float64, json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", tok)
}

func jsonErr(err error) error {
	if errors.Is(err, io.EOF) {
		return errors.New("unexpected end of input")
	}
	return err
}

// checkSurrogateEscapes rejects \uXXXX escapes of UTF-16 surrogates that do
// not form a pair. Backslashes occur only inside strings in valid JSON, so
// the raw text can be scanned without tracking strings; invalid JSON is left
// to the decoder.
func checkSurrogateEscapes(data []byte) error {
	escape := func(i int) (rune, bool) { // the \uXXXX at data[i:], if any
		if i+6 > len(data) || data[i] != '\\' || data[i+1] != 'u' {
			return 0, false
		}
		r, err := strconv.ParseUint(string(data[i+2:i+6]), 16, 16)
		return rune(r), err == nil
	}
	for i := 0; i < len(data); i++ {
		if data[i] != '\\' {
			continue
		}
		r, ok := escape(i)
		if !ok {
			i++ // a two-character escape such as \\ or \"
			continue
		}
		switch {
		case 0xD800 <= r && r < 0xDC00:
			if low, ok := escape(i + 6); ok && 0xDC00 <= low && low < 0xE000 {
				i += 11
				continue
			}
			return fmt.Errorf("the escape %s is half a UTF-16 surrogate pair", data[i:i+6])
		case 0xDC00 <= r && r < 0xE000:
			return fmt.Errorf("the escape %s is half a UTF-16 surrogate pair", data[i:i+6])
		}
		i += 5
	}
	return nil
}
