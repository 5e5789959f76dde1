package storetest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/store"
)

// revoke revokes the certificates, or fails the test.
func revoke(t *testing.T, s store.Store, serials ...string) {
	t.Helper()
	for _, serial := range serials {
		if _, err := s.Revoke(ctx(t), serial, t0, 1); err != nil {
			t.Fatalf("Revoke(%s): %v", serial, err)
		}
	}
}

func testPartitions(t *testing.T, s store.Store) {
	insert(t, s,
		cert("1", "issuing", 1), cert("2", "issuing", 3), cert("3", "issuing", 2), cert("4", "issuing", 0),
		cert("5", "other", 0),                         // only outside any partition
		cert("6", "third", 1), cert("7", "third", 12), // numbers, not text: 12 > 2
		cert("8", "third", 2),
	)
	tests := []struct {
		issuer string
		want   int
	}{{"issuing", 3}, {"other", 0}, {"third", 12}, {"nosuch", 0}}
	for _, tc := range tests {
		got, err := s.Partitions(ctx(t), tc.issuer)
		if err != nil || got != tc.want {
			t.Errorf("Partitions(%q) = %d, %v; want %d", tc.issuer, got, err, tc.want)
		}
	}
	// Revoked certificates still hold their partition.
	revoke(t, s, "2")
	if got, err := s.Partitions(ctx(t), "issuing"); err != nil || got != 3 {
		t.Errorf("Partitions after a revocation = %d, %v; want 3", got, err)
	}
	if _, err := s.Partitions(ctx(t), ""); err == nil {
		t.Error("Partitions(\"\") succeeded")
	}
}

func testNextCRLNumber(t *testing.T, s store.Store) {
	steps := []struct {
		issuer string
		want   int64
	}{{"issuing", 1}, {"issuing", 2}, {"other", 1}, {"issuing", 3}, {"other", 2}}
	for i, st := range steps {
		got, err := s.NextCRLNumber(ctx(t), st.issuer)
		if err != nil || got != st.want {
			t.Fatalf("step %d: NextCRLNumber(%q) = %d, %v; want %d", i, st.issuer, got, err, st.want)
		}
	}
	if n, err := s.NextCRLNumber(ctx(t), ""); err == nil {
		t.Errorf("NextCRLNumber(\"\") = %d, want an error", n)
	}
}

func testNextCRLNumberConcurrent(t *testing.T, s store.Store) {
	const n = 50
	got := make([]int64, n)
	errs := parallel(n, func(i int) error {
		var err error
		got[i], err = s.NextCRLNumber(ctx(t), "issuing")
		return err
	})
	for _, err := range errs {
		if err != nil {
			t.Fatalf("NextCRLNumber: %v", err)
		}
	}
	slices.Sort(got)
	for i, v := range got {
		if v != int64(i+1) {
			t.Fatalf("numbers handed out (sorted) = %v; want 1..%d, each once", got, n)
		}
	}
	if next, err := s.NextCRLNumber(ctx(t), "issuing"); err != nil || next != n+1 {
		t.Errorf("NextCRLNumber after %d = %d, %v; want %d", n, next, err, n+1)
	}
}

// crl returns a valid CRL whose DER and times say which one it is.
func crl(issuer string, partition int, number int64) store.CRL {
	this := t0.Add(time.Duration(number) * time.Minute)
	return store.CRL{
		Issuer: issuer, Partition: partition, Number: number,
		ThisUpdate: this, NextUpdate: this.Add(24 * time.Hour),
		DER: fmt.Appendf(nil, "CRL %s/%d #%d", issuer, partition, number),
	}
}

// sameCRL fails unless got is want as stored (DER compared only if withDER).
func sameCRL(t *testing.T, got, want store.CRL, withDER bool) {
	t.Helper()
	if got.Issuer != want.Issuer || got.Partition != want.Partition || got.Number != want.Number {
		t.Errorf("CRL = %s/%d #%d, want %s/%d #%d", got.Issuer, got.Partition, got.Number, want.Issuer, want.Partition, want.Number)
	}
	if withDER && !bytes.Equal(got.DER, want.DER) {
		t.Errorf("CRL DER = %q, want %q", got.DER, want.DER)
	}
	if !withDER && len(got.DER) != 0 {
		t.Errorf("CRL %s/%d has DER in a listing", got.Issuer, got.Partition)
	}
	sameTime(t, "CRL ThisUpdate", got.ThisUpdate, want.ThisUpdate)
	sameTime(t, "CRL NextUpdate", got.NextUpdate, want.NextUpdate)
}

