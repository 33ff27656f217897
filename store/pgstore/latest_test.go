package pgstore

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"hookd/internal/pgtest"
	"hookd/store"
)

// A group commit whose newest job in a latest lane belongs to a duplicate
// delivery keeps the lane's newest written job waiting: the job of the
// duplicate was never written, so it cannot supersede the others.
func TestLatestKeeperDuplicate(t *testing.T) {
	s := openT(t, pgtest.URL(t))
	accept := func(delivery string) (*op, *store.Job) {
		t.Helper()
		evID, err := s.NextEventID()
		if err != nil {
			t.Fatal(err)
		}
		jobID, err := s.NextJobID()
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		ev := &store.Event{ID: evID, Source: "github", DeliveryID: delivery, Event: "push", Status: "accepted", ReceivedAt: now, Jobs: []uint64{jobID}}
		j := &store.Job{ID: jobID, EventID: evID, Rule: "deploy", Lane: "deploy", Latest: true, State: store.Queued, Created: now, Updated: now}
		e, err := encodeEvent(ev)
		if err != nil {
			t.Fatal(err)
		}
		r, err := encodeJob(j)
		if err != nil {
			t.Fatal(err)
		}
		return &op{kind: opAccept, ev: e, jobs: []*jobRow{r}, queued: time.Now(), errc: make(chan error, 1)}, j
	}
	first, old := accept("x")
	s.commit([]*op{first})
	if err := <-first.errc; err != nil {
		t.Fatal(err)
	}
	fresh, kept := accept("y")
	dup, _ := accept("x") // the newest event, but a duplicate
	s.commit([]*op{fresh, dup})
	if err := <-fresh.errc; err != nil {
		t.Fatal(err)
	}
	if err := <-dup.errc; !errors.Is(err, store.ErrDuplicate) || dup.id != old.EventID {
		t.Fatalf("the copy: %v, event %d; want a duplicate of %d", err, dup.id, old.EventID)
	}
	for _, c := range []struct {
		j    *store.Job
		want string
	}{{old, store.Superseded}, {kept, store.Queued}} {
		got, err := s.Job(c.j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != c.want {
			t.Errorf("job %d of event %d: %s %q, want %s", got.ID, got.EventID, got.State, got.Error, c.want)
		}
	}
}

// What the batched insert writes reads back whole: rules with characters
// that array literals quote, an answer, a body, several jobs in order.
func TestAcceptReadsBack(t *testing.T) {
	s := openT(t, pgtest.URL(t))
	evID, err := s.NextEventID()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	ev := &store.Event{ID: evID, Source: "github", DeliveryID: "d1", Event: "push", Status: "accepted", ReceivedAt: now,
		Rules: []string{`de"ploy`, "a,b", "{x}", "NULL", `back\\slash`, "", " sp "}, Body: []byte(`{"n":1}`),
		Answer: &store.Answer{Status: 202, Body: `{"ok":true}`}}
	var jobs []*store.Job
	for _, r := range ev.Rules {
		id, err := s.NextJobID()
		if err != nil {
			t.Fatal(err)
		}
		ev.Jobs = append(ev.Jobs, id)
		jobs = append(jobs, &store.Job{ID: id, EventID: evID, Rule: r, State: store.Queued, Created: now, Updated: now})
	}
	if _, err := s.Accept(ev, jobs); err != nil {
		t.Fatal(err)
	}
	got, gotJobs, err := s.EventJobs(evID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Rules, ev.Rules) || string(got.Body) != string(ev.Body) || got.Answer == nil || got.Answer.Status != 202 || got.Answer.Body != ev.Answer.Body {
		t.Errorf("read back rules %q, body %s, answer %+v", got.Rules, got.Body, got.Answer)
	}
	var rules []string
	for _, j := range gotJobs {
		rules = append(rules, j.Rule)
	}
	if !slices.Equal(rules, ev.Rules) {
		t.Errorf("jobs' rules in order %q, want %q", rules, ev.Rules)
	}
	var stored []string
	if err := s.pool.QueryRow(context.Background(), `SELECT rules FROM events WHERE id = $1`, int64(evID)).Scan(&stored); err != nil || !slices.Equal(stored, ev.Rules) {
		t.Errorf("the rules column: %q, %v", stored, err)
	}
}
