package main

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nemid-dk/nemid/internal/audit"
	"github.com/nemid-dk/nemid/internal/ca"
	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/oces"
)

var caCommands = commandGroup{
	name: "ca",
	subcommands: []command{
		{"issue", "issue an OCES certificate (poces, moces, voces, foces)", runIssue},
		{"revoke", "revoke a certificate (final; there is no hold)", runRevoke},
		{"list", "list issued certificates", runList},
		{"export", "write the root, issuing CA and OCSP responder certificates as PEM", runExport},
	},
}

// openAuthority opens the store, the key back-end and the CA. close releases all three.
func (c *common) openAuthority(ctx context.Context) (a *ca.Authority, closeAll func(), err error) {
	st, err := c.openExistingStore(ctx)
	if err != nil {
		return nil, nil, err
	}
	a, kb, err := c.loadAuthority(ctx, st)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return a, func() { kb.Close(); st.Close() }, nil
}

// loadAuthority opens the key back-end and the CA over an open store, for
// commands that also use the store themselves (to write the audit log) or
// the master key. Closing kb releases the keys; the store stays the caller's.
func (c *common) loadAuthority(ctx context.Context, st store.Store) (a *ca.Authority, kb *keyring, err error) {
	kb, err = c.keyBackend(false)
	if err != nil {
		return nil, nil, err
	}
	a, err = ca.Open(ctx, st, kb, clock.Real{})
	if err != nil {
		kb.Close()
		return nil, nil, err
	}
	return a, kb, nil
}

// openExistingStore opens the store of an initialised installation.
// Opening SQLite creates the data directory and an empty database: a
// command that only reads must not leave them behind (for example after a
// typo in --data).
func (c *common) openExistingStore(ctx context.Context) (store.Store, error) {
	if c.database == "" {
		if _, err := os.Stat(filepath.Join(c.data, store.DefaultFile)); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w (data directory %s)", ca.ErrNotInitialised, c.data)
		}
	}
	st, err := c.openStore(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := st.Installation(ctx); errors.Is(err, store.ErrNotFound) {
		st.Close()
		return nil, fmt.Errorf("%w (data directory %s)", ca.ErrNotInitialised, c.data)
	}
	return st, nil
}

