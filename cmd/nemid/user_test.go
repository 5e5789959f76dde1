package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/auth"
	"github.com/nemid-dk/nemid/internal/ca/keys/softhsmtest"
	"github.com/nemid-dk/nemid/internal/store/storetest"
	"github.com/nemid-dk/nemid/oces"
)

// createdJSON is `nemid user create --json`.
type createdJSON struct {
	NemID       string `json:"nemid"`
	Alias       string `json:"alias"`
	Name        string `json:"name"`
	State       string `json:"state"`
	PID         string `json:"pid"`
	Certificate string `json:"certificate_serial"`
	Letters     *struct {
		TemporaryPassword string `json:"temporary_password"`
		KeyCard           string `json:"key_card"`
	} `json:"letters"`
	ValidUntil        time.Time `json:"temporary_password_valid_until"`
	KeyCardNumber     string    `json:"key_card_number"`
	TemporaryPassword string    `json:"temporary_password"`
	KeyCard           *cardJSON `json:"key_card"`
}

type cardJSON struct {
	Number string `json:"number"`
	Keys   []struct {
		Number string `json:"number"`
		Code   string `json:"code"`
	} `json:"keys"`
	Text string `json:"text"`
}

// userJSON is `nemid user show --json` (and, without the lists, a row of
// `nemid user list --json`).
type userJSON struct {
	NemID            string     `json:"nemid"`
	CPR              string     `json:"cpr"`
	Alias            string     `json:"alias"`
	PID              string     `json:"pid"`
	Name             string     `json:"name"`
	Address          []string   `json:"address"`
	State            string     `json:"state"`
	QuarantinedUntil *time.Time `json:"quarantined_until"`
	BlockedBy        string     `json:"blocked_by"`
	StateReason      string     `json:"state_reason"`
	RegisteredAt     time.Time  `json:"registered_at"`
	KeyCards         []struct {
		Number     string     `json:"number"`
		Status     string     `json:"status"`
		KeysLeft   int        `json:"keys_left"`
		IssuedAt   time.Time  `json:"issued_at"`
		FinishedAt *time.Time `json:"finished_at"`
		Reason     string     `json:"reason"`
	} `json:"key_cards"`
	Certificates []struct {
		Serial     string     `json:"serial"`
		KeyVersion int64      `json:"key_version"`
		Subject    string     `json:"subject"`
		Status     string     `json:"status"`
		NotAfter   time.Time  `json:"not_after"`
		RevokedAt  *time.Time `json:"revoked_at"`
		Reason     string     `json:"revocation_reason"`
	} `json:"certificates"`
	Letters []outboxJSON `json:"letters"`
	Events  []struct {
		At     time.Time `json:"at"`
		From   string    `json:"from"`
		To     string    `json:"to"`
		Actor  string    `json:"actor"`
		Reason string    `json:"reason"`
	} `json:"events"`
	EventCount int `json:"event_count"`
}

// The two people of the tests: fictitious, with CPR numbers of real form.
const (
	anneCPR  = "1403851236"
	larsCPR  = "0207791457"
	anneName = "Anne Sofie Jensen"
)

var (
	nemidInText   = regexp.MustCompile(`NemID number (\d{9})`)
	letterInText  = regexp.MustCompile(`nemid outbox show ([0-9a-f]{16})`)
	tempPwInText  = regexp.MustCompile(`Temporary password: (\d{6}) `)
	keyPairInText = regexp.MustCompile(`(?m)\b(\d{4})\t(\d{6})\b`)
)

func (r *runner) userShow(db []string, id string, extra ...string) userJSON {
	r.t.Helper()
	var v userJSON
	decodeStrict(r.t, "user show "+id, r.ok(append(append([]string{"user", "show", id, "--json"}, extra...), db...)...), &v)
	return v
}

func (r *runner) userList(db []string, extra ...string) []userJSON {
	r.t.Helper()
	var v []userJSON
	decodeStrict(r.t, "user list", r.ok(append(append([]string{"user", "list", "--json"}, extra...), db...)...), &v)
	return v
}

