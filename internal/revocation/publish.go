// Package revocation serves what the certificate authority publishes for
// relying parties: the CA certificates at the caIssuers URLs written into
// certificates (and, with the revocation services, CRLs and OCSP answers).
package revocation

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"html/template"
	"net/http"
	"time"
)

// Publication is the set of CA certificates an installation publishes.
type Publication struct {
	Root, Issuing, OCSP *x509.Certificate
	// Since is the Last-Modified time of the certificates (their issuance).
	Since time.Time
}

// Register adds the publication's handlers to mux at the paths used in the
// certificates' URLs (see ca.Config): /aia/root.cer, /aia/issuing.cer,
// /aia/ocsp.cer and the /repository page the policies point to.
func (p *Publication) Register(mux *http.ServeMux) {
	mux.Handle("GET /aia/root.cer", certHandler(p.Root, p.Since))
	mux.Handle("GET /aia/issuing.cer", certHandler(p.Issuing, p.Since))
	mux.Handle("GET /aia/ocsp.cer", certHandler(p.OCSP, p.Since))
	mux.HandleFunc("GET /repository", p.repository)
}

// certHandler serves one certificate as DER, application/pkix-cert (RFC 2585),
// with a strong ETag so caches revalidate cheaply.
func certHandler(c *x509.Certificate, since time.Time) http.Handler {
	sum := sha256.Sum256(c.Raw)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/pkix-cert")
		w.Header().Set("ETag", etag)
		w.Header().Set("Cache-Control", "public, max-age=86400")
		http.ServeContent(w, r, "", since, bytes.NewReader(c.Raw))
	})
}

var repositoryPage = template.Must(template.New("repository").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Certificate repository</title></head>
<body><h1>Certificate repository</h1>
<p>Certificates of this NemID installation's certificate authority. The certificate policy
of every OCES certificate issued here points to this page.</p>
<table><tr><th>Certificate</th><th>Subject</th><th>Valid until</th><th>SHA-256 fingerprint</th></tr>
{{range .}}<tr><td><a href="{{.Path}}">{{.Path}}</a></td><td>{{.Subject}}</td><td>{{.NotAfter}}</td><td><code>{{.Fingerprint}}</code></td></tr>
{{end}}</table></body></html>
`))

func (p *Publication) repository(w http.ResponseWriter, r *http.Request) {
	type row struct{ Path, Subject, NotAfter, Fingerprint string }
	var rows []row
	for _, x := range []struct {
		path string
		c    *x509.Certificate
	}{{"/aia/root.cer", p.Root}, {"/aia/issuing.cer", p.Issuing}, {"/aia/ocsp.cer", p.OCSP}} {
		sum := sha256.Sum256(x.c.Raw)
		rows = append(rows, row{x.path, x.c.Subject.String(), x.c.NotAfter.Format(time.DateOnly), fmt.Sprintf("%X", sum)})
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'")
	if err := repositoryPage.Execute(w, rows); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}
