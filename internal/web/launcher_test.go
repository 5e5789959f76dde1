package web

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

func parsePage(t *testing.T, mode string) *html.Node {
	t.Helper()
	var b bytes.Buffer
	if err := WriteLauncher(&b, mode); err != nil {
		t.Fatalf("WriteLauncher(%q): %v", mode, err)
	}
	doc, err := html.Parse(&b)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func attr(n *html.Node, name string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val, true
		}
	}
	return "", false
}

func elements(doc *html.Node) []*html.Node {
	var all []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			all = append(all, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return all
}

func TestLauncherHasNoInlineScriptOrStyle(t *testing.T) {
	for _, mode := range []string{"lmt", "std"} {
		for _, n := range elements(parsePage(t, mode)) {
			switch n.Data {
			case "script":
				if _, ok := attr(n, "src"); !ok || n.FirstChild != nil {
					t.Errorf("%s: inline script", mode)
				}
			case "style":
				t.Errorf("%s: a <style> element", mode)
			}
			for _, a := range n.Attr {
				key := strings.ToLower(a.Key)
				if key == "style" {
					t.Errorf("%s: style attribute on <%s>", mode, n.Data)
				}
				if strings.HasPrefix(key, "on") {
					t.Errorf("%s: event-handler attribute %s on <%s>", mode, a.Key, n.Data)
				}
				if strings.Contains(strings.ToLower(a.Val), "javascript:") {
					t.Errorf("%s: javascript: URL in %s on <%s>", mode, a.Key, n.Data)
				}
			}
		}
	}
}

func TestLauncherReferencesOnlyServedAssets(t *testing.T) {
	for _, mode := range []string{"lmt", "std"} {
		var refs []string
		for _, n := range elements(parsePage(t, mode)) {
			for _, name := range []string{"src", "href"} {
				if v, ok := attr(n, name); ok {
					refs = append(refs, v)
				}
			}
		}
		if len(refs) != 2 {
			t.Errorf("%s: references %q, want the script and the style sheet", mode, refs)
		}
		for _, ref := range refs {
			if !strings.HasPrefix(ref, StaticPrefix) {
				t.Errorf("%s: reference %q outside %s", mode, ref, StaticPrefix)
				continue
			}
			rec := httptest.NewRecorder()
			Static().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, ref, nil))
			if rec.Code != http.StatusOK {
				t.Errorf("%s: Static answers %d for the page's %q", mode, rec.Code, ref)
			}
		}
	}
}

func TestLauncherModes(t *testing.T) {
	for _, mode := range []string{"lmt", "std"} {
		doc := parsePage(t, mode)
		for _, n := range elements(doc) {
			if n.Data == "body" {
				if got, _ := attr(n, "data-mode"); got != mode {
					t.Errorf("body data-mode = %q, want %q", got, mode)
				}
			}
			if n.Data == "html" {
				if got, _ := attr(n, "lang"); got != "da" {
					t.Errorf("%s: html lang = %q, want da until the flow's language is known", mode, got)
				}
			}
		}
	}
	var b bytes.Buffer
	if err := WriteLauncher(&b, "background"); err == nil || b.Len() != 0 {
		t.Errorf("WriteLauncher(background) = %v and %d bytes, want an error and nothing written", err, b.Len())
	}
}

// Every control has a label, every id a reference points to exists, and ids
// are unique: what a screen reader needs.
func TestLauncherIsLabelled(t *testing.T) {
	doc := parsePage(t, "lmt")
	all := elements(doc)
	ids := map[string]*html.Node{}
	labelled := map[string]bool{}
	for _, n := range all {
		if id, ok := attr(n, "id"); ok {
			if ids[id] != nil {
				t.Errorf("duplicate id %q", id)
			}
			ids[id] = n
		}
		if n.Data == "label" {
			if f, ok := attr(n, "for"); ok {
				labelled[f] = true
			}
		}
	}
	inputs := 0
	for _, n := range all {
		for _, name := range []string{"for", "aria-describedby", "aria-labelledby"} {
			v, _ := attr(n, name)
			for _, ref := range strings.Fields(v) {
				if ids[ref] == nil {
					t.Errorf("<%s %s=%q> names no element", n.Data, name, ref)
				}
			}
		}
		if n.Data == "input" {
			if typ, _ := attr(n, "type"); typ == "hidden" {
				continue
			}
			inputs++
			id, _ := attr(n, "id")
			if !labelled[id] {
				t.Errorf("input %q has no <label for>", id)
			}
			if ids[id+"-error"] == nil && id != "remember" {
				t.Errorf("input %q has no place for its error", id)
			}
		}
		if n.Data == "button" {
			_, text := attr(n, "data-t")
			_, label := attr(n, "aria-label")
			id, _ := attr(n, "id")
			// otp-submit is named by the script ("Log på" or "Underskriv").
			if !text && !label && id != "otp-submit" {
				t.Errorf("button %q has no name", id)
			}
		}
	}
	if inputs != 8 {
		t.Errorf("found %d inputs, want 8 (user-id, password, remember, code, current and two new passwords, alias)", inputs)
	}
	if alert := ids["alert"]; alert == nil {
		t.Error("no alert region")
	} else if live, _ := attr(alert, "aria-live"); live != "assertive" {
		t.Errorf("alert region aria-live = %q, want assertive", live)
	}
	code := ids["code"]
	for name, want := range map[string]string{"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": "6"} {
		if got, _ := attr(code, name); got != want {
			t.Errorf("code input %s = %q, want %q", name, got, want)
		}
	}
	if got, _ := attr(ids["close"], "aria-label"); got == "" {
		t.Error("the cancel cross has no accessible name")
	}
}

// The sign text reaches its frame by a POST of the flow secret, never by a
// URL that holds it.
func TestLauncherSignTextFrame(t *testing.T) {
	doc := parsePage(t, "std")
	var frame, form *html.Node
	for _, n := range elements(doc) {
		if n.Data == "iframe" {
			frame = n
		}
		if id, _ := attr(n, "id"); id == "signtext-form" {
			form = n
		}
	}
	if frame == nil || form == nil {
		t.Fatal("no sign-text frame or form")
	}
	if name, _ := attr(frame, "name"); name != "nemid-signtext" {
		t.Errorf("frame name = %q", name)
	}
	if _, ok := attr(frame, "src"); ok {
		t.Error("the sign-text frame has a src")
	}
	if _, ok := attr(frame, "sandbox"); !ok {
		t.Error("the sign-text frame is not sandboxed")
	}
	for name, want := range map[string]string{"method": "post", "action": "/launcher/signtext", "target": "nemid-signtext"} {
		if got, _ := attr(form, name); got != want {
			t.Errorf("sign-text form %s = %q, want %q", name, got, want)
		}
	}
}
