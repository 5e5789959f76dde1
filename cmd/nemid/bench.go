package main

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/nemid-dk/nemid/internal/audit"
	"github.com/nemid-dk/nemid/internal/auth"
	"github.com/nemid-dk/nemid/internal/idpclient"
	"github.com/nemid-dk/nemid/internal/keyvault"
	"github.com/nemid-dk/nemid/internal/registration"
	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/ooapi"
	"github.com/nemid-dk/nemid/ooapi/revocation"
)

var benchCommands = commandGroup{
	name: "bench",
	subcommands: []command{
		{"logon", "run complete key-card logons against a running nemid serve; report logons/s, latency and the bound the cryptography sets", runBenchLogon},
	},
}

// The bench's own service provider, registered in the installation on
// the first run. Its origin can never be a real page (.invalid, RFC 2606):
// only the bench, which is no browser, starts the client from it.
const (
	benchSPName       = "nemid bench"
	benchOrigin       = "http://bench.invalid"
	benchCVR          = "12345678"
	benchOrganization = "nemid bench"
	benchDir          = "bench"
)

func runBenchLogon(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlagSet("nemid bench logon [--idp URL] [--users N] [--concurrency C] [--duration D] [--json]", `
Measures how many complete logons per second a running `+"`nemid serve`"+`
sustains, and how that compares with the bound the mandatory cryptography
sets on this machine. No browser is involved: the bench is the service
provider and the client script at once.

One logon is what a user and a service provider do, end to end: the
service provider signs the parameters (ooapi), the client's server API
(/launcher/api: start, password, the key card's code) runs the flow, and
the response is validated as a service provider does with ooapi, including
the user's certificate's revocation status by OCSP at the server's /ocsp
(answers kept per certificate as ooapi's revocation.OCSP keeps them), and
trusting this installation's CA (as `+"`nemid response verify --trust ours`"+`).
Its latency runs from the parameters to the validated identity.

Setup, before any timing. The bench opens the installation the server runs
(--data, --database: give the same as to serve) and
  - registers its service provider "`+benchSPName+`" with the origin `+benchOrigin+`
    on the first run: a VOCES from the installation's CA, its key in
    <data>/`+benchDir+`/sp-key.pem (mode 0600) and certificate in
    <data>/`+benchDir+`/sp-cert.pem, reused by later runs;
  - registers --users new fictitious users ("Bench Bruger 1", …) and
    activates each through the API (temporary password, a code, a new
    random password). Their key cards and passwords stay in this process's
    memory only; the users stay registered, and nobody can log on as them
    afterwards.

Then --concurrency workers run logons for --duration, each user in one
worker at a time (a user's second logon at once would answer an older
challenge: AUTH010). A key card has 148 keys, so a user logs on at most 147
times; a run that uses up every card stops early and says so. Once a
second a progress line on stderr shows the elapsed time, the logons, the
rate and the errors.

The report: logons, logons/s, latency p50, p90 and p99 of the logons that
succeeded, and every error by kind (step and NemID code, HTTP status or
validation reason) with its first message.

The bound. After the run, in this process, the bench measures the CPU
seconds (user and system, of this process) of the cryptography no logon can
do without, at the parameters `+"`nemid serve`"+` uses:
  - one Argon2id derivation of the key vault (keyvault.DefaultKDF): the
    logon's password check, which unlocks the user's key (its signature
    then needs no second derivation); auth's own password hash
    (auth.DefaultArgon2), used only for users without a vault key, is
    measured too, for comparison;
  - one RSA-2048 PKCS#1 v1.5 signature (the user's, over SignedInfo);
  - one response validation by ooapi, without network revocation.
bound = CPUs / (the key vault's Argon2id + signature + validation) in
logons/s: one Argon2id, one RSA-2048 signature and one response validation
per logon. It is printed with the ratio measured/bound (and, for
comparison, the bound were a logon to derive twice, as it did before the
vault checked passwords). CPUs are this machine's: the bound assumes the
server and the bench share it.

--json prints the report as one JSON object.`)
	var c common
	c.register(fs)
	idpURL := fs.String("idp", "http://127.0.0.1:8080", "base `URL` of the running nemid serve (its HTTP listener)")
	users := fs.Int("users", 20, "bench users to register and activate before timing")
	concurrency := fs.Int("concurrency", 4, "logons in progress at once (at most --users)")
	duration := fs.Duration("duration", 20*time.Second, "how long to start new logons")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case *users < 1 || *users > 10000:
		return fmt.Errorf("--users %d: want 1 to 10000", *users)
	case *concurrency < 1 || *concurrency > 1000:
		return fmt.Errorf("--concurrency %d: want 1 to 1000", *concurrency)
	case *concurrency > *users:
		return fmt.Errorf("--concurrency %d needs at least as many --users (%d): each user logs on in one worker at a time, since a user's parallel logons would answer an older challenge (AUTH010)", *concurrency, *users)
	case *duration <= 0 || *duration > 24*time.Hour:
		return fmt.Errorf("--duration %v: want more than 0 and at most 24h", *duration)
	}
	base, err := benchBaseURL(*idpURL)
	if err != nil {
		return err
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 2 * *concurrency
	hc := &http.Client{Timeout: 2 * time.Minute, Transport: transport}
	if err := pingLauncher(ctx, hc, base); err != nil {
		return err
	}

	s, err := c.openServices(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	signer, err := benchServiceProvider(ctx, &c, s)
	if err != nil {
		return err
	}
	trust, err := installationTrust(ctx, s.st)
	if err != nil {
		return err
	}
	b := &bench{
		client:     &idpclient.Client{BaseURL: base, HTTP: hc},
		signer:     signer,
		challenges: &ooapi.MemoryChallenges{},
	}
	// The service provider's validation, with OCSP at the URL the users'
	// certificates name (the server's /ocsp), through the same client.
	b.validator, err = ooapi.NewValidator(ooapi.Config{Trust: trust, Challenges: b.challenges, RequestIssuers: []string{benchSPName},
		Revocation: &revocation.OCSP{HTTPClient: hc}})
	if err != nil {
		return err
	}
	if err := b.setUpUsers(ctx, s.reg, *users, *concurrency); err != nil {
		return err
	}
	defer b.forgetUsers()

	run := b.run(ctx, *concurrency, *duration, os.Stderr)
	if ctx.Err() != nil {
		return errors.New("interrupted: no report")
	}
	report := benchReport{
		Server: base, ServiceProvider: benchSPName, Users: *users, Concurrency: *concurrency,
		Duration: duration.String(), Elapsed: run.elapsed.Seconds(), Logons: len(run.latencies),
		Errors: run.errors, ErrorExamples: run.examples, StoppedEarly: run.stoppedEarly,
	}
	for _, n := range run.errors {
		report.ErrorCount += n
	}
	if run.elapsed > 0 {
		report.LogonsPerSecond = float64(report.Logons) / run.elapsed.Seconds()
	}
	if report.Logons > 0 {
		report.Latency = latencyOf(run.latencies)
		fmt.Fprintln(os.Stderr, "measuring the bound: the CPU cost of the cryptography of one logon …")
		bound, err := measureBound(ctx, trust, run.sample)
		if err != nil {
			return fmt.Errorf("measuring the bound: %w", err)
		}
		bound.Ratio = report.LogonsPerSecond / bound.LogonsPerSecond
		bound.BothArgon2id.Ratio = report.LogonsPerSecond / bound.BothArgon2id.LogonsPerSecond
		report.Bound = bound
	}
	if *asJSON {
		err = writeJSON(out, report)
	} else {
		err = report.print(out)
	}
	if err != nil {
		return err
	}
	if report.Logons == 0 {
		return errors.New("no logon succeeded: see the errors above")
	}
	return nil
}

// benchBaseURL checks --idp: an http(s) URL of a server, without a query.
func benchBaseURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("--idp %q: want the server's base URL, e.g. http://127.0.0.1:8080", s)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// pingLauncher makes sure a NemID launcher answers at base before the
// installation is touched.
func pingLauncher(ctx context.Context, hc *http.Client, base string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/launcher/ping", nil)
	if err != nil {
		return err
	}
	res, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("no server answers at %s (%v): start nemid serve first, and give its URL with --idp", base, err)
	}
	body, _ := io.ReadAll(io.LimitReader(res.Body, 64))
	res.Body.Close()
	if res.StatusCode != http.StatusOK || string(body) != "OK" {
		return fmt.Errorf("%s/launcher/ping answered HTTP %d, not the launcher's OK: is --idp a nemid serve?", base, res.StatusCode)
	}
	return nil
}

