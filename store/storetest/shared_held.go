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

// acceptHeld records on b an event with one job of rule deploy in lane
// (latest lane if latest), written held by b (Job.Hold).
func acceptHeld(t *testing.T, b store.Backend, delivery, lane string, latest bool) *store.Job {
	t.Helper()
	ev := event(b, "github", delivery, time.Now().UTC())
	ev.Status = "accepted"
	j := jobFor(b, ev, "deploy")
	j.Lane, j.Latest, j.Hold = lane, latest, true
	if id, err := b.Accept(ev, []*store.Job{j}); err != nil || id != ev.ID {
		t.Fatalf("accept %s: id %d, %v; want %d", delivery, id, err, ev.ID)
	}
	return j
}

// takeHeld settles jobs on b and fails the test on an error.
func takeHeld(t *testing.T, b store.Shared, jobs ...*store.Job) []*store.Job {
	t.Helper()
	got, err := b.TakeHeld(jobs)
	if err != nil {
		t.Fatalf("take held %v: %v", ids(jobs), err)
	}
	return got
}

// A job written held is its writer's: no process claims it, its writer
// runs it, and Hold is not stored.
func testSharedHeld(t *testing.T, p *pair) {
	j := acceptHeld(t, p.a, "h1", "", false)
	for _, b := range []store.Shared{p.a, p.b} {
		if got := claim(t, b, 5); len(got) != 0 {
			t.Fatalf("claimed %v, held by its writer", ids(got))
		}
	}
	if got := takeHeld(t, p.a, j); !slices.Equal(ids(got), []uint64{j.ID}) {
		t.Fatalf("took %v, want %d", ids(got), j.ID)
	}
	if got, err := p.b.Job(j.ID); err != nil || got.Hold || got.State != store.Queued {
		t.Fatalf("read back %+v (%v), want queued and Hold not stored", got, err)
	}
	j.State, j.Attempts = store.Running, []store.Attempt{{N: 1, Start: time.Now().UTC()}}
	if err := p.a.SaveJob(j, store.Wait, nil); err != nil {
		t.Fatalf("the writer's running mark: %v", err)
	}
	finish(t, p.a, j)
}

// A held job runs at once if its lane is free, and keeps the lane from the
// other process meanwhile; behind a busy lane it is given back and waits
// its turn, run by any process.
func testSharedHeldLane(t *testing.T, p *pair) {
	h := acceptHeld(t, p.a, "free", "serial", false)
	_, later := acceptOn(t, p.b, "later", "serial", false)
	if got := takeHeld(t, p.a, h); !slices.Equal(ids(got), []uint64{h.ID}) {
		t.Fatalf("took %v, want %d: its lane was free", ids(got), h.ID)
	}
	if got := claim(t, p.b, 5); len(got) != 0 {
		t.Fatalf("claimed %v while the lane's held job runs", ids(got))
	}
	finish(t, p.a, h)
	busy := claim(t, p.b, 5)
	if !slices.Equal(ids(busy), []uint64{later.ID}) {
		t.Fatalf("claimed %v, want %d", ids(busy), later.ID)
	}
	behind := acceptHeld(t, p.a, "behind", "serial", false)
	if got := takeHeld(t, p.a, behind); len(got) != 0 {
		t.Fatalf("took %v while job %d of its lane runs elsewhere", ids(got), later.ID)
	}
	if got := claim(t, p.a, 5); len(got) != 0 {
		t.Fatalf("claimed %v while the lane runs", ids(got))
	}
	finish(t, p.b, busy[0])
	if got := claim(t, p.b, 5); !slices.Equal(ids(got), []uint64{behind.ID}) {
		t.Fatalf("after the lane freed claimed %v, want %d given back", ids(got), behind.ID)
	}
}

// A held job given back in a latest lane supersedes the older waiting job,
// as any newer job written there does.
func testSharedHeldLatest(t *testing.T, p *pair) {
	_, running := acceptOn(t, p.b, "l0", "last", true)
	if got := claim(t, p.b, 1); len(got) != 1 {
		t.Fatalf("claimed %v, want %d", ids(got), running.ID)
	}
	_, waiting := acceptOn(t, p.b, "l1", "last", true)
	h := acceptHeld(t, p.a, "l2", "last", true)
	if got := takeHeld(t, p.a, h); len(got) != 0 {
		t.Fatalf("took %v while the lane runs", ids(got))
	}
	if got, err := p.a.Job(waiting.ID); err != nil || got.State != store.Superseded {
		t.Fatalf("the older waiting job: %+v (%v), want superseded", got, err)
	}
	finish(t, p.b, running)
	if got := claim(t, p.a, 5); !slices.Equal(ids(got), []uint64{h.ID}) {
		t.Fatalf("claimed %v, want the newest %d", ids(got), h.ID)
	}
}

// A held job whose writer dies before running it goes to the other
// process once the writer's lease runs out.
func testSharedHeldCrash(t *testing.T, p *pair) {
	c := crasher(t, p.a)
	j := acceptHeld(t, p.a, "crash", "serial", false)
	if got := claim(t, p.b, 5); len(got) != 0 {
		t.Fatalf("claimed %v, held by a live writer", ids(got))
	}
	c.Abandon()
	if got := claimWithin(t, p.b, 10*time.Second); got.ID != j.ID || got.State != store.Queued {
		t.Fatalf("got %+v, want job %d queued", got, j.ID)
	}
}

// Held jobs settled and claimed on both processes at once never run two
// of their lane at a time, and all of them run.
func testSharedHeldRace(t *testing.T, p *pair) {
	var running atomic.Int32
	var mu sync.Mutex
	ran := map[uint64]int{}
	run := func(b store.Shared, j *store.Job) {
		if running.Add(1) != 1 {
			t.Errorf("two jobs of the lane run at once (job %d)", j.ID)
		}
		mu.Lock()
		ran[j.ID]++
		mu.Unlock()
		time.Sleep(3 * time.Millisecond)
		running.Add(-1)
		finish(t, b, j)
	}
	var wg sync.WaitGroup
	var all []uint64
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := p.either(w)
			for i := range 8 {
				j := acceptHeld(t, b, fmt.Sprint("race-", w, "-", i), "race", false)
				mu.Lock()
				all = append(all, j.ID)
				mu.Unlock()
				for _, k := range takeHeld(t, b, j) {
					run(b, k)
				}
				for _, k := range claim(t, b, 5) {
					run(b, k)
				}
			}
		}()
	}
	wg.Wait()
	for end := time.Now().Add(10 * time.Second); len(ran) < len(all) && time.Now().Before(end); {
		for _, b := range []store.Shared{p.a, p.b} {
			for _, k := range claim(t, b, 5) {
				run(b, k)
			}
		}
	}
	for _, id := range all {
		if ran[id] != 1 {
			t.Errorf("job %d ran %d times, want once", id, ran[id])
		}
	}
}
