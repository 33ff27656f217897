package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Concurrent accepts share commits, and a delivery accepted twice at once
// is recorded once: the dedup check happens inside the write transaction.
func TestAcceptConcurrentDedup(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var commits, writes int
	var mu sync.Mutex
	s.SetCommitHook(func(_ time.Duration, n int) { mu.Lock(); commits++; writes += n; mu.Unlock() })
	const n = 200
	var wg sync.WaitGroup
	dups := make([]bool, n)
	stored := make([]uint64, n) // the ids of the events recorded
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ev := &Event{ID: s.NewEventID(), Source: "s", DeliveryID: fmt.Sprintf("d%d", i%(n/2)), Body: []byte("x"), Status: "accepted"}
			j := &Job{ID: s.NewJobID(), EventID: ev.ID, Rule: "r", State: Queued}
			ev.Jobs = []uint64{j.ID}
			_, err := s.Accept(ev, []*Job{j})
			if errors.Is(err, ErrDuplicate) {
				dups[i] = true
			} else if err != nil {
				t.Error(err)
			} else {
				stored[i] = ev.ID
			}
		}(i)
	}
	wg.Wait()
	nd := 0
	for _, d := range dups {
		if d {
			nd++
		}
	}
	if nd != n/2 {
		t.Fatalf("%d duplicates, want %d", nd, n/2)
	}
	open, err := s.OpenJobs()
	if err != nil || len(open) != n/2 {
		t.Fatalf("open jobs %d (%v), want %d", len(open), err, n/2)
	}
	mu.Lock()
	if commits >= writes {
		t.Logf("no commit was shared (%d commits for %d writes): a slow disk or one core", commits, writes)
	}
	mu.Unlock()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Everything acknowledged is there after reopening.
	s2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	open, _ = s2.OpenJobs()
	if len(open) != n/2 {
		t.Fatalf("after reopen: %d open jobs, want %d", len(open), n/2)
	}
	if s2.LastID() < slices.Max(stored) {
		t.Fatalf("ids restart below recorded ones: %d", s2.LastID())
	}
	for i := 0; i < n/2; i++ {
		if s2.Seen("s", fmt.Sprintf("d%d", i)) == 0 {
			t.Fatalf("delivery d%d not recorded", i)
		}
	}
}

func TestSecondOpenFailsFast(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	if _, err := Open(dir); err == nil {
		t.Fatal("second open of a locked database succeeded")
	} else if time.Since(start) > 30*time.Second {
		t.Fatalf("second open hung for %v", time.Since(start))
	}
}

func TestRecordIgnoredIsDurableAfterSync(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ev := &Event{ID: s.NewEventID(), Source: "s", DeliveryID: "ign", Status: "ignored"}
	if _, err := s.Record(ev); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	if s.Seen("s", "ign") != ev.ID {
		t.Fatal("ignored event not recorded")
	}
	got, err := s.Event(ev.ID)
	if err != nil || got.Status != "ignored" {
		t.Fatalf("event %+v %v", got, err)
	}
}

// A delivery recorded twice is written once, whether the second copy comes
// while the first is still queued or after it is on disk; and events whose
// encoding buffers are recycled come back intact.
func TestRecordDuplicateAndIntact(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n = 400
	ids := make([]uint64, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ev := &Event{ID: s.NewEventID(), Source: "s", DeliveryID: fmt.Sprintf("d%d", i), Status: "ignored", Body: []byte(fmt.Sprintf(`{"n":%d,"pad":"%0*d"}`, i, i%300, 0))}
			id, err := s.Record(ev)
			if err != nil || id != ev.ID {
				t.Errorf("record %d: %d %v", i, id, err)
			}
			ids[i] = id
			again := &Event{ID: s.NewEventID(), Source: "s", DeliveryID: fmt.Sprintf("d%d", i), Status: "ignored"}
			if prev, err := s.Record(again); !errors.Is(err, ErrDuplicate) || prev != ev.ID {
				t.Errorf("queued redelivery %d: %d %v, want %d ErrDuplicate", i, prev, err, ev.ID)
			}
		}(i)
	}
	wg.Wait()
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if prev, err := s.Record(&Event{ID: s.NewEventID(), Source: "s", DeliveryID: fmt.Sprintf("d%d", i)}); !errors.Is(err, ErrDuplicate) || prev != ids[i] {
			t.Fatalf("stored redelivery %d: %d %v, want %d ErrDuplicate", i, prev, err, ids[i])
		}
		ev, err := s.Event(ids[i])
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf(`{"n":%d,"pad":"%0*d"}`, i, i%300, 0); string(ev.Body) != want || ev.DeliveryID != fmt.Sprintf("d%d", i) {
			t.Fatalf("event %d came back as %s %q", i, ev.DeliveryID, ev.Body)
		}
	}
}

