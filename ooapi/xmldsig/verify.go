package xmldsig

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"strconv"
)

// Verify parses a NemID response (the raw XML bytes, after the caller has
// base64-decoded the client's message) under the strict profile and checks
// its signature with the end-entity certificate in KeyInfo. It returns what
// a validator needs, read only from the verified canonical bytes; every
// rejection is an *Error with a specific Reason.
//
// The order of the checks: limits and DTD refusal, parse, whole-document
// walk (directives, processing instructions, attributes, duplicate Ids), the
// document's shape (root, one Signature, Objects, stray properties), the
// canonical SignedInfo (algorithms, one Reference, no Transforms), the
// signer certificate, the signature value, the reference target, the digest
// of the canonical Object, and last the properties of the canonical Object.
func Verify(doc []byte, opts Options) (*Signed, error) {
	o := opts.withDefaults()
	p, err := parse(doc, o)
	if err != nil {
		return nil, err
	}
	sig, err := p.shape()
	if err != nil {
		return nil, err
	}
	return p.verifySignature(sig, o)
}

// sigParts are the children of the one ds:Signature.
type sigParts struct {
	el                int32
	id                string
	signedInfo, value int32
	keyInfo           int32
	objects           []int32
}

// shape checks the document's skeleton: root, the single Signature in its
// place, every Object inside it, no signature property outside an Object,
// and the Signature's children in XMLDSig order.
func (p *parsed) shape() (*sigParts, error) {
	t, root := p.t, p.root
	if r := &t.nodes[root]; r.local != "signature" || r.ns != NSOpenOCES {
		return nil, fail(WrongRoot, "%s in namespace %s", quote(r.local), quote(r.ns))
	}
	if err := t.onlyAttrs(root, "version"); err != nil {
		return nil, err
	}
	if len(p.signatures) != 1 {
		return nil, fail(NotOneSignature, "%d ds:Signature elements", len(p.signatures))
	}
	sig := &sigParts{el: p.signatures[0], signedInfo: -1, value: -1, keyInfo: -1}
	if par := t.nodes[sig.el].parent; par != root {
		return nil, fail(SignatureMisplaced, "under %s", quote(t.fullTag(par)))
	}
	for _, obj := range p.objects {
		if par := t.nodes[obj.el].parent; par != sig.el {
			return nil, fail(ObjectMisplaced, "ds:Object under %s", quote(t.fullTag(par)))
		}
	}
	if p.strayProps > 0 {
		return nil, fail(PropertyOutsideObject, "%d property elements outside any ds:Object", p.strayProps)
	}
	var buf [8]int32
	kids, err := t.elems(root, buf[:0])
	if err != nil {
		return nil, err
	}
	if len(kids) != 1 {
		return nil, fail(UnexpectedElement, "the root has %d child elements", len(kids))
	}

	if err := t.onlyAttrs(sig.el, "Id"); err != nil {
		return nil, err
	}
	var ok bool
	if sig.id, ok = t.attr(sig.el, "Id"); !ok || !isNCNameASCII(sig.id) {
		return nil, fail(MissingElement, "ds:Signature has no Id (or one that is no name)")
	}
	if kids, err = t.elems(sig.el, buf[:0]); err != nil {
		return nil, err
	}
	for i, k := range kids {
		switch {
		case i == 0 && t.isDS(k, "SignedInfo"):
			sig.signedInfo = k
		case i == 1 && t.isDS(k, "SignatureValue"):
			sig.value = k
		case i == 2 && t.isDS(k, "KeyInfo"):
			sig.keyInfo = k
		case i >= 2 && t.isDS(k, "Object"):
			sig.objects = append(sig.objects, k)
		default:
			return nil, fail(UnexpectedElement, "%s as child %d of ds:Signature", quote(t.fullTag(k)), i+1)
		}
	}
	switch {
	case sig.signedInfo < 0:
		return nil, fail(MissingElement, "no ds:SignedInfo")
	case sig.value < 0:
		return nil, fail(MissingElement, "no ds:SignatureValue")
	case sig.keyInfo < 0:
		return nil, fail(NoSignerCertificate, "no ds:KeyInfo")
	case len(sig.objects) == 0:
		return nil, fail(MissingElement, "no ds:Object")
	}
	return sig, nil
}

