package letters

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
)

// The font is embedded (see fonts/README.md): PDF's standard fonts cannot
// print æ, ø and å, and the binary must not depend on the fonts of the
// machine it runs on.
var (
	//go:embed fonts/DejaVuSans.ttf
	fontRegular []byte
	//go:embed fonts/DejaVuSans-Bold.ttf
	fontBold []byte
)

const fontFamily = "DejaVuSans"

// Page geometry in millimetres: A4, laid out as DIN 5008 form B, so that
// the address shows in the window of a window envelope and the fold marks
// fold the sheet to fit it.
const (
	pageW = 210.0
	pageH = 297.0

	marginLeft  = 25.0
	marginRight = 20.0
	textW       = pageW - marginLeft - marginRight

	// The address field: 85 × 45 mm, 20 mm from the left and 45 mm from
	// the top edge. Its upper 17.7 mm are the remark zone, whose last line
	// is the return address; the address itself fills the 27.3 mm below.
	addressX      = 20.0
	addressY      = 45.0
	addressW      = 85.0
	addressInset  = 5.0 // text starts 25 mm from the left edge
	addressTextW  = addressW - addressInset
	remarkZoneH   = 17.7
	addressLineH  = 4.5
	addressFontPt = 10.0

	// The information block (date, references) right of the address field.
	infoX = 125.0
	infoY = 50.0
	infoW = pageW - marginRight - infoX

	subjectY = 100.0
	bodyY    = 110.0
	bodyPt   = 10.0
	bodyLine = 5.0
	// paraGap is the space after a paragraph.
	paraGap = 2.5

	// Fold marks at 105 and 210 mm (form B) and the punch mark at the middle.
	foldMark1 = 105.0
	foldMark2 = 210.0
	punchMark = pageH / 2
)

// newDocument starts a PDF that renders the same bytes for the same input:
// fixed creation and modification dates, sorted catalogues, no random ID.
func newDocument(title string, date time.Time) *fpdf.Fpdf {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetCreationDate(date)
	pdf.SetModificationDate(date)
	pdf.SetCatalogSort(true)
	pdf.SetProducer("nemid", false)
	pdf.SetCreator("nemid letters", false)
	pdf.SetTitle(title, true)
	pdf.SetLang("da-DK")
	pdf.AddUTF8FontFromBytes(fontFamily, "", fontRegular)
	pdf.AddUTF8FontFromBytes(fontFamily, "B", fontBold)
	// The layout places everything itself and checks that it fits; an
	// automatic page break would silently split a letter.
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetMargins(marginLeft, 20, marginRight)
	pdf.SetCellMargin(0)
	return pdf
}

// render is one letter being drawn. Drawing errors stay in the fpdf value
// (checked once at the end); layout errors (text that does not fit) are
// collected in err.
type render struct {
	pdf *fpdf.Fpdf
	err error
}

func (r *render) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("letters: "+format, args...)
	}
}

func (r *render) font(style string, pt float64) { r.pdf.SetFont(fontFamily, style, pt) }

func (r *render) grey(level int) { r.pdf.SetTextColor(level, level, level) }

// fits fails the render unless s, in the current font, fits in w mm.
func (r *render) fits(what, s string, w float64) {
	if got := r.pdf.GetStringWidth(s); got > w {
		r.fail("%s is too long to print: %.0f mm wide, the space is %.0f mm", what, got, w)
	}
}

// page draws what every letter page has: fold marks, letterhead, return
// address, the recipient's address, the information block and the subject.
func (r *render) page(l Letter, c content) {
	pdf := r.pdf
	pdf.AddPage()

	pdf.SetDrawColor(150, 150, 150)
	pdf.SetLineWidth(0.2)
	for _, y := range []float64{foldMark1, foldMark2} {
		pdf.Line(4, y, 9, y)
	}
	pdf.Line(4, punchMark, 12, punchMark)

	// Letterhead, top right.
	r.font("B", 20)
	r.grey(0)
	name := l.senderName()
	r.fits("the sender's name", name, infoW)
	pdf.Text(pageW-marginRight-pdf.GetStringWidth(name), 24, name)
	r.font("", 8)
	r.grey(80)
	for i, line := range l.From.AddressLines {
		r.fits(fmt.Sprintf("sender address line %d", i+1), line, infoW)
		pdf.Text(pageW-marginRight-pdf.GetStringWidth(line), 29+float64(i)*3.6, line)
	}

	// Return address: the last line of the remark zone, small, so the
	// post office can send the letter back without opening it.
	r.font("", 7)
	r.grey(80)
	ret := strings.Join(append([]string{name}, l.From.AddressLines...), " · ")
	r.fits("the return address (sender name and address on one line)", ret, addressTextW)
	pdf.Text(addressX+addressInset, addressY+remarkZoneH-2.5, ret)

	// The address zone.
	r.font("", addressFontPt)
	r.grey(0)
	lines := append([]string{l.To.Name}, l.To.AddressLines...)
	for i, line := range lines {
		what := "the recipient's name"
		if i > 0 {
			what = fmt.Sprintf("recipient address line %d", i)
		}
		r.fits(what, line, addressTextW)
		pdf.Text(addressX+addressInset, addressY+remarkZoneH+4.5+float64(i)*addressLineH, line)
	}

	// Information block.
	y := infoY
	for _, f := range c.info {
		r.font("", 7.5)
		r.grey(90)
		pdf.Text(infoX, y, f.label)
		r.font("", 10)
		r.grey(0)
		r.fits(f.label, f.value, infoW)
		pdf.Text(infoX, y+4.2, f.value)
		y += 10
	}

	r.font("B", 13)
	r.grey(0)
	pdf.SetXY(marginLeft, subjectY)
	pdf.MultiCell(textW, 6, c.subject, "", "L", false)
	pdf.SetXY(marginLeft, bodyY)
}

