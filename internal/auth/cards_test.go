package auth_test

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nemid-dk/nemid/internal/auth"
	"github.com/nemid-dk/nemid/internal/store"
	"github.com/nemid-dk/nemid/ooapi"
)

var (
	cardNumberRE = regexp.MustCompile(`^[A-Z][0-9]{9}$`)
	keyNumberRE  = regexp.MustCompile(`^[0-9]{4}$`)
	codeRE       = regexp.MustCompile(`^[0-9]{6}$`)
)

func TestNewKeyCard(t *testing.T) {
	const cards = 300
	var (
		firstDigit [10]int // of every code: uniform
		lastDigit  [10]int
		keyBucket  [10]int // first digit of every key number: uniform
		letters    = map[byte]int{}
	)
	for range cards {
		c, err := auth.NewKeyCard()
		if err != nil {
			t.Fatal(err)
		}
		if !cardNumberRE.MatchString(c.Number) {
			t.Fatalf("card number %q", c.Number)
		}
		letters[c.Number[0]]++
		if len(c.Keys) != auth.KeysPerCard {
			t.Fatalf("%d keys", len(c.Keys))
		}
		for i, k := range c.Keys {
			if !keyNumberRE.MatchString(k.Number) || !codeRE.MatchString(k.Code) {
				t.Fatalf("key %q code %q", k.Number, k.Code)
			}
			if i > 0 && c.Keys[i-1].Number >= k.Number {
				t.Fatalf("key numbers not unique and ascending: %s then %s", c.Keys[i-1].Number, k.Number)
			}
			if code, ok := c.Code(k.Number); !ok || code != k.Code {
				t.Fatalf("Code(%s) = %q, %v", k.Number, code, ok)
			}
			firstDigit[k.Code[0]-'0']++
			lastDigit[k.Code[5]-'0']++
			keyBucket[k.Number[0]-'0']++
		}
	}
	// Chi-square against uniform, 9 degrees of freedom: 33.7 has a
	// probability of 1e-4; a biased generator (say, codes from a clock or
	// a modulo of a byte) lands far above it.
	for name, counts := range map[string][10]int{"code first digit": firstDigit, "code last digit": lastDigit, "key number first digit": keyBucket} {
		if chi := chiSquare(counts[:]); chi > 33.7 {
			t.Errorf("%s: chi-square %.1f over %v: not uniform", name, chi, counts)
		}
	}
	if len(letters) < 20 {
		t.Errorf("only %d letters in %d card numbers", len(letters), cards)
	}
}

func chiSquare(counts []int) float64 {
	total := 0
	for _, c := range counts {
		total += c
	}
	want := float64(total) / float64(len(counts))
	chi := 0.0
	for _, c := range counts {
		d := float64(c) - want
		chi += d * d / want
	}
	return chi
}

// ppExcerpt is the start of a preproduction key card as NemID's developer
// site printed it (card G750159724, the first 20 keys, in
// fizker/swift-nemid-keycard's test; spec 10.3): the independent oracle of
// Text's layout.
const ppExcerpt = "Nøglekortnummer: G750159724\n" +
	" Nøgle nr.\tNøgle\t\t Nøgle nr.\tNøgle\t\t Nøgle nr.\tNøgle\t\t Nøgle nr.\tNøgle\n" +
	"0063\t103749\t\t2734\t413128\t\t5147\t625409\t\t7779\t946731\n" +
	"0087\t972967\t\t2797\t862321\t\t5164\t160737\t\t7991\t420288\n" +
	"0090\t873699\t\t2822\t439994\t\t5213\t600908\t\t8032\t089708\n" +
	"0168\t940246\t\t2833\t054156\t\t5219\t618608\t\t8124\t704504\n" +
	"0203\t044151\t\t2856\t879079\t\t5230\t830451\t\t8168\t727702\n"

func TestKeyCardTextMatchesPP(t *testing.T) {
	card, err := auth.ParseKeyCardText(ppExcerpt)
	if err != nil {
		t.Fatal(err)
	}
	if card.Number != "G750159724" || len(card.Keys) != 20 {
		t.Fatalf("parsed %s with %d keys", card.Number, len(card.Keys))
	}
	if code, _ := card.Code("8032"); code != "089708" {
		t.Errorf("key 8032 = %q, want 089708", code)
	}
	if got := card.Text(); got != ppExcerpt {
		t.Errorf("Text() =\n%s\nwant\n%s", got, ppExcerpt)
	}
}

