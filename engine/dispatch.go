package engine

import (
	"context"
	"fmt"
	"sync"
	"time"

	"hookd/store"
)

// dispatcher hands jobs to a bounded pool of workers. It keeps in memory
// only the jobs that are not final (bounded by max_queued); their state is
// in the store, so a restart rebuilds it. A job waiting for a retry is a
// timer, not a worker.
//
// On a shared store (store.Shared) the jobs this process writes are not
// pushed to its workers: a claimer takes runnable jobs from the store as
// workers are free (see claim.go), so that any node's free worker runs
// them; but for a job whose output a request here waits for (heldjob.go).
// Lanes, retries and holds then work as here on what it claimed.
type dispatcher struct {
	e    *Engine
	mu   sync.Mutex
	cond *sync.Cond

	ready    []*store.Job
	lanes    map[string]*lane
	timers   map[uint64]*timer
	held     map[uint64]*store.Job
	pending  int // admitted jobs not yet final (shared: claimed): the backpressure count
	stopping bool

	shared *claimer    // nil unless the store is shared
	guard  *leaseGuard // nil unless the shared store has a lease to lose

	runCtx    context.Context // cancelled when shutdown runs out of time
	cancelRun context.CancelFunc
	workers   sync.WaitGroup
}

// timer is a job waiting for its retry, or held, off the ready list.
type timer struct {
	*time.Timer
	j *store.Job
}

// lane serializes the jobs of a serial or latest rule (or of one key).
type lane struct {
	busy    bool // a job of the lane is ready, running or waiting to retry
	waiting []*store.Job
}

func newDispatcher(e *Engine) *dispatcher {
	d := &dispatcher{e: e, lanes: map[string]*lane{}, timers: map[uint64]*timer{}, held: map[uint64]*store.Job{}}
	if sh, ok := e.store.(store.Shared); ok {
		d.shared = newClaimer(d, sh)
	}
	d.cond = sync.NewCond(&d.mu)
	d.runCtx, d.cancelRun = context.WithCancel(context.Background())
	if lh, ok := e.store.(leaseHolder); ok && d.shared != nil {
		d.guard = newLeaseGuard(d, lh)
	}
	return d
}

// start recovers unfinished jobs and starts the workers.
func (d *dispatcher) start() error {
	jobs, err := d.e.store.Claim()
	if err != nil {
		return err
	}
	d.take(jobs)
	if len(jobs) > 0 {
		d.e.log.Info("recovered unfinished jobs", "jobs", len(jobs))
	}
	for i := 0; i < d.e.cfg.Workers; i++ {
		d.workers.Add(1)
		go d.worker()
	}
	if d.shared != nil {
		d.shared.start()
	}
	if d.guard != nil {
		go d.guard.loop()
	}
	return nil
}

// take adds jobs that this process now holds: those a restart found
// unfinished (bbolt), or those claimed from a shared store. Once shutdown
// has begun it takes none and returns them.
func (d *dispatcher) take(jobs []*store.Job) (refused []*store.Job) {
	return d.takeReserved(jobs, 0)
}

// takeReserved is take, freeing in the same step the workers reserved
// for jobs held at intake (held.go).
func (d *dispatcher) takeReserved(jobs []*store.Job, reserved int) (refused []*store.Job) {
	now := time.Now()
	var dropped []superseded
	d.mu.Lock()
	if reserved > 0 {
		d.shared.reserved -= reserved
	}
	if d.stopping {
		d.mu.Unlock()
		return jobs
	}
	for _, j := range jobs {
		d.pending++
		dropped = d.recoverLocked(j, now, dropped)
	}
	d.mu.Unlock()
	d.supersede(dropped)
	return nil
}

