// Package registration is the NemID operations that span several security
// contexts: authentication (internal/auth), the key vault
// (internal/keyvault), the certificate authority (internal/ca), the letters
// (internal/letters, internal/outbox) and the audit log (internal/audit).
//
// Register issues a NemID all or nothing: the user and their user-ids, the
// temporary password, the first key card, the RSA key pair in the vault,
// the POCES certificate with the user's PID and the two letters are stored
// in one database transaction, so that a crash at any moment leaves each
// user complete or absent. Activate and ChangePassword change the auth
// password and re-wrap the vault key in one transaction too; after an
// operator's reset, activation makes a new key pair and certificate and
// revokes the old certificate (superseded). Block revokes the certificate
// and destroys the key. docs/registration.md has the rules and the reasons.
package registration

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/nemid-dk/nemid/internal/audit"
	"github.com/nemid-dk/nemid/internal/auth"
	"github.com/nemid-dk/nemid/internal/ca"
	"github.com/nemid-dk/nemid/internal/ca/keys"
	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/keyvault"
	"github.com/nemid-dk/nemid/internal/letters"
	"github.com/nemid-dk/nemid/internal/outbox"
	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/oces"
)

// Config is what a Service needs. Store, MasterKey and CA are required;
// every other field has a safe zero value.
//
// New builds the auth service, the key vault, the outbox and the audit log
// itself, all on Store and MasterKey, and wires auth's letters and audit
// events to the outbox and the audit log: one way to assemble them, so that
// no auth.Service can send its letters somewhere the registration does not.
type Config struct {
	Store store.Store
	// MasterKey seals the vault's keys (outer layer), auth's MAC key and the
	// outbox's messages.
	MasterKey keys.MasterKey
	// CA issues and revokes the users' POCES certificates.
	CA *ca.Authority
	// Sender is the operator named in the letters' letterhead.
	Sender letters.Sender

	// Argon2, MaxConcurrentHashes and Limits configure auth (auth.Config).
	Argon2              auth.Argon2Params
	MaxConcurrentHashes int
	Limits              auth.Limits
	// KDF and MaxConcurrentDerivations configure the vault (keyvault.Config).
	KDF                      keyvault.KDFParams
	MaxConcurrentDerivations int

	Clock clock.Clock  // default clock.Real
	Log   *slog.Logger // default: discard
}

// Request is what a user is registered with: name, CPR number, optional
// alias and the postal address for the letters.
type Request = auth.Registration

// Registered is a newly issued NemID and its secrets in clear, returned
// once for printing: the database keeps none of them in clear.
type Registered struct {
	User auth.User
	// PID is the person's OCES identifier, in the certificate's subject.
	PID string
	// TemporaryPassword (6 digits) works once, until ValidUntil.
	TemporaryPassword string
	ValidUntil        time.Time
	// Card is the first key card, codes and all.
	Card *auth.KeyCard
	// Certificate is the user's POCES certificate.
	Certificate *x509.Certificate
	// Letters are the outbox IDs of the temporary-password letter and the
	// key-card letter, in that order.
	Letters []string
}

// ErrNoKeyPair: the user was registered by auth alone (auth.Register),
// without a key pair, PID or certificate, so there is no key to carry over
// or replace. Such users are for auth's own tests; a NemID is issued with
// Register.
var ErrNoKeyPair = errors.New("registration: the user has no key pair: registered without one")

// ErrNoCertificate: the user has no good POCES certificate (blocked, or
// not yet re-keyed after a reset or an unblock).
var ErrNoCertificate = errors.New("registration: the user has no valid certificate")

// Service runs the operations. It is safe for concurrent use, and many
// Services (in many processes) may share one store.
type Service struct {
	st     store.Store
	auth   *auth.Service
	vault  *keyvault.Vault
	ca     *ca.Authority
	outbox *outbox.Outbox
	audit  *audit.Log
	mailer *mailer
	clock  clock.Clock
	log    *slog.Logger
}

