// Package audit is NemID's tamper-evident audit log: every security event
// (registration, logon attempt, one-time code, lock, block, reset, issuance,
// revocation, service-provider change) is appended as one record to a single
// hash chain, and Verify finds the first record that was changed, removed,
// reordered or cut off since.
//
// # Records
//
// An Entry says who did what to what, and how it ended: Actor, Action (one of
// a closed set), Subject, Outcome (success, failure or refused, with an
// optional NemID error code such as LOCK001) and a small Detail map of
// non-secret strings. There is no free-form message, and an entry that could
// carry a secret is refused (see Entry.Validate). Append adds the time from
// the log's clock, the next sequence number (1, 2, 3, … without gaps), the
// previous record's hash and the record's own hash.
//
// # The hash (encoding version 1)
//
// A record's Hash is the lower-case hexadecimal SHA-256 of its encoding, a
// sequence of fields each written as
//
//	<length of the value in bytes, decimal> ":" <the value's bytes> "\n"
//
// in this order:
//
//  1. the format tag "nemid-audit-v1"
//  2. Seq, decimal without leading zeros
//  3. PrevHash: 64 lower-case hexadecimal digits; for the first record the
//     genesis value, 64 zeros ("0" × 64)
//  4. At: unix time in microseconds (UTC), decimal
//  5. Actor
//  6. Action
//  7. Subject
//  8. Outcome
//  9. Code ("" when there is none, encoded as "0:\n")
//  10. the number of Detail entries, decimal
//  11. each Detail entry as two fields, key then value, in ascending byte
//     order of the keys
//
// Strings are UTF-8. The length prefixes make the encoding unambiguous
// whatever the values contain, so an auditor can recompute every hash from
// the database rows with any tool (docs/audit.md shows one in Python), and
// the tag makes a future encoding a different text, never a reinterpretation.
// The stored columns are the fields themselves: seq, version, at (unix
// microseconds), actor, action, subject, outcome, code, detail (a JSON object
// of strings), prev_hash and hash.
//
// # Concurrency
//
// Appends are serialised on the chain's head inside the store (a row lock on
// PostgreSQL, the single writer on SQLite), so any number of goroutines and
// processes sharing one database append to one linear chain.
//
// # Limits
//
// The chain proves the log consistent with itself and with any head known
// from elsewhere, not with nothing: whoever can write the database can
// delete the newest records and move the head row back, or rewrite the whole
// chain from some record on with fresh hashes (no key is involved). Both are
// found only by comparing with a head recorded outside the database — write
// down `nemid audit head` regularly and pass it to Verify (`nemid audit
// verify --head SEQ:HASH`).
package audit

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/nemid-dk/nemid/internal/clock"
	"github.com/nemid-dk/nemid/internal/store"
)

// Version is the hash encoding Append writes (see the package doc).
const Version = 1

// Genesis is the hash the first record chains from: 64 zeros.
const Genesis = store.AuditGenesis

// Outcome is how the audited operation ended.
type Outcome string

// The outcomes.
const (
	// Success: the operation was done.
	Success Outcome = "success"
	// Failure: it was tried and failed, e.g. a wrong password or code.
	Failure Outcome = "failure"
	// Refused: it was not tried, e.g. a locked user or a disabled service provider.
	Refused Outcome = "refused"
)

// Who acts when no user or service provider does.
const (
	// Operator is the operator at the command line or in the back office.
	Operator = "operator"
	// System is nemid itself, e.g. an automatic key-card order or a quarantine that ran out.
	System = "system"
)

// User refers to a user by the internal user ID (never a CPR number, which
// Validate refuses), as an Actor or a Subject: "user:<id>".
func User(id string) string { return "user:" + id }

// ServiceProvider refers to a service provider by its SPID, as an Actor or a
// Subject: "sp:<id>".
func ServiceProvider(id int64) string { return "sp:" + strconv.FormatInt(id, 10) }

// Certificate refers to a certificate by its serial (lower-case hex), as a
// Subject: "cert:<serial>".
func Certificate(serial string) string { return "cert:" + serial }

// Entry is what a caller appends: one security event.
type Entry struct {
	// Actor is who acted: Operator, System, User(id) or ServiceProvider(id).
	Actor string `json:"actor"`
	// Action is what happened.
	Action Action `json:"action"`
	// Subject is what it happened to, as "kind:id", e.g. "user:17" or "cert:4f3a…".
	Subject string `json:"subject"`
	// Outcome is how it ended.
	Outcome Outcome `json:"outcome"`
	// Code is the NemID error code the outcome carries (e.g. LOCK001), or
	// "". Only a failure or a refusal has one.
	Code string `json:"code,omitempty"`
	// Detail holds a few more facts, none secret (see Validate).
	Detail map[string]string `json:"detail,omitempty"`
}

// Record is an appended Entry with its place in the chain.
type Record struct {
	Seq int64 `json:"seq"`
	// Version is the hash encoding the record was written with.
	Version int `json:"version"`
	// At is when it was appended, from the log's clock, to the microsecond, in UTC.
	At time.Time `json:"at"`
	Entry
	// PrevHash is the previous record's Hash (Genesis for the first).
	PrevHash string `json:"prev_hash"`
	// Hash is the SHA-256 of the record's encoding, in lower-case hex.
	Hash string `json:"hash"`
}

