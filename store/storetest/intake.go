package storetest

import (
	"errors"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"hookd/store"
)

// An event and its jobs are recorded together, and read back as written.
func testAccept(t *testing.T, h *harness) {
	ev, jobs := h.accept("github", "d1", base, "deploy", "notify")
	jobs[1].Lane = "changed" // after the call: the store keeps what it was given
	got, gotJobs := h.show(ev.ID)
	want := *ev
	if !reflect.DeepEqual(got, &want) {
		t.Errorf("event read back differs:\n got %+v\nwant %+v", got, &want)
	}
	if !slices.Equal(ids(gotJobs), ev.Jobs) {
		t.Fatalf("jobs %v, want %v", ids(gotJobs), ev.Jobs)
	}
	for _, j := range gotJobs {
		if j.EventID != ev.ID || j.State != store.Queued || j.Lane != "" || !j.Created.Equal(base) {
			t.Errorf("job read back: %+v", j)
		}
	}
	// After a restart, too.
	h.reopen()
	if again, _ := h.show(ev.ID); !reflect.DeepEqual(again, got) {
		t.Errorf("after a restart the event differs:\n got %+v\nwant %+v", again, got)
	}
}

// A delivery already recorded is a duplicate, which writes nothing; the
// same delivery id from another source is a new event.
func testAcceptDedup(t *testing.T, h *harness) {
	first, _ := h.accept("github", "d1", base, "deploy")
	ev := event(h.b, "github", "d1", base.Add(time.Second))
	ev.Status = "accepted"
	j := jobFor(h.b, ev, "deploy")
	id, err := h.b.Accept(ev, []*store.Job{j})
	if !errors.Is(err, store.ErrDuplicate) || id != first.ID {
		t.Fatalf("second copy: id %d, %v; want %d and ErrDuplicate", id, err, first.ID)
	}
	if _, err := h.b.Event(ev.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the duplicate's event was written (%v)", err)
	}
	if _, err := h.b.Job(j.ID); err == nil {
		t.Errorf("the duplicate's job was written")
	}
	if got := h.b.Seen("github", "d1"); got != first.ID {
		t.Errorf("Seen = %d, want %d", got, first.ID)
	}
	if got := h.b.Seen("github", "nope"); got != 0 {
		t.Errorf("Seen of an unknown delivery = %d", got)
	}
	h.accept("gitlab", "d1", base, "deploy")
	// An ignored copy of an accepted delivery is a duplicate too.
	if id, err := h.b.Record(event(h.b, "github", "d1", base)); !errors.Is(err, store.ErrDuplicate) || id != first.ID {
		t.Errorf("ignored copy: id %d, %v; want %d and ErrDuplicate", id, err, first.ID)
	}
	h.reopen()
	if got := h.b.Seen("github", "d1"); got != first.ID {
		t.Errorf("after a restart Seen = %d, want %d", got, first.ID)
	}
	if id, err := h.b.Accept(event(h.b, "github", "d1", base), nil); !errors.Is(err, store.ErrDuplicate) || id != first.ID {
		t.Errorf("after a restart: id %d, %v; want %d and ErrDuplicate", id, err, first.ID)
	}
}

// copies of one delivery recorded at once: exactly one is not a duplicate,
// and every duplicate names it.
func copiesAtOnce(t *testing.T, n int, write func(i int) (stored, got uint64, err error)) uint64 {
	t.Helper()
	var mu sync.Mutex
	var winners, answers []uint64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			stored, got, err := write(i)
			mu.Lock()
			defer mu.Unlock()
			if isDup(t, err) {
				answers = append(answers, got)
			} else {
				winners = append(winners, stored)
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("%d copies recorded, want 1", len(winners))
	}
	for _, a := range answers {
		if a != winners[0] {
			t.Fatalf("a duplicate names event %d, want %d", a, winners[0])
		}
	}
	return winners[0]
}

