package letters

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// textWidth is where the plain-text letter wraps: it reads well in a
// terminal and in a mail client.
const textWidth = 72

// text renders the letter's words as plain text, in the order the page
// shows them.
func (l Letter) text(c content) string {
	var b strings.Builder
	b.WriteString(l.senderName() + "\n")
	for _, line := range l.From.AddressLines {
		b.WriteString(line + "\n")
	}
	b.WriteString("\n" + l.To.Name + "\n")
	for _, line := range l.To.AddressLines {
		b.WriteString(line + "\n")
	}
	b.WriteString("\n")
	for _, f := range c.info {
		fmt.Fprintf(&b, "%s: %s\n", f.label, f.value)
	}
	b.WriteString("\n" + c.subject + "\n" + strings.Repeat("=", utf8.RuneCountInString(c.subject)) + "\n\n")
	for _, blk := range c.blocks {
		switch blk.kind {
		case paragraph, english:
			wrap(&b, blk.text, "", "")
			b.WriteString("\n")
		case heading:
			b.WriteString(blk.text + "\n")
		case steps:
			for i, item := range blk.items {
				first := fmt.Sprintf("%d. ", i+1)
				wrap(&b, item, first, strings.Repeat(" ", len(first)))
			}
			b.WriteString("\n")
		case fields:
			width := 0
			for _, f := range blk.fields {
				width = max(width, utf8.RuneCountInString(f.label))
			}
			for _, f := range blk.fields {
				pad := strings.Repeat(" ", width-utf8.RuneCountInString(f.label))
				fmt.Fprintf(&b, "    %s:%s  %s\n", f.label, pad, f.value)
			}
			b.WriteString("\n")
		}
	}
	b.WriteString(c.closing + "\n" + l.senderName() + "\n")
	return b.String()
}

// wrap writes text as lines of at most textWidth characters (a longer
// word gets a line of its own), the first line prefixed with first and the
// rest with rest.
func wrap(b *strings.Builder, text, first, rest string) {
	prefix := first
	line := 0
	for i, word := range strings.Fields(text) {
		n := utf8.RuneCountInString(word)
		switch {
		case i == 0:
			b.WriteString(prefix + word)
			line = utf8.RuneCountInString(prefix) + n
		case line+1+n > textWidth:
			b.WriteString("\n" + rest + word)
			line = utf8.RuneCountInString(rest) + n
		default:
			b.WriteString(" " + word)
			line += 1 + n
		}
	}
	b.WriteString("\n")
}