// recoverLocked queues a job that this process did not write: one that was
// running when its process stopped (a crash, a restart, a node whose lease
// ran out) runs again (at least once), its interrupted attempt recorded;
// one waiting for a retry keeps its time.
func (d *dispatcher) recoverLocked(j *store.Job, now time.Time, dropped []superseded) []superseded {
	switch j.State {
	case store.Running:
		d.endInterrupted(j, now)
		j.State = store.Queued
		j.Updated = now
		if d.shared == nil {
			d.save(j, store.Later, d.e.log)
		}
		// On a shared store a job saved queued is given back to every
		// node: the ended attempt is written with the next one's running
		// mark instead, while this node holds the job (see run).
		return d.enqueueLocked(j, dropped)
	case store.Retrying:
		if j.Lane != "" {
			l := d.lane(j.Lane)
			if l.busy || len(l.waiting) > 0 {
				// Behind an older job of its lane; it keeps its NextAt,
				// honoured when the lane reaches it.
				return d.enqueueLocked(j, dropped)
			}
			l.busy = true
		}
		d.scheduleLocked(j, time.Until(j.NextAt))
		return dropped
	}
	return d.enqueueLocked(j, dropped)
}

// admit reserves room for n new jobs; false means the queue is full.
func (d *dispatcher) admit(n int) bool {
	if d.shared != nil {
		return d.shared.room(n)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopping || d.pending+n > d.e.Config().MaxQueued {
		return false
	}
	d.pending += n
	return true
}

// full reports whether admit would refuse a single job.
func (d *dispatcher) full() bool {
	if d.shared != nil {
		return !d.shared.room(1)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stopping || d.pending+1 > d.e.Config().MaxQueued
}

func (d *dispatcher) unadmit(n int) {
	if d.shared != nil {
		return // the store counts
	}
	d.mu.Lock()
	d.pending -= n
	d.mu.Unlock()
}

// submit queues durable jobs that admit counted. On a shared store they
// are claimed back instead, by whichever node has a free worker, woken by
// the store when the commit made a job runnable.
func (d *dispatcher) submit(jobs []*store.Job) {
	if d.shared != nil {
		return
	}
	var dropped []superseded
	d.mu.Lock()
	for _, j := range jobs {
		dropped = d.enqueueLocked(j, dropped)
	}
	d.mu.Unlock()
	d.supersede(dropped)
}

// poke wakes the workers after a reload, and sends held jobs to look for
// their rule again.
func (d *dispatcher) poke() {
	d.mu.Lock()
	for id, j := range d.held {
		if t := d.timers[id]; t != nil && t.Stop() {
			delete(d.timers, id)
			delete(d.held, id)
			d.ready = append(d.ready, j)
		}
	}
	d.mu.Unlock()
	d.cond.Broadcast()
}

func (d *dispatcher) lane(key string) *lane {
	l := d.lanes[key]
	if l == nil {
		l = &lane{}
		d.lanes[key] = l
	}
	return l
}

// superseded is a job a latest lane dropped for a newer one.
type superseded struct{ old, by *store.Job }

// enqueueLocked queues j, and appends to dropped the jobs that j's lane
// will no longer run: the caller records them with supersede once it has
// released the lock, which every submit takes.
func (d *dispatcher) enqueueLocked(j *store.Job, dropped []superseded) []superseded {
	if j.Lane == "" {
		d.ready = append(d.ready, j)
		d.cond.Signal()
		return dropped
	}
	l := d.lane(j.Lane)
	if !l.busy && len(l.waiting) == 0 {
		l.busy = true
		d.ready = append(d.ready, j)
		d.cond.Signal()
		return dropped
	}
	if j.Failing {
		// Its on_failure owes an alert: first in line, never superseded.
		l.waiting = append([]*store.Job{j}, l.waiting...)
		return dropped
	}
	if j.Latest {
		// At most one waits: the newest event replaces the waiting one.
		// Two requests racing to submit may arrive out of order, so the
		// newer is the one received later (ids grow), not the later call.
		keep := j
		var waiting []*store.Job
		for _, w := range l.waiting {
			if w.Failing {
				waiting = append(waiting, w)
			} else if w.EventID > keep.EventID {
				keep = w
			}
		}
		for _, old := range append(l.waiting, j) {
			if old != keep && !old.Failing {
				d.pending--
				dropped = append(dropped, superseded{old, keep})
			}
		}
		l.waiting = append(waiting, keep)
		return dropped
	}
	// Arrival order: insert by id, as a restart would order them.
	i := len(l.waiting)
	for i > 0 && l.waiting[i-1].ID > j.ID {
		i--
	}
	l.waiting = append(l.waiting, nil)
	copy(l.waiting[i+1:], l.waiting[i:])
	l.waiting[i] = j
	return dropped
}

// supersede records jobs their lane dropped. They are no longer in the
// dispatcher, so nothing else touches them.
func (d *dispatcher) supersede(dropped []superseded) {
	for _, s := range dropped {
		old := s.old
		old.State = store.Superseded
		old.Error = fmt.Sprintf("superseded by job %d of event %d", s.by.ID, s.by.EventID)
		old.Updated = time.Now().UTC()
		d.save(old, store.Later, d.e.log)
		d.e.log.Info("job superseded", "event_id", old.EventID, "job", old.ID, "rule", old.Rule, "by_job", s.by.ID)
		d.e.met.jobOutcome(old.Rule, "superseded")
	}
}

// scheduleLocked puts j back on the ready list after delay.
func (d *dispatcher) scheduleLocked(j *store.Job, delay time.Duration) {
	if delay < 0 {
		delay = 0
	}
	t := &timer{j: j}
	d.timers[j.ID] = t
	t.Timer = time.AfterFunc(delay, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		delete(d.timers, j.ID)
		delete(d.held, j.ID)
		if d.stopping {
			return
		}
		d.ready = append(d.ready, j)
		d.cond.Signal()
	})
}

// finished is called by a worker when a job's attempt is over. final tells
// whether the job reached a final state; otherwise it retries after delay.
func (d *dispatcher) finished(j *store.Job, final bool, delay time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !final {
		d.scheduleLocked(j, delay)
		return
	}
	d.pending--
	if j.Lane == "" {
		return
	}
	l := d.lane(j.Lane)
	if len(l.waiting) > 0 {
		next := l.waiting[0]
		l.waiting[0] = nil
		l.waiting = l.waiting[1:]
		if next.State == store.Retrying && time.Until(next.NextAt) > 0 {
			// Recovered while waiting for its retry: keep its backoff.
			d.scheduleLocked(next, time.Until(next.NextAt))
			return
		}
		d.ready = append(d.ready, next)
		d.cond.Signal()
		return
	}
	l.busy = false
	delete(d.lanes, j.Lane)
}

func (d *dispatcher) worker() {
	defer d.workers.Done()
	for {
		d.mu.Lock()
		for len(d.ready) == 0 && !d.stopping {
			d.cond.Wait()
		}
		if d.stopping {
			d.mu.Unlock()
			return
		}
		j := d.ready[0]
		d.ready[0] = nil
		d.ready = d.ready[1:]
		if d.shared != nil {
			d.shared.busy++
		}
		d.mu.Unlock()
		d.run(j)
		if d.shared != nil {
			d.mu.Lock()
			d.shared.busy--
			d.mu.Unlock()
			d.shared.kick() // a worker is free: claim
		}
	}
}

// stop lets running jobs finish until ctx is done, then kills them. Jobs
// not started stay queued in the store for the next start; on a shared
// store, they are given back to the other nodes at once.
func (d *dispatcher) stop(ctx context.Context) {
	d.mu.Lock()
	d.stopping = true
	var unstarted []*store.Job
	for id, t := range d.timers {
		if t.Stop() {
			unstarted = append(unstarted, t.j)
		}
		delete(d.timers, id)
	}
	d.mu.Unlock()
	d.cond.Broadcast()
	if d.guard != nil {
		d.guard.end()
	}
	if d.shared != nil {
		d.shared.stop(unstarted)
	}
	done := make(chan struct{})
	go func() { d.workers.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		d.e.log.Warn("shutdown timeout reached: killing running actions")
		d.cancelRun()
		<-done
	}
	d.cancelRun()
	if d.shared != nil {
		d.shared.releaseInterrupted()
	}
}

// queued reports the number of jobs not final (for metrics and tests).
func (d *dispatcher) queued() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.pending
}
