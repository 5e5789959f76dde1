package ca_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/ca"
	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/internal/store/storetest"
	"github.com/nemid-dk/nemid/oces"
	"github.com/zmap/zlint/v3/lint"
	"golang.org/x/crypto/ocsp"
)

var oidIDP = asn1.ObjectIdentifier{2, 5, 29, 28}

// issueN issues n POCES certificates and returns them.
func (e *env) issueN(n int) []*ca.Issued {
	e.t.Helper()
	k := newKey(e.t)
	var out []*ca.Issued
	for i := 0; i < n; i++ {
		is, err := e.ca.Issue(context.Background(), ca.IssueRequest{Subject: oces.Request{Type: oces.POCES, Name: "CRL Test"}, PublicKey: k.Public()})
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, is)
	}
	return out
}

func writeDER(t *testing.T, der []byte) string {
	path := filepath.Join(t.TempDir(), "x.der")
	if err := os.WriteFile(path, der, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCRLsVerifyWithOpenSSLAndCarryThePartition(t *testing.T) {
	cfg := ca.PreprodDefaults()
	cfg.PartitionSize = 2
	e := newEnvConfig(t, storetest.OpenSQLite(t), cfg)
	ctx := context.Background()
	issued := e.issueN(3) // partitions 1, 1, 2
	revoked := issued[1]
	e.clock.Advance(time.Minute)
	if _, err := e.ca.Revoke(ctx, revoked.Record.Serial, ca.ReasonKeyCompromise); err != nil {
		t.Fatal(err)
	}
	pub, err := e.ca.NewPublisher(ca.PublishConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.PublishOnce(ctx); err != nil {
		t.Fatal(err)
	}
	root, issuing := e.exportPEM()
	chain := filepath.Join(e.dir, "chain.pem")
	rootPEM, _ := os.ReadFile(root)
	issPEM, _ := os.ReadFile(issuing)
	os.WriteFile(chain, append(issPEM, rootPEM...), 0o644)

	for _, c := range []struct {
		issuer    string
		partition int
		contains  bool
	}{{"issuing", 0, true}, {"issuing", 1, true}, {"issuing", 2, false}, {"root", 0, false}, {"root", 1, false}} {
		crl, err := e.store.CRL(ctx, c.issuer, c.partition)
		if err != nil {
			t.Fatalf("%s partition %d: %v", c.issuer, c.partition, err)
		}
		path := writeDER(t, crl.DER)
		out := openssl(t, "crl", "-inform", "DER", "-in", path, "-CAfile", chain, "-noout", "-text")
		if !strings.Contains(out, "verify OK") {
			t.Errorf("%s/%d: openssl did not verify the CRL:\n%s", c.issuer, c.partition, out)
		}
		parsed, err := x509.ParseRevocationList(crl.DER)
		if err != nil {
			t.Fatal(err)
		}
		hasIDP := false
		for _, ext := range parsed.Extensions {
			if ext.Id.Equal(oidIDP) {
				hasIDP = true
				if !ext.Critical {
					t.Errorf("%s/%d: IDP not critical", c.issuer, c.partition)
				}
				if !strings.Contains(strings.ToLower(string(ext.Value)), "crl"+itoa(c.partition)) {
					t.Errorf("%s/%d: IDP does not name the partition (OOAPI looks for it)", c.issuer, c.partition)
				}
			}
		}
		if hasIDP != (c.partition > 0) {
			t.Errorf("%s/%d: IDP present %v, want %v", c.issuer, c.partition, hasIDP, c.partition > 0)
		}
		if c.partition > 0 && !strings.Contains(out, "Issuing Distribution Point") {
			t.Errorf("%s/%d: openssl shows no IDP", c.issuer, c.partition)
		}
		if got := parsed.NextUpdate.Sub(parsed.ThisUpdate); got != ca.DefaultCRLValidity {
			t.Errorf("%s/%d: window %v, want 12h", c.issuer, c.partition, got)
		}
		found := slices.ContainsFunc(parsed.RevokedCertificateEntries, func(r x509.RevocationListEntry) bool {
			return r.SerialNumber.Cmp(revoked.Certificate.SerialNumber) == 0 && r.ReasonCode == int(ca.ReasonKeyCompromise)
		})
		if found != c.contains {
			t.Errorf("%s/%d: revoked serial listed %v, want %v", c.issuer, c.partition, found, c.contains)
		}
		findings, err := ca.LintRevocationList(crl.DER, lint.Warn)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range findings {
			t.Errorf("%s/%d: zlint %s", c.issuer, c.partition, f)
		}
	}

	// The partition CRL's IDP names exactly the directoryName in the certificate.
	crl1, _ := e.store.CRL(ctx, "issuing", 1)
	parsed, _ := x509.ParseRevocationList(crl1.DER)
	var idp []byte
	for _, ext := range parsed.Extensions {
		if ext.Id.Equal(oidIDP) {
			idp = ext.Value
		}
	}
	dn := certPartitionDN(t, revoked.Certificate)
	if !bytes.Contains(idp, dn) {
		t.Errorf("IDP does not carry the certificate's partition directoryName")
	}

	// openssl verify -crl_check: the revoked certificate is refused, a good one accepted.
	crlPEM := filepath.Join(e.dir, "crls.pem")
	full, _ := e.store.CRL(ctx, "issuing", 0)
	rootFull, _ := e.store.CRL(ctx, "root", 0)
	os.WriteFile(crlPEM, append(pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: full.DER}),
		pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: rootFull.DER})...), 0o644)
	for _, x := range []struct {
		is   *ca.Issued
		want string
	}{{revoked, "certificate revoked"}, {issued[0], ": OK"}} {
		leaf := filepath.Join(t.TempDir(), "leaf.pem")
		writePEM(t, leaf, x.is.Certificate)
		out, _ := runOpenSSL("verify", "-crl_check_all", "-CAfile", root, "-untrusted", issuing, "-CRLfile", crlPEM, leaf)
		if !strings.Contains(out, x.want) {
			t.Errorf("openssl verify -crl_check_all on %s: want %q in\n%s", x.is.Record.Serial, x.want, out)
		}
	}
}

