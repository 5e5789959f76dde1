package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// StaticPrefix is the URL path under which Static serves the client's
// assets.
const StaticPrefix = "/launcher/static/"

//go:embed assets
var assetFiles embed.FS

// asset is one static file, ready to serve.
type asset struct {
	body        []byte
	contentType string
}

// The served assets by URL path, and the paths of the two the page links.
// Each name carries a hash of the content, so a changed file gets a new URL
// and any version can be cached for ever.
var (
	assets     = map[string]asset{}
	scriptPath = addAsset("launcher.js")
	stylePath  = addAsset("launcher.css")
)

// contentTypes are the types of the extensions the assets use.
var contentTypes = map[string]string{
	".js":  "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8",
}

// addAsset reads an embedded file and registers it under its versioned
// name: launcher.js becomes launcher.<hash>.js. It panics on a missing file
// or an unknown extension: both are build mistakes, caught by any test.
func addAsset(name string) string {
	body, err := assetFiles.ReadFile("assets/" + name)
	if err != nil {
		panic(fmt.Sprintf("web: embedded asset %s: %v", name, err))
	}
	ext := path.Ext(name)
	contentType, ok := contentTypes[ext]
	if !ok {
		panic("web: no content type for asset " + name)
	}
	sum := sha256.Sum256(body)
	urlPath := StaticPrefix + strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:8]) + ext
	assets[urlPath] = asset{body: body, contentType: contentType}
	return urlPath
}

// Static serves the client's assets at their full paths under StaticPrefix
// (mount it there without stripping the prefix). Names are versioned, so
// answers are cacheable for ever; anything that is not exactly an asset's
// path is 404, and methods other than GET and HEAD are 405.
func Static() http.Handler {
	return http.HandlerFunc(serveStatic)
}

func serveStatic(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	a, ok := assets[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	h.Set("Content-Type", a.contentType)
	h.Set("Content-Length", strconv.Itoa(len(a.body)))
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	// Only the launcher's own pages load these files.
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(a.body)
	}
}