// benchServiceProvider returns the signer of the bench's service
// provider, registering it first if the installation has none.
func benchServiceProvider(ctx context.Context, c *common, s *services) (*ooapi.SPSigner, error) {
	dir := filepath.Join(c.data, benchDir)
	keyFile, certFile := filepath.Join(dir, "sp-key.pem"), filepath.Join(dir, "sp-cert.pem")
	sp, err := s.st.ServiceProviderByName(ctx, benchSPName)
	switch {
	case errors.Is(err, store.ErrNotFound):
		for _, f := range []string{keyFile, certFile} {
			if _, err := os.Lstat(f); err == nil {
				return nil, fmt.Errorf("%s exists, but this installation has no service provider %q (another database?): remove %s to let the bench register a new one", f, benchSPName, dir)
			}
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		sp, err = issueAndRegister(ctx, c, s.st, store.ServiceProvider{Name: benchSPName, Origins: []string{benchOrigin}},
			benchCVR, benchOrganization, certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("registering the bench service provider: %w", err)
		}
		if err := recordAudit(ctx, s.st, audit.Entry{Actor: audit.Operator, Action: audit.SPRegistered,
			Subject: audit.ServiceProvider(sp.ID), Outcome: audit.Success, Detail: spAuditDetail(sp)}); err != nil {
			return nil, err
		}
		fmt.Fprintf(os.Stderr, "registered the bench service provider %q (SPID %d); its key and certificate are in %s\n", benchSPName, sp.ID, dir)
	case err != nil:
		return nil, err
	}
	if sp.Disabled {
		return nil, fmt.Errorf("the bench service provider %q (SPID %d) is disabled; a disabled registration is final, so the bench cannot run on this installation", benchSPName, sp.ID)
	}
	if !slices.Contains(sp.Origins, benchOrigin) {
		return nil, fmt.Errorf("the service provider %q (SPID %d) is not the bench's: its origins do not include %s", benchSPName, sp.ID, benchOrigin)
	}
	signer, err := spSignerFor(sp, certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("the bench service provider: %w", err)
	}
	return signer, nil
}

// bench is one run: the service provider's side and the users.
type bench struct {
	client     *idpclient.Client
	signer     *ooapi.SPSigner
	challenges *ooapi.MemoryChallenges
	validator  *ooapi.Validator
	sessions   atomic.Int64
	users      []*benchUser
}

// benchUser is an activated bench user: their secrets live only here.
type benchUser struct {
	nemid, pid string
	password   string
	card       *auth.KeyCard
	// asked counts the keys of the card asked for so far (the activation
	// asked for one); when it reaches the card's size the server would
	// move on to a card the bench does not hold.
	asked int
}

func (u *benchUser) cardUsedUp() bool { return u.asked >= len(u.card.Keys) }

// setUpUsers registers n users and activates each through the API, with
// up to workers at once.
func (b *bench) setUpUsers(ctx context.Context, reg *registration.Service, n, workers int) error {
	fmt.Fprintf(os.Stderr, "registering and activating %d bench users …", n)
	b.users = make([]*benchUser, n)
	var next, done atomic.Int64
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				u, err := b.newUser(ctx, reg, i+1)
				if err != nil {
					errs <- fmt.Errorf("bench user %d: %w", i+1, err)
					next.Store(int64(n)) // the others stop too
					return
				}
				b.users[i] = u
				fmt.Fprintf(os.Stderr, "\rregistering and activating %d bench users … %d", n, done.Add(1))
			}
		}()
	}
	wg.Wait()
	fmt.Fprintln(os.Stderr)
	close(errs)
	if err := <-errs; err != nil {
		b.forgetUsers()
		return err
	}
	if ctx.Err() != nil {
		b.forgetUsers()
		return errors.New("interrupted while setting up the bench users")
	}
	return nil
}

