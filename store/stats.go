package store

import (
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Stats summarises the events received since a time, for the dashboard's
// overview and rules pages.
type Stats struct {
	Since    time.Time
	Events   int
	PerMin   map[string][]int // source -> deliveries per minute, oldest minute first
	Statuses map[string]int   // summarised status -> events
	Matches  map[string]int   // rule -> events that matched it
	// Failures counts, per rule, the events whose newest job of the rule
	// ended failed: events, as Matches, so a replay that failed again is
	// the same failure, and one that succeeded none.
	Failures map[string]int
	Slowest  []SlowAction // the slowest action runs, slowest first
}

// SlowAction is one action run and how long it took.
type SlowAction struct {
	EventID  uint64
	Rule     string
	Action   int
	Kind     string
	Duration time.Duration
}

// statsChunk is how many events one read transaction reads: bbolt cannot
// grow its file while a read transaction is open, so a long scan is cut.
const statsChunk = 2000

// Stats reads the events received from since to now, newest first, in
// transactions of statsChunk events; minutes are counted from since.
func (s *Store) Stats(since, now time.Time, slowest int) (*Stats, error) {
	mins := int(now.Sub(since)/time.Minute) + 1
	st := &Stats{Since: since, PerMin: map[string][]int{}, Statuses: map[string]int{}, Matches: map[string]int{}, Failures: map[string]int{}}
	s.fresh()
	var before uint64 // 0: from the newest
	for {
		done := true
		err := s.view(func(tx *bolt.Tx) error {
			c := tx.Bucket(bEvents).Cursor()
			k, v := below(c, before)
			for n := 0; k != nil; k, v = c.Prev() {
				if n == statsChunk {
					before, done = btoi(k)+1, false
					return nil
				}
				n++
				var h eventHead
				if decodeHead(v, &h) != nil {
					continue
				}
				if h.ReceivedAt.Before(since) {
					return nil
				}
				st.add(tx, &h, mins, slowest)
			}
			return nil
		})
		if err != nil || done {
			return st, err
		}
	}
}

func (st *Stats) add(tx *bolt.Tx, h *eventHead, mins, slowest int) {
	st.Events++
	if m := int(h.ReceivedAt.Sub(st.Since) / time.Minute); m >= 0 && m < mins {
		per := st.PerMin[h.Source]
		if per == nil {
			per = make([]int, mins)
			st.PerMin[h.Source] = per
		}
		per[m]++
	}
	seen := map[string]bool{}
	for _, r := range h.Rules {
		if !seen[r] {
			seen[r] = true
			st.Matches[r]++
		}
	}
	var briefs []JobBrief
	for _, id := range h.Jobs {
		v := tx.Bucket(bJobs).Get(itob(id))
		var j Job
		if v == nil || json.Unmarshal(v, &j) != nil {
			continue
		}
		briefs = append(briefs, JobBrief{ID: j.ID, Rule: j.Rule, State: j.State, Updated: j.Updated})
		for _, a := range j.Attempts {
			for _, step := range a.Steps {
				st.slow(SlowAction{EventID: h.ID, Rule: j.Rule, Action: step.Action, Kind: step.Kind, Duration: step.Duration}, slowest)
			}
		}
	}
	st.Statuses[Summarize(h.Status, briefs)]++
	st.AddFailures(briefs)
}

// AddFailures counts an event's failures: its jobs, in arrival order, the
// last of each rule being the newest.
func (st *Stats) AddFailures(jobs []JobBrief) {
	last := map[string]string{}
	for _, j := range jobs {
		last[j.Rule] = j.State
	}
	for rule, state := range last {
		if state == Failed {
			st.Failures[rule]++
		}
	}
}

// slow keeps the n slowest runs, slowest first.
func (st *Stats) slow(a SlowAction, n int) {
	if n <= 0 || (len(st.Slowest) == n && a.Duration <= st.Slowest[n-1].Duration) {
		return
	}
	i := len(st.Slowest)
	for i > 0 && st.Slowest[i-1].Duration < a.Duration {
		i--
	}
	st.Slowest = append(st.Slowest, SlowAction{})
	copy(st.Slowest[i+1:], st.Slowest[i:])
	st.Slowest[i] = a
	if len(st.Slowest) > n {
		st.Slowest = st.Slowest[:n]
	}
}

// FailedJob is a job that ended failed, with its event's source and
// delivery id.
type FailedJob struct {
	Job        *Job
	Source     string
	DeliveryID string
	Event      string
}

// FailedJobs returns jobs that ended failed, newest first, with ids below
// before (0: from the newest), and the cursor of the next page. It looks at
// most at maxScan jobs (default 20000).
func (s *Store) FailedJobs(before uint64, since time.Time, limit, maxScan int) ([]FailedJob, uint64, error) {
	if maxScan <= 0 {
		maxScan = 20000
	}
	var out []FailedJob
	var next uint64
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bJobs).Cursor()
		k, v := below(c, before)
		for scanned := 0; k != nil; k, v = c.Prev() {
			if len(out) == limit || scanned == maxScan {
				next = btoi(k) + 1
				return nil
			}
			scanned++
			j := new(Job)
			if json.Unmarshal(v, j) != nil || j.State != Failed {
				continue
			}
			if !since.IsZero() && j.Updated.Before(since) {
				if j.Created.Before(since) {
					return nil
				}
				continue
			}
			f := FailedJob{Job: j}
			var h eventHead
			if ev := tx.Bucket(bEvents).Get(itob(j.EventID)); ev != nil && decodeHead(ev, &h) == nil {
				f.Source, f.DeliveryID, f.Event = h.Source, h.DeliveryID, h.Event
			}
			out = append(out, f)
		}
		return nil
	})
	return out, next, err
}

// below positions c on the last key under before (0: the last key).
func below(c *bolt.Cursor, before uint64) ([]byte, []byte) {
	if before == 0 {
		return c.Last()
	}
	if k, _ := c.Seek(itob(before)); k == nil {
		return c.Last()
	}
	return c.Prev()
}

// NewestEventID returns the id of the newest event on disk (0: none).
func (s *Store) NewestEventID() uint64 {
	var id uint64
	_ = s.view(func(tx *bolt.Tx) error {
		k, _ := tx.Bucket(bEvents).Cursor().Last()
		id = btoi(k)
		return nil
	})
	return id
}
