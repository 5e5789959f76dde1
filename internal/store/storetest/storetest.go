// Package storetest is the conformance suite every store back-end must pass,
// and helpers that give other packages' tests a fresh store on each engine.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/store"
)

// Run runs the conformance suite. open must return a fresh, empty store for
// each call and arrange for it to be closed when the test ends.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		f    func(t *testing.T, s store.Store)
	}{
		{"InstallationBeforeInit", testInstallationBeforeInit},
		{"InitialiseRoundTrip", testInitialiseRoundTrip},
		{"InitialiseTwice", testInitialiseTwice},
		{"InitialiseInvalid", nil}, // needs a fresh store per case
		{"InitialiseConcurrent", testInitialiseConcurrent},
		{"InitialiseWithCertificates", testInitialiseWithCertificates},
		{"AllocatePartition", testAllocatePartition},
		{"AllocatePartitionInvalid", testAllocatePartitionInvalid},
		{"AllocatePartitionConcurrent", testAllocatePartitionConcurrent},
		{"InsertCertificate", testInsertCertificate},
		{"InsertCertificateDuplicate", testInsertCertificateDuplicate},
		{"InsertCertificateInvalid", testInsertCertificateInvalid},
		{"TimesRoundTrip", testTimesRoundTrip},
		{"Revoke", testRevoke},
		{"RevokeErrors", testRevokeErrors},
		{"RevokeReasons", testRevokeReasons},
		{"RevokeConcurrent", testRevokeConcurrent},
		{"RevokedLists", testRevokedLists},
		{"ListCertificates", testListCertificates},
		{"Partitions", testPartitions},
		{"NextCRLNumber", testNextCRLNumber},
		{"NextCRLNumberConcurrent", testNextCRLNumberConcurrent},
		{"PutCRL", testPutCRL},
		{"PutCRLInvalid", testPutCRLInvalid},
		{"PutCRLConcurrent", testPutCRLConcurrent},
		{"StaleCRLs", testStaleCRLs},
		{"ClearStaleCRL", testClearStaleCRL},
		{"RevokeMarksStaleConcurrent", testRevokeMarksStaleConcurrent},
		{"OCSPDue", testOCSPDue},
		{"OCSPDueInitialise", testOCSPDueInitialise},
		{"OCSPDueInvalid", testOCSPDueInvalid},
		{"PutOCSPResponse", testPutOCSPResponse},
		{"PutOCSPResponseInvalid", testPutOCSPResponseInvalid},
		{"OCSPRevokeRace", testOCSPRevokeRace},
		{"OCSPRevokeRaceConcurrent", testOCSPRevokeRaceConcurrent},
		{"ContextCancelled", testContextCancelled},
		{"RegisterServiceProvider", testRegisterServiceProvider},
		{"RegisterServiceProviderDuplicate", testRegisterServiceProviderDuplicate},
		{"RegisterServiceProviderInvalid", testRegisterServiceProviderInvalid},
		{"RegisterServiceProviderConcurrent", testRegisterServiceProviderConcurrent},
		{"DisableServiceProvider", testDisableServiceProvider},
		{"LinkCPR", testLinkCPR},
		{"LinkCPRInvalid", testLinkCPRInvalid},
		{"LinkCPRConcurrent", testLinkCPRConcurrent},
		{"CPRQueryCounts", testCPRQueryCounts},
		{"RecordCPRQueryInvalid", testRecordCPRQueryInvalid},
		{"ServiceProvidersContextCancelled", testServiceProvidersContextCancelled},
		{"VaultCreate", testVaultCreate},
		{"VaultCreateInvalid", testVaultCreateInvalid},
		{"VaultRewrap", testVaultRewrap},
		{"VaultReplace", testVaultReplace},
		{"VaultDestroy", testVaultDestroy},
		{"VaultConcurrent", testVaultConcurrent},
		{"VaultContextCancelled", testVaultContextCancelled},
		{"AuditEmpty", testAuditEmpty},
		{"AppendAudit", testAppendAudit},
		{"AppendAuditInvalid", testAppendAuditInvalid},
		{"AuditRecordsPaging", testAuditRecordsPaging},
		{"AppendAuditConcurrent", testAppendAuditConcurrent},
		{"AuditContextCancelled", testAuditContextCancelled},
		{"CreateUser", testCreateUser},
		{"CreateUserDuplicate", testCreateUserDuplicate},
		{"CreateUserInvalid", testCreateUserInvalid},
		{"UpdateAuth", testUpdateAuth},
		{"UpdateAuthConcurrent", testUpdateAuthConcurrent},
		{"KeyCards", testKeyCards},
		{"LogonFlows", testLogonFlows},
		{"AuthSecret", testAuthSecret},
		{"AuthContextCancelled", testAuthContextCancelled},
		{"OutboxRoundTrip", testOutboxRoundTrip},
		{"OutboxNewestFirst", testOutboxNewestFirst},
		{"OutboxDuplicate", testOutboxDuplicate},
		{"OutboxInvalid", testOutboxInvalid},
		{"OutboxConcurrent", testOutboxConcurrent},
		{"RegisterRoundTrip", testRegisterRoundTrip},
		{"RegisterDuplicate", testRegisterDuplicate},
		{"RegisterInvalid", testRegisterInvalid},
		{"CredentialTx", testCredentialTx},
		{"Users", testUsers},
		{"UsersInvalid", testUsersInvalid},
		{"IdPFlows", testIdPFlows},
		{"IdPFlowsInvalid", testIdPFlowsInvalid},
		{"IdPFlowsConcurrent", testIdPFlowsConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.f == nil {
				testInitialiseInvalid(t, open)
				return
			}
			tc.f(t, open(t))
		})
	}
}

