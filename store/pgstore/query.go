package pgstore

import (
	"context"
	"math"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"hookd/store"
)

// head is what a listing reads of an event.
type head struct {
	b      store.EventBrief
	status string // as recorded: accepted or ignored
}

// heads reads at most limit events below before, newest first, that pass
// q's source, rule, time range and After.
func (s *Store) heads(ctx context.Context, q *store.EventQuery, before int64, limit int) ([]head, error) {
	var since, until pgtype.Timestamptz
	if !q.Since.IsZero() {
		since = pgtype.Timestamptz{Time: q.Since, Valid: true}
	}
	if !q.Until.IsZero() {
		until = pgtype.Timestamptz{Time: q.Until, Valid: true}
	}
	rows, err := s.pool.Query(ctx, `SELECT id, source, delivery_id, event, received_at, status, rules FROM events
		WHERE id < $1 AND id > $2 AND ($3 = '' OR source = $3) AND ($4 = '' OR $4 = ANY(rules))
		  AND ($5::timestamptz IS NULL OR received_at >= $5) AND ($6::timestamptz IS NULL OR received_at < $6)
		ORDER BY id DESC LIMIT $7`, before, int64(q.After), q.Source, q.Rule, since, until, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []head
	for rows.Next() {
		var h head
		var id int64
		if err := rows.Scan(&id, &h.b.Source, &h.b.DeliveryID, &h.b.Event, &h.b.ReceivedAt, &h.status, &h.b.Rules); err != nil {
			return nil, err
		}
		h.b.ID, h.b.ReceivedAt = uint64(id), h.b.ReceivedAt.UTC()
		if len(h.b.Rules) == 0 {
			h.b.Rules = nil
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, s.briefJobs(ctx, out)
}

// briefJobs fills in the events' jobs, in arrival order, and their status.
func (s *Store) briefJobs(ctx context.Context, hs []head) error {
	if len(hs) == 0 {
		return nil
	}
	ids := make([]int64, len(hs))
	at := map[int64]int{}
	for i, h := range hs {
		ids[i] = int64(h.b.ID)
		at[ids[i]] = i
	}
	rows, err := s.pool.Query(ctx, `SELECT event_id, id, rule, state, updated FROM jobs WHERE event_id = ANY($1) ORDER BY seq`, ids)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var ev, id int64
		var j store.JobBrief
		if err := rows.Scan(&ev, &id, &j.Rule, &j.State, &j.Updated); err != nil {
			return err
		}
		j.ID, j.Updated = uint64(id), j.Updated.UTC()
		h := &hs[at[ev]]
		h.b.Jobs = append(h.b.Jobs, j)
	}
	for i := range hs {
		hs[i].b.Status = store.Summarize(hs[i].status, newestPerRule(hs[i].b.Jobs))
	}
	return rows.Err()
}

// newestPerRule keeps the last job of each rule in jobs, which are in
// arrival order. Summarize takes the highest id for the newest, but job
// ids come in blocks per process: a replay on another process may have a
// lower id than the job it replays.
func newestPerRule(jobs []store.JobBrief) []store.JobBrief {
	at := map[string]int{}
	var out []store.JobBrief
	for _, j := range jobs {
		if i, ok := at[j.Rule]; ok {
			out[i] = j
			continue
		}
		at[j.Rule] = len(out)
		out = append(out, j)
	}
	return out
}

// ListEvents is QueryEvents without a rule or time range.
func (s *Store) ListEvents(o store.ListOptions) ([]store.EventBrief, uint64, error) {
	return s.QueryEvents(store.EventQuery{Before: o.Before, Source: o.Source, Status: o.Status, Limit: o.Limit, MaxScan: o.MaxScan})
}

// QueryEvents returns events newest first and the cursor of the next page
// (0 when there are no more), as bbolt's: at most Limit events, after
// examining at most MaxScan that pass the filters the database applies
// (source, rule, time range); the status, summarised from the jobs, is
// filtered here.
func (s *Store) QueryEvents(q store.EventQuery) ([]store.EventBrief, uint64, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	q.Limit = min(q.Limit, 1000)
	if q.MaxScan <= 0 {
		q.MaxScan = 10000
	}
	ctx, cancel := s.ctx()
	defer cancel()
	before := int64(math.MaxInt64)
	if q.Before > 0 {
		before = int64(q.Before)
	}
	var out []store.EventBrief
	scanned := 0
	for {
		chunk := min(max(q.Limit+1, 100), q.MaxScan-scanned+1)
		hs, err := s.heads(ctx, &q, before, chunk)
		if err != nil {
			return nil, 0, s.clean(err)
		}
		for _, h := range hs {
			if len(out) == q.Limit || scanned == q.MaxScan {
				return out, h.b.ID + 1, nil
			}
			scanned++
			if q.Status != "" && q.Status != h.b.Status && !(q.Status == "accepted" && h.status == "accepted") {
				continue
			}
			out = append(out, h.b)
		}
		if len(hs) < chunk {
			return out, 0, nil
		}
		before = int64(hs[len(hs)-1].b.ID)
	}
}

// FailedJobs returns jobs that ended failed (and, with since, were last
// updated since then), newest first, with ids below before (0: from the
// newest), and the cursor of the next page. An index on failed jobs makes
// maxScan moot.
func (s *Store) FailedJobs(before uint64, since time.Time, limit, maxScan int) ([]store.FailedJob, uint64, error) {
	if limit <= 0 {
		limit = 50
	}
	b := int64(math.MaxInt64)
	if before > 0 {
		b = int64(before)
	}
	var sinceTS pgtype.Timestamptz
	if !since.IsZero() {
		sinceTS = pgtype.Timestamptz{Time: since, Valid: true}
	}
	ctx, cancel := s.ctx()
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT j.id, j.data, coalesce(e.source, ''), coalesce(e.delivery_id, ''), coalesce(e.event, '')
		FROM jobs j LEFT JOIN events e ON e.id = j.event_id
		WHERE j.state = 'failed' AND j.id < $1 AND ($2::timestamptz IS NULL OR j.updated >= $2)
		ORDER BY j.id DESC LIMIT $3`, b, sinceTS, limit+1)
	if err != nil {
		return nil, 0, s.clean(err)
	}
	defer rows.Close()
	var out []store.FailedJob
	var next uint64
	for rows.Next() {
		var id int64
		var data []byte
		var f store.FailedJob
		if err := rows.Scan(&id, &data, &f.Source, &f.DeliveryID, &f.Event); err != nil {
			return nil, 0, s.clean(err)
		}
		if len(out) == limit {
			next = uint64(id) + 1
			break
		}
		if f.Job, err = decodeJob(data); err != nil {
			return nil, 0, err
		}
		out = append(out, f)
	}
	return out, next, s.clean(rows.Err())
}
