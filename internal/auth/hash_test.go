package auth

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
)

var phcRE = regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestHasherDefault(t *testing.T) {
	h, err := NewHasher(DefaultArgon2, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	stored, err := h.Hash(ctx, "Hemmelig42")
	if err != nil {
		t.Fatal(err)
	}
	if !phcRE.MatchString(stored) {
		t.Fatalf("hash %q is not the PHC form with OWASP's parameters", stored)
	}
	// An independent check: the hash is argon2id of the lower-cased
	// password under the stored salt.
	p, err := parsePHC(stored)
	if err != nil {
		t.Fatal(err)
	}
	if want := argon2.IDKey([]byte("hemmelig42"), p.salt, 2, 19456, 1, 32); string(want) != string(p.hash) {
		t.Fatal("the stored hash is not Argon2id(lower-cased password, salt, t=2, m=19456, p=1)")
	}
	for pw, want := range map[string]bool{"Hemmelig42": true, "HEMMELIG42": true, "hemmelig42": true, "Hemmelig43": false, "": false} {
		ok, rehash, err := h.Verify(ctx, stored, pw)
		if err != nil || ok != want || rehash {
			t.Errorf("Verify(%q) = %v, %v, %v; want %v, no rehash", pw, ok, rehash, err, want)
		}
	}
	// Two hashes of one password differ (random salt).
	again, _ := h.Hash(ctx, "Hemmelig42")
	if again == stored {
		t.Error("two hashes of one password are equal")
	}
}

func TestHasherRehash(t *testing.T) {
	ctx := context.Background()
	weak, _ := NewHasher(Argon2Params{Memory: 64, Time: 1, Threads: 1}, 1)
	strong, _ := NewHasher(Argon2Params{Memory: 128, Time: 1, Threads: 1}, 1)
	stored, err := weak.Hash(ctx, "Hemmelig42")
	if err != nil {
		t.Fatal(err)
	}
	ok, rehash, err := strong.Verify(ctx, stored, "Hemmelig42")
	if err != nil || !ok || !rehash {
		t.Fatalf("strong.Verify(weak hash) = %v, %v, %v; want ok and rehash", ok, rehash, err)
	}
	if ok, rehash, _ := strong.Verify(ctx, stored, "wrong"); ok || rehash {
		t.Error("a wrong password asked for a rehash")
	}
	stored, _ = strong.Hash(ctx, "Hemmelig42")
	if ok, rehash, _ := weak.Verify(ctx, stored, "Hemmelig42"); !ok || rehash {
		t.Error("a stronger stored hash asked for a rehash")
	}
}

func TestParsePHCInvalid(t *testing.T) {
	good := "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"
	if _, err := parsePHC(good); err != nil {
		t.Fatalf("the good one: %v", err)
	}
	for name, s := range map[string]string{
		"argon2i":         strings.Replace(good, "argon2id", "argon2i", 1),
		"version 16":      strings.Replace(good, "v=19", "v=16", 1),
		"order":           strings.Replace(good, "m=64,t=1,p=1", "t=1,m=64,p=1", 1),
		"leading zero":    strings.Replace(good, "m=64", "m=064", 1),
		"huge memory":     strings.Replace(good, "m=64", "m=4294967295", 1),
		"huge time":       strings.Replace(good, "t=1", "t=1000", 1),
		"zero threads":    strings.Replace(good, "p=1", "p=0", 1),
		"padded salt":     strings.Replace(good, "c2FsdHNhbHRzYWx0c2FsdA", "c2FsdHNhbHRzYWx0c2FsdA==", 1),
		"short hash":      strings.Replace(good, "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g", "aGFzaA", 1),
		"missing part":    "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA",
		"empty":           "",
		"extra param":     strings.Replace(good, "p=1", "p=1,k=2", 1),
		"negative":        strings.Replace(good, "t=1", "t=-1", 1),
		"non-base64 hash": strings.Replace(good, "aGFz", "a!Fz", 1),
	} {
		if _, err := parsePHC(s); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

// TestHasherBoundsConcurrency: with every slot taken, a hash waits, and
// gives up when its context ends, having hashed nothing.
func TestHasherBoundsConcurrency(t *testing.T) {
	h, _ := NewHasher(Argon2Params{Memory: 64, Time: 1, Threads: 1}, 2)
	ctx := context.Background()
	if err := h.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := h.Hash(short, "Hemmelig42"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Hash with every slot taken: err = %v, want the context's", err)
	}
	h.release()
	if _, err := h.Hash(ctx, "Hemmelig42"); err != nil {
		t.Fatalf("Hash with a slot free: %v", err)
	}
	h.release()
	if len(h.slots) != 0 {
		t.Errorf("%d slots still taken", len(h.slots))
	}
}

func TestArgon2ParamsInvalid(t *testing.T) {
	for _, p := range []Argon2Params{{}, {Memory: 4, Time: 1, Threads: 1}, {Memory: 64, Time: 0, Threads: 1}, {Memory: 64, Time: 1}} {
		if _, err := NewHasher(p, 1); err == nil {
			t.Errorf("NewHasher(%+v): no error", p)
		}
	}
	if _, err := NewHasher(DefaultArgon2, -1); err == nil {
		t.Error("NewHasher with -1 slots: no error")
	}
}