// TestKeyCardTextGolden: a whole card of 148 keys (37 rows of 4), as in
// testdata/keycard.txt.
func TestKeyCardTextGolden(t *testing.T) {
	card := &auth.KeyCard{Number: "K123456789"}
	for i := range auth.KeysPerCard {
		card.Keys = append(card.Keys, auth.Key{Number: fmt.Sprintf("%04d", i*67+5), Code: fmt.Sprintf("%06d", (i*7919+13)%1000000)})
	}
	want, err := os.ReadFile("testdata/keycard.txt")
	if err != nil {
		t.Fatal(err)
	}
	got := card.Text()
	if got != string(want) {
		t.Errorf("Text() differs from testdata/keycard.txt:\n%s", got)
	}
	if lines := strings.Count(got, "\n"); lines != 2+37 {
		t.Errorf("%d lines, want 39", lines)
	}
	back, err := auth.ParseKeyCardText(got)
	if err != nil || back.Text() != got {
		t.Errorf("ParseKeyCardText(Text()) = %v, %v", back, err)
	}
}

func TestParseKeyCardTextInvalid(t *testing.T) {
	header := " Nøgle nr.\tNøgle\t\t Nøgle nr.\tNøgle\t\t Nøgle nr.\tNøgle\t\t Nøgle nr.\tNøgle\n"
	for name, text := range map[string]string{
		"empty":           "",
		"no keys":         "Nøglekortnummer: G750159724\n" + header,
		"card number":     "Nøglekortnummer: 750159724\n" + header + "0063\t103749\n",
		"no header":       "Nøglekortnummer: G750159724\n0063\t103749\n0064\t103749\n",
		"short code":      "Nøglekortnummer: G750159724\n" + header + "0063\t10374\n",
		"odd fields":      "Nøglekortnummer: G750159724\n" + header + "0063\t103749\t0064\n",
		"repeated key":    "Nøglekortnummer: G750159724\n" + header + "0063\t103749\t\t0063\t103749\n",
		"letters in code": "Nøglekortnummer: G750159724\n" + header + "0063\t10374a\n",
	} {
		if _, err := auth.ParseKeyCardText(text); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func FuzzParseKeyCardText(f *testing.F) {
	f.Add(ppExcerpt)
	f.Add("Nøglekortnummer: G750159724\n\n")
	f.Fuzz(func(t *testing.T, s string) {
		card, err := auth.ParseKeyCardText(s)
		if err != nil {
			return
		}
		// What parses renders and parses back to the same card.
		again, err := auth.ParseKeyCardText(card.Text())
		if err != nil || again.Text() != card.Text() {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// TestNextCardOrdered: when 20 keys are left a next card is ordered (a
// letter); when the current card is used up, the next becomes current.
func TestNextCardOrdered(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		r := e.register(t, "")
		e.activate(t, r, "Hemmelig42") // the activation asked for one key
		id := r.User.NemID
		before := len(e.mailer.Letters())
		for n := 2; n <= auth.KeysPerCard; n++ {
			f, err := e.svc.StartLogon(bg, id, "Hemmelig42")
			if err != nil {
				t.Fatalf("logon %d: %v", n, err)
			}
			if f.CardNumber != r.Card.Number {
				t.Fatalf("logon %d asked for card %s, want the first", n, f.CardNumber)
			}
			ordered := len(e.mailer.Letters()) > before
			if left := auth.KeysPerCard - n; ordered != (left <= auth.DefaultNewCardAt) {
				t.Fatalf("after challenge %d (%d keys left): next card ordered = %v", n, left, ordered)
			}
		}
		next, err := e.mailer.LatestCard(id)
		if err != nil || next.Number == r.Card.Number {
			t.Fatalf("no next card was sent: %v", err)
		}
		if len(e.mailer.Letters()) != before+1 {
			t.Errorf("%d letters sent, want exactly one new card", len(e.mailer.Letters())-before)
		}
		byNumber := func() map[string]store.KeyCard {
			cards, _ := e.svc.KeyCards(bg, id)
			m := map[string]store.KeyCard{}
			for _, c := range cards {
				m[c.Number] = c
			}
			return m
		}
		cards := byNumber()
		if len(cards) != 2 || cards[r.Card.Number].Remaining != 0 || cards[next.Number].Status != store.CardNext ||
			cards[next.Number].Remaining != auth.KeysPerCard {
			t.Fatalf("cards = %+v", cards)
		}
		// The first card is used up: the next one takes over.
		if f := e.logon(t, id, "Hemmelig42"); f == nil {
			t.Fatal("no logon")
		}
		cards = byNumber()
		if cards[r.Card.Number].Status != store.CardSpent || cards[next.Number].Status != store.CardCurrent ||
			cards[next.Number].Remaining != auth.KeysPerCard-1 {
			t.Fatalf("after the switch: %+v", cards)
		}
	})
}

// TestOutOfKeys: with no next card (its letter failed, so it was revoked)
// the user runs out: AUTH006.
func TestOutOfKeys(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		r := e.register(t, "")
		e.activate(t, r, "Hemmelig42")
		id := r.User.NemID
		e.mailer.SetFail(errors.New("the post is on strike"))
		for n := 2; n <= auth.KeysPerCard; n++ {
			if _, err := e.svc.StartLogon(bg, id, "Hemmelig42"); err != nil {
				t.Fatalf("logon %d: %v", n, err)
			}
		}
		cards, _ := e.svc.KeyCards(bg, id)
		for _, c := range cards {
			if c.Number != r.Card.Number && (c.Status != store.CardRevoked || !strings.Contains(c.Reason, "letter")) {
				t.Errorf("a card ordered without a letter: %+v, want revoked", c)
			}
		}
		if len(cards) < 2 {
			t.Errorf("no next card was ordered: %+v", cards)
		}
		_, err := e.svc.StartLogon(bg, id, "Hemmelig42")
		wantCode(t, "logon with no key left", err, ooapi.AUTH006)
		// A new card from the operator ends it.
		e.mailer.SetFail(nil)
		card, err := e.svc.IssueKeyCard(bg, auth.OperatorActor("support"), id, false, "out of keys")
		if err != nil {
			t.Fatal(err)
		}
		f, err := e.svc.StartLogon(bg, id, "Hemmelig42")
		if err != nil || f.CardNumber != card.Number {
			t.Fatalf("logon after a new card = %+v, %v", f, err)
		}
	})
}

func TestIssueKeyCard(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		r := e.register(t, "")
		e.activate(t, r, "Hemmelig42")
		id := r.User.NemID
		a, err := e.svc.IssueKeyCard(bg, auth.OperatorActor("support"), id, false, "spare")
		if err != nil || !cardNumberRE.MatchString(a.Number) || len(a.Keys) != auth.KeysPerCard || a.Keys[0].Code == "" {
			t.Fatalf("IssueKeyCard = %+v, %v", a, err)
		}
		// A second order replaces the next card on its way.
		b, err := e.svc.IssueKeyCard(bg, auth.OperatorActor("support"), id, false, "spare again")
		if err != nil {
			t.Fatal(err)
		}
		// Logons still use the current card.
		if f := e.logon(t, id, "Hemmelig42"); f == nil {
			t.Fatal("no logon")
		}
		// A lost card: revoke the current one; the new card is used at once.
		c, err := e.svc.IssueKeyCard(bg, auth.UserActor(id), id, true, "lost")
		if err != nil {
			t.Fatal(err)
		}
		f, err := e.svc.StartLogon(bg, id, "Hemmelig42")
		if err != nil || f.CardNumber != c.Number {
			t.Fatalf("logon after a lost card = %+v, %v; want card %s", f, err, c.Number)
		}
		cards, _ := e.svc.KeyCards(bg, id)
		status := map[string]store.KeyCardStatus{}
		for _, k := range cards {
			status[k.Number] = k.Status
		}
		if status[r.Card.Number] != store.CardRevoked || status[a.Number] != store.CardRevoked ||
			status[b.Number] != store.CardRevoked || status[c.Number] != store.CardCurrent {
			t.Errorf("statuses = %v", status)
		}
		_, err = e.svc.IssueKeyCard(bg, auth.OperatorActor("support"), "999999999", false, "x")
		wantErr(t, "a card for an unknown user", err, auth.ErrUnknownUser)
	})
}

