package engine

import (
	"testing"

	"hookd/store"
)

// A failing job (its on_failure owed) that comes to a busy latest lane
// waits first in line and is never superseded; the lane's other waiting
// jobs still are, by the newest.
func TestFailingJobNotSuperseded(t *testing.T) {
	d := &dispatcher{lanes: map[string]*lane{}}
	d.lane("deploy").busy = true
	job := func(id uint64, failing bool) *store.Job {
		return &store.Job{ID: id, EventID: id, Lane: "deploy", Latest: true, State: store.Queued, Failing: failing}
	}
	var dropped []superseded
	for _, j := range []*store.Job{job(5, false), job(1, true), job(7, false), job(9, false)} {
		d.pending++
		dropped = d.enqueueLocked(j, dropped)
	}
	var waiting, gone []uint64
	for _, j := range d.lanes["deploy"].waiting {
		waiting = append(waiting, j.ID)
	}
	for _, s := range dropped {
		gone = append(gone, s.old.ID)
	}
	if len(waiting) != 2 || waiting[0] != 1 || waiting[1] != 9 || len(gone) != 2 || gone[0] != 5 || gone[1] != 7 || d.pending != 2 {
		t.Fatalf("waiting %v, superseded %v, pending %d; want [1 9], [5 7], 2", waiting, gone, d.pending)
	}
}
