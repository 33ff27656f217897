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

// Claim hands out, oldest first, the jobs not final that no live process
// holds: after a restart every unfinished job, once; the jobs a process
// writes are its own and are not handed out while it lives.
func testClaim(t *testing.T, h *harness) {
	_, j1 := h.accept("github", "c1", base, "deploy")
	_, j2 := h.accept("github", "c2", base.Add(time.Second), "deploy")
	_, j3 := h.accept("github", "c3", base.Add(2*time.Second), "deploy", "notify")
	h.ignore("github", "c4", base.Add(3*time.Second))
	_, j5 := h.accept("github", "c5", base.Add(4*time.Second), "deploy")
	j1[0].State = store.Done
	j1[0].Attempts = []store.Attempt{{N: 1, Start: base, End: base.Add(time.Second)}}
	h.save(j1[0])
	j2[0].State = store.Running
	j2[0].Attempts = []store.Attempt{{N: 1, Start: base.Add(time.Minute)}}
	h.save(j2[0])
	next := base.Add(time.Hour)
	j3[0].State, j3[0].NextAt, j3[0].Error = store.Retrying, next, "exit status 1"
	j3[0].Attempts = []store.Attempt{{N: 1, Start: base, End: base.Add(time.Second), Error: "exit status 1"}}
	h.save(j3[0])
	j5[0].State = store.Cancelled
	h.save(j5[0])
	if got, err := h.runnable(); err != nil || len(got) != 0 {
		t.Fatalf("Claim handed out %v (%v), jobs its own process wrote", ids(got), err)
	}

	h.reopen()
	got, err := h.runnable()
	if err != nil {
		t.Fatal(err)
	}
	if want := []uint64{j2[0].ID, j3[0].ID, j3[1].ID}; !slices.Equal(ids(got), want) {
		t.Fatalf("claimed %v, want %v (oldest first, none final)", ids(got), want)
	}
	if r := got[0]; r.State != store.Running || len(r.Attempts) != 1 || !r.Attempts[0].End.IsZero() {
		t.Errorf("a job running at the stop comes back %+v, want running with its attempt unfinished", r)
	}
	if r := got[1]; r.State != store.Retrying || !r.NextAt.Equal(next) || r.Error != "exit status 1" || len(r.Attempts) != 1 {
		t.Errorf("a job waiting for its retry comes back %+v, want retrying at %v", r, next)
	}
	if again, err := h.runnable(); err != nil || len(again) != 0 {
		t.Fatalf("claimed again: %v (%v)", ids(again), err)
	}
	_, j6 := h.accept("github", "c6", base.Add(5*time.Second), "deploy")
	if again, _ := h.runnable(); len(again) != 0 {
		t.Fatalf("claimed %v, written by this process", ids(again))
	}
	h.reopen()
	got, _ = h.runnable()
	if want := []uint64{j2[0].ID, j3[0].ID, j3[1].ID, j6[0].ID}; !slices.Equal(ids(got), want) {
		t.Fatalf("after a second restart claimed %v, want %v", ids(got), want)
	}
}

// A job's progress is kept whichever way it was saved: at once for a
// waited save, after Sync for the others, and across a restart.
func testSaveJob(t *testing.T, h *harness) {
	_, jobs := h.accept("github", "s1", base, "a", "b", "c")
	exit := 3
	att := store.Attempt{N: 1, Start: base, End: base.Add(2 * time.Second), Error: "exit status 3", Steps: []store.Step{
		{Action: 1, Kind: "shell", Start: base, Duration: 1500 * time.Millisecond, Exit: &exit, Output: "building\nfailed\n", Error: "exit status 3"},
		{Action: 2, Kind: "http", Start: base.Add(time.Second), Duration: time.Millisecond, Status: 502},
	}}
	want := make([]store.Job, 3)
	for i, how := range []store.Save{store.Wait, store.Soon, store.Later} {
		j := jobs[i]
		j.State, j.Updated = store.Failed, base.Add(3*time.Second)
		j.Attempts = []store.Attempt{att}
		j.Error = att.Error
		j.OnFailure = []store.Step{{Action: 1, Kind: "slack", Start: base, Duration: time.Millisecond, Status: 200}}
		var failed error
		if err := h.b.SaveJob(j, how, func(err error) { failed = err }); err != nil || failed != nil {
			t.Fatalf("save (how %d): %v %v", how, err, failed)
		}
		want[i] = *j
		j.State, j.Attempts = store.Queued, nil // the caller's copy changes on: the store keeps what it was given
	}
	if got, err := h.b.Job(jobs[0].ID); err != nil || !reflect.DeepEqual(*got, want[0]) {
		t.Fatalf("a waited save read back at once:\n got %+v (%v)\nwant %+v", got, err, want[0])
	}
	if err := h.b.Sync(); err != nil {
		t.Fatal(err)
	}
	for _, restart := range []bool{false, true} {
		if restart {
			h.reopen()
		}
		_, got := h.show(jobs[0].EventID)
		for i := range got {
			if !reflect.DeepEqual(*got[i], want[i]) {
				t.Errorf("job %d (restart %v):\n got %+v\nwant %+v", i, restart, *got[i], want[i])
			}
		}
	}
	if c, _ := h.runnable(); len(c) != 0 {
		t.Errorf("final jobs claimed: %v", ids(c))
	}
}

