package storetest

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hookd/store"
)

// Crasher is a shared backend's test hooks: StopRenewing lets its lease
// run out while it stays connected (a stalled process); Abandon drops it
// as a crash would, releasing nothing.
type Crasher interface {
	StopRenewing()
	Abandon()
}

// RunShared runs the tests of store.Shared: each opens two processes on
// one fresh store at once (fresh's open, called twice). The backend's
// lease should be short (about a second): some tests wait for one to run
// out.
func RunShared(t *testing.T, fresh Fresh) {
	for _, tc := range []struct {
		name string
		test func(*testing.T, *pair)
	}{
		{"DedupAcrossProcesses", testSharedDedup},
		{"IDsAcrossProcesses", testSharedIDs},
		{"ReplayOnTheOtherProcess", testSharedReplay},
		{"ClaimsNeverShared", testSharedClaims},
		{"SerialLaneAcrossProcesses", testSharedLane},
		{"LatestLaneKeepsOneWaiting", testSharedLatest},
		{"LatestLaneKeepsTheLastAccepted", testSharedLatestLastAccepted},
		{"LeaseRunsOut", testSharedLease},
		{"CrashedProcess", testSharedCrash},
		{"ReleaseAndClose", testSharedRelease},
		{"MaxQueuedCountsTheCluster", testSharedFull},
		{"WakeOnOtherProcess", testSharedWake},
		{"WakeWhenALaneFrees", testSharedLaneWake},
		{"ReleasedJobComesDue", testSharedDue},
		{"RetryStaysWithItsProcess", testSharedRetry},
		{"HeldJobIsItsWriters", testSharedHeld},
		{"HeldJobWaitsForItsLane", testSharedHeldLane},
		{"HeldJobGivenBackInALatestLane", testSharedHeldLatest},
		{"HeldJobOfACrashedWriter", testSharedHeldCrash},
		{"HeldJobsRacingInALane", testSharedHeldRace},
	} {
		t.Run(tc.name, func(t *testing.T) {
			open := fresh(t)
			p := &pair{t: t}
			for _, b := range []*store.Shared{&p.a, &p.b} {
				s, ok := open().(store.Shared)
				if !ok {
					t.Skip("not a shared backend")
				}
				t.Cleanup(func() { s.Close() })
				*b = s
			}
			tc.test(t, p)
		})
	}
}

// pair is two processes on one store.
type pair struct {
	t    *testing.T
	a, b store.Shared
}

// either returns a for even i, b for odd.
func (p *pair) either(i int) store.Shared {
	if i%2 == 0 {
		return p.a
	}
	return p.b
}

// acceptOn records on b an event with one job of rule deploy in lane
// (latest lane if latest), and fails the test unless it is accepted.
func acceptOn(t *testing.T, b store.Backend, delivery, lane string, latest bool) (*store.Event, *store.Job) {
	t.Helper()
	ev := event(b, "github", delivery, time.Now().UTC())
	ev.Status = "accepted"
	j := jobFor(b, ev, "deploy")
	j.Lane, j.Latest = lane, latest
	if id, err := b.Accept(ev, []*store.Job{j}); err != nil || id != ev.ID {
		t.Fatalf("accept %s: id %d, %v; want %d", delivery, id, err, ev.ID)
	}
	return ev, j
}

// claim claims on b and fails the test on an error.
func claim(t *testing.T, b store.Shared, n int) []*store.Job {
	t.Helper()
	got, err := b.ClaimRunnable(n, nil)
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	return got
}

// finish saves j as done on b, which must hold it.
func finish(t *testing.T, b store.Backend, j *store.Job) {
	t.Helper()
	j.State, j.Updated = store.Done, time.Now().UTC()
	if err := b.SaveJob(j, store.Wait, nil); err != nil {
		t.Errorf("save job %d: %v", j.ID, err)
	}
}

// The same delivery arriving at both processes at once is accepted once,
// and both see it.
func testSharedDedup(t *testing.T, p *pair) {
	won := copiesAtOnce(t, 16, func(i int) (uint64, uint64, error) {
		b := p.either(i)
		ev := event(b, "github", "same", base)
		ev.Status = "accepted"
		got, err := b.Accept(ev, []*store.Job{jobFor(b, ev, "deploy")})
		return ev.ID, got, err
	})
	if p.a.Seen("github", "same") != won || p.b.Seen("github", "same") != won {
		t.Errorf("the processes see %d and %d, want %d", p.a.Seen("github", "same"), p.b.Seen("github", "same"), won)
	}
	copiesAtOnce(t, 16, func(i int) (uint64, uint64, error) {
		b := p.either(i)
		ev := event(b, "github", "ignored", base)
		ev.Status = "ignored"
		got, err := b.Record(ev)
		return ev.ID, got, err
	})
}

