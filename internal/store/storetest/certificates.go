package storetest

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/store"
)

// cert returns a valid new certificate.
func cert(serial, issuer string, partition int) store.Certificate {
	return store.Certificate{
		Serial:    serial,
		Issuer:    issuer,
		Profile:   "poces",
		Subject:   "CN=Test Person+serialNumber=PID:9208-2002-2-" + serial + ",O=Ingen organisatorisk tilknytning,C=DK",
		NotBefore: t0,
		NotAfter:  t0.AddDate(4, 0, 0),
		Partition: partition,
		DER:       []byte("DER of " + serial),
		IssuedAt:  t0.Add(time.Second),
		Status:    store.StatusGood,
	}
}

func insert(t *testing.T, s store.Store, cs ...store.Certificate) {
	t.Helper()
	for _, c := range cs {
		if err := s.InsertCertificate(ctx(t), c); err != nil {
			t.Fatalf("InsertCertificate(%s): %v", c.Serial, err)
		}
	}
}

// sameCert fails unless got is want as stored: times truncated to
// microseconds and in UTC.
func sameCert(t *testing.T, got, want store.Certificate) {
	t.Helper()
	if got.Serial != want.Serial || got.Issuer != want.Issuer || got.Profile != want.Profile ||
		got.Subject != want.Subject || got.Partition != want.Partition || !bytes.Equal(got.DER, want.DER) ||
		got.Status != want.Status || got.Reason != want.Reason {
		t.Errorf("certificate = %+v\nwant %+v", got, want)
	}
	sameTime(t, want.Serial+" NotBefore", got.NotBefore, want.NotBefore)
	sameTime(t, want.Serial+" NotAfter", got.NotAfter, want.NotAfter)
	sameTime(t, want.Serial+" IssuedAt", got.IssuedAt, want.IssuedAt)
	sameTime(t, want.Serial+" RevokedAt", got.RevokedAt, want.RevokedAt)
}

func testInsertCertificate(t *testing.T, s store.Store) {
	want := cert("1a2b", "issuing", 1)
	insert(t, s, want)
	got, err := s.Certificate(ctx(t), "1a2b")
	if err != nil {
		t.Fatalf("Certificate: %v", err)
	}
	sameCert(t, got, want)

	// Partition 0: in no partition, as the OCSP responder's certificate.
	none := cert("ffff", "issuing", 0)
	insert(t, s, none)
	if got, err := s.Certificate(ctx(t), "ffff"); err != nil || got.Partition != 0 {
		t.Errorf("Certificate(ffff) = partition %d, %v; want 0", got.Partition, err)
	}

	for _, serial := range []string{"1a2c", "1A2B", "01a2b", ""} {
		_, err := s.Certificate(ctx(t), serial)
		mustErr(t, fmt.Sprintf("Certificate(%q)", serial), err, store.ErrNotFound)
	}
}

func testInsertCertificateDuplicate(t *testing.T, s store.Store) {
	first := cert("abc", "issuing", 1)
	insert(t, s, first)
	second := cert("abc", "other", 2)
	second.DER = []byte("another")
	mustErr(t, "InsertCertificate twice", s.InsertCertificate(ctx(t), second), store.ErrDuplicateSerial)
	got, err := s.Certificate(ctx(t), "abc")
	if err != nil {
		t.Fatalf("Certificate: %v", err)
	}
	sameCert(t, got, first)
}

func testInsertCertificateInvalid(t *testing.T, s store.Store) {
	tests := []struct {
		name string
		edit func(c *store.Certificate)
	}{
		{"status revoked", func(c *store.Certificate) { c.Status = store.StatusRevoked }},
		{"status empty", func(c *store.Certificate) { c.Status = "" }},
		{"status hold", func(c *store.Certificate) { c.Status = "hold" }},
		{"revocation time", func(c *store.Certificate) { c.RevokedAt = t0 }},
		{"reason", func(c *store.Certificate) { c.Reason = 1 }},
		{"serial empty", func(c *store.Certificate) { c.Serial = "" }},
		{"serial upper case", func(c *store.Certificate) { c.Serial = "ABC" }},
		{"serial leading zero", func(c *store.Certificate) { c.Serial = "0abc" }},
		{"serial zero", func(c *store.Certificate) { c.Serial = "0" }},
		{"serial not hex", func(c *store.Certificate) { c.Serial = "12g4" }},
		{"serial with 0x", func(c *store.Certificate) { c.Serial = "0x12" }},
		{"no issuer", func(c *store.Certificate) { c.Issuer = "" }},
		{"partition negative", func(c *store.Certificate) { c.Partition = -1 }},
		{"no DER", func(c *store.Certificate) { c.DER = nil }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := cert("5e", "issuing", 1)
			tc.edit(&c)
			if err := s.InsertCertificate(ctx(t), c); err == nil {
				t.Fatalf("InsertCertificate accepted %+v", c)
			}
			if got, err := s.ListCertificates(ctx(t), store.ListFilter{}); err != nil || len(got) != 0 {
				t.Fatalf("after rejected insert: ListCertificates = %d certificates, %v; want none", len(got), err)
			}
		})
	}
}

