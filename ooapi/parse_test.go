package ooapi

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParseParameters(t *testing.T) {
	ps, err := ParseParameters([]byte(` {"b":"2", "A":"1","esc":"\u00e6\n\"<\\ud800\ud83d\ude00"} ` + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Param{{"b", "2"}, {"A", "1"}, {"esc", "æ\n\"<\\ud800😀"}}
	got := ps.Params()
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("member %d = %v, want %v (order must be kept)", i, got[i], want[i])
		}
	}
	if v, ok := ps.Get("a"); !ok || v != "1" {
		t.Errorf("Get(a) = %q, %v", v, ok)
	}
	if string(ps.JSON()) != `{"b":"2","A":"1","esc":"æ\n\"\u003c\\ud800😀"}` {
		t.Errorf("JSON %s", ps.JSON())
	}
	if ps.Client() != JSClient {
		t.Errorf("client %s", ps.Client())
	}
	cf, err := ParseParameters([]byte(`{"CLIENTFLOW":"login"}`))
	if err != nil || cf.Client() != CodeFileClient {
		t.Errorf("CodeFile set: %v, %v", cf, err)
	}
}

func TestParseParametersRejects(t *testing.T) {
	var members []string
	for i := 0; i <= MaxParameters; i++ {
		members = append(members, fmt.Sprintf(`"p%d":""`, i))
	}
	many := "{" + strings.Join(members, ",") + "}"
	for _, tc := range []struct{ in, want string }{
		{``, "end of input"},
		{`[]`, "not a JSON object"},
		{`"x"`, "not a JSON object"},
		{`{"a":1}`, "a number"},
		{`{"a":null}`, "null"},
		{`{"a":true}`, "a boolean"},
		{`{"a":{"b":"c"}}`, "an object"},
		{`{"a":["b"]}`, "an array"},
		{`{"a":"b","A":"c"}`, "duplicate"},
		{`{"a":"b","a":"c"}`, "duplicate"},
		{`{"":"b"}`, "empty name"},
		{`{"a":"b"}{}`, "after the JSON object"},
		{`{"a":"b"} x`, "after the JSON object"},
		{`{"a":"b",}`, "not JSON"},
		{`{"a":"b"`, "not JSON"},
		{`{'a':'b'}`, "not JSON"},
		{"{\"a\":\"\xff\"}", "UTF-8"},
		{"\ufeff{}", "not JSON"},
		{`{"a":"\ud800"}`, "surrogate"},
		{`{"a":"x\udc00"}`, "surrogate"},
		{`{"a":"\ud800\u0041"}`, "surrogate"},
		{`{"` + strings.Repeat("N", MaxNameLength+1) + `":""}`, "longer than"},
		{many, "more than 64 members"},
	} {
		_, err := ParseParameters([]byte(tc.in))
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Code != APP001 || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%.40q: %v, want an APP001 ParseError mentioning %q", tc.in, err, tc.want)
		}
	}
	if _, err := ParseParameters([]byte(`{"a":"","A":""}`)); !errors.Is(err, ErrDuplicateName) {
		t.Errorf("duplicate: %v is not ErrDuplicateName", err)
	}
	if _, err := ParseParameters(make([]byte, MaxParametersSize+1)); err == nil {
		t.Error("oversized input accepted")
	}
}