func (r *runner) outboxList(db []string) []outboxJSON {
	r.t.Helper()
	var v []outboxJSON
	decodeStrict(r.t, "outbox list", r.ok(append([]string{"outbox", "list", "--json"}, db...)...), &v)
	return v
}

func (r *runner) outboxBody(db []string, id string) string {
	r.t.Helper()
	var v outboxShowJSON
	decodeStrict(r.t, "outbox show "+id, r.ok(append([]string{"outbox", "show", id, "--json"}, db...)...), &v)
	return v.Body
}

// counts is how much of everything an installation holds, to show that a
// refused command changed nothing.
type counts struct{ users, letters, certificates, audit int }

func (r *runner) counts(db []string) counts {
	r.t.Helper()
	return counts{
		users:        len(r.userList(db)),
		letters:      len(r.outboxList(db)),
		certificates: len(r.list(db...)),
		audit:        len(r.auditList(db[1], db[2:]...)),
	}
}

// cardCodes reads every key of a key-card text (auth's layout) into a map.
func cardCodes(text string) map[string]string {
	out := map[string]string{}
	for _, m := range keyPairInText.FindAllStringSubmatch(text, -1) {
		out[m[1]] = m[2]
	}
	return out
}

// createAndShow registers Anne (text output, with --print) and Lars
// (--json --print) and shows Anne by each of her three user-ids. It returns
// both registrations.
func createAndShow(t *testing.T, r *runner, db []string) (anne, lars createdJSON) {
	with := func(args ...string) []string { return append(args, db...) }

	// 1. Text, with the secrets.
	res := r.run(with("user", "create", "--name", anneName, "--cpr", "140385-1236", "--alias", "Anne.Jensen",
		"--address", "Vestergade 12, 2. th.", "--address", "8000 Aarhus C", "--print")...)
	if res.code != 0 {
		t.Fatalf("user create:\n%s", res)
	}
	m := nemidInText.FindStringSubmatch(res.stdout)
	letters := letterInText.FindAllStringSubmatch(res.stdout, -1)
	pw := tempPwInText.FindStringSubmatch(res.stdout)
	if m == nil || len(letters) != 2 || pw == nil {
		t.Fatalf("user create prints no NemID number, two letters and a temporary password:\n%s", res)
	}
	anne.NemID, anne.TemporaryPassword, anne.Alias = m[1], pw[1], "Anne.Jensen"
	if !strings.Contains(res.stderr, "secrets") || !strings.Contains(res.stderr, "SIMULATED outbox") {
		t.Errorf("user create --print does not warn on stderr that it shows secrets:\n%s", res)
	}
	card, err := auth.ParseKeyCardText(res.stdout[strings.Index(res.stdout, "Nøglekortnummer: "):])
	if err != nil {
		t.Fatalf("user create --print: the key card does not parse: %v\n%s", err, res)
	}
	if len(card.Keys) != auth.KeysPerCard {
		t.Errorf("the printed card has %d keys", len(card.Keys))
	}
	// The letters hold the same secrets.
	if body := r.outboxBody(db, letters[0][1]); !strings.Contains(body, anne.TemporaryPassword) || !strings.Contains(body, anne.NemID) {
		t.Errorf("the temporary-password letter %s does not hold the password printed:\n%s", letters[0][1], body)
	}
	if body := r.outboxBody(db, letters[1][1]); !strings.Contains(body, card.Number) {
		t.Errorf("the key-card letter %s does not name card %s:\n%s", letters[1][1], card.Number, body)
	}
	// Without --print, no secret.
	var plain createdJSON
	res = r.run(with("user", "create", "--name", "Lars Peter Nielsen", "--cpr", larsCPR, "--address", "Nørrebrogade 45", "--address", "2200 København N", "--json")...)
	if res.code != 0 {
		t.Fatalf("user create --json:\n%s", res)
	}
	decodeStrict(t, "user create --json", res.stdout, &plain)
	if plain.TemporaryPassword != "" || plain.KeyCard != nil || strings.Contains(res.stderr, "secrets") {
		t.Errorf("user create --json without --print shows secrets:\n%s", res)
	}
	if len(plain.NemID) != 9 || plain.State != "awaiting_activation" || plain.Letters == nil || plain.Certificate == "" ||
		plain.PID == "" || len(plain.KeyCardNumber) != 10 || plain.Name != "Lars Peter Nielsen" || plain.Alias != "" ||
		time.Until(plain.ValidUntil) < 13*24*time.Hour {
		t.Errorf("user create --json: %+v", plain)
	}
	lars = plain
	if lv := r.userShow(db, lars.NemID); lv.PID != lars.PID || len(lv.Certificates) != 1 ||
		lv.Certificates[0].Serial != lars.Certificate || !strings.Contains(lv.Certificates[0].Subject, "PID:"+lars.PID) {
		t.Errorf("user show of the user created with --json: %+v, want PID %s and certificate %s", lv, lars.PID, lars.Certificate)
	}

	// 2. show by each user-id: the NemID number, the CPR number (with and
	// without the dash) and the alias in another case.
	for _, id := range []string{anne.NemID, anneCPR, "140385-1236", "anne.jensen", " ANNE.JENSEN "} {
		v := r.userShow(db, id)
		if v.NemID != anne.NemID {
			t.Errorf("user show %q: NemID %s, want %s", id, v.NemID, anne.NemID)
		}
	}
	v := r.userShow(db, anne.NemID)
	if v.CPR != "140385-****" || v.Alias != "Anne.Jensen" || v.Name != anneName || v.State != "awaiting_activation" ||
		len(v.Address) != 2 || v.Address[1] != "8000 Aarhus C" {
		t.Errorf("user show: %+v", v)
	}
	if len(v.KeyCards) != 1 || v.KeyCards[0].Number != card.Number || v.KeyCards[0].Status != "current" || v.KeyCards[0].KeysLeft != auth.KeysPerCard {
		t.Errorf("user show: key cards %+v, want card %s, current, 148 keys left", v.KeyCards, card.Number)
	}
	if len(v.Certificates) != 1 || v.Certificates[0].Status != "good" || v.Certificates[0].KeyVersion != 1 ||
		!strings.Contains(v.Certificates[0].Subject, anneName) {
		t.Errorf("user show: certificates %+v, want one good POCES for key version 1", v.Certificates)
	}
	if len(v.Letters) != 2 || v.Letters[0].ID != letters[1][1] || v.Letters[1].ID != letters[0][1] {
		t.Errorf("user show: letters %+v, want %s and %s, newest first", v.Letters, letters[1][1], letters[0][1])
	}
	if v.EventCount < 1 || len(v.Events) != v.EventCount || v.Events[0].To != "awaiting_activation" {
		t.Errorf("user show: events %+v (%d)", v.Events, v.EventCount)
	}
	if full := r.userShow(db, "anne.jensen", "--show-cpr"); full.CPR != "140385-1236" {
		t.Errorf("user show --show-cpr: CPR %q", full.CPR)
	}
	text := r.ok(with("user", "show", anne.NemID)...)
	for _, want := range []string{anne.NemID, "140385-****", "Anne.Jensen", anneName, "awaiting_activation", card.Number, "148", v.Certificates[0].Serial, letters[0][1]} {
		if !strings.Contains(text, want) {
			t.Errorf("user show does not say %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, anneCPR) || strings.Contains(text, anne.TemporaryPassword) {
		t.Errorf("user show prints the CPR number or the temporary password:\n%s", text)
	}
	anne.KeyCard = &cardJSON{Number: card.Number}
	for _, k := range card.Keys {
		anne.KeyCard.Keys = append(anne.KeyCard.Keys, struct {
			Number string `json:"number"`
			Code   string `json:"code"`
		}{k.Number, k.Code})
	}
	anne.Letters = &struct {
		TemporaryPassword string `json:"temporary_password"`
		KeyCard           string `json:"key_card"`
	}{letters[0][1], letters[1][1]}
	anne.Certificate = v.Certificates[0].Serial
	return anne, lars
}

func TestUser(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	data := initialisedData(t)
	db := []string{"--data", data}
	with := func(args ...string) []string { return append(args, db...) }
	anne, lars := createAndShow(t, r, db)

	// 3. Refusals change nothing: a second NemID for a CPR number, a taken
	// alias (in another case), and input auth refuses.
	before := r.counts(db)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--name", "Anne Again", "--cpr", anneCPR, "--address", "Et sted"}, "CPR number is registered already"},
		{[]string{"--name", "Anne Again", "--cpr", "1403851244", "--alias", "ANNE.jensen", "--address", "Et sted"}, `alias "ANNE.jensen" is taken`},
		{[]string{"--name", "Bad Date", "--cpr", "3102851234", "--address", "Et sted"}, "CPR"},
		{[]string{"--name", "Too Short", "--cpr", "1403851244", "--address", "Et sted", "--cpr", "12345"}, "CPR"},
		{[]string{"--name", "Number Alias", "--cpr", "1403851244", "--alias", "123456789", "--address", "Et sted"}, "alias"},
		{[]string{"--name", "Short Alias", "--cpr", "1403851244", "--alias", "ab", "--address", "Et sted"}, "alias"},
		{[]string{"--name", "  ", "--cpr", "1403851244", "--address", "Et sted"}, "--name"},
		{[]string{"--name", "Bad\x07Name", "--cpr", "1403851244", "--address", "Et sted"}, "name"},
		{[]string{"--name", "No Address", "--cpr", "1403851244"}, "--address"},
	} {
		res := r.fail(with(append([]string{"user", "create"}, tc.args...)...)...)
		if !strings.Contains(res.stderr, tc.want) {
			t.Errorf("user create %q: want an error about %q:\n%s", tc.args, tc.want, res)
		}
		for _, cpr := range []string{anneCPR, "1403851244", "140385-1236"} {
			if strings.Contains(res.stderr, cpr) {
				t.Errorf("user create %q: the error repeats a CPR number:\n%s", tc.args, res)
			}
		}
	}
	if after := r.counts(db); after != before {
		t.Errorf("refused registrations changed the installation: %+v, want %+v", after, before)
	}
	// Unknown users: a CPR number is not repeated.
	if res := r.fail(with("user", "show", "0101901234")...); !strings.Contains(res.stderr, "no user has that CPR number") || strings.Contains(res.stderr, "0101901234") {
		t.Errorf("user show of an unknown CPR number:\n%s", res)
	}
	if res := r.fail(with("user", "show", "999999999")...); !strings.Contains(res.stderr, `no user has the user-id "999999999"`) {
		t.Errorf("user show of an unknown NemID number:\n%s", res)
	}
	r.fail(with("user", "show")...)
	r.fail(with("user", "show", anne.NemID, lars.NemID)...)

	// 4. list.
	list := r.userList(db)
	if len(list) != 2 || list[0].NemID != anne.NemID || list[1].NemID != lars.NemID || list[0].CPR != "" {
		t.Errorf("user list: %+v", list)
	}
	if page := r.userList(db, "--limit", "1", "--after", anne.NemID); len(page) != 1 || page[0].NemID != lars.NemID {
		t.Errorf("user list --after %s: %+v", anne.NemID, page)
	}
	listText := r.ok(with("user", "list")...)
	if !strings.Contains(listText, anne.NemID) || !strings.Contains(listText, "Anne.Jensen") || !strings.Contains(listText, "2 user(s)") ||
		strings.Contains(listText, "140385") {
		t.Errorf("user list:\n%s", listText)
	}
	r.fail(with("user", "list", "--state", "asleep")...)

	// 5. block with keyCompromise: the certificate is revoked with it.
	r.fail(with("user", "block", anne.NemID, "--revocation-reason", "superseded")...)
	out := r.ok(with("user", "block", "anne.jensen", "--revocation-reason", "keyCompromise", "--reason", "card stolen")...)
	if !strings.Contains(out, "Blocked NemID "+anne.NemID) || !strings.Contains(out, "Revoked certificate "+anne.Certificate+" (keyCompromise)") {
		t.Errorf("user block:\n%s", out)
	}
	if c := bySerial(r.list(db...))[anne.Certificate]; c.Status != "revoked" || c.Reason != "keyCompromise" {
		t.Errorf("ca list after the block: %+v, want revoked, keyCompromise", c)
	}
	v := r.userShow(db, anne.NemID)
	if v.State != "blocked" || v.BlockedBy != "operator" || v.StateReason != "card stolen" || v.Certificates[0].Reason != "keyCompromise" {
		t.Errorf("user show after the block: %+v", v)
	}
	if res := r.fail(with("user", "block", anne.NemID)...); !strings.Contains(res.stderr, "blocked already") {
		t.Errorf("a second block:\n%s", res)
	}
	if res := r.fail(with("user", "reset-password", anne.NemID)...); !strings.Contains(res.stderr, "unblock it first") {
		t.Errorf("reset-password of a blocked user:\n%s", res)
	}
	// Lars's block takes the default reason, cessationOfOperation.
	r.ok(with("user", "block", lars.NemID)...)
	if c := bySerial(r.list(db...))[lars.Certificate]; c.Status != "revoked" || c.Reason != "cessationOfOperation" {
		t.Errorf("ca list after the default block: %+v, want revoked, cessationOfOperation", c)
	}

	// 6. unblock.
	out = r.ok(with("user", "unblock", anne.NemID)...)
	if !strings.Contains(out, "Unblocked NemID "+anne.NemID+": now awaiting_activation") {
		t.Errorf("user unblock:\n%s", out)
	}
	if res := r.fail(with("user", "unblock", anne.NemID)...); !strings.Contains(res.stderr, "not blocked") {
		t.Errorf("unblocking an unblocked user:\n%s", res)
	}

	// 7. reset-password: a new letter with the new password.
	lettersBefore := len(r.outboxList(db))
	var reset struct {
		NemID             string    `json:"nemid"`
		Letter            string    `json:"letter"`
		ValidUntil        time.Time `json:"valid_until"`
		TemporaryPassword string    `json:"temporary_password"`
	}
	res := r.run(with("user", "reset-password", anne.NemID, "--print", "--json")...)
	if res.code != 0 {
		t.Fatalf("user reset-password:\n%s", res)
	}
	decodeStrict(t, "user reset-password --json", res.stdout, &reset)
	if reset.NemID != anne.NemID || len(reset.TemporaryPassword) != 6 || reset.Letter == anne.Letters.TemporaryPassword ||
		!strings.Contains(res.stderr, "secrets") {
		t.Errorf("user reset-password --print --json: %+v\n%s", reset, res)
	}
	if body := r.outboxBody(db, reset.Letter); !strings.Contains(body, reset.TemporaryPassword) {
		t.Errorf("the reset letter %s does not hold the new password:\n%s", reset.Letter, body)
	}
	if n := len(r.outboxList(db)); n != lettersBefore+1 {
		t.Errorf("the outbox holds %d letters after a reset, want %d", n, lettersBefore+1)
	}
	out = r.ok(with("user", "reset-password", "anne.jensen")...)
	if !strings.Contains(out, "nemid outbox show ") || tempPwInText.MatchString(out) || strings.Contains(out, reset.TemporaryPassword) {
		t.Errorf("user reset-password without --print:\n%s", out)
	}

	// 8. keycard print: the latest key-card letter, the first card.
	printed := r.ok(with("keycard", "print", anne.NemID)...)
	if got := cardCodes(printed); len(got) != auth.KeysPerCard || got[anne.KeyCard.Keys[0].Number] != anne.KeyCard.Keys[0].Code {
		t.Errorf("keycard print shows %d keys of card %s:\n%s", len(got), anne.KeyCard.Number, printed)
	}

	// 9. keycard new: the next card, then print shows it.
	var next struct {
		NemID   string    `json:"nemid"`
		Number  string    `json:"number"`
		Status  string    `json:"status"`
		Revoked string    `json:"revoked"`
		Letter  string    `json:"letter"`
		Card    *cardJSON `json:"card"`
	}
	res = r.run(with("keycard", "new", "anne.jensen", "--print", "--json")...)
	if res.code != 0 {
		t.Fatalf("keycard new:\n%s", res)
	}
	decodeStrict(t, "keycard new --json", res.stdout, &next)
	if next.Status != "next" || next.Revoked != "" || next.Card == nil || len(next.Card.Keys) != auth.KeysPerCard || next.Number == anne.KeyCard.Number {
		t.Fatalf("keycard new: %+v", next)
	}
	res = r.run(with("keycard", "print", anne.NemID)...)
	if got := cardCodes(res.stdout); res.code != 0 || len(got) != auth.KeysPerCard || got[next.Card.Keys[5].Number] != next.Card.Keys[5].Code ||
		!strings.Contains(res.stdout, next.Number) || !strings.Contains(res.stderr, next.Number+" of NemID "+anne.NemID+": next, 148 keys left") {
		t.Errorf("keycard print after keycard new does not print the new card %s:\n%s", next.Number, res)
	}
	pdf := filepath.Join(r.dir, "card.pdf")
	out = r.ok(with("keycard", "print", "--pdf", pdf, anne.NemID)...)
	if !strings.Contains(out, pdf) {
		t.Errorf("keycard print --pdf:\n%s", out)
	}
	if fi, err := os.Stat(pdf); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the key-card PDF: %v, %v; want mode 0600", fi, err)
	}
	pdfText := tool(t, "pdftotext", "-layout", pdf, "-")
	pairs := map[string]string{}
	for _, p := range regexp.MustCompile(`\b(\d{4}) (\d{6})\b`).FindAllStringSubmatch(pdfText, -1) {
		pairs[p[1]] = p[2]
	}
	for _, k := range next.Card.Keys {
		if pairs[k.Number] != k.Code {
			t.Errorf("pdftotext: key %s reads %q on the card, want %s", k.Number, pairs[k.Number], k.Code)
			break
		}
	}
	if !strings.Contains(pdfText, next.Number) {
		t.Errorf("pdftotext does not find the card number %s", next.Number)
	}
	if res := r.fail(with("keycard", "print", "--pdf", pdf, anne.NemID)...); !strings.Contains(res.stderr, "exists") {
		t.Errorf("keycard print --pdf over an existing file:\n%s", res)
	}

	// A lost card: --revoke-current revokes the current one at once.
	out = r.ok(with("keycard", "new", anne.NemID, "--revoke-current")...)
	if !strings.Contains(out, "card "+anne.KeyCard.Number+" is revoked") {
		t.Errorf("keycard new --revoke-current:\n%s", out)
	}
	for _, k := range r.userShow(db, anne.NemID).KeyCards {
		if k.Number == anne.KeyCard.Number && k.Status != "revoked" {
			t.Errorf("the lost card %s is %s", k.Number, k.Status)
		}
	}

	// 10. Everything above is in an intact audit log.
	if out := r.ok(with("audit", "verify")...); !strings.Contains(out, "verified") {
		t.Errorf("audit verify:\n%s", out)
	}
	var actions []string
	for _, e := range r.auditList(data) {
		actions = append(actions, e.Action)
		raw, _ := json.Marshal(e)
		for _, secret := range []string{anneCPR, larsCPR, anne.TemporaryPassword, reset.TemporaryPassword, next.Card.Keys[0].Code} {
			if strings.Contains(string(raw), secret) {
				t.Errorf("audit entry %d holds a secret or CPR number: %s", e.Seq, raw)
			}
		}
	}
	for _, want := range []string{"registration", "block", "certificate-revoked", "unblock", "password-reset", "keycard-issued"} {
		if !strings.Contains(strings.Join(actions, " "), want) {
			t.Errorf("the audit log has no %s: %v", want, actions)
		}
	}

	// Help.
	for _, args := range [][]string{{"user", "-h"}, {"user", "create", "-h"}, {"user", "show", "-h"}, {"user", "list", "-h"},
		{"user", "block", "-h"}, {"user", "unblock", "-h"}, {"user", "reset-password", "-h"}, {"keycard", "-h"},
		{"keycard", "new", "-h"}, {"keycard", "print", "-h"}} {
		if res := r.run(args...); res.code != 0 || !strings.Contains(res.stdout+res.stderr, "Usage: nemid") {
			t.Errorf("nemid %s:\n%s", strings.Join(args, " "), res)
		}
	}
	if help := r.run("keycard", "print", "-h"); !strings.Contains(help.stderr+help.stdout, "holds no code") {
		t.Errorf("keycard print -h does not say why it reads the outbox:\n%s", help)
	}
}

