package softhsmtest

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// fatalTB records the first Fatalf and stops the goroutine, as testing.T
// does, so that NewToken's failure path can be tested.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestNewTokenWorks(t *testing.T) {
	cfg := NewToken(t)
	if cfg.TokenLabel != TokenLabel || cfg.PIN == "" || cfg.Module == "" {
		t.Fatalf("config: %v", cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("SOFTHSM2_CONF") == "" {
		t.Fatal("SOFTHSM2_CONF not set")
	}
}

// Without SoftHSM2 the helper fails, and says what to install; it never
// skips.
func TestNewTokenFailsLoudlyWithoutSoftHSM(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no softhsm2-util, no dpkg
	f := &fatalTB{TB: t}
	var wg sync.WaitGroup
	wg.Go(func() { NewToken(f) })
	wg.Wait()
	if !strings.Contains(f.msg, "install softhsm2") {
		t.Fatalf("NewToken without softhsm2-util: message %q, want it to say \"install softhsm2\"", f.msg)
	}
	if !strings.Contains((&notFoundError{}).Error(), "install softhsm2") {
		t.Fatal("missing-module message does not say to install softhsm2")
	}
}
