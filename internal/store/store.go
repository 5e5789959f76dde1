// Package store is the one place where nemid keeps state that matters: the
// installation's settings, its certificate authorities, and every certificate
// issued with its status. One interface, two back-ends (SQLite by default,
// PostgreSQL for shared or larger installations), one conformance suite.
package store

import (
	"context"
	"errors"
	"time"
)

// Errors returned by every back-end. Callers test them with errors.Is.
var (
	// ErrNotFound: the asked-for row does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrAlreadyInitialised: the installation already exists; init must not run twice.
	ErrAlreadyInitialised = errors.New("store: installation already initialised")
	// ErrDuplicateSerial: a certificate with that serial is already stored.
	ErrDuplicateSerial = errors.New("store: duplicate certificate serial")
	// ErrAlreadyRevoked: the certificate is revoked already; a revocation cannot be changed.
	ErrAlreadyRevoked = errors.New("store: certificate already revoked")
	// ErrDuplicate: a service provider with that name or that certificate is already registered.
	ErrDuplicate = errors.New("store: already exists")
	// ErrConflict: the identity is already linked to a different CPR number.
	ErrConflict = errors.New("store: conflicts with an existing record")
)

// Installation is the installation-wide configuration written once by
// `nemid init` and read by every later command and server.
type Installation struct {
	// Environment is "preprod" or "production".
	Environment string
	// Config is the CA configuration as JSON, owned and interpreted by internal/ca.
	Config    []byte
	CreatedAt time.Time
}

// CAKind says what an authority's key does.
type CAKind string

// The kinds of authority an installation has.
const (
	KindRoot    CAKind = "root"
	KindIssuing CAKind = "issuing"
	KindOCSP    CAKind = "ocsp" // the delegated OCSP responder (not a CA, but an authority key)
)

// CA is a key the operator holds and its certificate: a root CA, an issuing CA
// or the delegated OCSP responder.
type CA struct {
	// Name is the short stable name the installation uses, e.g. "root", "issuing", "ocsp".
	Name string
	Kind CAKind
	// CertDER is the authority's certificate.
	CertDER []byte
	// KeyRef is an opaque reference to the private key that the configured key
	// back-end understands (a file name or a PKCS#11 label). Never the key itself.
	KeyRef    string
	CreatedAt time.Time
}

// Status is a certificate's revocation status.
type Status string

// The two statuses. There is no "hold": a revocation is final.
const (
	StatusGood    Status = "good"
	StatusRevoked Status = "revoked"
)

// Certificate is one issued certificate and its status, stored as one row so
// that a certificate can never exist without its status.
type Certificate struct {
	// Serial is the certificate serial number as lowercase hexadecimal without
	// leading zeros (big.Int.Text(16)).
	Serial string
	// Issuer is the Name of the CA that issued it.
	Issuer string
	// Profile is the OCES profile: "poces", "moces", "voces", "foces", or "ca"/"ocsp" for authority certificates.
	Profile string
	// Subject is the subject DN in RFC 2253 form, for display and search.
	Subject   string
	NotBefore time.Time
	NotAfter  time.Time
	// Partition is the CRL partition number (CN=CRL<n>) the certificate
	// belongs to for life; 0 for a certificate in no partition (the OCSP
	// responder's, which has no CRL distribution point).
	Partition int
	DER       []byte
	IssuedAt  time.Time
	Status    Status
	// RevokedAt and Reason are set only when Status is StatusRevoked.
	RevokedAt time.Time
	// Reason is the RFC 5280 CRLReason code (0 unspecified, 1 keyCompromise, ...; never 6 certificateHold).
	Reason int
}

// Revoked is one entry of a CRL.
type Revoked struct {
	Serial    string
	RevokedAt time.Time
	Reason    int
}

// ListFilter selects certificates for ListCertificates. Zero values select everything.
type ListFilter struct {
	Issuer      string // only this issuer
	RevokedOnly bool
	// AfterSerial pages: only serials greater than this one (in stored order, see ListCertificates).
	AfterSerial string
	// Limit caps the number of rows; 0 means no limit.
	Limit int
}

