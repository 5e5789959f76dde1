package ooapi

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/net/html"
)

// The HTML sign-text whitelist of the JS client ([IG] 5.2, spec 2.2): each
// allowed element with its allowed attributes.
var htmlWhitelist = map[string][]string{
	"html":   {"xmlns"},
	"body":   {"text", "bgcolor", "class", "style"},
	"head":   nil,
	"style":  {"type"},
	"title":  nil,
	"p":      {"align", "bgcolor", "style", "class"},
	"div":    {"align", "bgcolor", "style", "class"},
	"ul":     {"style", "class"},
	"ol":     {"start", "type", "style", "class"},
	"li":     {"class", "style"},
	"h1":     {"class", "style"},
	"h2":     {"class", "style"},
	"h3":     {"class", "style"},
	"h4":     {"class", "style"},
	"h5":     {"class", "style"},
	"h6":     {"class", "style"},
	"font":   {"face", "size", "color"},
	"table":  {"border", "cellspacing", "cellpadding", "width", "align"},
	"tr":     {"bgcolor", "class", "style"},
	"th":     {"bgcolor", "rowspan", "colspan", "align", "valign", "width", "class", "style"},
	"td":     {"bgcolor", "rowspan", "colspan", "align", "valign", "width", "class", "style"},
	"i":      nil,
	"b":      nil,
	"u":      nil,
	"center": nil,
	"a":      {"href", "name"},
}

// The CSS properties allowed in style attributes and style elements.
var cssProperties = map[string]bool{
	"background": true, "background-color": true, "bottom": true, "color": true, "clear": true,
	"display": true, "float": true, "height": true, "left": true, "line-height": true, "margin": true,
	"margin-right": true, "margin-top": true, "margin-left": true, "margin-bottom": true,
	"overflow": true, "position": true, "right": true, "top": true, "width": true, "white-space": true,
	// The shorthands of the families below. The guidelines list the
	// families as "border-*" and so on; we read that as including the
	// shorthand itself, which sets nothing the family members cannot.
	"border": true, "font": true, "padding": true,
}

// cssFamilies are the property-name prefixes allowed ("border-*", …).
var cssFamilies = []string{"border-", "font-", "list-", "padding-", "text-"}

// HTMLError says why an HTML sign text is not allowed. Its Code is APP002,
// what the client answered for it.
type HTMLError struct {
	Code   Code
	Offset int // byte offset of the offending construct in the document
	Reason string
}

func (e *HTMLError) Error() string {
	return fmt.Sprintf("%s: HTML sign text at byte %d: %s", e.Code, e.Offset, e.Reason)
}

