package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"hookd/store"
)

// channel is what writes NOTIFY when jobs may have become runnable.
const channel = "hookd_jobs"

// Advisory lock namespaces (the two-key form): a lane's claims, a latest
// lane's supersede, the pruner, the admission of new jobs (queued.go).
const (
	nsClaim  = 0x686f6f6b
	nsLatest = 0x686f6f6c
	nsPrune  = 0x686f6f6d
	nsAdmit  = 0x686f6f6e
)

// maxBatch bounds one group commit.
const maxBatch = 256

type opKind int

const (
	opAccept opKind = iota // an event and its jobs (none: Record)
	opSave                 // a job's progress
	opAnswer               // an event's answer
	opSync                 // nothing: returns when what was queued before is committed
)

// op is one write queued for the committer.
type op struct {
	kind   opKind
	queued time.Time
	ev     *eventRow
	jobs   []*jobRow
	errc   chan error  // nil: nobody waits
	failed func(error) // told a failure nobody waits for
	// results of the last try
	id  uint64 // accept: the event recorded for the delivery
	res error  // store.ErrFull, ErrNotHeld, ErrDuplicate
}

func (o *op) reply(err error) {
	if err == nil {
		err = o.res
	}
	if o.errc != nil {
		o.errc <- err
	} else if err != nil && o.failed != nil {
		o.failed(err)
	}
}

// send queues o for the committer, or reports that the store is closed.
func (s *Store) send(o *op) bool {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed.Load() {
		return false
	}
	o.queued = time.Now()
	if o.kind == opAccept {
		s.intake <- o
	} else {
		s.ops <- o
	}
	return true
}

// wait queues o and waits for its commit.
func (s *Store) wait(o *op) error {
	o.errc = make(chan error, 1)
	if !s.send(o) {
		return store.ErrClosed
	}
	return <-o.errc
}

// intakeCommitters is how many transactions of events may be in flight
// at once (each caller waits for its own commit, so their order does not
// matter). One, measured on 2 cores: three made smaller groups and fewer
// accepts a second. Job progress and answers go through a committer of
// their own, in the order they were made, and never wait behind intake.
const intakeCommitters = 1

// commitLoop commits what comes on ops, in groups: every write queued
// while the previous group was committing goes into the next.
func (s *Store) commitLoop(ops chan *op) {
	defer s.committers.Done()
	batch := make([]*op, 0, maxBatch)
	for first := range ops {
		batch = append(batch[:0], first)
	fill:
		for len(batch) < maxBatch {
			select {
			case o, ok := <-ops:
				if !ok {
					break fill
				}
				batch = append(batch, o)
			default:
				break fill
			}
		}
		start := time.Now()
		s.commit(batch)
		if hook := s.commitHook.Load(); hook != nil {
			(*hook)(time.Since(start), len(batch))
		}
	}
}

// errStale fails writes that waited in the queue longer than a call may
// take (the database was unreachable meanwhile).
var errStale = errors.New("the database did not answer in time")

// commit writes batch in one transaction. A deadlock with another process
// is retried; any other error of the database's makes each write try on
// its own, so that one bad write cannot fail its neighbours.
func (s *Store) commit(batch []*op) {
	live := batch[:0:0]
	for _, o := range batch {
		if time.Since(o.queued) > s.opt.Timeout {
			o.reply(errStale)
			continue
		}
		live = append(live, o)
	}
	if len(live) == 0 {
		return
	}
	ahead := true
	for try := 0; ; try++ {
		err := s.try(live, ahead)
		if errors.Is(err, errKeeperDup) && ahead {
			ahead = false
			try--
			continue
		}
		if err == nil {
			for _, o := range live {
				o.reply(nil)
			}
			return
		}
		var pe *pgconn.PgError
		if errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001") && try < 3 {
			continue
		}
		if pe != nil && len(live) > 1 {
			for _, o := range live {
				s.commit([]*op{o})
			}
			return
		}
		err = s.clean(err)
		for _, o := range live {
			o.reply(err)
		}
		return
	}
}