// Store is what every back-end implements. All methods are safe for
// concurrent use by many goroutines and by many processes sharing the database.
type Store interface {
	// Installation returns the installation, or ErrNotFound before init.
	Installation(ctx context.Context) (Installation, error)
	// Initialise stores the installation, its authorities and the
	// authorities' own certificates (with status good) in one transaction.
	// It returns ErrAlreadyInitialised, and changes nothing, if an
	// installation exists.
	Initialise(ctx context.Context, inst Installation, cas []CA, certs []Certificate) error

	// CA returns the authority with that name, or ErrNotFound.
	CA(ctx context.Context, name string) (CA, error)
	// CAs returns every authority, ordered by CreatedAt then Name.
	CAs(ctx context.Context) ([]CA, error)

	// AllocatePartition reserves one place in the issuer's current CRL
	// partition and returns the partition number (starting at 1). When the
	// current partition already holds size places, the next partition is
	// opened. Concurrent callers never get more than size places in one
	// partition. A place reserved and never used is harmless.
	AllocatePartition(ctx context.Context, issuer string, size int) (int, error)

	// InsertCertificate stores a newly issued certificate (Status must be
	// StatusGood). It returns ErrDuplicateSerial if the serial exists.
	InsertCertificate(ctx context.Context, c Certificate) error
	// Certificate returns the certificate with that serial, or ErrNotFound.
	Certificate(ctx context.Context, serial string) (Certificate, error)
	// ListCertificates returns certificates ordered by serial (as stored text).
	ListCertificates(ctx context.Context, f ListFilter) ([]Certificate, error)
	// Revoke marks the certificate revoked at the given time with the given
	// reason, durably, before it returns. It returns ErrNotFound for an unknown
	// serial and ErrAlreadyRevoked (changing nothing) if it is revoked already.
	Revoke(ctx context.Context, serial string, at time.Time, reason int) (Certificate, error)
	// RevokedInPartition lists the revoked certificates of one issuer's partition, ordered by serial.
	RevokedInPartition(ctx context.Context, issuer string, partition int) ([]Revoked, error)
	// RevokedByIssuer lists all revoked certificates of one issuer (its full CRL), ordered by serial.
	RevokedByIssuer(ctx context.Context, issuer string) ([]Revoked, error)

	// Partitions returns the highest CRL partition number that holds a
	// certificate of the issuer (0 if none): partitions 1..n are in use.
	Partitions(ctx context.Context, issuer string) (int, error)

	// Revocation publishing (CRLs and OCSP). Revoke, in its own transaction,
	// also marks the certificate's partition CRL and its issuer's full CRL
	// stale and makes the certificate's OCSP response due at once, so a
	// crash between recording a revocation and publishing it loses nothing.

	// NextCRLNumber reserves the issuer's next CRL number (1, 2, 3, …),
	// committed before it returns: a number is never handed out twice, even
	// after a crash. All CRLs of one issuer share the sequence, so each CRL's
	// numbers strictly increase.
	NextCRLNumber(ctx context.Context, issuer string) (int64, error)
	// PutCRL stores a CRL as the latest of its (Issuer, Partition) unless one
	// with the same or a higher Number is stored already; it reports whether
	// it stored it.
	PutCRL(ctx context.Context, c CRL) (bool, error)
	// CRL returns the latest CRL of (issuer, partition), or ErrNotFound.
	// Partition 0 is the issuer's full CRL.
	CRL(ctx context.Context, issuer string, partition int) (CRL, error)
	// CRLs lists the latest CRL of every (issuer, partition), without DER,
	// ordered by issuer and partition.
	CRLs(ctx context.Context) ([]CRL, error)
	// StaleCRLs lists the CRLs marked stale by revocations since they were
	// last published, ordered by issuer and partition.
	StaleCRLs(ctx context.Context) ([]StaleCRL, error)
	// ClearStaleCRL removes the stale mark, unless a revocation marked it
	// again (a higher Generation) after the caller read it.
	ClearStaleCRL(ctx context.Context, s StaleCRL) error

	// OCSPDue returns up to limit certificates of the issuer whose OCSP
	// response is due (never signed, revoked since, or its refresh time <=
	// now), most overdue first.
	OCSPDue(ctx context.Context, issuer string, now time.Time, limit int) ([]Certificate, error)
	// PutOCSPResponse stores the response for r.Serial and sets when it is
	// next due, in one transaction — but only while the certificate's status
	// is still r.Status (a revocation racing the signer wins: nothing is
	// stored and the revoked response stays due). It reports whether it stored it.
	PutOCSPResponse(ctx context.Context, r OCSPResponse, refreshAt time.Time) (bool, error)
	// OCSPResponse returns the stored response for a serial, or ErrNotFound.
	OCSPResponse(ctx context.Context, serial string) (OCSPResponse, error)

	// Service providers (serviceproviders.go). A registration is never
	// deleted, so an SPID, a name and a certificate always mean the one
	// agreement they were registered with.

	// RegisterServiceProvider stores a new agreement and returns it with
	// its ID (the SPID) and CreatedAt set (CreatedAt from sp if non-zero,
	// else now). sp.ID must be 0 and sp.Disabled false; an empty CertSHA256
	// is computed, a given one must match CertDER. It returns ErrDuplicate,
	// changing nothing, when the name (compared case-insensitively) or the
	// certificate is registered already, disabled or not.
	RegisterServiceProvider(ctx context.Context, sp ServiceProvider) (ServiceProvider, error)
	// ServiceProvider returns the agreement with that SPID, or ErrNotFound.
	ServiceProvider(ctx context.Context, id int64) (ServiceProvider, error)
	// ServiceProviderByName returns the agreement with that name, compared
	// case-insensitively (Unicode simple case folding), or ErrNotFound.
	ServiceProviderByName(ctx context.Context, name string) (ServiceProvider, error)
	// ServiceProviderByCertificate returns the agreement whose certificate
	// has that SHA-256 (lower-case hex), or ErrNotFound. Disabled agreements
	// are returned too: the caller decides what disabled means.
	ServiceProviderByCertificate(ctx context.Context, certSHA256 string) (ServiceProvider, error)
	// ServiceProviders returns every agreement, ordered by ID.
	ServiceProviders(ctx context.Context) ([]ServiceProvider, error)
	// DisableServiceProvider marks the agreement disabled at the given
	// time and returns it. Disabling a disabled agreement changes nothing
	// (its DisabledAt stays) and returns it. ErrNotFound for an unknown ID.
	DisableServiceProvider(ctx context.Context, id int64, at time.Time) (ServiceProvider, error)

	// LinkCPR records which CPR number an identity belongs to. The same
	// link again is no error and changes nothing (CreatedAt stays the
	// first); a different CPR number for a linked identity is ErrConflict.
	LinkCPR(ctx context.Context, l CPRLink) error
	// CPRLink returns the link of an identity, or ErrNotFound.
	CPRLink(ctx context.Context, identity string) (CPRLink, error)

	// RecordCPRQuery stores one answered match or look-up. ErrNotFound if
	// q.SP is not a registered service provider.
	RecordCPRQuery(ctx context.Context, q CPRQuery) error
	// CPRQueryCounts counts the SP's failed queries at or after since: for
	// one identity, and in all.
	CPRQueryCounts(ctx context.Context, sp int64, identity string, since time.Time) (failedForIdentity, failedInAll int, err error)

	VaultStore // the key vault's wrapped user keys (vault.go)

	AuthStore // users, credentials, key cards and logon flows (auth.go)

	AuditStore // the tamper-evident audit log (audit.go)

	OutboxStore // the simulated post and SMS outbox (outbox.go)

	RegistrationStore // registrations and the users' certificates (registration.go)

	UserLister // the operator's listing of users (userlist.go)

	IdPStore // the JS client's flows (idp.go)

	// Close releases the database.
	Close() error
}

