package pgstore

import (
	"context"
	"math"
	"time"

	"hookd/store"
)

// statsChunk is how many events one round trip of Stats reads.
const statsChunk = 2000

// Stats summarises the events received from since on, newest first, as
// bbolt's: minutes are counted from since.
func (s *Store) Stats(since, now time.Time, slowest int) (*store.Stats, error) {
	mins := int(now.Sub(since)/time.Minute) + 1
	st := &store.Stats{Since: since, PerMin: map[string][]int{}, Statuses: map[string]int{}, Matches: map[string]int{}, Failures: map[string]int{}}
	ctx, cancel := context.WithTimeout(context.Background(), 4*s.opt.Timeout)
	defer cancel()
	q := &store.EventQuery{Since: since}
	before := int64(math.MaxInt64)
	for {
		hs, err := s.heads(ctx, q, before, statsChunk)
		if err != nil {
			return st, s.clean(err)
		}
		if err := s.addStats(ctx, st, hs, mins, slowest); err != nil {
			return st, s.clean(err)
		}
		if len(hs) < statsChunk {
			return st, nil
		}
		before = int64(hs[len(hs)-1].b.ID)
	}
}

func (s *Store) addStats(ctx context.Context, st *store.Stats, hs []head, mins, slowest int) error {
	ids := make([]int64, len(hs))
	for i, h := range hs {
		ids[i] = int64(h.b.ID)
		st.Events++
		if m := int(h.b.ReceivedAt.Sub(st.Since) / time.Minute); m >= 0 && m < mins {
			per := st.PerMin[h.b.Source]
			if per == nil {
				per = make([]int, mins)
				st.PerMin[h.b.Source] = per
			}
			per[m]++
		}
		seen := map[string]bool{}
		for _, r := range h.b.Rules {
			if !seen[r] {
				seen[r] = true
				st.Matches[r]++
			}
		}
		st.Statuses[h.b.Status]++
		st.AddFailures(h.b.Jobs)
	}
	if slowest <= 0 || len(ids) == 0 {
		return nil
	}
	rows, err := s.pool.Query(ctx, `SELECT data FROM jobs WHERE event_id = ANY($1)`, ids)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			return err
		}
		j, err := decodeJob(data)
		if err != nil {
			continue
		}
		for _, a := range j.Attempts {
			for _, step := range a.Steps {
				slow(st, store.SlowAction{EventID: j.EventID, Rule: j.Rule, Action: step.Action, Kind: step.Kind, Duration: step.Duration}, slowest)
			}
		}
	}
	return rows.Err()
}

// slow keeps the n slowest runs, slowest first.
func slow(st *store.Stats, a store.SlowAction, n int) {
	if len(st.Slowest) == n && a.Duration <= st.Slowest[n-1].Duration {
		return
	}
	i := len(st.Slowest)
	for i > 0 && st.Slowest[i-1].Duration < a.Duration {
		i--
	}
	st.Slowest = append(st.Slowest, store.SlowAction{})
	copy(st.Slowest[i+1:], st.Slowest[i:])
	st.Slowest[i] = a
	if len(st.Slowest) > n {
		st.Slowest = st.Slowest[:n]
	}
}
