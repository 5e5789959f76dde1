package storetest

import (
	"errors"
	"sort"
	"sync"
	"testing"

	"github.com/nemid-dk/nemid/internal/store"
)

// parallel runs f(i) for i in [0, n) in n goroutines released at once, and
// returns their errors.
func parallel(n int, f func(i int) error) []error {
	errs := make([]error, n)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(n)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			errs[i] = f(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return errs
}

func testInitialiseConcurrent(t *testing.T, s store.Store) {
	const n = 10
	errs := parallel(n, func(i int) error {
		inst := installation()
		inst.Config = []byte{byte(i)}
		return s.Initialise(ctx(t), inst, authorities(), nil)
	})
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won >= 0:
			t.Fatalf("Initialise succeeded twice (callers %d and %d)", won, i)
		case err == nil:
			won = i
		case !errors.Is(err, store.ErrAlreadyInitialised):
			t.Errorf("caller %d: %v, want ErrAlreadyInitialised", i, err)
		}
	}
	if won < 0 {
		t.Fatal("no Initialise succeeded")
	}
	inst, err := s.Installation(ctx(t))
	if err != nil || len(inst.Config) != 1 || int(inst.Config[0]) != won {
		t.Fatalf("Installation = %+v, %v; want the winner's (%d)", inst, err, won)
	}
	if cas, err := s.CAs(ctx(t)); err != nil || len(cas) != len(authorities()) {
		t.Fatalf("CAs = %d, %v; want %d", len(cas), err, len(authorities()))
	}
}

func testAllocatePartitionConcurrent(t *testing.T, s store.Store) {
	const n, size = 50, 7
	got := make([]int, n)
	errs := parallel(n, func(i int) error {
		var err error
		got[i], err = s.AllocatePartition(ctx(t), "issuing", size)
		return err
	})
	for _, err := range errs {
		if err != nil {
			t.Fatalf("AllocatePartition: %v", err)
		}
	}
	CheckPartitions(t, got, size)
}

// CheckPartitions fails the test unless the partitions handed out by
// AllocatePartition with one size are numbered from 1 without gaps, each
// full (size places) but the last.
func CheckPartitions(t testing.TB, got []int, size int) {
	t.Helper()
	sort.Ints(got)
	for i, p := range got {
		if want := i/size + 1; p != want {
			t.Fatalf("place %d went to partition %d, want %d (sorted: %v)", i, p, want, got)
		}
	}
}

func testRevokeConcurrent(t *testing.T, s store.Store) {
	insert(t, s, cert("feed", "issuing", 1))
	reasons := []int{0, 1, 2, 3, 4, 5, 9, 10}
	const n = 20
	errs := parallel(n, func(i int) error {
		_, err := s.Revoke(ctx(t), "feed", t0, reasons[i%len(reasons)])
		return err
	})
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won >= 0:
			t.Fatalf("Revoke succeeded twice (callers %d and %d)", won, i)
		case err == nil:
			won = i
		case !errors.Is(err, store.ErrAlreadyRevoked):
			t.Errorf("caller %d: %v, want ErrAlreadyRevoked", i, err)
		}
	}
	if won < 0 {
		t.Fatal("no Revoke succeeded")
	}
	c, err := s.Certificate(ctx(t), "feed")
	if err != nil || c.Status != store.StatusRevoked || c.Reason != reasons[won%len(reasons)] {
		t.Fatalf("Certificate = %+v, %v; want revoked with the winner's reason %d", c, err, reasons[won%len(reasons)])
	}
}
