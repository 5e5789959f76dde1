package revocation

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/ca"
	"github.com/nemid-dk/nemid/oces"
)

// TestOurCA checks certificates of our own CA against its own OCSP
// responder, CRL handler and LDAP directory, running in process. The
// subtests share one CA: creating one makes two RSA-4096 keys.
func TestOurCA(t *testing.T) {
	o := newOurCA(t)
	ctx := context.Background()
	keyCompromise := int(ca.ReasonKeyCompromise)

	t.Run("OCSP", func(t *testing.T) {
		c := &OCSP{HTTPClient: o.client()}
		st, err := c.Check(ctx, o.poces, o.issuing, caAt)
		wantGood(t, st, err, MethodOCSP)
		st, err = c.Check(ctx, o.moces, o.issuing, caAt)
		wantRevoked(t, st, err, MethodOCSP, caRevokedAt, keyCompromise)
		if o.hits.get("/ocsp") != 2 {
			t.Errorf("%d OCSP requests, want 2", o.hits.get("/ocsp"))
		}
	})

	t.Run("OCSP checks the issuing CA by the root's full CRL", func(t *testing.T) {
		c := &OCSP{HTTPClient: o.client()}
		before := o.hits.get("/crl/root.crl")
		st, err := c.Check(ctx, o.issuing, o.root, caAt)
		wantGood(t, st, err, MethodCRL)
		if o.hits.get("/crl/root.crl") != before+1 {
			t.Error("the root's CRL was not fetched")
		}
	})

	t.Run("OCSP with None for CAs", func(t *testing.T) {
		c := &OCSP{HTTPClient: o.client(), CAs: None()}
		st, err := c.Check(ctx, o.issuing, o.root, caAt)
		wantGood(t, st, err, MethodNone)
	})

	t.Run("full CRL", func(t *testing.T) {
		c := &FullCRL{HTTPClient: o.client()}
		st, err := c.Check(ctx, o.poces, o.issuing, caAt)
		wantGood(t, st, err, MethodCRL)
		st, err = c.Check(ctx, o.moces, o.issuing, caAt)
		wantRevoked(t, st, err, MethodCRL, caRevokedAt, keyCompromise)
		st, err = c.Check(ctx, o.issuing, o.root, caAt)
		wantGood(t, st, err, MethodCRL)
	})

	t.Run("partitioned CRL over LDAP", func(t *testing.T) {
		c := &PartitionedCRL{Server: o.ldap}
		st, err := c.Check(ctx, o.poces, o.issuing, caAt)
		wantGood(t, st, err, MethodLDAP)
		st, err = c.Check(ctx, o.moces, o.issuing, caAt)
		wantRevoked(t, st, err, MethodLDAP, caRevokedAt, keyCompromise)
		// The issuing CA sits in the root's partition CRL1.
		st, err = c.Check(ctx, o.issuing, o.root, caAt)
		wantGood(t, st, err, MethodLDAP)
	})

	t.Run("ForCAs", func(t *testing.T) {
		c := ForCAs(&PartitionedCRL{Server: o.ldap}, None())
		st, err := c.Check(ctx, o.moces, o.issuing, caAt)
		wantRevoked(t, st, err, MethodLDAP, caRevokedAt, keyCompromise)
		st, err = c.Check(ctx, o.issuing, o.root, caAt)
		wantGood(t, st, err, MethodNone)
		st, err = ForCAs(nil, None()).Check(ctx, o.poces, o.issuing, caAt)
		wantKind(t, st, err, ErrNoSource)
	})

	t.Run("the wrong issuer is refused", func(t *testing.T) {
		for _, c := range []Checker{&OCSP{HTTPClient: o.client()}, &FullCRL{HTTPClient: o.client()}, &PartitionedCRL{Server: o.ldap}} {
			st, err := c.Check(ctx, o.poces, o.root, caAt)
			wantKind(t, st, err, ErrNoSource)
		}
	})

	t.Run("OCSP unknown is an error", func(t *testing.T) {
		never := *o.poces
		never.SerialNumber = big.NewInt(0x7e57)
		st, err := (&OCSP{HTTPClient: o.client()}).Check(ctx, &never, o.issuing, caAt)
		wantKind(t, st, err, ErrUnknownCertificate)
	})

	t.Run("OCSP responder unreachable", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close() // nothing listens there now
		c := &OCSP{HTTPClient: routeTo(addr)}
		st, err := c.Check(ctx, o.poces, o.issuing, caAt)
		wantKind(t, st, err, ErrUnreachable)
		st, err = c.Check(ctx, o.moces, o.issuing, caAt)
		wantKind(t, st, err, ErrUnreachable)
	})

	t.Run("OCSP responder answers HTTP 503", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		}))
		defer srv.Close()
		st, err := (&OCSP{HTTPClient: routeTo(srv.Listener.Addr().String())}).Check(ctx, o.poces, o.issuing, caAt)
		wantKind(t, st, err, ErrUnreachable)
		if !strings.Contains(err.Error(), "503") {
			t.Errorf("error does not give the HTTP status: %v", err)
		}
	})

	t.Run("OCSP responder too slow", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		defer srv.Close()
		defer close(release)
		st, err := (&OCSP{HTTPClient: routeTo(srv.Listener.Addr().String()), Timeout: 50 * time.Millisecond}).Check(ctx, o.poces, o.issuing, caAt)
		wantKind(t, st, err, ErrUnreachable)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("the cause is not the deadline: %v", err)
		}
	})

	t.Run("OCSP URL that is not http", func(t *testing.T) {
		c := *o.poces
		c.OCSPServer = []string{"https://nemid-ca.test/ocsp"}
		st, err := (&OCSP{HTTPClient: o.client()}).Check(ctx, &c, o.issuing, caAt)
		wantKind(t, st, err, ErrNoSource)
		c.OCSPServer = nil
		st, err = (&OCSP{HTTPClient: o.client()}).Check(ctx, &c, o.issuing, caAt)
		wantKind(t, st, err, ErrNoSource)
	})

	t.Run("OCSP response expired or not yet issued at the time asked", func(t *testing.T) {
		// The pre-signed responses run from caRevokedAt for 24 hours.
		c := &OCSP{HTTPClient: o.client(), MaxAge: -1}
		st, err := c.Check(ctx, o.poces, o.issuing, caRevokedAt.Add(25*time.Hour))
		wantKind(t, st, err, ErrNotCurrent)
		st, err = c.Check(ctx, o.poces, o.issuing, caRevokedAt.Add(-2*time.Minute))
		wantKind(t, st, err, ErrNotCurrent)
		// Within the 60 s allowed for clocks apart.
		st, err = c.Check(ctx, o.poces, o.issuing, caRevokedAt.Add(-30*time.Second))
		wantGood(t, st, err, MethodOCSP)
	})

	t.Run("CRL expired or not yet valid at the time asked", func(t *testing.T) {
		// The CRLs run from caRevokedAt for 12 hours.
		for _, c := range []Checker{&FullCRL{HTTPClient: o.client()}, &PartitionedCRL{Server: o.ldap}} {
			st, err := c.Check(ctx, o.poces, o.issuing, caRevokedAt.Add(13*time.Hour))
			wantKind(t, st, err, ErrNotCurrent)
			st, err = c.Check(ctx, o.moces, o.issuing, caRevokedAt.Add(-time.Minute))
			wantKind(t, st, err, ErrNotCurrent)
		}
	})

	t.Run("CRL signed by another key", func(t *testing.T) {
		k := o.otherKey
		// Same issuer name and key identifier, another key.
		forger := &x509.Certificate{RawSubject: o.issuing.RawSubject, SubjectKeyId: o.issuing.SubjectKeyId, KeyUsage: x509.KeyUsageCRLSign}
		der := signCRL(t, forger, k, caRevokedAt, caRevokedAt.Add(12*time.Hour), nil)
		srv := newBytesServer(t)
		srv.serve(der)
		st, err := (&FullCRL{HTTPClient: srv.client()}).Check(ctx, o.moces, o.issuing, caAt)
		wantKind(t, st, err, ErrInvalid)

		src := &crlOverride{CRLSource: o.st}
		src.set(ca.IssuingCA, 1, signCRL(t, forger, k, caRevokedAt, caRevokedAt.Add(12*time.Hour), nil, partitionIDP(t, o.issuing, 1)))
		st, err = (&PartitionedCRL{Server: startLDAP(t, o, src)}).Check(ctx, o.moces, o.issuing, caAt)
		wantKind(t, st, err, ErrInvalid)
	})

	t.Run("CRL of another issuer", func(t *testing.T) {
		srv := newBytesServer(t)
		root, err := o.st.CRL(ctx, ca.RootCA, 0)
		if err != nil {
			t.Fatal(err)
		}
		srv.serve(root.DER)
		st, err := (&FullCRL{HTTPClient: srv.client()}).Check(ctx, o.moces, o.issuing, caAt)
		wantKind(t, st, err, ErrInvalid)
	})

	t.Run("full CRL that is a partition", func(t *testing.T) {
		part, err := o.st.CRL(ctx, ca.IssuingCA, 1)
		if err != nil {
			t.Fatal(err)
		}
		srv := newBytesServer(t)
		srv.serve(part.DER)
		st, err := (&FullCRL{HTTPClient: srv.client()}).Check(ctx, o.poces, o.issuing, caAt)
		wantKind(t, st, err, ErrInvalid)
		if !strings.Contains(err.Error(), "partial") {
			t.Errorf("the error does not say why: %v", err)
		}
	})

	t.Run("partition CRL", func(t *testing.T) {
		tu, nu := caRevokedAt, caRevokedAt.Add(12*time.Hour)
		listed := []x509.RevocationListEntry{{SerialNumber: o.moces.SerialNumber, RevocationTime: caRevokedAt, ReasonCode: keyCompromise}}
		full, err := o.st.CRL(ctx, ca.IssuingCA, 0)
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name string
			der  []byte
			ok   bool
		}{
			// The control: a CRL made here the way our CA makes them passes.
			{"crafted like ours", signCRL(t, o.issuing, o.issuingKey, tu, nu, listed, partitionIDP(t, o.issuing, 1)), true},
			{"full CRL, no IDP", full.DER, false},
			{"partition 2", signCRL(t, o.issuing, o.issuingKey, tu, nu, listed, partitionIDP(t, o.issuing, 2)), false},
			// OOAPI's substring test alone would take CRL19 for CRL1.
			{"partition 19", signCRL(t, o.issuing, o.issuingKey, tu, nu, listed, partitionIDP(t, o.issuing, 19)), false},
			{"IDP of the root's partition 1", signCRL(t, o.issuing, o.issuingKey, tu, nu, listed, partitionIDP(t, o.root, 1)), false},
			{"only some reasons", signCRL(t, o.issuing, o.issuingKey, tu, nu, listed, idpWithPartition(t, o.issuing, 1, []byte{0x83, 0x02, 0x07, 0x80})), false},
			{"indirect", signCRL(t, o.issuing, o.issuingKey, tu, nu, listed, idpWithPartition(t, o.issuing, 1, []byte{0x84, 0x01, 0xff})), false},
			{"only CA certificates", signCRL(t, o.issuing, o.issuingKey, tu, nu, listed, idpWithPartition(t, o.issuing, 1, []byte{0x82, 0x01, 0xff})), false},
			{"only end-entity certificates", signCRL(t, o.issuing, o.issuingKey, tu, nu, listed, idpWithPartition(t, o.issuing, 1, []byte{0x81, 0x01, 0xff})), true},
			{"delta CRL", signCRL(t, o.issuing, o.issuingKey, tu, nu, listed, partitionIDP(t, o.issuing, 1),
				pkix.Extension{Id: oidDeltaCRLIndicator, Critical: true, Value: []byte{0x02, 0x01, 0x01}}), false},
			{"unknown critical extension", signCRL(t, o.issuing, o.issuingKey, tu, nu, listed, partitionIDP(t, o.issuing, 1),
				pkix.Extension{Id: []int{1, 2, 3, 4}, Critical: true, Value: []byte{0x05, 0x00}}), false},
			{"no nextUpdate", noNextUpdateCRL(t, o, listed), false},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				src := &crlOverride{CRLSource: o.st}
				src.set(ca.IssuingCA, 1, tc.der)
				st, err := (&PartitionedCRL{Server: startLDAP(t, o, src)}).Check(ctx, o.moces, o.issuing, caAt)
				if tc.ok {
					wantRevoked(t, st, err, MethodLDAP, caRevokedAt, keyCompromise)
				} else {
					wantKind(t, st, err, ErrInvalid)
				}
			})
		}
	})

	t.Run("partition that the directory does not have", func(t *testing.T) {
		name, err := oces.ParseRawName(o.issuing.RawSubject)
		if err != nil {
			t.Fatal(err)
		}
		cdp, err := oces.CRLDistributionPoints(caPublicURL+"/crl/issuing.crl", name, 999)
		if err != nil {
			t.Fatal(err)
		}
		st, err := (&PartitionedCRL{Server: o.ldap}).Check(ctx, withCDP(o.poces, cdp), o.issuing, caAt)
		wantKind(t, st, err, ErrInvalid)
		if !strings.Contains(err.Error(), "noSuchObject") {
			t.Errorf("the error does not give the LDAP result: %v", err)
		}
	})

	t.Run("LDAP server unreachable or unset", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		st, err := (&PartitionedCRL{Server: addr}).Check(ctx, o.poces, o.issuing, caAt)
		wantKind(t, st, err, ErrUnreachable)
		st, err = (&PartitionedCRL{}).Check(ctx, o.poces, o.issuing, caAt)
		wantKind(t, st, err, ErrNoSource)
	})

	t.Run("CRL server unreachable", func(t *testing.T) {
		srv := newBytesServer(t)
		srv.mu.Lock()
		srv.status = http.StatusNotFound
		srv.mu.Unlock()
		st, err := (&FullCRL{HTTPClient: srv.client()}).Check(ctx, o.poces, o.issuing, caAt)
		wantKind(t, st, err, ErrUnreachable)
	})

	t.Run("crafted OCSP responses", func(t *testing.T) { testCraftedOCSP(t, o) })
	t.Run("OCSP cache honours nextUpdate and MaxAge", func(t *testing.T) { testOCSPCache(t, o) })
	t.Run("CRL cache honours nextUpdate and MaxAge", func(t *testing.T) { testCRLCache(t, o) })

	t.Run("LDAP cache honours nextUpdate", func(t *testing.T) {
		src := &crlOverride{CRLSource: o.st}
		c := &PartitionedCRL{Server: startLDAP(t, o, src)}
		for range 3 {
			st, err := c.Check(ctx, o.moces, o.issuing, caAt)
			wantRevoked(t, st, err, MethodLDAP, caRevokedAt, keyCompromise)
		}
		if n := src.count(ca.IssuingCA, 1); n != 1 {
			t.Fatalf("%d LDAP reads of the partition for three checks, want 1", n)
		}
		// Past the CRL's nextUpdate the cached CRL is not used: it is
		// fetched again (and, the directory having no newer one, refused).
		st, err := c.Check(ctx, o.moces, o.issuing, caRevokedAt.Add(12*time.Hour+time.Second))
		wantKind(t, st, err, ErrNotCurrent)
		if n := src.count(ca.IssuingCA, 1); n != 2 {
			t.Fatalf("%d LDAP reads after nextUpdate, want 2", n)
		}
	})
}

// idpWithPartition is partitionIDP with further IDP fields.
func idpWithPartition(t *testing.T, issuer *x509.Certificate, n int, more []byte) pkix.Extension {
	t.Helper()
	name, err := oces.ParseRawName(issuer.RawSubject)
	if err != nil {
		t.Fatal(err)
	}
	dn, err := oces.PartitionName(name, n)
	if err != nil {
		t.Fatal(err)
	}
	return idpWith(t, dn, more)
}

// noNextUpdateCRL is a partition CRL without nextUpdate (optional in the
// ASN.1), which crypto/x509 cannot make: it is made with a nextUpdate and
// the field is cut out of the TBS, then signed again.
func noNextUpdateCRL(t *testing.T, o *ourCA, listed []x509.RevocationListEntry) []byte {
	t.Helper()
	return resignWithout(t, signCRL(t, o.issuing, o.issuingKey, caRevokedAt, caRevokedAt.Add(12*time.Hour), listed, partitionIDP(t, o.issuing, 1)), o.issuingKey)
}
