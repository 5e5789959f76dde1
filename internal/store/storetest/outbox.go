package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nemid-dk/nemid/internal/store"
)

// outboxMessage returns a valid message: a letter with an attachment for
// post, a bare text for SMS. The "sealed" parts are opaque bytes to the
// store; they include every byte value to show they come back unchanged.
func outboxMessage(n int, kind, user string, at time.Time) store.OutboxMessage {
	m := store.OutboxMessage{
		ID:         fmt.Sprintf("%016x", 0xa000000000000000+uint64(n)),
		Kind:       kind,
		User:       user,
		To:         "Åse Ørsted\nVestergade 12\n8000 Aarhus C",
		Subject:    fmt.Sprintf("letter %d", n),
		SealedBody: append([]byte{0, 1, 2, 0xff}, fmt.Sprintf("sealed body %d", n)...),
		CreatedAt:  at,
	}
	for b := range 256 {
		m.SealedBody = append(m.SealedBody, byte(b))
	}
	switch kind {
	case store.OutboxPost:
		m.SealedAttachment = []byte(fmt.Sprintf("sealed %%PDF %d \x00\xff", n))
		m.HasAttachment = true
	case store.OutboxSMS:
		m.To = "+4512345678"
		m.Subject = ""
	}
	return m
}

func insertOutbox(t *testing.T, s store.Store, m store.OutboxMessage) {
	t.Helper()
	if err := s.InsertOutboxMessage(ctx(t), m); err != nil {
		t.Fatalf("InsertOutboxMessage(%s): %v", m.ID, err)
	}
}

// sameOutboxMessage fails unless got is want as stored (times truncated to
// microseconds, in UTC); withSealed says whether the sealed parts are expected.
func sameOutboxMessage(t *testing.T, got, want store.OutboxMessage, withSealed bool) {
	t.Helper()
	if got.ID != want.ID || got.Kind != want.Kind || got.User != want.User || got.To != want.To ||
		got.Subject != want.Subject || got.HasAttachment != want.HasAttachment {
		t.Errorf("outbox message = %+v\nwant %+v", got, want)
	}
	if withSealed {
		if !bytes.Equal(got.SealedBody, want.SealedBody) || !bytes.Equal(got.SealedAttachment, want.SealedAttachment) ||
			(got.SealedAttachment == nil) != (want.SealedAttachment == nil) {
			t.Errorf("message %s: sealed parts changed in the store", want.ID)
		}
	} else if got.SealedBody != nil || got.SealedAttachment != nil {
		t.Errorf("message %s: a listing carries the sealed parts", want.ID)
	}
	sameTime(t, want.ID+" CreatedAt", got.CreatedAt, want.CreatedAt)
}

// outboxIDs lists the IDs the filter selects, in the order returned.
func outboxIDs(t *testing.T, s store.Store, f store.OutboxFilter) []string {
	t.Helper()
	ms, err := s.OutboxMessages(ctx(t), f)
	if err != nil {
		t.Fatalf("OutboxMessages(%+v): %v", f, err)
	}
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.ID)
	}
	return ids
}

func testOutboxRoundTrip(t *testing.T, s store.Store) {
	post := outboxMessage(1, store.OutboxPost, "user-1", t0)
	sms := outboxMessage(2, store.OutboxSMS, "user-1", t0.Add(time.Second))
	insertOutbox(t, s, post)
	insertOutbox(t, s, sms)
	for _, want := range []store.OutboxMessage{post, sms} {
		got, err := s.OutboxMessage(ctx(t), want.ID)
		if err != nil {
			t.Fatal(err)
		}
		sameOutboxMessage(t, got, want, true)
	}
	list, err := s.OutboxMessages(ctx(t), store.OutboxFilter{})
	if err != nil || len(list) != 2 {
		t.Fatalf("OutboxMessages = %d messages, %v; want 2", len(list), err)
	}
	sameOutboxMessage(t, list[0], sms, false)
	sameOutboxMessage(t, list[1], post, false)

	_, err = s.OutboxMessage(ctx(t), "0123456789abcdef")
	mustErr(t, "OutboxMessage(unknown)", err, store.ErrNotFound)
	_, err = s.OutboxMessage(ctx(t), "not an id; DROP TABLE outbox")
	mustErr(t, "OutboxMessage(malformed)", err, store.ErrNotFound)
}

