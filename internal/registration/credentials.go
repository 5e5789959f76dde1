package registration

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nemid-dk/nemid/internal/audit"
	"github.com/nemid-dk/nemid/internal/auth"
	"github.com/nemid-dk/nemid/internal/ca"
	"github.com/nemid-dk/nemid/internal/keyvault"
	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/oces"
)

// keyChange is what a password change does to the user's vault key and
// certificates, made before auth's transaction and stored inside it (see
// auth.CredentialChange).
//
// The rule: the vault key is re-wrapped from the password auth has just
// verified (the temporary one at an activation, the current one at a
// change) to the new one. If it does not open with that password, it was
// wrapped under a password nobody can give any more — the operator reset
// the password, so the key is under the old personal password — or a block
// destroyed it: then the user gets a new key pair and a new POCES
// certificate with their PID, and every other good certificate of theirs
// is revoked as superseded. The old key is never recoverable (the vault
// does not keep it), which is the point of wrapping it under the password.
type keyChange struct {
	s *Service
	// rekey allows a new key pair when the key does not open: only an
	// activation (after the operator's reset) may re-key, never a password
	// change, or a NemID unblocked after a keyCompromise block would get a
	// new certificate without the operator's reset.
	rekey bool
	// rewrap is the re-wrapped active key, on the re-wrap path.
	rewrap *store.VaultKey
	// next and cert are the new key and its certificate, on the re-key path.
	next *store.VaultKey
	cert *ca.Issued
	// revoked are the certificates revoked by the last Apply.
	revoked []store.Certificate
}

// prepare does the slow work: it unwraps and re-wraps the key, or makes a
// new key pair and has its certificate signed.
func (k *keyChange) prepare(ctx context.Context, u auth.User, verified, newPassword string) error {
	oldPW, newPW := auth.NormalizePassword(verified), auth.NormalizePassword(newPassword)
	rec, err := k.s.vault.Rewrap(ctx, u.ID, oldPW, newPW)
	switch {
	case err == nil:
		k.rewrap = &rec
		return nil
	case !errors.Is(err, keyvault.ErrWrongPassword) && !errors.Is(err, keyvault.ErrNoKey):
		// ErrCorrupt above all: a key that does not authenticate is never
		// replaced silently.
		return err
	case !k.rekey && errors.Is(err, keyvault.ErrWrongPassword):
		// auth verified this password a moment ago, and a reset destroys
		// the key rather than leaving it under an old password: another
		// change re-wrapped it in between.
		return fmt.Errorf("%w: the password was changed meanwhile", keyvault.ErrConflict)
	case !k.rekey:
		return fmt.Errorf("%w: the signing key needs the operator's password reset and a new activation", ErrNoKeyPair)
	case u.PID == "":
		return ErrNoKeyPair
	}
	key, next, err := k.s.vault.NextKey(ctx, u.ID, newPW)
	if errors.Is(err, keyvault.ErrNoKey) {
		return ErrNoKeyPair
	}
	if err != nil {
		return err
	}
	cert, err := k.s.ca.Prepare(ctx, ca.IssueRequest{
		Subject:   oces.Request{Type: oces.POCES, Name: u.Name, ID: u.PID},
		PublicKey: key.Public,
	})
	if err != nil {
		return err
	}
	k.next, k.cert = &next, cert
	return nil
}

// apply stores what prepare made, in auth's transaction.
func (k *keyChange) apply(tx store.AuthTx, u auth.User) error {
	k.revoked = nil
	if k.rewrap != nil {
		r := k.rewrap
		err := tx.RewrapVaultKey(r.UserID, r.Version, r.Generation, r.Blob, r.UpdatedAt)
		if errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("%w (%w)", keyvault.ErrConflict, err)
		}
		return err
	}
	err := tx.ReplaceVaultKey(*k.next)
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("%w (%w)", keyvault.ErrConflict, err)
	}
	if err != nil {
		return err
	}
	if err := tx.InsertUserCertificate(u.ID, k.next.Version, k.cert.Record); err != nil {
		return err
	}
	revoked, err := revokeUserCertificates(tx, u.ID, k.cert.Record.Serial, k.next.CreatedAt, ca.ReasonSuperseded)
	k.revoked = revoked
	return err
}

