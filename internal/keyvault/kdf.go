package keyvault

import (
	"context"
	"fmt"

	"golang.org/x/crypto/argon2"
)

// KDFParams are the Argon2id parameters that turn a password into the
// inner layer's key. Every blob stores the parameters it was made with, so
// they can be raised: a blob made with weaker ones than the vault's is
// re-wrapped with the vault's at the next Sign or ChangePassword.
type KDFParams struct {
	// Memory in KiB.
	Memory uint32
	// Time is the number of passes over the memory.
	Time uint32
	// Threads is the parallelism (lanes). Each derivation runs this many
	// goroutines; the vault bounds concurrent derivations, not threads.
	Threads uint8
}

// DefaultKDF is what the vault uses unless configured otherwise: 64 MiB,
// 1 pass, 1 lane. It is above OWASP's floor (19 MiB with 2 passes, or
// 46 MiB with 1) in memory, the dimension that makes guessing on GPUs and
// ASICs expensive; one lane keeps one derivation on one core, so that the
// concurrency bound (default 2 × GOMAXPROCS) is also a CPU bound. It costs
// about 95 ms on this project's 2-core test machine; docs/keyvault.md has
// the reasoning and the measurements.
var DefaultKDF = KDFParams{Memory: 64 * 1024, Time: 1, Threads: 1}

// The bounds every parameter set, configured or read from a blob, must
// keep. The floor is OWASP's password-storage minimum; the ceiling stops a
// forged blob (or a typo) from asking for more memory than a server has.
const (
	minMemoryTwoPasses = 19 * 1024 // KiB, with Time >= 2
	minMemoryOnePass   = 46 * 1024 // KiB, with Time == 1
	maxMemory          = 1024 * 1024
	maxTime            = 16
	maxThreads         = 16
)

// Validate reports whether p is within the bounds the vault accepts:
// OWASP's minimum (m ≥ 19 MiB with t ≥ 2, or m ≥ 46 MiB with t = 1),
// at most 1 GiB, 16 passes and 16 lanes.
func (p KDFParams) Validate() error {
	switch {
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("Argon2id time %d: want 1 to %d", p.Time, maxTime)
	case p.Threads < 1 || p.Threads > maxThreads:
		return fmt.Errorf("Argon2id parallelism %d: want 1 to %d", p.Threads, maxThreads)
	case p.Memory > maxMemory:
		return fmt.Errorf("Argon2id memory %d KiB: at most %d KiB (1 GiB)", p.Memory, maxMemory)
	case p.Time == 1 && p.Memory < minMemoryOnePass:
		return fmt.Errorf("Argon2id memory %d KiB with 1 pass: below OWASP's minimum of %d KiB (46 MiB)", p.Memory, minMemoryOnePass)
	case p.Memory < minMemoryTwoPasses:
		return fmt.Errorf("Argon2id memory %d KiB: below OWASP's minimum of %d KiB (19 MiB)", p.Memory, minMemoryTwoPasses)
	}
	return nil
}

// weakerThan reports whether a blob made with p should be re-wrapped with q.
func (p KDFParams) weakerThan(q KDFParams) bool {
	return p.Memory < q.Memory || p.Time < q.Time
}

func (p KDFParams) String() string {
	return fmt.Sprintf("Argon2id m=%d KiB t=%d p=%d", p.Memory, p.Time, p.Threads)
}

// deriveFunc derives the key-encryption key; a field of Vault so that a
// test can watch how many derivations run at once.
type deriveFunc func(password, salt []byte, p KDFParams) []byte

func argon2id(password, salt []byte, p KDFParams) []byte {
	return argon2.IDKey(password, salt, p.Time, p.Memory, p.Threads, kekLen)
}

// derive runs one derivation under the concurrency bound: it waits for a
// slot (giving up if ctx ends first), derives, and frees the slot. The
// bound is what keeps a burst of logons from allocating Memory × burst.
func (v *Vault) derive(ctx context.Context, password, salt []byte, p KDFParams) ([]byte, error) {
	select {
	case v.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("keyvault: waiting to derive a key: %w", ctx.Err())
	}
	defer func() { <-v.slots }()
	// A caller that gave up while the slot was being granted still gets no
	// work done on its behalf.
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("keyvault: waiting to derive a key: %w", err)
	}
	return v.kdf(password, salt, p), nil
}
