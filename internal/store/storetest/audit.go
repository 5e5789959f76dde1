package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/store"
)

// The store does not compute audit hashes (internal/audit does); these
// tests chain records with a stand-in hash, which is all the store sees.

func standInHash(prev string, seq int64) string {
	sum := sha256.Sum256([]byte(prev + strconv.FormatInt(seq, 10)))
	return hex.EncodeToString(sum[:])
}

// nextAudit builds the record that continues head.
func nextAudit(head store.AuditHead, subject string) store.AuditRecord {
	return store.AuditRecord{Seq: head.Seq + 1, Version: 1, At: t0.Add(time.Duration(head.Seq) * time.Second),
		Actor: "operator", Action: "certificate-issued", Subject: subject, Outcome: "success",
		Detail: `{"profile":"poces"}`, PrevHash: head.Hash, Hash: standInHash(head.Hash, head.Seq+1)}
}

func appendAudit(t *testing.T, s store.Store, subject string) store.AuditRecord {
	t.Helper()
	r, err := s.AppendAudit(ctx(t), func(h store.AuditHead) (store.AuditRecord, error) { return nextAudit(h, subject), nil })
	if err != nil {
		t.Fatalf("AppendAudit(%s): %v", subject, err)
	}
	return r
}

func auditHead(t *testing.T, s store.Store) store.AuditHead {
	t.Helper()
	h, err := s.AuditHead(ctx(t))
	if err != nil {
		t.Fatalf("AuditHead: %v", err)
	}
	return h
}

func testAuditEmpty(t *testing.T, s store.Store) {
	if h := auditHead(t, s); h != (store.AuditHead{Seq: 0, Hash: store.AuditGenesis}) {
		t.Fatalf("AuditHead of an empty log = %+v, want seq 0 and the genesis hash", h)
	}
	if store.AuditGenesis != strings.Repeat("0", 64) {
		t.Fatalf("AuditGenesis = %q, want 64 zeros", store.AuditGenesis)
	}
	if rs, err := s.AuditRecords(ctx(t), 0, 10); err != nil || len(rs) != 0 {
		t.Fatalf("AuditRecords of an empty log = %v, %v", rs, err)
	}
}