func runIssue(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlagSet("nemid ca issue --profile poces|moces|voces|foces --name NAME [--cvr N] [--org NAME] [--csr FILE] [--key-out FILE] --cert-out FILE", `
Issues one OCES certificate from the issuing CA. With --csr the key is the
CSR's (its signature must verify); without it a new RSA-2048 key is made and
written to --key-out (PEM, mode 0600) before anything is issued. The subject
comes from the flags, never from the CSR. Existing files are never overwritten.`)
	var c common
	c.register(fs)
	profile := fs.String("profile", "", "poces (person), moces (employee), voces (organisation) or foces (IT system)")
	name := fs.String("name", "", "the certificate holder's name (CN)")
	cvr := fs.String("cvr", "", "CVR number, 8 digits (moces, voces, foces)")
	org := fs.String("org", "", "company name (moces, voces, foces)")
	ou := fs.String("ou", "", "organisational unit (moces, optional)")
	email := fs.String("email", "", "e-mail address for the subject alternative name (optional)")
	id := fs.String("id", "", "existing PID/RID/UID/FID to certify (default: a new random one)")
	pseudonym := fs.Bool("pseudonym", false, "poces: a pseudonym certificate (CN=Pseudonym)")
	youth := fs.Bool("youth", false, "poces: a youth certificate (holder aged 15 to 18)")
	csrFile := fs.String("csr", "", "PEM or DER certificate signing request")
	keyOut := fs.String("key-out", "", "where to write the new private key (PEM) when no --csr is given")
	certOut := fs.String("cert-out", "", "where to write the certificate (PEM)")
	if err := parse(fs, args); err != nil {
		return err
	}
	typ, err := oces.ParseType(*profile)
	if err != nil {
		return err
	}
	req := ca.IssueRequest{Subject: oces.Request{
		Type: typ, Name: *name, CVR: *cvr, Organization: *org, OrganizationalUnit: *ou,
		Email: *email, ID: *id, Pseudonym: *pseudonym, Youth: *youth,
	}}
	if *certOut == "" {
		return errors.New("--cert-out is required")
	}
	if err := mustNotExist(*certOut); err != nil {
		return err
	}
	// A certificate is written only after it is issued and stored: find a
	// missing directory now, not after issuing a certificate nobody gets.
	if err := mustBeDir(filepath.Dir(*certOut)); err != nil {
		return fmt.Errorf("--cert-out %s: %w", *certOut, err)
	}
	switch {
	case *csrFile != "" && *keyOut != "":
		return errors.New("--key-out makes no sense with --csr: the key stays with whoever made the CSR")
	case *csrFile != "":
		if req.CSR, err = readPEMOrDER(*csrFile, "CERTIFICATE REQUEST"); err != nil {
			return err
		}
	case *keyOut == "":
		return errors.New("give --csr FILE, or --key-out FILE for a new key")
	default:
		if err := mustNotExist(*keyOut); err != nil {
			return err
		}
	}
	// Check the subject before a key is made or anything is written.
	if req.Subject.ID == "" {
		probe := req.Subject
		probe.ID = placeholderID(typ)
		if err := probe.Validate(); err != nil {
			return err
		}
	} else if err := req.Subject.Validate(); err != nil {
		return err
	}

	st, err := c.openExistingStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	a, kb, err := c.loadAuthority(ctx, st)
	if err != nil {
		return err
	}
	defer kb.Close()
	if req.CSR == nil {
		if req.PublicKey, err = writeNewKey(*keyOut); err != nil {
			return err
		}
	}
	issued, err := a.Issue(ctx, req)
	if err != nil {
		return err
	}
	ident, identErr := oces.ParseCertificate(issued.Certificate)
	detail := map[string]string{"profile": string(typ)}
	if identErr == nil {
		detail["identity"] = ident.SerialNumber
	}
	auditErr := recordAudit(ctx, st, audit.Entry{Actor: audit.Operator, Action: audit.CertificateIssued,
		Subject: audit.Certificate(issued.Record.Serial), Outcome: audit.Success, Detail: detail})
	if err := writeNewFile(*certOut, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: issued.Certificate.Raw}), 0o644); err != nil {
		return errors.Join(fmt.Errorf("certificate %s was issued and stored, but writing it failed: %w", issued.Record.Serial, err), auditErr)
	}
	if identErr != nil {
		return errors.Join(identErr, auditErr)
	}
	fmt.Fprintf(out, "Issued %s certificate\n  serial     %s\n  subject    %s\n  identity   %s\n  valid      %s to %s\n  partition  CRL%d\n  written to %s\n",
		strings.ToUpper(string(typ)), issued.Record.Serial, issued.Record.Subject, ident.SerialNumber,
		issued.Certificate.NotBefore.Format(time.DateOnly), issued.Certificate.NotAfter.Format(time.DateOnly),
		issued.Record.Partition, *certOut)
	return auditErr
}

// placeholderID is a well-formed identifier used only to validate a request
// before the real one is drawn.
func placeholderID(t oces.Type) string {
	if t == oces.POCES {
		return "9208-2002-2-000000000000"
	}
	return "10000000"
}

func runRevoke(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlagSet("nemid ca revoke --serial HEX --reason REASON", `
Revokes a certificate. The revocation is stored durably before this command
returns and cannot be undone. Reasons (RFC 5280): `+strings.Join(ca.ReasonNames(), ", ")+`.`)
	var c common
	c.register(fs)
	serial := fs.String("serial", "", "certificate serial number (hex, as `nemid ca list` or openssl prints it)")
	reason := fs.String("reason", "", "revocation reason")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *serial == "" || *reason == "" {
		return errors.New("--serial and --reason are required")
	}
	s, err := ca.ParseSerial(*serial)
	if err != nil {
		return err
	}
	r, err := ca.ParseReason(*reason)
	if err != nil {
		return err
	}
	st, err := c.openExistingStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	a, kb, err := c.loadAuthority(ctx, st)
	if err != nil {
		return err
	}
	defer kb.Close()
	rec, err := a.Revoke(ctx, s, r)
	if err != nil {
		return err
	}
	auditErr := recordAudit(ctx, st, audit.Entry{Actor: audit.Operator, Action: audit.CertificateRevoked,
		Subject: audit.Certificate(rec.Serial), Outcome: audit.Success, Detail: map[string]string{"reason": r.String()}})
	fmt.Fprintf(out, "Revoked %s (%s) at %s\n  subject %s\n", rec.Serial, r, rec.RevokedAt.Format(time.RFC3339), rec.Subject)
	return auditErr
}

