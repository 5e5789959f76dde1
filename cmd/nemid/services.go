package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strings"

	"github.com/nemid-dk/nemid/internal/auth"
	"github.com/nemid-dk/nemid/internal/ca"
	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/outbox"
	"github.com/nemid-dk/nemid/internal/registration"
	"github.com/nemid-dk/nemid/internal/store"
)

// services is everything the user and key-card commands work with, opened
// once: the store, the CA, the keys, and the registration service, which
// holds the auth service, the key vault, the outbox and the audit log, all
// on the one store and master key.
type services struct {
	st   store.Store
	ca   *ca.Authority
	keys *keyring
	reg  *registration.Service
}

// openServices opens the installation for a user or key-card command.
func (c *common) openServices(ctx context.Context) (*services, error) {
	st, err := c.openExistingStore(ctx)
	if err != nil {
		return nil, err
	}
	a, kb, err := c.loadAuthority(ctx, st)
	if err != nil {
		st.Close()
		return nil, err
	}
	reg, err := newRegistration(ctx, st, kb, a)
	if err != nil {
		kb.Close()
		st.Close()
		return nil, err
	}
	return &services{st: st, ca: a, keys: kb, reg: reg}, nil
}

// openUser opens the services and finds the user an ID names, for a
// command on one user. The caller closes s.
func (c *common) openUser(ctx context.Context, id string) (s *services, u auth.User, err error) {
	s, err = c.openServices(ctx)
	if err != nil {
		return nil, auth.User{}, err
	}
	if u, err = s.resolveUser(ctx, id); err != nil {
		s.Close()
		return nil, auth.User{}, err
	}
	return s, u, nil
}

// newRegistration builds the registration service over an open store, key
// back-end and CA (`nemid serve --demo` has them open already). The CA has
// opened, so the token is the installation's own: the master key may be
// made in it on first need.
func newRegistration(ctx context.Context, st store.Store, kb *keyring, a *ca.Authority) (*registration.Service, error) {
	mk, err := kb.masterKey(ctx, true)
	if err != nil {
		return nil, err
	}
	return registration.New(ctx, registration.Config{Store: st, MasterKey: mk, CA: a, Clock: clock.Real{}})
}

func (s *services) Close() {
	s.keys.Close()
	s.st.Close()
}

func (s *services) auth() *auth.Service    { return s.reg.Auth() }
func (s *services) outbox() *outbox.Outbox { return s.reg.Outbox() }

// openOutbox opens the store and the master key the messages are sealed
// under, without the CA or the rest of registration: reading the outbox
// makes nothing and needs no certificate. closeAll releases both.
func (c *common) openOutbox(ctx context.Context) (o *outbox.Outbox, closeAll func(), err error) {
	st, err := c.openExistingStore(ctx)
	if err != nil {
		return nil, nil, err
	}
	kb, err := c.keyBackend(false)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	mk, err := kb.masterKey(ctx, false)
	if err == nil {
		o, err = outbox.New(st, mk, clock.Real{})
	}
	if err != nil {
		kb.Close()
		st.Close()
		return nil, nil, err
	}
	return o, func() { kb.Close(); st.Close() }, nil
}

// operator is who runs a user command, as recorded in the users' events:
// "operator:<login name>" (the audit log records every operator as
// "operator"). A process with no login name is "operator:unknown".
func operator() auth.Actor {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	name = strings.TrimSpace(name)
	if name == "" {
		name = "unknown"
	}
	return auth.OperatorActor(name)
}

// userNotFound is the error for a user-id that names nobody. A CPR number
// is personal data and is not repeated; a NemID number or an alias is.
func userNotFound(id string, err error) error {
	if !errors.Is(err, auth.ErrUnknownUser) {
		return err
	}
	if looksLikeCPR(id) {
		return errors.New("no user has that CPR number (see nemid user list)")
	}
	return fmt.Errorf("no user has the user-id %q: give a NemID number, a CPR number or an alias (see nemid user list)", id)
}

// looksLikeCPR tells whether a user-id has the form of a CPR number: 10
// digits, or DDMMYY-XXXX (the form auth reads as one).
func looksLikeCPR(id string) bool {
	id = strings.TrimSpace(id)
	digits := strings.Replace(id, "-", "", 1)
	if len(digits) != 10 || strings.Trim(digits, "0123456789") != "" {
		return false
	}
	return len(id) == 10 || id[6] == '-'
}
