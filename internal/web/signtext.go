package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"strings"

	"github.com/nemid-dk/nemid/ooapi"
)

// signTextPage shows a plain sign text. Leading white space matters in a
// sign text, and an HTML parser drops one newline right after <pre>: the
// newline the template puts there is that one, so the text's own survive.
// The document is served with a CSP that allows inline style only.
var signTextPage = template.Must(template.New("signtext").Parse(`<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
html, body { margin: 0; background: #fff; color: #1b1b1b; }
pre { margin: 0; padding: 10px 12px; white-space: pre-wrap; overflow-wrap: anywhere; }
pre.proportional { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
pre.monospace { font: 13px/1.45 ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
</style>
</head>
<body>
<pre class="{{if .Monospace}}monospace{{else}}proportional{{end}}">
{{.Text}}</pre>
</body>
</html>
`))

// WriteSignText writes the sign text as its own document, for the nested
// frame of the launcher page. format "text" shows text escaped in a <pre>,
// in a fixed-width font when monospace (SIGNTEXT_MONOSPACEFONT=TRUE), with
// long lines wrapped; "html" writes the service provider's HTML exactly as
// given, after checking it once more against the whitelist of spec 2.2
// (ooapi.ValidateHTML) so that nothing outside it is ever shown. The format
// name is compared case-insensitively. The caller sets the headers,
// among them the sandboxing CSP (docs/idp.md).
func WriteSignText(w io.Writer, format string, text string, monospace bool) error {
	switch strings.ToLower(format) {
	case "text":
		var b bytes.Buffer
		if err := signTextPage.Execute(&b, struct {
			Text      string
			Monospace bool
		}{text, monospace}); err != nil {
			return fmt.Errorf("web: sign text: %w", err)
		}
		_, err := w.Write(b.Bytes())
		return err
	case "html":
		if err := ooapi.ValidateHTML(text); err != nil {
			return fmt.Errorf("web: HTML sign text refused: %w", err)
		}
		_, err := io.WriteString(w, text)
		return err
	default:
		return fmt.Errorf("web: sign text format %q: want text or html", format)
	}
}