type listedCertificate struct {
	Serial    string     `json:"serial"`
	Issuer    string     `json:"issuer"`
	Profile   string     `json:"profile"`
	Subject   string     `json:"subject"`
	NotBefore time.Time  `json:"not_before"`
	NotAfter  time.Time  `json:"not_after"`
	Partition int        `json:"partition"`
	Status    string     `json:"status"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	Reason    string     `json:"reason,omitempty"`
}

func runList(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlagSet("nemid ca list [--revoked] [--json]", "Lists issued certificates, ordered by serial.")
	var c common
	c.register(fs)
	revoked := fs.Bool("revoked", false, "only revoked certificates")
	asJSON := fs.Bool("json", false, "print JSON (one array) for scripts")
	limit := fs.Int("limit", 0, "at most this many (0: all)")
	if err := parse(fs, args); err != nil {
		return err
	}
	a, closeAll, err := c.openAuthority(ctx)
	if err != nil {
		return err
	}
	defer closeAll()
	certs, err := a.List(ctx, store.ListFilter{RevokedOnly: *revoked, Limit: *limit})
	if err != nil {
		return err
	}
	rows := make([]listedCertificate, len(certs))
	for i, rc := range certs {
		rows[i] = listedCertificate{Serial: rc.Serial, Issuer: rc.Issuer, Profile: rc.Profile, Subject: rc.Subject,
			NotBefore: rc.NotBefore, NotAfter: rc.NotAfter, Partition: rc.Partition, Status: string(rc.Status)}
		if rc.Status == store.StatusRevoked {
			t := rc.RevokedAt
			rows[i].RevokedAt = &t
			rows[i].Reason = ca.Reason(rc.Reason).String()
		}
	}
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERIAL\tPROFILE\tSTATUS\tPARTITION\tNOT AFTER\tSUBJECT")
	for _, r := range rows {
		status := r.Status
		if r.Reason != "" {
			status += " (" + r.Reason + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", r.Serial, r.Profile, status, r.Partition, r.NotAfter.Format(time.DateOnly), r.Subject)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "%d certificate(s)\n", len(rows))
	return err
}

func runExport(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlagSet("nemid ca export --out DIR", "Writes root.pem, issuing.pem and ocsp.pem (the CA certificates, public) into DIR.")
	var c common
	c.register(fs)
	dir := fs.String("out", "", "directory to write into (created if missing)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("--out is required")
	}
	a, closeAll, err := c.openAuthority(ctx)
	if err != nil {
		return err
	}
	defer closeAll()
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	for name, cert := range map[string]*x509.Certificate{"root.pem": a.Root(), "issuing.pem": a.Issuing(), "ocsp.pem": a.OCSPResponder()} {
		path := filepath.Join(*dir, name)
		if err := replaceFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(out, "%s  %s\n", path, cert.Subject)
	}
	return nil
}

// readPEMOrDER reads a file holding one PEM block of the given type, or raw DER.
func readPEMOrDER(path, blockType string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if b, _ := pem.Decode(raw); b != nil {
		if b.Type != blockType && !(blockType == "CERTIFICATE REQUEST" && b.Type == "NEW CERTIFICATE REQUEST") {
			return nil, fmt.Errorf("%s: PEM block %q, want %q", path, b.Type, blockType)
		}
		return b.Bytes, nil
	}
	return raw, nil
}

func mustNotExist(path string) error {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("%s exists; refusing to overwrite it", path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

func mustBeDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	return nil
}

// writeNewFile creates path with data, failing if it exists. The data is on
// disk (fsynced) when it returns.
func writeNewFile(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeNewKey makes a new RSA-2048 key, writes it (PKCS #8, PEM) to a new
// file of mode 0600 and returns its public key. Call it before issuing a
// certificate for the key: the key is on disk before the certificate
// exists, so a crash can never leave a certificate whose key nobody has.
func writeNewKey(path string) (crypto.PublicKey, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := writeNewFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	return key.Public(), nil
}

// replaceFile writes path atomically (temp file and rename).
func replaceFile(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	os.Remove(tmp)
	if err := writeNewFile(tmp, data, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