// t0 is a fixed moment with nanoseconds and a non-UTC zone, so that tests
// see the store truncate to microseconds and return UTC.
var t0 = time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.FixedZone("CET", 3600))

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// sameTime fails unless got is want truncated to microseconds, in UTC.
func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	w := want.Truncate(time.Microsecond).UTC()
	if want.IsZero() {
		w = time.Time{}
	}
	if !got.Equal(w) || got.Location() != time.UTC {
		t.Errorf("%s = %v (%v), want %v (UTC)", what, got, got.Location(), w)
	}
}

func mustErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: err = %v, want %v", what, err, want)
	}
}

func installation() store.Installation {
	return store.Installation{Environment: "preprod", Config: []byte(`{"partition_size":1000}`), CreatedAt: t0}
}

func authorities() []store.CA {
	// Out of order on purpose: CAs sorts by CreatedAt, then Name.
	return []store.CA{
		{Name: "ocsp", Kind: store.KindOCSP, CertDER: []byte{3}, KeyRef: "ocsp.key", CreatedAt: t0.Add(time.Hour)},
		{Name: "root", Kind: store.KindRoot, CertDER: []byte{1}, KeyRef: "pkcs11:root", CreatedAt: t0},
		{Name: "issuing", Kind: store.KindIssuing, CertDER: []byte{2, 2}, KeyRef: "issuing.key", CreatedAt: t0.Add(time.Hour)},
	}
}

func testInstallationBeforeInit(t *testing.T, s store.Store) {
	_, err := s.Installation(ctx(t))
	mustErr(t, "Installation", err, store.ErrNotFound)
	_, err = s.CA(ctx(t), "root")
	mustErr(t, "CA", err, store.ErrNotFound)
	cas, err := s.CAs(ctx(t))
	if err != nil || len(cas) != 0 {
		t.Fatalf("CAs = %v, %v; want none", cas, err)
	}
}

func testInitialiseRoundTrip(t *testing.T, s store.Store) {
	if err := s.Initialise(ctx(t), installation(), authorities(), nil); err != nil {
		t.Fatalf("Initialise: %v", err)
	}
	checkInitialised(t, s, installation(), authorities())
}