// Head is the end of the chain: the last record's Seq and Hash, or 0 and
// Genesis while the log is empty. A head written down elsewhere lets Verify
// detect a log cut short or rewritten.
type Head struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// String returns the head as "SEQ:HASH", the form ParseHead reads.
func (h Head) String() string { return strconv.FormatInt(h.Seq, 10) + ":" + h.Hash }

// ParseHead reads a head in the form "SEQ:HASH" (as Head.String and `nemid
// audit head` write it).
func ParseHead(s string) (Head, error) {
	seqText, hash, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return Head{}, fmt.Errorf("audit: head %q: want SEQ:HASH, as `nemid audit head` prints it", s)
	}
	seq, err := strconv.ParseInt(seqText, 10, 64)
	if err != nil || seq < 0 {
		return Head{}, fmt.Errorf("audit: head %q: the sequence number must be a whole number from 0", s)
	}
	hash = strings.ToLower(hash)
	if !isHexSHA256(hash) {
		return Head{}, fmt.Errorf("audit: head %q: the hash must be 64 hexadecimal digits", s)
	}
	if seq == 0 && hash != Genesis {
		return Head{}, fmt.Errorf("audit: head %q: at seq 0 (an empty log) the hash is the genesis value, 64 zeros", s)
	}
	return Head{Seq: seq, Hash: hash}, nil
}

// Log appends to and verifies the audit log in a store.
type Log struct {
	st    store.AuditStore
	clock clock.Clock
}

// New returns the log kept in st, which stamps records with clk's time.
func New(st store.AuditStore, clk clock.Clock) *Log {
	return &Log{st: st, clock: clk}
}

// Append validates e and appends it as the next record of the chain,
// durably, before it returns. An invalid entry is refused with an error
// wrapping ErrInvalidEntry, and nothing is appended.
func (l *Log) Append(ctx context.Context, e Entry) (Record, error) {
	if err := e.Validate(); err != nil {
		return Record{}, err
	}
	e.Detail = maps.Clone(e.Detail) // the record must not change with the caller's map
	if len(e.Detail) == 0 {
		e.Detail = nil
	}
	detail := encodeDetail(e.Detail)
	var out Record
	_, err := l.st.AppendAudit(ctx, func(head store.AuditHead) (store.AuditRecord, error) {
		// Stamped under the head's lock, so that times never go back
		// along the chain for appenders sharing one clock.
		r := Record{Seq: head.Seq + 1, Version: Version, At: l.clock.Now().Truncate(time.Microsecond).UTC(),
			Entry: e, PrevHash: head.Hash}
		h, err := Hash(r)
		if err != nil {
			return store.AuditRecord{}, err
		}
		r.Hash = h
		out = r
		return store.AuditRecord{Seq: r.Seq, Version: r.Version, At: r.At, Actor: r.Actor, Action: string(r.Action),
			Subject: r.Subject, Outcome: string(r.Outcome), Code: r.Code, Detail: detail,
			PrevHash: r.PrevHash, Hash: r.Hash}, nil
	})
	if err != nil {
		return Record{}, fmt.Errorf("audit: append %s of %s: %w", e.Action, e.Subject, err)
	}
	return out, nil
}

// Head returns the current head of the chain, for the operator to record
// somewhere the database's writers cannot reach.
func (l *Log) Head(ctx context.Context) (Head, error) {
	h, err := l.st.AuditHead(ctx)
	if err != nil {
		return Head{}, fmt.Errorf("audit: %w", err)
	}
	return Head{Seq: h.Seq, Hash: h.Hash}, nil
}

// Records returns up to limit records after seq afterSeq, in order, for
// reading. It does not verify them (Verify does); a record whose detail no
// longer reads is an error naming it.
func (l *Log) Records(ctx context.Context, afterSeq int64, limit int) ([]Record, error) {
	rows, err := l.st.AuditRecords(ctx, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	out := make([]Record, len(rows))
	for i, row := range rows {
		if out[i], err = fromStore(row); err != nil {
			return nil, fmt.Errorf("audit: record %d: %w (run `nemid audit verify`)", row.Seq, err)
		}
	}
	return out, nil
}

// errDetailUnreadable: a stored detail is not what encodeDetail writes.
var errDetailUnreadable = errors.New("its detail is not the JSON object of strings the log writes")

// fromStore turns a stored row back into a Record.
func fromStore(row store.AuditRecord) (Record, error) {
	detail, err := decodeDetail(row.Detail)
	if err != nil {
		return Record{}, err
	}
	return Record{Seq: row.Seq, Version: row.Version, At: row.At,
		Entry: Entry{Actor: row.Actor, Action: Action(row.Action), Subject: row.Subject,
			Outcome: Outcome(row.Outcome), Code: row.Code, Detail: detail},
		PrevHash: row.PrevHash, Hash: row.Hash}, nil
}

func isHexSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
