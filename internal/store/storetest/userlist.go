package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/nemid-dk/nemid/internal/store"
)

// userNemIDs is the NemID numbers of users, in order.
func userNemIDs(us []store.User) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.NemID
	}
	return out
}

func sameNemIDs(t *testing.T, what string, got []store.User, want ...store.User) {
	t.Helper()
	g, w := userNemIDs(got), userNemIDs(want)
	if len(g) != len(w) {
		t.Errorf("%s = %v, want %v", what, g, w)
		return
	}
	for i := range g {
		if g[i] != w[i] {
			t.Errorf("%s = %v, want %v", what, g, w)
			return
		}
	}
}

func testUsers(t *testing.T, s store.Store) {
	none, err := s.Users(ctx(t), store.UserFilter{})
	if err != nil || len(none) != 0 {
		t.Fatalf("Users of an empty store = %v, %v; want none", userNemIDs(none), err)
	}
	// Registered in the order 3, 1, 2: the listing follows registration,
	// not the NemID numbers.
	u3 := createUser(t, s, newUser(3))
	u1nu := newUser(1)
	u1nu.User.Alias = "Min.Alias"
	u1 := createUser(t, s, u1nu)
	u2 := createUser(t, s, newUser(2))

	all, err := s.Users(ctx(t), store.UserFilter{})
	if err != nil {
		t.Fatal(err)
	}
	sameNemIDs(t, "Users", all, u3, u1, u2)
	// Every field comes back as a look-up returns it.
	sameUser(t, all[1], u1)

	page, err := s.Users(ctx(t), store.UserFilter{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	sameNemIDs(t, "Users(Limit 2)", page, u3, u1)
	rest, err := s.Users(ctx(t), store.UserFilter{AfterID: page[1].ID, Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	sameNemIDs(t, "Users(after the first page)", rest, u2)

	// A state filter.
	err = s.UpdateAuth(ctx(t), func(tx store.AuthTx) error {
		u, err := tx.LockUser(u1.ID)
		if err != nil {
			return err
		}
		u.State, u.BlockedBy, u.StateReason = store.StateBlocked, "operator", "test"
		return tx.UpdateUser(u)
	})
	if err != nil {
		t.Fatal(err)
	}
	blocked, err := s.Users(ctx(t), store.UserFilter{State: store.StateBlocked})
	if err != nil || len(blocked) != 1 || blocked[0].ID != u1.ID || blocked[0].State != store.StateBlocked {
		t.Errorf("Users(State blocked) = %v, %v; want user 1 only", userNemIDs(blocked), err)
	}
	waiting, err := s.Users(ctx(t), store.UserFilter{State: store.StateAwaitingActivation})
	if err != nil {
		t.Fatal(err)
	}
	sameNemIDs(t, "Users(State awaiting_activation)", waiting, u3, u2)
}

func testUsersInvalid(t *testing.T, s store.Store) {
	createUser(t, s, newUser(1))
	for name, f := range map[string]store.UserFilter{
		"negative limit":    {Limit: -1},
		"negative after ID": {AfterID: -1},
		"unknown state":     {State: "asleep"},
	} {
		if got, err := s.Users(ctx(t), f); err == nil {
			t.Errorf("Users(%s) = %v, want an error", name, userNemIDs(got))
		}
	}
	cancelled, cancel := context.WithCancel(ctx(t))
	cancel()
	if _, err := s.Users(cancelled, store.UserFilter{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Users with a cancelled context: %v, want context.Canceled", err)
	}
}