// record appends the audit entries of an applied change.
func (k *keyChange) record(ctx context.Context, u auth.User) {
	actor := audit.User(strconv.FormatInt(u.ID, 10))
	var entries []audit.Entry
	if k.cert != nil {
		entries = append(entries, certificateIssued(actor, u, k.cert.Record))
	}
	entries = append(entries, certificatesRevoked(actor, u, k.revoked, ca.ReasonSuperseded)...)
	k.s.appendAudit(ctx, entries...)
}

// revokeUserCertificates revokes the user's good certificates but keep
// (which may be ""), in the transaction, and returns them as revoked.
func revokeUserCertificates(tx store.AuthTx, userID int64, keep string, at time.Time, reason ca.Reason) ([]store.Certificate, error) {
	certs, err := tx.UserCertificates(userID)
	if err != nil {
		return nil, err
	}
	var revoked []store.Certificate
	for _, uc := range certs {
		if uc.Certificate.Status != store.StatusGood || uc.Certificate.Serial == keep {
			continue
		}
		c, err := tx.RevokeCertificate(uc.Certificate.Serial, at, int(reason))
		if err != nil {
			return nil, err
		}
		revoked = append(revoked, c)
	}
	return revoked, nil
}

// certificatesRevoked are the audit entries of revoked certificates.
func certificatesRevoked(actor string, u auth.User, certs []store.Certificate, reason ca.Reason) []audit.Entry {
	var out []audit.Entry
	for _, c := range certs {
		out = append(out, audit.Entry{Actor: actor, Action: audit.CertificateRevoked, Subject: audit.Certificate(c.Serial),
			Outcome: audit.Success, Detail: map[string]string{
				"user": strconv.FormatInt(u.ID, 10), "nemid": u.NemID, "reason": reason.String(),
			}})
	}
	return out
}

// Activate ends a logon begun with a temporary password: the user's
// personal password (and optionally an alias) is set (auth.ActivateWith)
// and, in the same transaction, the vault key is re-wrapped from the
// temporary password to it. If the key is not wrapped under this temporary
// password — the operator reset the password, or a block destroyed the key
// — the user gets a new key pair and a new POCES certificate in that
// transaction, and their old certificate is revoked (superseded).
// temporaryPassword must be the one the logon began with
// (auth.ErrWrongTemporaryPassword otherwise; nothing changes).
func (s *Service) Activate(ctx context.Context, flowID, temporaryPassword, newPassword, alias string) (*auth.Flow, error) {
	k := &keyChange{s: s, rekey: true}
	flow, err := s.auth.ActivateWith(ctx, flowID, temporaryPassword, newPassword, alias, auth.CredentialChange{
		Prepare: func(ctx context.Context, u auth.User) error { return k.prepare(ctx, u, temporaryPassword, newPassword) },
		Apply:   k.apply,
	})
	if err == nil && flow != nil && flow.User != nil {
		k.record(ctx, *flow.User)
	}
	return flow, err
}

// ChangePassword changes the password (and the alias, unless alias is "")
// of a user in a done logon flow (auth.ChangePasswordWith) and, in the same
// transaction, re-wraps the vault key under the new password — or, if the
// key does not open with the current password, replaces it and its
// certificate as Activate does.
func (s *Service) ChangePassword(ctx context.Context, flowID, current, newPassword, alias string) error {
	k := &keyChange{s: s}
	var user auth.User
	err := s.auth.ChangePasswordWith(ctx, flowID, current, newPassword, alias, auth.CredentialChange{
		Prepare: func(ctx context.Context, u auth.User) error { return k.prepare(ctx, u, current, newPassword) },
		Apply: func(tx store.AuthTx, u auth.User) error {
			user = u
			return k.apply(tx, u)
		},
	})
	if err == nil && user.ID != 0 {
		k.record(ctx, user)
	}
	return err
}

