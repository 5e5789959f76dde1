package registration_test

// Registration throughput and its parts, in one run, with the parameters
// in use (the vault's DefaultKDF, auth's DefaultArgon2):
//
//	go test -run '^$' -bench . -benchtime 60x -count 3 ./internal/registration/
//
// BenchmarkRegister is a whole registration on SQLite; its parts are
// BenchmarkRSA2048KeyGen (the key pair), BenchmarkArgon2idVault (the one
// derivation that wraps it under the temporary password),
// BenchmarkCAPrepare (lint, partition and signature of the POCES) and
// BenchmarkLetters (two letters rendered and sealed); the rest is the
// transaction, the audit entries and the look-ups. BenchmarkArgon2idAuth
// is auth's password hash, which a registration does not compute (the
// temporary password is kept as a MAC) but the activation does.
// docs/registration.md has the split measured.

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/nemid-dk/nemid/internal/auth"
	"github.com/nemid-dk/nemid/internal/ca"
	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/keyvault"
	"github.com/nemid-dk/nemid/internal/letters"
	"github.com/nemid-dk/nemid/internal/outbox"
	"github.com/nemid-dk/nemid/internal/registration"
	"github.com/nemid-dk/nemid/oces"
)

// benchEnv is an installation whose service uses the default parameters.
func benchEnv(b *testing.B) *env {
	b.Helper()
	dir, database := newInstallation(b, "sqlite")
	e := openEnv(b, dir, database, clock.NewFrozen(caStart.Add(time.Minute)))
	svc, err := registration.New(context.Background(), registration.Config{Store: e.st, MasterKey: e.mk, CA: e.ca, Clock: e.clk})
	if err != nil {
		b.Fatal(err)
	}
	if svc.Vault().Params() != keyvault.DefaultKDF {
		b.Fatalf("the vault runs with %v, not the default", svc.Vault().Params())
	}
	e.svc = svc
	return e
}

func BenchmarkRegister(b *testing.B) {
	e := benchEnv(b)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, err := e.svc.Register(ctx, auth.OperatorActor("bench"), registration.Request{
			Name: "Bench Marksen", CPR: newCPR(), Address: []string{"Målevej 1", "2100 København Ø"},
		}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRegisterParallel is the throughput with as many registrations
// at once as there are CPUs.
func BenchmarkRegisterParallel(b *testing.B) {
	e := benchEnv(b)
	ctx := context.Background()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.svc.Register(ctx, auth.OperatorActor("bench"), registration.Request{
				Name: "Bench Marksen", CPR: newCPR(), Address: []string{"Målevej 1", "2100 København Ø"},
			}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkRSA2048KeyGen(b *testing.B) {
	for b.Loop() {
		if _, err := rsa.GenerateKey(rand.Reader, keyvault.KeyBits); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkArgon2idVault is the bare derivation of the vault's wrapping key.
func BenchmarkArgon2idVault(b *testing.B) {
	p := keyvault.DefaultKDF
	salt := make([]byte, 16)
	for b.Loop() {
		argon2.IDKey([]byte("123456"), salt, p.Time, p.Memory, p.Threads, 32)
	}
}

// BenchmarkArgon2idAuth is the bare cost of auth's password hash.
func BenchmarkArgon2idAuth(b *testing.B) {
	p := auth.DefaultArgon2
	salt := make([]byte, 16)
	for b.Loop() {
		argon2.IDKey([]byte("sommer2026"), salt, p.Time, p.Memory, p.Threads, 32)
	}
}

// BenchmarkCAPrepare is the CA's part: the POCES linted, given a partition
// place and signed with the issuing CA's RSA-4096 key.
func BenchmarkCAPrepare(b *testing.B) {
	e := benchEnv(b)
	key, err := rsa.GenerateKey(rand.Reader, keyvault.KeyBits)
	if err != nil {
		b.Fatal(err)
	}
	pid, err := oces.NewPID()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, err := e.ca.Prepare(ctx, ca.IssueRequest{
			Subject: oces.Request{Type: oces.POCES, Name: "Bench Marksen", ID: pid}, PublicKey: &key.PublicKey,
		}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLetters is the rendering of a registration's two letters (text
// and PDF) and their seals.
func BenchmarkLetters(b *testing.B) {
	e := benchEnv(b)
	card, err := auth.NewKeyCard()
	if err != nil {
		b.Fatal(err)
	}
	sheet := letters.KeyCardSheet{CardNumber: card.Number}
	for _, k := range card.Keys {
		sheet.Keys = append(sheet.Keys, letters.Key{Number: k.Number, Code: k.Code})
	}
	l := letters.Letter{To: letters.Recipient{Name: "Bench Marksen", AddressLines: []string{"Målevej 1", "2100 København Ø"}}, Date: e.clk.Now()}
	for b.Loop() {
		tp, err := l.TemporaryPassword(letters.TemporaryPassword{NemIDNumber: "123456789", Password: "123456", ValidUntil: l.Date.Add(time.Hour)})
		if err != nil {
			b.Fatal(err)
		}
		kc, err := l.KeyCard(sheet)
		if err != nil {
			b.Fatal(err)
		}
		for _, d := range []letters.Document{tp, kc} {
			if _, err := e.svc.Outbox().Prepare(outbox.Message{Kind: outbox.Post, User: "123456789", To: "Bench Marksen\nMålevej 1",
				Subject: d.Subject, Body: d.Text, Attachment: d.PDF}); err != nil {
				b.Fatal(err)
			}
		}
	}
}
