package web

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestStaticServesTheAssets(t *testing.T) {
	want := map[string]struct{ file, contentType string }{
		scriptPath: {"assets/launcher.js", "text/javascript; charset=utf-8"},
		stylePath:  {"assets/launcher.css", "text/css; charset=utf-8"},
	}
	for urlPath, w := range want {
		body, err := assetFiles.ReadFile(w.file)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(body)
		if !strings.Contains(urlPath, "."+hex.EncodeToString(sum[:8])+".") {
			t.Errorf("%s does not carry the hash of its content", urlPath)
		}
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			rec := httptest.NewRecorder()
			Static().ServeHTTP(rec, httptest.NewRequest(method, urlPath, nil))
			if rec.Code != http.StatusOK {
				t.Fatalf("%s %s: %d", method, urlPath, rec.Code)
			}
			h := rec.Header()
			for name, value := range map[string]string{
				"Content-Type":           w.contentType,
				"X-Content-Type-Options": "nosniff",
				"Cache-Control":          "public, max-age=31536000, immutable",
			} {
				if got := h.Get(name); got != value {
					t.Errorf("%s %s: %s = %q, want %q", method, urlPath, name, got, value)
				}
			}
			wantBody := string(body)
			if method == http.MethodHead {
				wantBody = ""
			}
			if rec.Body.String() != wantBody {
				t.Errorf("%s %s: body of %d bytes, want %d", method, urlPath, rec.Body.Len(), len(wantBody))
			}
		}
	}
}

func TestStaticRefusesEverythingElse(t *testing.T) {
	script := strings.TrimPrefix(scriptPath, StaticPrefix)
	for _, target := range []string{
		StaticPrefix,
		StaticPrefix + "launcher.js",
		StaticPrefix + "launcher.css",
		StaticPrefix + "assets/launcher.js",
		StaticPrefix + "../static/" + script,
		StaticPrefix + "./" + script,
		StaticPrefix + script + "/",
		StaticPrefix + "%2e%2e/static/" + script,
		StaticPrefix + strings.ToUpper(script),
		StaticPrefix + "launcher.0000000000000000.js",
		"/launcher/" + script,
		"/" + script,
		"/launcher/static//" + script,
	} {
		rec := httptest.NewRecorder()
		Static().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		if rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", target, rec.Code)
		}
		if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("GET %s: X-Content-Type-Options %q", target, got)
		}
	}
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		rec := httptest.NewRecorder()
		Static().ServeHTTP(rec, httptest.NewRequest(method, scriptPath, nil))
		if rec.Code != http.StatusMethodNotAllowed || rec.Body.Len() > 100 {
			t.Errorf("%s %s: %d, want 405 without the asset", method, scriptPath, rec.Code)
		}
	}
}

// Mounted as idp mounts it, behind a ServeMux, path tricks do not reach an
// asset either.
func TestStaticBehindAMux(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle(StaticPrefix, Static())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for target, want := range map[string]int{
		scriptPath:                     http.StatusOK,
		"/launcher/static/launcher.js": http.StatusNotFound,
	} {
		resp, err := client.Get(srv.URL + target)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", target, resp.StatusCode, want)
		}
	}
	// The mux redirects an unclean path to the clean one; it never serves
	// it itself.
	trick := "/launcher/static/x/../" + strings.TrimPrefix(scriptPath, StaticPrefix)
	resp, err := client.Get(srv.URL + trick)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 3 {
		t.Errorf("GET %s: %d, want a redirect to the clean path", trick, resp.StatusCode)
	}
}