// Block blocks the NemID (auth.BlockWith) and, in the same transaction,
// revokes the user's good POCES certificates with the reason the user
// chose — ca.ReasonCessationOfOperation (they no longer want it) or
// ca.ReasonKeyCompromise (they fear someone else can use it) — and
// destroys the vault key, so that nobody, the operator included, can sign
// with it again. After Unblock the user gets a new key pair and
// certificate at their next activation.
func (s *Service) Block(ctx context.Context, actor auth.Actor, userID, reason string, revocation ca.Reason) error {
	if revocation != ca.ReasonCessationOfOperation && revocation != ca.ReasonKeyCompromise {
		return fmt.Errorf("registration: block: revocation reason %s: want %s or %s",
			revocation, ca.ReasonCessationOfOperation, ca.ReasonKeyCompromise)
	}
	var (
		user    auth.User
		revoked []store.Certificate
	)
	err := s.auth.BlockWith(ctx, actor, userID, reason, auth.CredentialChange{
		Apply: func(tx store.AuthTx, u auth.User) error {
			user = u
			now := s.clock.Now()
			var err error
			if revoked, err = revokeUserCertificates(tx, u.ID, "", now, revocation); err != nil {
				return err
			}
			// No active key (a user blocked before, unblocked and not yet
			// re-keyed) leaves nothing to destroy.
			if _, err := tx.DestroyVaultKey(u.ID, now); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			return nil
		},
	})
	if err == nil {
		who, _ := auditActor(actor, user.ID, user.NemID)
		s.appendAudit(ctx, certificatesRevoked(who, user, revoked, revocation)...)
	}
	return err
}

// Unblock ends a block (auth.Unblock). The block revoked the certificate
// and destroyed the key, so the user can log on again but not sign until
// an operator resets the password (ResetPassword) and the user activates
// with the new temporary password, which makes a new key pair and
// certificate (see Activate). The reset is the operator's second step, not
// part of Unblock, because it sends a letter with a new secret: the
// operator decides when the person is to get one.
func (s *Service) Unblock(ctx context.Context, actor auth.Actor, userID, reason string) error {
	return s.auth.Unblock(ctx, actor, userID, reason)
}

// ResetPassword gives the user a new temporary password
// (auth.ResetPassword), whose letter goes to the outbox, and returns it.
// The vault key stays wrapped under the old password, which nobody can give
// any more: the next activation replaces it and its certificate (see
// Activate).
//
// A reset means the old password is no longer to be trusted (a reset often
// follows a compromise): in the same transaction the user's key is
// destroyed and their good certificates are revoked (superseded), so the
// old password can sign nothing from then on. The activation with the new
// temporary password makes a new key pair and certificate.
func (s *Service) ResetPassword(ctx context.Context, actor auth.Actor, userID string) (string, time.Time, error) {
	var (
		user    auth.User
		revoked []store.Certificate
	)
	pw, until, err := s.auth.ResetPasswordWith(ctx, actor, userID, auth.CredentialChange{
		Apply: func(tx store.AuthTx, u auth.User) error {
			user = u
			now := s.clock.Now()
			var err error
			if revoked, err = revokeUserCertificates(tx, u.ID, "", now, ca.ReasonSuperseded); err != nil {
				return err
			}
			if _, err := tx.DestroyVaultKey(u.ID, now); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			return nil
		},
	})
	if err == nil {
		who, _ := auditActor(actor, user.ID, user.NemID)
		s.appendAudit(ctx, certificatesRevoked(who, user, revoked, ca.ReasonSuperseded)...)
	}
	return pw, until, err
}

// NewKeyCard issues a new key card (auth.IssueKeyCard), whose letter goes
// to the outbox, and returns it in clear, once. revokeCurrent revokes the
// current card at once (a lost card); reason is recorded with the card.
func (s *Service) NewKeyCard(ctx context.Context, actor auth.Actor, userID string, revokeCurrent bool, reason string) (*auth.KeyCard, error) {
	return s.auth.IssueKeyCard(ctx, actor, userID, revokeCurrent, reason)
}