// TestLetterFailure: a secret whose letter cannot be queued is withdrawn.
func TestLetterFailure(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.mailer.SetFail(errors.New("no paper"))
		_, err := e.svc.Register(bg, auth.OperatorActor("test"), auth.Registration{Name: "A B", CPR: newCPR(), Address: []string{"Vej 1"}})
		wantErr(t, "Register without letters", err, auth.ErrLetter)
		r := func() *auth.Registered { e.mailer.SetFail(nil); return e.register(t, "") }()
		e.activate(t, r, "Hemmelig42")
		e.mailer.SetFail(errors.New("no paper"))
		_, _, err = e.svc.ResetPassword(bg, auth.OperatorActor("support"), r.User.NemID)
		wantErr(t, "ResetPassword without a letter", err, auth.ErrLetter)
		_, err = e.svc.IssueKeyCard(bg, auth.OperatorActor("support"), r.User.NemID, false, "x")
		wantErr(t, "IssueKeyCard without a letter", err, auth.ErrLetter)
		cards, _ := e.svc.KeyCards(bg, r.User.NemID)
		for _, c := range cards {
			if c.Number != r.Card.Number && c.Status != store.CardRevoked {
				t.Errorf("the card without a letter is %s, want revoked", c.Status)
			}
		}
		// No temporary password is left to log on with.
		u, _ := e.st.UserByNemID(bg, r.User.NemID)
		if u.TempMAC != nil || u.State != auth.StateAwaitingActivation {
			t.Errorf("after a failed reset letter: state %s, temporary password left: %v", u.State, u.TempMAC != nil)
		}
	})
}

