package idp_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/nemid-dk/nemid/internal/idp/idptest"
	"github.com/nemid-dk/nemid/internal/idpclient"
	"github.com/nemid-dk/nemid/ooapi"
	"github.com/nemid-dk/nemid/ooapi/revocation"
)

// spBackend is a service provider's server side in the parallel test: it
// signs parameters, keeps each logon session's challenge, validates the
// responses its pages forward, and records the PID of each session.
type spBackend struct {
	name, origin string
	signer       *ooapi.SPSigner
	challenges   *ooapi.MemoryChallenges
	validator    *ooapi.Validator

	mu       sync.Mutex
	received map[string]string // session → PID
}

// receive validates a response forwarded by the page of session.
func (b *spBackend) receive(ctx context.Context, session, done string) error {
	res, err := b.validator.Logon(ctx, session, done)
	if err != nil {
		return fmt.Errorf("%s refuses the response of its session %s: %w", b.name, session, err)
	}
	if res.RequestIssuer != b.name {
		return fmt.Errorf("%s: RequestIssuer %q", b.name, res.RequestIssuer)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.received[session] = res.Identity.PID
	return nil
}

// logonRecord is what a user's browser did: logged on to sp as pid.
type logonRecord struct {
	sp  int
	pid string
}

// TestParallelLogonsNeverCross: 1,000 logons of 50 users at two service
// providers, from 50 browsers at once (each user's logons one after the
// other, as one person's are). Every service provider receives exactly the
// identities that logged on to it, each response with the challenge of its
// own session; the other service provider refuses each of them, even when
// it is given the right challenge.
func TestParallelLogonsNeverCross(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 logons: not in -short")
	}
	// 50 users × 20 logons = 1,000; with the activation, 21 of each card's
	// 148 keys. On the 2-core test machine the 1,000 took about 80 s on
	// SQLite and 110 s on PostgreSQL, so on PostgreSQL the same test runs
	// a fifth of them: 20 users × 10 logons.
	t.Run("sqlite", func(t *testing.T) { parallelLogons(t, "sqlite", 50, 20) })
	t.Run("postgres", func(t *testing.T) { parallelLogons(t, "postgres", 20, 10) })
}

func parallelLogons(t *testing.T, engine string, users, logonsPerUser int) {
	e := idptest.NewEnv(t, engine)
	ctx := context.Background()
	_, otherSigner := e.AddSP(t, "Anden Butik", "https://anden.example", "87654321")
	backends := []*spBackend{
		{name: idptest.SPName, origin: idptest.SPOrigin, signer: e.Signer},
		{name: "Anden Butik", origin: "https://anden.example", signer: otherSigner},
	}
	for _, b := range backends {
		b.challenges = &ooapi.MemoryChallenges{Now: e.Clock.Now}
		b.validator = e.ValidatorFor(t, b.name, b.challenges)
		b.received = map[string]string{}
	}
	people := e.ActiveUsers(t, users)

	trust := e.Trust(t)
	var (
		mu       sync.Mutex
		expected = map[string]logonRecord{} // session → what logged on there
	)
	// crossCheck is the other service provider given a response and, as
	// if it had it, the challenge of the session the response was made
	// for: only the RequestIssuer tells them apart, and it must refuse.
	crossCheck := func(other *spBackend, session string, ch ooapi.Challenge, done string) error {
		if _, err := other.validator.Logon(ctx, session, done); !isReason(err, ooapi.NoChallenge) {
			return fmt.Errorf("%s, without a challenge for session %s: %v, want NoChallenge", other.name, session, err)
		}
		own := &ooapi.MemoryChallenges{Now: e.Clock.Now}
		own.Put(ctx, session, ch)
		v, err := ooapi.NewValidator(ooapi.Config{Trust: trust, Revocation: revocation.None(), Challenges: own,
			RequestIssuers: []string{other.name}, Now: e.Clock.Now})
		if err != nil {
			return err
		}
		if _, err := v.Logon(ctx, session, done); !isReason(err, ooapi.RequestIssuerMismatch) {
			return fmt.Errorf("%s, with the challenge of session %s: %v, want RequestIssuerMismatch", other.name, session, err)
		}
		return nil
	}
	logon := func(w int, u *idptest.User, n int) error {
		pick := rand.IntN(len(backends))
		sp, other := backends[pick], backends[1-pick]
		session := fmt.Sprintf("w%02d-%02d", w, n)
		ps, ch, err := sp.signer.Logon(ooapi.LogonOptions{ClientOptions: ooapi.ClientOptions{Origin: sp.origin}})
		if err != nil {
			return err
		}
		if err := sp.challenges.Put(ctx, session, ch); err != nil {
			return err
		}
		f, a, err := e.Client.Start(ctx, ps.JSON(), sp.origin, idpclient.ModeLimited)
		if err != nil || f == nil || a.SP != sp.name {
			return fmt.Errorf("start at %s: %v, %+v", sp.name, err, a)
		}
		if a, err = f.Password(ctx, u.NemID(), u.Password, false); err != nil || a.Step != "otp" {
			return fmt.Errorf("password: %v, %+v", err, a)
		}
		code, ok := u.Card.Code(a.Key)
		if !ok || a.Card != u.Card.Number {
			return fmt.Errorf("asked for key %s of card %s: not the user's card %s", a.Key, a.Card, u.Card.Number)
		}
		if a, err = f.OTP(ctx, code); err != nil || !a.Ended() || a.Code() != "" || a.Origin != sp.origin {
			return fmt.Errorf("otp: %v, code %q, to %q", err, a.Code(), a.Origin)
		}
		mu.Lock()
		expected[session] = logonRecord{sp: pick, pid: u.PID}
		mu.Unlock()
		if err := sp.receive(ctx, session, a.Done); err != nil {
			return err
		}
		return crossCheck(other, session, ch, a.Done)
	}

	var wg sync.WaitGroup
	errs := make(chan error, users)
	for w, u := range people {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range logonsPerUser {
				if err := logon(w, u, n); err != nil {
					errs <- fmt.Errorf("user %d, logon %d: %w", w, n, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}

	if len(expected) != users*logonsPerUser {
		t.Fatalf("%d logons recorded, want %d", len(expected), users*logonsPerUser)
	}
	for i, b := range backends {
		want := map[string]string{}
		for session, r := range expected {
			if r.sp == i {
				want[session] = r.pid
			}
		}
		if len(want) == 0 {
			t.Errorf("no logon went to %s", b.name)
		}
		if !maps.Equal(b.received, want) {
			t.Errorf("%s received %d identities, not exactly the %d that logged on to it", b.name, len(b.received), len(want))
		}
		// Every challenge was taken, once, by the validation.
		for session := range want {
			if _, err := b.challenges.Take(ctx, session); !errors.Is(err, ooapi.ErrNoChallenge) {
				t.Errorf("%s still holds a challenge for session %s: %v", b.name, session, err)
			}
		}
	}
}