func testOutboxNewestFirst(t *testing.T, s store.Store) {
	// Stored out of time order; two pairs share a microsecond, where the
	// later stored is the newer.
	at := []time.Duration{3 * time.Hour, time.Hour, time.Hour, 2 * time.Hour, 5 * time.Hour, 5 * time.Hour}
	users := []string{"anne", "bo", "anne", "anne", "bo", "anne"}
	for i := range at {
		insertOutbox(t, s, outboxMessage(i, store.OutboxPost, users[i], t0.Add(at[i])))
	}
	id := func(n int) string { return outboxMessage(n, "", "", t0).ID }
	for _, c := range []struct {
		f    store.OutboxFilter
		want []string
	}{
		{store.OutboxFilter{}, []string{id(5), id(4), id(0), id(3), id(2), id(1)}},
		{store.OutboxFilter{User: "anne"}, []string{id(5), id(0), id(3), id(2)}},
		{store.OutboxFilter{User: "bo"}, []string{id(4), id(1)}},
		{store.OutboxFilter{User: "anne", Limit: 2}, []string{id(5), id(0)}},
		{store.OutboxFilter{Limit: 1}, []string{id(5)}},
		{store.OutboxFilter{User: "Anne"}, nil}, // user ids are compared exactly
		{store.OutboxFilter{User: "nobody"}, nil},
	} {
		if got := outboxIDs(t, s, c.f); strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("OutboxMessages(%+v) = %v, want %v", c.f, got, c.want)
		}
	}
	_, err := s.OutboxMessages(ctx(t), store.OutboxFilter{Limit: -1})
	if err == nil {
		t.Error("OutboxMessages(Limit: -1): no error")
	}
}

func testOutboxDuplicate(t *testing.T, s store.Store) {
	first := outboxMessage(1, store.OutboxPost, "user-1", t0)
	insertOutbox(t, s, first)
	again := outboxMessage(1, store.OutboxSMS, "user-2", t0.Add(time.Hour))
	mustErr(t, "InsertOutboxMessage(same ID)", s.InsertOutboxMessage(ctx(t), again), store.ErrDuplicate)
	got, err := s.OutboxMessage(ctx(t), first.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameOutboxMessage(t, got, first, true)
}

func testOutboxInvalid(t *testing.T, s store.Store) {
	for _, c := range []struct {
		name string
		edit func(m *store.OutboxMessage)
	}{
		{"short ID", func(m *store.OutboxMessage) { m.ID = m.ID[1:] }},
		{"upper-case ID", func(m *store.OutboxMessage) { m.ID = strings.ToUpper(m.ID) }},
		{"ID not hex", func(m *store.OutboxMessage) { m.ID = "zzzzzzzzzzzzzzzz" }},
		{"unknown kind", func(m *store.OutboxMessage) { m.Kind = "fax" }},
		{"no user", func(m *store.OutboxMessage) { m.User = "" }},
		{"no recipient", func(m *store.OutboxMessage) { m.To = "" }},
		{"no body", func(m *store.OutboxMessage) { m.SealedBody = nil }},
		{"empty attachment", func(m *store.OutboxMessage) { m.SealedAttachment = []byte{} }},
		{"HasAttachment without one", func(m *store.OutboxMessage) { m.SealedAttachment = nil }},
		{"no time", func(m *store.OutboxMessage) { m.CreatedAt = time.Time{} }},
	} {
		m := outboxMessage(7, store.OutboxPost, "user-1", t0)
		c.edit(&m)
		err := s.InsertOutboxMessage(ctx(t), m)
		if err == nil || errors.Is(err, store.ErrDuplicate) {
			t.Errorf("%s: err = %v, want a validation error", c.name, err)
		}
	}
	if ids := outboxIDs(t, s, store.OutboxFilter{}); len(ids) != 0 {
		t.Errorf("refused messages were stored: %v", ids)
	}
}

func testOutboxConcurrent(t *testing.T, s store.Store) {
	const n = 20
	c := ctx(t)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := fmt.Sprintf("user-%d", i%2)
			errs <- s.InsertOutboxMessage(c, outboxMessage(i, store.OutboxPost, user, t0))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := outboxIDs(t, s, store.OutboxFilter{}); len(got) != n {
		t.Errorf("%d messages listed after %d concurrent inserts", len(got), n)
	}
	if got := outboxIDs(t, s, store.OutboxFilter{User: "user-1"}); len(got) != n/2 {
		t.Errorf("%d messages of user-1, want %d", len(got), n/2)
	}
}
