package letters

import "fmt"

// Card geometry in millimetres. The card is ISO/IEC 7810 ID-1, the size of
// a payment card. Its two sides are printed side by side: cut out along the
// dashed line and folded in the middle, the strip makes one card printed on
// both sides, without a duplex printer.
const (
	cardW      = 85.60
	cardH      = 53.98
	cardCorner = 3.18
	cardPad    = 3.0
	cardCols   = 4
	cardSides  = 2

	stripX     = (pageW - cardSides*cardW) / 2
	stripY     = pageH - 16 - cardH
	cutHintGap = 4.0 // the cutting instruction sits this far above the strip

	headerBase   = 6.2  // header baseline below the card's top edge
	ruleY        = 7.8  // the rule under the header
	colHeadBase  = 10.4 // baseline of the column heads
	firstRowBase = 13.2 // baseline of the first row of keys
	lastRowLimit = 2.6  // the last baseline stays this far above the bottom edge
	keyPt        = 6.0
	codeOffset   = 6.6 // from a column's left edge to its codes
)

// cardStrip draws the card, its cut line and fold line, and the keys:
// ascending, down each column, across the front and then the back.
func (r *render) cardStrip(cardNumber string, keys []Key) {
	pdf := r.pdf
	perSide := (len(keys) + cardSides - 1) / cardSides
	rows := (perSide + cardCols - 1) / cardCols

	r.font("", 7)
	r.grey(70)
	pdf.Text(stripX, stripY-cutHintGap+1.5, "✂  Klip kortet ud langs den stiplede linje, og fold det på midten.")

	for side := range cardSides {
		lo := min(side*perSide, len(keys))
		hi := min(lo+perSide, len(keys))
		r.cardSide(stripX+float64(side)*cardW, stripY, cardNumber, side+1, keys[lo:hi], rows)
	}

	// Cut line around the whole strip; the fold line between the sides.
	pdf.SetDrawColor(60, 60, 60)
	pdf.SetLineWidth(0.25)
	pdf.SetDashPattern([]float64{1.6, 1.0}, 0)
	pdf.RoundedRect(stripX, stripY, cardSides*cardW, cardH, cardCorner, "1234", "D")
	pdf.SetDrawColor(150, 150, 150)
	pdf.SetDashPattern([]float64{0.3, 0.9}, 0)
	for side := 1; side < cardSides; side++ {
		x := stripX + float64(side)*cardW
		pdf.Line(x, stripY-2.5, x, stripY+cardH+2.5)
	}
	pdf.SetDashPattern(nil, 0)
	r.font("", 5)
	r.grey(120)
	fold := "fold her"
	pdf.Text(stripX+cardW-pdf.GetStringWidth(fold)/2, stripY+cardH+4.5, fold)
}

// cardSide draws one side of the card with its share of the keys.
func (r *render) cardSide(x, y float64, cardNumber string, side int, keys []Key, rows int) {
	pdf := r.pdf
	innerW := cardW - 2*cardPad
	colW := innerW / cardCols
	pitch := (cardH - lastRowLimit - firstRowBase) / float64(rows-1)
	if pitch < 1.9 {
		r.fail("%d keys do not fit legibly on a side of the card", len(keys))
		return
	}

	// Header: who and which card, on both sides, so a side found alone is known.
	r.font("B", 9)
	r.grey(0)
	pdf.Text(x+cardPad, y+headerBase, "NemID")
	w := pdf.GetStringWidth("NemID")
	r.font("", 5.5)
	r.grey(90)
	pdf.Text(x+cardPad+w+1.5, y+headerBase, fmt.Sprintf("nøglekort · side %d af %d", side, cardSides))
	r.font("B", 8)
	r.grey(0)
	numW := pdf.GetStringWidth(cardNumber)
	pdf.Text(x+cardW-cardPad-numW, y+headerBase, cardNumber)
	r.font("", 5.5)
	r.grey(90)
	label := "Nøglekortnummer"
	pdf.Text(x+cardW-cardPad-numW-1.2-pdf.GetStringWidth(label), y+headerBase, label)

	pdf.SetDrawColor(120, 120, 120)
	pdf.SetLineWidth(0.2)
	pdf.Line(x+cardPad, y+ruleY, x+cardW-cardPad, y+ruleY)

	// Every other row shaded, so the eye stays on the row from key number to code.
	pdf.SetFillColor(232, 232, 232)
	for row := 1; row < rows; row += 2 {
		base := y + firstRowBase + float64(row)*pitch
		pdf.Rect(x+cardPad, base-pitch*0.74, innerW, pitch, "F")
	}
	// Thin rules between the columns.
	pdf.SetDrawColor(190, 190, 190)
	pdf.SetLineWidth(0.15)
	for col := 1; col < cardCols; col++ {
		cx := x + cardPad + float64(col)*colW - 1.3
		pdf.Line(cx, y+ruleY+1, cx, y+cardH-1.2)
	}

	// The code column's head is set flush right over the codes.
	r.font("B", keyPt)
	codeW := pdf.GetStringWidth("000000")
	r.font("", 4.3)
	codeHeadX := codeOffset + codeW - pdf.GetStringWidth("Nøgle")
	for col := range cardCols {
		cx := x + cardPad + float64(col)*colW
		r.font("", 4.3)
		r.grey(90)
		pdf.Text(cx, y+colHeadBase, "Nøgle nr.")
		pdf.Text(cx+codeHeadX, y+colHeadBase, "Nøgle")
		for row := range rows {
			i := col*rows + row
			if i >= len(keys) {
				break
			}
			base := y + firstRowBase + float64(row)*pitch
			r.font("", keyPt)
			r.grey(70)
			pdf.Text(cx, base, keys[i].Number)
			r.font("B", keyPt)
			r.grey(0)
			pdf.Text(cx+codeOffset, base, keys[i].Code)
		}
	}
}
