package auth_test

import (
	"crypto/rand"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/nemid-dk/nemid/internal/auth"
	"github.com/nemid-dk/nemid/internal/store/storetest"
)

// bareArgon2 is the baseline: one Argon2id of a password with the default
// parameters, nothing else.
func bareArgon2(salt []byte) {
	p := auth.DefaultArgon2
	argon2.IDKey([]byte("hemmelig42"), salt, p.Time, p.Memory, p.Threads, 32)
}

// BenchmarkPasswordVerify measures Hasher.Verify against bare Argon2id
// with the same parameters, alternating in one loop so that both see the
// same machine; the ratio (verify/argon2id) should be close to 1: parsing
// the PHC string, the slot and the comparison cost next to nothing.
func BenchmarkPasswordVerify(b *testing.B) {
	h, err := auth.NewHasher(auth.DefaultArgon2, 1)
	if err != nil {
		b.Fatal(err)
	}
	stored, err := h.Hash(bg, "Hemmelig42")
	if err != nil {
		b.Fatal(err)
	}
	salt := make([]byte, 16)
	rand.Read(salt)
	var bare, verify time.Duration
	for b.Loop() {
		t := time.Now()
		bareArgon2(salt)
		bare += time.Since(t)
		t = time.Now()
		if ok, _, err := h.Verify(bg, stored, "Hemmelig42"); !ok || err != nil {
			b.Fatal("the password did not verify")
		}
		verify += time.Since(t)
	}
	b.ReportMetric(float64(verify)/float64(bare), "verify/argon2id")
	b.ReportMetric(float64(bare.Microseconds())/float64(b.N), "argon2id-µs")
}

// BenchmarkLogonUnknownUser measures a whole StartLogon with an unknown
// user-id (a store look-up and one Argon2id, on SQLite) against bare
// Argon2id: what a logon adds to the hash.
func BenchmarkLogonUnknownUser(b *testing.B) {
	e := newEnv(b, storetest.OpenSQLite(b))
	svc := e.service(b, auth.DefaultArgon2)
	salt := make([]byte, 16)
	rand.Read(salt)
	var bare, logon time.Duration
	for b.Loop() {
		t := time.Now()
		bareArgon2(salt)
		bare += time.Since(t)
		t = time.Now()
		if _, err := svc.StartLogon(bg, "987654321", "Hemmelig42"); err != auth.ErrInvalidCredentials {
			b.Fatal(err)
		}
		logon += time.Since(t)
	}
	b.ReportMetric(float64(logon)/float64(bare), "logon/argon2id")
}

// BenchmarkLogonUnknownVsWrong measures a logon with an unknown user-id
// against one with a known user-id and a wrong password, alternating, on
// SQLite: the ratio (unknown/wrong) should be close to 1, so that the time
// of the answer does not tell whether a user-id exists.
func BenchmarkLogonUnknownVsWrong(b *testing.B) {
	e := newEnv(b, storetest.OpenSQLite(b))
	e.svc = e.service(b, auth.DefaultArgon2)
	r := e.register(b, "")
	e.activate(b, r, "Hemmelig42")
	var unknown, wrong time.Duration
	i := 0
	for b.Loop() {
		t := time.Now()
		if _, err := e.svc.StartLogon(bg, "987654321", "Forkert42"); err != auth.ErrInvalidCredentials {
			b.Fatal(err)
		}
		unknown += time.Since(t)
		t = time.Now()
		if _, err := e.svc.StartLogon(bg, r.User.NemID, "Forkert42"); err != auth.ErrInvalidCredentials {
			b.Fatal(err)
		}
		wrong += time.Since(t)
		// Stay below the quarantine: a right password forgives the wrong ones.
		if i++; i%(auth.DefaultQuarantineAfter-1) == 0 {
			b.StopTimer()
			if _, err := e.svc.StartLogon(bg, r.User.NemID, "Hemmelig42"); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	}
	b.ReportMetric(float64(unknown)/float64(wrong), "unknown/wrong")
}
