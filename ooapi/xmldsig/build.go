package xmldsig

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// The fixed names of the JS-client layout (nemid-protocol.md §4.2).
const (
	jsSignatureID = "signature"
	jsObjectID    = "ToBeSigned"
)

// BuildJSClientResponse emits a response in exactly the byte layout of the
// NemID JS client (nemid-protocol.md §4.2): SignedInfo and Object are written
// as literal canonical text (explicit xmlns:ds/xmlns:openoces, explicit end
// tags, attributes in C14N order), so the bytes that are digested and signed
// are the bytes in the document. DigestValue is SHA-256 of the Object bytes;
// sign receives the SignedInfo bytes and must return an RSA PKCS#1 v1.5
// SHA-256 signature over them (e.g. a crypto.Signer with crypto.SHA256 over
// sha256(signedInfo)).
//
// certs go into KeyInfo in the order given, one X509Data each; the JS client
// uses issuing CA, user, root. props are written in the order given with
// Target="signature"; a property's Target, if set, must be "signature". For
// EncodingBase64 the text is Raw if set (so that an SP's base64 SIGNTEXT is
// echoed untouched; it must decode to Value when Value is set too), else the
// standard base64 of Value. For EncodingXML the text is Value, escaped as in
// canonical XML.
func BuildJSClientResponse(props []Property, certs []*x509.Certificate, sign func(signedInfo []byte) ([]byte, error)) ([]byte, error) {
	if len(props) == 0 {
		return nil, errors.New("xmldsig: no properties")
	}
	if len(certs) == 0 {
		return nil, errors.New("xmldsig: no certificates")
	}
	var obj strings.Builder
	obj.WriteString(`<ds:Object xmlns:ds="` + NSDSig + `" xmlns:openoces="` + NSOpenOCES + `" Id="` + jsObjectID + `"><ds:SignatureProperties>` + "\n")
	for i, p := range props {
		if err := writeProperty(&obj, p); err != nil {
			return nil, err
		}
		for _, q := range props[:i] {
			if strings.EqualFold(q.Name, p.Name) {
				return nil, fmt.Errorf("xmldsig: property %q twice", p.Name)
			}
		}
	}
	obj.WriteString("</ds:SignatureProperties></ds:Object>")
	digest := sha256.Sum256([]byte(obj.String()))

	si := `<ds:SignedInfo xmlns:ds="` + NSDSig + `" xmlns:openoces="` + NSOpenOCES + `">` + "\n" +
		`<ds:CanonicalizationMethod Algorithm="` + AlgC14N10 + `"></ds:CanonicalizationMethod>` + "\n" +
		`<ds:SignatureMethod Algorithm="` + AlgRSASHA256 + `"></ds:SignatureMethod>` + "\n" +
		`<ds:Reference URI="#` + jsObjectID + `">` + "\n" +
		`<ds:DigestMethod Algorithm="` + AlgSHA256 + `"></ds:DigestMethod>` + "\n" +
		`<ds:DigestValue>` + base64.StdEncoding.EncodeToString(digest[:]) + `</ds:DigestValue>` + "\n" +
		"</ds:Reference>\n" +
		"</ds:SignedInfo>"
	sv, err := sign([]byte(si))
	if err != nil {
		return nil, fmt.Errorf("xmldsig: signing SignedInfo: %w", err)
	}
	if len(sv) == 0 {
		return nil, errors.New("xmldsig: empty signature")
	}

	var b strings.Builder
	b.Grow(len(si) + obj.Len() + 2100*len(certs) + 1024)
	b.WriteString(`<?xml version="1.0" encoding="UTF-8" ?>` + "\n")
	b.WriteString(`<openoces:signature xmlns:openoces="` + NSOpenOCES + `" version="0.1">`)
	b.WriteString(`<ds:Signature xmlns:ds="` + NSDSig + `" Id="` + jsSignatureID + `">` + "\n")
	b.WriteString(si)
	b.WriteString("\n<ds:SignatureValue>\n")
	writeWrapped(&b, sv)
	b.WriteString("\n</ds:SignatureValue>\n<ds:KeyInfo>\n")
	for _, c := range certs {
		b.WriteString("<ds:X509Data>\n<ds:X509Certificate>\n")
		writeWrapped(&b, c.Raw)
		b.WriteString("\n</ds:X509Certificate>\n</ds:X509Data>\n")
	}
	b.WriteString("</ds:KeyInfo>\n")
	b.WriteString(obj.String())
	b.WriteString("\n</ds:Signature></openoces:signature>") // no final newline, as NemID
	return []byte(b.String()), nil
}

// writeProperty writes one SignatureProperty line of the Object.
func writeProperty(w *strings.Builder, p Property) error {
	if p.Name == "" || strings.ContainsAny(p.Name, " \t\r\n") || !xmlText(p.Name) {
		return fmt.Errorf("xmldsig: property name %q", p.Name)
	}
	if p.Target != "" && p.Target != jsSignatureID {
		return fmt.Errorf("xmldsig: property %q: Target %q in a JS-client response", p.Name, p.Target)
	}
	var text string
	switch p.Encoding {
	case EncodingBase64:
		text = base64.StdEncoding.EncodeToString([]byte(p.Value))
		if p.Raw != "" {
			v, err := base64.StdEncoding.Strict().DecodeString(p.Raw)
			if err != nil || (p.Value != "" && string(v) != p.Value) {
				return fmt.Errorf("xmldsig: property %q: Raw is not the base64 of Value", p.Name)
			}
			text = p.Raw
		}
	case EncodingXML:
		if !xmlText(p.Value) {
			return fmt.Errorf("xmldsig: property %q: value is not XML text", p.Name)
		}
		text = p.Value
	default:
		return fmt.Errorf("xmldsig: property %q: encoding %q", p.Name, p.Encoding)
	}
	visible := "no"
	if p.VisibleToSigner {
		visible = "yes"
	}
	w.WriteString(`<ds:SignatureProperty Target="` + jsSignatureID + `"><openoces:Name>`)
	escapeText(w, p.Name)
	w.WriteString(`</openoces:Name><openoces:Value Encoding="` + string(p.Encoding) + `" VisibleToSigner="` + visible + `">`)
	escapeText(w, text)
	w.WriteString("</openoces:Value></ds:SignatureProperty>\n")
	return nil
}

// escapeText escapes character data as canonical XML does (C14N 1.0 §2.3):
// & < > and CR; quotes stay literal in text.
func escapeText(w *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '&':
			w.WriteString("&amp;")
		case '<':
			w.WriteString("&lt;")
		case '>':
			w.WriteString("&gt;")
		case '\r':
			w.WriteString("&#xD;")
		default:
			w.WriteByte(c)
		}
	}
}

// xmlText reports whether s is UTF-8 made only of XML 1.0 characters.
func xmlText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
		case r < 0x20, r == 0xFFFE, r == 0xFFFF, r >= 0xD800 && r <= 0xDFFF:
			return false
		}
	}
	return true
}

// writeWrapped writes base64 in lines of 76 characters, no final newline.
func writeWrapped(w *strings.Builder, data []byte) {
	s := base64.StdEncoding.EncodeToString(data)
	for len(s) > 76 {
		w.WriteString(s[:76])
		w.WriteByte('\n')
		s = s[76:]
	}
	w.WriteString(s)
}
