package storetest

import (
	"errors"
	"testing"
	"time"

	"hookd/store"
)

// A failed event (a rule's newest job failed) outlives retention: Prune
// keeps it while failedCutoff is zero, and until failedCutoff when it is
// set; one replayed with success since is no longer failed and goes by
// retention's cutoff.
func testPruneFailed(t *testing.T, h *harness) {
	cutoff := base.Add(24 * time.Hour)
	failed, fj := h.accept("github", "r-fail", base, "deploy")
	fj[0].State, fj[0].Updated = store.Failed, base.Add(time.Minute)
	h.save(fj[0])
	fixed, xj := h.accept("github", "r-fixed", base, "deploy")
	xj[0].State, xj[0].Updated = store.Failed, base.Add(time.Minute)
	h.save(xj[0])
	again := &store.Job{ID: jobID(h.b), EventID: fixed.ID, Rule: "deploy", State: store.Queued, Created: base.Add(time.Hour), Updated: base.Add(time.Hour)}
	if err := h.b.AddJobs(fixed.ID, []*store.Job{again}); err != nil {
		t.Fatal(err)
	}
	again.State, again.Updated = store.Done, base.Add(2*time.Hour)
	h.save(again)
	gone := func(id uint64) bool {
		_, _, err := h.b.EventJobs(id)
		return errors.Is(err, store.ErrNotFound)
	}

	if n, err := h.b.Prune(cutoff, time.Time{}, 0); err != nil || n != 1 || !gone(fixed.ID) || gone(failed.ID) {
		t.Fatalf("failed events kept: pruned %d (%v), want only the event replayed with success", n, err)
	}
	if h.b.Seen("github", "r-fail") != failed.ID {
		t.Fatalf("a kept failed event's delivery is no longer seen")
	}
	// failed_retention shorter than the failure's age: still kept.
	if n, err := h.b.Prune(cutoff, base.Add(time.Second), 0); err != nil || n != 0 || gone(failed.ID) {
		t.Fatalf("a failure newer than failedCutoff: pruned %d (%v)", n, err)
	}
	if n, err := h.b.Prune(cutoff, cutoff, 0); err != nil || n != 1 || !gone(failed.ID) {
		t.Fatalf("past failedCutoff: pruned %d (%v), want the failed event", n, err)
	}
}
