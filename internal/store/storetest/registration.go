package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/oces"
)

// registration returns a valid registration of user n (a valid CPR number
// and a PID of its own), with a certificate and two letters.
func registration(n int) store.Registration {
	nu := newUser(n)
	for i := 0; ; i++ {
		cpr := fmt.Sprintf("0202%02d%04d", 60+n%30, (n*37+i)%10000)
		if oces.ValidateCPR(cpr) == nil {
			nu.User.CPR = cpr
			break
		}
	}
	nu.User.PID = fmt.Sprintf("9208-2002-2-%012d", 500000+n)
	c := cert(fmt.Sprintf("7e%04x", n), "issuing", 1)
	return store.Registration{
		User: nu,
		VaultKey: func(userID int64) (store.VaultKey, error) {
			return vaultKey(userID, 1), nil
		},
		Certificate: c,
		Outbox: []store.OutboxMessage{
			outboxMessage(2*n, store.OutboxPost, nu.User.NemID, t0),
			outboxMessage(2*n+1, store.OutboxPost, nu.User.NemID, t0),
		},
	}
}

// registrationCounts counts what a registration stores, for "nothing changed".
func registrationCounts(t *testing.T, s store.Store, rs ...store.Registration) string {
	t.Helper()
	var users, keys, certs, links, letters int
	for _, r := range rs {
		if _, err := s.UserByNemID(ctx(t), r.User.User.NemID); err == nil {
			users++
		}
		if _, err := s.Certificate(ctx(t), r.Certificate.Serial); err == nil {
			certs++
		}
		if _, err := s.CPRLink(ctx(t), "PID:"+r.User.User.PID); err == nil {
			links++
		}
		for _, m := range r.Outbox {
			if _, err := s.OutboxMessage(ctx(t), m.ID); err == nil {
				letters++
			}
		}
	}
	all, err := s.ListCertificates(ctx(t), store.ListFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for id := int64(1); id < 20; id++ {
		ks, err := s.VaultKeys(ctx(t), id)
		if err != nil {
			t.Fatal(err)
		}
		keys += len(ks)
	}
	return fmt.Sprintf("users %d, vault keys %d, certificates %d (of %d), links %d, letters %d", users, keys, certs, len(all), links, letters)
}

func mustRegister(t *testing.T, s store.Store, r store.Registration) int64 {
	t.Helper()
	id, err := s.Register(ctx(t), r)
	if err != nil {
		t.Fatalf("Register(%s): %v", r.User.User.NemID, err)
	}
	return id
}

func testRegisterRoundTrip(t *testing.T, s store.Store) {
	r := registration(1)
	var gotID int64
	r.VaultKey = func(userID int64) (store.VaultKey, error) {
		gotID = userID
		return vaultKey(userID, 1), nil
	}
	id := mustRegister(t, s, r)
	if id < 1 || gotID != id {
		t.Fatalf("Register returned ID %d; the vault key was made for %d", id, gotID)
	}
	u, err := s.User(ctx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	want := r.User.User
	sameUser(t, u, want)
	if u.PID != want.PID {
		t.Errorf("PID = %q, want %q", u.PID, want.PID)
	}
	if byNemID, err := s.UserByNemID(ctx(t), want.NemID); err != nil || byNemID.PID != want.PID {
		t.Errorf("UserByNemID: PID %q, %v", byNemID.PID, err)
	}
	cards, err := s.KeyCards(ctx(t), id)
	if err != nil || len(cards) != 1 || cards[0].Number != r.User.Card.Number || cards[0].Remaining != len(r.User.Keys) {
		t.Errorf("KeyCards = %+v, %v", cards, err)
	}
	events, err := s.UserEvents(ctx(t), id)
	if err != nil || len(events) != 1 || events[0].UserID != id {
		t.Errorf("UserEvents = %+v, %v", events, err)
	}
	k, err := s.ActiveVaultKey(ctx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	sameVaultKey(t, k, storedVaultKey(vaultKey(id, 1)))
	c, err := s.Certificate(ctx(t), r.Certificate.Serial)
	if err != nil {
		t.Fatal(err)
	}
	sameCert(t, c, r.Certificate)
	ucs, err := s.UserCertificates(ctx(t), id)
	if err != nil || len(ucs) != 1 || ucs[0].UserID != id || ucs[0].KeyVersion != 1 {
		t.Fatalf("UserCertificates = %+v, %v", ucs, err)
	}
	sameCert(t, ucs[0].Certificate, r.Certificate)
	link, err := s.CPRLink(ctx(t), "PID:"+want.PID)
	if err != nil || link.CPR != want.CPR {
		t.Errorf("CPRLink = %+v, %v", link, err)
	}
	sameTime(t, "link CreatedAt", link.CreatedAt, want.CreatedAt)
	for _, m := range r.Outbox {
		got, err := s.OutboxMessage(ctx(t), m.ID)
		if err != nil {
			t.Fatal(err)
		}
		sameOutboxMessage(t, got, m, true)
	}
	// A user made by CreateUser has no PID; many such users coexist.
	for n := 2; n <= 3; n++ {
		if u := createUser(t, s, newUser(n)); u.PID != "" {
			t.Errorf("CreateUser: PID %q", u.PID)
		}
	}
	if ucs, err := s.UserCertificates(ctx(t), id+1); err != nil || len(ucs) != 0 {
		t.Errorf("UserCertificates of a user without any: %+v, %v", ucs, err)
	}
}

func testRegisterDuplicate(t *testing.T, s store.Store) {
	first := registration(1)
	mustRegister(t, s, first)
	other := func(change func(r *store.Registration)) store.Registration {
		r := registration(2)
		change(&r)
		return r
	}
	for _, tc := range []struct {
		name string
		r    store.Registration
		want error
	}{
		{"NemID number", other(func(r *store.Registration) { r.User.User.NemID = first.User.User.NemID }), store.ErrNemIDNumberTaken},
		{"CPR number", other(func(r *store.Registration) { r.User.User.CPR = first.User.User.CPR }), store.ErrCPRTaken},
		{"card number", other(func(r *store.Registration) { r.User.Card.Number = first.User.Card.Number }), store.ErrCardNumberTaken},
		{"PID", other(func(r *store.Registration) { r.User.User.PID = first.User.User.PID }), store.ErrPIDTaken},
		{"serial", other(func(r *store.Registration) { r.Certificate.Serial = first.Certificate.Serial }), store.ErrDuplicateSerial},
		{"letter ID", other(func(r *store.Registration) { r.Outbox[1].ID = first.Outbox[0].ID }), store.ErrDuplicate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := registrationCounts(t, s, first, tc.r)
			_, err := s.Register(ctx(t), tc.r)
			mustErr(t, "Register", err, tc.want)
			mustErr(t, "Register", err, store.ErrDuplicate)
			if after := registrationCounts(t, s, first, tc.r); after != before {
				t.Errorf("a refused registration changed the store: %s, then %s", before, after)
			}
		})
	}
	// A PID linked to a CPR number by hand (`nemid cpr link`) is taken too.
	r := registration(3)
	if err := s.LinkCPR(ctx(t), store.CPRLink{Identity: "PID:" + r.User.User.PID, CPR: r.User.User.CPR, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	_, err := s.Register(ctx(t), r)
	mustErr(t, "Register with a linked PID", err, store.ErrPIDTaken)
	if _, err := s.UserByNemID(ctx(t), r.User.User.NemID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the refused user exists: %v", err)
	}
}

func testRegisterInvalid(t *testing.T, s store.Store) {
	for _, tc := range []struct {
		name   string
		change func(r *store.Registration)
	}{
		{"no PID", func(r *store.Registration) { r.User.User.PID = "" }},
		{"bad PID", func(r *store.Registration) { r.User.User.PID = "PID:1" }},
		{"no vault key", func(r *store.Registration) { r.VaultKey = nil }},
		{"vault key fails", func(r *store.Registration) {
			r.VaultKey = func(int64) (store.VaultKey, error) { return store.VaultKey{}, errors.New("sealing failed") }
		}},
		{"vault key of another user", func(r *store.Registration) {
			r.VaultKey = func(id int64) (store.VaultKey, error) { return vaultKey(id+1, 1), nil }
		}},
		{"vault key version 2", func(r *store.Registration) {
			r.VaultKey = func(id int64) (store.VaultKey, error) { return vaultKey(id, 2), nil }
		}},
		{"certificate revoked", func(r *store.Registration) {
			r.Certificate.Status, r.Certificate.RevokedAt, r.Certificate.Reason = store.StatusRevoked, t0, 1
		}},
		{"letter without body", func(r *store.Registration) { r.Outbox[0].SealedBody = nil }},
		{"user with a password", func(r *store.Registration) { r.User.User.PasswordHash = "$argon2id$" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := registration(4)
			tc.change(&r)
			before := registrationCounts(t, s, r)
			if _, err := s.Register(ctx(t), r); err == nil {
				t.Fatal("Register accepted it")
			}
			if after := registrationCounts(t, s, r); after != before {
				t.Errorf("a refused registration changed the store: %s, then %s", before, after)
			}
		})
	}
	mustRegister(t, s, registration(4))
}

// testCredentialTx: the vault and certificate writes of an AuthTx commit
// with the transaction, and vanish with its rollback.
func testCredentialTx(t *testing.T, s store.Store) {
	r := registration(1)
	id := mustRegister(t, s, r)
	k1, err := s.ActiveVaultKey(ctx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	at := t0.Add(time.Hour)
	next := vaultKey(id, 2)
	newCert := cert("7e9999", "issuing", 1)
	errRollback := errors.New("roll back")
	change := func(tx store.AuthTx) error {
		if _, err := tx.LockUser(id); err != nil {
			return err
		}
		if err := tx.RewrapVaultKey(id, 1, k1.Generation, []byte("re-wrapped"), at); err != nil {
			return err
		}
		// The compare-and-swap sees the transaction's own write.
		if err := tx.RewrapVaultKey(id, 1, k1.Generation, []byte("again"), at); !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("a stale re-wrap: %v", err)
		}
		if err := tx.InsertUserCertificate(id, 2, newCert); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("a certificate for a key version that does not exist: %v", err)
		}
		return errors.New("unreachable")
	}
	// On PostgreSQL the refused foreign key aborts the transaction: that
	// check gets a transaction of its own.
	err = s.UpdateAuth(ctx(t), change)
	if err == nil || err.Error() != "unreachable" {
		t.Fatalf("UpdateAuth: %v", err)
	}
	err = s.UpdateAuth(ctx(t), func(tx store.AuthTx) error {
		if err := tx.ReplaceVaultKey(next); err != nil {
			return err
		}
		if err := tx.InsertUserCertificate(id, 2, newCert); err != nil {
			return err
		}
		c, err := tx.RevokeCertificate(r.Certificate.Serial, at, 4)
		if err != nil || c.Status != store.StatusRevoked || c.Reason != 4 {
			return fmt.Errorf("RevokeCertificate = %+v, %v", c, err)
		}
		if _, err := tx.RevokeCertificate(r.Certificate.Serial, at, 4); !errors.Is(err, store.ErrAlreadyRevoked) {
			return fmt.Errorf("a second revocation: %v", err)
		}
		if _, err := tx.RevokeCertificate("7eabcdef", at, 4); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("revoking an unknown serial: %v", err)
		}
		ucs, err := tx.UserCertificates(id)
		if err != nil || len(ucs) != 2 || ucs[1].KeyVersion != 2 || ucs[0].Certificate.Status != store.StatusRevoked {
			return fmt.Errorf("UserCertificates in the transaction = %+v, %v", ucs, err)
		}
		return errRollback
	})
	mustErr(t, "UpdateAuth", err, errRollback)
	// Nothing of the rolled-back transactions is left.
	if k, err := s.ActiveVaultKey(ctx(t), id); err != nil || string(k.Blob) != string(k1.Blob) || k.Version != 1 {
		t.Errorf("after the rollbacks the key is %+v, %v", k, err)
	}
	if ucs, err := s.UserCertificates(ctx(t), id); err != nil || len(ucs) != 1 || ucs[0].Certificate.Status != store.StatusGood {
		t.Errorf("after the rollbacks: %+v, %v", ucs, err)
	}
	if _, err := s.Certificate(ctx(t), newCert.Serial); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the rolled-back certificate exists: %v", err)
	}
	if stale, err := s.StaleCRLs(ctx(t)); err != nil || len(stale) != 0 {
		t.Errorf("the rolled-back revocation left stale CRLs: %+v, %v", stale, err)
	}

	// The same, committed.
	err = s.UpdateAuth(ctx(t), func(tx store.AuthTx) error {
		if err := tx.ReplaceVaultKey(next); err != nil {
			return err
		}
		if err := tx.InsertUserCertificate(id, 2, newCert); err != nil {
			return err
		}
		_, err := tx.RevokeCertificate(r.Certificate.Serial, at, 4)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := vaultVersions(t, s, id); got != "[1:superseded 2:active]" {
		t.Errorf("vault versions %s", got)
	}
	ucs, err := s.UserCertificates(ctx(t), id)
	if err != nil || len(ucs) != 2 || ucs[0].Certificate.Status != store.StatusRevoked || ucs[0].Certificate.Reason != 4 ||
		ucs[1].Certificate.Serial != newCert.Serial || ucs[1].KeyVersion != 2 {
		t.Errorf("UserCertificates = %+v, %v", ucs, err)
	}
	if stale, err := s.StaleCRLs(ctx(t)); err != nil || len(stale) != 2 {
		t.Errorf("the revocation marked %d CRLs stale (%v), want the partition's and the full one", len(stale), err)
	}
	if due, err := s.OCSPDue(ctx(t), "issuing", at, 10); err != nil || len(due) != 2 {
		t.Errorf("OCSP due: %d certificates (%v), want both", len(due), err)
	}

	// Destroy in a transaction, then the re-wrap of a destroyed key conflicts.
	err = s.UpdateAuth(ctx(t), func(tx store.AuthTx) error {
		k, err := tx.DestroyVaultKey(id, at)
		if err != nil || k.State != store.VaultKeyDestroyed || k.Blob != nil {
			return fmt.Errorf("DestroyVaultKey = %+v, %v", k, err)
		}
		if _, err := tx.DestroyVaultKey(id, at); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("destroying again: %v", err)
		}
		if err := tx.RewrapVaultKey(id, 2, 0, []byte("x"), at); !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("re-wrapping a destroyed key: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := vaultVersions(t, s, id); got != "[1:superseded 2:destroyed]" {
		t.Errorf("vault versions %s", got)
	}
}
