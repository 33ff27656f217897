package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"hookd/store"
	"hookd/store/pgstore"
)

// claimInterval is how often a claimer looks for runnable jobs when nothing
// woke it: the store's Wake is best effort (a notification lost while the
// database restarted), and a retry comes due without one.
const claimInterval = time.Second

// claimer feeds a dispatcher from a shared store: it claims as many
// runnable jobs as there are free workers, when the store says jobs may
// have become runnable (Wake), when this node wrote jobs or a worker became
// free (kick), and every claimInterval. While the store cannot be reached,
// claims fail and it backs off: workers pause, and resume when it answers.
type claimer struct {
	d     *dispatcher
	st    store.Shared
	nudge chan struct{}
	quit  chan struct{}
	done  chan struct{}

	paused  atomic.Bool // the lease was lost: claim nothing (leaseguard.go)
	claimMu sync.Mutex  // held while a claim is in flight

	// Guarded by d.mu.
	busy        int          // workers running a job
	reserved    int          // workers kept for jobs held at intake (held.go)
	unsettled   []*store.Job // jobs held at intake that TakeHeld failed to settle
	interrupted []*store.Job // jobs shutdown killed, given back at the end
}

func newClaimer(d *dispatcher, st store.Shared) *claimer {
	return &claimer{d: d, st: st, nudge: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
}

func (c *claimer) start() {
	c.st.SetMaxQueued(c.d.e.Config().MaxQueued)
	go c.loop()
	c.kick()
}

// kick wakes the claimer without waiting.
func (c *claimer) kick() {
	select {
	case c.nudge <- struct{}{}:
	default:
	}
}

// room tells whether the cluster takes n more jobs, as last counted: the
// store refuses with ErrFull what this lets through beyond max_queued.
func (c *claimer) room(n int) bool {
	c.d.mu.Lock()
	stopping := c.d.stopping
	c.d.mu.Unlock()
	return !stopping && c.st.Queued()+n <= c.d.e.Config().MaxQueued
}

// free is the number of jobs the workers can start now.
func (c *claimer) free() int {
	d := c.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopping || c.paused.Load() {
		return 0
	}
	return d.e.cfg.Workers - c.busy - len(d.ready) - c.reserved
}

func (c *claimer) loop() {
	defer close(c.done)
	tick := time.NewTicker(claimInterval)
	defer tick.Stop()
	wake := c.st.Wake()
	log := c.d.e.log
	fails := 0
	var since time.Time
	for {
		select {
		case <-c.quit:
			return
		case <-c.nudge:
		case <-wake:
		case <-tick.C:
		}
		c.claimMu.Lock()
		var err error
		if !c.paused.Load() { // the lease ran out: leaseguard.go says so, and resumes
			err = c.claim()
		}
		c.claimMu.Unlock()
		if c.paused.Load() || errors.Is(err, pgstore.ErrLeaseLost) {
			continue
		}
		if err == nil {
			if fails > 0 {
				log.Info("claiming jobs again: workers resume", "after", time.Since(since).Round(time.Millisecond).String())
			}
			fails = 0
			continue
		}
		if fails == 0 {
			since = time.Now()
		}
		if fails%60 == 0 { // once, then about every minute
			log.Error("cannot claim jobs: workers pause until the store answers", "error", err)
		}
		fails++
		t := time.NewTimer(min(50*time.Millisecond<<min(fails, 5), time.Second))
		select {
		case <-c.quit:
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// claim takes runnable jobs until the workers are all busy or none is left,
// after settling the jobs held at intake that could not be.
func (c *claimer) claim() error {
	if err := c.settle(); err != nil {
		return err
	}
	for {
		n := c.free()
		if n <= 0 {
			return nil
		}
		jobs, err := c.st.ClaimRunnable(n, c.d.e.live.Load().ruleNames)
		if err != nil {
			return err
		}
		if refused := c.d.take(jobs); len(refused) > 0 {
			c.release(refused) // shutdown began meanwhile
			return nil
		}
		if len(jobs) < n {
			return nil
		}
	}
}

// stop ends claiming, then gives back the jobs claimed and not started,
// so that other nodes run them at once rather than after the lease.
func (c *claimer) stop(unstarted []*store.Job) {
	close(c.quit)
	<-c.done
	d := c.d
	d.mu.Lock()
	unstarted = append(unstarted, d.ready...)
	unstarted = append(unstarted, c.unsettled...)
	d.ready, c.unsettled = nil, nil
	for _, l := range d.lanes {
		unstarted = append(unstarted, l.waiting...)
		l.waiting = nil
	}
	d.mu.Unlock()
	c.release(unstarted)
}

// releaseInterrupted gives back the jobs shutdown killed (stored queued).
func (c *claimer) releaseInterrupted() {
	c.d.mu.Lock()
	jobs := c.interrupted
	c.interrupted = nil
	c.d.mu.Unlock()
	c.release(jobs)
}

func (c *claimer) release(jobs []*store.Job) {
	if len(jobs) == 0 {
		return
	}
	if err := c.st.Release(jobs); err != nil {
		c.d.e.log.Warn("cannot give back the jobs not started; other nodes run them when this node's lease runs out",
			"jobs", len(jobs), "error", err)
		return
	}
	c.d.e.log.Info("gave back the jobs not started to the other nodes", "jobs", len(jobs))
}

// lost drops a job whose lease this node lost: another node claimed it and
// records it from now on.
func (d *dispatcher) lost(j *store.Job, log *slog.Logger) {
	log.Warn(fmt.Sprintf("lease lost; another node runs job %d", j.ID))
	d.finished(j, true, 0)
}

// notHeld tells a job's progress refused because this node no longer
// holds the job.
func notHeld(err error) bool { return errors.Is(err, store.ErrNotHeld) }

// endInterrupted ends the attempt of a running job that its process left
// without an end (it died, or lost its lease). On a shared store the
// holder was last known alive at its last lease renewal: the attempt ends
// there, not at this takeover a lease later, and the takeover is logged.
func (d *dispatcher) endInterrupted(j *store.Job, now time.Time) {
	n := len(j.Attempts)
	if n == 0 || !j.Attempts[n-1].End.IsZero() {
		return
	}
	a := &j.Attempts[n-1]
	a.End = now
	if r := j.HolderRenewed; !r.IsZero() && r.Before(now) {
		a.End = r
		if a.End.Before(a.Start) {
			a.End = a.Start
		}
	}
	a.Error = store.Interrupted
	if d.shared != nil {
		a.Error = "interrupted: its node stopped, or lost its lease on the database, while this attempt ran"
		d.e.log.Info("job taken over: its attempt was interrupted on another process", "job", j.ID,
			"rule", j.Rule, "attempt", a.N, "from_node", a.Node)
	}
}
