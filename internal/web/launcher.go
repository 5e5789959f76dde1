package web

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"

	"github.com/nemid-dk/nemid/ooapi"
)

//go:embed templates/launcher.html
var launcherSource string

var launcherTemplate = template.Must(template.New("launcher").Parse(launcherSource))

// inLanguages is one text in the three languages, for the few texts the page
// needs before it knows the flow's language.
type inLanguages struct{ DA, EN, KL string }

func allLanguages(key string) inLanguages {
	return inLanguages{Text(ooapi.DA, key), Text(ooapi.EN, key), Text(ooapi.KL, key)}
}

// launcherPage is what the template needs.
type launcherPage struct {
	Mode, Script, Style string
	Loading, Cancel     string
	TechnicalError      inLanguages
	NoScript            inLanguages
}

// launcherPages holds the page of each mode, rendered once: the page is the
// same for every flow and every service provider.
var launcherPages = map[string][]byte{
	"lmt": renderLauncher("lmt"),
	"std": renderLauncher("std"),
}

func renderLauncher(mode string) []byte {
	var b bytes.Buffer
	err := launcherTemplate.Execute(&b, launcherPage{
		Mode:           mode,
		Script:         scriptPath,
		Style:          stylePath,
		Loading:        Text(ooapi.DA, "loading"),
		Cancel:         Text(ooapi.DA, "cancel"),
		TechnicalError: allLanguages("technicalError"),
		NoScript:       allLanguages("noScript"),
	})
	if err != nil {
		panic("web: launcher template: " + err.Error())
	}
	return b.Bytes()
}

// WriteLauncher writes the whole HTML page of the JS client in mode "lmt"
// (limited, responsive) or "std" (standard). The page has no inline script
// or style, so it runs under the launcher's strict CSP; the caller sets the
// headers (docs/idp.md).
func WriteLauncher(w io.Writer, mode string) error {
	page, ok := launcherPages[mode]
	if !ok {
		return fmt.Errorf("web: launcher mode %q: want lmt or std", mode)
	}
	_, err := w.Write(page)
	return err
}