// ValidateHTML checks an HTML sign text against the JS client's whitelist
// (spec 2.2) and returns an *HTMLError for the first violation: an element
// or attribute outside the whitelist, a link that leaves the document (href
// must start with "#"), a comment, a doctype or processing instruction, a CSS
// property outside the list, or CSS that could fetch or run something
// (url(, expression(, @import and other at-rules, escapes). The document is
// rejected, never cleaned: a sign text must be shown exactly as the user
// signs it.
func ValidateHTML(doc string) error {
	z := html.NewTokenizer(strings.NewReader(doc))
	offset := 0
	inStyle := false
	fail := func(format string, args ...any) error {
		return &HTMLError{Code: APP002, Offset: offset, Reason: fmt.Sprintf(format, args...)}
	}
	for {
		tt := z.Next()
		raw := len(z.Raw())
		switch tt {
		case html.ErrorToken:
			if z.Err() == io.EOF {
				return nil
			}
			return fail("%v", z.Err())
		case html.CommentToken:
			return fail("comments are not allowed (nor <!…> and <?…?> constructs)")
		case html.DoctypeToken:
			return fail("a doctype is not allowed")
		case html.TextToken:
			if inStyle {
				if err := checkStyleSheet(string(z.Text())); err != nil {
					return fail("in <style>: %v", err)
				}
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			if _, ok := htmlWhitelist[string(name)]; !ok {
				return fail("element <%s> is not allowed", name)
			}
			inStyle = false
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			el := string(name)
			allowed, ok := htmlWhitelist[el]
			if !ok {
				return fail("element <%s> is not allowed", el)
			}
			for hasAttr {
				var key, val []byte
				key, val, hasAttr = z.TagAttr()
				if err := checkHTMLAttr(el, allowed, string(key), string(val)); err != nil {
					return fail("%v", err)
				}
			}
			inStyle = el == "style" && tt == html.StartTagToken
		}
		offset += raw
	}
}

func checkHTMLAttr(el string, allowed []string, key, val string) error {
	ok := false
	for _, a := range allowed {
		if a == key {
			ok = true
			break
		}
	}
	if !ok {
		return fmt.Errorf("attribute %s is not allowed on <%s>", key, el)
	}
	switch key {
	case "href":
		if !strings.HasPrefix(val, "#") {
			return fmt.Errorf("link %q leaves the document: only in-document anchors (#name) are allowed", val)
		}
	case "style":
		if err := checkCSSDeclarations(val); err != nil {
			return fmt.Errorf("style attribute of <%s>: %v", el, err)
		}
	}
	return nil
}

// checkStyleSheet checks the content of a style element: rules of the form
// "selectors { declarations }", nothing else.
func checkStyleSheet(css string) error {
	if err := checkCSSText(css); err != nil {
		return err
	}
	rest := css
	for strings.TrimSpace(rest) != "" {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			return fmt.Errorf("text %q outside a rule", strings.TrimSpace(rest))
		}
		if strings.ContainsRune(rest[:open], '}') {
			return errors.New("unbalanced }")
		}
		end := strings.IndexByte(rest[open+1:], '}')
		if end < 0 {
			return errors.New("rule without a closing }")
		}
		body := rest[open+1 : open+1+end]
		if strings.ContainsRune(body, '{') {
			return errors.New("nested rules are not allowed")
		}
		if err := checkCSSDeclarations(body); err != nil {
			return err
		}
		rest = rest[open+1+end+1:]
	}
	return nil
}

// checkCSSDeclarations checks "property: value; …" against the property list.
func checkCSSDeclarations(decls string) error {
	if err := checkCSSText(decls); err != nil {
		return err
	}
	for _, d := range strings.Split(decls, ";") {
		if strings.TrimSpace(d) == "" {
			continue
		}
		prop, value, ok := strings.Cut(d, ":")
		prop = strings.ToLower(strings.TrimSpace(prop))
		if !ok || prop == "" || strings.TrimSpace(value) == "" {
			return fmt.Errorf("declaration %q is not property: value", strings.TrimSpace(d))
		}
		if !cssPropertyAllowed(prop) {
			return fmt.Errorf("CSS property %s is not allowed", prop)
		}
	}
	return nil
}

func cssPropertyAllowed(prop string) bool {
	if cssProperties[prop] {
		return true
	}
	for _, f := range cssFamilies {
		if strings.HasPrefix(prop, f) && len(prop) > len(f) {
			return true
		}
	}
	return false
}

// checkCSSText rejects the CSS constructs that load or run something, and
// those (escapes, comments) that could hide one from the checks above.
func checkCSSText(css string) error {
	lower := strings.ToLower(css)
	for _, bad := range []struct{ s, why string }{
		{"url(", "url() is not allowed (no external resources)"},
		{"expression(", "expression() is not allowed"},
		{"javascript:", "javascript: is not allowed"},
		{"@", "at-rules (@import, @font-face, …) are not allowed"},
		{`\`, "CSS escapes are not allowed"},
		{"/*", "CSS comments are not allowed"},
		{"<", "< is not allowed in CSS"},
	} {
		if strings.Contains(lower, bad.s) {
			return errors.New(bad.why)
		}
	}
	return nil
}