// Ids are unique across processes, event ids follow arrival across them
// (for arrivals more than 50 ms apart: a process may hand out ids it took
// ahead that long), and each sees the other's newest event.
func testSharedIDs(t *testing.T, p *pair) {
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := p.either(i)
			for range 100 {
				ev, err1 := b.NextEventID()
				job, err2 := b.NextJobID()
				mu.Lock()
				if err1 != nil || err2 != nil || seen[fmt.Sprint("e", ev)] || seen[fmt.Sprint("j", job)] {
					t.Errorf("ids %d, %d (%v, %v): an error or given twice", ev, job, err1, err2)
				}
				seen[fmt.Sprint("e", ev)], seen[fmt.Sprint("j", job)] = true, true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	var last uint64
	for i := range 10 {
		time.Sleep(60 * time.Millisecond)
		id := eventID(p.either(i))
		if id <= last {
			t.Fatalf("event id %d after %d from the other process", id, last)
		}
		last = id
	}
	ev, _ := acceptOn(t, p.a, "newest", "", false)
	if got := p.b.NewestEventID(); got != ev.ID {
		t.Errorf("the other process's newest event is %d, want %d", got, ev.ID)
	}
}

// A replay that succeeded on the other process makes the event done in
// listings, whichever of the two jobs has the higher id.
func testSharedReplay(t *testing.T, p *pair) {
	early := jobID(p.b) // b's ids may run below a's
	ev, first := acceptOn(t, p.a, "replayed", "", false)
	got := claim(t, p.a, 1)
	got[0].State = store.Failed
	if err := p.a.SaveJob(got[0], store.Wait, nil); err != nil {
		t.Fatal(err)
	}
	again := &store.Job{ID: jobID(p.b), EventID: ev.ID, Rule: "deploy", State: store.Queued, Created: base, Updated: base}
	if err := p.b.AddJobs(ev.ID, []*store.Job{again}); err != nil {
		t.Fatal(err)
	}
	if c := claim(t, p.b, 1); len(c) != 1 || c[0].ID != again.ID {
		t.Fatalf("claimed %v, want the replay %d", ids(c), again.ID)
	}
	finish(t, p.b, again)
	for _, b := range []store.Shared{p.a, p.b} {
		page, _, err := b.ListEvents(store.ListOptions{})
		if err != nil || len(page) != 1 || page[0].Status != store.Done {
			t.Errorf("listing after the replay (job ids %d, then %d; %d taken early): %+v (%v), want done", first.ID, again.ID, early, page, err)
		}
	}
}

// Claimers on both processes never get one job twice, and get all.
func testSharedClaims(t *testing.T, p *pair) {
	const n = 40
	for i := range n {
		acceptOn(t, p.either(i), fmt.Sprint("c", i), "", false)
	}
	var mu sync.Mutex
	claimed := map[uint64]int{}
	var wg sync.WaitGroup
	deadline := time.Now().Add(20 * time.Second)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := p.either(w)
			for time.Now().Before(deadline) {
				mu.Lock()
				all := len(claimed) == n
				mu.Unlock()
				if all {
					return
				}
				got, err := b.ClaimRunnable(3, nil)
				if err != nil {
					t.Error(err)
					return
				}
				for _, j := range got {
					mu.Lock()
					claimed[j.ID]++
					mu.Unlock()
					finish(t, b, j)
				}
			}
		}()
	}
	wg.Wait()
	if len(claimed) != n {
		t.Fatalf("%d jobs claimed, want %d", len(claimed), n)
	}
	for id, c := range claimed {
		if c != 1 {
			t.Errorf("job %d claimed %d times", id, c)
		}
	}
}

// A lane runs one job at a time across processes, in arrival order.
func testSharedLane(t *testing.T, p *pair) {
	var want []uint64
	for i := range 6 {
		_, j := acceptOn(t, p.either(i), fmt.Sprint("s", i), "serial", false)
		want = append(want, j.ID)
	}
	first := claim(t, p.a, 5)
	if len(first) != 1 || first[0].ID != want[0] {
		t.Fatalf("claimed %v of the lane, want only %d", ids(first), want[0])
	}
	if got := claim(t, p.b, 5); len(got) != 0 {
		t.Fatalf("the other process claimed %v while the lane's first job is held", ids(got))
	}
	finish(t, p.a, first[0])
	var mu sync.Mutex
	order := []uint64{want[0]}
	var running atomic.Int32
	var wg sync.WaitGroup
	deadline := time.Now().Add(20 * time.Second)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := p.either(w)
			for time.Now().Before(deadline) {
				mu.Lock()
				all := len(order) == len(want)
				mu.Unlock()
				if all {
					return
				}
				got, err := b.ClaimRunnable(5, nil)
				if err != nil || len(got) > 1 {
					t.Errorf("claimed %v (%v): at most one job of a lane", ids(got), err)
					return
				}
				if len(got) == 0 {
					time.Sleep(time.Millisecond)
					continue
				}
				if running.Add(1) != 1 {
					t.Errorf("two jobs of the lane held at once")
				}
				mu.Lock()
				order = append(order, got[0].ID)
				mu.Unlock()
				time.Sleep(10 * time.Millisecond)
				running.Add(-1)
				finish(t, b, got[0])
			}
		}()
	}
	wg.Wait()
	if !slices.Equal(order, want) {
		t.Errorf("the lane ran %v, want %v", order, want)
	}
}
