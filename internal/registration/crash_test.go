package registration_test

// The crash test: "Kill -9 during 100 registrations, then restart: each
// user exists completely or not at all (no user without a card, key or
// certificate; no certificate without a user)."
//
// A worker (this test binary run again, TestCrashWorker) registers users
// through the domain API, two at a time, on an installation the parent
// made, and prints each registration after Register returned: its
// acknowledgement. The parent kills it with SIGKILL after a random number
// of acknowledgements or after a random delay (landing anywhere: in the key
// generation, the CA's signature, or the store's transaction), starts
// another, and finally checks the database by SQL.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"database/sql"
	"fmt"
	mathrand "math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/auth"
	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/registration"
	"github.com/nemid-dk/nemid/oces"
)

const (
	crashWorkerEnv   = "NEMID_REGISTRATION_CRASH_WORKER"
	crashDataEnv     = "NEMID_REGISTRATION_CRASH_DATA"
	crashDatabaseEnv = "NEMID_REGISTRATION_CRASH_DATABASE"

	crashMinAcked   = 100 // acknowledged registrations, in all
	crashMinKills   = 12
	crashWorkerMax  = 400 // registrations a worker makes at most (its parent may have died)
	crashParallel   = 2   // registrations a worker runs at once
	crashLettersPer = 2
)

// TestCrashWorker is the worker. It does nothing unless run by TestCrash.
func TestCrashWorker(t *testing.T) {
	if os.Getenv(crashWorkerEnv) != "1" {
		return
	}
	e := openEnv(t, os.Getenv(crashDataEnv), os.Getenv(crashDatabaseEnv), clock.NewFrozen(time.Now()))
	fmt.Fprintln(os.Stdout, "ready")
	var (
		mu   sync.Mutex // one line per write: an acknowledgement is never cut into another
		wg   sync.WaitGroup
		next = make(chan int)
	)
	for range crashParallel {
		wg.Go(func() {
			for i := range next {
				r, err := e.svc.Register(context.Background(), auth.OperatorActor("crash"), registration.Request{
					Name: fmt.Sprintf("Crash Test %d", i), CPR: crashCPR(), Address: []string{"Nedbrudsvej 9", "9000 Aalborg"},
				})
				if err != nil {
					mu.Lock()
					fmt.Fprintf(os.Stdout, "error %v\n", err)
					mu.Unlock()
					os.Exit(3)
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "registered %d %s\n", r.User.ID, r.User.NemID)
				mu.Unlock()
			}
		})
	}
	for i := range crashWorkerMax {
		next <- i
	}
	close(next)
	wg.Wait()
}

// crashCPR is a random valid CPR number: workers in turn must not repeat
// one another's (a repeat would be refused, correctly, as registered).
func crashCPR() string {
	for {
		cpr := fmt.Sprintf("%02d%02d%02d%04d", 1+mathrand.IntN(28), 1+mathrand.IntN(12), mathrand.IntN(100), mathrand.IntN(10000))
		if oces.ValidateCPR(cpr) == nil {
			return cpr
		}
	}
}

func TestCrash(t *testing.T) {
	t.Parallel()
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			crashTest(t, engine)
		})
	}
}

