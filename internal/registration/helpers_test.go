package registration_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"database/sql"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/auth"
	"github.com/nemid-dk/nemid/internal/ca"
	"github.com/nemid-dk/nemid/internal/ca/keys"
	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/keyvault"
	"github.com/nemid-dk/nemid/internal/registration"
	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/internal/store/storetest"
	"github.com/nemid-dk/nemid/oces"
)

// engines are the store back-ends every test runs on.
var engines = []string{"sqlite", "postgres"}

// env is one installation: a store, a CA, the master key and the
// registration service, with a frozen clock the test moves.
type env struct {
	dir      string // data directory: master.key, keys/, root.pem, issuing.pem
	database string // "" for SQLite in dir, else the PostgreSQL URL
	st       store.Store
	mk       keys.MasterKey
	ca       *ca.Authority
	clk      *clock.Frozen
	svc      *registration.Service
}

// testKDF is the vault's cheapest allowed Argon2id (OWASP's floor), so
// that the tests spend their time on what they test.
var testKDF = keyvault.KDFParams{Memory: 19 * 1024, Time: 2, Threads: 1}

// newInstallation makes a data directory with a master key file and an
// initialised CA on the engine, and writes the root and issuing CA
// certificates as PEM files (for openssl). It returns the directory and
// the database ("" for SQLite in the directory).
func newInstallation(t testing.TB, engine string) (dir, database string) {
	t.Helper()
	dir = t.TempDir()
	if engine == "postgres" {
		database = storetest.NewPostgresSchema(t)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, database, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := keys.CreateMasterKeyFile(filepath.Join(dir, "master.key")); err != nil {
		t.Fatal(err)
	}
	mk, err := keys.LoadMasterKeyFile(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	defer mk.Close()
	if err := os.Mkdir(filepath.Join(dir, "keys"), 0o700); err != nil {
		t.Fatal(err)
	}
	kb := keys.NewFileBackend(filepath.Join(dir, "keys"), mk)
	clk := clock.NewFrozen(caStart)
	if err := ca.Initialise(ctx, st, kb, clk, ca.PreprodDefaults()); err != nil {
		t.Fatal(err)
	}
	a, err := ca.Open(ctx, st, kb, clk)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(dir, "root.pem"), a.Root().Raw)
	writePEM(t, filepath.Join(dir, "issuing.pem"), a.Issuing().Raw)
	return dir, database
}

// caStart is when the test CAs begin; the services' clocks start after it.
var caStart = time.Now().UTC().Truncate(time.Second).Add(-24 * time.Hour)

// openEnv opens the installation with a service whose clock starts at now.
func openEnv(t testing.TB, dir, database string, clk *clock.Frozen) *env {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, database, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	mk, err := keys.LoadMasterKeyFile(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mk.Close() })
	a, err := ca.Open(ctx, st, keys.NewFileBackend(filepath.Join(dir, "keys"), mk), clk)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := registration.New(ctx, registration.Config{Store: st, MasterKey: mk, CA: a, KDF: testKDF, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	return &env{dir: dir, database: database, st: st, mk: mk, ca: a, clk: clk, svc: svc}
}

// newEnv is a fresh installation on the engine, opened.
func newEnv(t testing.TB, engine string) *env {
	t.Helper()
	dir, database := newInstallation(t, engine)
	return openEnv(t, dir, database, clock.NewFrozen(caStart.Add(time.Minute)))
}

func writePEM(t testing.TB, file string, der []byte) {
	t.Helper()
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
}

// forEachEngine runs f on a fresh installation of each engine, in parallel.
func forEachEngine(t *testing.T, f func(t *testing.T, e *env)) {
	t.Parallel()
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			f(t, newEnv(t, engine))
		})
	}
}

var cprCounter atomic.Int64

// newCPR returns a valid CPR number not used before in this process.
func newCPR() string {
	for {
		n := cprCounter.Add(1)
		cpr := fmt.Sprintf("0101%02d%04d", 50+n/10000%40, n%10000)
		if oces.ValidateCPR(cpr) == nil {
			return cpr
		}
	}
}

// register registers a new user, failing the test on error.
func (e *env) register(t testing.TB, alias string) *registration.Registered {
	t.Helper()
	r, err := e.svc.Register(context.Background(), auth.OperatorActor("test"), registration.Request{
		Name: "Test Testesen", CPR: newCPR(), Alias: alias, Address: []string{"Testvej 1", "1000 København K"},
	})
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	return r
}

