package letters_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestKeyCardIsCardSized measures the printed card on a raster of the page
// (pdftoppm, 10 pixels per millimetre): the dashed cut line must enclose
// two payment-card sides (2 × 85.6 by 54 mm, ISO/IEC 7810 ID-1).
func TestKeyCardIsCardSized(t *testing.T) {
	doc, err := sampleLetter().KeyCard(sampleCard())
	if err != nil {
		t.Fatal(err)
	}
	file := writePDF(t, doc.PDF)
	prefix := filepath.Join(t.TempDir(), "page")
	poppler(t, "pdftoppm", "-gray", "-r", "254", "-singlefile", file, prefix)
	raw, err := os.ReadFile(prefix + ".pgm")
	if err != nil {
		t.Fatal(err)
	}
	img := parsePGM(t, raw)

	// The cut line is the only long dark line: rows and columns that are
	// more than half dark within the lower part of the page (below the
	// 200 mm mark, under the text) are its edges. Text and the light fold
	// line never come close.
	const pxPerMM, dark = 10.0, 110
	top := int(200 * pxPerMM)
	var rows, cols []int
	for y := top; y < img.h; y++ {
		n := 0
		for x := 0; x < img.w; x++ {
			if img.at(x, y) < dark {
				n++
			}
		}
		if n > int(0.5*2*85.6*pxPerMM) {
			rows = append(rows, y)
		}
	}
	for x := 0; x < img.w; x++ {
		n := 0
		for y := top; y < img.h; y++ {
			if img.at(x, y) < dark {
				n++
			}
		}
		if n > int(0.5*54*pxPerMM) {
			cols = append(cols, x)
		}
	}
	if len(rows) == 0 || len(cols) == 0 {
		t.Fatalf("no cut line found (%d rows, %d columns)", len(rows), len(cols))
	}
	width := float64(cols[len(cols)-1]-cols[0]) / pxPerMM
	height := float64(rows[len(rows)-1]-rows[0]) / pxPerMM
	if width < 2*85.6-0.5 || width > 2*85.6+0.5 || height < 54-0.5 || height > 54+0.5 {
		t.Errorf("the cut line encloses %.1f × %.1f mm, want %.1f × 54 mm (two card sides)", width, height, 2*85.6)
	}
	bottom := float64(rows[len(rows)-1]) / pxPerMM
	if bottom > 297-10 {
		t.Errorf("the card reaches %.1f mm, too near the bottom edge for a printer", bottom)
	}
}

type grayImage struct {
	w, h int
	pix  []byte
}

func (g grayImage) at(x, y int) byte { return g.pix[y*g.w+x] }

// parsePGM reads a binary PGM (P5) with 8-bit samples, as pdftoppm -gray writes it.
func parsePGM(t *testing.T, b []byte) grayImage {
	t.Helper()
	var w, h, maxv int
	n, err := fmt.Sscan(string(b[:min(len(b), 64)]), new(string), &w, &h, &maxv)
	if err != nil || n != 4 || !bytes.HasPrefix(b, []byte("P5")) || maxv != 255 {
		t.Fatalf("not an 8-bit binary PGM: %v", err)
	}
	// The header is four whitespace-separated fields and one whitespace byte.
	fields := 0
	i := 0
	for fields < 4 {
		for b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t' {
			i++
		}
		for b[i] != ' ' && b[i] != '\n' && b[i] != '\r' && b[i] != '\t' {
			i++
		}
		fields++
	}
	i++
	if len(b)-i != w*h {
		t.Fatalf("PGM: %d bytes of pixels, want %d × %d", len(b)-i, w, h)
	}
	return grayImage{w: w, h: h, pix: b[i:]}
}