// TestDatabaseHoldsNoSecret: no code, temporary password or password is
// in the database in clear; the MACs need the sealed key.
func TestDatabaseHoldsNoSecret(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(bg, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := newEnv(t, st)
	r := e.register(t, "")
	e.activate(t, r, "Hemmelig42")
	r2 := e.register(t, "")
	// Read the file as anyone holding it would, past the store.
	w, err := sql.Open("sqlite", filepath.Join(dir, store.DefaultFile))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var dump bytes.Buffer
	// The binary columns are read as their raw bytes, not as hex: a hex
	// rendering of random MACs contains any given 6 digits now and then.
	for _, q := range []string{
		`SELECT key_number || ':' || code_mac FROM key_card_keys`,
		`SELECT password_hash || ':' || coalesce(temp_mac, '') FROM users`,
		`SELECT name || ':' || sealed FROM auth_secrets`,
	} {
		rows, err := w.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s sql.NullString
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			dump.WriteString(s.String + "\n")
		}
		rows.Close()
	}
	for _, c := range r.Card.Keys[:20] {
		if bytes.Contains(dump.Bytes(), []byte(c.Code)) || bytes.Contains(bytes.ToUpper(dump.Bytes()), []byte(fmt.Sprintf("%X", c.Code))) {
			t.Fatalf("the database holds the code of key %s", c.Number)
		}
	}
	for _, secret := range []string{r2.TemporaryPassword, "hemmelig42", "Hemmelig42"} {
		if bytes.Contains(dump.Bytes(), []byte(secret)) {
			t.Fatal("the database holds a password in clear")
		}
	}
	// Another master key cannot open the MAC key: the service refuses to start.
	other := &env{st: e.st, mailer: e.mailer, auditor: e.auditor, clock: e.clock, mk: masterKey(t)}
	if _, err := newService(other); err == nil {
		t.Fatal("a service with another master key started")
	}
	// The same master key: a second service checks the first one's codes.
	same := &env{st: e.st, mailer: e.mailer, auditor: e.auditor, clock: e.clock, mk: e.mk}
	svc, err := newService(same)
	if err != nil {
		t.Fatal(err)
	}
	same.svc = svc
	same.logon(t, r.User.NemID, "Hemmelig42")
}
