package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"hookd/store"
)

// crasher returns s's test hooks or skips the test.
func crasher(t *testing.T, s store.Shared) Crasher {
	c, ok := s.(Crasher)
	if !ok {
		t.Skip("the backend has no test hooks to stop its lease")
	}
	return c
}

// holdRunning accepts a job on a, claims it there and saves it running,
// its attempt started.
func holdRunning(t *testing.T, p *pair) *store.Job {
	t.Helper()
	acceptOn(t, p.a, "run", "", false)
	got := claim(t, p.a, 1)
	if len(got) != 1 {
		t.Fatalf("claimed %v, want one job", ids(got))
	}
	j := got[0]
	j.State, j.Attempts = store.Running, []store.Attempt{{N: 1, Start: time.Now().UTC()}}
	if err := p.a.SaveJob(j, store.Wait, nil); err != nil {
		t.Fatal(err)
	}
	if got := claim(t, p.b, 1); len(got) != 0 {
		t.Fatalf("the other process claimed %v, held by a live one", ids(got))
	}
	return j
}

// claimWithin claims on b until it gets a job, for at most d.
func claimWithin(t *testing.T, b store.Shared, d time.Duration) *store.Job {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if got := claim(t, b, 1); len(got) > 0 {
			return got[0]
		}
	}
	t.Fatalf("nothing to claim after %v", d)
	return nil
}

// backRunning checks that a job whose holder died comes back running,
// its attempt without an end.
func backRunning(t *testing.T, j *store.Job, want uint64) {
	t.Helper()
	if j.ID != want || j.State != store.Running || len(j.Attempts) != 1 || !j.Attempts[0].End.IsZero() {
		t.Fatalf("got back %+v, want job %d running with its attempt unended", j, want)
	}
}

// A process that stops renewing its lease loses its running job to the
// other, once the lease ran out; its progress is then refused.
func testSharedLease(t *testing.T, p *pair) {
	c := crasher(t, p.a)
	j := holdRunning(t, p)
	c.StopRenewing()
	got := claimWithin(t, p.b, 10*time.Second)
	backRunning(t, got, j.ID)
	j.State = store.Done
	if err := p.a.SaveJob(j, store.Wait, nil); !errors.Is(err, store.ErrNotHeld) {
		t.Errorf("the old holder's save: %v, want ErrNotHeld", err)
	}
	finish(t, p.b, got)
}

// A crashed process's running job comes back to the other.
func testSharedCrash(t *testing.T, p *pair) {
	c := crasher(t, p.a)
	j := holdRunning(t, p)
	c.Abandon()
	backRunning(t, claimWithin(t, p.b, 10*time.Second), j.ID)
}

// Jobs released, or held by a process that closes, are claimable at once.
func testSharedRelease(t *testing.T, p *pair) {
	_, j1 := acceptOn(t, p.a, "r1", "", false)
	_, j2 := acceptOn(t, p.a, "r2", "", false)
	held := claim(t, p.a, 5)
	if !slices.Equal(ids(held), []uint64{j1.ID, j2.ID}) {
		t.Fatalf("claimed %v, want %d and %d", ids(held), j1.ID, j2.ID)
	}
	if got := claim(t, p.b, 5); len(got) != 0 {
		t.Fatalf("the other process claimed %v", ids(got))
	}
	if err := p.a.Release(held[:1]); err != nil {
		t.Fatal(err)
	}
	if got := claim(t, p.b, 5); !slices.Equal(ids(got), []uint64{j1.ID}) {
		t.Fatalf("after a release claimed %v, want %d", ids(got), j1.ID)
	}
	if err := p.a.Close(); err != nil {
		t.Fatal(err)
	}
	if got := claim(t, p.b, 5); !slices.Equal(ids(got), []uint64{j2.ID}) {
		t.Fatalf("after the holder closed claimed %v, want %d", ids(got), j2.ID)
	}
}

// max_queued counts the jobs not final of both processes.
func testSharedFull(t *testing.T, p *pair) {
	p.a.SetMaxQueued(3)
	p.b.SetMaxQueued(3)
	ev := event(p.a, "github", "f0", base)
	ev.Status = "accepted"
	if _, err := p.a.Accept(ev, []*store.Job{jobFor(p.a, ev, "deploy"), jobFor(p.a, ev, "notify")}); err != nil {
		t.Fatal(err)
	}
	acceptOn(t, p.b, "f1", "", false)
	for i, b := range []store.Shared{p.a, p.b} {
		ev := event(b, "github", fmt.Sprint("full", i), base)
		if _, err := b.Accept(ev, []*store.Job{jobFor(b, ev, "deploy")}); !errors.Is(err, store.ErrFull) {
			t.Errorf("an accept past max_queued: %v, want ErrFull", err)
		}
	}
	if err := p.b.AddJobs(ev.ID, []*store.Job{{ID: jobID(p.b), EventID: ev.ID, Rule: "deploy", State: store.Queued}}); !errors.Is(err, store.ErrFull) {
		t.Errorf("a replay past max_queued: %v, want ErrFull", err)
	}
	for end := time.Now().Add(3 * time.Second); p.a.Queued() != 3 || p.b.Queued() != 3; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("queued %d and %d, want 3", p.a.Queued(), p.b.Queued())
		}
	}
	got := claim(t, p.a, 1)
	finish(t, p.a, got[0])
	acceptOn(t, p.b, "f2", "", false)
}

