package engine

import (
	"strings"
	"testing"

	"hookd/store"
)

func TestRecentEventsKeepsTheNewestWithinItsBudget(t *testing.T) {
	body := []byte(strings.Repeat("x", 64<<10))
	r := newRecentEvents()
	const n = 3 * recentBudget / (64 << 10)
	for id := uint64(1); id <= n; id++ {
		r.add(&store.Event{ID: id, Body: body, Headers: map[string]string{"x-github-event": "push"}})
		if r.bytes > recentBudget {
			t.Fatalf("after event %d: %d bytes kept, budget %d", id, r.bytes, recentBudget)
		}
	}
	if r.get(n) == nil || r.get(n).ID != n {
		t.Fatal("the newest event is not kept")
	}
	if r.get(1) != nil {
		t.Fatal("the oldest event is still kept past the budget")
	}
	kept := 0
	for id := uint64(1); id <= n; id++ {
		if r.get(id) != nil {
			kept++
		}
	}
	if want := recentBudget / eventSize(r.get(n)); kept != want {
		t.Fatalf("%d events kept, want %d (the budget's worth)", kept, want)
	}
	if len(r.order)-r.head != kept {
		t.Fatalf("the order holds %d ids for %d events", len(r.order)-r.head, kept)
	}
	r.add(&store.Event{ID: n + 1, Body: make([]byte, recentBudget)})
	if r.get(n+1) != nil || r.get(n) == nil {
		t.Fatal("an event larger than the budget displaced the others")
	}
}