// checkInitialised fails unless the store holds exactly inst and cas.
func checkInitialised(t *testing.T, s store.Store, inst store.Installation, cas []store.CA) {
	t.Helper()
	got, err := s.Installation(ctx(t))
	if err != nil {
		t.Fatalf("Installation: %v", err)
	}
	if got.Environment != inst.Environment || !bytes.Equal(got.Config, inst.Config) {
		t.Errorf("Installation = %+v, want %+v", got, inst)
	}
	sameTime(t, "Installation.CreatedAt", got.CreatedAt, inst.CreatedAt)

	all, err := s.CAs(ctx(t))
	if err != nil {
		t.Fatalf("CAs: %v", err)
	}
	var names []string
	for _, ca := range all {
		names = append(names, ca.Name)
	}
	if want := "[root issuing ocsp]"; fmt.Sprint(names) != want {
		t.Errorf("CAs order = %v, want %s (CreatedAt, then Name)", names, want)
	}
	for _, want := range cas {
		ca, err := s.CA(ctx(t), want.Name)
		if err != nil {
			t.Fatalf("CA(%q): %v", want.Name, err)
		}
		if ca.Name != want.Name || ca.Kind != want.Kind || !bytes.Equal(ca.CertDER, want.CertDER) || ca.KeyRef != want.KeyRef {
			t.Errorf("CA(%q) = %+v, want %+v", want.Name, ca, want)
		}
		sameTime(t, "CA.CreatedAt", ca.CreatedAt, want.CreatedAt)
	}
	_, err = s.CA(ctx(t), "nosuch")
	mustErr(t, "CA(nosuch)", err, store.ErrNotFound)
}

func testInitialiseTwice(t *testing.T, s store.Store) {
	if err := s.Initialise(ctx(t), installation(), authorities(), nil); err != nil {
		t.Fatalf("Initialise: %v", err)
	}
	other := store.Installation{Environment: "production", Config: []byte(`{}`), CreatedAt: t0.Add(time.Hour)}
	extra := append(authorities()[:1], store.CA{Name: "extra", Kind: store.KindIssuing, CreatedAt: t0})
	err := s.Initialise(ctx(t), other, extra, nil)
	mustErr(t, "second Initialise", err, store.ErrAlreadyInitialised)
	// Nothing of the second call may have landed.
	checkInitialised(t, s, installation(), authorities())
	_, err = s.CA(ctx(t), "extra")
	mustErr(t, "CA(extra)", err, store.ErrNotFound)
}

func testInitialiseInvalid(t *testing.T, open func(t *testing.T) store.Store) {
	dup := append(authorities(), store.CA{Name: "root", Kind: store.KindRoot, CreatedAt: t0})
	tests := []struct {
		name string
		inst store.Installation
		cas  []store.CA
	}{
		{"environment", store.Installation{Environment: "staging", CreatedAt: t0}, authorities()},
		{"no environment", store.Installation{CreatedAt: t0}, authorities()},
		{"CA without name", installation(), []store.CA{{Kind: store.KindRoot}}},
		{"CA kind", installation(), []store.CA{{Name: "x", Kind: "intermediate"}}},
		{"CA twice", installation(), dup},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			err := s.Initialise(ctx(t), tc.inst, tc.cas, nil)
			if err == nil || errors.Is(err, store.ErrAlreadyInitialised) {
				t.Fatalf("Initialise: err = %v, want a validation error", err)
			}
			// One transaction: a failure leaves no installation and no CA behind.
			_, err = s.Installation(ctx(t))
			mustErr(t, "Installation after failed Initialise", err, store.ErrNotFound)
			if cas, _ := s.CAs(ctx(t)); len(cas) != 0 {
				t.Errorf("CAs after failed Initialise = %v, want none", cas)
			}
			// And the store can still be initialised properly.
			if err := s.Initialise(ctx(t), installation(), authorities(), nil); err != nil {
				t.Fatalf("Initialise after failure: %v", err)
			}
		})
	}
}

func testAllocatePartition(t *testing.T, s store.Store) {
	steps := []struct {
		issuer string
		size   int
		want   int
	}{
		{"issuing", 3, 1}, {"issuing", 3, 1}, {"issuing", 3, 1},
		{"issuing", 3, 2}, // full: the next partition opens
		{"other", 3, 1},   // each issuer counts alone
		{"issuing", 3, 2}, {"issuing", 3, 2},
		{"issuing", 5, 2}, {"issuing", 5, 2}, // a larger size fills the current partition further
		{"issuing", 5, 3},
		{"issuing", 5, 3}, {"issuing", 5, 3},
		{"issuing", 2, 4}, // a smaller size than the partition holds: full
		{"issuing", 1, 5}, {"issuing", 1, 6},
		{"other", 1, 2},
	}
	for i, st := range steps {
		got, err := s.AllocatePartition(ctx(t), st.issuer, st.size)
		if err != nil {
			t.Fatalf("step %d: AllocatePartition(%q, %d): %v", i, st.issuer, st.size, err)
		}
		if got != st.want {
			t.Fatalf("step %d: AllocatePartition(%q, %d) = %d, want %d", i, st.issuer, st.size, got, st.want)
		}
	}
}

