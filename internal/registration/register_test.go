package registration_test

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nemid-dk/nemid/internal/audit"
	"github.com/nemid-dk/nemid/internal/auth"
	"github.com/nemid-dk/nemid/internal/outbox"
	"github.com/nemid-dk/nemid/internal/registration"
	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/oces"
)

func TestRegister(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		r := e.register(t, "Anne.Andersen")

		// The certificate: valid under the root (openssl), a POCES with a
		// PID, the one the store has for the user, certifying the vault key.
		e.opensslVerify(t, r.Certificate)
		id, err := oces.ParseCertificate(r.Certificate)
		if err != nil {
			t.Fatal(err)
		}
		if id.Type != oces.POCES || id.PID == "" || id.PID != r.PID || id.CommonName != "Test Testesen" {
			t.Errorf("certificate identity %+v, want a POCES for Test Testesen with PID %s", id, r.PID)
		}
		u, err := e.svc.Auth().Resolve(ctx, r.User.NemID)
		if err != nil {
			t.Fatal(err)
		}
		if u.PID != r.PID || u.ID != r.User.ID || u.State != auth.StateAwaitingActivation {
			t.Errorf("stored user %+v, want PID %s, awaiting activation", u, r.PID)
		}
		if got := e.currentCertificate(t, "anne.andersen"); !got.Equal(r.Certificate) {
			t.Error("Certificate(alias) is not the certificate Register returned")
		}
		key, err := e.svc.Vault().ActiveKey(ctx, r.User.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !key.Public.Equal(r.Certificate.PublicKey) || key.Version != 1 || key.Public.N.BitLen() != 2048 {
			t.Errorf("vault key version %d (%d bits) is not the certificate's key", key.Version, key.Public.N.BitLen())
		}
		certs, err := e.svc.Certificates(ctx, r.User.NemID)
		if err != nil || len(certs) != 1 || certs[0].KeyVersion != 1 || certs[0].Certificate.Status != store.StatusGood {
			t.Fatalf("Certificates = %+v, %v; want one good certificate of key 1", certs, err)
		}
		link, err := e.st.CPRLink(ctx, "PID:"+r.PID)
		if err != nil || link.CPR != u.CPR {
			t.Errorf("the PID is not linked to the user's CPR number: %+v, %v", link, err)
		}

		// The vault signs with the temporary password (until activation) and
		// the signature verifies with the certificate's key.
		if !e.signs(t, r.User.ID, r.TemporaryPassword, r.Certificate) {
			t.Error("the vault does not sign with the temporary password")
		}
		if e.signs(t, r.User.ID, "000000", r.Certificate) && r.TemporaryPassword != "000000" {
			t.Error("the vault signs with a wrong password")
		}

		// The card: 148 keys, the store's current card.
		if len(r.Card.Keys) != auth.KeysPerCard {
			t.Errorf("card with %d keys", len(r.Card.Keys))
		}
		cards, err := e.svc.Auth().KeyCards(ctx, r.User.NemID)
		if err != nil || len(cards) != 1 || cards[0].Number != r.Card.Number || cards[0].Status != store.CardCurrent || cards[0].Remaining != auth.KeysPerCard {
			t.Errorf("KeyCards = %+v, %v", cards, err)
		}

		// The letters: in the outbox, readable, with their PDFs.
		checkLetters(t, e, r)

		// The audit log: the registration's three entries, and a chain that verifies.
		recs, err := e.svc.AuditLog().Records(ctx, 0, 10000)
		if err != nil {
			t.Fatal(err)
		}
		var actions []audit.Action
		for _, rec := range recs {
			actions = append(actions, rec.Action)
		}
		// (The vault's own signatures above are not logon signatures: they
		// are not audited; Sign, after a logon, is.)
		want := []audit.Action{audit.Registration, audit.CertificateIssued, audit.KeycardIssued}
		if strings.Join(toStrings(actions), ",") != strings.Join(toStrings(want), ",") {
			t.Errorf("audit actions %v, want %v", actions, want)
		}
		rep, err := e.svc.AuditLog().Verify(ctx)
		if err != nil || rep.Problem != nil {
			t.Errorf("audit verify: %+v, %v", rep, err)
		}
		noSecretsInAudit(t, e, u, r.TemporaryPassword, r.Card)
	})
}

func toStrings[T ~string](v []T) []string {
	out := make([]string, len(v))
	for i, s := range v {
		out[i] = string(s)
	}
	return out
}

