package web

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

func preOf(t *testing.T, doc string) *html.Node {
	t.Helper()
	root, err := html.Parse(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	var pres []*html.Node
	for _, n := range elements(root) {
		if n.Data == "pre" {
			pres = append(pres, n)
		}
		if n.Data == "script" {
			t.Errorf("a <script> element in the sign-text document")
		}
	}
	if len(pres) != 1 {
		t.Fatalf("%d <pre> elements, want 1", len(pres))
	}
	return pres[0]
}

func textOf(n *html.Node) string {
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type != html.TextNode {
			return "<not only text>"
		}
		b.WriteString(c.Data)
	}
	return b.String()
}

func TestSignTextPlainIsEscapedAndKeptExactly(t *testing.T) {
	const text = "\n  Jeg bekræfter & accepterer <script>alert(1)</script>\n\tTotal: 1.000 kr. \"tak\" 'ok'\n"
	for _, monospace := range []bool{false, true} {
		var b bytes.Buffer
		if err := WriteSignText(&b, "text", text, monospace); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if strings.Contains(out, "<script>") || !strings.Contains(out, "&lt;script&gt;") {
			t.Errorf("the text's <script> is not escaped:\n%s", out)
		}
		pre := preOf(t, out)
		if got := textOf(pre); got != text {
			t.Errorf("the document shows %q, want %q", got, text)
		}
		class, _ := attr(pre, "class")
		if want := map[bool]string{true: "monospace", false: "proportional"}[monospace]; class != want {
			t.Errorf("monospace=%v: class %q, want %q", monospace, class, want)
		}
	}
}

func TestSignTextHTMLIsWrittenAsGiven(t *testing.T) {
	const doc = `<html><head><title>Aftale</title><style type="text/css">p { color: #003a70; }</style></head>` +
		`<body><h1>Lån</h1><p style="margin-top: 4px">Jeg <b>accepterer</b> &amp; underskriver.</p>` +
		`<table border="1"><tr><td align="right">1.000 kr.</td></tr></table></body></html>`
	var b bytes.Buffer
	if err := WriteSignText(&b, "HTML", doc, false); err != nil {
		t.Fatal(err)
	}
	if b.String() != doc {
		t.Errorf("HTML sign text changed:\n got %s\nwant %s", b.String(), doc)
	}
}

func TestSignTextRefusesWhatMustNotBeShown(t *testing.T) {
	for _, c := range []struct{ format, text string }{
		{"html", `<html><body><script>alert(1)</script></body></html>`},
		{"html", `<html><body><img src="https://tracker.example/x.png"></body></html>`},
		{"html", `<html><body><p style="background: url(https://x.example/)">x</p></body></html>`},
		{"xml", `<a/>`},
		{"pdf", `%PDF-1.4`},
		{"", "text"},
	} {
		var b bytes.Buffer
		if err := WriteSignText(&b, c.format, c.text, false); err == nil || b.Len() != 0 {
			t.Errorf("WriteSignText(%q, %q) = %v with %d bytes, want an error and nothing written", c.format, c.text, err, b.Len())
		}
	}
}
