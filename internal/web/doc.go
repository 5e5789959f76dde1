// Package web holds what the NemID JS client shows in the browser: the
// launcher page (limited and standard mode), its script and style sheet, the
// standalone sign-text document for the page's nested frame, and the
// client's texts in Danish, English and Greenlandic.
//
// Everything is embedded in the binary. The package writes pages and serves
// assets; the server side (internal/idp) owns the URLs, the flows and the
// security headers, and calls the package. docs/idp.md describes the
// contract between the page and the server.
package web
