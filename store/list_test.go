package store

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

// add stores an event received at `at` with one job per state (none: an
// ignored event) and returns its id.
func add(t *testing.T, s *Store, delivery string, at time.Time, states ...string) uint64 {
	t.Helper()
	ev := &Event{ID: s.NewEventID(), Source: "github", DeliveryID: delivery, ReceivedAt: at, Status: "accepted", Body: []byte(`{}`)}
	var jobs []*Job
	for i, st := range states {
		j := &Job{ID: s.NewJobID(), EventID: ev.ID, Rule: "r" + strconv.Itoa(i), State: st, Created: at, Updated: at}
		jobs = append(jobs, j)
		ev.Jobs = append(ev.Jobs, j.ID)
		ev.Rules = append(ev.Rules, j.Rule)
	}
	if len(jobs) == 0 {
		ev.Status = "ignored"
	}
	if _, err := s.Accept(ev, jobs); err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if err := s.SaveJob(j, Wait, nil); err != nil { // final ones leave the open index
			t.Fatal(err)
		}
	}
	return ev.ID
}

func TestPruneRemovesOldFinishedEventsAndTheirDedupKeys(t *testing.T) {
	s, _ := openTemp(t)
	old := time.Now().Add(-48 * time.Hour)
	var gone []uint64
	for i := range 7 {
		gone = append(gone, add(t, s, "old-done-"+strconv.Itoa(i), old, Done, Failed))
	}
	gone = append(gone, add(t, s, "old-ignored", old))
	gone = append(gone, add(t, s, "old-superseded", old, Superseded))
	openID := add(t, s, "old-open", old, Done, Retrying)
	newID := add(t, s, "new-done", time.Now(), Done)

	n, err := s.Prune(time.Now().Add(-24*time.Hour), time.Now().Add(-24*time.Hour), 3) // several small transactions
	if err != nil {
		t.Fatal(err)
	}
	if n != len(gone) {
		t.Fatalf("pruned %d, want %d", n, len(gone))
	}
	for _, id := range gone {
		if _, err := s.Event(id); err == nil {
			t.Fatalf("event %d survived", id)
		}
	}
	for _, id := range []uint64{openID, newID} {
		ev, err := s.Event(id)
		if err != nil {
			t.Fatalf("event %d pruned: %v", id, err)
		}
		for _, j := range ev.Jobs {
			if _, err := s.Job(j); err != nil {
				t.Fatalf("job %d of kept event %d: %v", j, id, err)
			}
		}
	}
	if s.Seen("github", "old-done-0") != 0 {
		t.Fatal("dedup key of a pruned event survived")
	}
	if s.Seen("github", "old-open") == 0 || s.Seen("github", "new-done") == 0 {
		t.Fatal("dedup key of a kept event pruned")
	}
	// A redelivery of a pruned event is accepted as new.
	ev := &Event{ID: s.NewEventID(), Source: "github", DeliveryID: "old-done-0", ReceivedAt: time.Now(), Status: "ignored"}
	if _, err := s.Accept(ev, nil); err != nil {
		t.Fatalf("redelivery after prune: %v", err)
	}
	open, _ := s.OpenJobs()
	if len(open) != 1 || open[0].State != Retrying {
		t.Fatalf("open jobs %+v", open)
	}
	// Nothing left to do.
	if n, err := s.Prune(time.Now().Add(-24*time.Hour), time.Now().Add(-24*time.Hour), 3); err != nil || n != 0 {
		t.Fatalf("second prune: %d %v", n, err)
	}
}

func TestListEventsNewestFirstWithFiltersAndCursor(t *testing.T) {
	s, _ := openTemp(t)
	now := time.Now()
	var ids []uint64
	for i := range 10 {
		st := Done
		if i%3 == 0 {
			st = Failed
		}
		ids = append(ids, add(t, s, "d"+strconv.Itoa(i), now, st))
	}
	ign := add(t, s, "ignored", now)
	page, next, err := s.ListEvents(ListOptions{Limit: 4})
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 4 || page[0].ID != ign || page[0].Status != "ignored" || page[1].ID != ids[9] || next == 0 {
		t.Fatalf("first page %+v next %d", page, next)
	}
	var all []EventBrief
	for cursor := uint64(0); ; {
		p, n, err := s.ListEvents(ListOptions{Limit: 3, Before: cursor})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, p...)
		if n == 0 {
			break
		}
		cursor = n
	}
	if len(all) != 11 {
		t.Fatalf("paged %d events", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].ID >= all[i-1].ID {
			t.Fatalf("not newest first: %d after %d", all[i].ID, all[i-1].ID)
		}
	}
	failed, _, _ := s.ListEvents(ListOptions{Status: Failed})
	if len(failed) != 4 {
		t.Fatalf("failed events %+v", failed)
	}
	acc, _, _ := s.ListEvents(ListOptions{Status: "accepted"})
	if len(acc) != 10 {
		t.Fatalf("accepted events: %d", len(acc))
	}
	if none, _, _ := s.ListEvents(ListOptions{Source: "stripe"}); len(none) != 0 {
		t.Fatalf("other source: %+v", none)
	}
}

func TestSummarizeCountsTheNewestJobOfEachRule(t *testing.T) {
	for _, tc := range []struct {
		jobs []JobBrief
		want string
	}{
		{nil, "ignored"},
		{[]JobBrief{{ID: 1, Rule: "a", State: Failed}, {ID: 2, Rule: "a", State: Done}}, Done},
		{[]JobBrief{{ID: 1, Rule: "a", State: Done}, {ID: 2, Rule: "b", State: Failed}}, Failed},
		{[]JobBrief{{ID: 1, Rule: "a", State: Failed}, {ID: 2, Rule: "b", State: Running}}, Running},
		{[]JobBrief{{ID: 1, Rule: "a", State: Superseded}}, Superseded},
	} {
		if got := Summarize("", tc.jobs); got != tc.want {
			t.Errorf("Summarize(%+v) = %s, want %s", tc.jobs, got, tc.want)
		}
	}
}

func TestCompactShrinksAndRefusesWhileOpen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-48 * time.Hour)
	for i := range 300 {
		ev := &Event{ID: s.NewEventID(), Source: "github", DeliveryID: strconv.Itoa(i), ReceivedAt: old, Status: "ignored", Body: make([]byte, 4096)}
		if _, err := s.Accept(ev, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Prune(time.Now(), time.Now(), 100); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Compact(dir); !errors.Is(err, ErrInUse) {
		t.Fatalf("compact of an open database: %v", err)
	}
	s.Close()
	before, after, err := Compact(dir)
	if err != nil {
		t.Fatal(err)
	}
	if after >= before {
		t.Fatalf("size %d -> %d", before, after)
	}
	if _, err := os.Stat(filepath.Join(dir, "hookd.db.compact")); !os.IsNotExist(err) {
		t.Fatalf("temporary file left: %v", err)
	}
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if evs, _, _ := s.ListEvents(ListOptions{}); len(evs) != 0 {
		t.Fatalf("events after compaction: %d", len(evs))
	}
	if id := s.NewEventID(); id != 301 {
		t.Fatalf("id after pruning everything: %d, want 301 (never reused)", id)
	}
}
