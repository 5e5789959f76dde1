package store

// Service-provider agreements, the CPR numbers behind OCES identities, and
// the log of answered PID/RID-CPR queries that systematic searching is
// detected from.

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nemid-dk/nemid/oces"
)

// MaxServiceProviderName is the longest name, in characters, a service
// provider may have. It is shown in the client's GUI and in the code app's
// "Log på hos ##SPNAME##", so it must stay short.
const MaxServiceProviderName = 100

// ValidateServiceProviderName checks a service provider's friendly name:
// 1 to MaxServiceProviderName printable characters (valid UTF-8, no control
// or format characters, no space but U+0020), without surrounding spaces,
// and not digits only (such a name would be read as an SPID by the tools
// that take "ID or name").
func ValidateServiceProviderName(name string) error {
	switch {
	case name == "":
		return errors.New("name is empty")
	case !utf8.ValidString(name):
		return errors.New("name is not valid UTF-8")
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("name %q has surrounding spaces", name)
	case utf8.RuneCountInString(name) > MaxServiceProviderName:
		return fmt.Errorf("name is %d characters long: at most %d are allowed", utf8.RuneCountInString(name), MaxServiceProviderName)
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("name %q contains the unprintable character %U", name, r)
		}
	}
	if strings.Trim(name, "0123456789") == "" {
		return fmt.Errorf("name %q is digits only: it would be taken for an SPID", name)
	}
	return nil
}

// foldName is the key names are unique by: every character replaced by the
// smallest member of its Unicode simple case-folding orbit, so that two
// names have one key exactly when strings.EqualFold holds ("Ø" and "ø",
// "K" and the Kelvin sign). Computed here, not in SQL, because SQLite's
// lower() knows only ASCII and PostgreSQL's depends on the locale.
func foldName(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		b.WriteRune(least)
	}
	return b.String()
}

// newServiceProvider checks a registration and fills in what the store
// derives: the certificate hash and the creation time.
func newServiceProvider(sp ServiceProvider) (ServiceProvider, error) {
	if sp.ID != 0 {
		return sp, fmt.Errorf("ID %d given: the SPID is assigned at registration", sp.ID)
	}
	if sp.Disabled || !sp.DisabledAt.IsZero() {
		return sp, errors.New("a new service provider cannot be disabled")
	}
	if err := ValidateServiceProviderName(sp.Name); err != nil {
		return sp, err
	}
	if len(sp.Origins) == 0 {
		return sp, errors.New("no origin: a service provider needs at least one")
	}
	seen := map[string]bool{}
	for _, o := range sp.Origins {
		switch {
		case o == "":
			return sp, errors.New("an origin is empty")
		case seen[o]:
			return sp, fmt.Errorf("origin %q is given twice", o)
		}
		seen[o] = true
	}
	if len(sp.CertDER) == 0 {
		return sp, errors.New("no certificate")
	}
	sum := sha256.Sum256(sp.CertDER)
	hash := hex.EncodeToString(sum[:])
	if sp.CertSHA256 != "" && sp.CertSHA256 != hash {
		return sp, fmt.Errorf("CertSHA256 %q is not the certificate's SHA-256 (%s)", sp.CertSHA256, hash)
	}
	sp.CertSHA256 = hash
	if sp.AllowCPRLookup && !sp.AllowCPRMatch {
		return sp, errors.New("CPR look-up is allowed only together with CPR match")
	}
	if sp.CreatedAt.IsZero() {
		sp.CreatedAt = time.Now()
	}
	return sp, nil
}

func (s *sqlStore) RegisterServiceProvider(ctx context.Context, sp ServiceProvider) (ServiceProvider, error) {
	sp, err := newServiceProvider(sp)
	if err != nil {
		return ServiceProvider{}, fmt.Errorf("store: register service provider %q: %w", sp.Name, err)
	}
	origins, err := json.Marshal(sp.Origins)
	if err != nil {
		return ServiceProvider{}, fmt.Errorf("store: register service provider %q: %w", sp.Name, err)
	}
	var out ServiceProvider
	err = retry(ctx, s.d, func() error {
		var err error
		out, err = scanServiceProvider(s.w.QueryRowContext(ctx, s.q.registerSP,
			sp.Name, foldName(sp.Name), string(origins), sp.CertDER, sp.CertSHA256, sp.Subject,
			sp.AllowCPRMatch, sp.AllowCPRLookup, micros(sp.CreatedAt)))
		return err
	})
	if s.d.isUnique(err) {
		return ServiceProvider{}, fmt.Errorf("store: register service provider %q: %s: %w", sp.Name, s.whichDuplicate(ctx, sp), ErrDuplicate)
	}
	if err != nil {
		return ServiceProvider{}, fmt.Errorf("store: register service provider %q: %w", sp.Name, err)
	}
	return out, nil
}