func testPutCRL(t *testing.T, s store.Store) {
	if _, err := s.CRL(ctx(t), "issuing", 1); err == nil {
		t.Fatal("CRL before any PutCRL succeeded")
	}
	steps := []struct {
		name   string
		c      store.CRL
		stored bool
	}{
		{"first", crl("issuing", 1, 5), true},
		{"same number", crl("issuing", 1, 5), false},
		{"lower number", crl("issuing", 1, 4), false},
		{"higher number", crl("issuing", 1, 7), true},
		{"full CRL is its own", crl("issuing", 0, 6), true},
		{"other partition", crl("issuing", 2, 1), true},
		{"other issuer", crl("other", 1, 1), true},
		{"lower again", crl("issuing", 1, 6), false},
		{"full CRL higher", crl("issuing", 0, 8), true},
	}
	latest := map[[2]any]store.CRL{}
	for _, st := range steps {
		stored, err := s.PutCRL(ctx(t), st.c)
		if err != nil || stored != st.stored {
			t.Fatalf("%s: PutCRL(%s/%d #%d) = %v, %v; want %v", st.name, st.c.Issuer, st.c.Partition, st.c.Number, stored, err, st.stored)
		}
		key := [2]any{st.c.Issuer, st.c.Partition}
		if st.stored {
			latest[key] = st.c
		}
		got, err := s.CRL(ctx(t), st.c.Issuer, st.c.Partition)
		if err != nil {
			t.Fatalf("%s: CRL: %v", st.name, err)
		}
		sameCRL(t, got, latest[key], true)
	}

	list, err := s.CRLs(ctx(t))
	if err != nil {
		t.Fatalf("CRLs: %v", err)
	}
	want := []store.CRL{crl("issuing", 0, 8), crl("issuing", 1, 7), crl("issuing", 2, 1), crl("other", 1, 1)}
	if len(list) != len(want) {
		t.Fatalf("CRLs = %+v, want %d", list, len(want))
	}
	for i := range want {
		sameCRL(t, list[i], want[i], false)
	}

	for _, k := range []struct {
		issuer    string
		partition int
	}{{"issuing", 3}, {"other", 0}, {"nosuch", 0}} {
		_, err := s.CRL(ctx(t), k.issuer, k.partition)
		mustErr(t, fmt.Sprintf("CRL(%s, %d)", k.issuer, k.partition), err, store.ErrNotFound)
	}
}

func testPutCRLInvalid(t *testing.T, s store.Store) {
	tests := []struct {
		name string
		edit func(c *store.CRL)
	}{
		{"no issuer", func(c *store.CRL) { c.Issuer = "" }},
		{"partition negative", func(c *store.CRL) { c.Partition = -1 }},
		{"number 0", func(c *store.CRL) { c.Number = 0 }},
		{"number negative", func(c *store.CRL) { c.Number = -3 }},
		{"no thisUpdate", func(c *store.CRL) { c.ThisUpdate = time.Time{} }},
		{"nextUpdate = thisUpdate", func(c *store.CRL) { c.NextUpdate = c.ThisUpdate }},
		{"nextUpdate before", func(c *store.CRL) { c.NextUpdate = c.ThisUpdate.Add(-time.Hour) }},
		{"nextUpdate in the same microsecond", func(c *store.CRL) {
			c.ThisUpdate = c.ThisUpdate.Truncate(time.Microsecond)
			c.NextUpdate = c.ThisUpdate.Add(500 * time.Nanosecond)
		}},
		{"no DER", func(c *store.CRL) { c.DER = nil }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := crl("issuing", 1, 1)
			tc.edit(&c)
			if stored, err := s.PutCRL(ctx(t), c); err == nil {
				t.Fatalf("PutCRL accepted %+v (stored %v)", c, stored)
			}
		})
	}
	if list, err := s.CRLs(ctx(t)); err != nil || len(list) != 0 {
		t.Fatalf("after rejected puts: CRLs = %+v, %v; want none", list, err)
	}
}

// testPutCRLConcurrent: whatever order concurrent puts commit in, the
// highest number is what stays.
func testPutCRLConcurrent(t *testing.T, s store.Store) {
	const n = 50
	numbers := rand.Perm(n)
	stored := make([]bool, n)
	errs := parallel(n, func(i int) error {
		var err error
		stored[i], err = s.PutCRL(ctx(t), crl("issuing", 1, int64(numbers[i]+1)))
		return err
	})
	wins := 0
	for i, err := range errs {
		if err != nil {
			t.Fatalf("PutCRL: %v", err)
		}
		if stored[i] {
			wins++
		}
		if numbers[i]+1 == n && !stored[i] {
			t.Errorf("PutCRL of the highest number (%d) was refused", n)
		}
	}
	got, err := s.CRL(ctx(t), "issuing", 1)
	if err != nil {
		t.Fatalf("CRL: %v", err)
	}
	sameCRL(t, got, crl("issuing", 1, n), true)
	t.Logf("%d of %d concurrent puts were stored", wins, n)
}

func staleString(ms []store.StaleCRL) string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = fmt.Sprintf("%s/%d#%d", m.Issuer, m.Partition, m.Generation)
	}
	return fmt.Sprint(out)
}

// stale fails unless StaleCRLs lists want.
func stale(t *testing.T, s store.Store, want string) {
	t.Helper()
	got, err := s.StaleCRLs(ctx(t))
	if err != nil {
		t.Fatalf("StaleCRLs: %v", err)
	}
	if g := staleString(got); g != want {
		t.Fatalf("StaleCRLs = %s, want %s", g, want)
	}
}