// TestUserPostgres runs the create and show part on PostgreSQL.
func TestUserPostgres(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	db := []string{"--data", filepath.Join(r.dir, "data"), "--database", storetest.NewPostgresSchema(t)}
	r.ok(append([]string{"init"}, db...)...)
	anne, _ := createAndShow(t, r, db)
	before := r.counts(db)
	if res := r.fail(append([]string{"user", "create", "--name", "Anne Again", "--cpr", anneCPR, "--address", "Et sted"}, db...)...); !strings.Contains(res.stderr, "registered already") {
		t.Errorf("a second NemID for a CPR number:\n%s", res)
	}
	if after := r.counts(db); after != before {
		t.Errorf("a refused registration changed the installation: %+v, want %+v", after, before)
	}
	if v := r.userShow(db, anne.NemID); v.State != "awaiting_activation" {
		t.Errorf("user show: %+v", v)
	}
}

// TestServeDemo starts `nemid serve --demo` on a new data directory (it
// prints three demo users) and again (it says they exist).
func TestServeDemo(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	data := filepath.Join(r.dir, "data")
	listen := "127.0.0.1:" + freePort(t)
	s := startServe(t, r, "--data", data, "--listen", listen, "--demo")
	demoLine := regexp.MustCompile(`(?m)^\s+(.+?)\s+NemID (\d{9})\s+alias (\S+)\s+temporary password (\d{6})\s+key card: nemid keycard print (\d{9}) \(or nemid outbox show ([0-9a-f]{16})\)$`)
	lines := demoLine.FindAllStringSubmatch(s.stdout.String(), -1)
	if len(lines) != 3 {
		t.Fatalf("serve --demo printed %d demo users, want 3:\n%s", len(lines), s.output())
	}
	s.stop()
	db := []string{"--data", data}
	for _, l := range lines {
		name, nemid, alias, pw, cardNemID, letter := l[1], l[2], l[3], l[4], l[5], l[6]
		if cardNemID != nemid {
			t.Errorf("demo user %s: keycard print %s, want %s", name, cardNemID, nemid)
		}
		v := r.userShow(db, alias, "--show-cpr")
		if v.NemID != nemid || v.Name != name || v.State != "awaiting_activation" || len(v.Certificates) != 1 {
			t.Errorf("demo user %s: %+v", alias, v)
		}
		if err := oces.ValidateCPR(v.CPR); err != nil {
			t.Errorf("demo user %s: CPR number: %v", alias, err)
		}
		letters := v.Letters
		if len(letters) != 2 || letters[0].ID != letter {
			t.Errorf("demo user %s: letters %+v, want the key-card letter %s newest", alias, letters, letter)
		}
		if len(letters) == 2 {
			if body := r.outboxBody(db, letters[1].ID); !strings.Contains(body, pw) {
				t.Errorf("demo user %s: the temporary-password letter does not hold the password printed", alias)
			}
		}
		if got := cardCodes(r.ok(append([]string{"keycard", "print", nemid}, db...)...)); len(got) != auth.KeysPerCard {
			t.Errorf("demo user %s: keycard print shows %d keys", alias, len(got))
		}
	}
	if strings.Contains(s.stderr.String(), lines[0][4]) {
		t.Errorf("a temporary password is in the log:\n%s", s.stderr.String())
	}

	// A later start makes no more users, and says where they are.
	s = startServe(t, r, "--data", data, "--listen", listen, "--demo")
	s.stop()
	if out := s.stdout.String(); !strings.Contains(out, "Demo users exist") || !strings.Contains(out, lines[0][2]) || demoLine.MatchString(out) {
		t.Errorf("the second serve --demo:\n%s", s.output())
	}
	if n := len(r.userList(db)); n != 3 {
		t.Errorf("%d users after two starts, want 3", n)
	}
	if out := r.ok("audit", "verify", "--data", data); !strings.Contains(out, "verified") {
		t.Errorf("audit verify:\n%s", out)
	}
}