// certPartitionDN returns the DER of the directoryName in the certificate's
// second CRL distribution point.
func certPartitionDN(t *testing.T, c *x509.Certificate) []byte {
	t.Helper()
	for _, ext := range c.Extensions {
		if !ext.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 31}) {
			continue
		}
		var dps []struct {
			Name asn1.RawValue `asn1:"optional,tag:0"`
		}
		if _, err := asn1.Unmarshal(ext.Value, &dps); err != nil || len(dps) != 2 {
			t.Fatalf("CDP: %v", err)
		}
		var full asn1.RawValue // [0] fullName
		if _, err := asn1.Unmarshal(dps[1].Name.Bytes, &full); err != nil {
			t.Fatal(err)
		}
		var dir asn1.RawValue // [4] directoryName
		if _, err := asn1.Unmarshal(full.Bytes, &dir); err != nil {
			t.Fatal(err)
		}
		return dir.Bytes
	}
	t.Fatal("no CRL distribution points")
	return nil
}

func TestCRLNumbersStrictlyIncreaseAndOnlyAffectedCRLsAreResigned(t *testing.T) {
	cfg := ca.PreprodDefaults()
	cfg.PartitionSize = 2
	e := newEnvConfig(t, storetest.OpenSQLite(t), cfg)
	ctx := context.Background()
	issued := e.issueN(5) // partitions 1,1,2,2,3
	pub, err := e.ca.NewPublisher(ca.PublishConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.PublishOnce(ctx); err != nil {
		t.Fatal(err)
	}
	before := crlNumbers(t, e)
	if len(before) != 6 { // issuing full + 3 partitions, root full + partition 1
		t.Fatalf("CRLs after the first round: %v", before)
	}
	// A second round with nothing new signs nothing.
	if err := pub.PublishOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if again := crlNumbers(t, e); !mapsEqual(again, before) {
		t.Fatalf("a quiet round re-signed CRLs: %v -> %v", before, again)
	}
	if _, err := e.ca.Revoke(ctx, issued[2].Record.Serial, ca.ReasonSuperseded); err != nil {
		t.Fatal(err)
	}
	if err := pub.PublishOnce(ctx); err != nil {
		t.Fatal(err)
	}
	after := crlNumbers(t, e)
	for k, n := range after {
		resigned := n != before[k]
		want := k == "issuing/0" || k == "issuing/2"
		if resigned != want {
			t.Errorf("%s re-signed %v, want %v (numbers %d -> %d)", k, resigned, want, before[k], n)
		}
		if resigned && n <= before[k] {
			t.Errorf("%s number went from %d to %d", k, before[k], n)
		}
	}
	// Half the validity later every CRL is re-signed, with higher numbers.
	e.clock.Advance(ca.DefaultCRLValidity/2 + time.Second)
	if err := pub.PublishOnce(ctx); err != nil {
		t.Fatal(err)
	}
	for k, n := range crlNumbers(t, e) {
		if n <= after[k] {
			t.Errorf("%s not refreshed at half its validity (%d -> %d)", k, after[k], n)
		}
	}
}

func crlNumbers(t *testing.T, e *env) map[string]int64 {
	t.Helper()
	crls, err := e.store.CRLs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, c := range crls {
		out[c.Issuer+"/"+itoa(c.Partition)] = c.Number
	}
	return out
}

func mapsEqual(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestOCSPPresignedAndLive(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t), nil)
	ctx := context.Background()
	issued := e.issueN(2)
	pub, err := e.ca.NewPublisher(ca.PublishConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.PublishOnce(ctx); err != nil {
		t.Fatal(err)
	}
	check := func(der []byte, serial *big.Int, want int) *ocsp.Response {
		t.Helper()
		r, err := ocsp.ParseResponseForCert(der, &x509.Certificate{SerialNumber: serial}, e.ca.Issuing())
		if err != nil {
			t.Fatalf("response for %x: %v", serial, err)
		}
		if r.Status != want {
			t.Fatalf("status %d, want %d", r.Status, want)
		}
		if r.Certificate == nil || !bytes.Equal(r.Certificate.Raw, e.ca.OCSPResponder().Raw) {
			t.Fatal("response not signed by the delegated responder")
		}
		return r
	}
	good := issued[0]
	stored, err := e.store.OCSPResponse(ctx, good.Record.Serial)
	if err != nil {
		t.Fatal(err)
	}
	check(stored.DER, good.Certificate.SerialNumber, ocsp.Good)

	if _, err := e.ca.Revoke(ctx, good.Record.Serial, ca.ReasonKeyCompromise); err != nil {
		t.Fatal(err)
	}
	// Until published, the stored answer is the old one; the revocation made it due.
	due, err := e.store.OCSPDue(ctx, ca.IssuingCA, e.clock.Now(), 10)
	if err != nil || len(due) != 1 || due[0].Serial != good.Record.Serial {
		t.Fatalf("due after revocation: %+v, %v", due, err)
	}
	if err := pub.PublishOnce(ctx); err != nil {
		t.Fatal(err)
	}
	stored, _ = e.store.OCSPResponse(ctx, good.Record.Serial)
	r := check(stored.DER, good.Certificate.SerialNumber, ocsp.Revoked)
	if r.RevocationReason != ocsp.KeyCompromise {
		t.Errorf("reason %d", r.RevocationReason)
	}

	// Live signing: SHA-256 CertIDs, and unknown for a serial never issued.
	live, err := e.ca.SignOCSP(ctx, issued[1].Certificate.SerialNumber, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	check(live, issued[1].Certificate.SerialNumber, ocsp.Good)
	unknown := big.NewInt(0xdeadbeef)
	live, err = e.ca.SignOCSP(ctx, unknown, crypto.SHA1)
	if err != nil {
		t.Fatal(err)
	}
	check(live, unknown, ocsp.Unknown)
	// The issuing CA's own certificate is the root's business: unknown here.
	live, err = e.ca.SignOCSP(ctx, e.ca.Issuing().SerialNumber, crypto.SHA1)
	if err != nil {
		t.Fatal(err)
	}
	check(live, e.ca.Issuing().SerialNumber, ocsp.Unknown)
}

// TestPublicationResumesAfterRestart: a revocation recorded by one process
// and never published (the process died) is published by the next one.
func TestPublicationResumesAfterRestart(t *testing.T) {
	st := storetest.OpenSQLite(t)
	e := newEnv(t, st, nil)
	ctx := context.Background()
	is := e.issueN(1)[0]
	if _, err := e.ca.Revoke(ctx, is.Record.Serial, ca.ReasonCessationOfOperation); err != nil {
		t.Fatal(err)
	}
	// "Restart": a fresh Authority over the same store and keys.
	a2, err := ca.Open(ctx, st, e.keys, e.clock)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := a2.NewPublisher(ca.PublishConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.PublishOnce(ctx); err != nil {
		t.Fatal(err)
	}
	resp, err := e.store.OCSPResponse(ctx, is.Record.Serial)
	if err != nil || resp.Status != store.StatusRevoked {
		t.Fatalf("OCSP after restart: %+v, %v", resp.Status, err)
	}
	for _, part := range []int{0, 1} {
		crl, err := e.store.CRL(ctx, ca.IssuingCA, part)
		if err != nil {
			t.Fatal(err)
		}
		parsed, _ := x509.ParseRevocationList(crl.DER)
		if len(parsed.RevokedCertificateEntries) != 1 {
			t.Errorf("partition %d CRL after restart lists %d entries, want 1", part, len(parsed.RevokedCertificateEntries))
		}
	}
	stale, _ := e.store.StaleCRLs(ctx)
	if len(stale) != 0 {
		t.Errorf("stale marks left after publishing: %+v", stale)
	}
}

// TestRealCRLsAndOursHaveTheSameShape parses the real NemID preproduction
// CRLs and compares their extension set with our full CRL's.
func TestRealCRLsAndOursHaveTheSameShape(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t), nil)
	ctx := context.Background()
	pub, _ := e.ca.NewPublisher(ca.PublishConfig{})
	if err := pub.PublishOnce(ctx); err != nil {
		t.Fatal(err)
	}
	ours, _ := e.store.CRL(ctx, ca.IssuingCA, 0)
	oursParsed, err := x509.ParseRevocationList(ours.DER)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		file, issuerCN string
		entries        int
	}{{"systemtest34.crl", "TRUST2408 Systemtest XXXIV CA", -1}, {"systemtest221.crl", "TRUST2408 Systemtest XXII CA", 4029}} {
		der, err := os.ReadFile(filepath.Join(fixtureDir, f.file))
		if err != nil {
			t.Fatalf("real CRL fixture: %v", err)
		}
		real, err := x509.ParseRevocationList(der)
		if err != nil {
			t.Fatalf("%s: %v", f.file, err)
		}
		if real.Issuer.CommonName != f.issuerCN || real.Number == nil || real.Number.Sign() <= 0 {
			t.Errorf("%s: issuer %q number %v", f.file, real.Issuer.CommonName, real.Number)
		}
		if f.entries >= 0 && len(real.RevokedCertificateEntries) != f.entries {
			t.Errorf("%s: %d entries, want %d", f.file, len(real.RevokedCertificateEntries), f.entries)
		}
		if got := real.NextUpdate.Sub(real.ThisUpdate); got != 12*time.Hour {
			t.Errorf("%s: window %v, want 12h", f.file, got)
		}
		if got, want := extensionIDs(real.Extensions), extensionIDs(oursParsed.Extensions); !slices.Equal(got, want) {
			t.Errorf("%s: extensions %v, ours %v", f.file, got, want)
		}
	}
}

