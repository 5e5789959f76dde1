package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/store"
)

// response returns a valid OCSP response, valid for two days from this,
// whose DER says which one it is.
func response(serial string, status store.Status, this time.Time) store.OCSPResponse {
	return store.OCSPResponse{
		Serial: serial, Status: status,
		ThisUpdate: this, NextUpdate: this.Add(48 * time.Hour),
		DER: fmt.Appendf(nil, "OCSP %s %s %d", serial, status, this.UnixMicro()),
	}
}

// put stores r with the refresh time and fails unless PutOCSPResponse
// reports want.
func put(t *testing.T, s store.Store, r store.OCSPResponse, refreshAt time.Time, want bool) {
	t.Helper()
	got, err := s.PutOCSPResponse(ctx(t), r, refreshAt)
	if err != nil || got != want {
		t.Fatalf("PutOCSPResponse(%s %s at %v, refresh %v) = %v, %v; want %v",
			r.Serial, r.Status, r.ThisUpdate, refreshAt, got, err, want)
	}
}

// due fails unless OCSPDue lists the serials in want.
func due(t *testing.T, s store.Store, issuer string, now time.Time, limit int, want string) []store.Certificate {
	t.Helper()
	got, err := s.OCSPDue(ctx(t), issuer, now, limit)
	if err != nil {
		t.Fatalf("OCSPDue(%s, %v, %d): %v", issuer, now, limit, err)
	}
	if g := serials(got, certSerial); g != want {
		t.Fatalf("OCSPDue(%s, %v, %d) = %s, want %s", issuer, now, limit, g, want)
	}
	return got
}

// stored fails unless the stored response for want.Serial is want.
func stored(t *testing.T, s store.Store, want store.OCSPResponse) {
	t.Helper()
	got, err := s.OCSPResponse(ctx(t), want.Serial)
	if err != nil {
		t.Fatalf("OCSPResponse(%s): %v", want.Serial, err)
	}
	if got.Serial != want.Serial || got.Status != want.Status || !bytes.Equal(got.DER, want.DER) {
		t.Fatalf("OCSPResponse(%s) = %s %q, want %s %q", want.Serial, got.Status, got.DER, want.Status, want.DER)
	}
	sameTime(t, "OCSPResponse ThisUpdate", got.ThisUpdate, want.ThisUpdate)
	sameTime(t, "OCSPResponse NextUpdate", got.NextUpdate, want.NextUpdate)
}

func testOCSPDue(t *testing.T, s store.Store) {
	insert(t, s, cert("a4", "issuing", 2), cert("a1", "issuing", 1), cert("a3", "issuing", 2),
		cert("a2", "issuing", 1), cert("b1", "other", 1))
	now := t0.Add(time.Hour)
	// New certificates are due at once (never signed), in serial order.
	due(t, s, "issuing", now, 10, "[a1 a2 a3 a4]")
	due(t, s, "issuing", now, 2, "[a1 a2]")
	due(t, s, "other", now, 10, "[b1]")
	due(t, s, "nosuch", now, 10, "[]")

	for _, p := range []struct {
		serial  string
		refresh time.Time
	}{
		{"a1", now.Add(time.Hour)},         // in the future: not due
		{"a2", now.Add(-10 * time.Minute)}, // overdue
		{"a3", now.Add(-20 * time.Minute)}, // more overdue
		{"a4", now},                        // due exactly now
	} {
		put(t, s, response(p.serial, store.StatusGood, t0), p.refresh, true)
	}
	due(t, s, "issuing", now, 10, "[a3 a2 a4]")
	due(t, s, "issuing", now.Add(-15*time.Minute), 10, "[a3]")
	due(t, s, "issuing", t0, 10, "[]")
	due(t, s, "other", now, 10, "[b1]") // another issuer's signing changes nothing here

	// A revocation makes the response due at once, before the overdue ones.
	revoke(t, s, "a1")
	got := due(t, s, "issuing", now, 10, "[a1 a3 a2 a4]")
	want := cert("a1", "issuing", 1)
	want.Status, want.RevokedAt, want.Reason = store.StatusRevoked, t0, 1
	sameCert(t, got[0], want) // full rows, for the signer
	due(t, s, "issuing", t0, 10, "[a1]")
	due(t, s, "issuing", now, 1, "[a1]")

	// A revocation goes ahead of new, never-signed certificates too, even
	// those with lower serials: it must not wait behind a mass issuance.
	insert(t, s, cert("a0", "issuing", 3))
	due(t, s, "issuing", now, 3, "[a1 a0 a3]")

	// Once the revoked response is signed, it waits for its refresh time.
	put(t, s, response("a1", store.StatusRevoked, now), now.Add(time.Hour), true)
	due(t, s, "issuing", now, 10, "[a0 a3 a2 a4]")
	due(t, s, "issuing", now.Add(time.Hour), 10, "[a0 a3 a2 a4 a1]")
}

