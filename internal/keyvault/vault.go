package keyvault

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"runtime"
	"time"

	"github.com/nemid-dk/nemid/internal/ca/keys"
	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/store"
)

// KeyBits is the size of every user key (RSA, as OCES used).
const KeyBits = 2048

// MaxPasswordBytes bounds the password the vault accepts. NemID passwords
// have at most 40 characters; the bound only keeps absurd input out.
const MaxPasswordBytes = 1024

// Errors callers tell apart with errors.Is. None of them carries a secret.
var (
	// ErrWrongPassword: the password does not unwrap the user's key. Nothing
	// else is said or returned.
	ErrWrongPassword = errors.New("keyvault: wrong password")
	// ErrCorrupt: the stored key does not authenticate: it was altered, moved
	// to another user or version, or sealed under another master key. It is
	// never used.
	ErrCorrupt = errors.New("keyvault: the stored key does not authenticate (altered, moved, or sealed under another master key)")
	// ErrNoKey: the user has no active key (never made, destroyed, or the
	// user has no key at all when Replace needs one).
	ErrNoKey = errors.New("keyvault: the user has no active key")
	// ErrKeyExists: Create was asked for a user who has a key already (or
	// had one: a later key comes from Replace).
	ErrKeyExists = errors.New("keyvault: the user has a key already")
	// ErrConflict: another call changed the user's key meanwhile (a
	// password change or a replacement); nothing was changed by this one.
	ErrConflict = errors.New("keyvault: the key was changed by another call at the same time; nothing was changed")
	// ErrInvalidPassword: a new password is empty or longer than MaxPasswordBytes.
	ErrInvalidPassword = errors.New("keyvault: a password must be 1 to 1024 bytes")
	// ErrInvalidDigest: the hash is not SHA-256, SHA-384 or SHA-512, or the
	// digest's length is not the hash's size.
	ErrInvalidDigest = errors.New("keyvault: the digest is not a SHA-256, SHA-384 or SHA-512 digest of the right length")
	// ErrSignatureFault: the signature made did not verify (a fault during
	// signing); it is withheld, since a faulty RSA signature can reveal the key.
	ErrSignatureFault = errors.New("keyvault: the signature did not verify and was withheld")
)

// Config is what a Vault needs. Store and MasterKey are required; every
// other field has a safe zero value.
type Config struct {
	Store     store.VaultStore
	MasterKey keys.MasterKey
	// KDF is the Argon2id parameter set new wrappings use; zero means
	// DefaultKDF. It must pass KDFParams.Validate.
	KDF KDFParams
	// MaxConcurrentDerivations bounds the Argon2id derivations running at
	// once (so memory use stays under KDF.Memory times this); zero means
	// 2 × GOMAXPROCS. Callers beyond it wait, or give up with their context.
	MaxConcurrentDerivations int
	// Clock stamps key records; nil means the system clock.
	Clock clock.Clock
	// Logger receives the one thing the vault logs: a failed re-wrapping
	// under raised parameters (no secret). Nil means slog.Default().
	Logger *slog.Logger
}

// Vault holds users' wrapped keys and signs with them. It is safe for
// concurrent use.
type Vault struct {
	store  store.VaultStore
	master keys.MasterKey
	params KDFParams
	slots  chan struct{}
	kdf    deriveFunc
	// sign makes the raw signature; a field so that a test can inject
	// the fault the self-check guards against.
	sign  func(priv *rsa.PrivateKey, hash crypto.Hash, digest []byte) ([]byte, error)
	clock clock.Clock
	log   *slog.Logger
}

func signPKCS1v15(priv *rsa.PrivateKey, hash crypto.Hash, digest []byte) ([]byte, error) {
	// PKCS#1 v1.5 signing is deterministic: no randomness is needed.
	return rsa.SignPKCS1v15(nil, priv, hash, digest)
}

// Key describes one of a user's key pairs; never the private half.
type Key struct {
	UserID int64
	// Version numbers the user's key pairs from 1; the certificate side
	// records it to know which certificate certifies which key.
	Version   int64
	Public    *rsa.PublicKey
	CreatedAt time.Time
}

