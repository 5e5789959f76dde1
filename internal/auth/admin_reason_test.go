package auth

import (
	"errors"
	"strings"
	"testing"
)

// TestReasonsTheLogsCanHold: a reason with a line break, invalid UTF-8 or
// over MaxReason bytes is refused before anything changes, instead of
// being refused by the audit log after the change was made.
func TestReasonsTheLogsCanHold(t *testing.T) {
	for _, bad := range []string{"lost\ncard", "tab\there", "\xff\xfe", strings.Repeat("x", MaxReason+1)} {
		if err := checkReason(bad); !errors.Is(err, ErrInvalidReason) {
			t.Errorf("checkReason(%q) = %v, want ErrInvalidReason", bad, err)
		}
	}
	for _, good := range []string{"", "mistet kort", "Ønsker spærring – svindel", strings.Repeat("x", MaxReason)} {
		if err := checkReason(good); err != nil {
			t.Errorf("checkReason(%q) = %v", good, err)
		}
	}
}