func testStaleCRLs(t *testing.T, s store.Store) {
	insert(t, s,
		cert("a1", "issuing", 1), cert("a2", "issuing", 1), cert("b1", "issuing", 2), cert("c1", "issuing", 10),
		cert("f", "issuing", 0), cert("e1", "other", 3), cert("9", "issuing", 1),
	)
	stale(t, s, "[]") // issuing marks nothing
	steps := []struct {
		serial, want string
	}{
		{"a1", "[issuing/0#1 issuing/1#1]"},
		{"a2", "[issuing/0#2 issuing/1#2]"}, // each revocation counts
		{"b1", "[issuing/0#3 issuing/1#2 issuing/2#1]"},
		{"f", "[issuing/0#4 issuing/1#2 issuing/2#1]"},               // partition 0: the full CRL only
		{"c1", "[issuing/0#5 issuing/1#2 issuing/2#1 issuing/10#1]"}, // partitions in numeric order
		{"e1", "[issuing/0#5 issuing/1#2 issuing/2#1 issuing/10#1 other/0#1 other/3#1]"},
	}
	for _, st := range steps {
		revoke(t, s, st.serial)
		stale(t, s, st.want)
	}
	// Revocations that fail mark nothing.
	_, err := s.Revoke(ctx(t), "a1", t0, 1)
	mustErr(t, "Revoke twice", err, store.ErrAlreadyRevoked)
	_, err = s.Revoke(ctx(t), "dead", t0, 1)
	mustErr(t, "Revoke unknown", err, store.ErrNotFound)
	_, err = s.Revoke(ctx(t), "9", t0, 6)
	if err == nil {
		t.Fatal("Revoke with reason 6 succeeded")
	}
	stale(t, s, steps[len(steps)-1].want)
}

func testClearStaleCRL(t *testing.T, s store.Store) {
	insert(t, s, cert("c1", "issuing", 1), cert("c2", "issuing", 1), cert("c3", "issuing", 1), cert("c4", "issuing", 1))
	clearMark := func(partition int, generation int64) {
		t.Helper()
		if err := s.ClearStaleCRL(ctx(t), store.StaleCRL{Issuer: "issuing", Partition: partition, Generation: generation}); err != nil {
			t.Fatalf("ClearStaleCRL(%d, %d): %v", partition, generation, err)
		}
	}
	revoke(t, s, "c1")
	stale(t, s, "[issuing/0#1 issuing/1#1]")
	revoke(t, s, "c2") // lands after a publisher read generation 1
	clearMark(1, 1)    // that publisher's CRL lacks c2: the mark stays
	stale(t, s, "[issuing/0#2 issuing/1#2]")
	clearMark(1, 2)
	stale(t, s, "[issuing/0#2]")
	clearMark(1, 2) // clearing twice is harmless
	clearMark(0, 2)
	stale(t, s, "[]")

	// Generations go on from where they were, so a publisher still holding
	// an old generation cannot clear a new mark.
	revoke(t, s, "c3")
	stale(t, s, "[issuing/0#3 issuing/1#3]")
	clearMark(1, 1)
	clearMark(1, 2)
	clearMark(0, 2)
	stale(t, s, "[issuing/0#3 issuing/1#3]")
	// Nor can a generation not reached yet.
	clearMark(1, 4)
	stale(t, s, "[issuing/0#3 issuing/1#3]")
	// A mark never made: nothing to clear, no error.
	if err := s.ClearStaleCRL(ctx(t), store.StaleCRL{Issuer: "nosuch", Partition: 1, Generation: 1}); err != nil {
		t.Errorf("ClearStaleCRL of an unknown mark: %v", err)
	}

	for _, m := range []store.StaleCRL{
		{Issuer: "", Partition: 1, Generation: 3},
		{Issuer: "issuing", Partition: -1, Generation: 3},
		{Issuer: "issuing", Partition: 1, Generation: 0},
		{Issuer: "issuing", Partition: 1, Generation: -3},
	} {
		if err := s.ClearStaleCRL(ctx(t), m); err == nil {
			t.Errorf("ClearStaleCRL(%+v) succeeded", m)
		}
	}
	stale(t, s, "[issuing/0#3 issuing/1#3]")
}

// testRevokeMarksStaleConcurrent: concurrent revocations in one issuer each
// count once, in their partition and in the full CRL, and do not deadlock.
func testRevokeMarksStaleConcurrent(t *testing.T, s store.Store) {
	const n = 30
	serial := func(i int) string { return fmt.Sprintf("%x", 0x100+i) }
	for i := range n {
		insert(t, s, cert(serial(i), "issuing", i%3)) // partitions 0, 1, 2
	}
	errs := parallel(n, func(i int) error {
		_, err := s.Revoke(ctx(t), serial(i), t0, 1)
		return err
	})
	for _, err := range errs {
		if err != nil {
			t.Fatalf("Revoke: %v", err)
		}
	}
	stale(t, s, fmt.Sprintf("[issuing/0#%d issuing/1#%d issuing/2#%d]", n, n/3, n/3))
}
