package ooapi

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

const (
	xslNS   = "http://www.w3.org/1999/XSL/Transform"
	xhtmlNS = "http://www.w3.org/1999/xhtml"
)

// newXMLDecoder reads UTF-8, US-ASCII and ISO-8859-1 documents strictly.
func newXMLDecoder(doc []byte) *xml.Decoder {
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = true
	d.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		switch strings.ToLower(label) {
		case "utf-8", "us-ascii", "ascii":
			return in, nil
		case "iso-8859-1", "latin1", "l1":
			b, err := io.ReadAll(in)
			if err != nil {
				return nil, err
			}
			out := make([]byte, 0, len(b))
			for _, c := range b {
				out = utf8.AppendRune(out, rune(c))
			}
			return bytes.NewReader(out), nil
		}
		return nil, fmt.Errorf("encoding %q is not supported (use UTF-8)", label)
	}
	return d
}

// checkXMLSignText checks that an XML sign text is one well-formed element
// without a document type declaration (which could make the client fetch
// something).
func checkXMLSignText(doc []byte) error {
	d := newXMLDecoder(doc)
	roots := 0
	depth := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("XML sign text is not well-formed: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.Directive:
			return errors.New("XML sign text: a document type declaration (<!…>) is not allowed")
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				return errors.New("XML sign text: text outside the root element")
			}
		}
	}
	if roots != 1 {
		return fmt.Errorf("XML sign text has %d root elements, want 1", roots)
	}
	return nil
}

// XSLT 1.0 instructions a transformation may use. Left out: xsl:import and
// xsl:include (they fetch), xsl:copy and xsl:copy-of (they copy input nodes
// whose names nothing checks), xsl:comment and xsl:processing-instruction
// (the HTML whitelist has neither), xsl:namespace-alias.
var xslAllowed = map[string]bool{
	"stylesheet": true, "transform": true, "output": true, "template": true, "value-of": true,
	"for-each": true, "if": true, "choose": true, "when": true, "otherwise": true,
	"apply-templates": true, "call-template": true, "param": true, "with-param": true,
	"variable": true, "sort": true, "text": true, "number": true, "attribute": true,
	"element": true, "strip-space": true, "preserve-space": true, "decimal-format": true,
	"key": true, "message": true, "attribute-set": true, "fallback": true,
}

// checkXSLT checks statically that an XSLT 1.0 transformation can only
// produce HTML inside the whitelist: every element and attribute it writes
// (literal or by xsl:element/xsl:attribute with a constant name) is
// whitelisted, links stay in the document, CSS passes the same checks as in
// ValidateHTML, and it neither fetches documents nor copies input nodes nor
// disables output escaping. This is stricter than running the
// transformation and checking its output, which needs an XSLT processor the
// Go standard library does not have: a transformation that passes here
// cannot produce HTML that fails.
func checkXSLT(doc []byte) error {
	d := newXMLDecoder(doc)
	type frame struct {
		xsl  bool
		name string
	}
	var stack []frame
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("transformation is not well-formed XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return errors.New("transformation: a document type declaration (<!…>) is not allowed")
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if n := len(stack); n > 0 && !stack[n-1].xsl && stack[n-1].name == "style" {
				if err := checkStyleSheet(string(t)); err != nil {
					return fmt.Errorf("transformation: in <style>: %v", err)
				}
			}
		case xml.StartElement:
			if len(stack) == 0 {
				if t.Name.Space != xslNS || (t.Name.Local != "stylesheet" && t.Name.Local != "transform") {
					return errors.New("transformation: the root element must be xsl:stylesheet or xsl:transform")
				}
				if v := xmlAttr(t, "", "version"); v != "1.0" {
					return fmt.Errorf("transformation: version %q, want XSLT 1.0", v)
				}
			}
			if n := len(stack); n > 0 && !stack[n-1].xsl && stack[n-1].name == "style" {
				return errors.New("transformation: the content of <style> must be constant text")
			}
			var err error
			if t.Name.Space == xslNS {
				err = checkXSLInstruction(t)
			} else {
				err = checkLiteralResult(t)
			}
			if err != nil {
				return fmt.Errorf("transformation: %v", err)
			}
			stack = append(stack, frame{xsl: t.Name.Space == xslNS, name: t.Name.Local})
		}
	}
	return nil
}

func checkXSLInstruction(t xml.StartElement) error {
	name := t.Name.Local
	if !xslAllowed[name] {
		return fmt.Errorf("xsl:%s is not allowed", name)
	}
	for _, a := range t.Attr {
		if a.Name.Local == "disable-output-escaping" && a.Value != "no" {
			return fmt.Errorf("xsl:%s: disable-output-escaping is not allowed", name)
		}
		if strings.Contains(strings.ReplaceAll(a.Value, " ", ""), "document(") {
			return fmt.Errorf("xsl:%s: the document() function is not allowed", name)
		}
	}
	switch name {
	case "output":
		if m := xmlAttr(t, "", "method"); m != "" && m != "xml" && m != "html" {
			return fmt.Errorf("xsl:output method %q, want xml or html", m)
		}
	case "element":
		el := xmlAttr(t, "", "name")
		if _, ok := htmlWhitelist[el]; !ok || xmlAttr(t, "", "namespace") != "" {
			return fmt.Errorf("xsl:element name %q is not a whitelisted element (names must be constant)", el)
		}
	case "attribute":
		attr := xmlAttr(t, "", "name")
		if attr == "href" || attr == "style" {
			return fmt.Errorf("xsl:attribute %q: its value could not be checked; write it literally", attr)
		}
		if !anyElementAllows(attr) || xmlAttr(t, "", "namespace") != "" {
			return fmt.Errorf("xsl:attribute name %q is not a whitelisted attribute (names must be constant)", attr)
		}
	}
	return nil
}

func checkLiteralResult(t xml.StartElement) error {
	if t.Name.Space != "" && t.Name.Space != xhtmlNS {
		return fmt.Errorf("element <%s> in namespace %q is not allowed", t.Name.Local, t.Name.Space)
	}
	el := t.Name.Local
	allowed, ok := htmlWhitelist[el]
	if !ok {
		return fmt.Errorf("element <%s> is not allowed", el)
	}
	for _, a := range t.Attr {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") || a.Name.Space == xslNS {
			continue // namespace declarations and xsl:use-attribute-sets and the like
		}
		if a.Name.Space != "" {
			return fmt.Errorf("attribute %s:%s on <%s> is not allowed", a.Name.Space, a.Name.Local, el)
		}
		if a.Name.Local == "style" && strings.Contains(a.Value, "{") {
			return fmt.Errorf("style attribute of <%s> must be constant", el)
		}
		if err := checkHTMLAttr(el, allowed, a.Name.Local, a.Value); err != nil {
			return err
		}
	}
	return nil
}

func anyElementAllows(attr string) bool {
	for _, attrs := range htmlWhitelist {
		for _, a := range attrs {
			if a == attr {
				return true
			}
		}
	}
	return false
}

func xmlAttr(t xml.StartElement, space, local string) string {
	for _, a := range t.Attr {
		if a.Name.Space == space && a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}