// New checks the configuration and returns a vault.
func New(cfg Config) (*Vault, error) {
	if cfg.Store == nil {
		return nil, errors.New("keyvault: no store configured")
	}
	if cfg.MasterKey == nil {
		return nil, errors.New("keyvault: no master key configured")
	}
	params := cfg.KDF
	if params == (KDFParams{}) {
		params = DefaultKDF
	}
	if err := params.Validate(); err != nil {
		return nil, fmt.Errorf("keyvault: KDF parameters: %w", err)
	}
	n := cfg.MaxConcurrentDerivations
	switch {
	case n < 0:
		return nil, fmt.Errorf("keyvault: MaxConcurrentDerivations %d: must be 0 (the default) or more", n)
	case n == 0:
		n = 2 * runtime.GOMAXPROCS(0)
	}
	v := &Vault{
		store:  cfg.Store,
		master: cfg.MasterKey,
		params: params,
		slots:  make(chan struct{}, n),
		kdf:    argon2id,
		sign:   signPKCS1v15,
		clock:  cfg.Clock,
		log:    cfg.Logger,
	}
	if v.clock == nil {
		v.clock = clock.Real{}
	}
	if v.log == nil {
		v.log = slog.Default()
	}
	return v, nil
}

// Params returns the Argon2id parameters new wrappings use.
func (v *Vault) Params() KDFParams { return v.params }

// Create makes the user's first key pair (version 1), wraps it under
// password, stores it, and returns the public half. It returns
// ErrKeyExists, making nothing, if the user has or had a key.
//
// The password must be given exactly as Sign will receive it: the vault
// compares bytes, so any normalisation (such as the case-insensitivity of
// NemID passwords) is the caller's, applied the same way every time.
func (v *Vault) Create(ctx context.Context, userID int64, password string) (Key, error) {
	fail := func(err error) (Key, error) {
		return Key{}, fmt.Errorf("keyvault: create key for user %d: %w", userID, err)
	}
	if err := checkUser(userID); err != nil {
		return fail(err)
	}
	if err := checkNewPassword(password); err != nil {
		return fail(err)
	}
	// Refuse before the key generation, which is the expensive part; the
	// store checks again atomically when it stores.
	if have, err := v.store.VaultKeys(ctx, userID); err != nil {
		return fail(err)
	} else if len(have) > 0 {
		return fail(ErrKeyExists)
	}
	pending, err := v.NewPendingKey(ctx, password)
	if err != nil {
		return fail(err)
	}
	defer pending.Wipe()
	rec, err := pending.Record(userID)
	if err != nil {
		return fail(err)
	}
	err = v.store.CreateVaultKey(ctx, rec)
	if errors.Is(err, store.ErrDuplicate) {
		return fail(ErrKeyExists)
	}
	if err != nil {
		return fail(err)
	}
	return pending.key(userID), nil
}

// Replace makes a new key pair for a user whose old one cannot be used any
// more (the password was reset by the operator, or the NemID was blocked),
// wraps it under newPassword and stores it as the next version, marking
// the old one superseded and erasing its blob, in one transaction. It
// returns the new key; issuing its certificate and revoking the old one
// (reason superseded) is the caller's. ErrNoKey if the user never had a
// key (use Create); ErrConflict if another Replace came first.
func (v *Vault) Replace(ctx context.Context, userID int64, newPassword string) (Key, error) {
	k, rec, err := v.NextKey(ctx, userID, newPassword)
	if err != nil {
		return Key{}, err
	}
	err = v.store.ReplaceVaultKey(ctx, rec)
	switch {
	case errors.Is(err, store.ErrConflict):
		err = ErrConflict
	case errors.Is(err, store.ErrNotFound):
		err = ErrNoKey
	}
	if err != nil {
		return Key{}, fmt.Errorf("keyvault: replace key of user %d: %w", userID, err)
	}
	return k, nil
}

// NextKey is Replace without the store: it makes the user's next key pair,
// wrapped under newPassword, and returns it with the record to store with
// store.CredentialTx.ReplaceVaultKey, in the caller's transaction (an
// activation after a reset stores it with the new certificate and the new
// password). ErrNoKey if the user never had a key.
func (v *Vault) NextKey(ctx context.Context, userID int64, newPassword string) (Key, store.VaultKey, error) {
	fail := func(err error) (Key, store.VaultKey, error) {
		return Key{}, store.VaultKey{}, fmt.Errorf("keyvault: replace key of user %d: %w", userID, err)
	}
	if err := checkUser(userID); err != nil {
		return fail(err)
	}
	if err := checkNewPassword(newPassword); err != nil {
		return fail(err)
	}
	have, err := v.store.VaultKeys(ctx, userID)
	if err != nil {
		return fail(err)
	}
	if len(have) == 0 {
		return fail(ErrNoKey)
	}
	pending, err := v.NewPendingKey(ctx, newPassword)
	if err != nil {
		return fail(err)
	}
	defer pending.Wipe()
	version := have[len(have)-1].Version + 1
	rec, err := pending.record(userID, version)
	if err != nil {
		return fail(err)
	}
	k := pending.key(userID)
	k.Version = version
	return k, rec, nil
}

