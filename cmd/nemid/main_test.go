package main_test

// End-to-end tests of the nemid binary: TestMain builds it once, and every
// test drives it with os/exec in data directories of its own, with openssl
// and sqlite3 as independent judges.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// crashWorkerEnv is set (to 1) in the crash test's worker processes.
const crashWorkerEnv = "NEMID_CRASH_WORKER"

// nemidBin is the binary under test, built by TestMain.
var nemidBin string

// scratch is a directory for the whole run (the binary, the template CA).
var scratch string

func TestMain(m *testing.M) {
	if os.Getenv(crashWorkerEnv) == "1" {
		// A crash-test worker (see crash_test.go) needs no binary.
		os.Exit(m.Run())
	}
	code, err := runMain(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cmd/nemid tests:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func runMain(m *testing.M) (int, error) {
	var err error
	scratch, err = os.MkdirTemp("", "nemid-e2e-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(scratch)
	nemidBin = filepath.Join(scratch, "nemid")
	// The test runs in the package directory: build exactly this command.
	build := exec.Command("go", "build", "-o", nemidBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return 0, fmt.Errorf("go build: %w", err)
	}
	return m.Run(), nil
}

// result is what one run of the binary did.
type result struct {
	args   []string
	stdout string
	stderr string
	code   int // exit code; -1 if killed by a signal
}

func (r result) String() string {
	return fmt.Sprintf("nemid %s\nexit %d\n--- stdout:\n%s--- stderr:\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// childEnv is the environment of every child process: ours without any
// NEMID_ setting (a developer's NEMID_DATA must not leak into a test) except
// the PostgreSQL test server's URL, plus extra.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "NEMID_") && !strings.HasPrefix(kv, "NEMID_TEST_POSTGRES=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// runner runs the binary for one test, in a working directory of its own
// (so that a forgotten --data never writes into the source tree).
type runner struct {
	t       testing.TB
	dir     string
	env     []string
	timeout time.Duration // per run; 0: two minutes (a first init generates RSA-4096 keys)
}

func newRunner(t testing.TB) *runner {
	return &runner{t: t, dir: t.TempDir()}
}

// withEnv returns a runner that adds the given NAME=value settings.
func (r *runner) withEnv(kv ...string) *runner {
	return &runner{t: r.t, dir: r.dir, env: append(append([]string(nil), r.env...), kv...), timeout: r.timeout}
}

func (r *runner) run(args ...string) result {
	r.t.Helper()
	timeout := r.timeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, nemidBin, args...)
	cmd.Dir = r.dir
	cmd.Env = childEnv(r.env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{args: args, stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			r.t.Fatalf("nemid %s: %v", strings.Join(args, " "), err)
		}
	}
	if ctx.Err() != nil {
		r.t.Errorf("nemid %s: killed after %v", strings.Join(args, " "), timeout)
	}
	return res
}

// ok runs the binary and fails the test unless it exits 0. It returns stdout.
func (r *runner) ok(args ...string) string {
	r.t.Helper()
	res := r.run(args...)
	if res.code != 0 {
		r.t.Fatalf("want exit 0:\n%s", res)
	}
	return res.stdout
}

// fail runs the binary and fails the test unless it exits non-zero with a
// message on stderr in nemid's format.
func (r *runner) fail(args ...string) result {
	r.t.Helper()
	res := r.run(args...)
	if res.code == 0 {
		r.t.Fatalf("want a non-zero exit:\n%s", res)
	}
	if !strings.Contains(res.stderr, "nemid: ") {
		r.t.Errorf("want an error message \"nemid: …\" on stderr:\n%s", res)
	}
	return res
}

// failSaying runs the binary like fail and checks that stderr mentions
// each of want. It returns the result for further checks.
func (r *runner) failSaying(args []string, want ...string) result {
	r.t.Helper()
	res := r.fail(args...)
	for _, w := range want {
		if !strings.Contains(res.stderr, w) {
			r.t.Errorf("stderr does not mention %q:\n%s", w, res)
		}
	}
	return res
}

// help runs a command that prints usage (-h, --help) and checks that it
// exits 0 and that the usage, on stdout or stderr, mentions each of want.
func (r *runner) help(args []string, want ...string) {
	r.t.Helper()
	res := r.run(args...)
	if res.code != 0 {
		r.t.Errorf("want exit 0:\n%s", res)
		return
	}
	for _, w := range want {
		if !strings.Contains(res.stdout+res.stderr, w) {
			r.t.Errorf("usage does not mention %q:\n%s", w, res)
		}
	}
}

// tool runs another program (openssl, sqlite3) that must succeed.
func tool(t testing.TB, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n--- stdout:\n%s--- stderr:\n%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

func openssl(t testing.TB, args ...string) string {
	t.Helper()
	return tool(t, "openssl", args...)
}

// The template CA: one `nemid init` for the tests that only need some
// initialised CA, each of which gets a copy (initialisation costs seconds of
// RSA-4096 key generation).
var (
	templateOnce sync.Once
	templateDir  string
	templateErr  error
)

// initialisedData returns a new data directory holding a copy of an
// initialised preprod CA.
func initialisedData(t testing.TB) string {
	t.Helper()
	templateOnce.Do(func() {
		dir := filepath.Join(scratch, "template-data")
		cmd := exec.Command(nemidBin, "init", "--data", dir)
		cmd.Dir = scratch
		cmd.Env = childEnv()
		out, err := cmd.CombinedOutput()
		if err != nil {
			templateErr = fmt.Errorf("nemid init: %v\n%s", err, out)
			return
		}
		templateDir = dir
	})
	if templateErr != nil {
		t.Fatal(templateErr)
	}
	dst := filepath.Join(t.TempDir(), "data")
	if err := copyTree(templateDir, dst); err != nil {
		t.Fatalf("copying the template CA: %v", err)
	}
	return dst
}

// copyTree copies a directory of regular files and directories, keeping
// their permission bits. SQLite's shared-memory index is not copied: it is
// rebuilt from the database and its WAL.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(target, info.Mode().Perm())
		}
		if strings.HasSuffix(path, "-shm") {
			return nil
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, info.Mode().Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}
