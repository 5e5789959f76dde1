package audit_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nemid-dk/nemid/internal/audit"
)

// rehash gives r the hash of its (edited) fields.
func rehash(t *testing.T, r *audit.Record) {
	t.Helper()
	h, err := audit.Hash(*r)
	if err != nil {
		t.Fatal(err)
	}
	r.Hash = h
}

// rewrite stores r's subject, prev_hash and hash over the row with its seq:
// what someone who knows the encoding can do, as there is no key.
func (fx *fixture) rewrite(t *testing.T, r audit.Record) {
	t.Helper()
	fx.exec(t, fmt.Sprintf(`UPDATE audit_log SET subject = '%s', prev_hash = '%s', hash = '%s' WHERE seq = %d`,
		r.Subject, r.PrevHash, r.Hash, r.Seq))
}

func head(r audit.Record) audit.Head { return audit.Head{Seq: r.Seq, Hash: r.Hash} }

// TestTamper: each kind of tampering is found at the first bad record, on
// both engines. The log holds records 1 to 5.
func TestTamper(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, fx *fixture, recs []audit.Record)
		// recorded returns the heads the operator wrote down (before the tampering).
		recorded func(recs []audit.Record) []audit.Head
		seq      int64
		kind     audit.ProblemKind
		verified int64
	}{
		{name: "edit a field", seq: 3, kind: audit.Changed, verified: 2,
			tamper: func(t *testing.T, fx *fixture, _ []audit.Record) {
				fx.exec(t, `UPDATE audit_log SET subject = 'cert:ffff' WHERE seq = 3`)
			}},
		{name: "edit the outcome", seq: 4, kind: audit.Changed, verified: 3,
			tamper: func(t *testing.T, fx *fixture, _ []audit.Record) {
				fx.exec(t, `UPDATE audit_log SET outcome = 'failure', code = 'AUTH004' WHERE seq = 4`)
			}},
		{name: "edit the time", seq: 3, kind: audit.Changed, verified: 2,
			tamper: func(t *testing.T, fx *fixture, _ []audit.Record) {
				fx.exec(t, `UPDATE audit_log SET at = at + 1 WHERE seq = 3`)
			}},
		{name: "edit the detail", seq: 3, kind: audit.Changed, verified: 2,
			tamper: func(t *testing.T, fx *fixture, _ []audit.Record) {
				fx.exec(t, `UPDATE audit_log SET detail = '{"n":"2","profile":"moces"}' WHERE seq = 3`)
			}},
		{name: "reorder the detail's text", seq: 3, kind: audit.Changed, verified: 2,
			tamper: func(t *testing.T, fx *fixture, _ []audit.Record) {
				fx.exec(t, `UPDATE audit_log SET detail = '{"profile":"poces","n":"2"}' WHERE seq = 3`)
			}},
		{name: "edit the hash", seq: 3, kind: audit.Changed, verified: 2,
			tamper: func(t *testing.T, fx *fixture, _ []audit.Record) {
				fx.exec(t, `UPDATE audit_log SET hash = '`+strings.Repeat("ab", 32)+`' WHERE seq = 3`)
			}},
		{name: "edit and re-hash", seq: 4, kind: audit.Reordered, verified: 3,
			tamper: func(t *testing.T, fx *fixture, recs []audit.Record) {
				r := recs[2]
				r.Subject = "cert:ffff"
				rehash(t, &r)
				fx.rewrite(t, r)
			}},
		{name: "delete a row", seq: 3, kind: audit.Removed, verified: 2,
			tamper: func(t *testing.T, fx *fixture, _ []audit.Record) {
				fx.exec(t, `DELETE FROM audit_log WHERE seq = 3`)
			}},
		{name: "delete two rows", seq: 2, kind: audit.Removed, verified: 1,
			tamper: func(t *testing.T, fx *fixture, _ []audit.Record) {
				fx.exec(t, `DELETE FROM audit_log WHERE seq IN (2, 3)`)
			}},
		{name: "delete the first row", seq: 1, kind: audit.Removed, verified: 0,
			tamper: func(t *testing.T, fx *fixture, _ []audit.Record) {
				fx.exec(t, `DELETE FROM audit_log WHERE seq = 1`)
			}},
		{name: "swap two rows", seq: 2, kind: audit.Reordered, verified: 1,
			tamper: func(t *testing.T, fx *fixture, _ []audit.Record) {
				fx.exec(t, `UPDATE audit_log SET seq = 1000 WHERE seq = 2`)
				fx.exec(t, `UPDATE audit_log SET seq = 2 WHERE seq = 3`)
				fx.exec(t, `UPDATE audit_log SET seq = 3 WHERE seq = 1000`)
			}},
		{name: "replace a row with a forged one", seq: 4, kind: audit.Reordered, verified: 3,
			tamper: func(t *testing.T, fx *fixture, recs []audit.Record) {
				// A well-formed record 3 that chains from 2, but is not the
				// one 4 was chained from.
				r := recs[2]
				r.Actor = audit.System
				rehash(t, &r)
				fx.exec(t, `DELETE FROM audit_log WHERE seq = 3`)
				fx.exec(t, fmt.Sprintf(`INSERT INTO audit_log (seq, version, at, actor, action, subject, outcome, code, detail, prev_hash, hash)
VALUES (3, 1, %d, 'system', '%s', '%s', 'success', '', '{"n":"2","profile":"poces"}', '%s', '%s')`,
					r.At.UnixMicro(), r.Action, r.Subject, r.PrevHash, r.Hash))
			}},
		{name: "edit the first previous hash", seq: 1, kind: audit.Reordered, verified: 0,
			tamper: func(t *testing.T, fx *fixture, _ []audit.Record) {
				fx.exec(t, `UPDATE audit_log SET prev_hash = '`+strings.Repeat("1", 64)+`' WHERE seq = 1`)
			}},
		{name: "unknown version", seq: 2, kind: audit.Malformed, verified: 1,
			tamper: func(t *testing.T, fx *fixture, _ []audit.Record) {
				fx.exec(t, `UPDATE audit_log SET version = 2 WHERE seq = 2`)
			}},
		{name: "cut the tail", seq: 4, kind: audit.Truncated, verified: 3,
			tamper: func(t *testing.T, fx *fixture, _ []audit.Record) {
				fx.exec(t, `DELETE FROM audit_log WHERE seq > 3`)
			}},
		{name: "move the head row", seq: 5, kind: audit.Rewritten, verified: 4,
			tamper: func(t *testing.T, fx *fixture, _ []audit.Record) {
				fx.exec(t, `UPDATE audit_head SET hash = '`+strings.Repeat("2", 64)+`'`)
			}},
		// Cutting the tail and moving the head row back with it leaves a
		// consistent, shorter chain: only a head recorded elsewhere shows it.
		{name: "cut the tail and the head, no recorded head", kind: "",
			tamper: cutTailAndHead, verified: 3},
		{name: "cut the tail and the head, recorded head", seq: 4, kind: audit.Truncated, verified: 3,
			tamper: cutTailAndHead, recorded: lastHead},
		{name: "cut the tail and the head, older recorded head", kind: "", verified: 3,
			tamper:   cutTailAndHead,
			recorded: func(recs []audit.Record) []audit.Head { return []audit.Head{head(recs[1])} }},
		// Rewriting from a record on, with new hashes and the head row
		// moved, is likewise consistent in itself.
		{name: "rewrite the chain, no recorded head", kind: "", verified: 5,
			tamper: rewriteFrom3},
		{name: "rewrite the chain, recorded head", seq: 5, kind: audit.Rewritten, verified: 4,
			tamper: rewriteFrom3, recorded: lastHead},
		{name: "rewrite the chain, recorded head inside it", seq: 4, kind: audit.Rewritten, verified: 3,
			tamper:   rewriteFrom3,
			recorded: func(recs []audit.Record) []audit.Head { return []audit.Head{head(recs[1]), head(recs[3])} }},
		{name: "rewrite the chain, recorded head before it", kind: "", verified: 5,
			tamper:   rewriteFrom3,
			recorded: func(recs []audit.Record) []audit.Head { return []audit.Head{head(recs[1])} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			forEachEngine(t, func(t *testing.T, fx *fixture) {
				recs := fx.appendN(t, 5)
				intact(t, fx.verify(t), 5)
				var recorded []audit.Head
				if tc.recorded != nil {
					recorded = tc.recorded(recs)
				}
				tc.tamper(t, fx, recs)
				rep := fx.verify(t, recorded...)
				if tc.kind == "" {
					intact(t, rep, tc.verified)
					return
				}
				problem(t, rep, tc.seq, tc.kind, tc.verified)
			})
		})
	}
}

