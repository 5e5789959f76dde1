package ca_test

import (
	"context"
	"errors"
	"testing"

	"github.com/nemid-dk/nemid/internal/ca"
	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/internal/store/storetest"
	"github.com/nemid-dk/nemid/oces"
)

// TestPrepareStoresNothing: a prepared certificate is signed and linted but
// not issued until its caller stores its record; storing it makes it the
// CA's like an issued one.
func TestPrepareStoresNothing(t *testing.T) {
	st := storetest.OpenSQLite(t)
	e := newEnv(t, st, nil)
	ctx := context.Background()
	k := newKey(t)
	before, err := e.ca.List(ctx, store.ListFilter{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.ca.Prepare(ctx, ca.IssueRequest{Subject: oces.Request{Type: oces.POCES, Name: "Per Prepare"}, PublicKey: &k.PublicKey})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Certificate(ctx, p.Record.Serial); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the prepared certificate is stored: %v", err)
	}
	if after, _ := e.ca.List(ctx, store.ListFilter{}); len(after) != len(before) {
		t.Fatalf("Prepare changed the certificate list: %d -> %d", len(before), len(after))
	}
	if !pubEqual(p.Certificate.PublicKey, &k.PublicKey) || p.Record.Status != store.StatusGood || p.Record.Partition < 1 {
		t.Fatalf("prepared record %+v", p.Record)
	}
	assertLintClean(t, "prepared POCES", p.Certificate.Raw)
	id, err := oces.ParseCertificate(p.Certificate)
	if err != nil || id.PID == "" {
		t.Fatalf("prepared POCES without a PID: %+v, %v", id, err)
	}
	if err := st.InsertCertificate(ctx, p.Record); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ca.Revoke(ctx, p.Record.Serial, ca.ReasonSuperseded); err != nil {
		t.Fatalf("revoking the stored prepared certificate: %v", err)
	}
	// Bad input is refused before a partition place is taken.
	if _, err := e.ca.Prepare(ctx, ca.IssueRequest{Subject: oces.Request{Type: oces.POCES, Name: ""}, PublicKey: &k.PublicKey}); err == nil {
		t.Error("Prepare accepted a POCES without a name")
	}
}
