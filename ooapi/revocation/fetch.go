package revocation

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// httpURL accepts only plain http:// URLs with a host, as OOAPI did: the
// answers are signed, so TLS adds nothing but a second trust anchor (and
// an https:// CRL URL would make fetching a CRL depend on checking another
// certificate's revocation). what names the URL in messages.
func httpURL(method, what, raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fail(method, ErrNoSource, what+" is not a URL", err)
	}
	if u.Scheme != "http" || u.Host == "" || u.User != nil {
		return "", fail(method, ErrNoSource, fmt.Sprintf("%s %q: only http:// URLs with a host are used", what, raw), nil)
	}
	return u.String(), nil
}

// httpFetch sends one request and returns the body of a 200 answer of at
// most max bytes.
func httpFetch(ctx context.Context, method string, client *http.Client, verb, target string, body []byte, header http.Header, max int64) ([]byte, error) {
	if client == nil {
		client = http.DefaultClient
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, verb, target, rd)
	if err != nil {
		return nil, fail(method, ErrNoSource, "cannot build the request", err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fail(method, ErrUnreachable, verb+" "+target, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// Drain a little so the connection can be reused; the body of an
		// error page is not interesting.
		io.CopyN(io.Discard, resp.Body, 4<<10) //nolint:errcheck // best effort
		return nil, fail(method, ErrUnreachable, fmt.Sprintf("%s %s: HTTP status %s", verb, target, strings.TrimSpace(resp.Status)), nil)
	}
	if resp.ContentLength > max {
		return nil, fail(method, ErrInvalid, fmt.Sprintf("%s %s: the answer has %d bytes, more than the limit of %d", verb, target, resp.ContentLength, max), nil)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, fail(method, ErrUnreachable, verb+" "+target+": reading the answer", err)
	}
	if int64(len(data)) > max {
		return nil, fail(method, ErrInvalid, fmt.Sprintf("%s %s: the answer is larger than the limit of %d bytes", verb, target, max), nil)
	}
	return data, nil
}