// try runs one transaction for batch and records each write's result;
// ahead supersedes in advance the batch's own jobs in latest lanes
// (latest.go).
func (s *Store) try(batch []*op, ahead bool) error {
	if allAccepts(batch) {
		if err := s.tryPipelined(batch, ahead); !errors.Is(err, errPlain) {
			return err
		}
	}
	if err := s.tryPlain(batch, ahead, false); !errors.Is(err, errExact) {
		return err
	}
	return s.tryPlain(batch, ahead, true)
}

// errExact says that a batch must be tried again counting the open jobs
// exactly; nothing of it was written.
var errExact = errors.New("count the open jobs exactly")

// tryPlain is try's transaction when the one round trip cannot take the
// batch: exact counts the open jobs (see admit).
func (s *Store) tryPlain(batch []*op, ahead, exact bool) error {
	ctx, cancel := s.ctx()
	defer cancel()
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	for _, o := range batch {
		o.res, o.id = nil, 0
	}
	skip, lanes, err := s.admit(ctx, tx, batch, exact)
	if err != nil {
		return err
	}
	var sup map[*jobRow]*jobRow
	var keep map[string]keeper
	if ahead {
		if sup, keep, err = presupersede(batch, skip); err != nil {
			return err
		}
	}
	if allAccepts(batch) {
		jobs, err := accepts(ctx, tx, batch, skip, sup)
		if err != nil {
			return err
		}
		return s.finish(ctx, tx, keep, lanes, jobs, "")
	}
	b := &pgx.Batch{}
	notify, due := false, time.Time{}
	for i, o := range batch {
		if skip[i] {
			continue
		}
		switch o.kind {
		case opAccept:
			e := o.ev
			b.Queue(`INSERT INTO events (id, source, delivery_id, event, received_at, status, rules, body, answer, doc)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (source, delivery_id) DO NOTHING`,
				int64(e.id), e.source, e.delivery, e.event, e.received, e.status, e.rules, e.body, e.answer, e.doc)
			for _, j := range o.jobs {
				if r, ok := sup[j]; ok {
					j = r
				}
				b.Queue(insertJob, j.insertArgs(e.id)...)
			}
			b.Queue(`SELECT id FROM events WHERE source = $1 AND delivery_id = $2`, e.source, e.delivery)
			notify = notify || len(o.jobs) > 0
		case opSave:
			j := o.jobs[0]
			b.Queue(saveJob, int64(j.id), j.state, j.nextAt, j.updated, j.data, s.id)
			// A job given back or retrying may run anywhere; one that ended
			// frees its lane's next job. Its own worker's node claims
			// anyway, so the end of a job without a lane wakes nobody.
			if (store.Final(j.state) && j.lane != "") || j.state == store.Queued {
				notify = true
				if j.nextAt.Valid && (due.IsZero() || j.nextAt.Time.Before(due)) {
					due = j.nextAt.Time
				}
			}
		case opAnswer:
			b.Queue(`UPDATE events SET answer = $2 WHERE id = $1`, int64(o.ev.id), o.ev.answer)
		}
	}
	if err := s.results(ctx, tx, b, batch, skip); err != nil {
		return err
	}
	return s.finish(ctx, tx, keep, lanes, notify, duePayload(due))
}

// finish supersedes in the latest lanes written, commits, and then, if
// notify, tells every process (notify.go).
func (s *Store) finish(ctx context.Context, tx pgx.Tx, keep map[string]keeper, lanes []string, notify bool, payload string) error {
	if keptDuplicate(keep) {
		return errKeeperDup
	}
	if err := supersede(ctx, tx, lanes); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	if notify {
		s.notify(payload)
	}
	return nil
}

func allAccepts(batch []*op) bool {
	for _, o := range batch {
		if o.kind != opAccept {
			return false
		}
	}
	return true
}

// saveJob writes a job's progress if this process holds it, or nobody
// live does; the writer holds it from then on, but for a queued job,
// which goes back to the pool.
var saveJob = `UPDATE jobs SET state = $2, next_at = $3, updated = $4, data = $5,
		holder = CASE WHEN $2 = 'queued' THEN NULL ELSE $6 END
	WHERE id = $1 AND (holder IS NULL OR holder = $6 OR EXISTS
		(SELECT 1 FROM processes p WHERE p.id = jobs.holder AND ` + leaseOver + `))`