// newUser registers "Bench Bruger i" and activates them: the temporary
// password, the code, a new random password.
func (b *bench) newUser(ctx context.Context, reg *registration.Service, i int) (*benchUser, error) {
	var r *registration.Registered
	for {
		cpr, err := demoCPR(i%2 == 0)
		if err != nil {
			return nil, err
		}
		r, err = reg.Register(ctx, operator(), registration.Request{Name: fmt.Sprintf("Bench Bruger %d", i), CPR: cpr,
			Address: []string{fmt.Sprintf("Benchvej %d", i), "1000 København K"}})
		if errors.Is(err, auth.ErrCPRRegistered) {
			continue // drawn before: draw another
		}
		if err != nil {
			return nil, err
		}
		break
	}
	u := &benchUser{nemid: r.User.NemID, pid: r.PID, card: r.Card}
	password, err := benchPassword()
	if err != nil {
		return nil, err
	}
	ps, _, err := b.signer.Logon(ooapi.LogonOptions{ClientOptions: ooapi.ClientOptions{Origin: benchOrigin}})
	if err != nil {
		return nil, err
	}
	f, a, err := b.client.Start(ctx, ps.JSON(), benchOrigin, idpclient.ModeLimited)
	if err != nil {
		return nil, err
	}
	if f == nil {
		return nil, fmt.Errorf("the server refused the bench service provider's parameters: %s (%s)", a.Code(), a.Message)
	}
	steps := []struct {
		name string
		call func() (*idpclient.Answer, error)
		want string
	}{
		{"the temporary password", func() (*idpclient.Answer, error) {
			return f.Password(ctx, u.nemid, r.TemporaryPassword, false)
		}, "otp"},
		{"the code", func() (*idpclient.Answer, error) {
			code, ok := u.card.Code(a.Key)
			if !ok || a.Card != u.card.Number {
				return nil, fmt.Errorf("the server asks for key %s of card %s, not of the user's card", a.Key, a.Card)
			}
			u.asked++
			return f.OTP(ctx, code)
		}, "activate"},
		{"the new password", func() (*idpclient.Answer, error) { return f.Activate(ctx, password, "") }, ""},
	}
	for _, st := range steps {
		if a, err = st.call(); err != nil {
			return nil, fmt.Errorf("activation, %s: %w", st.name, err)
		}
		switch {
		case st.want != "" && a.Step == st.want:
		case st.want == "" && a.Ended() && a.Code() == "":
		default:
			return nil, fmt.Errorf("activation, %s: %s", st.name, describeAnswer(a))
		}
	}
	u.password = password
	return u, nil
}