// verifySignature does everything from SignedInfo on.
func (p *parsed) verifySignature(sig *sigParts, o Options) (*Signed, error) {
	t := p.t
	// The canonicalization method must be known before canonicalising; it is
	// read from the input here and checked again in the canonical form.
	var buf [4]int32
	cms, err := t.elems(sig.signedInfo, buf[:0])
	if err != nil {
		return nil, err
	}
	if len(cms) == 0 || !t.isDS(cms[0], "CanonicalizationMethod") {
		return nil, fail(MissingElement, "ds:SignedInfo does not start with ds:CanonicalizationMethod")
	}
	if alg, _ := t.attr(cms[0], "Algorithm"); !allowed(allowedC14N, alg) {
		return nil, fail(AlgorithmNotAllowed, "canonicalization %s", quote(alg))
	}
	siBytes, err := t.canonical(sig.signedInfo)
	if err != nil {
		return nil, err
	}
	siTree, siRoot, err := reparse(siBytes, o)
	if err != nil {
		return nil, err
	}
	ref, err := readSignedInfo(siTree, siRoot)
	if err != nil {
		return nil, err
	}

	certs, signer, err := readKeyInfo(t, sig.keyInfo, o)
	if err != nil {
		return nil, err
	}
	if err := t.onlyAttrs(sig.value); err != nil {
		return nil, err
	}
	svText, err := t.leafText(sig.value)
	if err != nil {
		return nil, err
	}
	sv, err := decodeBase64(svText)
	if err != nil {
		return nil, failErr(Malformed, err, "ds:SignatureValue is not base64")
	}
	h := sha256.Sum256(siBytes)
	if err := rsa.VerifyPKCS1v15(signer.PublicKey.(*rsa.PublicKey), crypto.SHA256, h[:], sv); err != nil {
		return nil, failErr(SignatureInvalid, err, "")
	}

	// From here on the URI and digest are those of the verified bytes.
	objEl, err := p.resolve(sig, ref.uri)
	if err != nil {
		return nil, err
	}
	if err := t.onlyAttrs(objEl, "Id"); err != nil {
		return nil, err
	}
	objBytes, err := t.canonical(objEl)
	if err != nil {
		return nil, err
	}
	if d := sha256.Sum256(objBytes); !bytes.Equal(d[:], ref.digest) {
		return nil, fail(DigestMismatch, "")
	}
	objTree, objRoot, err := reparse(objBytes, o)
	if err != nil {
		return nil, err
	}
	props, style, err := readProperties(objTree, objRoot, sig.id)
	if err != nil {
		return nil, err
	}
	return &Signed{
		Style:        style,
		SignatureID:  sig.id,
		Signer:       signer,
		Certificates: certs,
		Properties:   props,
		SignedInfo:   siBytes,
		Object:       objBytes,
	}, nil
}

// reference is what the verified SignedInfo says.
type reference struct {
	uri    string
	digest []byte
}

// readSignedInfo checks the canonical SignedInfo against the profile:
// exactly CanonicalizationMethod, SignatureMethod and one Reference, with
// allowed algorithms, no Transforms and nothing else.
func readSignedInfo(t *tree, si int32) (reference, error) {
	var ref reference
	if !t.isDS(si, "SignedInfo") {
		return ref, fail(Malformed, "canonical SignedInfo has root %s", quote(t.fullTag(si)))
	}
	if err := t.onlyAttrs(si); err != nil {
		return ref, err
	}
	var buf [4]int32
	kids, err := t.elems(si, buf[:0])
	if err != nil {
		return ref, err
	}
	n := 0
	for _, k := range kids {
		if t.isDS(k, "Reference") {
			n++
		}
	}
	if n != 1 {
		return ref, fail(NotOneReference, "%d ds:Reference elements", n)
	}
	if len(kids) != 3 || !t.isDS(kids[0], "CanonicalizationMethod") || !t.isDS(kids[1], "SignatureMethod") || !t.isDS(kids[2], "Reference") {
		return ref, fail(UnexpectedElement, "ds:SignedInfo is not CanonicalizationMethod, SignatureMethod, Reference")
	}
	if err := algorithm(t, kids[0], allowedC14N, "canonicalization"); err != nil {
		return ref, err
	}
	if err := algorithm(t, kids[1], allowedSignature, "signature"); err != nil {
		return ref, err
	}
	r := kids[2]
	if err := t.onlyAttrs(r, "URI"); err != nil {
		return ref, err
	}
	uri, ok := t.attr(r, "URI")
	if !ok || len(uri) < 2 || uri[0] != '#' || !isNCNameASCII(uri[1:]) {
		return ref, fail(ReferenceTarget, "URI %s is not \"#Id\"", quote(uri))
	}
	ref.uri = uri
	if kids, err = t.elems(r, buf[:0]); err != nil {
		return ref, err
	}
	for _, k := range kids {
		if t.isDS(k, "Transforms") {
			return ref, fail(TransformNotAllowed, "")
		}
	}
	if len(kids) != 2 || !t.isDS(kids[0], "DigestMethod") || !t.isDS(kids[1], "DigestValue") {
		return ref, fail(UnexpectedElement, "ds:Reference is not DigestMethod, DigestValue")
	}
	if err := algorithm(t, kids[0], allowedDigest, "digest"); err != nil {
		return ref, err
	}
	if err := t.onlyAttrs(kids[1]); err != nil {
		return ref, err
	}
	dv, err := t.leafText(kids[1])
	if err != nil {
		return ref, err
	}
	if ref.digest, err = decodeBase64(dv); err != nil || len(ref.digest) != sha256.Size {
		return ref, fail(Malformed, "ds:DigestValue is not a base64 SHA-256 digest")
	}
	return ref, nil
}

