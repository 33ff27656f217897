package engine

import (
	"cmp"
	"slices"

	"hookd/store"
)

// Marking ahead. A job's running mark is durable before its action starts
// (run.go), and a commit takes an fsync or two: a worker that marked each
// job when it took it would wait for the disk between every two actions.
// So while jobs wait for a worker and every worker is busy, workers mark
// the next ones running ahead, in one commit, and a worker that becomes
// free starts a marked job at once. At most two per worker are marked
// ahead: after a crash those run again as interrupted jobs do, their
// attempt counted (HOOKD_ATTEMPT raised), though they may not have started;
// none runs twice unrecorded. A shutdown gives them back unmarked, queued.
// On a shared store jobs are claimed per free worker instead: no marking
// ahead there.
type armer struct {
	jobs    []*marked // marked running, waiting for a worker, by id
	marking int       // jobs being marked ahead
	idle    int       // workers waiting for a job
}

// aheadPerWorker bounds the jobs marked ahead.
const aheadPerWorker = 2

// takeLocked returns the next job for a worker: a job marked ahead if
// there is one (it is older than the ready ones), else a ready one; and
// the ready jobs to mark ahead meanwhile.
func (d *dispatcher) takeLocked() (m *marked, j *store.Job, ahead []*store.Job) {
	a := &d.arm
	if len(a.jobs) > 0 {
		m = a.jobs[0]
		a.jobs[0] = nil
		a.jobs = a.jobs[1:]
	} else {
		j = d.ready[0]
		d.ready[0] = nil
		d.ready = d.ready[1:]
	}
	return m, j, d.aheadLocked()
}

// aheadLocked takes the ready jobs to mark ahead: those no idle worker
// will take, up to two per worker marked or being marked, once no more
// than one per worker is. The caller
// passes them to markAhead once it has released the lock.
func (d *dispatcher) aheadLocked() []*store.Job {
	a := &d.arm
	w := d.e.cfg.Workers
	// Refilled once half are taken, so that marks share commits.
	if d.shared != nil || d.stopping || len(a.jobs)+a.marking > w {
		return nil
	}
	n := min(len(d.ready)-a.idle, aheadPerWorker*w-len(a.jobs)-a.marking)
	if n <= 0 {
		return nil
	}
	ahead := slices.Clone(d.ready[:n])
	clear(d.ready[:n])
	d.ready = d.ready[n:]
	a.marking += n
	d.workers.Add(n) // under the lock: stop waits for them
	return ahead
}

// markAhead marks jobs running, together, and hands them to the workers.
func (d *dispatcher) markAhead(jobs []*store.Job) {
	for _, j := range jobs {
		go func() {
			defer d.workers.Done()
			m := d.mark(j) // one commit takes the marks sent together
			d.mu.Lock()
			defer d.mu.Unlock()
			d.arm.marking--
			if m == nil {
				return // held, failed or to be tried again: mark did it
			}
			i, _ := slices.BinarySearchFunc(d.arm.jobs, m.j.ID, func(x *marked, id uint64) int { return cmp.Compare(x.j.ID, id) })
			d.arm.jobs = slices.Insert(d.arm.jobs, i, m)
			d.cond.Signal()
		}()
	}
}

// doneSave is how a job's done state is written: at once, unless jobs
// wait for a worker, whose running marks will soon be committed anyway.
func (d *dispatcher) doneSave() store.Save {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.shared == nil && len(d.ready)+len(d.arm.jobs) > 0 {
		return store.Later
	}
	return store.Soon
}

// unarm gives back, queued and without the attempt that never started,
// the jobs marked ahead that no worker took before shutdown. Called once
// the workers and markers are done.
func (d *dispatcher) unarm() {
	d.mu.Lock()
	jobs := d.arm.jobs
	d.arm.jobs = nil
	d.mu.Unlock()
	for _, m := range jobs {
		*m.j = m.prev
		if err := d.e.store.SaveJob(m.j, store.Wait, nil); err != nil {
			m.log.Warn("cannot record a job marked ahead as queued: the next start runs it as interrupted", "error", err)
		}
	}
}
