package keys

import (
	"context"
	"crypto"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/ThalesGroup/crypto11"
)

// PKCS11Config selects a PKCS#11 token. Its String, GoString and LogValue
// methods hide the PIN, so printing or logging the value is safe.
type PKCS11Config struct {
	// Module is the absolute path of the vendor's PKCS#11 library, e.g.
	// /usr/lib/softhsm/libsofthsm2.so.
	Module string
	// TokenLabel is the label of the token (CKA_LABEL of the token, as
	// shown by `softhsm2-util --show-slots` or `pkcs11-tool -L`).
	TokenLabel string
	// PIN is the user PIN. It never appears in errors, logs or Describe.
	PIN string
}

// Validate checks that every field is set and plausible, with messages that
// say which setting to fix. It does not touch the file system or the token.
func (c PKCS11Config) Validate() error {
	var errs []error
	switch {
	case c.Module == "":
		errs = append(errs, errors.New("PKCS#11 module path is empty: give the path of the token's PKCS#11 library (.so), e.g. /usr/lib/softhsm/libsofthsm2.so"))
	case !filepath.IsAbs(c.Module):
		errs = append(errs, fmt.Errorf("PKCS#11 module path %q is not absolute: give the full path of the library so the loader does not search for it", c.Module))
	}
	if c.TokenLabel == "" {
		errs = append(errs, errors.New("PKCS#11 token label is empty: give the label the token was initialised with (pkcs11-tool -L lists them)"))
	} else if len(c.TokenLabel) > 32 {
		errs = append(errs, fmt.Errorf("PKCS#11 token label %q is longer than the 32 characters PKCS#11 allows", c.TokenLabel))
	}
	if c.PIN == "" {
		errs = append(errs, errors.New("PKCS#11 user PIN is empty: the token must be logged in to use private keys"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("keys: invalid PKCS#11 configuration: %w", err)
	}
	return nil
}

// String describes the configuration with the PIN hidden.
func (c PKCS11Config) String() string {
	pin := "(empty)"
	if c.PIN != "" {
		pin = "[redacted]"
	}
	return fmt.Sprintf("PKCS11Config{Module: %q, TokenLabel: %q, PIN: %s}", c.Module, c.TokenLabel, pin)
}

// GoString is String, so that %#v does not print the PIN either.
func (c PKCS11Config) GoString() string { return c.String() }

// LogValue keeps the PIN out of slog output.
func (c PKCS11Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("module", c.Module),
		slog.String("token_label", c.TokenLabel),
		slog.Bool("pin_set", c.PIN != ""),
	)
}

// PKCS11Backend keeps authority keys in a PKCS#11 token. Private keys are
// generated inside the token as sensitive and non-extractable and are used
// only for signing. It is safe for concurrent use.
//
// References have the form
//
//	pkcs11:label=<label>;id=<CKA_ID in lower-case hex>
//
// This is our own notation (it only borrows the prefix of RFC 7512 URIs).
// Signer requires label and, when id is present, the object must carry that
// CKA_ID as well, so a key deleted and re-created under the same label is not
// silently accepted for an old reference. "pkcs11:label=<label>" alone is
// also accepted (for keys made by other tools).
type PKCS11Backend struct {
	cfg PKCS11Config
	p11 *crypto11.Context

	// genMu makes "check the label is free, then create" atomic within this
	// process. PKCS#11 has no create-if-absent; across processes a check
	// after creation catches most races (see Generate).
	genMu     sync.Mutex
	closeOnce sync.Once
}

var _ Backend = (*PKCS11Backend)(nil)

// pkcs11RefPrefix starts every reference made by PKCS11Backend.
const pkcs11RefPrefix = "pkcs11:"

// ckaIDLen is the length of the random CKA_ID given to each new object.
const ckaIDLen = 16

// NewPKCS11Backend loads the module, finds the token and logs in. Close it
// when done; it holds a session open.
//
// crypto11 shares one module instance per library path in the process, and
// PKCS#11 login state is per token and process: while another back-end for
// the same token is open, a second one is already logged in whatever PIN it
// was given.
func NewPKCS11Backend(cfg PKCS11Config) (*PKCS11Backend, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	fi, err := os.Stat(cfg.Module)
	if err != nil {
		return nil, fmt.Errorf("keys: PKCS#11 module %s: %w (install the token's PKCS#11 library, or softhsm2 for a software token)", cfg.Module, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("keys: PKCS#11 module %s is not a regular file", cfg.Module)
	}
	p11, err := crypto11.Configure(&crypto11.Config{
		Path:       cfg.Module,
		TokenLabel: cfg.TokenLabel,
		Pin:        cfg.PIN,
		// crypto11 defaults to 16-byte GCM IVs; we use the standard 96 bits.
		GCMIVLength: gcmNonceSize,
	})
	if err != nil {
		hint := ""
		if strings.Contains(err.Error(), "could not find PKCS#11 token") {
			hint = fmt.Sprintf(" (no initialised token with that label; `pkcs11-tool --module %s -L` lists the tokens)", cfg.Module)
		}
		return nil, redactPIN(cfg.PIN, fmt.Errorf("keys: opening PKCS#11 token %q with module %s: %v%s", cfg.TokenLabel, cfg.Module, err, hint))
	}
	return &PKCS11Backend{cfg: cfg, p11: p11}, nil
}

// Describe names the module and token. It never includes the PIN.
func (b *PKCS11Backend) Describe() string {
	return fmt.Sprintf("pkcs11: token %q via module %s (keys are non-extractable)", b.cfg.TokenLabel, b.cfg.Module)
}

// Close logs out and releases the module (once the last back-end using it
// closes). Signers and master keys from b stop working. Close is idempotent.
func (b *PKCS11Backend) Close() error {
	var err error
	b.closeOnce.Do(func() { err = b.p11.Close() })
	return err
}

// Generate creates an RSA key pair in the token with a fresh random CKA_ID
// and CKA_LABEL = label. The private key is sensitive, never extractable,
// and may only sign (no decrypt), as a CA key should. It refuses with
// ErrKeyExists when any private or secret key in the token already has that
// label.
func (b *PKCS11Backend) Generate(ctx context.Context, label string, bits int) (string, crypto.Signer, error) {
	if err := ValidateLabel(label); err != nil {
		return "", nil, err
	}
	if err := validateBits(bits); err != nil {
		return "", nil, err
	}
	if err := ctx.Err(); err != nil {
		return "", nil, err
	}
	b.genMu.Lock()
	defer b.genMu.Unlock()
	if err := b.requireLabelFree(label); err != nil {
		return "", nil, err
	}
	id, err := newCKAID()
	if err != nil {
		return "", nil, err
	}
	pub, err := crypto11.NewAttributeSetWithIDAndLabel(id, []byte(label))
	if err != nil {
		return "", nil, err
	}
	priv := pub.Copy()
	// Explicit rather than relying on crypto11's defaults, and narrower: a
	// CA key signs and does nothing else.
	for _, a := range []struct {
		set crypto11.AttributeSet
		typ crypto11.AttributeType
		val bool
	}{
		{pub, crypto11.CkaPrivate, false},
		{pub, crypto11.CkaVerify, true},
		{pub, crypto11.CkaEncrypt, false},
		{priv, crypto11.CkaPrivate, true},
		{priv, crypto11.CkaSensitive, true},
		{priv, crypto11.CkaExtractable, false},
		{priv, crypto11.CkaSign, true},
		{priv, crypto11.CkaDecrypt, false},
		{priv, crypto11.CkaUnwrap, false},
	} {
		if err := a.set.Set(a.typ, a.val); err != nil {
			return "", nil, err
		}
	}
	signer, err := b.p11.GenerateRSAKeyPairWithAttributes(pub, priv, bits)
	if err != nil {
		return "", nil, b.wrap("generating RSA-%d key %q", err, bits, label)
	}
	// Another process may have created the same label between our check and
	// our generation; if so, withdraw ours rather than leave two.
	if n, err := b.labelCount(label); err != nil || n != 1 {
		_ = signer.Delete()
		if err != nil {
			return "", nil, err
		}
		return "", nil, fmt.Errorf("%w: PKCS#11 label %q (created concurrently)", ErrKeyExists, label)
	}
	return formatPKCS11Ref(label, id), signer, nil
}

// Signer finds the key pair for a reference made by Generate.
func (b *PKCS11Backend) Signer(ctx context.Context, ref string) (crypto.Signer, error) {
	label, id, err := parsePKCS11Ref(ref)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	pairs, err := b.p11.FindKeyPairs(id, []byte(label))
	if err != nil {
		return nil, b.wrap("finding key %q", err, label)
	}
	switch len(pairs) {
	case 0:
		return nil, fmt.Errorf("%w: %s in PKCS#11 token %q", ErrKeyNotFound, ref, b.cfg.TokenLabel)
	case 1:
		return pairs[0], nil
	}
	return nil, fmt.Errorf("keys: %d key pairs in PKCS#11 token %q match %s; refusing to guess", len(pairs), b.cfg.TokenLabel, ref)
}

// requireLabelFree refuses a label that any private or secret key in the
// token carries: labels are the operator's names for keys and must be
// unambiguous across both kinds.
func (b *PKCS11Backend) requireLabelFree(label string) error {
	n, err := b.labelCount(label)
	if err != nil {
		return err
	}
	if n != 0 {
		return fmt.Errorf("%w: PKCS#11 label %q in token %q", ErrKeyExists, label, b.cfg.TokenLabel)
	}
	return nil
}

// labelCount counts private and secret keys with CKA_LABEL = label.
func (b *PKCS11Backend) labelCount(label string) (int, error) {
	privs, err := b.p11.FindPrivateKeys(nil, []byte(label))
	if err != nil {
		return 0, b.wrap("looking up label %q", err, label)
	}
	secrets, err := b.p11.FindKeys(nil, []byte(label))
	if err != nil {
		return 0, b.wrap("looking up label %q", err, label)
	}
	return len(privs) + len(secrets), nil
}

// wrap turns a crypto11 error into ours with the PIN removed from the text.
// The chain is cut on purpose: crypto11's errors carry no types worth
// matching, and the text is all we pass on.
func (b *PKCS11Backend) wrap(format string, err error, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	return redactPIN(b.cfg.PIN, fmt.Errorf("keys: PKCS#11 token %q: %s: %v", b.cfg.TokenLabel, msg, err))
}

// redactPIN returns err with every occurrence of pin in its text replaced.
// No PKCS#11 library we know of echoes the PIN, but a vendor's error string
// is outside our control, so this is the last line of defence.
func redactPIN(pin string, err error) error {
	if err == nil || pin == "" || !strings.Contains(err.Error(), pin) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), pin, "[redacted]"))
}