// ActiveKey returns the user's active key. The public key is checked
// against the blob (the master key authenticates it; no password is
// needed), so what it returns is what Sign signs with. ErrNoKey if the
// user has no active key, ErrCorrupt if the record does not authenticate.
func (v *Vault) ActiveKey(ctx context.Context, userID int64) (Key, error) {
	fail := func(err error) (Key, error) {
		return Key{}, fmt.Errorf("keyvault: key of user %d: %w", userID, err)
	}
	row, err := v.active(ctx, userID)
	if err != nil {
		return fail(err)
	}
	pub, err := parsePublic(row.PublicKey)
	if err != nil {
		return fail(err)
	}
	if _, err := v.openOuter(row); err != nil {
		return fail(err)
	}
	return Key{UserID: userID, Version: row.Version, Public: pub, CreatedAt: row.CreatedAt}, nil
}

// Sign unwraps the user's active key with password, signs digest (made
// with hash: SHA-256, SHA-384 or SHA-512) with RSA PKCS#1 v1.5, verifies
// the signature with the public key, and returns the signature. The key
// exists in clear only during the call.
//
// A wrong password gives ErrWrongPassword and a blob that does not
// authenticate gives ErrCorrupt; neither ever gives a signature. The vault
// does not count wrong passwords: lock-out is the caller's.
func (v *Vault) Sign(ctx context.Context, userID int64, password string, digest []byte, hash crypto.Hash) ([]byte, error) {
	fail := func(err error) ([]byte, error) {
		return nil, fmt.Errorf("keyvault: sign for user %d: %w", userID, err)
	}
	if err := checkUser(userID); err != nil {
		return fail(err)
	}
	if err := checkDigest(digest, hash); err != nil {
		return fail(err)
	}
	o, err := v.openActive(ctx, userID, password)
	if err != nil {
		return fail(err)
	}
	defer o.wipe()
	sig, err := v.signWith(o.pkcs8, o.pub, digest, hash, fail)
	if err != nil {
		return nil, err
	}
	v.upgradeIfWeak(ctx, o, password)
	return sig, nil
}

// upgradeIfWeak re-wraps an opened key that was wrapped with weaker KDF
// parameters than the vault's, now that the password is at hand, and
// reports whether it did. Its failure costs nothing but the upgrade, so it
// is logged and not returned.
func (v *Vault) upgradeIfWeak(ctx context.Context, o *opened, password string) bool {
	if !o.kdf.weakerThan(v.params) {
		return false
	}
	pw := []byte(password)
	defer clear(pw)
	row := o.row
	blob, err := v.wrap(ctx, bindingOf(row), pw, o.pkcs8)
	if err == nil {
		err = v.store.RewrapVaultKey(ctx, row.UserID, row.Version, row.Generation, blob, v.clock.Now())
	}
	// A conflict means another call re-wrapped or replaced the key first:
	// nothing left to do. A caller that has gone away leaves the upgrade
	// to the next use.
	if err != nil && !errors.Is(err, store.ErrConflict) && ctx.Err() == nil {
		v.log.WarnContext(ctx, "keyvault: re-wrapping a key under the current Argon2id parameters failed; it stays under the old ones",
			"user", row.UserID, "version", row.Version, "params", v.params.String(), "err", err)
	}
	return true
}

// ChangePassword re-wraps the user's active key under newPassword, after
// unwrapping it with oldPassword. The old blob is replaced by one atomic
// write: a crash leaves the old blob or the new one. ErrWrongPassword if
// oldPassword is wrong, ErrConflict (nothing changed) if the key was
// changed by another call meanwhile.
func (v *Vault) ChangePassword(ctx context.Context, userID int64, oldPassword, newPassword string) error {
	rec, err := v.Rewrap(ctx, userID, oldPassword, newPassword)
	if err != nil {
		return err
	}
	err = v.store.RewrapVaultKey(ctx, userID, rec.Version, rec.Generation, rec.Blob, rec.UpdatedAt)
	if errors.Is(err, store.ErrConflict) {
		err = ErrConflict
	}
	if err != nil {
		return fmt.Errorf("keyvault: change password of user %d: %w", userID, err)
	}
	return nil
}

