package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"hookd/store"
)

// briefIDs returns the ids of a listing's events.
func briefIDs(page []store.EventBrief) []uint64 {
	out := []uint64{}
	for _, b := range page {
		out = append(out, b.ID)
	}
	return out
}

// Listings go newest first, filter by source and status (summarised from
// the jobs), and page with a cursor.
func testList(t *testing.T, h *harness) {
	var all, github, failed, ignored []uint64
	for i := range 9 {
		at := base.Add(time.Duration(i) * time.Minute)
		src := "github"
		if i%3 == 2 {
			src = "gitlab"
		}
		var id uint64
		switch i % 4 {
		case 0:
			id = h.ignore(src, fmt.Sprint("l", i), at).ID
			ignored = append(ignored, id)
		case 1:
			ev, jobs := h.accept(src, fmt.Sprint("l", i), at, "deploy")
			jobs[0].State = store.Failed
			h.save(jobs[0])
			id = ev.ID
			failed = append(failed, id)
		default:
			ev, _ := h.accept(src, fmt.Sprint("l", i), at, "deploy")
			id = ev.ID
		}
		all = append(all, id)
		if src == "github" {
			github = append(github, id)
		}
	}
	for _, s := range [][]uint64{all, github, failed, ignored} {
		slices.Reverse(s)
	}
	list := func(o store.ListOptions) []uint64 {
		t.Helper()
		var got []uint64
		for pages := 0; ; pages++ {
			page, next, err := h.b.ListEvents(o)
			if err != nil {
				t.Fatal(err)
			}
			if o.Limit > 0 && len(page) > o.Limit || pages > 20 {
				t.Fatalf("page of %d, limit %d", len(page), o.Limit)
			}
			got = append(got, briefIDs(page)...)
			if next == 0 {
				return got
			}
			o.Before = next
		}
	}
	for _, tc := range []struct {
		name string
		o    store.ListOptions
		want []uint64
	}{
		{"all", store.ListOptions{}, all},
		{"pages of 2", store.ListOptions{Limit: 2}, all},
		{"source", store.ListOptions{Source: "github", Limit: 2}, github},
		{"failed", store.ListOptions{Status: store.Failed}, failed},
		{"ignored", store.ListOptions{Status: "ignored", Limit: 1}, ignored},
		{"before", store.ListOptions{Before: all[2]}, all[3:]},
	} {
		if got := list(tc.o); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	page, _, _ := h.b.ListEvents(store.ListOptions{Limit: 1, Status: store.Failed})
	if len(page) != 1 || page[0].Status != store.Failed || len(page[0].Jobs) != 1 || page[0].Jobs[0].State != store.Failed ||
		page[0].Source == "" || page[0].DeliveryID == "" || !slices.Equal(page[0].Rules, []string{"deploy"}) {
		t.Errorf("a listed event: %+v", page)
	}
}

// An unknown id is not found, with a message that names it.
func testShowUnknown(t *testing.T, h *harness) {
	if _, _, err := h.b.EventJobs(4242); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("show of an unknown event: %v, want ErrNotFound", err)
	}
	if _, err := h.b.Event(4242); !errors.Is(err, store.ErrNotFound) || err.Error() != "no event 4242" {
		t.Errorf("an unknown event: %v, want ErrNotFound saying \"no event 4242\"", err)
	}
	if _, err := h.b.Job(4242); err == nil {
		t.Errorf("an unknown job was found")
	}
}

// Prune deletes the events older than the cutoff whose jobs are all final
// and were last updated before it, with their jobs and de-duplication
// keys; it keeps the others.
func testPrune(t *testing.T, h *harness) {
	cutoff := base.Add(time.Hour)
	old := base
	ign := h.ignore("github", "p-ignored", old)
	doneEv, doneJobs := h.accept("github", "p-done", old, "deploy")
	doneJobs[0].State, doneJobs[0].Updated = store.Done, old.Add(time.Minute)
	h.save(doneJobs[0])
	openEv, _ := h.accept("github", "p-open", old, "deploy")
	lateEv, lateJobs := h.accept("github", "p-late", old, "deploy") // replayed: its job ended after the cutoff
	lateJobs[0].State, lateJobs[0].Updated = store.Failed, cutoff.Add(time.Minute)
	h.save(lateJobs[0])
	newEv := h.ignore("github", "p-new", cutoff.Add(time.Minute))
	n, err := h.b.Prune(cutoff, cutoff, 1) // one event a batch: batches chain
	if err != nil || n != 2 {
		t.Fatalf("pruned %d (%v), want 2", n, err)
	}
	for _, id := range []uint64{ign.ID, doneEv.ID} {
		if _, _, err := h.b.EventJobs(id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("event %d still there after prune (%v)", id, err)
		}
	}
	if _, err := h.b.Job(doneJobs[0].ID); err == nil {
		t.Errorf("a pruned event's job is still there")
	}
	for _, id := range []uint64{openEv.ID, lateEv.ID, newEv.ID} {
		h.show(id)
	}
	if h.b.Seen("github", "p-done") != 0 || h.b.Seen("github", "p-ignored") != 0 {
		t.Errorf("a pruned event's delivery is still seen")
	}
	if h.b.Seen("github", "p-open") != openEv.ID {
		t.Errorf("a kept event's delivery is no longer seen")
	}
	again, _ := h.accept("github", "p-done", cutoff.Add(2*time.Minute), "deploy") // new, not a duplicate
	h.reopen()
	if h.b.Seen("github", "p-done") != again.ID || h.b.Seen("github", "p-ignored") != 0 {
		t.Errorf("after a restart the pruned keys are back")
	}
	if n, err := h.b.Prune(cutoff, cutoff, 0); err != nil || n != 0 {
		t.Errorf("a second prune deleted %d (%v)", n, err)
	}
}

// Writes after Close fail with ErrClosed.
func testClosed(t *testing.T, h *harness) {
	b := h.b
	ev := event(b, "github", "x", base) // ids first: a shared backend has no sequence once closed
	j := jobFor(b, ev, "deploy")
	if err := h.b.Close(); err != nil {
		t.Fatal(err)
	}
	h.b = nil
	if _, err := b.Accept(ev, []*store.Job{j}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("accept after close: %v, want ErrClosed", err)
	}
	if err := b.SaveJob(&store.Job{ID: 1, State: store.Done}, store.Wait, nil); !errors.Is(err, store.ErrClosed) {
		t.Errorf("save after close: %v, want ErrClosed", err)
	}
}