// The same delivery arriving many times at once is accepted once.
func testConcurrentAccept(t *testing.T, h *harness) {
	const n = 16
	won := copiesAtOnce(t, n, func(int) (uint64, uint64, error) {
		ev := event(h.b, "github", "same", base)
		ev.Status = "accepted"
		j := jobFor(h.b, ev, "deploy")
		got, err := h.b.Accept(ev, []*store.Job{j})
		return ev.ID, got, err
	})
	if _, jobs := h.show(won); len(jobs) != 1 {
		t.Fatalf("the accepted copy has %d jobs", len(jobs))
	}
	h.reopen()
	if jobs, err := h.runnable(); err != nil || len(jobs) != 1 {
		t.Fatalf("after a restart %d jobs to run (%v), want 1", len(jobs), err)
	}
}

// An event that matched nothing is recorded, de-duplicated, and kept.
func testIgnored(t *testing.T, h *harness) {
	ev := h.ignore("github", "i1", base)
	if id, err := h.b.Record(event(h.b, "github", "i1", base)); !errors.Is(err, store.ErrDuplicate) || id != ev.ID {
		t.Errorf("second copy: id %d, %v; want %d and ErrDuplicate", id, err, ev.ID)
	}
	ev2 := event(h.b, "github", "i1", base)
	if id, err := h.b.Accept(ev2, []*store.Job{jobFor(h.b, ev2, "deploy")}); !errors.Is(err, store.ErrDuplicate) || id != ev.ID {
		t.Errorf("an accepted copy of an ignored delivery: id %d, %v; want %d and ErrDuplicate", id, err, ev.ID)
	}
	h.reopen() // Close makes it durable
	got, jobs := h.show(ev.ID)
	if got.Status != "ignored" || len(jobs) != 0 || got.DeliveryID != "i1" || string(got.Body) != string(ev.Body) {
		t.Fatalf("after a restart: %+v, %d jobs", got, len(jobs))
	}
	if h.b.Seen("github", "i1") != ev.ID {
		t.Errorf("after a restart the delivery is not seen")
	}
	if jobs, _ := h.runnable(); len(jobs) != 0 {
		t.Errorf("an ignored event gave %d jobs", len(jobs))
	}
}

// An ignored event of which only part is kept (keep_ignored) reads back as
// written, the parts not kept absent, and is still de-duplicated.
func testKept(t *testing.T, h *harness) {
	partly := event(h.b, "github", "k1", base)
	partly.Status, partly.Body = "ignored", nil
	partly.Kept = &store.Kept{What: "headers", BodyBytes: 7565, BodySHA256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}
	outline := &store.Event{ID: eventID(h.b), Source: "github", DeliveryID: "k2", Event: "push", ReceivedAt: base,
		Method: "POST", Path: "/hooks/github", Status: "ignored", Kept: &store.Kept{What: "delivery_id", BodyBytes: 2027}}
	answered := *outline
	answered.ID, answered.DeliveryID = eventID(h.b), "k3"
	answered.Answer = &store.Answer{Status: 200, Body: "ok"}
	for _, ev := range []*store.Event{partly, outline} {
		if _, err := h.b.Record(ev); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.b.Accept(&answered, nil); err != nil {
		t.Fatal(err)
	}
	h.reopen()
	for _, want := range []*store.Event{partly, outline, &answered} {
		got, _ := h.show(want.ID)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("read back differs:\n got %+v %+v\nwant %+v %+v", got, got.Kept, want, want.Kept)
		}
		if id, err := h.b.Record(event(h.b, "github", want.DeliveryID, base)); !errors.Is(err, store.ErrDuplicate) || id != want.ID {
			t.Errorf("a copy of %s: id %d, %v; want %d and ErrDuplicate", want.DeliveryID, id, err, want.ID)
		}
	}
}