// Rewrap is ChangePassword without the store: it unwraps the user's active
// key with oldPassword and wraps it under newPassword, and returns the
// record to store with store.CredentialTx.RewrapVaultKey(UserID, Version,
// Generation, Blob, UpdatedAt) in the caller's transaction (a password
// change stores it with the new password hash). Generation is the one the
// key was read at, so a change made meanwhile makes the store refuse.
// ErrWrongPassword if oldPassword does not unwrap the key, ErrNoKey if the
// user has no active key.
func (v *Vault) Rewrap(ctx context.Context, userID int64, oldPassword, newPassword string) (store.VaultKey, error) {
	fail := func(err error) (store.VaultKey, error) {
		return store.VaultKey{}, fmt.Errorf("keyvault: change password of user %d: %w", userID, err)
	}
	if err := checkUser(userID); err != nil {
		return fail(err)
	}
	if err := checkNewPassword(newPassword); err != nil {
		return fail(err)
	}
	o, err := v.openActive(ctx, userID, oldPassword)
	if err != nil {
		return fail(err)
	}
	defer o.wipe()
	row, pkcs8 := o.row, o.pkcs8
	// Only a key that is whole and matches its public key is carried over.
	priv, err := privateKey(pkcs8, o.pub)
	if err != nil {
		return fail(err)
	}
	wipe(priv)
	newPW := []byte(newPassword)
	defer clear(newPW)
	b := binding{userID: row.UserID, version: row.Version, publicKey: row.PublicKey}
	blob, err := v.wrap(ctx, b, newPW, pkcs8)
	if err != nil {
		return fail(err)
	}
	row.Blob, row.UpdatedAt = blob, v.clock.Now()
	return row, nil
}

// Destroy erases the user's active key, for a NemID being blocked: the
// blob is deleted (the record of the version and its public key stays),
// so nobody, the operator included, can sign with it again. Reopening the
// NemID makes a new key with Replace. ErrNoKey if the user has no active key.
func (v *Vault) Destroy(ctx context.Context, userID int64) error {
	if err := checkUser(userID); err != nil {
		return fmt.Errorf("keyvault: destroy key of user %d: %w", userID, err)
	}
	_, err := v.store.DestroyVaultKey(ctx, userID, v.clock.Now())
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("keyvault: destroy key of user %d: %w", userID, ErrNoKey)
	}
	if err != nil {
		return fmt.Errorf("keyvault: destroy key of user %d: %w", userID, err)
	}
	return nil
}

// PendingKey is a new key pair whose wrapping key has been derived from
// the password, but which is bound to no user yet. A registration makes
// one before its transaction, since the user's ID, which every blob binds,
// is assigned inside it: the slow work (the key generation and Argon2id)
// is done here, and Record's binding and sealing are quick. Wipe it when
// done.
type PendingKey struct {
	v      *Vault
	public *rsa.PublicKey
	spki   []byte
	pkcs8  []byte
	// header is the inner header (parameters, salt, nonce) the key
	// encryption key kek was derived for.
	header    []byte
	kek       []byte
	createdAt time.Time
}

// NewPendingKey generates an RSA-2048 key pair and derives the key that
// will wrap it from password (given exactly as Sign will receive it; see
// Create).
func (v *Vault) NewPendingKey(ctx context.Context, password string) (*PendingKey, error) {
	if err := checkNewPassword(password); err != nil {
		return nil, fmt.Errorf("keyvault: new key: %w", err)
	}
	priv, err := rsa.GenerateKey(rand.Reader, KeyBits)
	if err != nil {
		return nil, fmt.Errorf("keyvault: generating an RSA-%d key: %w", KeyBits, err)
	}
	defer wipe(priv)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		clear(pkcs8)
		return nil, fmt.Errorf("keyvault: new key: %w", err)
	}
	p := &PendingKey{v: v, pkcs8: pkcs8, createdAt: v.clock.Now(),
		public: &rsa.PublicKey{N: new(big.Int).Set(priv.N), E: priv.E}}
	if p.spki, err = x509.MarshalPKIXPublicKey(p.public); err != nil {
		p.Wipe()
		return nil, fmt.Errorf("keyvault: new key: %w", err)
	}
	pw := []byte(password)
	defer clear(pw)
	if p.header, p.kek, err = v.newWrapping(ctx, pw); err != nil {
		p.Wipe()
		return nil, fmt.Errorf("keyvault: new key: %w", err)
	}
	return p, nil
}