func newCKAID() ([]byte, error) {
	id := make([]byte, ckaIDLen)
	if _, err := rand.Read(id); err != nil {
		return nil, fmt.Errorf("keys: reading random CKA_ID: %w", err)
	}
	return id, nil
}

func formatPKCS11Ref(label string, id []byte) string {
	return pkcs11RefPrefix + "label=" + label + ";id=" + hex.EncodeToString(id)
}

// parsePKCS11Ref parses "pkcs11:label=<label>[;id=<hex>]".
func parsePKCS11Ref(ref string) (label string, id []byte, err error) {
	rest, ok := strings.CutPrefix(ref, pkcs11RefPrefix)
	if !ok {
		return "", nil, fmt.Errorf("%w: %q does not start with %q", ErrInvalidRef, ref, pkcs11RefPrefix)
	}
	seen := map[string]bool{}
	for part := range strings.SplitSeq(rest, ";") {
		k, v, ok := strings.Cut(part, "=")
		if !ok || seen[k] {
			return "", nil, fmt.Errorf("%w: %q", ErrInvalidRef, ref)
		}
		seen[k] = true
		switch k {
		case "label":
			if err := ValidateLabel(v); err != nil {
				return "", nil, fmt.Errorf("%w: %w", ErrInvalidRef, err)
			}
			label = v
		case "id":
			id, err = hex.DecodeString(v)
			if err != nil || len(id) == 0 || len(id) > 64 {
				return "", nil, fmt.Errorf("%w: bad id in %q", ErrInvalidRef, ref)
			}
		default:
			return "", nil, fmt.Errorf("%w: unknown attribute %q in %q", ErrInvalidRef, k, ref)
		}
	}
	if label == "" {
		return "", nil, fmt.Errorf("%w: %q has no label", ErrInvalidRef, ref)
	}
	return label, id, nil
}