func testAllocatePartitionInvalid(t *testing.T, s store.Store) {
	tests := []struct {
		issuer string
		size   int
	}{{"issuing", 0}, {"issuing", -1}, {"", 10}}
	for _, tc := range tests {
		if p, err := s.AllocatePartition(ctx(t), tc.issuer, tc.size); err == nil {
			t.Errorf("AllocatePartition(%q, %d) = %d, want an error", tc.issuer, tc.size, p)
		}
	}
	// The rejected calls reserved nothing.
	if p, err := s.AllocatePartition(ctx(t), "issuing", 1); err != nil || p != 1 {
		t.Errorf("AllocatePartition after rejected calls = %d, %v; want 1", p, err)
	}
}

func testContextCancelled(t *testing.T, s store.Store) {
	insert(t, s, cert("ca11", "issuing", 1))
	c, cancel := context.WithCancel(context.Background())
	cancel()
	calls := map[string]func() error{
		"Certificate":   func() error { _, err := s.Certificate(c, "ca11"); return err },
		"Revoke":        func() error { _, err := s.Revoke(c, "ca11", t0, 1); return err },
		"Allocate":      func() error { _, err := s.AllocatePartition(c, "issuing", 10); return err },
		"Insert":        func() error { return s.InsertCertificate(c, cert("ca12", "issuing", 1)) },
		"Initialise":    func() error { return s.Initialise(c, installation(), authorities(), nil) },
		"NextCRLNumber": func() error { _, err := s.NextCRLNumber(c, "issuing"); return err },
		"PutCRL":        func() error { _, err := s.PutCRL(c, crl("issuing", 1, 1)); return err },
		"ClearStaleCRL": func() error {
			return s.ClearStaleCRL(c, store.StaleCRL{Issuer: "issuing", Partition: 1, Generation: 1})
		},
		"OCSPDue": func() error { _, err := s.OCSPDue(c, "issuing", t0, 10); return err },
		"PutOCSPResponse": func() error {
			_, err := s.PutOCSPResponse(c, response("ca11", store.StatusGood, t0), t0.Add(time.Hour))
			return err
		},
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: err = %v, want context.Canceled", name, err)
		}
	}
	// Nothing happened.
	if got, err := s.Certificate(ctx(t), "ca11"); err != nil || got.Status != store.StatusGood {
		t.Errorf("after cancelled Revoke: %+v, %v", got, err)
	}
	if _, err := s.Installation(ctx(t)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after cancelled Initialise: %v", err)
	}
	if n, err := s.NextCRLNumber(ctx(t), "issuing"); err != nil || n != 1 {
		t.Errorf("after cancelled NextCRLNumber: next is %d, %v; want 1", n, err)
	}
	if list, err := s.CRLs(ctx(t)); err != nil || len(list) != 0 {
		t.Errorf("after cancelled PutCRL: CRLs = %+v, %v", list, err)
	}
	if _, err := s.OCSPResponse(ctx(t), "ca11"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after cancelled PutOCSPResponse: %v", err)
	}
	stale(t, s, "[]") // the cancelled Revoke marked nothing
}

// testInitialiseWithCertificates: the authorities' certificates are stored in
// the same transaction, all or nothing.
func testInitialiseWithCertificates(t *testing.T, s store.Store) {
	cas := authorities()
	good := store.Certificate{Serial: "1", Issuer: cas[0].Name, Profile: "ocsp", DER: []byte{1}, Status: store.StatusGood,
		NotBefore: t0, NotAfter: t0.Add(time.Hour), IssuedAt: t0}
	// A duplicate serial fails the whole transaction.
	err := s.Initialise(ctx(t), installation(), cas, []store.Certificate{good, good})
	if !errors.Is(err, store.ErrDuplicateSerial) {
		t.Fatalf("duplicate serial: %v, want ErrDuplicateSerial", err)
	}
	if _, err := s.Installation(ctx(t)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("installation after a failed Initialise: %v, want ErrNotFound", err)
	}
	if err := s.Initialise(ctx(t), installation(), cas, []store.Certificate{good}); err != nil {
		t.Fatal(err)
	}
	if c, err := s.Certificate(ctx(t), "1"); err != nil || c.Partition != 0 || c.Status != store.StatusGood {
		t.Fatalf("Certificate = %+v, %v", c, err)
	}
}
