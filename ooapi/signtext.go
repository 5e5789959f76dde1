package ooapi

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"unicode/utf8"
)

// The SIGNTEXT_FORMAT values of the JS client (the CodeFile client takes
// them in lower case).
const (
	FormatText = "TEXT"
	FormatHTML = "HTML"
	FormatXML  = "XML"
	FormatPDF  = "PDF"
)

// SignText is the document a user signs, in one of the formats of spec 2.2.
// Make one with PlainSignText, HTMLSignText, XMLSignText, PDFSignText or
// RemotePDFSignText; the zero SignText is no document. Its content is
// checked when the parameters are built.
type SignText struct {
	format           string
	content          []byte // nil for a remote PDF
	transformation   []byte // XSLT, XML only
	transformationID string
	uri              string // remote PDF only
	remoteHash       []byte // SHA-256 of the remote PDF
}

// PlainSignText is a plain text, shown with its white space kept (see
// SignOptions.MonospaceFont).
func PlainSignText(text string) SignText {
	return SignText{format: FormatText, content: []byte(text)}
}

// HTMLSignText is an HTML document. It must pass ValidateHTML.
func HTMLSignText(doc string) SignText {
	return SignText{format: FormatHTML, content: []byte(doc)}
}

// XMLSignText is an XML document shown through an XSLT 1.0 transformation
// (xslt) that turns it into HTML inside the whitelist. transformationID is
// the service provider's name for the transformation, copied into the
// signed response; it may be empty. The transformation is checked
// statically (see ValidateHTML for the rules its output must follow).
func XMLSignText(doc, xslt []byte, transformationID string) SignText {
	return SignText{format: FormatXML, content: doc, transformation: xslt, transformationID: transformationID}
}

// PDFSignText is a PDF document sent inline, in SIGNTEXT.
func PDFSignText(pdf []byte) SignText {
	return SignText{format: FormatPDF, content: pdf}
}

// RemotePDFSignText is a PDF document that the JS client fetches from uri
// (SIGNTEXT_URI, an absolute http(s) URL) and checks against the SHA-256 of
// pdf (SIGNTEXT_REMOTE_HASH). The service provider must serve exactly these
// bytes at uri with Access-Control-Allow-Origin set to the client's origin
// (spec 2.3). The CodeFile client takes PDFs inline only.
func RemotePDFSignText(uri string, pdf []byte) SignText {
	sum := sha256.Sum256(pdf)
	return SignText{format: FormatPDF, uri: uri, remoteHash: sum[:], content: pdf}
}

// Format is the SIGNTEXT_FORMAT of the document (FormatText, …), "" for
// the zero SignText.
func (st SignText) Format() string { return st.format }

// check checks the document as the client would.
func (st SignText) check() error {
	if st.format == "" {
		return errors.New("no sign text given")
	}
	if st.uri != "" {
		if err := checkSignTextURI(st.uri); err != nil {
			return err
		}
	}
	return checkSignTextContent(st.format, st.content, st.transformation)
}

// SignTextError says why a sign text is not allowed (APP002) or is
// incomplete (APP008: an XML sign text without its transformation).
type SignTextError struct {
	Code   Code
	Reason string
}

func (e *SignTextError) Error() string { return string(e.Code) + ": " + e.Reason }

// checkSignTextContent checks a sign text's bytes as the client would: TEXT
// and HTML must be UTF-8 (HTML also inside the whitelist), XML well-formed
// with a transformation that can only produce whitelisted HTML, PDF must at
// least be a PDF. Checking a PDF against NemID's PDF whitelist ([IG]
// Appendix C) is not done here.
func checkSignTextContent(format string, content, transformation []byte) error {
	bad := func(format string, args ...any) error {
		return &SignTextError{Code: APP002, Reason: fmt.Sprintf(format, args...)}
	}
	if len(content) == 0 {
		return bad("the sign text is empty")
	}
	if format != FormatXML && len(transformation) > 0 {
		return &SignTextError{Code: APP008, Reason: "SIGNTEXT_TRANSFORMATION belongs to an XML sign text only"}
	}
	switch format {
	case FormatText, FormatHTML:
		if !utf8.Valid(content) {
			return bad("the %s sign text is not valid UTF-8", format)
		}
		if format == FormatHTML {
			if err := ValidateHTML(string(content)); err != nil {
				var he *HTMLError
				if errors.As(err, &he) {
					return bad("HTML at byte %d: %s", he.Offset, he.Reason)
				}
				return bad("%v", err)
			}
		}
	case FormatXML:
		if len(transformation) == 0 {
			return &SignTextError{Code: APP008, Reason: "an XML sign text needs SIGNTEXT_TRANSFORMATION"}
		}
		if err := checkXMLSignText(content); err != nil {
			return bad("%v", err)
		}
		if err := checkXSLT(transformation); err != nil {
			return bad("%v", err)
		}
	case FormatPDF:
		if !bytes.HasPrefix(content, []byte("%PDF-")) {
			return bad("the PDF sign text does not start with %%PDF-")
		}
	default:
		return &SignTextError{Code: APP001, Reason: fmt.Sprintf("SIGNTEXT_FORMAT %q is not TEXT, HTML, XML or PDF", format)}
	}
	return nil
}
