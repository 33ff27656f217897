// Package storetest is the conformance suite of store.Backend, written once
// and run against every backend: a backend's test calls Run with a function
// that makes it a fresh, empty store.
package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"hookd/store"
)

// Fresh makes a new, empty store for one test and returns the function
// that opens it; the suite opens it again (a restart) and closes what it
// opens.
type Fresh func(t *testing.T) (open func() store.Backend)

// Run runs the whole suite against the backend fresh makes.
func Run(t *testing.T, fresh Fresh) {
	for _, tc := range []struct {
		name string
		test func(*testing.T, *harness)
	}{
		{"AcceptRecordsEventAndJobsTogether", testAccept},
		{"AcceptDeduplicates", testAcceptDedup},
		{"ConcurrentCopiesAcceptOnce", testConcurrentAccept},
		{"IgnoredEvents", testIgnored},
		{"IgnoredEventsKeptInPart", testKept},
		{"AnswerSetAfterwards", testSetAnswer},
		{"ConcurrentIgnoredCopiesRecordOnce", testConcurrentRecord},
		{"ReadYourWrites", testReadYourWrites},
		{"IDs", testIDs},
		{"ClaimUnfinishedJobsOnceInOrder", testClaim},
		{"JobProgressIsKept", testSaveJob},
		{"ListFiltersAndCursor", testList},
		{"ShowUnknown", testShowUnknown},
		{"Replay", testReplay},
		{"RedeliverOnce", testRedeliver},
		{"RematchOnce", testRematch},
		{"PruneFinishedOldEvents", testPrune},
		{"PruneKeepsFailedEvents", testPruneFailed},
		{"WritesAfterCloseFail", testClosed},
		{"DashboardQuery", testQuery},
		{"DashboardFailedJobs", testFailedJobs},
		{"DashboardStats", testStats},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, fresh(t))
			if _, shared := h.b.(store.Shared); shared && tc.name == "ClaimUnfinishedJobsOnceInOrder" {
				t.Skip("a shared backend's jobs are held by no process until claimed: see RunShared")
			}
			tc.test(t, h)
		})
	}
}

// harness holds the store a test works on, and reopens it.
type harness struct {
	t    *testing.T
	open func() store.Backend
	b    store.Backend
}

func newHarness(t *testing.T, open func() store.Backend) *harness {
	h := &harness{t: t, open: open, b: open()}
	t.Cleanup(func() {
		if h.b != nil {
			h.b.Close()
		}
	})
	return h
}

// reopen closes the store and opens it again, as a restart does.
func (h *harness) reopen() store.Backend {
	h.t.Helper()
	if err := h.b.Close(); err != nil {
		h.t.Fatalf("close: %v", err)
	}
	h.b = nil
	h.b = h.open()
	return h.b
}

// base is the time the suite's events are received at: old enough that
// prune's cutoffs fall between them and now.
var base = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// event makes an event of source with delivery id, received at, as intake
// would; rules are its matched rules.
func event(b store.Backend, source, delivery string, at time.Time) *store.Event {
	return &store.Event{ID: eventID(b), Source: source, DeliveryID: delivery, Event: "push", ReceivedAt: at,
		Method: "POST", Path: "/hooks/" + source, RemoteAddr: "192.0.2.1:4000",
		Headers: map[string]string{"content-type": "application/json", "x-github-event": "push"},
		Query:   map[string]string{"a": "b"}, Body: []byte(`{"ref":"refs/heads/main","n":` + fmt.Sprint(at.Unix()) + `}`)}
}

// jobFor makes a queued job of ev for rule, as intake does, and lists it in
// ev.
func jobFor(b store.Backend, ev *store.Event, rule string) *store.Job {
	j := &store.Job{ID: jobID(b), EventID: ev.ID, Rule: rule, State: store.Queued, Created: ev.ReceivedAt, Updated: ev.ReceivedAt}
	ev.Jobs = append(ev.Jobs, j.ID)
	if len(ev.Rules) == 0 || ev.Rules[len(ev.Rules)-1] != rule {
		ev.Rules = append(ev.Rules, rule)
	}
	return j
}

// accept records an event with one job per rule and fails the test unless
// it is accepted.
func (h *harness) accept(source, delivery string, at time.Time, rules ...string) (*store.Event, []*store.Job) {
	h.t.Helper()
	ev := event(h.b, source, delivery, at)
	ev.Status = "accepted"
	var jobs []*store.Job
	for _, r := range rules {
		jobs = append(jobs, jobFor(h.b, ev, r))
	}
	id, err := h.b.Accept(ev, jobs)
	if err != nil || id != ev.ID {
		h.t.Fatalf("accept %s/%s: id %d, %v; want %d", source, delivery, id, err, ev.ID)
	}
	return ev, jobs
}

// ignore records an event that matched nothing and fails the test unless
// it is recorded.
func (h *harness) ignore(source, delivery string, at time.Time) *store.Event {
	h.t.Helper()
	ev := event(h.b, source, delivery, at)
	ev.Status = "ignored"
	id, err := h.b.Record(ev)
	if err != nil || id != ev.ID {
		h.t.Fatalf("record %s/%s: id %d, %v; want %d", source, delivery, id, err, ev.ID)
	}
	return ev
}

// runnable returns the jobs a process starting now would run: bbolt's
// Claim, or what a shared backend's ClaimRunnable holds for it.
func (h *harness) runnable() ([]*store.Job, error) {
	if sh, ok := h.b.(store.Shared); ok {
		return sh.ClaimRunnable(1000, nil)
	}
	return h.b.Claim()
}

// save writes j's state and waits for it.
func (h *harness) save(j *store.Job) {
	h.t.Helper()
	if err := h.b.SaveJob(j, store.Wait, nil); err != nil {
		h.t.Fatalf("save job %d: %v", j.ID, err)
	}
}

// show reads an event and its jobs and fails the test if it cannot.
func (h *harness) show(id uint64) (*store.Event, []*store.Job) {
	h.t.Helper()
	ev, jobs, err := h.b.EventJobs(id)
	if err != nil {
		h.t.Fatalf("show %d: %v", id, err)
	}
	return ev, jobs
}

// ids returns the ids of jobs.
func ids(jobs []*store.Job) []uint64 {
	out := []uint64{}
	for _, j := range jobs {
		out = append(out, j.ID)
	}
	return out
}

// isDup reports whether err is ErrDuplicate, and fails the test on any
// other error.
func isDup(t *testing.T, err error) bool {
	t.Helper()
	if err != nil && !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("unexpected error: %v", err)
	}
	return err != nil
}

// eventID allocates an event id and panics if it cannot: a suite whose
// store cannot allocate ids cannot go on.
func eventID(b store.Backend) uint64 {
	id, err := b.NextEventID()
	if err != nil {
		panic(fmt.Sprintf("allocate an event id: %v", err))
	}
	return id
}

// jobID allocates a job id and panics if it cannot.
func jobID(b store.Backend) uint64 {
	id, err := b.NextJobID()
	if err != nil {
		panic(fmt.Sprintf("allocate a job id: %v", err))
	}
	return id
}
