package store

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestFilterNoFalseNegatives(t *testing.T) {
	f := newFilter()
	const n = 200000
	for i := 0; i < n; i++ {
		f.add([]byte(fmt.Sprintf("github\x00%08x-%d", i*7919, i)))
	}
	for i := 0; i < n; i++ {
		if !f.mayContain([]byte(fmt.Sprintf("github\x00%08x-%d", i*7919, i))) {
			t.Fatalf("key %d added but not found", i)
		}
	}
	// With 200k keys the filter must still answer almost every new key
	// without a read; the expected rate is about 1e-6.
	fp := 0
	const probes = 200000
	for i := 0; i < probes; i++ {
		if f.mayContain([]byte(fmt.Sprintf("github\x00new-%d", i))) {
			fp++
		}
	}
	if fp > probes/1000 {
		t.Fatalf("false positive rate %d/%d", fp, probes)
	}
}

// waitFilter waits for background builds, then checks the filter is ready.
func waitFilter(t *testing.T, s *Store) {
	t.Helper()
	s.bg.Wait()
	if !s.filter.Load().ready.Load() {
		t.Fatal("filter not built")
	}
}

// Keys on disk at open, keys written while a build scans, and keys written
// after it, are all seen; pruned keys are gone from the rebuilt filter.
func TestSeenFilterAcrossBuilds(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-48 * time.Hour)
	for i := 0; i < 300; i++ {
		if _, err := s.Record(&Event{ID: s.NewEventID(), Source: "s", DeliveryID: fmt.Sprintf("old%d", i), Status: "ignored", ReceivedAt: old}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Write while builds run, so some writes land mid-scan.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 2000; i++ {
			ev := &Event{ID: s.NewEventID(), Source: "s", DeliveryID: fmt.Sprintf("new%d", i), Status: "ignored", ReceivedAt: time.Now()}
			if i%2 == 0 {
				if _, err := s.Record(ev); err != nil {
					t.Error(err)
				}
				continue
			}
			ev.Status = "accepted"
			if _, err := s.Accept(ev, nil); err != nil {
				t.Error(err)
			}
		}
	}()
	for i := 0; i < 5; i++ {
		s.rebuildFilter()
	}
	wg.Wait()
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	waitFilter(t, s)
	for i := 0; i < 300; i++ {
		if s.Seen("s", fmt.Sprintf("old%d", i)) == 0 {
			t.Fatalf("old%d, on disk at open, not seen", i)
		}
	}
	for i := 0; i < 2000; i++ {
		if s.Seen("s", fmt.Sprintf("new%d", i)) == 0 {
			t.Fatalf("new%d, written during builds, not seen", i)
		}
	}
	if s.Seen("s", "never") != 0 {
		t.Fatal("a delivery never recorded is seen")
	}

	n, err := s.Prune(time.Now().Add(-time.Hour), time.Now().Add(-time.Hour), 100)
	if err != nil || n != 300 {
		t.Fatalf("pruned %d (%v), want 300", n, err)
	}
	waitFilter(t, s)
	f := s.filter.Load()
	stale := 0
	for i := 0; i < 300; i++ {
		if f.mayContain(dedupKey("s", fmt.Sprintf("old%d", i))) {
			stale++
		}
		if s.Seen("s", fmt.Sprintf("old%d", i)) != 0 {
			t.Fatalf("old%d seen after pruning", i)
		}
	}
	if stale > 3 {
		t.Fatalf("rebuilt filter still holds %d of 300 pruned keys", stale)
	}
	if s.Seen("s", "new1999") == 0 {
		t.Fatal("a kept delivery is not seen after the rebuild")
	}
}

// Seen asks the filter before the in-flight keys: an ignored event still
// on its way to the disk must be seen through a rebuild and swap.
func TestSeenInFlightAcrossRebuild(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	waitFilter(t, s)
	for round := 0; round < 20; round++ {
		var wg sync.WaitGroup
		ids := make([]uint64, 50)
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.rebuildFilter()
		}()
		for i := range ids {
			ev := &Event{ID: s.NewEventID(), Source: "s", DeliveryID: fmt.Sprintf("r%d-%d", round, i), Status: "ignored"}
			if _, err := s.Record(ev); err != nil {
				t.Fatal(err)
			}
			ids[i] = ev.ID
		}
		wg.Wait()
		s.bg.Wait()
		for i, id := range ids {
			if got := s.Seen("s", fmt.Sprintf("r%d-%d", round, i)); got != id {
				t.Fatalf("round %d: r%d-%d seen as %d, want %d", round, round, i, got, id)
			}
		}
	}
}

// A delivery accepted twice at once is recorded once even while filters
// are being rebuilt and swapped: the write transaction trusts the filter
// to say a key is new, so a key missing from a swapped-in filter would
// record (and run) a delivery twice.
func TestAcceptDedupDuringRebuilds(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	stop := make(chan struct{})
	var builds sync.WaitGroup
	builds.Add(1)
	go func() {
		defer builds.Done()
		for {
			select {
			case <-stop:
				return
			default:
				s.rebuildFilter()
				s.bg.Wait()
			}
		}
	}()
	const n = 3000
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := map[string]int{}
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			d := fmt.Sprintf("d%d", i/2)
			ev := &Event{ID: s.NewEventID(), Source: "s", DeliveryID: d, Status: "accepted"}
			j := &Job{ID: s.NewJobID(), EventID: ev.ID, Rule: "r", State: Queued}
			ev.Jobs = []uint64{j.ID}
			if _, err := s.Accept(ev, []*Job{j}); err == nil {
				mu.Lock()
				accepted[d]++
				mu.Unlock()
			} else if !errors.Is(err, ErrDuplicate) {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	close(stop)
	builds.Wait()
	for d, c := range accepted {
		if c != 1 {
			t.Fatalf("%s accepted %d times", d, c)
		}
	}
	if len(accepted) != n/2 {
		t.Fatalf("%d deliveries accepted, want %d", len(accepted), n/2)
	}
}
