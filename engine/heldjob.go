package engine

import "hookd/store"

// On a shared store, a job whose first action's output a request waits for
// (respond.wait) runs on the node that holds the request: no other node's
// output can reach it. The node writes that job held (store.Job.Hold) when
// it has a worker free for it, which it keeps for the job, and runs it as
// soon as the store settles it (TakeHeld): at once, or, when the job's lane
// is busy, it gives the job back to wait its turn there like any other (a
// node of the cluster runs it then, and the sender most likely gets the
// fallback). A node that dies before running it leaves it to the others
// once its lease runs out. With no worker free, the job is written as any
// other, for whichever node is free.

// holdFor marks the job a pending answer waits for as held, keeping a free
// worker for it, and returns it; nil when nothing waits, the store is not
// shared (every job is this node's anyway) or no worker is free. The
// caller then calls runHeld once the job is written, or unhold.
func (d *dispatcher) holdFor(pa *pendingAnswer) *store.Job {
	c := d.shared
	if c == nil || pa == nil || pa.job == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopping || d.e.cfg.Workers-c.busy-len(d.ready)-c.reserved <= 0 {
		return nil
	}
	c.reserved++
	pa.job.Hold = true
	return pa.job
}

// unhold frees the worker kept for j (nil: none) when its event was not
// written.
func (d *dispatcher) unhold(j *store.Job) {
	if j == nil {
		return
	}
	d.mu.Lock()
	d.shared.reserved--
	d.mu.Unlock()
	j.Hold = false
}

// runHeld settles j (nil: none), written held, and runs it on the worker
// kept for it if the store says this node runs it now. If the store cannot
// be reached, the claimer settles it later (the job stays this node's
// meanwhile, and the others' until its lease runs out if this node dies).
func (d *dispatcher) runHeld(j *store.Job) {
	if j == nil {
		return
	}
	c := d.shared
	if c.paused.Load() { // the lease ran out: given back with the others
		d.unhold(j)
		return
	}
	run, err := c.st.TakeHeld([]*store.Job{j})
	if err != nil {
		d.mu.Lock()
		c.reserved--
		c.unsettled = append(c.unsettled, j)
		d.mu.Unlock()
		d.e.log.Warn("cannot settle a job held for its request; trying again", "event_id", j.EventID, "job", j.ID, "error", err)
		c.kick()
		return
	}
	if refused := d.takeReserved(run, 1); len(refused) > 0 {
		c.release(refused) // shutdown began meanwhile
	}
	if len(run) == 0 {
		c.kick() // given back to its lane; the worker kept is free
	}
}

// settle settles the jobs held at intake that runHeld could not.
func (c *claimer) settle() error {
	d := c.d
	d.mu.Lock()
	jobs := c.unsettled
	c.unsettled = nil
	d.mu.Unlock()
	if len(jobs) == 0 {
		return nil
	}
	run, err := c.st.TakeHeld(jobs)
	if err != nil {
		d.mu.Lock()
		c.unsettled = append(jobs, c.unsettled...)
		d.mu.Unlock()
		return err
	}
	if refused := d.take(run); len(refused) > 0 {
		c.release(refused)
	}
	return nil
}