// Public returns the public key.
func (p *PendingKey) Public() *rsa.PublicKey { return p.public }

// Record binds the key to the user as their first key (version 1) and
// returns the record to store (store.Registration's VaultKey). It may be
// called again, e.g. when the transaction storing it is retried: each call
// seals under a fresh nonce, and only the record stored counts.
func (p *PendingKey) Record(userID int64) (store.VaultKey, error) {
	if err := checkUser(userID); err != nil {
		return store.VaultKey{}, fmt.Errorf("keyvault: new key: %w", err)
	}
	return p.record(userID, 1)
}

func (p *PendingKey) record(userID, version int64) (store.VaultKey, error) {
	if p.kek == nil {
		return store.VaultKey{}, errors.New("keyvault: the pending key was wiped")
	}
	b := binding{userID: userID, version: version, publicKey: p.spki}
	blob, err := p.v.seal(b, p.header, p.kek, p.pkcs8)
	if err != nil {
		return store.VaultKey{}, fmt.Errorf("keyvault: new key: %w", err)
	}
	return store.VaultKey{UserID: userID, Version: version, PublicKey: p.spki, Blob: blob, CreatedAt: p.createdAt}, nil
}

func (p *PendingKey) key(userID int64) Key {
	return Key{UserID: userID, Version: 1, Public: p.public, CreatedAt: p.createdAt}
}

// Wipe overwrites the private key and the wrapping key in memory (best
// effort, see the package documentation). The key cannot be recorded after.
func (p *PendingKey) Wipe() {
	clear(p.pkcs8)
	clear(p.kek)
	p.pkcs8, p.kek = nil, nil
}

// wrap makes a stored blob: the inner layer under a key derived from pw
// with the vault's parameters and a fresh salt, sealed by the master key.
func (v *Vault) wrap(ctx context.Context, b binding, pw, pkcs8 []byte) ([]byte, error) {
	header, kek, err := v.newWrapping(ctx, pw)
	if err != nil {
		return nil, err
	}
	defer clear(kek)
	return v.seal(b, header, kek, pkcs8)
}

// newWrapping draws a fresh inner header (the vault's parameters, a salt,
// a nonce) and derives the key-encryption key from pw for it: the slow
// half of a wrapping.
func (v *Vault) newWrapping(ctx context.Context, pw []byte) (header, kek []byte, err error) {
	header, err = newInnerHeader(v.params)
	if err != nil {
		return nil, nil, err
	}
	salt := header[innerFixedLen : innerFixedLen+saltLen]
	kek, err = v.derive(ctx, pw, salt, v.params)
	if err != nil {
		return nil, nil, err
	}
	return header, kek, nil
}

// seal is the quick half of a wrapping: the inner layer under kek, with a
// fresh nonce in a copy of header, sealed by the master key.
func (v *Vault) seal(b binding, header, kek, pkcs8 []byte) ([]byte, error) {
	h := append([]byte(nil), header...)
	if _, err := rand.Read(h[len(h)-gcmNonceLen:]); err != nil {
		return nil, fmt.Errorf("keyvault: reading random nonce: %w", err)
	}
	innerLayer, err := sealInner(h, kek, pkcs8, b)
	if err != nil {
		return nil, err
	}
	blobHeader := newBlobHeader()
	sealed, err := v.master.Seal(innerLayer, b.outerAAD(blobHeader))
	if err != nil {
		return nil, fmt.Errorf("sealing with the master key: %w", err)
	}
	return append(blobHeader, sealed...), nil
}

// openOuter authenticates a stored blob with the master key and parses its
// inner layer. Everything wrong with the blob is ErrCorrupt; a master key
// that fails for other reasons (a token error, a closed key) is passed on.
func (v *Vault) openOuter(row store.VaultKey) (inner, error) {
	header, sealed, err := splitBlob(row.Blob)
	if err != nil {
		return inner{}, fmt.Errorf("%w (%v)", ErrCorrupt, err)
	}
	b := binding{userID: row.UserID, version: row.Version, publicKey: row.PublicKey}
	pt, err := v.master.Open(sealed, b.outerAAD(header))
	if errors.Is(err, keys.ErrUnsealFailed) {
		return inner{}, ErrCorrupt
	}
	if err != nil {
		return inner{}, fmt.Errorf("opening with the master key: %w", err)
	}
	in, err := parseInner(pt)
	if err != nil {
		return inner{}, fmt.Errorf("%w (%v)", ErrCorrupt, err)
	}
	return in, nil
}