func crashTest(t *testing.T, engine string) {
	start := time.Now()
	dir, database := newInstallation(t, engine)
	seed := uint64(time.Now().UnixNano())
	rng := mathrand.New(mathrand.NewPCG(seed, 0))
	t.Logf("seed %d", seed)
	acked := map[int64]string{} // user ID -> NemID number
	deadline := time.Now().Add(4 * time.Minute)
	rounds, byTime := 0, 0
	for ; len(acked) < crashMinAcked || rounds < crashMinKills; rounds++ {
		if time.Now().After(deadline) {
			t.Fatalf("too slow: %d rounds, %d registrations acknowledged in 4 minutes", rounds, len(acked))
		}
		// Even rounds kill after a number of acknowledgements (just after
		// one returned), odd rounds after a random delay (anywhere).
		var kill killAfter
		if rounds%2 == 0 {
			kill.lines = 3 + rng.IntN(14)
		} else {
			kill.delay = time.Duration(20+rng.IntN(1500)) * time.Millisecond
			byTime++
		}
		crashRound(t, rounds, kill, acked, []string{crashWorkerEnv + "=1", crashDataEnv + "=" + dir, crashDatabaseEnv + "=" + database})
	}
	t.Logf("%d workers killed (%d at a random time), %d registrations acknowledged, in %v",
		rounds, byTime, len(acked), time.Since(start).Round(time.Millisecond))

	// Restart: the store opens (and migrates) on what the kills left, and
	// every invariant holds by SQL.
	e := openEnv(t, dir, database, clock.NewFrozen(time.Now()))
	users := checkRegistrationInvariants(t, e.db(t), acked)
	t.Logf("%d users in the store (%d acknowledged)", users, len(acked))
	if rep, err := e.svc.AuditLog().Verify(context.Background()); err != nil || rep.Problem != nil {
		t.Errorf("audit verify after the crashes: %+v, %v", rep, err)
	}

	// And the installation works on: a registration, its activation, a signature.
	r := e.register(t, "")
	e.opensslVerify(t, r.Certificate)
	e.activate(t, r.User.NemID, r.TemporaryPassword, "Efter2026", r.Card)
	if !e.signs(t, r.User.ID, "Efter2026", r.Certificate) {
		t.Error("no signature after the crashes")
	}
}

type killAfter struct {
	lines int
	delay time.Duration
}

// crashRound runs one worker and kills it.
func crashRound(t *testing.T, round int, kill killAfter, acked map[int64]string, env []string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashWorker$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		br := bufio.NewReader(stdout)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return // a line cut short is no acknowledgement
			}
			lines <- strings.TrimSuffix(line, "\n")
		}
	}()
	var other []string
	record := func(l string) bool {
		f := strings.Fields(l)
		if len(f) != 3 || f[0] != "registered" {
			other = append(other, l)
			return false
		}
		id, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			t.Fatalf("worker line %q", l)
		}
		if _, dup := acked[id]; dup {
			t.Errorf("user %d acknowledged twice", id)
		}
		acked[id] = f[2]
		return true
	}
	fail := func(format string, args ...any) {
		cmd.Process.Kill()
		for l := range lines {
			other = append(other, l)
		}
		cmd.Wait()
		t.Fatalf("round %d: %s\n--- stdout:\n%s\n--- stderr:\n%s", round, fmt.Sprintf(format, args...),
			strings.Join(other, "\n"), stderr.String())
	}
	timeout := time.After(90 * time.Second)
	for ready := false; !ready; {
		select {
		case l, ok := <-lines:
			if !ok {
				fail("the worker exited before it was ready")
			}
			ready = l == "ready"
			if !ready {
				other = append(other, l)
			}
		case <-timeout:
			fail("the worker was not ready within 90 s")
		}
	}
	var timer <-chan time.Time
	if kill.delay > 0 {
		timer = time.After(kill.delay)
	}
loop:
	for n := 0; ; {
		select {
		case l, ok := <-lines:
			if !ok {
				fail("the worker exited before it was killed")
			}
			if record(l) {
				n++
			}
			if kill.lines > 0 && n >= kill.lines {
				break loop
			}
		case <-timer:
			break loop
		case <-timeout:
			fail("the worker was not killed within 90 s")
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for l := range lines { // what it wrote before it died was acknowledged too
		record(l)
	}
	cmd.Wait()
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("round %d: want the worker killed by SIGKILL, got %v\n--- stdout:\n%s\n--- stderr:\n%s",
			round, cmd.ProcessState, strings.Join(other, "\n"), stderr.String())
	}
}

