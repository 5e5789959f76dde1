package xmldsig

import "strings"

// readProperties reads the signature properties from the canonical Object
// (re-parsed from the bytes whose digest was checked). The profile is exactly
// what the real responses contain:
//
//	<ds:Object Id=…><ds:SignatureProperties>
//	  <ds:SignatureProperty Target=…><openoces:Name>N</openoces:Name>
//	    <openoces:Value Encoding="base64|xml" VisibleToSigner="yes|no">V</openoces:Value>
//	  </ds:SignatureProperty> …
//	</ds:SignatureProperties></ds:Object>
//
// Anything else inside the Object is refused, so nothing signed can be
// overlooked either.
func readProperties(t *tree, obj int32, sigID string) ([]Property, Style, error) {
	if !t.isDS(obj, "Object") {
		return nil, 0, fail(Malformed, "canonical Object has root %s", quote(t.fullTag(obj)))
	}
	var buf [16]int32
	kids, err := t.elems(obj, buf[:0])
	if err != nil {
		return nil, 0, err
	}
	if len(kids) != 1 || !t.isDS(kids[0], "SignatureProperties") {
		return nil, 0, fail(UnexpectedElement, "ds:Object does not hold exactly one ds:SignatureProperties")
	}
	sp := kids[0]
	if err := t.onlyAttrs(sp); err != nil {
		return nil, 0, err
	}
	if kids, err = t.elems(sp, buf[:0]); err != nil {
		return nil, 0, err
	}
	if len(kids) == 0 {
		return nil, 0, fail(MissingElement, "no ds:SignatureProperty")
	}
	props := make([]Property, 0, len(kids))
	var style Style
	for _, k := range kids {
		p, st, err := readProperty(t, k, sigID)
		if err != nil {
			return nil, 0, err
		}
		if style != 0 && st != style {
			return nil, 0, fail(BadProperty, "properties mix the JS-client and OpenSign Target forms")
		}
		style = st
		for _, q := range props {
			// Case-insensitive: "Action" next to "action" would let two
			// consumers read two different values.
			if strings.EqualFold(q.Name, p.Name) {
				return nil, 0, fail(DuplicateProperty, "%s", quote(p.Name))
			}
		}
		props = append(props, p)
	}
	return props, style, nil
}

func readProperty(t *tree, el int32, sigID string) (Property, Style, error) {
	var p Property
	if !t.isDS(el, "SignatureProperty") {
		return p, 0, fail(UnexpectedElement, "%s in ds:SignatureProperties", quote(t.fullTag(el)))
	}
	if err := t.onlyAttrs(el, "Target"); err != nil {
		return p, 0, err
	}
	var style Style
	p.Target, _ = t.attr(el, "Target")
	switch p.Target {
	case sigID:
		style = JSClient
	case "#" + sigID:
		style = OpenSign
	default:
		return p, 0, fail(BadProperty, "Target %s does not name the ds:Signature", quote(p.Target))
	}
	var buf [2]int32
	kids, err := t.elems(el, buf[:0])
	if err != nil {
		return p, 0, err
	}
	if len(kids) != 2 || !t.isEl(kids[0], NSOpenOCES, "Name") || !t.isEl(kids[1], NSOpenOCES, "Value") {
		return p, 0, fail(UnexpectedElement, "ds:SignatureProperty is not openoces:Name, openoces:Value")
	}
	name, value := kids[0], kids[1]
	if err := t.onlyAttrs(name); err != nil {
		return p, 0, err
	}
	if p.Name, err = t.leafText(name); err != nil {
		return p, 0, err
	}
	if p.Name == "" || strings.ContainsAny(p.Name, " \t\r\n") {
		return p, 0, fail(BadProperty, "property name %s", quote(p.Name))
	}
	if err := t.onlyAttrs(value, "Encoding", "VisibleToSigner"); err != nil {
		return p, 0, err
	}
	switch v, _ := t.attr(value, "VisibleToSigner"); v {
	case "yes":
		p.VisibleToSigner = true
	case "no":
	default:
		return p, 0, fail(BadProperty, "%s: VisibleToSigner %s", quote(p.Name), quote(v))
	}
	if p.Raw, err = t.leafText(value); err != nil {
		return p, 0, err
	}
	enc, _ := t.attr(value, "Encoding")
	switch p.Encoding = Encoding(enc); p.Encoding {
	case EncodingXML:
		p.Value = p.Raw
	case EncodingBase64:
		b, err := decodeBase64(p.Raw)
		if err != nil {
			return p, 0, failErr(BadEncoding, err, quote(p.Name)+" is not base64")
		}
		p.Value = string(b)
	default:
		return p, 0, fail(BadEncoding, "%s: Encoding %s", quote(p.Name), quote(enc))
	}
	return p, style, nil
}
