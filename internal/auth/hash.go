package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are the cost parameters of Argon2id password hashes.
type Argon2Params struct {
	// Memory in KiB.
	Memory uint32
	// Time is the number of passes over the memory.
	Time    uint32
	Threads uint8
}

// DefaultArgon2 is OWASP's minimum for Argon2id (Password Storage Cheat
// Sheet): 19 MiB, 2 passes, 1 lane. Raise it, never lower it: a stored
// hash with weaker parameters is re-hashed at the user's next logon.
var DefaultArgon2 = Argon2Params{Memory: 19 * 1024, Time: 2, Threads: 1}

// The salt and hash lengths of new hashes, in bytes.
const (
	saltLength = 16
	hashLength = 32
)

// Bounds on the parameters a stored hash may ask for, so that a damaged or
// forged row cannot make one verification take gigabytes or hours.
const (
	maxMemory  = 1 << 20 // 1 GiB in KiB
	maxTime    = 64
	minHashLen = 16
	maxHashLen = 64
	minSaltLen = 8
	maxSaltLen = 64
)

func (p Argon2Params) validate() error {
	switch {
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory:
		return fmt.Errorf("auth: Argon2id memory %d KiB: want 8×threads to %d", p.Memory, maxMemory)
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("auth: Argon2id time %d: want 1 to %d", p.Time, maxTime)
	case p.Threads < 1:
		return errors.New("auth: Argon2id needs at least one thread")
	}
	return nil
}

// weaker reports whether p costs less than q in any parameter, so a hash
// made with p should be re-made with q.
func (p Argon2Params) weaker(q Argon2Params) bool {
	return p.Memory < q.Memory || p.Time < q.Time || p.Threads < q.Threads
}

// phc is a parsed Argon2id hash in the PHC string format:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// with salt and hash in base64 without padding (RFC 4648 standard alphabet).
type phc struct {
	params     Argon2Params
	salt, hash []byte
}

var b64 = base64.RawStdEncoding

func (h phc) String() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, h.params.Memory, h.params.Time, h.params.Threads, b64.EncodeToString(h.salt), b64.EncodeToString(h.hash))
}

var errBadHash = errors.New("auth: stored password hash is not an Argon2id PHC string this version accepts")

// parsePHC reads a hash made by phc.String, strictly: version 19 only,
// the three parameters in order, bounded lengths.
func parsePHC(s string) (phc, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return phc{}, errBadHash
	}
	var h phc
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return phc{}, errBadHash
	}
	for i, name := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(params[i], name)
		if !ok || v == "" || (len(v) > 1 && v[0] == '0') {
			return phc{}, errBadHash
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return phc{}, errBadHash
		}
		switch i {
		case 0:
			h.params.Memory = uint32(n)
		case 1:
			h.params.Time = uint32(n)
		case 2:
			if n > 255 {
				return phc{}, errBadHash
			}
			h.params.Threads = uint8(n)
		}
	}
	if h.params.validate() != nil {
		return phc{}, errBadHash
	}
	var err error
	if h.salt, err = b64.Strict().DecodeString(parts[4]); err != nil || len(h.salt) < minSaltLen || len(h.salt) > maxSaltLen {
		return phc{}, errBadHash
	}
	if h.hash, err = b64.Strict().DecodeString(parts[5]); err != nil || len(h.hash) < minHashLen || len(h.hash) > maxHashLen {
		return phc{}, errBadHash
	}
	return h, nil
}

// Hasher makes and checks Argon2id password hashes. At most a fixed number
// of hashes run at once (each takes Memory KiB), so that a burst of logons
// queues instead of exhausting memory; a caller waiting for its turn gives
// up when its context ends. Passwords are normalised (NormalizePassword)
// before hashing: NemID passwords are case-insensitive.
type Hasher struct {
	params Argon2Params
	slots  chan struct{}
}

// NewHasher returns a hasher making hashes with params, running at most
// concurrent hashes at once (0: GOMAXPROCS, since each hash keeps one core
// busy and more at once only adds memory).
func NewHasher(params Argon2Params, concurrent int) (*Hasher, error) {
	if err := params.validate(); err != nil {
		return nil, err
	}
	if concurrent < 0 {
		return nil, fmt.Errorf("auth: %d concurrent hashes: must not be negative", concurrent)
	}
	if concurrent == 0 {
		concurrent = runtime.GOMAXPROCS(0)
	}
	return &Hasher{params: params, slots: make(chan struct{}, concurrent)}, nil
}

// Params returns the parameters of new hashes.
func (h *Hasher) Params() Argon2Params { return h.params }

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("auth: waiting to hash a password: %w", ctx.Err())
	}
}

func (h *Hasher) release() { <-h.slots }

// Hash returns the PHC string of the normalised password under a new
// random salt.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, saltLength)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: salt: %w", err)
	}
	sum, err := h.derive(ctx, password, salt, h.params, hashLength)
	if err != nil {
		return "", err
	}
	return phc{params: h.params, salt: salt, hash: sum}.String(), nil
}

// Verify reports whether password matches the stored PHC string, in
// constant time, and whether the stored hash is weaker than the hasher's
// parameters (so it should be re-made now that the password is known).
func (h *Hasher) Verify(ctx context.Context, stored, password string) (ok, rehash bool, err error) {
	p, err := parsePHC(stored)
	if err != nil {
		return false, false, err
	}
	sum, err := h.derive(ctx, password, p.salt, p.params, uint32(len(p.hash)))
	if err != nil {
		return false, false, err
	}
	if subtle.ConstantTimeCompare(sum, p.hash) != 1 {
		return false, false, nil
	}
	return true, p.params.weaker(h.params) || len(p.hash) < hashLength, nil
}

func (h *Hasher) derive(ctx context.Context, password string, salt []byte, p Argon2Params, keyLen uint32) ([]byte, error) {
	if err := h.acquire(ctx); err != nil {
		return nil, err
	}
	defer h.release()
	return argon2.IDKey([]byte(NormalizePassword(password)), salt, p.Time, p.Memory, p.Threads, keyLen), nil
}