// checkRegistrationInvariants checks by SQL that every user is complete
// and nothing exists without its user, and that every acknowledged user
// exists. It returns the number of users.
func checkRegistrationInvariants(t *testing.T, db *sql.DB, acked map[int64]string) int {
	t.Helper()
	// Each query counts the rows that break one invariant: all must be 0.
	for _, c := range []struct{ what, query string }{
		{"users without exactly one current key card",
			`SELECT COUNT(*) FROM users u WHERE (SELECT COUNT(*) FROM key_cards c WHERE c.user_id = u.id AND c.status = 'current') <> 1`},
		{"users whose current key card has not 148 keys",
			`SELECT COUNT(*) FROM users u WHERE (SELECT COUNT(*) FROM key_card_keys k JOIN key_cards c ON c.card_number = k.card_number
			  WHERE c.user_id = u.id AND c.status = 'current') <> 148`},
		{"users without exactly one active vault key",
			`SELECT COUNT(*) FROM users u WHERE (SELECT COUNT(*) FROM vault_keys v WHERE v.user_id = u.id AND v.state = 'active') <> 1`},
		{"users without exactly one good POCES for their active key",
			`SELECT COUNT(*) FROM users u WHERE (SELECT COUNT(*) FROM user_certificates uc
			  JOIN certificates c ON c.serial = uc.serial
			  JOIN vault_keys v ON v.user_id = uc.user_id AND v.version = uc.key_version
			  WHERE uc.user_id = u.id AND c.status = 'good' AND c.profile = 'poces' AND v.state = 'active') <> 1`},
		{"users without exactly two letters",
			`SELECT COUNT(*) FROM users u WHERE (SELECT COUNT(*) FROM outbox o WHERE o.user_id = u.nemid_number) <> ` + strconv.Itoa(crashLettersPer)},
		{"users without a PID linked to their CPR number",
			`SELECT COUNT(*) FROM users u WHERE u.pid IS NULL OR NOT EXISTS
			  (SELECT 1 FROM cpr_links l WHERE l.identity = 'PID:' || u.pid AND l.cpr = u.cpr)`},
		{"users without their creation event",
			`SELECT COUNT(*) FROM users u WHERE NOT EXISTS (SELECT 1 FROM user_events e WHERE e.user_id = u.id AND e.from_state = '')`},
		{"POCES certificates without a user",
			`SELECT COUNT(*) FROM certificates c WHERE c.profile = 'poces' AND NOT EXISTS (SELECT 1 FROM user_certificates uc WHERE uc.serial = c.serial)`},
		{"vault keys without a user",
			`SELECT COUNT(*) FROM vault_keys v WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = v.user_id)`},
		{"letters without a user",
			`SELECT COUNT(*) FROM outbox o WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.nemid_number = o.user_id)`},
		{"PID links without a user",
			`SELECT COUNT(*) FROM cpr_links l WHERE NOT EXISTS (SELECT 1 FROM users u WHERE 'PID:' || u.pid = l.identity)`},
	} {
		var n int
		if err := db.QueryRow(c.query).Scan(&n); err != nil {
			t.Fatalf("%s: %v", c.what, err)
		}
		if n != 0 {
			t.Errorf("%d %s", n, c.what)
		}
	}
	// The certificate certifies the vault key: the same public key.
	rows, err := db.Query(`SELECT u.id, u.nemid_number, v.public_key, c.der FROM users u
	  JOIN vault_keys v ON v.user_id = u.id AND v.state = 'active'
	  JOIN user_certificates uc ON uc.user_id = u.id AND uc.key_version = v.version
	  JOIN certificates c ON c.serial = uc.serial AND c.status = 'good'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	present := map[int64]string{}
	for rows.Next() {
		var (
			id        int64
			nemid     string
			spki, der []byte
		)
		if err := rows.Scan(&id, &nemid, &spki, &der); err != nil {
			t.Fatal(err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatalf("user %d: certificate: %v", id, err)
		}
		if !bytes.Equal(cert.RawSubjectPublicKeyInfo, spki) {
			t.Errorf("user %d: the certificate's public key is not the vault key's", id)
		}
		present[id] = nemid
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var users int
	if err := db.QueryRow(`SELECT COUNT(*) FROM users`).Scan(&users); err != nil {
		t.Fatal(err)
	}
	if users != len(present) {
		t.Errorf("%d users, %d of them complete", users, len(present))
	}
	for id, nemid := range acked {
		if present[id] != nemid {
			t.Errorf("acknowledged user %d (%s) is missing or incomplete", id, nemid)
		}
	}
	return users
}