// ServiceProvider is one service-provider agreement.
type ServiceProvider struct {
	// ID is the SPID (serviceId / ServiceProviderIdentifier in CPR calls),
	// assigned by RegisterServiceProvider: unique, increasing, from 1, never
	// reused (a refused registration may leave a gap on PostgreSQL).
	ID int64
	// Name is the friendly name: unique (case-insensitively), shown to
	// users, sent as RequestIssuer. See ValidateServiceProviderName.
	Name string
	// Origins are the origins of the SP's pages, e.g.
	// https://shop.example:8443, in the form a browser reports them; at least one.
	Origins []string
	// CertDER is the SP's VOCES certificate.
	CertDER []byte
	// CertSHA256 is the lower-case hex SHA-256 of CertDER; unique; how a
	// TLS client certificate is recognised.
	CertSHA256 string
	// Subject is the VOCES subject DN (RFC 2253), for display.
	Subject string
	// AllowCPRMatch: may call PID/RID-CPR match.
	AllowCPRMatch bool
	// AllowCPRLookup: may also look a CPR number up from a PID/RID. Only
	// together with AllowCPRMatch.
	AllowCPRLookup bool
	Disabled       bool
	CreatedAt      time.Time
	// DisabledAt is zero unless Disabled.
	DisabledAt time.Time
}

// CPRLink records which CPR number an OCES identity belongs to (written
// when a user is registered; until then by `nemid cpr link`).
type CPRLink struct {
	// Identity is the certificate subject serialNumber form:
	// "PID:9208-2002-2-…" or "CVR:12345678-RID:…".
	Identity string
	// CPR is the CPR number, 10 digits without a dash.
	CPR       string
	CreatedAt time.Time
}

// CPRQuery is one answered match or look-up, kept to detect systematic searching.
type CPRQuery struct {
	SP       int64
	Identity string
	// Failed: the CPR number did not match, or the identity does not exist.
	Failed bool
	At     time.Time
}

// CRL is one signed certificate revocation list.
type CRL struct {
	Issuer string
	// Partition is the CRL partition (CN=CRL<n>), or 0 for the issuer's full CRL.
	Partition  int
	Number     int64
	ThisUpdate time.Time
	NextUpdate time.Time
	// DER is empty in the listing of CRLs.
	DER []byte
}

// StaleCRL names a CRL that a revocation has made out of date.
type StaleCRL struct {
	Issuer    string
	Partition int // 0: the full CRL
	// Generation counts the revocations that marked it; ClearStaleCRL
	// clears only the generation the publisher read.
	Generation int64
}

// OCSPResponse is one pre-signed OCSP response.
type OCSPResponse struct {
	Serial string
	// Status is the certificate status the response states.
	Status     Status
	ThisUpdate time.Time
	NextUpdate time.Time
	DER        []byte
}
