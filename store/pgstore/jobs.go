package pgstore

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"hookd/store"
)

// supersede keeps at most one waiting job (queued, held by nobody, not
// final) in each latest lane: the one written last (highest seq); the
// others are superseded by it, as the engine's own dispatcher does. The
// caller holds the lanes' supersede locks, so this statement sees every job
// another process wrote to them, and a job written under the lock takes a
// higher seq than any written before: the lane keeps the event accepted
// last, which a sender that waits for each answer sent last. (Event ids
// follow arrival across nodes only to within 50 ms.)
func supersede(ctx context.Context, tx pgx.Tx, lanes []string) error {
	if len(lanes) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	queueSupersede(b, lanes)
	br := tx.SendBatch(ctx, b)
	_, err := readSuperseded(br, lanes)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return err
}

// queueSupersede queues supersedeLane for each of lanes, after turning
// bitmap and sequential scans off for the rest of the transaction
// (nothing in it needs them). With the statistics of a young or
// fast-growing jobs table the planner chose a sequential scan of the
// jobs, or bitmap scans of the lanes; a bitmap scan, unlike an index
// scan, never marks the index entries of the jobs superseded before as
// dead, so every supersede visited them all again until vacuum, and the
// inserts split the index pages they filled: 0.2 ms more a commit,
// measured, and growing.
func queueSupersede(b *pgx.Batch, lanes []string) {
	b.Queue(`SELECT set_config('enable_bitmapscan', 'off', true), set_config('enable_seqscan', 'off', true)`)
	now := time.Now().UTC()
	patch := append([]byte(`{"state":"`+store.Superseded+`","updated":"`), now.Format(time.RFC3339Nano)...)
	patch = append(patch, `"}`...)
	for _, l := range lanes {
		b.Queue(supersedeLane, l, now, string(patch))
	}
}

// readSuperseded reads what queueSupersede queued for lanes: the lanes in
// which a waiting job was superseded.
func readSuperseded(br pgx.BatchResults, lanes []string) (map[string]bool, error) {
	if _, err := br.Exec(); err != nil {
		return nil, err
	}
	replaced := map[string]bool{}
	for _, l := range lanes {
		tag, err := br.Exec()
		if err != nil {
			return nil, err
		}
		if tag.RowsAffected() > 0 {
			replaced[l] = true
		}
	}
	return replaced, nil
}

// supersedeLane supersedes, in one statement, the waiting jobs of the
// latest lane $1 but its newest. A job's data gets the state, time and
// error the engine would have written ($3 holds the first two); its other
// fields stay.
const supersedeLane = `UPDATE jobs j SET state = 'superseded', updated = $2,
	data = (j.data::jsonb || $3::jsonb || jsonb_build_object('error', format('superseded by job %s of event %s', k.id, k.event_id)))::json
FROM (SELECT id, event_id FROM jobs
	WHERE lane = $1 AND lane <> '' AND latest AND open AND state = 'queued' AND holder IS NULL
	ORDER BY seq DESC LIMIT 1) k
WHERE j.lane = $1 AND j.lane <> '' AND j.latest AND j.open AND j.state = 'queued' AND j.holder IS NULL AND j.id <> k.id`

// txn runs fn in a transaction of its own, bounded by the call timeout,
// again after a deadlock with another process.
func (s *Store) txn(fn func(ctx context.Context, tx pgx.Tx) error) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	for try := 0; ; try++ {
		ctx, cancel := s.ctx()
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return fn(ctx, tx) })
		cancel()
		var pe *pgconn.PgError
		if errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001") && try < 3 {
			continue
		}
		return s.clean(err)
	}
}

// lockEvent reads an event and locks it until the transaction ends,
// after the supersede locks of the latest lanes of jobs, the jobs to be
// added to it: a group commit of accepts takes its lanes' locks, then
// locks the row of an event it finds a redelivery of (ON CONFLICT DO
// UPDATE), so in the other order two nodes given the same redelivery
// could each wait for the other until PostgreSQL's deadlock timeout. For
// the same reason the admission lock comes between them, exclusive, as
// addJobs counts the open jobs (queued.go).
func lockEvent(ctx context.Context, tx pgx.Tx, id uint64, jobs []*store.Job) (*store.Event, error) {
	b := &pgx.Batch{}
	queueLocks(b, nsLatest, latestLanes(jobs))
	if len(jobs) > 0 {
		b.Queue(admitExclusive, nsAdmit)
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, err
	}
	var doc, body, answer []byte
	err := tx.QueryRow(ctx, `SELECT doc, body, answer FROM events WHERE id = $1 FOR UPDATE`, int64(id)).Scan(&doc, &body, &answer)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, err
	}
	return decodeEvent(doc, body, answer)
}