func testTimesRoundTrip(t *testing.T, s store.Store) {
	copenhagen := time.FixedZone("CEST", 2*3600)
	times := []time.Time{
		time.Date(2026, 7, 1, 12, 0, 0, 999, copenhagen), // below a microsecond: dropped
		time.Date(1969, 12, 31, 23, 59, 59, 123456789, time.UTC),
		time.Date(1999, 1, 1, 0, 0, 0, 1000, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC), // RFC 5280's "no well-defined expiry"
		time.Unix(0, 0),
	}
	for i, tm := range times {
		c := cert(fmt.Sprintf("%x", 0x100+i), "issuing", 1)
		c.NotBefore, c.NotAfter, c.IssuedAt = tm, tm.Add(time.Microsecond), tm.Add(-time.Microsecond)
		insert(t, s, c)
		got, err := s.Certificate(ctx(t), c.Serial)
		if err != nil {
			t.Fatalf("Certificate: %v", err)
		}
		sameCert(t, got, c)
		if !got.RevokedAt.IsZero() {
			t.Errorf("good certificate has RevokedAt %v", got.RevokedAt)
		}
		r, err := s.Revoke(ctx(t), c.Serial, tm, 0)
		if err != nil {
			t.Fatalf("Revoke: %v", err)
		}
		sameTime(t, "Revoke().RevokedAt", r.RevokedAt, tm)
		list, err := s.RevokedInPartition(ctx(t), "issuing", 1)
		if err != nil || len(list) != i+1 {
			t.Fatalf("RevokedInPartition = %v, %v", list, err)
		}
		for _, e := range list {
			if e.Serial == c.Serial {
				sameTime(t, "Revoked.RevokedAt", e.RevokedAt, tm)
			}
		}
	}
}

func testRevoke(t *testing.T, s store.Store) {
	c := cert("beef", "issuing", 3)
	insert(t, s, c)
	at := t0.Add(48 * time.Hour)
	got, err := s.Revoke(ctx(t), "beef", at, 1)
	if err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	want := c
	want.Status, want.RevokedAt, want.Reason = store.StatusRevoked, at, 1
	sameCert(t, got, want)
	stored, err := s.Certificate(ctx(t), "beef")
	if err != nil {
		t.Fatalf("Certificate: %v", err)
	}
	sameCert(t, stored, want)

	// A revocation is final: a second one fails and changes nothing.
	_, err = s.Revoke(ctx(t), "beef", at.Add(time.Hour), 4)
	mustErr(t, "second Revoke", err, store.ErrAlreadyRevoked)
	stored, _ = s.Certificate(ctx(t), "beef")
	sameCert(t, stored, want)
}

func testRevokeErrors(t *testing.T, s store.Store) {
	insert(t, s, cert("c0de", "issuing", 1))
	_, err := s.Revoke(ctx(t), "dead", t0, 0)
	mustErr(t, "Revoke unknown serial", err, store.ErrNotFound)
	tests := []struct {
		name   string
		at     time.Time
		reason int
	}{
		{"certificateHold", t0, 6},
		{"unused 7", t0, 7},
		{"removeFromCRL", t0, 8},
		{"above 10", t0, 11},
		{"negative", t0, -1},
		{"no time", time.Time{}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.Revoke(ctx(t), "c0de", tc.at, tc.reason); err == nil {
				t.Fatalf("Revoke(%v, %d) succeeded", tc.at, tc.reason)
			}
			if c, _ := s.Certificate(ctx(t), "c0de"); c.Status != store.StatusGood {
				t.Fatalf("rejected Revoke changed the status to %q", c.Status)
			}
		})
	}
}

func testRevokeReasons(t *testing.T, s store.Store) {
	for _, reason := range []int{0, 1, 2, 3, 4, 5, 9, 10} {
		serial := fmt.Sprintf("%x", 0xa00+reason)
		insert(t, s, cert(serial, "issuing", 1))
		c, err := s.Revoke(ctx(t), serial, t0, reason)
		if err != nil {
			t.Fatalf("Revoke with reason %d: %v", reason, err)
		}
		if c.Reason != reason || c.Status != store.StatusRevoked {
			t.Errorf("Revoke with reason %d returned %d, %q", reason, c.Reason, c.Status)
		}
		if err := store.ValidReason(reason); err != nil {
			t.Errorf("ValidReason(%d) = %v", reason, err)
		}
	}
}