func lastHead(recs []audit.Record) []audit.Head { return []audit.Head{head(recs[len(recs)-1])} }

func cutTailAndHead(t *testing.T, fx *fixture, recs []audit.Record) {
	fx.exec(t, `DELETE FROM audit_log WHERE seq > 3`)
	fx.exec(t, fmt.Sprintf(`UPDATE audit_head SET seq = 3, hash = '%s'`, recs[2].Hash))
}

func rewriteFrom3(t *testing.T, fx *fixture, recs []audit.Record) {
	prev := recs[1].Hash
	for _, r := range recs[2:] {
		if r.Seq == 3 {
			r.Subject = "cert:ffff"
		}
		r.PrevHash = prev
		rehash(t, &r)
		fx.rewrite(t, r)
		prev = r.Hash
	}
	fx.exec(t, fmt.Sprintf(`UPDATE audit_head SET hash = '%s'`, prev))
}

// TestVerifyHeadRowMissing: without its head row the log is not trusted.
func TestVerifyHeadRowMissing(t *testing.T) {
	forEachEngine(t, func(t *testing.T, fx *fixture) {
		fx.appendN(t, 2)
		fx.exec(t, `DELETE FROM audit_head`)
		if _, err := fx.log.Verify(ctx(t)); err == nil || !strings.Contains(err.Error(), "head row") {
			t.Errorf("Verify without the head row: err = %v, want one about the head row", err)
		}
		if _, err := fx.log.Append(ctx(t), entry(3)); err == nil || !strings.Contains(err.Error(), "head row") {
			t.Errorf("Append without the head row: err = %v, want one about the head row", err)
		}
	})
}

// TestVerifyBadRecordedHead: a recorded head that is no head is an error,
// not a verdict on the log.
func TestVerifyBadRecordedHead(t *testing.T) {
	forEachEngine(t, func(t *testing.T, fx *fixture) {
		fx.appendN(t, 1)
		for _, h := range []audit.Head{{Seq: -1, Hash: audit.Genesis}, {Seq: 1, Hash: "abc"}, {Seq: 1, Hash: strings.Repeat("A", 64)}} {
			if _, err := fx.log.Verify(ctx(t), h); err == nil {
				t.Errorf("Verify(%v): no error", h)
			}
		}
	})
}
