package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"hookd/store"
)

// A latest lane keeps at most one waiting job across processes: the job
// written last; the others are superseded by it.
func testSharedLatest(t *testing.T, p *pair) {
	_, running := acceptOn(t, p.a, "l0", "last", true)
	if got := claim(t, p.a, 1); len(got) != 1 || got[0].ID != running.ID {
		t.Fatalf("claimed %v, want %d", ids(got), running.ID)
	}
	var jobs []*store.Job
	var keep *store.Job
	for round := range 4 {
		jobs = append(jobs, latestAtOnce(t, p, round)...)
		keep = oneWaiting(t, p.b, jobs, round)
	}
	if got := claim(t, p.b, 5); len(got) != 0 {
		t.Fatalf("claimed %v while the lane runs", ids(got))
	}
	finish(t, p.a, running)
	if got := claim(t, p.b, 5); len(got) != 1 || got[0].ID != keep.ID {
		t.Fatalf("after the run claimed %v, want %d", ids(got), keep.ID)
	}
}

// oneWaiting checks that exactly one of jobs, all in one latest lane, is
// queued, and that each other one was superseded by another of them; it
// returns the one queued.
func oneWaiting(t *testing.T, b store.Backend, jobs []*store.Job, round int) *store.Job {
	t.Helper()
	var keep *store.Job
	byID := map[uint64]*store.Job{}
	for _, j := range jobs {
		byID[j.ID] = j
	}
	for _, j := range jobs {
		got, err := b.Job(j.ID)
		if err != nil {
			t.Fatal(err)
		}
		var byJob, byEvent uint64
		fmt.Sscanf(got.Error, "superseded by job %d of event %d", &byJob, &byEvent)
		switch {
		case got.State == store.Queued && keep == nil:
			keep = j
		case got.State == store.Queued:
			t.Fatalf("round %d: jobs %d and %d both wait in the latest lane", round, keep.ID, j.ID)
		case got.State != store.Superseded || byJob == j.ID || byID[byJob] == nil || byID[byJob].EventID != byEvent:
			t.Fatalf("round %d: job %d of event %d: %s %q, want superseded by another job of the lane", round, j.ID, j.EventID, got.State, got.Error)
		}
	}
	if keep == nil {
		t.Fatalf("round %d: no job waits in the latest lane", round)
	}
	return keep
}

// The job a latest lane keeps is the one accepted last, even when its
// event's id is lower (ids follow arrival across processes only to within
// a short window): a sender that waits for each answer sees its last push
// run.
func testSharedLatestLastAccepted(t *testing.T, p *pair) {
	_, running := acceptOn(t, p.a, "r0", "last", true)
	if got := claim(t, p.a, 1); len(got) != 1 || got[0].ID != running.ID {
		t.Fatalf("claimed %v, want %d", ids(got), running.ID)
	}
	older := event(p.a, "github", "r1", time.Now().UTC())
	newer := event(p.b, "github", "r2", time.Now().UTC())
	if older.ID > newer.ID {
		older, newer = newer, older
	}
	var jobs []*store.Job
	for _, ev := range []*store.Event{newer, older} { // the higher id first
		ev.Status = "accepted"
		j := jobFor(p.a, ev, "deploy")
		j.Lane, j.Latest = "last", true
		if _, err := p.either(len(jobs)).Accept(ev, []*store.Job{j}); err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, j)
	}
	if keep := oneWaiting(t, p.b, jobs, 0); keep.EventID != older.ID {
		t.Fatalf("the lane keeps the job of event %d, accepted first; want that of event %d, accepted last", keep.EventID, older.ID)
	}
	finish(t, p.a, running)
	if got := claim(t, p.b, 5); len(got) != 1 || got[0].EventID != older.ID {
		t.Fatalf("after the run claimed %v, want the job of event %d", ids(got), older.ID)
	}
}

// latestAtOnce accepts ten jobs of the latest lane "last" at once, five
// on each process.
func latestAtOnce(t *testing.T, p *pair, round int) []*store.Job {
	var mu sync.Mutex
	var jobs []*store.Job
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, j := acceptOn(t, p.either(i), fmt.Sprint("l", round, "-", i), "last", true)
			mu.Lock()
			jobs = append(jobs, j)
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return jobs
}
