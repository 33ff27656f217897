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
	// Rejoin gives back the jobs still held and renews the lease.
	Rejoin() error
}

// errLeaseLost is the cause of the attempts' context when the lease ran out.
var errLeaseLost = errors.New("this node's lease on the database ran out")

// leaseGuard stops this node's work when it cannot renew its lease: once
// the lease is over, other nodes run its jobs again, and a serial lane
// would run twice at once. It stops claiming, kills the running actions
// (their attempts record nothing: another node records them as
// interrupted and runs them again), drops the jobs claimed and not
// started, and, once the database answers, gives them all back and claims
// again.
type leaseGuard struct {
	d    *dispatcher
	lh   leaseHolder
	ctx  context.Context // the attempts' context, cancelled when the lease is lost
	stop context.CancelCauseFunc
	quit chan struct{}
	done chan struct{}
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

// dropForLease drops a job this node no longer holds, recording nothing.
func (d *dispatcher) dropForLease(j *store.Job, rule string, started bool) {
	log := d.e.log.With("event_id", j.EventID, "job", j.ID, "rule", j.Rule)
	if started {
		log.Warn("job killed: this node lost its lease; another node records the attempt as interrupted and runs it again")
		d.e.met.jobOutcome(rule, "interrupted")
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
	c.claimMu.Lock() // waits for a claim in flight; none starts after, paused
	d.mu.Lock()
	g.stop(errLeaseLost)
	d.mu.Unlock()
	c.claimMu.Unlock()
	for {
		if d.dropQueued() == 0 {
			return true
		}
		select {
		case <-g.quit:
			return false
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// rejoin gives the jobs back and renews the lease, trying until the
// database answers; false if shutdown came first.
func (g *leaseGuard) rejoin() bool {
	d := g.d
	for {
		err := g.lh.Rejoin()
		if err == nil {
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
