package audit

import (
	"context"
	"fmt"

	"github.com/nemid-dk/nemid/internal/store"
)

// ProblemKind says what is wrong at the first bad place in the chain.
type ProblemKind string

// The kinds of problem Verify reports.
const (
	// Changed: the record's fields no longer give its hash; one was edited
	// (or the record's hash was).
	Changed ProblemKind = "changed"
	// Removed: sequence numbers are missing before this record.
	Removed ProblemKind = "removed"
	// Reordered: the record's previous hash is not its predecessor's hash:
	// records were swapped or inserted, or the predecessor was edited and
	// given a new hash.
	Reordered ProblemKind = "reordered"
	// Truncated: the log ends before a head known to exist (the head row
	// or one recorded elsewhere): its newest records were removed.
	Truncated ProblemKind = "truncated"
	// Rewritten: at a head known from elsewhere the log has another hash:
	// the chain was rewritten, with new hashes, at or before that point.
	Rewritten ProblemKind = "rewritten"
	// Malformed: the record cannot be checked at all (an encoding version
	// this nemid does not know).
	Malformed ProblemKind = "malformed"
)

// Problem is the first bad place in the chain.
type Problem struct {
	// Seq is the sequence number of the first bad record (for Removed and
	// Truncated: of the first missing one).
	Seq     int64       `json:"seq"`
	Kind    ProblemKind `json:"kind"`
	Message string      `json:"message"`
}

// Error makes a Problem usable as an error: "seq 7 changed: …".
func (p *Problem) Error() string {
	return fmt.Sprintf("audit log: seq %d %s: %s", p.Seq, p.Kind, p.Message)
}

// Report is the outcome of Verify.
type Report struct {
	// Verified counts the records checked good, from seq 1 on.
	Verified int64 `json:"verified"`
	// Last is the last record checked good (0 and Genesis if none).
	Last Head `json:"last"`
	// Problem is the first problem found, where checking stopped; nil when
	// the whole chain is intact.
	Problem *Problem `json:"problem,omitempty"`
}

// verifyPage is how many records Verify reads at a time: the chain is
// streamed, never held in memory whole.
const verifyPage = 1000

// knownHead is a head the chain must pass through, and where it came from.
type knownHead struct {
	Head
	source string
}

// Verify walks the whole chain from seq 1, in pages, and reports the first
// record that was changed, removed or reordered, with the number verified
// before it. The chain must also pass through the store's head row (read
// before the walk, so records appended meanwhile are fine) and through every
// recorded head given — heads the operator wrote down earlier with Head —
// which is what detects a log cut short, or rewritten from some record on,
// by someone who also moved the head row (see the package doc). The error
// is for failures to read the log; a damaged log is a Report with a Problem.
func (l *Log) Verify(ctx context.Context, recorded ...Head) (Report, error) {
	var heads []knownHead
	for _, h := range recorded {
		if h.Seq < 0 || !isHexSHA256(h.Hash) {
			return Report{}, fmt.Errorf("audit: verify: recorded head %s is not a head (see ParseHead)", h)
		}
		heads = append(heads, knownHead{h, "the recorded head " + h.String()})
	}
	row, err := l.st.AuditHead(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("audit: verify: %w", err)
	}
	heads = append(heads, knownHead{Head{Seq: row.Seq, Hash: row.Hash}, "the head row (table audit_head)"})

	rep := Report{Last: Head{Seq: 0, Hash: Genesis}}
	if p := checkHeads(heads, rep.Last); p != nil {
		rep.Problem = p
		return rep, nil
	}
	for {
		rows, err := l.st.AuditRecords(ctx, rep.Last.Seq, verifyPage)
		if err != nil {
			return rep, fmt.Errorf("audit: verify (%d records verified so far): %w", rep.Verified, err)
		}
		for _, row := range rows {
			if p := checkRecord(rep.Last, row); p != nil {
				rep.Problem = p
				return rep, nil
			}
			next := Head{Seq: row.Seq, Hash: row.Hash}
			if p := checkHeads(heads, next); p != nil {
				rep.Problem = p
				return rep, nil
			}
			rep.Last = next
			rep.Verified++
		}
		if len(rows) < verifyPage {
			break
		}
	}
	for _, h := range heads {
		if h.Seq > rep.Last.Seq {
			rep.Problem = &Problem{Seq: rep.Last.Seq + 1, Kind: Truncated, Message: fmt.Sprintf(
				"the log ends at seq %d, but %s is at seq %d: %s", rep.Last.Seq, h.source, h.Seq, removed(rep.Last.Seq+1, h.Seq))}
			return rep, nil
		}
	}
	return rep, nil
}

// checkRecord checks one stored record against the one before it.
func checkRecord(prev Head, row store.AuditRecord) *Problem {
	if want := prev.Seq + 1; row.Seq != want {
		return &Problem{Seq: want, Kind: Removed, Message: fmt.Sprintf(
			"the log goes from seq %d to seq %d: %s", prev.Seq, row.Seq, removed(want, row.Seq-1))}
	}
	if row.PrevHash != prev.Hash {
		what := "the genesis value"
		if prev.Seq > 0 {
			what = fmt.Sprintf("the hash of seq %d", prev.Seq)
		}
		return &Problem{Seq: row.Seq, Kind: Reordered, Message: fmt.Sprintf(
			"its previous hash %s is not %s (%s): records were reordered or inserted, or seq %d was edited and re-hashed",
			row.PrevHash, what, prev.Hash, prev.Seq)}
	}
	if row.Version != Version {
		return &Problem{Seq: row.Seq, Kind: Malformed, Message: fmt.Sprintf(
			"encoding version %d is unknown to this nemid (it knows %d)", row.Version, Version)}
	}
	rec, err := fromStore(row)
	if err != nil {
		return &Problem{Seq: row.Seq, Kind: Changed, Message: err.Error() + ": the detail was edited"}
	}
	h, err := Hash(rec)
	if err != nil {
		return &Problem{Seq: row.Seq, Kind: Malformed, Message: err.Error()}
	}
	if h != row.Hash {
		return &Problem{Seq: row.Seq, Kind: Changed, Message: fmt.Sprintf(
			"its fields hash to %s, not to its stored hash %s: a field or the hash was edited", h, row.Hash)}
	}
	return nil
}

// checkHeads reports a known head at last's seq whose hash differs.
func checkHeads(heads []knownHead, last Head) *Problem {
	for _, h := range heads {
		if h.Seq == last.Seq && h.Hash != last.Hash {
			return &Problem{Seq: last.Seq, Kind: Rewritten, Message: fmt.Sprintf(
				"its hash is %s, but %s says %s: the chain was rewritten, with new hashes, at or before this record", last.Hash, h.source, h.Hash)}
		}
	}
	return nil
}

// removed says that the records from a to b were removed.
func removed(a, b int64) string {
	if a == b {
		return fmt.Sprintf("record %d was removed", a)
	}
	return fmt.Sprintf("records %d to %d were removed", a, b)
}