// algorithm checks a *Method element: only an Algorithm attribute from the
// list, and no content (no HMACOutputLength, no InclusiveNamespaces).
func algorithm(t *tree, el int32, list []string, what string) error {
	if err := t.onlyAttrs(el, "Algorithm"); err != nil {
		return err
	}
	if alg, _ := t.attr(el, "Algorithm"); !allowed(list, alg) {
		return fail(AlgorithmNotAllowed, "%s %s", what, quote(alg))
	}
	return t.emptyLeaf(el)
}

// resolve finds the element the verified URI names. The Id is unique in the
// whole document (the walk refused duplicates of any spelling), and it must
// be the Id attribute of a ds:Object child of the Signature. Every other
// Object is unsigned content and refused.
func (p *parsed) resolve(sig *sigParts, uri string) (int32, error) {
	t := p.t
	id := uri[1:]
	target, ok := p.ids.get(id)
	if !ok {
		return 0, fail(ReferenceTarget, "no element has Id %s", quote(id))
	}
	if v, ok := t.attr(target, "Id"); !ok || v != id || !t.isDS(target, "Object") || t.nodes[target].parent != sig.el {
		return 0, fail(ReferenceTarget, "Id %s is on %s, not on a ds:Object of the signature", quote(id), quote(t.fullTag(target)))
	}
	for _, obj := range p.objects {
		if obj.el == target {
			continue
		}
		if obj.props > 0 {
			return 0, fail(PropertyOutsideObject, "an unreferenced ds:Object holds signature properties")
		}
		return 0, fail(UnsignedObject, "a second ds:Object")
	}
	return target, nil
}

// readKeyInfo parses every certificate in KeyInfo and picks the signer: the
// one end-entity (non-CA) certificate. Position in KeyInfo means nothing
// (the JS client puts the issuing CA first, §4.2); a second end-entity
// certificate makes the signer ambiguous and is refused rather than guessed.
func readKeyInfo(t *tree, ki int32, o Options) ([]*x509.Certificate, *x509.Certificate, error) {
	if err := t.onlyAttrs(ki); err != nil {
		return nil, nil, err
	}
	var buf [8]int32
	datas, err := t.elems(ki, buf[:0])
	if err != nil {
		return nil, nil, err
	}
	certs := make([]*x509.Certificate, 0, len(datas))
	var signer *x509.Certificate
	for _, d := range datas {
		if !t.isDS(d, "X509Data") {
			return nil, nil, fail(UnexpectedElement, "%s in ds:KeyInfo", quote(t.fullTag(d)))
		}
		if err := t.onlyAttrs(d); err != nil {
			return nil, nil, err
		}
		var cbuf [4]int32
		cs, err := t.elems(d, cbuf[:0])
		if err != nil {
			return nil, nil, err
		}
		if len(cs) == 0 {
			return nil, nil, fail(MissingElement, "empty ds:X509Data")
		}
		for _, c := range cs {
			if !t.isDS(c, "X509Certificate") {
				return nil, nil, fail(UnexpectedElement, "%s in ds:X509Data", quote(t.fullTag(c)))
			}
			if err := t.onlyAttrs(c); err != nil {
				return nil, nil, err
			}
			text, err := t.leafText(c)
			if err != nil {
				return nil, nil, err
			}
			der, err := decodeBase64(text)
			if err != nil {
				return nil, nil, failErr(BadCertificate, err, "certificate "+strconv.Itoa(len(certs)+1)+" is not base64")
			}
			cert := o.known(der)
			if cert == nil {
				if cert, err = x509.ParseCertificate(der); err != nil {
					return nil, nil, failErr(BadCertificate, err, "certificate "+strconv.Itoa(len(certs)+1))
				}
			}
			certs = append(certs, cert)
			if cert.BasicConstraintsValid && cert.IsCA {
				continue
			}
			if signer != nil {
				return nil, nil, fail(AmbiguousSigner, "more than one end-entity certificate in ds:KeyInfo")
			}
			signer = cert
		}
	}
	if signer == nil {
		return nil, nil, fail(NoSignerCertificate, "%d certificates, all CA", len(certs))
	}
	pub, ok := signer.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, nil, fail(WeakKey, "signer key is %T, not RSA", signer.PublicKey)
	}
	if pub.N.BitLen() < o.MinRSABits {
		return nil, nil, fail(WeakKey, "RSA-%d, at least %d required", pub.N.BitLen(), o.MinRSABits)
	}
	return certs, signer, nil
}