// benchPassword is a random password that keeps NemID's rules: letters
// and digits alternating (so no character four times in a row), 16 long.
func benchPassword() (string, error) {
	const letters, digits = "abcdefghijkmnpqrstuvwxyz", "23456789"
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	for i := range b {
		if i%2 == 0 {
			b[i] = letters[int(b[i])%len(letters)]
		} else {
			b[i] = digits[int(b[i])%len(digits)]
		}
	}
	return string(b), nil
}

// forgetUsers wipes the users' cards and passwords from memory.
func (b *bench) forgetUsers() {
	for _, u := range b.users {
		if u != nil {
			u.card.Wipe()
			u.password = ""
		}
	}
}

// describeAnswer says what an unexpected answer was, without secrets.
func describeAnswer(a *idpclient.Answer) string {
	switch {
	case a.Ended():
		if code := a.Code(); code != "" {
			return "the flow ended with " + string(code)
		}
		return "the flow ended with a response"
	case a.Retry != "":
		return fmt.Sprintf("asked again for %s: %s", a.Field, a.Retry)
	}
	return fmt.Sprintf("the step %q", a.Step)
}

// runResult is what the timed run measured.
type runResult struct {
	elapsed      time.Duration
	latencies    []time.Duration
	errors       map[string]int
	examples     map[string]string
	stoppedEarly string
	sample       *validationSample
}

