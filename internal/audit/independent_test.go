package audit_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nemid-dk/nemid/internal/audit"
)

// The hashes are recomputed here by the engines themselves from the stored
// columns, with the queries docs/audit.md gives auditors: an oracle that
// shares nothing with this package's encoder.

// docQuery returns the fenced block of the given language from docs/audit.md.
func docQuery(t *testing.T, lang string) string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "audit.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```" + lang + "\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatalf("docs/audit.md has no ```%s block", lang)
	}
	return string(m[1])
}

// awkwardEntries have what an encoding can get wrong: non-ASCII, quotes,
// backslashes, an empty value, keys whose order differs by byte and by
// case-insensitive collation, no detail, a code.
func awkwardEntries() []audit.Entry {
	return []audit.Entry{
		{Actor: audit.User("17"), Action: audit.LogonAttempt, Subject: audit.User("17"), Outcome: audit.Failure, Code: "LOCK001",
			Detail: map[string]string{"via": `Søren's "PC" \ 2`, "attempts": "5"}},
		{Actor: audit.Operator, Action: audit.Block, Subject: audit.User("17"), Outcome: audit.Success},
		{Actor: audit.System, Action: audit.Unlock, Subject: "identity:PID:9208-2002-2-123456789012", Outcome: audit.Success,
			Detail: map[string]string{"zeta": "Ærø ✓", "a_b": "", "ab": "x", "a": "æ", "b9": "1"}},
	}
}

func TestRecomputeInSQLite(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, "sqlite")
	for _, e := range awkwardEntries() {
		if _, err := fx.log.Append(ctx(t), e); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := fx.log.Records(ctx(t), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	db := fx.dsn
	query := docQuery(t, "sql")
	for _, r := range recs {
		out := filepath.Join(t.TempDir(), "record.bin")
		q := strings.Replace(strings.Replace(query, "'record.bin'", "'"+out+"'", 1), "seq = 2;", fmt.Sprintf("seq = %d;", r.Seq), 1)
		if o, err := exec.Command("sqlite3", db, q).CombinedOutput(); err != nil {
			t.Fatalf("sqlite3: %v\n%s", err, o)
		}
		enc, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(enc)
		if got := hex.EncodeToString(sum[:]); got != r.Hash {
			want, _ := audit.Encode(r)
			t.Errorf("record %d: sqlite3 encodes it as\n%q\nhashing to %s; nemid wrote %s for\n%q", r.Seq, enc, got, r.Hash, want)
		}
	}
}

func TestRecomputeInPostgres(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, "postgres")
	for _, e := range awkwardEntries() {
		if _, err := fx.log.Append(ctx(t), e); err != nil {
			t.Fatal(err)
		}
	}
	bad := func() string {
		rows, err := fx.raw.QueryContext(ctx(t), docQuery(t, "postgresql"))
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var seqs []int64
		for rows.Next() {
			var s int64
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			seqs = append(seqs, s)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(seqs)
	}
	if got := bad(); got != "[]" {
		t.Fatalf("PostgreSQL recomputes a different hash for records %s", got)
	}
	// And the query does find an edit.
	fx.exec(t, `UPDATE audit_log SET detail = '{"a":"æ","a_b":"","ab":"y","b9":"1","zeta":"Ærø ✓"}' WHERE seq = 3`)
	if got := bad(); got != "[3]" {
		t.Fatalf("after editing record 3, the query reports %s, want [3]", got)
	}
}