// Bodies come back byte for byte through Accept, a replay's AddJobs, and
// from records written by earlier versions (base64 bodies, json.Marshal).
func TestEventBodiesRoundTrip(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	bodies := []string{`{"ref":"refs/heads/main","n":1}`, "{\"a\":1}\n", "a=1&b=2", "\x00\xff"}
	for i, body := range bodies {
		ev := &Event{ID: s.NewEventID(), Source: "s", DeliveryID: fmt.Sprintf("b%d", i), Body: []byte(body), Status: "accepted", Headers: map[string]string{"x": "y"}}
		j := &Job{ID: s.NewJobID(), EventID: ev.ID, Rule: "r", State: Done}
		ev.Jobs = []uint64{j.ID}
		if _, err := s.Accept(ev, []*Job{j}); err != nil {
			t.Fatal(err)
		}
		r := &Job{ID: s.NewJobID(), EventID: ev.ID, Rule: "r", State: Queued}
		if err := s.AddJobs(ev.ID, []*Job{r}); err != nil {
			t.Fatal(err)
		}
		got, err := s.Event(ev.ID)
		if err != nil {
			t.Fatal(err)
		}
		if string(got.Body) != body || got.Headers["x"] != "y" || len(got.Jobs) != 2 {
			t.Fatalf("event %d came back as body %q headers %v jobs %v", i, got.Body, got.Headers, got.Jobs)
		}
	}
	// A record as earlier versions wrote it.
	old := &Event{ID: s.NewEventID(), Source: "s", DeliveryID: "old", Body: []byte(`{"a":1}`), Status: "ignored"}
	data, _ := json.Marshal(old)
	if err := s.update(func(tx *bolt.Tx) error { return tx.Bucket(bEvents).Put(itob(old.ID), data) }); err != nil {
		t.Fatal(err)
	}
	got, err := s.Event(old.ID)
	if err != nil || string(got.Body) != `{"a":1}` {
		t.Fatalf("old record: %q %v", got.Body, err)
	}
}

// An ignored event is readable as soon as Record returns, though it is
// written without waiting: by Event, EventJobs and ListEvents.
func TestRecordedEventReadableAtOnce(t *testing.T) {
	s, _ := openTemp(t)
	for _, tc := range []struct {
		name string
		read func(id uint64) error
	}{
		{"Event", func(id uint64) error { _, err := s.Event(id); return err }},
		{"EventJobs", func(id uint64) error { _, _, err := s.EventJobs(id); return err }},
		{"ListEvents", func(id uint64) error {
			l, _, err := s.ListEvents(ListOptions{Limit: 1})
			if err == nil && (len(l) != 1 || l[0].ID != id) {
				err = fmt.Errorf("newest is %v", l)
			}
			return err
		}},
	} {
		for i := range 10 {
			ev := &Event{ID: s.NewEventID(), Source: "s", DeliveryID: fmt.Sprint(tc.name, i), Status: "ignored"}
			if _, err := s.Record(ev); err != nil {
				t.Fatal(err)
			}
			if err := tc.read(ev.ID); err != nil {
				t.Fatalf("%s right after Record of event %d: %v", tc.name, ev.ID, err)
			}
		}
	}
}