func extensionIDs(exts []pkix.Extension) []string {
	var ids []string
	for _, e := range exts {
		s := e.Id.String()
		if e.Critical {
			s += " critical"
		}
		ids = append(ids, s)
	}
	slices.Sort(ids)
	return ids
}

// TestOCSPRefreshedBeforeHalfLife: a pre-signed response is due again before
// half its validity has passed, not after.
func TestOCSPRefreshedBeforeHalfLife(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t), nil)
	ctx := context.Background()
	is := e.issueN(1)[0]
	pub, err := e.ca.NewPublisher(ca.PublishConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.PublishOnce(ctx); err != nil {
		t.Fatal(err)
	}
	first, _ := e.store.OCSPResponse(ctx, is.Record.Serial)
	validity := first.NextUpdate.Sub(first.ThisUpdate)
	if validity != ca.DefaultOCSPValidity {
		t.Fatalf("validity %v, want %v", validity, ca.DefaultOCSPValidity)
	}
	e.clock.Set(first.ThisUpdate.Add(validity/2 - time.Minute))
	if err := pub.PublishOnce(ctx); err != nil {
		t.Fatal(err)
	}
	again, _ := e.store.OCSPResponse(ctx, is.Record.Serial)
	if !again.ThisUpdate.After(first.ThisUpdate) {
		t.Fatalf("response of %v not re-signed a minute before its half-life", first.ThisUpdate)
	}
}