// body draws the blocks and the closing from the current position, and
// fails the render if they would pass bottom.
func (r *render) body(l Letter, c content, bottom float64) {
	pdf := r.pdf
	for _, b := range c.blocks {
		switch b.kind {
		case paragraph:
			r.font("", bodyPt)
			r.grey(0)
			pdf.MultiCell(textW, bodyLine, b.text, "", "L", false)
			r.gap(paraGap)
		case heading:
			r.font("B", bodyPt+0.5)
			r.grey(0)
			pdf.MultiCell(textW, bodyLine+0.5, b.text, "", "L", false)
			r.gap(0.8)
		case steps:
			r.font("", bodyPt)
			r.grey(0)
			for i, item := range b.items {
				y := pdf.GetY()
				pdf.SetXY(marginLeft+1, y)
				pdf.CellFormat(6, bodyLine, fmt.Sprintf("%d.", i+1), "", 0, "L", false, 0, "")
				pdf.SetXY(marginLeft+7, y)
				pdf.MultiCell(textW-7, bodyLine, item, "", "L", false)
				r.gap(0.8)
			}
			r.gap(paraGap - 0.8)
		case fields:
			r.fieldBox(b.fields)
		case english:
			r.font("", bodyPt-1)
			r.grey(60)
			y := pdf.GetY()
			pdf.SetXY(marginLeft+4, y)
			pdf.MultiCell(textW-4, bodyLine-0.5, b.text, "", "L", false)
			pdf.SetDrawColor(120, 120, 120)
			pdf.SetLineWidth(0.6)
			pdf.Line(marginLeft+0.5, y+0.5, marginLeft+0.5, pdf.GetY()-0.5)
			r.gap(paraGap + 1)
		}
	}
	r.font("", bodyPt)
	r.grey(0)
	pdf.MultiCell(textW, bodyLine, c.closing, "", "L", false)
	r.gap(1)
	r.font("B", bodyPt)
	pdf.MultiCell(textW, bodyLine, l.senderName(), "", "L", false)
	if pdf.GetY() > bottom {
		r.fail("the letter's text does not fit on the page (the recipient's name may be too long)")
	}
}

func (r *render) gap(mm float64) { r.pdf.SetXY(marginLeft, r.pdf.GetY()+mm) }

// fieldBox frames what the letter is for (the NemID number and the
// password) in large type, so the reader finds it at once.
func (r *render) fieldBox(fs []field) {
	pdf := r.pdf
	const (
		rowH   = 8.5
		pad    = 3.0
		labelW = 58.0
	)
	y := pdf.GetY() + 1
	h := float64(len(fs))*rowH + 2*pad - 1.5
	pdf.SetFillColor(242, 242, 242)
	pdf.SetDrawColor(170, 170, 170)
	pdf.SetLineWidth(0.3)
	pdf.RoundedRect(marginLeft, y, textW, h, 2, "1234", "FD")
	for i, f := range fs {
		base := y + pad + float64(i)*rowH + 5.2
		r.font("", 9)
		r.grey(70)
		pdf.Text(marginLeft+5, base, f.label)
		if f.secret {
			r.font("B", 14)
		} else {
			r.font("", 11)
		}
		r.grey(0)
		r.fits(f.label, f.value, textW-labelW-10)
		pdf.Text(marginLeft+5+labelW, base, f.value)
	}
	pdf.SetXY(marginLeft, y+h+paraGap+2)
}

// output finishes the document.
func (r *render) output() ([]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	var buf bytes.Buffer
	if err := r.pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("letters: rendering the PDF: %w", err)
	}
	if buf.Len() == 0 {
		return nil, errors.New("letters: rendering the PDF gave no output")
	}
	return buf.Bytes(), nil
}
