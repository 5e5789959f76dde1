package storetest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/store"
)

func idpFlow(t *testing.T, s store.Store, n int) store.IdPFlow {
	t.Helper()
	sp := register(t, s, serviceProvider(fmt.Sprintf("Flow Shop %d", n)))
	return store.IdPFlow{IDHash: fmt.Sprintf("%064x", n), SP: sp.ID, Origin: "https://flow-shop.example",
		Mode: "lmt", Parameters: `{"CLIENTFLOW":"OCESLOGIN2","ÆØÅ":"\u0000"}`, Step: store.IdPCredentials,
		CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}
}

func testIdPFlows(t *testing.T, s store.Store) {
	f := idpFlow(t, s, 1)
	if err := s.InsertIdPFlow(ctx(t), f); err != nil {
		t.Fatal(err)
	}
	mustErr(t, "InsertIdPFlow twice", s.InsertIdPFlow(ctx(t), f), store.ErrDuplicate)
	got, err := s.IdPFlow(ctx(t), f.IDHash)
	if err != nil || got.SP != f.SP || got.Origin != f.Origin || got.Mode != "lmt" || got.Parameters != f.Parameters ||
		got.Step != store.IdPCredentials || got.Sealed != nil || got.Version != 1 {
		t.Fatalf("IdPFlow = %+v, %v", got, err)
	}
	sameTime(t, "ExpiresAt", got.ExpiresAt, f.ExpiresAt)
	sameTime(t, "UpdatedAt", got.UpdatedAt, f.CreatedAt)

	next := got
	next.Step, next.Sealed, next.Failures, next.UpdatedAt, next.ExpiresAt = store.IdPOTP, []byte{0, 1, 0xff}, 3, t0.Add(time.Minute), t0.Add(11*time.Minute)
	next.BusyUntil = t0.Add(90 * time.Second)
	if err := s.UpdateIdPFlow(ctx(t), next); err != nil {
		t.Fatal(err)
	}
	// The same update again is over an old version: it must not apply.
	stale := next
	stale.Step = store.IdPEnded
	mustErr(t, "UpdateIdPFlow over an old version", s.UpdateIdPFlow(ctx(t), stale), store.ErrConflict)
	got, err = s.IdPFlow(ctx(t), f.IDHash)
	if err != nil || got.Step != store.IdPOTP || !bytes.Equal(got.Sealed, next.Sealed) || got.Failures != 3 || got.Version != 2 {
		t.Fatalf("after update: %+v, %v", got, err)
	}
	sameTime(t, "ExpiresAt", got.ExpiresAt, next.ExpiresAt)
	sameTime(t, "BusyUntil", got.BusyUntil, next.BusyUntil)
	// Zero clears it.
	cleared := got
	cleared.BusyUntil = time.Time{}
	if err := s.UpdateIdPFlow(ctx(t), cleared); err != nil {
		t.Fatal(err)
	}
	if got, err = s.IdPFlow(ctx(t), f.IDHash); err != nil || !got.BusyUntil.IsZero() {
		t.Fatalf("BusyUntil after clearing: %v, %v", got.BusyUntil, err)
	}

	gone := got
	gone.IDHash = fmt.Sprintf("%064x", 99)
	mustErr(t, "UpdateIdPFlow of an unknown flow", s.UpdateIdPFlow(ctx(t), gone), store.ErrNotFound)
	_, err = s.IdPFlow(ctx(t), gone.IDHash)
	mustErr(t, "IdPFlow unknown", err, store.ErrNotFound)

	n, err := s.DeleteIdPFlows(ctx(t), t0.Add(11*time.Minute))
	if err != nil || n != 0 {
		t.Fatalf("DeleteIdPFlows before expiry = %d, %v", n, err)
	}
	n, err = s.DeleteIdPFlows(ctx(t), t0.Add(11*time.Minute+time.Microsecond))
	if err != nil || n != 1 {
		t.Fatalf("DeleteIdPFlows after expiry = %d, %v", n, err)
	}
	_, err = s.IdPFlow(ctx(t), f.IDHash)
	mustErr(t, "IdPFlow deleted", err, store.ErrNotFound)
}

func testIdPFlowsInvalid(t *testing.T, s store.Store) {
	good := idpFlow(t, s, 2)
	for name, change := range map[string]func(f *store.IdPFlow){
		"short hash": func(f *store.IdPFlow) { f.IDHash = "abc" },
		"no SP":      func(f *store.IdPFlow) { f.SP = 0 },
		"no origin":  func(f *store.IdPFlow) { f.Origin = "" },
		"bad mode":   func(f *store.IdPFlow) { f.Mode = "full" },
		"bad step":   func(f *store.IdPFlow) { f.Step = "done" },
		"no expiry":  func(f *store.IdPFlow) { f.ExpiresAt = time.Time{} },
		"unknown SP": func(f *store.IdPFlow) { f.SP = 1 << 40 },
	} {
		f := good
		change(&f)
		if err := s.InsertIdPFlow(ctx(t), f); err == nil {
			t.Errorf("%s: InsertIdPFlow accepted %+v", name, f)
		}
	}
}

// testIdPFlowsConcurrent races updates over one version: exactly one wins.
func testIdPFlowsConcurrent(t *testing.T, s store.Store) {
	f := idpFlow(t, s, 3)
	if err := s.InsertIdPFlow(ctx(t), f); err != nil {
		t.Fatal(err)
	}
	f.Version = 1
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			g := f
			g.Step, g.Sealed, g.UpdatedAt = store.IdPOTP, []byte{byte(i)}, t0.Add(time.Second)
			errs[i] = s.UpdateIdPFlow(ctx(t), g)
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else {
			mustErr(t, "losing UpdateIdPFlow", err, store.ErrConflict)
		}
	}
	if won != 1 {
		t.Fatalf("%d updates over one version succeeded, want 1", won)
	}
}