// whichDuplicate says which registration a refused one collided with, for
// the error message.
func (s *sqlStore) whichDuplicate(ctx context.Context, sp ServiceProvider) string {
	if other, err := s.ServiceProviderByName(ctx, sp.Name); err == nil {
		return fmt.Sprintf("the name is taken by service provider %d (%q)", other.ID, other.Name)
	}
	if other, err := s.ServiceProviderByCertificate(ctx, sp.CertSHA256); err == nil {
		return fmt.Sprintf("the certificate is registered to service provider %d (%q)", other.ID, other.Name)
	}
	return "the name or the certificate is registered already"
}

func (s *sqlStore) ServiceProvider(ctx context.Context, id int64) (ServiceProvider, error) {
	sp, err := scanServiceProvider(s.r.QueryRowContext(ctx, s.q.spByID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return ServiceProvider{}, fmt.Errorf("store: service provider %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return ServiceProvider{}, fmt.Errorf("store: service provider %d: %w", id, err)
	}
	return sp, nil
}

func (s *sqlStore) ServiceProviderByName(ctx context.Context, name string) (ServiceProvider, error) {
	sp, err := scanServiceProvider(s.r.QueryRowContext(ctx, s.q.spByNameKey, foldName(name)))
	if errors.Is(err, sql.ErrNoRows) {
		return ServiceProvider{}, fmt.Errorf("store: service provider %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return ServiceProvider{}, fmt.Errorf("store: service provider %q: %w", name, err)
	}
	return sp, nil
}

func (s *sqlStore) ServiceProviderByCertificate(ctx context.Context, certSHA256 string) (ServiceProvider, error) {
	sp, err := scanServiceProvider(s.r.QueryRowContext(ctx, s.q.spByCert, strings.ToLower(certSHA256)))
	if errors.Is(err, sql.ErrNoRows) {
		return ServiceProvider{}, fmt.Errorf("store: service provider with certificate %s: %w", certSHA256, ErrNotFound)
	}
	if err != nil {
		return ServiceProvider{}, fmt.Errorf("store: service provider with certificate %s: %w", certSHA256, err)
	}
	return sp, nil
}

func (s *sqlStore) ServiceProviders(ctx context.Context) ([]ServiceProvider, error) {
	rows, err := s.r.QueryContext(ctx, s.q.sps)
	if err != nil {
		return nil, fmt.Errorf("store: service providers: %w", err)
	}
	defer rows.Close()
	var out []ServiceProvider
	for rows.Next() {
		sp, err := scanServiceProvider(rows)
		if err != nil {
			return nil, fmt.Errorf("store: service providers: %w", err)
		}
		out = append(out, sp)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: service providers: %w", err)
	}
	return out, nil
}

func (s *sqlStore) DisableServiceProvider(ctx context.Context, id int64, at time.Time) (ServiceProvider, error) {
	if at.IsZero() {
		return ServiceProvider{}, fmt.Errorf("store: disable service provider %d: no time given", id)
	}
	var sp ServiceProvider
	// The condition on disabled_at makes a second disabling change nothing,
	// atomically: the first time stays.
	err := retry(ctx, s.d, func() error {
		var err error
		sp, err = scanServiceProvider(s.w.QueryRowContext(ctx, s.q.disableSP, micros(at), id))
		return err
	})
	if err == nil {
		return sp, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return ServiceProvider{}, fmt.Errorf("store: disable service provider %d: %w", id, err)
	}
	// Nothing changed: the SPID is unknown, or the agreement was disabled
	// already (there is no enabling again, nor deleting, so a row found
	// now was disabled when the update ran).
	sp, err = s.ServiceProvider(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return ServiceProvider{}, fmt.Errorf("store: disable service provider %d: %w", id, ErrNotFound)
	}
	return sp, err
}

func scanServiceProvider(sc scanner) (ServiceProvider, error) {
	var (
		sp       ServiceProvider
		origins  string
		created  int64
		disabled sql.NullInt64
	)
	err := sc.Scan(&sp.ID, &sp.Name, &origins, &sp.CertDER, &sp.CertSHA256, &sp.Subject,
		&sp.AllowCPRMatch, &sp.AllowCPRLookup, &created, &disabled)
	if err != nil {
		return ServiceProvider{}, err
	}
	if err := json.Unmarshal([]byte(origins), &sp.Origins); err != nil {
		return ServiceProvider{}, fmt.Errorf("service provider %d: stored origins: %w", sp.ID, err)
	}
	sp.CreatedAt = fromMicros(created)
	if disabled.Valid {
		sp.Disabled, sp.DisabledAt = true, fromMicros(disabled.Int64)
	}
	return sp, nil
}

// validCPRLink checks a link: an identity that can have a CPR number (a
// person's PID or an employee's RID, in the subject serialNumber form) and
// a CPR number as 10 digits. Errors never show the CPR number: it is
// personal data.
func validCPRLink(l CPRLink) error {
	id, err := oces.ParseSerialNumber(l.Identity)
	if err != nil {
		return fmt.Errorf("identity %q: want PID:… or CVR:nnnnnnnn-RID:…", l.Identity)
	}
	if id.Type != oces.POCES && id.Type != oces.MOCES {
		return fmt.Errorf("identity %q: only a PID or a RID belongs to a person with a CPR number", l.Identity)
	}
	if len(l.CPR) != 10 {
		return errors.New("CPR number: want 10 digits without a dash")
	}
	if err := oces.ValidateCPR(l.CPR); err != nil {
		return err
	}
	return nil
}

func (s *sqlStore) LinkCPR(ctx context.Context, l CPRLink) error {
	if err := validCPRLink(l); err != nil {
		return fmt.Errorf("store: link CPR number to %s: %w", l.Identity, err)
	}
	if l.CreatedAt.IsZero() {
		l.CreatedAt = time.Now()
	}
	var n int64
	// ON CONFLICT DO NOTHING: the first link of an identity stays, and the
	// insert and the check are one atomic step for concurrent linkers.
	err := retry(ctx, s.d, func() error {
		var err error
		n, err = s.linkCPR(ctx, s.w, l)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: link CPR number to %s: %w", l.Identity, err)
	}
	if n == 1 {
		return nil
	}
	// Links are never changed or removed, so the one found is the one that won.
	have, err := s.CPRLink(ctx, l.Identity)
	if err != nil {
		return fmt.Errorf("store: link CPR number to %s: %w", l.Identity, err)
	}
	if have.CPR != l.CPR {
		return fmt.Errorf("store: link CPR number to %s: it is linked to a different CPR number: %w", l.Identity, ErrConflict)
	}
	return nil
}

// linkCPR inserts a checked link (validCPRLink) unless its identity is
// linked already, on a database or in a transaction, and says how many
// rows it inserted (0 or 1).
func (s *sqlStore) linkCPR(ctx context.Context, ex execer, l CPRLink) (int64, error) {
	res, err := ex.ExecContext(ctx, s.q.linkCPR, l.Identity, l.CPR, micros(l.CreatedAt))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (s *sqlStore) CPRLink(ctx context.Context, identity string) (CPRLink, error) {
	var (
		l       CPRLink
		created int64
	)
	err := s.r.QueryRowContext(ctx, s.q.cprLink, identity).Scan(&l.Identity, &l.CPR, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return CPRLink{}, fmt.Errorf("store: CPR link of %s: %w", identity, ErrNotFound)
	}
	if err != nil {
		return CPRLink{}, fmt.Errorf("store: CPR link of %s: %w", identity, err)
	}
	l.CreatedAt = fromMicros(created)
	return l, nil
}

func (s *sqlStore) RecordCPRQuery(ctx context.Context, q CPRQuery) error {
	switch {
	case q.SP < 1:
		return fmt.Errorf("store: record CPR query: SPID %d: must be at least 1", q.SP)
	case q.Identity == "":
		return errors.New("store: record CPR query: no identity")
	case q.At.IsZero():
		return errors.New("store: record CPR query: no time")
	}
	err := retry(ctx, s.d, func() error {
		_, err := s.w.ExecContext(ctx, s.q.recordCPRQuery, q.SP, q.Identity, q.Failed, micros(q.At))
		return err
	})
	if s.d.isForeignKey(err) {
		return fmt.Errorf("store: record CPR query: service provider %d: %w", q.SP, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("store: record CPR query of service provider %d: %w", q.SP, err)
	}
	return nil
}

func (s *sqlStore) CPRQueryCounts(ctx context.Context, sp int64, identity string, since time.Time) (failedForIdentity, failedInAll int, err error) {
	// One statement, so both counts come from one snapshot.
	err = s.r.QueryRowContext(ctx, s.q.cprQueryCounts, sp, identity, micros(since), sp, micros(since)).
		Scan(&failedForIdentity, &failedInAll)
	if err != nil {
		return 0, 0, fmt.Errorf("store: CPR query counts of service provider %d: %w", sp, err)
	}
	return failedForIdentity, failedInAll, nil
}
