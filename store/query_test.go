package store

import (
	"strconv"
	"testing"
	"time"
)

func TestQueryEvents(t *testing.T) {
	s, _ := openTemp(t)
	t0 := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	// 30 events a minute apart: even ones ignored, every third failed (r0), the rest done.
	for i := range 30 {
		at := t0.Add(time.Duration(i) * time.Minute)
		switch {
		case i%2 == 0:
			add(t, s, "d"+strconv.Itoa(i), at)
		case i%3 == 0:
			add(t, s, "d"+strconv.Itoa(i), at, Failed, Done)
		default:
			add(t, s, "d"+strconv.Itoa(i), at, Done)
		}
	}
	ids := func(evs []EventBrief) []uint64 {
		var out []uint64
		for _, e := range evs {
			out = append(out, e.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		q    EventQuery
		want []uint64
		next uint64
	}{
		{"newest first, a page", EventQuery{Limit: 3}, []uint64{30, 29, 28}, 28},
		{"the next page", EventQuery{Limit: 3, Before: 28}, []uint64{27, 26, 25}, 25},
		{"ignored", EventQuery{Status: "ignored", Limit: 3}, []uint64{29, 27, 25}, 25},
		{"failed", EventQuery{Status: "failed"}, []uint64{28, 22, 16, 10, 4}, 0},
		{"accepted", EventQuery{Status: "accepted", Limit: 2}, []uint64{30, 28}, 28},
		{"rule", EventQuery{Rule: "r1"}, []uint64{28, 22, 16, 10, 4}, 0},
		{"since", EventQuery{Since: t0.Add(27 * time.Minute)}, []uint64{30, 29, 28}, 0},
		{"until (exclusive)", EventQuery{Until: t0.Add(3 * time.Minute)}, []uint64{3, 2, 1}, 0},
		{"range", EventQuery{Since: t0.Add(10 * time.Minute), Until: t0.Add(13 * time.Minute)}, []uint64{13, 12, 11}, 0},
		{"until after the newest", EventQuery{Until: t0.Add(time.Hour), Limit: 1}, []uint64{30}, 30},
		{"until before the oldest", EventQuery{Until: t0.Add(-time.Hour)}, nil, 0},
		{"after (the live stream)", EventQuery{After: 27}, []uint64{30, 29, 28}, 0},
		{"source", EventQuery{Source: "gitlab"}, nil, 0},
		{"scan bound gives a cursor", EventQuery{Status: "failed", MaxScan: 5}, []uint64{28}, 26},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, next, err := s.QueryEvents(tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(evs); !equalIDs(got, tc.want) || next != tc.next {
				t.Fatalf("got %v next %d, want %v next %d", got, next, tc.want, tc.next)
			}
		})
	}
}

func equalIDs(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestStatsAndFailedJobs(t *testing.T) {
	s, _ := openTemp(t)
	now := time.Now().UTC().Truncate(time.Minute)
	since := now.Add(-10 * time.Minute)
	add(t, s, "old", since.Add(-time.Minute), Failed) // before the window
	add(t, s, "a", since.Add(time.Minute), Done)
	add(t, s, "b", since.Add(time.Minute+time.Second), Failed, Done)
	add(t, s, "c", since.Add(5*time.Minute))
	j, _ := s.Job(3) // b's r0: give it a slow attempt
	j.Attempts = []Attempt{{N: 1, Start: now, Steps: []Step{{Action: 1, Kind: "shell", Duration: 3 * time.Second}}}}
	if err := s.SaveJob(j, Wait, nil); err != nil {
		t.Fatal(err)
	}
	st, err := s.Stats(since, now, 5)
	if err != nil {
		t.Fatal(err)
	}
	if st.Events != 3 || st.PerMin["github"][1] != 2 || st.PerMin["github"][5] != 1 || len(st.PerMin["github"]) != 11 {
		t.Fatalf("per minute %v, events %d", st.PerMin, st.Events)
	}
	if st.Statuses["done"] != 1 || st.Statuses["failed"] != 1 || st.Statuses["ignored"] != 1 {
		t.Fatalf("statuses %v", st.Statuses)
	}
	if st.Matches["r0"] != 2 || st.Matches["r1"] != 1 || st.Failures["r0"] != 1 {
		t.Fatalf("matches %v failures %v", st.Matches, st.Failures)
	}
	if len(st.Slowest) != 1 || st.Slowest[0].Duration != 3*time.Second || st.Slowest[0].EventID != 3 {
		t.Fatalf("slowest %+v", st.Slowest)
	}

	failed, next, err := s.FailedJobs(0, time.Time{}, 10, 0)
	if err != nil || next != 0 || len(failed) != 2 || failed[0].Job.ID != 3 || failed[0].DeliveryID != "b" || failed[1].DeliveryID != "old" {
		t.Fatalf("failed %+v next %d err %v", failed, next, err)
	}
	failed, _, _ = s.FailedJobs(0, since, 10, 0)
	if len(failed) != 1 || failed[0].DeliveryID != "b" {
		t.Fatalf("failed since %+v", failed)
	}
	failed, next, _ = s.FailedJobs(0, time.Time{}, 1, 0)
	if len(failed) != 1 || next != 3 {
		t.Fatalf("a page of one: %+v next %d", failed, next)
	}
}