// The same ignored delivery arriving many times at once is recorded once.
func testConcurrentRecord(t *testing.T, h *harness) {
	won := copiesAtOnce(t, 16, func(int) (uint64, uint64, error) {
		ev := event(h.b, "github", "same", base)
		ev.Status = "ignored"
		got, err := h.b.Record(ev)
		return ev.ID, got, err
	})
	if err := h.b.Sync(); err != nil {
		t.Fatal(err)
	}
	page, _, err := h.b.ListEvents(store.ListOptions{})
	if err != nil || len(page) != 1 || page[0].ID != won {
		t.Fatalf("listing %+v (%v), want only event %d", page, err, won)
	}
}

// What a write answered is readable at once: show and list see it, as the
// CLI does right after intake's answer.
func testReadYourWrites(t *testing.T, h *harness) {
	for i := range 50 {
		var id uint64
		if i%2 == 0 {
			id = h.ignore("github", "r"+string(rune('a'+i)), base.Add(time.Duration(i)*time.Second)).ID
		} else {
			ev, _ := h.accept("github", "r"+string(rune('a'+i)), base.Add(time.Duration(i)*time.Second), "deploy")
			id = ev.ID
		}
		if _, err := h.b.Event(id); err != nil {
			t.Fatalf("event %d right after its answer: %v", id, err)
		}
		if _, _, err := h.b.EventJobs(id); err != nil {
			t.Fatalf("show %d right after its answer: %v", id, err)
		}
		page, _, err := h.b.ListEvents(store.ListOptions{Limit: 1})
		if err != nil || len(page) != 1 || page[0].ID != id {
			t.Fatalf("the listing's newest right after event %d's answer: %+v (%v)", id, page, err)
		}
	}
}

// Ids are unique and grow, events and jobs each their own, and are never
// used again after a restart, or after the newest were pruned.
func testIDs(t *testing.T, h *harness) {
	seen := map[uint64]bool{}
	var last uint64
	for range 100 {
		id := eventID(h.b)
		if seen[id] || id <= last || id == 0 {
			t.Fatalf("event id %d after %d", id, last)
		}
		seen[id], last = true, id
	}
	seen, last = map[uint64]bool{}, 0
	for range 100 {
		id := jobID(h.b)
		if seen[id] || id <= last || id == 0 {
			t.Fatalf("job id %d after %d", id, last)
		}
		seen[id], last = true, id
	}
	ev, jobs := h.accept("github", "newest", base, "deploy")
	jobs[0].State, jobs[0].Updated = store.Done, base
	h.save(jobs[0])
	if n, err := h.b.Prune(base.Add(time.Hour), base.Add(time.Hour), 0); err != nil || n != 1 {
		t.Fatalf("prune: %d, %v", n, err)
	}
	h.reopen()
	if id := eventID(h.b); id <= ev.ID {
		t.Errorf("after a restart, event id %d, not above %d (pruned)", id, ev.ID)
	}
	if id := jobID(h.b); id <= jobs[0].ID {
		t.Errorf("after a restart, job id %d, not above %d (pruned)", id, jobs[0].ID)
	}
}

// An answer set after the event was recorded is kept with it; one for an
// unknown event is no error.
func testSetAnswer(t *testing.T, h *harness) {
	ev, _ := h.accept("slack", "a1", base, "reply")
	a := &store.Answer{Status: 200, Headers: map[string]string{"Content-Type": "application/json"}, Body: `{"text":"done"}`}
	var failed error
	h.b.SetAnswer(ev.ID, a, func(err error) { failed = err })
	h.b.SetAnswer(9999, a, func(err error) { failed = err })
	if err := h.b.Sync(); err != nil {
		t.Fatal(err)
	}
	if failed != nil {
		t.Fatalf("SetAnswer: %v", failed)
	}
	for _, restart := range []bool{false, true} {
		if restart {
			h.reopen()
		}
		if got, _ := h.show(ev.ID); !reflect.DeepEqual(got.Answer, a) {
			t.Errorf("answer read back (restart %v): %+v, want %+v", restart, got.Answer, a)
		}
	}
}
