package audit_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/audit"
	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/store"
)

// checkSeqs fails unless got holds 1..n once each and every appender saw
// its own records in increasing order.
func checkSeqs(t *testing.T, perAppender [][]int64, n int) {
	t.Helper()
	var all []int64
	for i, seqs := range perAppender {
		if !slices.IsSorted(seqs) {
			t.Errorf("appender %d got sequence numbers out of order: %v", i, seqs)
		}
		all = append(all, seqs...)
	}
	slices.Sort(all)
	if len(all) != n {
		t.Fatalf("%d records appended, want %d", len(all), n)
	}
	for i, s := range all {
		if s != int64(i+1) {
			t.Fatalf("sequence numbers handed out (sorted): %v…; want 1 to %d, each once", all[:i+1], n)
		}
	}
}

// TestAppendConcurrent: 8 goroutines appending 50 records each make one
// chain of 400, without gaps or forks, on each engine.
func TestAppendConcurrent(t *testing.T) {
	forEachEngine(t, func(t *testing.T, fx *fixture) {
		const goroutines, each = 8, 50
		seqs := make([][]int64, goroutines)
		errs := make([]error, goroutines)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for i := range each {
					e := entry(g*each + i)
					e.Actor = audit.User(strconv.Itoa(g))
					r, err := fx.log.Append(ctx(t), e)
					if err != nil {
						errs[g] = err
						return
					}
					seqs[g] = append(seqs[g], r.Seq)
				}
			}()
		}
		close(start)
		wg.Wait()
		for g, err := range errs {
			if err != nil {
				t.Fatalf("goroutine %d: %v", g, err)
			}
		}
		checkSeqs(t, seqs, goroutines*each)
		intact(t, fx.verify(t), goroutines*each)
	})
}

// The multi-process test runs this test binary several times as helper
// processes (TestHelperAppender) appending to one database: SQLite and
// PostgreSQL serialise processes differently from goroutines.
const (
	helperEnv         = "NEMID_AUDIT_HELPER"
	helperDatabaseEnv = "NEMID_AUDIT_HELPER_DATABASE"
	helperDataDirEnv  = "NEMID_AUDIT_HELPER_DATADIR"
	helperStartEnv    = "NEMID_AUDIT_HELPER_START" // unix nanoseconds: all begin at once
	helpers           = 4
	appendsPerHelper  = 25
)

func TestAppendMultiProcess(t *testing.T) {
	for name, where := range engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			database, dataDir, _, _ := where(t)
			// Migrate once before the race, so that what races is the appends.
			st, err := store.Open(ctx(t), database, dataDir)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			start := time.Now().Add(time.Second).UnixNano()
			var (
				cmds []*exec.Cmd
				outs []*bytes.Buffer
			)
			for i := range helpers {
				cmd := exec.Command(os.Args[0], "-test.run=^TestHelperAppender$", "-test.count=1")
				cmd.Env = append(os.Environ(), helperEnv+"="+strconv.Itoa(i), helperDatabaseEnv+"="+database,
					helperDataDirEnv+"="+dataDir, helperStartEnv+"="+strconv.FormatInt(start, 10))
				out := new(bytes.Buffer)
				cmd.Stdout, cmd.Stderr = out, out
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				cmds, outs = append(cmds, cmd), append(outs, out)
			}
			seqs := make([][]int64, helpers)
			for i, cmd := range cmds {
				if err := cmd.Wait(); err != nil {
					t.Fatalf("helper %d: %v\n%s", i, err, outs[i])
				}
				sc := bufio.NewScanner(outs[i])
				for sc.Scan() {
					if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "appended" {
						n, _ := strconv.ParseInt(f[1], 10, 64)
						seqs[i] = append(seqs[i], n)
					}
				}
			}
			checkSeqs(t, seqs, helpers*appendsPerHelper)
			rep, err := audit.New(st, clock.Real{}).Verify(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			intact(t, rep, helpers*appendsPerHelper)
		})
	}
}

// TestHelperAppender is one helper of TestAppendMultiProcess; run normally, it does nothing.
func TestHelperAppender(t *testing.T) {
	id := os.Getenv(helperEnv)
	if id == "" {
		return
	}
	start, _ := strconv.ParseInt(os.Getenv(helperStartEnv), 10, 64)
	time.Sleep(time.Until(time.Unix(0, start)))
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := store.Open(c, os.Getenv(helperDatabaseEnv), os.Getenv(helperDataDirEnv))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := audit.New(st, clock.Real{})
	for i := range appendsPerHelper {
		r, err := log.Append(c, audit.Entry{Actor: audit.System, Action: audit.Unlock, Subject: audit.User("p" + id),
			Outcome: audit.Success, Detail: map[string]string{"n": strconv.Itoa(i)}})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Println("appended", r.Seq)
	}
}