// validationSample is one response of the run and its challenge, for
// measuring the cost of validation.
type validationSample struct {
	response  string
	challenge ooapi.Challenge
}

// logonError is a failed logon: its kind (for counting) and what happened.
type logonError struct {
	kind string
	err  error
}

func (e *logonError) Error() string { return e.err.Error() }

// run runs logons with the given number of workers until duration has
// passed (logons under way then finish) or every card is used up.
func (b *bench) run(ctx context.Context, workers int, duration time.Duration, progress io.Writer) runResult {
	pool := make(chan *benchUser, len(b.users))
	for _, u := range b.users {
		pool <- u
	}
	var (
		mu     sync.Mutex
		res    = runResult{errors: map[string]int{}, examples: map[string]string{}}
		active atomic.Int64 // users with keys left
	)
	active.Store(int64(len(b.users)))
	stop, usedUp := make(chan struct{}), make(chan struct{})
	start := time.Now()
	timer := time.AfterFunc(duration, func() { close(stop) })
	defer timer.Stop()

	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				var u *benchUser
				select {
				case <-stop:
					return
				case <-usedUp:
					return
				case <-ctx.Done():
					return
				case u = <-pool:
				}
				t0 := time.Now()
				sample, err := b.logon(ctx, u)
				took := time.Since(t0)
				mu.Lock()
				if err != nil {
					var le *logonError
					kind := "other"
					if errors.As(err, &le) {
						kind = le.kind
					}
					res.errors[kind]++
					if _, ok := res.examples[kind]; !ok {
						res.examples[kind] = err.Error()
					}
				} else {
					res.latencies = append(res.latencies, took)
					res.sample = sample
				}
				mu.Unlock()
				if u.cardUsedUp() {
					if active.Add(-1) == 0 {
						close(usedUp)
					}
					continue
				}
				pool <- u
			}
		}()
	}

	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	line := func() {
		mu.Lock()
		n, nerr := len(res.latencies), 0
		for _, c := range res.errors {
			nerr += c
		}
		mu.Unlock()
		el := time.Since(start).Seconds()
		fmt.Fprintf(progress, "\r%6.0fs  %7d logons  %7.1f logons/s  %5d errors ", el, n, float64(n)/el, nerr)
	}
	for running := true; running; {
		select {
		case <-done:
			running = false
		case <-tick.C:
			line()
		}
	}
	res.elapsed = time.Since(start)
	line()
	fmt.Fprintln(progress)
	select {
	case <-usedUp:
		res.stoppedEarly = fmt.Sprintf("after %.1f s: every bench user's key card is used up (%d users × %d logons); give more --users", res.elapsed.Seconds(), len(b.users), len(b.users[0].card.Keys)-1)
	default:
	}
	return res
}