// TestUserPKCS11 registers users in an installation whose keys are in a
// PKCS#11 token (SoftHSM2): the master key that seals the users' data is
// an AES key in the token, made by init — or, for an installation from
// before, by the first user command — and the outbox opens with it.
// Not parallel: SoftHSM2 takes its configuration from the environment.
func TestUserPKCS11(t *testing.T) {
	cfg := softhsmtest.NewToken(t)
	r := newRunner(t).withEnv("NEMID_PKCS11_PIN=" + cfg.PIN)
	data := filepath.Join(r.dir, "data")
	db := []string{"--data", data, "--pkcs11-module", cfg.Module, "--pkcs11-token", cfg.TokenLabel}
	pkcs11Tool := func(args ...string) string {
		return tool(t, "pkcs11-tool", append([]string{"--module", cfg.Module, "--token-label", cfg.TokenLabel, "--login", "--pin", cfg.PIN}, args...)...)
	}
	r.ok(append([]string{"init"}, db...)...)
	if _, err := os.Stat(filepath.Join(data, "master.key")); !os.IsNotExist(err) {
		t.Errorf("a PKCS#11 installation has a master key file: %v", err)
	}
	if objs := pkcs11Tool("--list-objects", "--type", "secrkey"); !strings.Contains(objs, "nemid-master") {
		t.Fatalf("init made no master key in the token:\n%s", objs)
	}
	// An installation made before the token held a master key.
	pkcs11Tool("--delete-object", "--type", "secrkey", "--label", "nemid-master")
	if res := r.fail(append([]string{"outbox", "list"}, db...)...); !strings.Contains(res.stderr, `holds no master key "nemid-master"`) {
		t.Errorf("outbox list without a master key in the token:\n%s", res)
	}
	anne, _ := createAndShow(t, r, db)
	if objs := pkcs11Tool("--list-objects", "--type", "secrkey"); strings.Count(objs, "nemid-master") != 1 {
		t.Errorf("after the first user command the token should hold one master key:\n%s", objs)
	}
	pdf := filepath.Join(r.dir, "card.pdf")
	r.ok(append([]string{"keycard", "print", anne.NemID, "--pdf", pdf}, db...)...)
	if text := tool(t, "pdftotext", "-layout", pdf, "-"); !strings.Contains(text, anne.KeyCard.Number) ||
		!strings.Contains(text, anne.KeyCard.Keys[0].Number+" "+anne.KeyCard.Keys[0].Code) {
		t.Errorf("the key-card PDF from the outbox does not show card %s", anne.KeyCard.Number)
	}
	if out := r.ok(append([]string{"audit", "verify"}, db...)...); !strings.Contains(out, "verified") {
		t.Errorf("audit verify:\n%s", out)
	}
}
