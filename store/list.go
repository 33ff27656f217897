package store

import (
	"encoding/json"
	"errors"
	"time"

	bolt "go.etcd.io/bbolt"
)

// JobBrief is what a listing shows of a job.
type JobBrief struct {
	ID      uint64    `json:"id"`
	Rule    string    `json:"rule"`
	State   string    `json:"state"`
	Updated time.Time `json:"updated"`
}

// EventBrief is one line of a listing: an event without its request, and
// its status summarised from its jobs.
type EventBrief struct {
	ID         uint64     `json:"id"`
	Source     string     `json:"source"`
	DeliveryID string     `json:"delivery_id"`
	Event      string     `json:"event"`
	ReceivedAt time.Time  `json:"received_at"`
	Status     string     `json:"status"`
	Rules      []string   `json:"rules,omitempty"`
	Jobs       []JobBrief `json:"jobs,omitempty"`
}

// eventHead decodes the parts of a stored event a listing needs; the body
// and headers are skipped.
type eventHead struct {
	ID         uint64    `json:"id"`
	Source     string    `json:"source"`
	DeliveryID string    `json:"delivery_id"`
	Event      string    `json:"event"`
	ReceivedAt time.Time `json:"received_at"`
	Status     string    `json:"status"`
	Rules      []string  `json:"rules"`
	Jobs       []uint64  `json:"jobs"`
}

// Summarize gives an event's status from its jobs: "ignored" when it
// matched nothing; otherwise the state of its most pressing job, counting
// only the newest job of each rule, so that a failed event replayed with
// success reads "done".
func Summarize(recorded string, jobs []JobBrief) string {
	if len(jobs) == 0 {
		if recorded == "" {
			return "ignored"
		}
		return recorded
	}
	newest := map[string]JobBrief{}
	for _, j := range jobs {
		if o, ok := newest[j.Rule]; !ok || j.ID > o.ID {
			newest[j.Rule] = j
		}
	}
	best := ""
	for _, j := range newest {
		if rank(j.State) < rank(best) {
			best = j.State
		}
	}
	return best
}

// rank orders states from the most to the least pressing.
func rank(state string) int {
	for i, s := range []string{Running, Retrying, Queued, Failed, Done, Superseded, Cancelled} {
		if s == state {
			return i
		}
	}
	return 100
}

// ListOptions select events. The zero value lists the newest 50.
type ListOptions struct {
	Before  uint64 // only events with smaller ids: the cursor of the previous page
	Source  string
	Status  string // "accepted", "ignored", or a summarised status (failed, done, running…)
	Limit   int    // at most this many (default 50, at most 1000)
	MaxScan int    // examine at most this many events (default 10000), so a rare filter stays cheap
}

// ListEvents returns events newest first, and the cursor for the next page
// (0 when there are no more). It reads one event at a time: memory is
// bounded by Limit, not by the number of stored events.
func (s *Store) ListEvents(o ListOptions) ([]EventBrief, uint64, error) {
	return s.QueryEvents(EventQuery{Before: o.Before, Source: o.Source, Status: o.Status, Limit: o.Limit, MaxScan: o.MaxScan})
}

func (s *Store) brief(tx *bolt.Tx, h *eventHead) EventBrief {
	b := EventBrief{ID: h.ID, Source: h.Source, DeliveryID: h.DeliveryID, Event: h.Event, ReceivedAt: h.ReceivedAt, Rules: h.Rules}
	jb := tx.Bucket(bJobs)
	for _, id := range h.Jobs {
		var j JobBrief
		v := jb.Get(itob(id))
		if v == nil || json.Unmarshal(v, &j) != nil {
			continue
		}
		if ms := s.marks[id]; ms != nil {
			full := new(Job)
			if json.Unmarshal(v, full) == nil {
				s.marked(full)
				j.State, j.Updated = full.State, full.Updated
			}
		}
		b.Jobs = append(b.Jobs, j)
	}
	b.Status = Summarize(h.Status, b.Jobs)
	return b
}

// EventJobs reads an event and all its jobs, oldest job first; an event
// intake has only queued is read too.
func (s *Store) EventJobs(id uint64) (*Event, []*Job, error) {
	ev, jobs, err := s.eventJobs(id)
	if errors.Is(err, ErrNotFound) && s.fresh() {
		ev, jobs, err = s.eventJobs(id)
	}
	if errors.Is(err, ErrNotFound) {
		if uw := s.unwrittenEvent(id); uw != nil { // an ignored event has no jobs
			return uw, nil, nil
		}
	}
	return ev, jobs, err
}

func (s *Store) eventJobs(id uint64) (*Event, []*Job, error) {
	var ev *Event
	var jobs []*Job
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bEvents).Get(itob(id))
		if v == nil {
			return notFound(id)
		}
		ev = new(Event)
		if err := decodeEvent(v, ev); err != nil {
			return err
		}
		for _, jid := range ev.Jobs {
			j, err := getJob(tx, jid)
			if err != nil {
				return err
			}
			jobs = append(jobs, s.marked(j))
		}
		return nil
	})
	return ev, jobs, err
}
