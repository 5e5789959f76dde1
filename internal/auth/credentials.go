package auth

import (
	"context"
	"errors"

	"github.com/nemid-dk/nemid/internal/store"
)

// ErrWrongTemporaryPassword: ActivateWith was given a temporary password
// that is not the user's. Nothing changed, and nothing was counted: the
// logon that reached activation proved the temporary password already, so
// a mismatch is its caller's mistake, not a guess.
var ErrWrongTemporaryPassword = errors.New("auth: the temporary password is not the one the logon began with")

// CredentialChange is work another package does as part of a change of a
// user's credentials, so that both commit or neither does:
// internal/registration re-wraps the user's vault key when the password
// changes, makes a new key and certificate at an activation after a reset,
// and revokes the certificate and destroys the key when the NemID is
// blocked. The zero value does nothing.
type CredentialChange struct {
	// Prepare runs after auth has checked everything it can check before
	// its transaction (the flow, the passwords, the user's state as read),
	// outside any transaction: the place for slow work (key generation,
	// password derivation) that must not hold the database. An error ends
	// the operation, changing nothing.
	Prepare func(ctx context.Context, u User) error
	// Apply runs inside auth's transaction, after auth's own writes, with
	// the user as written. It may run more than once (when the engine
	// retries the transaction), so it must have no effect outside tx. An
	// error rolls the whole operation back and is returned.
	Apply func(tx store.AuthTx, u User) error
}

func (c CredentialChange) prepare(ctx context.Context, u User) error {
	if c.Prepare == nil {
		return nil
	}
	return c.Prepare(ctx, u)
}

func (c CredentialChange) apply(tx store.AuthTx, u User) error {
	if c.Apply == nil {
		return nil
	}
	return c.Apply(tx, u)
}