// results reads the batch's answers in the order it was queued.
func (s *Store) results(ctx context.Context, tx pgx.Tx, b *pgx.Batch, batch []*op, skip []bool) error {
	if b.Len() == 0 {
		return nil
	}
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	for i, o := range batch {
		if skip[i] {
			continue
		}
		switch o.kind {
		case opAccept:
			for range len(o.jobs) + 1 {
				if _, err := br.Exec(); err != nil {
					return err
				}
			}
			var id int64
			if err := br.QueryRow().Scan(&id); err != nil {
				return fmt.Errorf("delivery %s/%s: %w", o.ev.source, o.ev.delivery, err)
			}
			o.id = uint64(id)
			if o.id != o.ev.id {
				o.res = store.ErrDuplicate
			}
		case opSave:
			tag, err := br.Exec()
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				o.res = store.ErrNotHeld
			}
		case opAnswer:
			if _, err := br.Exec(); err != nil {
				return err
			}
		}
	}
	return br.Close()
}

// admit takes the locks of the latest lanes the batch writes to, in one
// order, then the admission lock if it adds jobs, and refuses (skip) the
// writes that would take the jobs not final in the whole cluster past
// max_queued, counted in this transaction if exact. Not exact, it returns
// errExact when the bound of queued.go comes near max_queued.
func (s *Store) admit(ctx context.Context, tx pgx.Tx, batch []*op, exact bool) (skip []bool, lanes []string, err error) {
	skip = make([]bool, len(batch))
	lanes, adding := plan(batch)
	limit := s.maxQueued.Load()
	switch {
	case adding == 0:
		return skip, lanes, lockLanes(ctx, tx, lanes)
	case limit <= 0:
		_, err := lockLanesSeq(ctx, tx, lanes)
		return skip, lanes, err
	case !exact:
		seq, err := lockLanesSeq(ctx, tx, lanes)
		if err != nil {
			return nil, nil, err
		}
		if n, ok := s.open.bound(seq); ok && n+int64(adding) <= limit {
			return skip, lanes, nil
		}
		// Holding the admission lock shared, the transaction cannot
		// take it exclusive: another doing the same would deadlock.
		return nil, nil, errExact
	}
	if err := lockLanes(ctx, tx, lanes); err != nil {
		return nil, nil, err
	}
	n, err := s.countOpen(ctx, tx)
	if err != nil {
		return nil, nil, err
	}
	for i, o := range batch {
		if o.kind != opAccept || len(o.jobs) == 0 {
			continue
		}
		if n+int64(len(o.jobs)) > limit {
			skip[i] = true
			o.res = store.ErrFull
			continue
		}
		n += int64(len(o.jobs))
	}
	return skip, lanes, nil
}

// lockLanes takes the supersede locks of latest lanes, sorted, until the
// transaction ends: two processes writing to one latest lane see each
// other's job.
func lockLanes(ctx context.Context, tx pgx.Tx, lanes []string) error {
	if len(lanes) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	queueLocks(b, nsLatest, lanes)
	return tx.SendBatch(ctx, b).Close()
}

// queueLocks queues the transaction-scoped advisory locks of lanes in
// namespace ns, in the order given (callers sort them: no deadlock).
func queueLocks(b *pgx.Batch, ns int, lanes []string) {
	for _, l := range lanes {
		b.Queue(`SELECT pg_advisory_xact_lock($1, hashtext($2))`, ns, l)
	}
}

// duePayload tells listeners when a released job comes due (unix ms).
func duePayload(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return fmt.Sprint(t.UnixMilli())
}

// begin starts a transaction, on another connection if the first was
// ended by the server while idle in the pool (a restart, a pooler's or an
// administrator's termination): the pool pings only connections idle for
// over a second, and nothing was written on the one that failed. Only a
// fast failure is tried again, so that the call stays bounded.
func (s *Store) begin(ctx context.Context) (pgx.Tx, error) {
	start := time.Now()
	tx, err := s.pool.Begin(ctx)
	for try := 0; err != nil && ctx.Err() == nil && s.retry(start, try); try++ {
		tx, err = s.pool.Begin(ctx)
	}
	return tx, err
}

// retry tells whether a call that failed try+1 times since start may try
// another connection: each failure destroys the connection it used, so at
// most one more than the pool holds, and only while failures are fast.
func (s *Store) retry(start time.Time, try int) bool {
	return try < int(s.pool.Config().MaxConns) && time.Since(start) < time.Second
}