// An accept on one process wakes the other at once, eight times: a
// backend's one-second tick, due at a uniform moment, would be past 600
// ms at least once in 98% of runs, where a notification takes
// milliseconds, and stays well below it on a loaded machine.
func testSharedWake(t *testing.T, p *pair) {
	for i := range 8 {
		drain(p.b.Wake())
		start := time.Now()
		acceptOn(t, p.a, fmt.Sprint("w", i), "", false)
		select {
		case <-p.b.Wake():
			if d := time.Since(start); d > 600*time.Millisecond {
				t.Errorf("woken %v after the accept", d)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the other process was not woken")
		}
	}
}

// The end of a job of a lane wakes the other process, which may run the
// lane's next job; the end of a job without one need not.
func testSharedLaneWake(t *testing.T, p *pair) {
	for i := range 3 {
		acceptOn(t, p.a, fmt.Sprint("l", i, "a"), "serial", false)
		acceptOn(t, p.a, fmt.Sprint("l", i, "b"), "serial", false)
		j := claim(t, p.a, 2)
		if len(j) != 1 {
			t.Fatalf("claimed %v of one lane", ids(j))
		}
		drain(p.b.Wake())
		start := time.Now()
		finish(t, p.a, j[0])
		select {
		case <-p.b.Wake():
			if d := time.Since(start); d > 150*time.Millisecond {
				t.Errorf("woken %v after the lane's job ended", d)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the other process was not woken")
		}
		if got := claim(t, p.b, 1); len(got) != 1 {
			t.Fatalf("claimed %v after the lane freed", ids(got))
		} else {
			finish(t, p.b, got[0])
		}
	}
}

func drain(c <-chan struct{}) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

// A job given back with a NextAt is claimable when it comes due, and the
// other process is woken then, five times: a backend's slow tick (every
// Lease/2) would be late by more than the bound at least once.
func testSharedDue(t *testing.T, p *pair) {
	for round := range 5 {
		acceptOn(t, p.a, fmt.Sprint("d", round), "", false)
		j := claim(t, p.a, 1)[0]
		due := time.Now().Add(time.Duration(700+100*round) * time.Millisecond)
		j.NextAt = due
		if err := p.a.SaveJob(j, store.Wait, nil); err != nil {
			t.Fatal(err)
		}
		if got := claim(t, p.b, 1); len(got) != 0 {
			t.Fatalf("claimed %v before it is due", ids(got))
		}
		var got []*store.Job
		var woken time.Time // the wake that led to the claim
		for end := time.Now().Add(5 * time.Second); len(got) == 0 && time.Now().Before(end); {
			select {
			case <-p.b.Wake():
			case <-time.After(time.Until(end)):
			}
			woken = time.Now()
			got = claim(t, p.b, 1)
		}
		late := woken.Sub(due)
		if len(got) != 1 || late < 0 {
			t.Fatalf("claimed %v, %v after it was due", ids(got), late)
		}
		if late > 250*time.Millisecond {
			t.Errorf("woken %v after it was due, want the wake then", late)
		}
		finish(t, p.b, got[0])
	}
}

// A job waiting for its retry stays with the process that ran it, due or
// not; when that process goes, the other gets it with its schedule.
func testSharedRetry(t *testing.T, p *pair) {
	acceptOn(t, p.a, "retry", "", false)
	j := claim(t, p.a, 1)[0]
	now := time.Now().UTC()
	j.State, j.NextAt, j.Error = store.Retrying, now.Add(-time.Second), "exit status 1"
	j.Attempts = []store.Attempt{{N: 1, Start: now.Add(-2 * time.Second), End: now.Add(-time.Second), Error: "exit status 1"}}
	if err := p.a.SaveJob(j, store.Wait, nil); err != nil {
		t.Fatal(err)
	}
	if got := claim(t, p.b, 1); len(got) != 0 {
		t.Fatalf("the other process claimed %v, a retry its process waits for", ids(got))
	}
	if err := p.a.Close(); err != nil {
		t.Fatal(err)
	}
	got := claim(t, p.b, 1)
	if len(got) != 1 || got[0].State != store.Retrying || !got[0].NextAt.Equal(j.NextAt) || len(got[0].Attempts) != 1 {
		t.Fatalf("after its process closed claimed %+v, want job %d retrying at %v", got, j.ID, j.NextAt)
	}
}