// addJobs writes new jobs of ev, which the transaction has locked and
// which already lists them, and ev itself: refused beyond max_queued,
// superseding in latest lanes, and announced to every process.
func (s *Store) addJobs(ctx context.Context, tx pgx.Tx, ev *store.Event, jobs []*store.Job) error {
	rows, err := encodeJobs(jobs)
	if err != nil {
		return err
	}
	e, err := encodeEvent(ev)
	if err != nil {
		return err
	}
	lanes := latestLanes(jobs)
	if err := lockLanes(ctx, tx, lanes); err != nil {
		return err
	}
	if limit := s.maxQueued.Load(); limit > 0 && len(rows) > 0 {
		n, err := s.countOpen(ctx, tx)
		if err != nil {
			return err
		}
		if n+int64(len(rows)) > limit {
			return store.ErrFull
		}
	}
	b := &pgx.Batch{}
	for _, j := range rows {
		b.Queue(insertJob, j.insertArgs(ev.ID)...)
	}
	b.Queue(`UPDATE events SET status = $2, rules = $3, doc = $4 WHERE id = $1`, int64(e.id), e.status, e.rules, e.doc)
	b.Queue(`SELECT pg_notify('` + channel + `', '')`)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	return supersede(ctx, tx, lanes)
}

// latestLanes are the latest lanes of jobs, sorted, each once.
func latestLanes(jobs []*store.Job) []string {
	var lanes []string
	for _, j := range jobs {
		if j.Latest && j.Lane != "" {
			lanes = append(lanes, j.Lane)
		}
	}
	slices.Sort(lanes)
	return slices.Compact(lanes)
}

// AddJobs adds jobs to an existing event (replay), committed before it
// returns; an unknown event gives an error matching store.ErrNotFound.
func (s *Store) AddJobs(eventID uint64, jobs []*store.Job) error {
	return s.txn(func(ctx context.Context, tx pgx.Tx) error {
		ev, err := lockEvent(ctx, tx, eventID, jobs)
		if err != nil {
			return err
		}
		for _, j := range jobs {
			ev.Jobs = append(ev.Jobs, j.ID)
		}
		return s.addJobs(ctx, tx, ev, jobs)
	})
}

// Redeliver adds jobs to an event for a redelivery received at, if all of
// the event's jobs ended failed or cancelled. The event stays locked from
// the check to the commit, so of copies arriving at once, at any process,
// one adds them.
func (s *Store) Redeliver(eventID uint64, jobs []*store.Job, at time.Time) (bool, error) {
	var added bool
	err := s.txn(func(ctx context.Context, tx pgx.Tx) error {
		added = false
		ev, err := lockEvent(ctx, tx, eventID, jobs)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if ok, err := retryable(ctx, tx, ev); err != nil || !ok {
			return err
		}
		r := store.Redelivery{At: at}
		for _, j := range jobs {
			r.Jobs = append(r.Jobs, j.ID)
			ev.Jobs = append(ev.Jobs, j.ID)
		}
		ev.Redeliveries = append(ev.Redeliveries, r)
		added = true
		return s.addJobs(ctx, tx, ev, jobs)
	})
	return added && err == nil, err
}

// retryable reports whether ev has jobs and all of them ended failed or
// cancelled.
func retryable(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, ev *store.Event) (bool, error) {
	if len(ev.Jobs) == 0 {
		return false, nil
	}
	rows, err := q.Query(ctx, `SELECT id, state FROM jobs WHERE event_id = $1`, int64(ev.ID))
	if err != nil {
		return false, err
	}
	states := map[uint64]string{}
	for rows.Next() {
		var id int64
		var st string
		if err := rows.Scan(&id, &st); err != nil {
			return false, err
		}
		states[uint64(id)] = st
	}
	if err := rows.Err(); err != nil {
		return false, err
	}
	for _, id := range ev.Jobs {
		if st := states[id]; st != store.Failed && st != store.Cancelled {
			return false, nil
		}
	}
	return true, nil
}

// Rematch adds jobs for rules an event now matches, in one transaction
// that locks the event: unless force, a rule already rematched is left
// out, so of rematches racing on any processes one queues it.
func (s *Store) Rematch(eventID uint64, jobs []*store.Job, force bool) ([]*store.Job, error) {
	var done []*store.Job
	err := s.txn(func(ctx context.Context, tx pgx.Tx) error {
		done = done[:0]
		ev, err := lockEvent(ctx, tx, eventID, jobs)
		if err != nil {
			return err
		}
		done = ev.AddRematched(jobs, force, done)
		if len(done) == 0 {
			return nil
		}
		ev.Status = "accepted"
		return s.addJobs(ctx, tx, ev, done)
	})
	if err != nil {
		return nil, err
	}
	return done, nil
}