func testAppendAudit(t *testing.T, s store.Store) {
	var heads []store.AuditHead
	r1, err := s.AppendAudit(ctx(t), func(h store.AuditHead) (store.AuditRecord, error) {
		heads = append(heads, h)
		r := nextAudit(h, "cert:1")
		r.At = t0 // nanoseconds and CET: stored to the microsecond, returned in UTC
		r.Code = "LOCK001"
		r.Outcome = "failure"
		r.Detail = `{"a":"Ærø \"x\""}`
		return r, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(heads) != 1 || heads[0] != (store.AuditHead{Seq: 0, Hash: store.AuditGenesis}) {
		t.Fatalf("next was called with %+v, want once with the empty head", heads)
	}
	sameTime(t, "returned At", r1.At, t0)
	r2 := appendAudit(t, s, "cert:2")
	if r2.Seq != 2 || r2.PrevHash != r1.Hash {
		t.Fatalf("second record = %+v, want seq 2 after %s", r2, r1.Hash)
	}
	if h := auditHead(t, s); h != (store.AuditHead{Seq: 2, Hash: r2.Hash}) {
		t.Fatalf("AuditHead = %+v, want seq 2 and %s", h, r2.Hash)
	}
	got, err := s.AuditRecords(ctx(t), 0, 10)
	if err != nil || len(got) != 2 {
		t.Fatalf("AuditRecords = %+v, %v", got, err)
	}
	for i, want := range []store.AuditRecord{r1, r2} {
		sameTime(t, fmt.Sprintf("record %d At", i+1), got[i].At, want.At)
		got[i].At, want.At = time.Time{}, time.Time{}
		if got[i] != want {
			t.Errorf("record %d read back as\n%+v\nwant\n%+v", i+1, got[i], want)
		}
	}
}

func testAppendAuditInvalid(t *testing.T, s store.Store) {
	first := appendAudit(t, s, "cert:1")
	errNext := errors.New("the caller's own failure")
	tests := map[string]func(r *store.AuditRecord) error{
		"seq skips":          func(r *store.AuditRecord) error { r.Seq++; return nil },
		"seq repeats":        func(r *store.AuditRecord) error { r.Seq--; return nil },
		"wrong prev hash":    func(r *store.AuditRecord) error { r.PrevHash = store.AuditGenesis; return nil },
		"hash upper case":    func(r *store.AuditRecord) error { r.Hash = strings.ToUpper(r.Hash); return nil },
		"hash short":         func(r *store.AuditRecord) error { r.Hash = r.Hash[:63]; return nil },
		"version 0":          func(r *store.AuditRecord) error { r.Version = 0; return nil },
		"no time":            func(r *store.AuditRecord) error { r.At = time.Time{}; return nil },
		"the caller refuses": func(*store.AuditRecord) error { return errNext },
	}
	for name, change := range tests {
		_, err := s.AppendAudit(ctx(t), func(h store.AuditHead) (store.AuditRecord, error) {
			r := nextAudit(h, "cert:2")
			return r, change(&r)
		})
		if err == nil {
			t.Errorf("%s: AppendAudit stored the record", name)
		}
		if name == "the caller refuses" && !errors.Is(err, errNext) {
			t.Errorf("%s: err = %v, want the caller's error", name, err)
		}
	}
	// Nothing of the refused appends landed.
	if h := auditHead(t, s); h != (store.AuditHead{Seq: 1, Hash: first.Hash}) {
		t.Errorf("AuditHead after refused appends = %+v, want seq 1", h)
	}
	if rs, _ := s.AuditRecords(ctx(t), 0, 10); len(rs) != 1 {
		t.Errorf("%d records after refused appends, want 1", len(rs))
	}
}

func testAuditRecordsPaging(t *testing.T, s store.Store) {
	for i := range 7 {
		appendAudit(t, s, fmt.Sprintf("cert:%d", i+1))
	}
	for _, tc := range []struct {
		after int64
		limit int
		want  string
	}{{0, 3, "[1 2 3]"}, {3, 3, "[4 5 6]"}, {6, 3, "[7]"}, {7, 3, "[]"}, {0, 100, "[1 2 3 4 5 6 7]"}, {-5, 1, "[1]"}} {
		rs, err := s.AuditRecords(ctx(t), tc.after, tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		seqs := []int64{}
		for _, r := range rs {
			seqs = append(seqs, r.Seq)
		}
		if fmt.Sprint(seqs) != tc.want {
			t.Errorf("AuditRecords(%d, %d) = %v, want %s", tc.after, tc.limit, seqs, tc.want)
		}
	}
	for _, limit := range []int{0, -1} {
		if _, err := s.AuditRecords(ctx(t), 0, limit); err == nil {
			t.Errorf("AuditRecords with limit %d: no error", limit)
		}
	}
}

// testAppendAuditConcurrent: appenders released at once form one chain:
// every seq once, each record chained from the one before.
func testAppendAuditConcurrent(t *testing.T, s store.Store) {
	const n = 30
	errs := parallel(n, func(i int) error {
		_, err := s.AppendAudit(ctx(t), func(h store.AuditHead) (store.AuditRecord, error) {
			return nextAudit(h, fmt.Sprintf("cert:%d", i)), nil
		})
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("appender %d: %v", i, err)
		}
	}
	rs, err := s.AuditRecords(ctx(t), 0, 2*n)
	if err != nil || len(rs) != n {
		t.Fatalf("AuditRecords = %d records, %v; want %d", len(rs), err, n)
	}
	prev := store.AuditGenesis
	subjects := map[string]bool{}
	for i, r := range rs {
		if r.Seq != int64(i+1) || r.PrevHash != prev || r.Hash != standInHash(prev, r.Seq) {
			t.Fatalf("record %d = %+v: not chained from %s", i+1, r, prev)
		}
		subjects[r.Subject] = true
		prev = r.Hash
	}
	if len(subjects) != n {
		t.Errorf("%d distinct appenders' records, want %d", len(subjects), n)
	}
	if h := auditHead(t, s); h != (store.AuditHead{Seq: n, Hash: prev}) {
		t.Errorf("AuditHead = %+v, want seq %d and the last hash", h, n)
	}
}

func testAuditContextCancelled(t *testing.T, s store.Store) {
	appendAudit(t, s, "cert:1")
	c, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.AppendAudit(c, func(h store.AuditHead) (store.AuditRecord, error) { return nextAudit(h, "cert:2"), nil })
	mustErr(t, "AppendAudit", err, context.Canceled)
	_, err = s.AuditHead(c)
	mustErr(t, "AuditHead", err, context.Canceled)
	_, err = s.AuditRecords(c, 0, 10)
	mustErr(t, "AuditRecords", err, context.Canceled)
	if h := auditHead(t, s); h.Seq != 1 {
		t.Errorf("AuditHead after a cancelled append: seq %d, want 1", h.Seq)
	}
}