// logon runs one complete logon of u and validates the response.
func (b *bench) logon(ctx context.Context, u *benchUser) (*validationSample, error) {
	fail := func(kind string, err error) (*validationSample, error) {
		return nil, &logonError{kind: kind, err: err}
	}
	failed := func(step string, err error) (*validationSample, error) {
		var he *idpclient.HTTPError
		var ne net.Error
		switch {
		case errors.As(err, &he):
			return fail(fmt.Sprintf("%s: HTTP %d", step, he.Status), err)
		case ctx.Err() != nil:
			return fail("interrupted", err)
		case errors.As(err, &ne) && ne.Timeout():
			return fail(step+": timeout", err)
		}
		return fail(step+": transport", err)
	}
	unexpected := func(step string, a *idpclient.Answer) (*validationSample, error) {
		kind := step + ": " + a.Step
		switch {
		case a.Ended() && a.Code() != "":
			kind = step + ": " + string(a.Code())
		case a.Ended():
			kind = step + ": an early response"
		case a.Retry != "":
			kind = step + ": retry " + a.Field
		}
		return fail(kind, fmt.Errorf("%s: %s", step, describeAnswer(a)))
	}

	session := fmt.Sprintf("bench-%d", b.sessions.Add(1))
	ps, ch, err := b.signer.Logon(ooapi.LogonOptions{ClientOptions: ooapi.ClientOptions{Origin: benchOrigin}})
	if err != nil {
		return fail("parameters", err)
	}
	if err := b.challenges.Put(ctx, session, ch); err != nil {
		return fail("parameters", err)
	}
	// A logon that fails before the validation leaves no challenge behind.
	defer b.challenges.Take(context.WithoutCancel(ctx), session)
	f, a, err := b.client.Start(ctx, ps.JSON(), benchOrigin, idpclient.ModeLimited)
	if err != nil {
		return failed("start", err)
	}
	if f == nil || a.Step != "credentials" {
		return unexpected("start", a)
	}
	if a, err = f.Password(ctx, u.nemid, u.password, false); err != nil {
		return failed("password", err)
	}
	if a.Step != "otp" {
		return unexpected("password", a)
	}
	u.asked++
	code, ok := u.card.Code(a.Key)
	if !ok || a.Card != u.card.Number {
		return fail("otp: a card the bench does not hold", fmt.Errorf("otp: the server asks for key %s of card %s, not of the user's card %s", a.Key, a.Card, u.card.Number))
	}
	if a, err = f.OTP(ctx, code); err != nil {
		return failed("otp", err)
	}
	if !a.Ended() || a.Code() != "" {
		return unexpected("otp", a)
	}
	res, err := b.validator.Logon(ctx, session, a.Done)
	if err != nil {
		kind := "validation"
		var ve *ooapi.ValidationError
		if errors.As(err, &ve) {
			kind += ": " + ve.Reason.String()
		}
		return fail(kind, err)
	}
	if res.Identity.PID != u.pid {
		return fail("validation: another identity", fmt.Errorf("the response names PID %s, not the PID of the user who logged on (%s)", res.Identity.PID, u.pid))
	}
	return &validationSample{response: a.Done, challenge: ch}, nil
}

// latencyJSON are the latency percentiles of the successful logons, in ms.
type latencyJSON struct {
	P50 float64 `json:"p50Ms"`
	P90 float64 `json:"p90Ms"`
	P99 float64 `json:"p99Ms"`
	Max float64 `json:"maxMs"`
}

// latencyOf takes the nearest-rank percentiles.
func latencyOf(d []time.Duration) *latencyJSON {
	s := slices.Clone(d)
	slices.Sort(s)
	at := func(p float64) float64 {
		i := int(math.Ceil(p/100*float64(len(s)))) - 1
		return ms(s[max(0, min(i, len(s)-1))])
	}
	return &latencyJSON{P50: at(50), P90: at(90), P99: at(99), Max: ms(s[len(s)-1])}
}

func ms(d time.Duration) float64 { return math.Round(float64(d.Microseconds())/10) / 100 }

// costJSON is the measured CPU cost of one operation.
type costJSON struct {
	What       string  `json:"what"`
	CPUSeconds float64 `json:"cpuSeconds"`
	Runs       int     `json:"runs"`
}