// testOCSPDueInitialise: the authorities' own certificates start due too.
func testOCSPDueInitialise(t *testing.T, s store.Store) {
	c := cert("1", "root", 0)
	c.Profile = "ca"
	if err := s.Initialise(ctx(t), installation(), authorities(), []store.Certificate{c}); err != nil {
		t.Fatal(err)
	}
	due(t, s, "root", t0, 10, "[1]")
}

func testOCSPDueInvalid(t *testing.T, s store.Store) {
	insert(t, s, cert("5e", "issuing", 1))
	tests := []struct {
		name   string
		issuer string
		now    time.Time
		limit  int
	}{
		{"no issuer", "", t0, 10},
		{"no time", "issuing", time.Time{}, 10},
		{"limit 0", "issuing", t0, 0},
		{"limit negative", "issuing", t0, -1},
	}
	for _, tc := range tests {
		if got, err := s.OCSPDue(ctx(t), tc.issuer, tc.now, tc.limit); err == nil {
			t.Errorf("%s: OCSPDue = %d certificates, want an error", tc.name, len(got))
		}
	}
}

func testPutOCSPResponse(t *testing.T, s store.Store) {
	insert(t, s, cert("c1", "issuing", 1))
	_, err := s.OCSPResponse(ctx(t), "c1")
	mustErr(t, "OCSPResponse before any put", err, store.ErrNotFound)

	first := response("c1", store.StatusGood, t0)
	put(t, s, first, t0.Add(12*time.Hour), true)
	stored(t, s, first)
	due(t, s, "issuing", t0.Add(12*time.Hour-time.Microsecond), 10, "[]")
	due(t, s, "issuing", t0.Add(12*time.Hour), 10, "[c1]")

	// An older response (a slower signer) does not replace a newer one, and
	// leaves the newer one's refresh time.
	put(t, s, response("c1", store.StatusGood, t0.Add(-time.Hour)), t0, false)
	stored(t, s, first)
	due(t, s, "issuing", t0.Add(time.Hour), 10, "[]")

	// One as new replaces it (putting twice is harmless); a newer one too.
	again := first
	again.DER = []byte("re-signed")
	put(t, s, again, t0.Add(11*time.Hour), true)
	stored(t, s, again)
	newer := response("c1", store.StatusGood, t0.Add(time.Hour))
	put(t, s, newer, t0.Add(20*time.Hour), true)
	stored(t, s, newer)
	due(t, s, "issuing", t0.Add(19*time.Hour), 10, "[]")

	// A status the certificate does not have: refused, nothing changes.
	put(t, s, response("c1", store.StatusRevoked, t0.Add(2*time.Hour)), t0.Add(3*time.Hour), false)
	stored(t, s, newer)
	due(t, s, "issuing", t0.Add(19*time.Hour), 10, "[]")

	// A refresh time past nextUpdate: "never again" (an expired
	// certificate's last response stands).
	never := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
	last := response("c1", store.StatusGood, t0.Add(2*time.Hour))
	put(t, s, last, never, true)
	stored(t, s, last)
	due(t, s, "issuing", never.Add(-time.Microsecond), 10, "[]")
	due(t, s, "issuing", never, 10, "[c1]")

	// An unknown serial.
	ok, err := s.PutOCSPResponse(ctx(t), response("dead", store.StatusGood, t0), t0.Add(time.Hour))
	if ok || !errors.Is(err, store.ErrNotFound) {
		t.Errorf("PutOCSPResponse(unknown serial) = %v, %v; want ErrNotFound", ok, err)
	}
	_, err = s.OCSPResponse(ctx(t), "dead")
	mustErr(t, "OCSPResponse(dead)", err, store.ErrNotFound)
}