// Replay adds jobs to an event that run like any other; an unknown event
// is refused.
func testReplay(t *testing.T, h *harness) {
	ev, old := h.accept("github", "p1", base, "deploy")
	old[0].State = store.Failed
	h.save(old[0])
	again := &store.Job{ID: jobID(h.b), EventID: ev.ID, Rule: "deploy", State: store.Queued, Created: base, Updated: base}
	if err := h.b.AddJobs(ev.ID, []*store.Job{again}); err != nil {
		t.Fatal(err)
	}
	got, jobs := h.show(ev.ID)
	if want := []uint64{old[0].ID, again.ID}; !slices.Equal(ids(jobs), want) || !slices.Equal(got.Jobs, want) {
		t.Fatalf("after replay the event lists %v and has jobs %v, want %v", got.Jobs, ids(jobs), want)
	}
	stray := &store.Job{ID: jobID(h.b), EventID: 9999, Rule: "deploy", State: store.Queued}
	if err := h.b.AddJobs(9999, []*store.Job{stray}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("replay of an unknown event: %v, want ErrNotFound", err)
	}
	h.reopen()
	if c, _ := h.runnable(); !slices.Equal(ids(c), []uint64{again.ID}) {
		t.Errorf("after a restart claimed %v, want the replayed job %d", ids(c), again.ID)
	}
}

// A redelivery of an event whose jobs all failed adds its jobs once, of
// copies arriving at once; of an event with a job done, never.
func testRedeliver(t *testing.T, h *harness) {
	failed, fj := h.accept("github", "f1", base, "deploy")
	fj[0].State = store.Failed
	h.save(fj[0])
	done, dj := h.accept("github", "f2", base, "deploy")
	dj[0].State = store.Done
	h.save(dj[0])
	if _, ok := h.b.Retryable(done.ID); ok {
		t.Errorf("an event with a job done is retryable")
	}
	if ev, ok := h.b.Retryable(failed.ID); !ok || ev.ID != failed.ID {
		t.Fatalf("an event whose job failed is not retryable")
	}
	at := base.Add(time.Minute)
	var mu sync.Mutex
	var added []*store.Job
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j := &store.Job{ID: jobID(h.b), EventID: failed.ID, Rule: "deploy", State: store.Queued, Created: at, Updated: at}
			ok, err := h.b.Redeliver(failed.ID, []*store.Job{j}, at)
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				added = append(added, j)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(added) != 1 {
		t.Fatalf("%d redeliveries added jobs, want 1", len(added))
	}
	ev, jobs := h.show(failed.ID)
	if len(ev.Redeliveries) != 1 || !ev.Redeliveries[0].At.Equal(at) || !slices.Equal(ev.Redeliveries[0].Jobs, []uint64{added[0].ID}) ||
		!slices.Equal(ids(jobs), []uint64{fj[0].ID, added[0].ID}) {
		t.Errorf("after the redelivery: %+v, jobs %v", ev.Redeliveries, ids(jobs))
	}
	if ok, err := h.b.Redeliver(done.ID, []*store.Job{{ID: jobID(h.b), EventID: done.ID, Rule: "deploy", State: store.Queued}}, at); ok || err != nil {
		t.Errorf("redelivery of an event with a job done: %v, %v", ok, err)
	}
}

// Rematch queues a rule once per event, of rematches racing, unless
// forced; the rule joins the event's rules, and an ignored event becomes
// accepted.
func testRematch(t *testing.T, h *harness) {
	ev := h.ignore("github", "m1", base)
	rematch := func(force bool) ([]*store.Job, error) {
		j := &store.Job{ID: jobID(h.b), EventID: ev.ID, Rule: "late", State: store.Queued, Created: base, Updated: base}
		return h.b.Rematch(ev.ID, []*store.Job{j}, force)
	}
	var mu sync.Mutex
	var queued []uint64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			done, err := rematch(false)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			queued = append(queued, ids(done)...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(queued) != 1 {
		t.Fatalf("rematches racing queued %v, want one job", queued)
	}
	got, jobs := h.show(ev.ID)
	if got.Status != "accepted" || !slices.Equal(got.Rules, []string{"late"}) || !slices.Equal(got.Rematched, []string{"late"}) ||
		!slices.Equal(ids(jobs), queued) {
		t.Fatalf("after rematch: status %s, rules %v, rematched %v, jobs %v", got.Status, got.Rules, got.Rematched, ids(jobs))
	}
	if done, err := rematch(true); err != nil || len(done) != 1 {
		t.Fatalf("forced rematch: %v, %v", ids(done), err)
	}
	if _, jobs := h.show(ev.ID); len(jobs) != 2 {
		t.Errorf("after a forced rematch %d jobs, want 2", len(jobs))
	}
	if _, err := h.b.Rematch(9999, nil, false); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("rematch of an unknown event: %v, want ErrNotFound", err)
	}
}