// opened is a user's active key opened with a password. The caller wipes it.
type opened struct {
	row store.VaultKey
	pub *rsa.PublicKey
	// pkcs8 is the private key; kek the key-encryption key derived from
	// the password; kdf the parameters it was derived with.
	pkcs8, kek []byte
	kdf        KDFParams
}

func (o *opened) wipe() {
	clear(o.pkcs8)
	clear(o.kek)
}

// openActive reads the user's active key and opens it with password: one
// Argon2id derivation. ErrWrongPassword (also for a password no key can
// have been made with), ErrNoKey or ErrCorrupt.
func (v *Vault) openActive(ctx context.Context, userID int64, password string) (*opened, error) {
	if password == "" || len(password) > MaxPasswordBytes {
		return nil, ErrWrongPassword
	}
	row, err := v.active(ctx, userID)
	if err != nil {
		return nil, err
	}
	pub, err := parsePublic(row.PublicKey)
	if err != nil {
		return nil, err
	}
	in, err := v.openOuter(row)
	if err != nil {
		return nil, err
	}
	pw := []byte(password)
	defer clear(pw)
	kek, err := v.derive(ctx, pw, in.salt, in.kdf)
	if err != nil {
		return nil, err
	}
	pkcs8, ok := openInner(in, kek, bindingOf(row))
	if !ok {
		clear(kek)
		return nil, ErrWrongPassword
	}
	return &opened{row: row, pub: pub, pkcs8: pkcs8, kek: kek, kdf: in.kdf}, nil
}

// active reads the user's active key record.
func (v *Vault) active(ctx context.Context, userID int64) (store.VaultKey, error) {
	row, err := v.store.ActiveVaultKey(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return store.VaultKey{}, ErrNoKey
	}
	return row, err
}

// parsePublic reads a stored public key, which must be RSA of KeyBits.
func parsePublic(spki []byte) (*rsa.PublicKey, error) {
	k, err := x509.ParsePKIXPublicKey(spki)
	if err != nil {
		return nil, fmt.Errorf("%w (stored public key: %v)", ErrCorrupt, err)
	}
	pub, ok := k.(*rsa.PublicKey)
	if !ok || pub.N.BitLen() != KeyBits {
		return nil, fmt.Errorf("%w (stored public key is not RSA-%d)", ErrCorrupt, KeyBits)
	}
	return pub, nil
}

// privateKey parses an unwrapped key and checks it is the private half of pub.
func privateKey(pkcs8 []byte, pub *rsa.PublicKey) (*rsa.PrivateKey, error) {
	k, err := x509.ParsePKCS8PrivateKey(pkcs8)
	if err != nil {
		return nil, fmt.Errorf("%w (unwrapped key does not parse)", ErrCorrupt)
	}
	priv, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w (unwrapped key is not RSA)", ErrCorrupt)
	}
	if !priv.PublicKey.Equal(pub) {
		wipe(priv)
		return nil, fmt.Errorf("%w (unwrapped key does not match the stored public key)", ErrCorrupt)
	}
	return priv, nil
}

// wipe overwrites the private numbers of k that this package can reach.
// crypto/rsa's own precomputed copies are out of reach (see the package
// documentation), so this is best effort.
func wipe(k *rsa.PrivateKey) {
	if k == nil {
		return
	}
	for _, n := range append([]*big.Int{k.D, k.Precomputed.Dp, k.Precomputed.Dq, k.Precomputed.Qinv}, k.Primes...) {
		if n != nil {
			clear(n.Bits())
		}
	}
}

func checkUser(userID int64) error {
	if userID < 1 {
		return fmt.Errorf("user id %d: must be at least 1", userID)
	}
	return nil
}

func checkNewPassword(pw string) error {
	if pw == "" || len(pw) > MaxPasswordBytes {
		return ErrInvalidPassword
	}
	return nil
}

func checkDigest(digest []byte, hash crypto.Hash) error {
	switch hash {
	case crypto.SHA256, crypto.SHA384, crypto.SHA512:
	default:
		return ErrInvalidDigest
	}
	if len(digest) != hash.Size() {
		return fmt.Errorf("%w (%d bytes for %v, want %d)", ErrInvalidDigest, len(digest), hash, hash.Size())
	}
	return nil
}
