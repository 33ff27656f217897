package engine

import (
	"context"
	"log/slog"
	"time"

	"hookd/rules"
	"hookd/store"
)

// A job whose last attempt failed for good is recorded failing (running,
// store.Job.Failing) before its rule's on_failure runs, and failed once
// on_failure has ended. A process that dies or stops in between leaves
// that record: the job's on_failure runs again (at least once, like any
// action), and its actions do not, nor is its failure's record lost.

// markFailing records a's job failing, waiting until that is durable. It
// returns false when the job is no longer this node's.
func (d *dispatcher) markFailing(a *jobAttempt) bool {
	j := a.j
	if j.Failing { // recovered so: recorded already
		return true
	}
	j.State, j.Failing = store.Running, true
	if err := d.e.store.SaveJob(j, store.Wait, nil); err != nil {
		if notHeld(err) {
			d.lost(j, a.log)
			return false
		}
		// on_failure still runs: its alert matters more than the record.
		a.log.Error("cannot record the job's failure before its on_failure runs", "error", err)
	}
	return true
}

// failureInterrupted keeps a job whose on_failure shutdown or a lost
// lease killed failing, for on_failure to run again: at the next start,
// or on another node once this one gives its lease back or loses it.
func (d *dispatcher) failureInterrupted(a *jobAttempt) {
	j := a.j
	j.OnFailure = nil
	if d.leaseGone(a.ctx) {
		d.dropForLease(j, a.rule.Name, true, nil)
		return
	}
	// Running, and held by this process: no latest lane's newer job
	// supersedes it meanwhile, as it would a queued one.
	j.State = store.Running
	d.save(j, store.Wait, a.log)
	a.log.Warn("on_failure interrupted by shutdown; it runs again at the next start")
	d.e.met.jobOutcome(a.rule.Name, "interrupted")
}

// resumeFailure runs the on_failure of a job recovered failing; its
// actions do not run again.
func (d *dispatcher) resumeFailure(ctx context.Context, j *store.Job, lv *live, rule *rules.Rule, ev *store.Event, now time.Time, log *slog.Logger) {
	prev := *j
	j.State, j.Updated, j.NextAt = store.Running, now, time.Time{}
	if !d.saveRunning(j, prev, log) {
		return
	}
	n := len(j.Attempts)
	log.Info("running on_failure again: its process stopped while it ran", "attempt", n)
	a := &jobAttempt{ctx: ctx, j: j, lv: lv, rule: rule, body: ev.Body, n: n, log: log}
	cleanup := a.prepare(d.e, ev)
	defer cleanup()
	att := &j.Attempts[n-1]
	d.recordFailed(a, att, att.Steps)
}