// boundJSON is the bound the mandatory cryptography sets.
type boundJSON struct {
	CPUs          int      `json:"cpus"`
	VaultArgon2id costJSON `json:"vaultArgon2id"`
	AuthArgon2id  costJSON `json:"authArgon2id"`
	Signature     costJSON `json:"rsaSignature"`
	Validation    costJSON `json:"validation"`
	// Uses names what one logon is taken to cost.
	Uses               string  `json:"uses"`
	CPUSecondsPerLogon float64 `json:"cpuSecondsPerLogon"`
	LogonsPerSecond    float64 `json:"logonsPerSecond"`
	// Ratio is measured logons/s over LogonsPerSecond.
	Ratio        float64        `json:"ratio"`
	BothArgon2id bothArgon2JSON `json:"withBothArgon2id"`
}

type bothArgon2JSON struct {
	CPUSecondsPerLogon float64 `json:"cpuSecondsPerLogon"`
	LogonsPerSecond    float64 `json:"logonsPerSecond"`
	Ratio              float64 `json:"ratio"`
}

// measureBound measures the CPU cost of each operation every logon must
// do and derives the bound.
func measureBound(ctx context.Context, trust *ooapi.Trust, sample *validationSample) (*boundJSON, error) {
	b := &boundJSON{CPUs: runtime.NumCPU()}
	salt := make([]byte, 16)
	rand.Read(salt)
	password := []byte("benchmark-password-7")
	kdf, hash := keyvault.DefaultKDF, auth.DefaultArgon2
	var err error
	b.VaultArgon2id, err = measureCPU(ctx, fmt.Sprintf("Argon2id of the key vault (m=%d KiB, t=%d, p=%d)", kdf.Memory, kdf.Time, kdf.Threads), func() error {
		argon2.IDKey(password, salt, kdf.Time, kdf.Memory, kdf.Threads, 32)
		return nil
	})
	if err != nil {
		return nil, err
	}
	b.AuthArgon2id, err = measureCPU(ctx, fmt.Sprintf("Argon2id of auth's password hash (m=%d KiB, t=%d, p=%d)", hash.Memory, hash.Time, hash.Threads), func() error {
		argon2.IDKey(password, salt, hash.Time, hash.Memory, hash.Threads, 32)
		return nil
	})
	if err != nil {
		return nil, err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256([]byte("<ds:SignedInfo/>"))
	b.Signature, err = measureCPU(ctx, "RSA-2048 PKCS#1 v1.5 signature (SHA-256)", func() error {
		_, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:])
		return err
	})
	if err != nil {
		return nil, err
	}
	challenges := &ooapi.MemoryChallenges{}
	v, err := ooapi.NewValidator(ooapi.Config{Trust: trust, Revocation: revocation.None(), Challenges: challenges, RequestIssuers: []string{benchSPName}})
	if err != nil {
		return nil, err
	}
	b.Validation, err = measureCPU(ctx, "response validation by ooapi (no network revocation)", func() error {
		if err := challenges.Put(ctx, "s", sample.challenge); err != nil {
			return err
		}
		_, err := v.Logon(ctx, "s", sample.response)
		return err
	})
	if err != nil {
		return nil, err
	}
	b.Uses = "one Argon2id (the key vault's), one RSA-2048 signature, one response validation"
	b.CPUSecondsPerLogon = b.VaultArgon2id.CPUSeconds + b.Signature.CPUSeconds + b.Validation.CPUSeconds
	b.LogonsPerSecond = float64(b.CPUs) / b.CPUSecondsPerLogon
	b.BothArgon2id.CPUSecondsPerLogon = b.CPUSecondsPerLogon + b.AuthArgon2id.CPUSeconds
	b.BothArgon2id.LogonsPerSecond = float64(b.CPUs) / b.BothArgon2id.CPUSecondsPerLogon
	return b, nil
}