// checkLetters checks the two letters of a registration in the outbox.
func checkLetters(t *testing.T, e *env, r *registration.Registered) {
	t.Helper()
	ctx := context.Background()
	if len(r.Letters) != 2 {
		t.Fatalf("Letters = %v, want 2", r.Letters)
	}
	list, err := e.svc.Outbox().List(ctx, outbox.Filter{User: r.User.NemID})
	if err != nil || len(list) != 2 {
		t.Fatalf("outbox list for the user: %d messages, %v; want 2", len(list), err)
	}
	tp, err := e.svc.Outbox().Show(ctx, r.Letters[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tp.Body, r.User.NemID) || !strings.Contains(tp.Body, r.TemporaryPassword) ||
		tp.Kind != outbox.Post || !strings.HasPrefix(string(tp.Attachment), "%PDF-") ||
		tp.To != "Test Testesen\nTestvej 1\n1000 København K" {
		t.Errorf("temporary-password letter: kind %s, to %q, body %q", tp.Kind, tp.To, tp.Body)
	}
	kc, err := e.svc.Outbox().Show(ctx, r.Letters[1])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(kc.Body, r.Card.Number) || !strings.HasPrefix(string(kc.Attachment), "%PDF-") {
		t.Errorf("key-card letter: body without the card number %s", r.Card.Number)
	}
	// The codes are on the card in the PDF (the text is the letter's
	// words): read with poppler's pdftotext, not with our own code.
	pdf := filepath.Join(t.TempDir(), "card.pdf")
	if err := os.WriteFile(pdf, kc.Attachment, 0o600); err != nil {
		t.Fatal(err)
	}
	text, err := exec.Command("pdftotext", "-layout", pdf, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	words := strings.Fields(string(text))
	for _, k := range r.Card.Keys {
		if !slices.Contains(words, k.Number) || !slices.Contains(words, k.Code) {
			t.Fatalf("the key-card PDF lacks key %s or its code", k.Number)
		}
	}
}

// noSecretsInAudit fails if the audit log holds the user's CPR number
// anywhere, or a temporary password or a code of the card as a word of any
// field (a six-digit code compared as a substring would be found in hashes
// and times by chance).
func noSecretsInAudit(t *testing.T, e *env, u auth.User, temporary string, card *auth.KeyCard) {
	t.Helper()
	recs, err := e.svc.AuditLog().Records(context.Background(), 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	secretWords := map[string]bool{temporary: true}
	for _, k := range card.Keys {
		secretWords[k.Code] = true
	}
	for _, rec := range recs {
		text, err := audit.Encode(rec)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(text), u.CPR) || strings.Contains(string(text), u.CPR[:6]+"-"+u.CPR[6:]) {
			t.Fatalf("audit record %d (%s) holds the CPR number", rec.Seq, rec.Action)
		}
		fields := []string{rec.Actor, rec.Subject, rec.Code}
		for k, v := range rec.Detail {
			fields = append(fields, k, v)
		}
		for _, f := range fields {
			for _, w := range strings.FieldsFunc(f, func(r rune) bool {
				return !('0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z')
			}) {
				if secretWords[w] {
					t.Fatalf("audit record %d (%s) holds a temporary password or a code", rec.Seq, rec.Action)
				}
			}
		}
	}
}

// TestRegisterRefused: a refused registration changes nothing at all: the
// row count of every table is the same before and after.
func TestRegisterRefused(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		first := e.register(t, "taken.alias")
		u, err := e.svc.Auth().Resolve(ctx, first.User.NemID)
		if err != nil {
			t.Fatal(err)
		}
		db := e.db(t)
		good := registration.Request{Name: "Bo Berg", CPR: newCPR(), Address: []string{"Vej 2", "2000 Frederiksberg"}}
		for _, tc := range []struct {
			name string
			r    func(r *registration.Request)
			want error
		}{
			{"duplicate CPR", func(r *registration.Request) { r.CPR = u.CPR }, auth.ErrCPRRegistered},
			{"duplicate CPR with dash", func(r *registration.Request) { r.CPR = u.CPR[:6] + "-" + u.CPR[6:] }, auth.ErrCPRRegistered},
			{"duplicate alias", func(r *registration.Request) { r.Alias = "TAKEN.alias" }, auth.ErrAliasTaken},
			{"invalid CPR", func(r *registration.Request) { r.CPR = "3213991234" }, nil},
			{"alias like a NemID number", func(r *registration.Request) { r.Alias = "123456789" }, auth.ErrAliasLikeNumber},
			{"no address", func(r *registration.Request) { r.Address = nil }, nil},
			{"too many address lines", func(r *registration.Request) { r.Address = []string{"1", "2", "3", "4", "5", "6"} }, nil},
			{"empty name", func(r *registration.Request) { r.Name = " " }, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := good
				tc.r(&r)
				before := tableCounts(t, db, e.database)
				_, err := e.svc.Register(ctx, auth.OperatorActor("test"), r)
				if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
					t.Fatalf("Register: %v, want %v", err, tc.want)
				}
				if strings.Contains(err.Error(), u.CPR) || strings.Contains(err.Error(), r.CPR) {
					t.Errorf("the error shows the CPR number: %v", err)
				}
				sameCounts(t, "a refused registration", before, tableCounts(t, db, e.database))
			})
		}
		// And the good one goes through.
		if _, err := e.svc.Register(ctx, auth.OperatorActor("test"), good); err != nil {
			t.Fatalf("Register: %v", err)
		}
	})
}

// TestRegisterCertificateKey: each registration makes its own key.
func TestRegisterCertificateKey(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		a, b := e.register(t, ""), e.register(t, "")
		if a.Certificate.PublicKey.(*rsa.PublicKey).Equal(b.Certificate.PublicKey) || a.PID == b.PID ||
			a.User.NemID == b.User.NemID || a.Card.Number == b.Card.Number {
			t.Error("two registrations share a key, PID, NemID number or card")
		}
		if a.Certificate.SerialNumber.Cmp(b.Certificate.SerialNumber) == 0 {
			t.Error("two registrations share a serial")
		}
		var _ *x509.Certificate = a.Certificate
	})
}
