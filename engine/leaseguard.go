package engine

import (
	"context"
	"errors"
	"time"

	"hookd/store"
)

// leaseHolder is a shared store whose hold on this node's jobs (its lease)
// can run out while the node still runs them (store/pgstore).
type leaseHolder interface {
	// LeaseLost is closed when the lease is nearly over, not renewed.
	LeaseLost() <-chan struct{}
	// Rejoin writes the jobs in ended if the node still holds them, gives
	// back the rest it holds and renews the lease.
	Rejoin(ended []*store.Job) error
}

// errLeaseLost is the cause of the attempts' context when the lease ran out.
var errLeaseLost = errors.New("this node's lease on the database ran out")

// leaseGuard stops this node's work when it cannot renew its lease: once
// the lease is over, other nodes run its jobs again, and a serial lane
// would run twice at once. It stops claiming, kills the running actions,
// drops the jobs claimed and not started, and, once the database answers,
// gives them all back and claims again. A killed attempt is recorded as
// interrupted, ending when it was killed, by this node when it rejoins if
// it still holds the job; otherwise the node that took the job over
// records it, ending at this node's last renewal.
type leaseGuard struct {
	d    *dispatcher
	lh   leaseHolder
	ctx  context.Context // the attempts' context, cancelled when the lease is lost
	stop context.CancelCauseFunc
	// killed are the jobs whose action was killed, their attempt ended,
	// to be written when the node rejoins (d.mu).
	killed []*store.Job
	quit   chan struct{}
	done   chan struct{}
}

func newLeaseGuard(d *dispatcher, lh leaseHolder) *leaseGuard {
	g := &leaseGuard{d: d, lh: lh, quit: make(chan struct{}), done: make(chan struct{})}
	g.ctx, g.stop = context.WithCancelCause(d.runCtx)
	return g
}

// attemptCtx is the context an attempt runs under: cancelled by shutdown
// running out of time, or by the lease running out.
func (d *dispatcher) attemptCtx() context.Context {
	if d.guard == nil {
		return d.runCtx
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.guard.ctx
}

// leaseGone tells whether an attempt under ctx was stopped because the
// lease ran out (not by shutdown).
func (d *dispatcher) leaseGone(ctx context.Context) bool {
	return d.runCtx.Err() == nil && errors.Is(context.Cause(ctx), errLeaseLost)
}

// errKilledForLease is a killed attempt's error.
const errKilledForLease = "interrupted: this node lost its lease on the database and killed the action"

// dropForLease drops a job this node may no longer hold. A started one
// (steps: what its attempt did) has its attempt ended now, to be written
// when the node rejoins, unless another node took it over by then.
func (d *dispatcher) dropForLease(j *store.Job, rule string, started bool, steps []store.Step) {
	log := d.e.log.With("event_id", j.EventID, "job", j.ID, "rule", j.Rule)
	if started {
		log.Warn("job killed: this node lost its lease; the attempt is recorded as interrupted and the job runs again, here or on another node")
		d.e.met.jobOutcome(rule, "interrupted")
		if n := len(j.Attempts); n > 0 {
			c := *j
			c.Attempts = append([]store.Attempt(nil), j.Attempts...)
			now := time.Now().UTC()
			if !c.Failing { // a failing job's attempt ended; its on_failure was killed
				a := &c.Attempts[n-1]
				a.End, a.Error, a.Steps = now, errKilledForLease, steps
				c.Error = ""
			}
			// Due at once, as a retry: a queued job of a latest lane would
			// be superseded by the next push, where a job taken over from
			// a dead node runs again.
			c.State, c.NextAt, c.Updated = store.Retrying, now, now
			d.mu.Lock()
			if d.guard != nil {
				d.guard.killed = append(d.guard.killed, &c)
			}
			d.mu.Unlock()
		}
	}
	d.finished(j, true, 0)
}

func (g *leaseGuard) loop() {
	defer close(g.done)
	for {
		select {
		case <-g.quit:
			return
		case <-g.lh.LeaseLost():
		}
		if !g.lost() || !g.rejoin() {
			return
		}
	}
}

// lost stops the node's work; false if shutdown came first.
func (g *leaseGuard) lost() bool {
	d, c := g.d, g.d.shared
	d.e.log.Error("this node cannot renew its lease on the database: it stops claiming jobs and kills the actions it runs; "+
		"other nodes run them again once the lease is over", "lease", d.e.cfg.Store.Lease.String())
	c.paused.Store(true)
	// Kill at once: a claim in flight on a hung connection may take its
	// whole call timeout, and another node may take the jobs a third of a
	// lease after this. What that claim returns starts under the cancelled
	// context, so it is killed as it starts.
	d.mu.Lock()
	g.stop(errLeaseLost)
	d.mu.Unlock()
	c.claimMu.Lock() // waits for a claim in flight; none starts after, paused
	left := d.dropQueued()
	c.claimMu.Unlock()
	for ; left != 0; left = d.dropQueued() {
		select {
		case <-g.quit:
			return false
		case <-time.After(20 * time.Millisecond):
		}
	}
	return true
}

// rejoin gives the jobs back and renews the lease, trying until the
// database answers; false if shutdown came first.
func (g *leaseGuard) rejoin() bool {
	d := g.d
	for {
		d.mu.Lock()
		killed := g.killed
		d.mu.Unlock()
		err := g.lh.Rejoin(killed)
		if err == nil {
			d.mu.Lock()
			g.killed = g.killed[len(killed):]
			d.mu.Unlock()
			break
		}
		select {
		case <-g.quit:
			return false
		case <-time.After(time.Second):
		}
	}
	d.mu.Lock()
	g.ctx, g.stop = context.WithCancelCause(d.runCtx)
	d.mu.Unlock()
	d.shared.paused.Store(false)
	d.shared.kick()
	d.e.log.Info("this node renewed its lease: it gave back the jobs it held and claims jobs again")
	return true
}

// dropQueued drops the jobs claimed and not running (ready, waiting in a
// lane, waiting for a retry or held, written held for a request and not
// settled) and returns how many workers still run a job.
func (d *dispatcher) dropQueued() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.shared.unsettled = nil // never taken: not pending
	n := len(d.ready)
	d.ready = nil
	for _, l := range d.lanes {
		n += len(l.waiting)
		l.waiting = nil
	}
	for id, t := range d.timers {
		if t.Stop() {
			n++
		}
		delete(d.timers, id)
	}
	clear(d.held)
	d.pending -= n
	return d.shared.busy
}

func (g *leaseGuard) end() {
	close(g.quit)
	<-g.done
}