// New checks cfg and builds the service and the domain services it spans.
func New(ctx context.Context, cfg Config) (*Service, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("registration: no store")
	case cfg.MasterKey == nil:
		return nil, errors.New("registration: no master key")
	case cfg.CA == nil:
		return nil, errors.New("registration: no certificate authority")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Service{st: cfg.Store, ca: cfg.CA, clock: cfg.Clock, log: cfg.Log}
	var err error
	if s.outbox, err = outbox.New(cfg.Store, cfg.MasterKey, cfg.Clock); err != nil {
		return nil, err
	}
	s.audit = audit.New(cfg.Store, cfg.Clock)
	s.mailer = &mailer{outbox: s.outbox, sender: cfg.Sender, clock: cfg.Clock}
	// The vault first: auth checks passwords by unlocking the user's key
	// with it (vaultPasswords), one Argon2id per logon.
	s.vault, err = keyvault.New(keyvault.Config{
		Store: cfg.Store, MasterKey: cfg.MasterKey, KDF: cfg.KDF,
		MaxConcurrentDerivations: cfg.MaxConcurrentDerivations, Clock: cfg.Clock, Logger: cfg.Log,
	})
	if err != nil {
		return nil, err
	}
	s.auth, err = auth.New(ctx, auth.Config{
		Store: cfg.Store, MasterKey: cfg.MasterKey, Mailer: s.mailer, Audit: auditor{s.audit},
		Argon2: cfg.Argon2, MaxConcurrentHashes: cfg.MaxConcurrentHashes, Limits: cfg.Limits,
		Keys: vaultPasswords{s.vault}, Clock: cfg.Clock, Log: cfg.Log,
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Auth returns the authentication service (logon, key cards, lock-out),
// wired to this service's outbox and audit log.
func (s *Service) Auth() *auth.Service { return s.auth }

// Vault returns the key vault.
func (s *Service) Vault() *keyvault.Vault { return s.vault }

// Outbox returns the outbox the letters go to.
func (s *Service) Outbox() *outbox.Outbox { return s.outbox }

// AuditLog returns the audit log.
func (s *Service) AuditLog() *audit.Log { return s.audit }

// maxRegisterAttempts bounds the registrations begun afresh because a
// random value (NemID number, card number, PID, serial, message ID) was
// taken: each is drawn from millions or more, so one retry is rare and a
// second one practically never happens.
const maxRegisterAttempts = 3

// Register issues a NemID to a person: a random NemID number, a temporary
// password, the first key card, an RSA-2048 key pair in the vault wrapped
// under the temporary password, a POCES certificate for it with a fresh
// PID, the PID's link to the CPR number, and the two letters (temporary
// password, key card) in the outbox — all stored in one transaction, so
// that a crash leaves all of it or none. The slow work (key generation,
// Argon2id, the CA's lint and signature, the letters' PDFs and seals) is
// done before the transaction. A refusal (auth.ErrCPRRegistered,
// auth.ErrAliasTaken, a field auth or the letters refuse) changes nothing.
// Audit entries (registration, certificate-issued, keycard-issued) follow
// the commit.
func (s *Service) Register(ctx context.Context, actor auth.Actor, r Request) (*Registered, error) {
	var err error
	for range maxRegisterAttempts {
		var out *Registered
		out, err = s.register(ctx, actor, r)
		if err == nil {
			return out, nil
		}
		if !errors.Is(err, store.ErrDuplicate) || errors.Is(err, store.ErrCPRTaken) || errors.Is(err, store.ErrAliasTaken) {
			break
		}
		s.log.Warn("registration: a random value was taken; registering afresh", "err", err)
	}
	switch {
	case errors.Is(err, store.ErrCPRTaken):
		return nil, auth.ErrCPRRegistered
	case errors.Is(err, store.ErrAliasTaken):
		return nil, auth.ErrAliasTaken
	}
	return nil, err
}

func (s *Service) register(ctx context.Context, actor auth.Actor, r Request) (*Registered, error) {
	pid, err := oces.NewPID()
	if err != nil {
		return nil, err
	}
	p, err := s.auth.PrepareRegistration(actor, r, pid)
	if err != nil {
		return nil, err
	}
	defer p.Card.Wipe()
	// The unique values a person brings are checked before any slow work
	// and before the CA allocates a partition place, so that a refusal
	// changes nothing; the store checks them again, atomically.
	if _, err := s.st.UserByCPR(ctx, p.Record.User.CPR); err == nil {
		return nil, store.ErrCPRTaken
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if a := p.Record.User.Alias; a != "" {
		if _, err := s.st.UserByAlias(ctx, a); err == nil {
			return nil, store.ErrAliasTaken
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	user := p.User(0)
	now := p.Record.User.CreatedAt
	// The letters are rendered before the key work: a name or an address
	// the letters cannot print is refused cheaply.
	var msgs []store.OutboxMessage
	for _, render := range []func() (outbox.Message, error){
		func() (outbox.Message, error) {
			return s.mailer.temporaryPasswordLetter(user, p.TemporaryPassword, p.ValidUntil, now)
		},
		func() (outbox.Message, error) { return s.mailer.keyCardLetter(user, p.Card, now) },
	} {
		m, err := render()
		if err != nil {
			return nil, fmt.Errorf("registration: the letters: %w", err)
		}
		sealed, err := s.outbox.Prepare(m)
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, sealed)
	}
	// The vault compares bytes: the temporary password (digits) is
	// normalised as every password is, so that the wrapping follows one
	// rule whatever the password.
	key, err := s.vault.NewPendingKey(ctx, auth.NormalizePassword(p.TemporaryPassword))
	if err != nil {
		return nil, err
	}
	defer key.Wipe()
	issued, err := s.ca.Prepare(ctx, ca.IssueRequest{
		Subject:   oces.Request{Type: oces.POCES, Name: user.Name, ID: pid},
		PublicKey: key.Public(),
	})
	if err != nil {
		return nil, err
	}
	id, err := s.st.Register(ctx, store.Registration{
		User: p.Record, VaultKey: key.Record, Certificate: issued.Record, Outbox: msgs,
	})
	if err != nil {
		return nil, err
	}
	user.ID = id
	s.recordRegistration(ctx, actor, user, p.Card.Number, issued.Record)
	return &Registered{
		User: user, PID: pid, TemporaryPassword: p.TemporaryPassword, ValidUntil: p.ValidUntil,
		Card:        &auth.KeyCard{Number: p.Card.Number, Keys: append([]auth.Key(nil), p.Card.Keys...)},
		Certificate: issued.Certificate, Letters: []string{msgs[0].ID, msgs[1].ID},
	}, nil
}

// recordRegistration appends the audit entries of a registration. A
// failure is logged, not returned: the registration is committed, and its
// caller must learn the secrets it made.
func (s *Service) recordRegistration(ctx context.Context, actor auth.Actor, u auth.User, card string, cert store.Certificate) {
	who, detail := auditActor(actor, u.ID, u.NemID)
	subject := audit.User(strconv.FormatInt(u.ID, 10))
	detail["nemid"] = u.NemID
	detail["certificate"] = cert.Serial
	s.appendAudit(ctx,
		audit.Entry{Actor: who, Action: audit.Registration, Subject: subject, Outcome: audit.Success, Detail: detail},
		certificateIssued(who, u, cert),
		audit.Entry{Actor: who, Action: audit.KeycardIssued, Subject: subject, Outcome: audit.Success,
			Detail: map[string]string{"nemid": u.NemID, "card": card, "reason": "first card"}},
	)
}

// certificateIssued is the audit entry of a user's new certificate.
func certificateIssued(actor string, u auth.User, cert store.Certificate) audit.Entry {
	return audit.Entry{Actor: actor, Action: audit.CertificateIssued, Subject: audit.Certificate(cert.Serial),
		Outcome: audit.Success, Detail: map[string]string{
			"user": strconv.FormatInt(u.ID, 10), "nemid": u.NemID, "profile": cert.Profile,
			"identity": "PID:" + u.PID, "partition": strconv.Itoa(cert.Partition),
		}}
}

// appendAudit appends entries, logging (not returning) a failure: what
// they record has been committed already.
func (s *Service) appendAudit(ctx context.Context, entries ...audit.Entry) {
	for _, e := range entries {
		if _, err := s.audit.Append(context.WithoutCancel(ctx), e); err != nil {
			s.log.Error("registration: audit entry not recorded", "action", e.Action, "subject", e.Subject, "err", err)
		}
	}
}
