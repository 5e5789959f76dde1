package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/store"
)

func serials[T any](xs []T, serial func(T) string) string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = serial(x)
	}
	return fmt.Sprint(out)
}

func revokedSerial(r store.Revoked) string  { return r.Serial }
func certSerial(c store.Certificate) string { return c.Serial }

// populate stores certificates of two issuers over three partitions and
// revokes some; it returns nothing, the tests below spell out what is where.
//
//	issuing p1: 10 a 1f 9 (revoked: 10, 9)      issuing p2: b2 c (revoked: c)
//	other   p1: 2 e0 (revoked: 2, e0)           other   p3: 3 (good)
func populate(t *testing.T, s store.Store) {
	insert(t, s,
		cert("9", "issuing", 1), cert("10", "issuing", 1), cert("a", "issuing", 1), cert("1f", "issuing", 1),
		cert("c", "issuing", 2), cert("b2", "issuing", 2),
		cert("e0", "other", 1), cert("2", "other", 1), cert("3", "other", 3),
	)
	for i, serial := range []string{"10", "9", "c", "2", "e0"} {
		if _, err := s.Revoke(ctx(t), serial, t0.Add(time.Duration(i)*time.Minute), i%3); err != nil {
			t.Fatalf("Revoke(%s): %v", serial, err)
		}
	}
}

func testRevokedLists(t *testing.T, s store.Store) {
	populate(t, s)
	tests := []struct {
		issuer    string
		partition int // 0: the whole issuer
		want      string
	}{
		{"issuing", 1, "[10 9]"}, // text order: "10" < "9"
		{"issuing", 2, "[c]"},
		{"issuing", 3, "[]"},
		{"other", 1, "[2 e0]"},
		{"other", 3, "[]"},
		{"nosuch", 1, "[]"},
		{"issuing", 0, "[10 9 c]"},
		{"other", 0, "[2 e0]"},
		{"nosuch", 0, "[]"},
	}
	for _, tc := range tests {
		var (
			got []store.Revoked
			err error
		)
		if tc.partition == 0 {
			got, err = s.RevokedByIssuer(ctx(t), tc.issuer)
		} else {
			got, err = s.RevokedInPartition(ctx(t), tc.issuer, tc.partition)
		}
		if err != nil {
			t.Fatalf("%s/%d: %v", tc.issuer, tc.partition, err)
		}
		if s := serials(got, revokedSerial); s != tc.want {
			t.Errorf("%s partition %d: revoked %s, want %s", tc.issuer, tc.partition, s, tc.want)
		}
	}
	// The entries carry what the CRL needs.
	got, _ := s.RevokedInPartition(ctx(t), "other", 1)
	if len(got) != 2 || got[1].Reason != 1 || !got[1].RevokedAt.Equal(t0.Add(4*time.Minute).Truncate(time.Microsecond)) {
		t.Errorf("RevokedInPartition(other, 1) = %+v; want e0 revoked at t0+4m with reason 1", got)
	}
}

func testListCertificates(t *testing.T, s store.Store) {
	populate(t, s)
	tests := []struct {
		f    store.ListFilter
		want string
	}{
		{store.ListFilter{}, "[10 1f 2 3 9 a b2 c e0]"},
		{store.ListFilter{Issuer: "issuing"}, "[10 1f 9 a b2 c]"},
		{store.ListFilter{Issuer: "nosuch"}, "[]"},
		{store.ListFilter{RevokedOnly: true}, "[10 2 9 c e0]"},
		{store.ListFilter{Issuer: "other", RevokedOnly: true}, "[2 e0]"},
		{store.ListFilter{AfterSerial: "2"}, "[3 9 a b2 c e0]"},
		{store.ListFilter{AfterSerial: "25"}, "[3 9 a b2 c e0]"}, // need not exist
		{store.ListFilter{AfterSerial: "e0"}, "[]"},
		{store.ListFilter{Limit: 3}, "[10 1f 2]"},
		{store.ListFilter{Limit: 100}, "[10 1f 2 3 9 a b2 c e0]"},
		{store.ListFilter{Issuer: "issuing", RevokedOnly: true, AfterSerial: "10", Limit: 1}, "[9]"},
	}
	for _, tc := range tests {
		got, err := s.ListCertificates(ctx(t), tc.f)
		if err != nil {
			t.Fatalf("ListCertificates(%+v): %v", tc.f, err)
		}
		if s := serials(got, certSerial); s != tc.want {
			t.Errorf("ListCertificates(%+v) = %s, want %s", tc.f, s, tc.want)
		}
	}

	// Paging with AfterSerial and Limit visits every certificate once.
	var all []store.Certificate
	f := store.ListFilter{Limit: 2}
	for {
		page, err := s.ListCertificates(ctx(t), f)
		if err != nil {
			t.Fatalf("ListCertificates: %v", err)
		}
		if len(page) == 0 {
			break
		}
		all = append(all, page...)
		f.AfterSerial = page[len(page)-1].Serial
	}
	if got, want := serials(all, certSerial), "[10 1f 2 3 9 a b2 c e0]"; got != want {
		t.Errorf("paged = %s, want %s", got, want)
	}
	// Full rows come back, revoked ones with their revocation.
	for _, c := range all {
		if c.Serial == "e0" {
			want := cert("e0", "other", 1)
			want.Status, want.RevokedAt, want.Reason = store.StatusRevoked, t0.Add(4*time.Minute), 1
			sameCert(t, c, want)
		}
	}

	if _, err := s.ListCertificates(ctx(t), store.ListFilter{Limit: -1}); err == nil {
		t.Error("ListCertificates with a negative limit succeeded")
	}
}
