package engine

import (
	"context"
	"sync"
	"time"

	"hookd/store"
)

// dispatcher hands jobs to a bounded pool of workers. It keeps in memory
// only the jobs that are not final (bounded by max_queued); their state is
// in the store, so a restart rebuilds it. A job waiting for a retry is a
// timer, not a worker.
type dispatcher struct {
	e    *Engine
	mu   sync.Mutex
	cond *sync.Cond

	ready    []*store.Job
	lanes    map[string]*lane
	timers   map[uint64]*time.Timer
	pending  int // admitted jobs not yet final: the backpressure count
	stopping bool

	runCtx    context.Context // cancelled when shutdown runs out of time
	cancelRun context.CancelFunc
	workers   sync.WaitGroup
}

// lane serializes the jobs of a serial or latest rule (or of one key).
type lane struct {
	busy    bool // a job of the lane is ready, running or waiting to retry
	waiting []*store.Job
}

func newDispatcher(e *Engine) *dispatcher {
	d := &dispatcher{e: e, lanes: map[string]*lane{}, timers: map[uint64]*time.Timer{}}
	d.cond = sync.NewCond(&d.mu)
	d.runCtx, d.cancelRun = context.WithCancel(context.Background())
	return d
}

// start recovers unfinished jobs and starts the workers.
func (d *dispatcher) start() error {
	jobs, err := d.e.store.OpenJobs()
	if err != nil {
		return err
	}
	now := time.Now()
	d.mu.Lock()
	for _, j := range jobs {
		d.pending++
		switch j.State {
		case store.Running:
			// It was running when hookd stopped: run it again (at least
			// once), its interrupted attempt already counted.
			if n := len(j.Attempts); n > 0 && j.Attempts[n-1].End.IsZero() {
				j.Attempts[n-1].End = now
				j.Attempts[n-1].Error = "interrupted: hookd stopped while this attempt ran"
			}
			j.State = store.Queued
			j.Updated = now
			_ = d.e.store.SaveJob(j, false)
			d.enqueueLocked(j)
		case store.Retrying:
			if j.Lane != "" {
				l := d.lane(j.Lane)
				if l.busy {
					l.waiting = append(l.waiting, j)
					continue
				}
				l.busy = true
			}
			d.scheduleLocked(j, time.Until(j.NextAt))
		default:
			d.enqueueLocked(j)
		}
	}
	d.mu.Unlock()
	if len(jobs) > 0 {
		d.e.log.Info("recovered unfinished jobs", "jobs", len(jobs))
	}
	for i := 0; i < d.e.cfg.Workers; i++ {
		d.workers.Add(1)
		go d.worker()
	}
	return nil
}

// admit reserves room for n new jobs; false means the queue is full.
func (d *dispatcher) admit(n int) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopping || d.pending+n > d.e.cfg.MaxQueued {
		return false
	}
	d.pending += n
	return true
}

func (d *dispatcher) unadmit(n int) {
	d.mu.Lock()
	d.pending -= n
	d.mu.Unlock()
}

// submit queues durable jobs that admit counted.
func (d *dispatcher) submit(jobs []*store.Job) {
	d.mu.Lock()
	for _, j := range jobs {
		d.enqueueLocked(j)
	}
	d.mu.Unlock()
}

// poke wakes the workers (after a reload).
func (d *dispatcher) poke() { d.cond.Broadcast() }

func (d *dispatcher) lane(key string) *lane {
	l := d.lanes[key]
	if l == nil {
		l = &lane{}
		d.lanes[key] = l
	}
	return l
}

func (d *dispatcher) enqueueLocked(j *store.Job) {
	if j.Lane == "" {
		d.ready = append(d.ready, j)
		d.cond.Signal()
		return
	}
	l := d.lane(j.Lane)
	if !l.busy && len(l.waiting) == 0 {
		l.busy = true
		d.ready = append(d.ready, j)
		d.cond.Signal()
		return
	}
	if j.Latest {
		// At most one waits: the newest event replaces the waiting one.
		for _, old := range l.waiting {
			old.State = store.Superseded
			old.Error = "superseded by a newer event"
			old.Updated = time.Now().UTC()
			_ = d.e.store.SaveJob(old, false)
			d.pending--
			d.e.log.Info("job superseded", "job", old.ID, "rule", old.Rule, "by_job", j.ID)
			d.e.met.jobOutcome(old.Rule, "superseded")
		}
		l.waiting = append(l.waiting[:0], j)
		return
	}
	l.waiting = append(l.waiting, j)
}

// scheduleLocked puts j back on the ready list after delay.
func (d *dispatcher) scheduleLocked(j *store.Job, delay time.Duration) {
	if delay < 0 {
		delay = 0
	}
	d.timers[j.ID] = time.AfterFunc(delay, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		delete(d.timers, j.ID)
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
		l.waiting = l.waiting[1:]
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
		d.mu.Unlock()
		d.run(j)
	}
}

// stop lets running jobs finish until ctx is done, then kills them. Jobs
// not started stay queued in the store for the next start.
func (d *dispatcher) stop(ctx context.Context) {
	d.mu.Lock()
	d.stopping = true
	for id, t := range d.timers {
		t.Stop()
		delete(d.timers, id)
	}
	d.mu.Unlock()
	d.cond.Broadcast()
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
}

// queued reports the number of jobs not final (for metrics and tests).
func (d *dispatcher) queued() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.pending
}