// testOCSPRevokeRace: a signer that read "good" before a revocation and
// stores after it must not put the good response back in force.
func testOCSPRevokeRace(t *testing.T, s store.Store) {
	insert(t, s, cert("c2", "issuing", 1))
	first := response("c2", store.StatusGood, t0)
	put(t, s, first, t0.Add(12*time.Hour), true)
	revoke(t, s, "c2")
	put(t, s, response("c2", store.StatusGood, t0.Add(time.Hour)), t0.Add(13*time.Hour), false)
	due(t, s, "issuing", t0.Add(2*time.Hour), 10, "[c2]") // still due
	stored(t, s, first)                                   // nothing stored

	// The revoked response replaces the good one even if its thisUpdate is
	// older (clocks of two signers differ): the status decides first.
	revoked := response("c2", store.StatusRevoked, t0.Add(-time.Hour))
	put(t, s, revoked, t0.Add(10*time.Hour), true)
	stored(t, s, revoked)
	due(t, s, "issuing", t0.Add(2*time.Hour), 10, "[]")
	// And a good response never comes back.
	put(t, s, response("c2", store.StatusGood, t0.Add(3*time.Hour)), t0.Add(15*time.Hour), false)
	stored(t, s, revoked)
}

// testOCSPRevokeRaceConcurrent runs the race for real: for each
// certificate, a revocation and a signer storing "good" at once. Whichever
// commits first, the certificate must end revoked and due.
func testOCSPRevokeRaceConcurrent(t *testing.T, s store.Store) {
	const n = 20
	serial := func(i int) string { return fmt.Sprintf("%x", 0x200+i) }
	for i := range n {
		insert(t, s, cert(serial(i), "issuing", 1))
		put(t, s, response(serial(i), store.StatusGood, t0), t0.Add(12*time.Hour), true)
	}
	errs := parallel(2*n, func(i int) error {
		if i%2 == 0 {
			_, err := s.Revoke(ctx(t), serial(i/2), t0, 1)
			return err
		}
		_, err := s.PutOCSPResponse(ctx(t), response(serial(i/2), store.StatusGood, t0.Add(time.Hour)), t0.Add(13*time.Hour))
		return err
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.OCSPDue(ctx(t), "issuing", t0.Add(2*time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("%d of %d revoked certificates are due after the race, want all", len(got), n)
	}
	for _, c := range got {
		if c.Status != store.StatusRevoked {
			t.Errorf("%s: status %s", c.Serial, c.Status)
		}
	}
}

func testPutOCSPResponseInvalid(t *testing.T, s store.Store) {
	insert(t, s, cert("5e", "issuing", 1))
	tests := []struct {
		name string
		edit func(r *store.OCSPResponse, refresh *time.Time)
	}{
		{"serial empty", func(r *store.OCSPResponse, _ *time.Time) { r.Serial = "" }},
		{"serial leading zero", func(r *store.OCSPResponse, _ *time.Time) { r.Serial = "05e" }},
		{"serial upper case", func(r *store.OCSPResponse, _ *time.Time) { r.Serial = "5E" }},
		{"status empty", func(r *store.OCSPResponse, _ *time.Time) { r.Status = "" }},
		{"status unknown", func(r *store.OCSPResponse, _ *time.Time) { r.Status = "unknown" }},
		{"no thisUpdate", func(r *store.OCSPResponse, _ *time.Time) { r.ThisUpdate = time.Time{} }},
		{"nextUpdate = thisUpdate", func(r *store.OCSPResponse, _ *time.Time) { r.NextUpdate = r.ThisUpdate }},
		{"nextUpdate before", func(r *store.OCSPResponse, _ *time.Time) { r.NextUpdate = r.ThisUpdate.Add(-time.Hour) }},
		{"no DER", func(r *store.OCSPResponse, _ *time.Time) { r.DER = nil }},
		{"no refresh time", func(_ *store.OCSPResponse, at *time.Time) { *at = time.Time{} }},
		{"refresh at the epoch", func(r *store.OCSPResponse, at *time.Time) {
			r.ThisUpdate, r.NextUpdate, *at = time.Unix(-10, 0), time.Unix(3600, 0), time.Unix(0, 0)
		}},
		{"refresh before thisUpdate", func(r *store.OCSPResponse, at *time.Time) { *at = r.ThisUpdate.Add(-time.Second) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, refresh := response("5e", store.StatusGood, t0), t0.Add(time.Hour)
			tc.edit(&r, &refresh)
			ok, err := s.PutOCSPResponse(ctx(t), r, refresh)
			if err == nil || errors.Is(err, store.ErrNotFound) {
				t.Fatalf("PutOCSPResponse = %v, %v; want a validation error", ok, err)
			}
			_, err = s.OCSPResponse(ctx(t), "5e")
			mustErr(t, "OCSPResponse after a rejected put", err, store.ErrNotFound)
			due(t, s, "issuing", t0, 10, "[5e]")
		})
	}
}