// Sign signs digest (made with hash) with the key of the user who logged
// on in flowID, unlocked by the password they logged on with
// (auth.Flow.Unlocked, from StartLogon; or Unlock after an activation).
// The flow must be a done two-factor logon (auth.Service.UseFlow), and the
// signature uses it up: one flow, one signature. Each signature the vault
// makes or refuses is audited (a flow that cannot be used is refused
// before the vault, and auth has recorded its logon already).
func (s *Service) Sign(ctx context.Context, flowID string, unlocked keyvault.Unlocked, digest []byte, hash crypto.Hash) ([]byte, error) {
	u, err := s.auth.UseFlow(ctx, flowID)
	if err != nil {
		return nil, err
	}
	sig, err := s.vault.SignUnlocked(ctx, u.ID, unlocked, digest, hash)
	subject := audit.User(strconv.FormatInt(u.ID, 10))
	e := audit.Entry{Actor: subject, Action: audit.Sign, Subject: subject, Outcome: audit.Success,
		Detail: map[string]string{"hash": hash.String()}}
	if err != nil {
		e.Outcome = audit.Failure
		e.Detail["reason"] = signFailure(err)
	}
	s.appendAudit(ctx, e)
	return sig, err
}

// Unlock unlocks the user's key with their password (normalised as auth
// normalises passwords), for Sign: after an activation, whose logon began
// with the temporary password.
func (s *Service) Unlock(ctx context.Context, userID int64, password string) (keyvault.Unlocked, error) {
	return s.vault.Unlock(ctx, userID, auth.NormalizePassword(password))
}

// vaultPasswords lets auth check passwords by unlocking the user's vault
// key (auth.KeyPasswords).
type vaultPasswords struct{ vault *keyvault.Vault }

func (p vaultPasswords) Unlock(ctx context.Context, userID int64, password string) ([]byte, bool, error) {
	u, err := p.vault.Unlock(ctx, userID, auth.NormalizePassword(password))
	switch {
	case err == nil:
		return u, true, nil
	case errors.Is(err, keyvault.ErrWrongPassword):
		return nil, false, nil
	case errors.Is(err, keyvault.ErrNoKey):
		return nil, false, auth.ErrNoKey
	}
	return nil, false, err
}

func (p vaultPasswords) Burn(ctx context.Context, password string) error {
	return p.vault.Burn(ctx, auth.NormalizePassword(password))
}

// signFailure names why a signature was not made, for the audit log.
func signFailure(err error) string {
	for _, c := range []struct {
		err  error
		name string
	}{
		{keyvault.ErrWrongPassword, "wrong password"},
		{keyvault.ErrNoKey, "no key"},
		{keyvault.ErrCorrupt, "corrupt key"},
		{keyvault.ErrInvalidDigest, "invalid digest"},
		{keyvault.ErrSignatureFault, "signature fault"},
	} {
		if errors.Is(err, c.err) {
			return c.name
		}
	}
	return "error"
}

// Certificates returns the certificates issued for the user's vault keys,
// oldest first. userID is any user-id (auth.Service.Resolve).
func (s *Service) Certificates(ctx context.Context, userID string) ([]store.UserCertificate, error) {
	u, err := s.auth.Resolve(ctx, userID)
	if err != nil {
		return nil, err
	}
	return s.st.UserCertificates(ctx, u.ID)
}

// Certificate returns the user's good POCES certificate for their active
// vault key, or ErrNoCertificate. userID is any user-id.
func (s *Service) Certificate(ctx context.Context, userID string) (*x509.Certificate, error) {
	certs, err := s.Certificates(ctx, userID)
	if err != nil {
		return nil, err
	}
	for i := len(certs) - 1; i >= 0; i-- {
		if c := certs[i].Certificate; c.Status == store.StatusGood {
			return x509.ParseCertificate(c.DER)
		}
	}
	return nil, ErrNoCertificate
}