// logon runs StartLogon and AnswerOTP with the card and returns the flow.
func (e *env) logon(t testing.TB, userID, password string, card *auth.KeyCard) *auth.Flow {
	t.Helper()
	ctx := context.Background()
	f, err := e.svc.Auth().StartLogon(ctx, userID, password)
	if err != nil {
		t.Fatalf("StartLogon: %v", err)
	}
	code, ok := card.Code(f.KeyNumber)
	if !ok || f.CardNumber != card.Number {
		t.Fatalf("the challenge %s/%s is not on card %s", f.CardNumber, f.KeyNumber, card.Number)
	}
	if f, err = e.svc.Auth().AnswerOTP(ctx, f.ID, f.KeyNumber, code); err != nil {
		t.Fatalf("AnswerOTP: %v", err)
	}
	return f
}

// activate logs on with the temporary password and activates with pw.
func (e *env) activate(t testing.TB, nemid, temporary, pw string, card *auth.KeyCard) {
	t.Helper()
	f := e.logon(t, nemid, temporary, card)
	if f.Step != auth.StepActivate {
		t.Fatalf("after the code: step %s, want activate", f.Step)
	}
	if _, err := e.svc.Activate(context.Background(), f.ID, temporary, pw, ""); err != nil {
		t.Fatalf("Activate: %v", err)
	}
}

// signs reports whether the vault signs for the user with the password,
// checking the signature against the certificate's key; it fails the test
// on any error other than a wrong password.
func (e *env) signs(t testing.TB, userID int64, password string, cert *x509.Certificate) bool {
	t.Helper()
	digest := sha256.Sum256([]byte("the document"))
	sig, err := e.svc.Vault().Sign(context.Background(), userID, auth.NormalizePassword(password), digest[:], crypto.SHA256)
	if errors.Is(err, keyvault.ErrWrongPassword) {
		return false
	}
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if err := rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, digest[:], sig); err != nil {
		t.Fatalf("the signature does not verify with the certificate's key: %v", err)
	}
	return true
}

// currentCertificate is the user's good certificate.
func (e *env) currentCertificate(t testing.TB, nemid string) *x509.Certificate {
	t.Helper()
	c, err := e.svc.Certificate(context.Background(), nemid)
	if err != nil {
		t.Fatalf("Certificate: %v", err)
	}
	return c
}

// opensslVerify checks the certificate with `openssl verify` against the
// installation's root, with the issuing CA as untrusted intermediate.
func (e *env) opensslVerify(t testing.TB, cert *x509.Certificate) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "user.pem")
	writePEM(t, file, cert.Raw)
	out, err := exec.Command("openssl", "verify", "-CAfile", filepath.Join(e.dir, "root.pem"),
		"-untrusted", filepath.Join(e.dir, "issuing.pem"), file).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != file+": OK" {
		t.Fatalf("openssl verify: %v: %s", err, out)
	}
}

// db opens the installation's database directly, for the checks by SQL.
func (e *env) db(t testing.TB) *sql.DB {
	t.Helper()
	return rawDB(t, e.dir, e.database)
}

func rawDB(t testing.TB, dir, database string) *sql.DB {
	t.Helper()
	var (
		db  *sql.DB
		err error
	)
	if database == "" {
		db, err = sql.Open("sqlite", "file:"+filepath.Join(dir, store.DefaultFile)+"?_pragma=busy_timeout(5000)")
	} else {
		db, err = sql.Open("pgx", database)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// tableCounts counts the rows of every table of the database.
func tableCounts(t testing.TB, db *sql.DB, database string) map[string]int {
	t.Helper()
	q := `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`
	if database != "" {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name`
	}
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	if len(tables) < 10 {
		t.Fatalf("only %d tables found: %v", len(tables), tables)
	}
	out := map[string]int{}
	for _, table := range tables {
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[table] = n
	}
	return out
}

// sameCounts fails unless the two counts are equal, naming the tables that differ.
func sameCounts(t testing.TB, what string, before, after map[string]int) {
	t.Helper()
	var diff []string
	for table, n := range after {
		if before[table] != n {
			diff = append(diff, fmt.Sprintf("%s %d -> %d", table, before[table], n))
		}
	}
	slices.Sort(diff)
	if len(diff) > 0 || len(before) != len(after) {
		t.Errorf("%s changed the database: %v", what, diff)
	}
}
