package storetest

import (
	"slices"
	"testing"
	"time"

	"hookd/store"
)

// dashboardEvents records, a minute apart from base: an ignored github
// event, a github event whose deploy job failed after two slow steps, a
// gitlab event whose notify job is done, and a github event matching
// both, queued. It returns their ids, oldest first.
func dashboardEvents(t *testing.T, h *harness) []uint64 {
	at := func(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }
	ign := h.ignore("github", "q0", at(0))
	failed, fj := h.accept("github", "q1", at(1), "deploy")
	fj[0].State, fj[0].Updated = store.Failed, at(1).Add(time.Second)
	fj[0].Attempts = []store.Attempt{{N: 1, Start: at(1), End: at(1).Add(time.Second), Steps: []store.Step{
		{Action: 1, Kind: "shell", Duration: 3 * time.Second}, {Action: 2, Kind: "http", Duration: 5 * time.Second}}}}
	h.save(fj[0])
	done, dj := h.accept("gitlab", "q2", at(2), "notify")
	dj[0].State, dj[0].Updated = store.Done, at(2)
	dj[0].Attempts = []store.Attempt{{N: 1, Start: at(2), Steps: []store.Step{{Action: 1, Kind: "slack", Duration: time.Second}}}}
	h.save(dj[0])
	both, _ := h.accept("github", "q3", at(3), "deploy", "notify")
	return []uint64{ign.ID, failed.ID, done.ID, both.ID}
}

// The dashboard's query filters by rule and time range, reads above an id
// for the live stream, and pages with its cursor.
func testQuery(t *testing.T, h *harness) {
	if id := h.b.NewestEventID(); id != 0 {
		t.Fatalf("newest event of an empty store: %d", id)
	}
	ids := dashboardEvents(t, h)
	if got := h.b.NewestEventID(); got != ids[3] {
		t.Errorf("newest event %d, want %d", got, ids[3])
	}
	query := func(q store.EventQuery) []uint64 {
		t.Helper()
		var got []uint64
		for pages := 0; pages < 20; pages++ {
			page, next, err := h.b.QueryEvents(q)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, briefIDs(page)...)
			if next == 0 {
				return got
			}
			q.Before = next
		}
		t.Fatalf("no end to the pages of %+v", q)
		return nil
	}
	rev := func(s ...uint64) []uint64 { s = slices.Clone(s); slices.Reverse(s); return s }
	for _, tc := range []struct {
		name string
		q    store.EventQuery
		want []uint64
	}{
		{"all", store.EventQuery{}, rev(ids...)},
		{"pages of 1", store.EventQuery{Limit: 1}, rev(ids...)},
		{"rule", store.EventQuery{Rule: "notify"}, rev(ids[2], ids[3])},
		{"rule and source", store.EventQuery{Rule: "deploy", Source: "github", Limit: 1}, rev(ids[1], ids[3])},
		{"status", store.EventQuery{Status: store.Done}, []uint64{ids[2]}},
		{"since", store.EventQuery{Since: base.Add(2 * time.Minute)}, rev(ids[2], ids[3])},
		{"until, exclusive", store.EventQuery{Until: base.Add(2 * time.Minute)}, rev(ids[0], ids[1])},
		{"after", store.EventQuery{After: ids[1]}, rev(ids[2], ids[3])},
	} {
		if got := query(tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	// What intake answered is there at once, unless the poller asked not
	// to wait (it sees it at its next poll).
	ev := h.ignore("github", "q4", base.Add(4*time.Minute))
	if got := query(store.EventQuery{After: ids[3]}); !slices.Equal(got, []uint64{ev.ID}) {
		t.Errorf("right after an ignored event's answer: %v, want %v", got, []uint64{ev.ID})
	}
}

// The failed jobs page lists failed jobs newest first with their events'
// source and delivery, and pages.
func testFailedJobs(t *testing.T, h *harness) {
	ids := dashboardEvents(t, h)
	later, lj := h.accept("gitlab", "q5", base.Add(5*time.Minute), "deploy")
	lj[0].State, lj[0].Updated = store.Failed, base.Add(5*time.Minute)
	h.save(lj[0])
	var got []store.FailedJob
	var before uint64
	for range 10 {
		page, next, err := h.b.FailedJobs(before, time.Time{}, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page...)
		if next == 0 {
			break
		}
		before = next
	}
	if len(got) != 2 || got[0].Job.EventID != later.ID || got[1].Job.EventID != ids[1] {
		t.Fatalf("failed jobs: %+v, want the jobs of events %d and %d", got, later.ID, ids[1])
	}
	if f := got[1]; f.Source != "github" || f.DeliveryID != "q1" || f.Event != "push" || f.Job.State != store.Failed {
		t.Errorf("a failed job: %+v", f)
	}
	recent, _, err := h.b.FailedJobs(0, base.Add(4*time.Minute), 10, 0)
	if err != nil || len(recent) != 1 || recent[0].Job.ID != lj[0].ID {
		t.Errorf("failed since minute 4: %+v (%v)", recent, err)
	}
}

// The overview counts events per source and minute, by status, matches
// and failures per rule, and keeps the slowest action runs.
func testStats(t *testing.T, h *harness) {
	ids := dashboardEvents(t, h)
	st, err := h.b.Stats(base.Add(time.Minute), base.Add(4*time.Minute), 2)
	if err != nil {
		t.Fatal(err)
	}
	if st.Events != 3 || !slices.Equal(st.PerMin["github"], []int{1, 0, 1, 0}) || !slices.Equal(st.PerMin["gitlab"], []int{0, 1, 0, 0}) {
		t.Errorf("events %d, per minute %v", st.Events, st.PerMin)
	}
	if st.Statuses[store.Failed] != 1 || st.Statuses[store.Done] != 1 || st.Statuses[store.Queued] != 1 {
		t.Errorf("statuses %v", st.Statuses)
	}
	if st.Matches["deploy"] != 2 || st.Matches["notify"] != 2 || st.Failures["deploy"] != 1 || len(st.Failures) != 1 {
		t.Errorf("matches %v, failures %v", st.Matches, st.Failures)
	}
	// A replay that failed again is the same failed event; one that
	// succeeded leaves none.
	replay := func(state string) {
		t.Helper()
		j := &store.Job{ID: jobID(h.b), EventID: ids[1], Rule: "deploy", State: store.Queued, Created: base, Updated: base}
		if err := h.b.AddJobs(ids[1], []*store.Job{j}); err != nil {
			t.Fatal(err)
		}
		j.State, j.Updated = state, base.Add(90*time.Second)
		h.save(j)
	}
	replay(store.Failed)
	if again, err := h.b.Stats(base.Add(time.Minute), base.Add(4*time.Minute), 0); err != nil || again.Failures["deploy"] != 1 {
		t.Errorf("failures after a replay failed again: %v (%v)", again.Failures, err)
	}
	replay(store.Done)
	if again, err := h.b.Stats(base.Add(time.Minute), base.Add(4*time.Minute), 0); err != nil || len(again.Failures) != 0 {
		t.Errorf("failures after a replay succeeded: %v (%v)", again.Failures, err)
	}
	if len(st.Slowest) != 2 || st.Slowest[0].Duration != 5*time.Second || st.Slowest[0].EventID != ids[1] ||
		st.Slowest[0].Kind != "http" || st.Slowest[1].Duration != 3*time.Second {
		t.Errorf("slowest %+v", st.Slowest)
	}
}
