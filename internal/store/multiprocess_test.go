package store_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/internal/store/storetest"
)

// The multi-process tests run this test binary several times as helper
// processes (TestHelperProcess) against one database, so that migrations,
// Initialise and AllocatePartition race across processes, not only across
// goroutines of one process (SQLite locks differently in the two cases).
const (
	helperEnv   = "NEMID_STORE_HELPER" // set in helper processes only
	databaseEnv = "NEMID_STORE_HELPER_DATABASE"
	dataDirEnv  = "NEMID_STORE_HELPER_DATADIR"
	startEnv    = "NEMID_STORE_HELPER_START" // unix nanoseconds: all helpers begin at once
)

const (
	helpers          = 4
	allocsPerHelper  = 25
	helperPartitions = 7
)

func TestMultiProcess(t *testing.T) {
	t.Parallel()
	engines := map[string]func(t *testing.T) (database, dataDir string){
		"sqlite":   func(t *testing.T) (string, string) { return "", t.TempDir() },
		"postgres": func(t *testing.T) (string, string) { return storetest.NewPostgresSchema(t), "" },
	}
	for name, newDB := range engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			database, dataDir := newDB(t)
			start := time.Now().Add(time.Second).UnixNano()
			var (
				cmds []*exec.Cmd
				outs []*bytes.Buffer
			)
			for range helpers {
				cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
				cmd.Env = append(os.Environ(), helperEnv+"=1", databaseEnv+"="+database,
					dataDirEnv+"="+dataDir, startEnv+"="+strconv.FormatInt(start, 10))
				out := new(bytes.Buffer)
				cmd.Stdout, cmd.Stderr = out, out
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				cmds, outs = append(cmds, cmd), append(outs, out)
			}
			var (
				parts []int
				inits int
			)
			for i, cmd := range cmds {
				if err := cmd.Wait(); err != nil {
					t.Fatalf("helper %d: %v\n%s", i, err, outs[i])
				}
				sc := bufio.NewScanner(outs[i])
				for sc.Scan() {
					switch f := strings.Fields(sc.Text()); {
					case len(f) == 2 && f[0] == "partition":
						p, _ := strconv.Atoi(f[1])
						parts = append(parts, p)
					case len(f) == 2 && f[0] == "initialise" && f[1] == "won":
						inits++
					}
				}
			}
			if len(parts) != helpers*allocsPerHelper {
				t.Fatalf("got %d partitions from the helpers, want %d", len(parts), helpers*allocsPerHelper)
			}
			storetest.CheckPartitions(t, parts, helperPartitions)
			if inits != 1 {
				t.Errorf("%d processes initialised, want exactly 1", inits)
			}
		})
	}
}

// TestHelperProcess is one helper of TestMultiProcess; run normally, it does nothing.
func TestHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) == "" {
		return
	}
	start, _ := strconv.ParseInt(os.Getenv(startEnv), 10, 64)
	time.Sleep(time.Until(time.Unix(0, start)))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := store.Open(ctx, os.Getenv(databaseEnv), os.Getenv(dataDirEnv))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Initialise(ctx, store.Installation{Environment: "preprod", CreatedAt: time.Now()},
		[]store.CA{{Name: "issuing", Kind: store.KindIssuing, CreatedAt: time.Now()}}, nil)
	switch {
	case err == nil:
		fmt.Println("initialise won")
	case !errors.Is(err, store.ErrAlreadyInitialised):
		t.Fatal(err)
	}
	for range allocsPerHelper {
		p, err := s.AllocatePartition(ctx, "issuing", helperPartitions)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Println("partition", p)
	}
}
