package ooapi

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateHTMLAccepts(t *testing.T) {
	for _, doc := range []string{
		testHTML,
		`<html xmlns="http://www.w3.org/1999/xhtml"><head><style type="text/css">p { color: #333; font-family: "Times New Roman" } .x{border-top:1px solid red;}</style></head>` +
			`<body class="x" style="background-color: white; margin-left: 2em"><a name="top"></a><div align="center">` +
			`<table border="1" cellpadding="2"><tr bgcolor="#eee"><th colspan="2">A &amp; B</th></tr><tr><td valign="top" width="50%">1</td></tr></table>` +
			`<ul><li style="list-style-type: square">x</li></ul><center><u>u</u></center><a href="#top">op</a></div></body></html>`,
		"Bare text with no elements at all",
		`<p style="">empty style</p>`,
		`<h6 style="padding:0;border:0">x</h6>`,
	} {
		if err := ValidateHTML(doc); err != nil {
			t.Errorf("%.60s…: %v", doc, err)
		}
	}
}

func TestValidateHTMLRejects(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{`<html><body><script>alert(1)</script></body></html>`, "<script>"},
		{`<p onclick="x()">x</p>`, "onclick"},
		{`<img src="https://x.dk/a.png">`, "<img>"},
		{`<br/>`, "<br>"},
		{`<span>x</span>`, "<span>"},
		{`<p>x</p><!-- hidden -->`, "comments"},
		{`<?xml version="1.0"?><html></html>`, "comments"},
		{`<!DOCTYPE html><html></html>`, "doctype"},
		{`<a href="https://evil.example">x</a>`, "leaves the document"},
		{`<a href="&#106;avascript:alert(1)">x</a>`, "leaves the document"},
		{`<a href="">x</a>`, "leaves the document"},
		{`<p style="behavior: url(x.htc)">x</p>`, "url()"},
		{`<p style="background: URL(https://x)">x</p>`, "url()"},
		{`<p style="width: expression(alert(1))">x</p>`, "expression()"},
		{`<p style="col\6f r: red">x</p>`, "escapes"},
		{`<p style="position: fixed; z-index: 9">x</p>`, "z-index"},
		{`<p style="color">x</p>`, "property: value"},
		{`<p style="font-: 1px">x</p>`, "font-"},
		{`<style>@import "x.css";</style>`, "at-rules"},
		{`<style>p { color: red } garbage</style>`, "outside a rule"},
		{`<style>p { color: red </style>`, "closing"},
		{`<style>p { a { color: red } }</style>`, "nested"},
		{`<style>p { cursor: pointer }</style>`, "cursor"},
		{`<style>p { color: red /* x */ }</style>`, "comments"},
		{`<table onload="x"></table>`, "onload"},
		{`<font face="x" style="color:red">x</font>`, "style"},
		{`<textarea>x</textarea>`, "<textarea>"},
		{`<p>x</p></span>`, "<span>"},
		{`<svg><a href="#x">x</a></svg>`, "<svg>"},
		{`<html:p>x</html:p>`, "<html:p>"},
	} {
		err := ValidateHTML(tc.doc)
		var he *HTMLError
		if !errors.As(err, &he) || he.Code != APP002 || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an APP002 HTMLError mentioning %q", tc.doc, err, tc.want)
		}
	}
	err := ValidateHTML(`<p>ok</p><b>ok</b><img>`)
	var he *HTMLError
	if !errors.As(err, &he) || he.Offset != len(`<p>ok</p><b>ok</b>`) {
		t.Errorf("offset: %v", err)
	}
}

func TestXMLSignText(t *testing.T) {
	good := []byte(`<?xml version="1.0" encoding="UTF-8"?><a><b>x</b></a>`)
	for _, tc := range []struct{ doc, want string }{
		{`<a><b></a>`, "well-formed"},
		{`<a/><b/>`, "2 root"},
		{`text`, "outside the root"},
		{`<!DOCTYPE a SYSTEM "http://x/a.dtd"><a/>`, "document type"},
		{`<?xml version="1.0" encoding="UTF-16"?><a/>`, "not supported"},
		{``, "0 root"},
	} {
		err := checkXMLSignText([]byte(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error mentioning %q", tc.doc, err, tc.want)
		}
	}
	if err := checkXMLSignText(good); err != nil {
		t.Error(err)
	}
	// Latin-1 bytes under a Latin-1 declaration.
	if err := checkXMLSignText([]byte("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>\xe6\xf8\xe5</a>")); err != nil {
		t.Error(err)
	}
}

func TestCheckXSLT(t *testing.T) {
	const head = `<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"><xsl:template match="/">`
	const tail = `</xsl:template></xsl:stylesheet>`
	if err := checkXSLT([]byte(testXSLT)); err != nil {
		t.Errorf("DanID's transformation: %v", err)
	}
	for _, body := range []string{
		`<html><body><xsl:element name="p"><xsl:attribute name="align">center</xsl:attribute>x</xsl:element></body></html>`,
		`<html xmlns="http://www.w3.org/1999/xhtml"><body><a href="#{@id}">x</a><xsl:if test="1"><b>y</b></xsl:if></body></html>`,
		`<html><head><style>p { color: red }</style></head><body><xsl:apply-templates/></body></html>`,
	} {
		if err := checkXSLT([]byte(head + body + tail)); err != nil {
			t.Errorf("%s: %v", body, err)
		}
	}
	for _, tc := range []struct{ doc, want string }{
		{head + `<html><script>x</script></html>` + tail, "<script>"},
		{head + `<html><body onload="x"/></html>` + tail, "onload"},
		{head + `<a href="{@url}">x</a>` + tail, "leaves the document"},
		{head + `<p style="{@s}">x</p>` + tail, "constant"},
		{head + `<xsl:copy-of select="."/>` + tail, "xsl:copy-of"},
		{head + `<xsl:comment>x</xsl:comment>` + tail, "xsl:comment"},
		{head + `<xsl:value-of select="x" disable-output-escaping="yes"/>` + tail, "disable-output-escaping"},
		{head + `<xsl:value-of select="document('http://x')"/>` + tail, "document()"},
		{head + `<xsl:element name="{@n}">x</xsl:element>` + tail, "xsl:element"},
		{head + `<xsl:element name="img"/>` + tail, "xsl:element"},
		{head + `<p><xsl:attribute name="onclick">x</xsl:attribute></p>` + tail, "xsl:attribute"},
		{head + `<a><xsl:attribute name="href">http://x</xsl:attribute></a>` + tail, "href"},
		{head + `<style><xsl:value-of select="x"/></style>` + tail, "constant text"},
		{head + `<style>@import "x";</style>` + tail, "at-rules"},
		{head + `<svg:svg xmlns:svg="http://www.w3.org/2000/svg"/>` + tail, "namespace"},
		{`<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"><xsl:import href="x.xsl"/></xsl:stylesheet>`, "xsl:import"},
		{`<xsl:stylesheet version="2.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"/>`, "XSLT 1.0"},
		{`<html xsl:version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"/>`, "root element"},
		{`<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"><xsl:output method="text"/></xsl:stylesheet>`, "method"},
		{head, "well-formed"},
	} {
		err := checkXSLT([]byte(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error mentioning %q", tc.doc, err, tc.want)
		}
	}
}
