package oces_test

import (
	"strings"
	"testing"

	"github.com/nemid-dk/nemid/oces"
)

func FuzzParseCPR(f *testing.F) {
	for _, s := range []string{"010190-1234", "0101901234", "290200-4000", "310299-1234", "32xxxx", "010158-8000", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		birth, err := oces.ParseCPR(s)
		if err != nil {
			if !birth.IsZero() {
				t.Fatalf("error %v with non-zero date %v", err, birth)
			}
			return
		}
		digits := strings.Replace(s, "-", "", 1)
		if len(digits) != 10 || (len(s) == 11 && s[6] != '-') {
			t.Fatalf("accepted %q", s)
		}
		if got := birth.Format("020106"); got != digits[:6] {
			t.Fatalf("ParseCPR(%q) = %v, which formats as %s", s, birth, got)
		}
		if y := birth.Year(); y < 1858 || y > 2057 {
			t.Fatalf("ParseCPR(%q) year %d out of range", s, y)
		}
	})
}

func FuzzParseSerialNumber(f *testing.F) {
	for _, s := range []string{"PID:9208-2002-2-175183276275", "CVR:30808460-RID:45490598", "CVR:30808460-UID:25351738",
		"CVR:30808460-FID:1", "CVR:30808460-XID:1", "PID:", "CVR:", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := oces.ParseSerialNumber(s)
		if err != nil {
			return
		}
		var rebuilt string
		switch id.Type {
		case oces.POCES:
			rebuilt = "PID:" + id.PID
		case oces.MOCES:
			rebuilt = "CVR:" + id.CVR + "-RID:" + id.RID
		case oces.VOCES:
			rebuilt = "CVR:" + id.CVR + "-UID:" + id.UID
		case oces.FOCES:
			rebuilt = "CVR:" + id.CVR + "-FID:" + id.FID
		default:
			t.Fatalf("ParseSerialNumber(%q): type %q", s, id.Type)
		}
		if rebuilt != s || id.SerialNumber != s || id.ID() == "" {
			t.Fatalf("ParseSerialNumber(%q) = %+v", s, id)
		}
	})
}