// measureCPU runs op (after one run to warm up) at least 5 times and for
// at least a second, and returns the CPU seconds of this process per run:
// what the operation costs, including the garbage collection of what it
// allocates, whatever else the machine is busy with.
func measureCPU(ctx context.Context, what string, op func() error) (costJSON, error) {
	if err := op(); err != nil {
		return costJSON{}, fmt.Errorf("%s: %w", what, err)
	}
	runtime.GC()
	cpu0, err := processCPU()
	if err != nil {
		return costJSON{}, err
	}
	start, runs := time.Now(), 0
	for runs < 5 || time.Since(start) < time.Second {
		if err := ctx.Err(); err != nil {
			return costJSON{}, err
		}
		if err := op(); err != nil {
			return costJSON{}, fmt.Errorf("%s: %w", what, err)
		}
		runs++
	}
	cpu1, err := processCPU()
	if err != nil {
		return costJSON{}, err
	}
	return costJSON{What: what, CPUSeconds: (cpu1 - cpu0).Seconds() / float64(runs), Runs: runs}, nil
}

// processCPU is the user and system CPU time this process has used.
func processCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("reading this process's CPU time: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// benchReport is what `nemid bench logon` prints.
type benchReport struct {
	Server          string            `json:"server"`
	ServiceProvider string            `json:"serviceProvider"`
	Users           int               `json:"users"`
	Concurrency     int               `json:"concurrency"`
	Duration        string            `json:"duration"`
	Elapsed         float64           `json:"elapsedSeconds"`
	Logons          int               `json:"logons"`
	LogonsPerSecond float64           `json:"logonsPerSecond"`
	Latency         *latencyJSON      `json:"latency,omitempty"`
	ErrorCount      int               `json:"errorCount"`
	Errors          map[string]int    `json:"errors"`
	ErrorExamples   map[string]string `json:"errorExamples,omitempty"`
	StoppedEarly    string            `json:"stoppedEarly,omitempty"`
	Bound           *boundJSON        `json:"bound,omitempty"`
}

func (r *benchReport) print(out io.Writer) error {
	w := &errWriter{w: out}
	w.printf("Logons against %s (service provider %q, %d users, concurrency %d, %s)\n", r.Server, r.ServiceProvider, r.Users, r.Concurrency, r.Duration)
	w.printf("  logons      %d in %.1f s: %.2f logons/s\n", r.Logons, r.Elapsed, r.LogonsPerSecond)
	if r.Latency != nil {
		w.printf("  latency     p50 %.0f ms   p90 %.0f ms   p99 %.0f ms   max %.0f ms\n", r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.Max)
	}
	w.printf("  errors      %d\n", r.ErrorCount)
	kinds := make([]string, 0, len(r.Errors))
	for k := range r.Errors {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool {
		return r.Errors[kinds[i]] > r.Errors[kinds[j]] || r.Errors[kinds[i]] == r.Errors[kinds[j]] && kinds[i] < kinds[j]
	})
	for _, k := range kinds {
		w.printf("    %6d  %s (first: %s)\n", r.Errors[k], k, r.ErrorExamples[k])
	}
	if r.StoppedEarly != "" {
		w.printf("  stopped early %s\n", r.StoppedEarly)
	}
	if b := r.Bound; b != nil {
		w.printf("\nThe bound: CPU time per logon of the cryptography every logon must do, measured in this process (%d CPUs)\n", b.CPUs)
		for _, c := range []costJSON{b.VaultArgon2id, b.AuthArgon2id, b.Signature, b.Validation} {
			w.printf("  %-62s %8.2f ms  (%d runs)\n", c.What, c.CPUSeconds*1000, c.Runs)
		}
		w.printf("  bound = %d CPUs / %.2f ms (%s) = %.2f logons/s\n", b.CPUs, b.CPUSecondsPerLogon*1000, b.Uses, b.LogonsPerSecond)
		w.printf("  measured / bound = %.2f\n", b.Ratio)
		w.printf("  with both Argon2id (%.2f ms a logon): bound %.2f logons/s, measured / bound = %.2f\n",
			b.BothArgon2id.CPUSecondsPerLogon*1000, b.BothArgon2id.LogonsPerSecond, b.BothArgon2id.Ratio)
	}
	return w.err
}

// errWriter keeps the first write error, so a report is printed without
// checking every line.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
