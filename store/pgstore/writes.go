package pgstore

import (
	"errors"

	"github.com/jackc/pgx/v5/pgtype"

	"hookd/store"
)

// Accept records an event and its jobs in one transaction, shared with
// the calls made meanwhile, and returns once it is committed. A delivery
// already recorded (by any process) writes nothing: the earlier event's id
// comes back with store.ErrDuplicate. Beyond max_queued it returns
// store.ErrFull.
func (s *Store) Accept(ev *store.Event, jobs []*store.Job) (uint64, error) {
	return s.record(ev, jobs)
}

// Record records an event that matched nothing, de-duplicated as Accept
// is; it returns once committed, so what it returned is readable at once.
func (s *Store) Record(ev *store.Event) (uint64, error) { return s.record(ev, nil) }

func (s *Store) record(ev *store.Event, jobs []*store.Job) (uint64, error) {
	e, err := encodeEvent(ev)
	if err != nil {
		return 0, err
	}
	rows, err := encodeJobs(jobs)
	if err != nil {
		return 0, err
	}
	for _, r := range rows {
		if r.job.Hold {
			r.holder = pgtype.Text{String: s.id, Valid: true}
		}
	}
	o := &op{kind: opAccept, ev: e, jobs: rows}
	if err := s.wait(o); err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return o.id, err
		}
		return 0, err
	}
	return ev.ID, nil
}

// SaveJob writes a job's progress if this process holds it, or no live
// process does (then this one holds it from now on); otherwise it returns
// store.ErrNotHeld. A queued job is given back (claimable again at its
// NextAt); a final or retrying job stays with its holder. Wait waits for
// the commit; Soon and Later do not, and report a failure to failed.
func (s *Store) SaveJob(j *store.Job, how store.Save, failed func(error)) error {
	r, err := encodeJob(j)
	if err != nil {
		return err
	}
	o := &op{kind: opSave, jobs: []*jobRow{r}, failed: failed}
	if how == store.Wait || how == store.Started {
		return s.wait(o)
	}
	if !s.send(o) && failed != nil {
		failed(store.ErrClosed)
	}
	return nil
}

// SetAnswer records an event's answer without waiting; an unknown event
// is left alone.
func (s *Store) SetAnswer(eventID uint64, a *store.Answer, failed func(error)) {
	ev, err := encodeEvent(&store.Event{ID: eventID, Answer: a})
	if err != nil {
		if failed != nil {
			failed(err)
		}
		return
	}
	if !s.send(&op{kind: opAnswer, ev: ev, failed: failed}) && failed != nil {
		failed(store.ErrClosed)
	}
}

// Sync returns once every write queued before it is committed.
func (s *Store) Sync() error { return s.wait(&op{kind: opSync}) }
