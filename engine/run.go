package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"
	"unicode/utf8"

	"hookd/actions"
	"hookd/rules"
	"hookd/store"
)

// run performs one attempt of a job and records it.
func (d *dispatcher) run(j *store.Job) {
	e := d.e
	lv := e.live.Load()
	log := e.log.With("event_id", j.EventID, "job", j.ID, "rule", j.Rule)
	now := time.Now().UTC()
	ctx := d.attemptCtx()
	rule, ev, ok := d.runnable(ctx, j, lv, now, log)
	if !ok {
		return
	}
	if j.Failing && len(j.Attempts) > 0 {
		d.resumeFailure(ctx, j, lv, rule, ev, now, log)
		return
	}
	n := d.markRunning(j, now, log)
	if n == 0 {
		return
	}
	e.met.attempt(rule.Name)

	a := &jobAttempt{ctx: ctx, j: j, lv: lv, rule: rule, body: ev.Body, n: n, log: log}
	cleanup := a.prepare(e, ev)
	defer cleanup() // after on_failure, which may read it too
	first := e.waits.firstOutput(j, n, lv)
	call := &rules.Call{Env: a.env, Vars: a.vars, BaseEnv: lv.baseEnv, UserAgent: e.ua, KeepStdout: first != nil, BodyFile: a.bodyFile}
	steps, retryAfter, runErr := lv.runActions(ctx, rule, rule.Actions, call, ev.Body, log.With("attempt", n), e.met, first)
	if runErr != nil && d.leaseGone(ctx) {
		d.dropForLease(j, rule.Name, true, steps)
		return
	}
	d.record(a, steps, retryAfter, runErr)
}

// jobAttempt is one attempt of a job under way: what its outcome, and
// on_failure, are recorded and rendered from.
type jobAttempt struct {
	// ctx ends when shutdown or a lost lease kills the attempt.
	ctx  context.Context
	j    *store.Job
	lv   *live
	rule *rules.Rule
	body []byte
	env  *rules.Env
	vars []string
	// bodyFile is HOOKD_BODY_FILE's file, the actions' stdin.
	bodyFile string
	n        int
	log      *slog.Logger
}

// prepare sets the attempt's environment and writes its body file, which
// the returned cleanup removes.
func (a *jobAttempt) prepare(e *Engine, ev *store.Event) (cleanup func()) {
	a.env = eventEnv(ev)
	bodyFile, cleanup := writeBodyFile(e.bodyDir, ev.Body, a.rule, a.log)
	a.vars, a.bodyFile = hookdVars(ev.ID, a.env, a.rule, a.n, bodyFile), bodyFile
	return cleanup
}

// runnable finds the job's rule and event. When the job cannot run now it
// is dropped, held, failed or put off, and ok is false.
func (d *dispatcher) runnable(ctx context.Context, j *store.Job, lv *live, now time.Time, log *slog.Logger) (*rules.Rule, *store.Event, bool) {
	e := d.e
	if d.leaseGone(ctx) { // claimed just before the lease ran out
		d.dropForLease(j, j.Rule, false, nil)
		return nil, nil, false
	}
	rule := lv.set.Rules[j.Rule]
	if rule == nil {
		since, ok := lv.gone[j.Rule]
		if !ok { // not in any configuration of this process
			since = e.began
		}
		d.hold(j, lv.cfg.RuleGrace, since, log)
		return nil, nil, false
	}
	ev, err := e.recent.get(j.EventID), error(nil)
	if ev == nil {
		ev, err = e.store.Event(j.EventID)
	}
	if err != nil && d.shared != nil && !errors.Is(err, store.ErrNotFound) {
		// A shared store that cannot be reached now will be again: the job
		// stays this node's and is read again, as a failed running mark is.
		log.Warn("cannot read the job's event; trying again later", "error", err)
		d.finished(j, false, 5*time.Second)
		return nil, nil, false
	}
	if err != nil {
		j.State, j.Error, j.Updated = store.Failed, "cannot read the event: "+err.Error(), now
		d.save(j, store.Later, log)
		log.Error("job failed: cannot read its event", "error", err)
		e.met.jobOutcome(j.Rule, "failed")
		d.finished(j, true, 0)
		return nil, nil, false
	}
	return rule, ev, true
}

// markRunning counts a new attempt and records the job as running. It
// returns the attempt's number, or 0 when the mark was not recorded (the
// job is then restored, and lost or put off).
func (d *dispatcher) markRunning(j *store.Job, now time.Time, log *slog.Logger) int {
	n := len(j.Attempts) + 1
	prev := *j
	j.State, j.Updated, j.NextAt, j.Error = store.Running, now, time.Time{}, ""
	began := store.Attempt{N: n, Start: now}
	if d.shared != nil {
		began.Node = d.shared.st.Node() // which node of the cluster ran it
	}
	j.Attempts = append(j.Attempts, began)
	if !d.saveRunning(j, prev, log) {
		return 0
	}
	return n
}

// saveRunning records j running, prev being what it was before. When the
// mark is not recorded, j is restored, and lost or put off, and
// saveRunning returns false.
func (d *dispatcher) saveRunning(j *store.Job, prev store.Job, log *slog.Logger) bool {
	// The running mark outlives a crash of this process before anything
	// runs: after a crash, a job that may have had effects is known to have
	// run (its attempt counted), so "ran twice" only ever happens to a job
	// recorded as running. bbolt's start log gives that without waiting for
	// an fsync; a shared store waits for its commit.
	failed := func(err error) {
		if !notHeld(err) {
			log.Error("cannot record the job as running", "error", err)
		}
	}
	if err := d.e.store.SaveJob(j, store.Started, failed); err != nil {
		*j = prev
		if notHeld(err) {
			d.lost(j, log)
			return false
		}
		log.Error("cannot record the job as running; trying again later", "error", err)
		d.finished(j, false, 5*time.Second)
		return false
	}
	return true
}

// record ends the attempt's entry and records what comes of it: done,
// interrupted, retrying or failed.
func (d *dispatcher) record(a *jobAttempt, steps []store.Step, retryAfter time.Duration, runErr error) {
	e, j, rule, n, log := d.e, a.j, a.rule, a.n, a.log
	att := &j.Attempts[len(j.Attempts)-1]
	att.Steps, att.End = steps, time.Now().UTC()
	j.Updated = att.End
	if runErr == nil {
		j.State = store.Done
		// Rides with the next commit (within the store's async delay, 25
		// ms for bbolt) rather than paying one of its own: until then a
		// crash runs the job again, its attempt recorded as interrupted
		// by the running mark, as for a job cut off while it ran.
		d.save(j, store.Later, log)
		log.Info("job done", "attempt", n)
		e.met.jobOutcome(rule.Name, "done")
		d.finished(j, true, 0)
		return
	}
	att.Error = a.lv.redact.Replace(runErr.Error())
	if d.runCtx.Err() != nil {
		d.recordInterrupted(a, att)
		return
	}
	if n < rule.Retry.Attempts && !actions.IsPermanent(runErr) {
		// A server's Retry-After stretches the wait up to max_backoff, not
		// past it: a retrying job holds its lane, and the rule's bound is
		// the operator's.
		delay := backoff(rule.Retry, n)
		if retryAfter > delay {
			delay = min(retryAfter, max(rule.Retry.MaxBackoff, delay))
		}
		j.State, j.NextAt, j.Error = store.Retrying, time.Now().Add(delay).UTC(), att.Error
		d.save(j, store.Later, log)
		log.Warn("job attempt failed; will retry", "attempt", n, "retry_in", delay.Round(time.Millisecond), "error", att.Error)
		e.met.jobOutcome(rule.Name, "retry")
		d.finished(j, false, delay)
		return
	}
	d.recordFailed(a, att, steps)
}

// recordInterrupted keeps a job killed by shutdown queued: it runs again
// at the next start.
func (d *dispatcher) recordInterrupted(a *jobAttempt, att *store.Attempt) {
	j := a.j
	j.State = store.Queued
	att.Error = "interrupted by shutdown: " + att.Error
	d.save(j, store.Wait, a.log)
	a.log.Warn("job interrupted by shutdown; it stays queued")
	d.e.met.jobOutcome(a.rule.Name, "interrupted")
	if d.shared != nil {
		d.mu.Lock()
		d.shared.interrupted = append(d.shared.interrupted, j)
		d.mu.Unlock()
	}
}

// recordFailed fails the job for good, after running its rule's on_failure.
func (d *dispatcher) recordFailed(a *jobAttempt, att *store.Attempt, steps []store.Step) {
	e, j, rule, lv, n := d.e, a.j, a.rule, a.lv, a.n
	j.State, j.Error = store.Failed, att.Error
	if len(rule.OnFailure) > 0 {
		if !d.markFailing(a) {
			return
		}
		fenv := &rules.FailureEnv{Env: *a.env, Error: att.Error, Rule: rule.Name, Attempt: n, Output: failedOutput(steps)}
		fcall := &rules.Call{Env: fenv, Vars: a.vars, BaseEnv: lv.baseEnv, UserAgent: e.ua, BodyFile: a.bodyFile}
		var err error
		j.OnFailure, _, err = lv.runActions(a.ctx, rule, rule.OnFailure, fcall, a.body, a.log.With("attempt", n, "on_failure", true), e.met, nil)
		if err != nil && a.ctx.Err() != nil {
			d.failureInterrupted(a)
			return
		}
	}
	j.State, j.Failing = store.Failed, false
	d.save(j, store.Later, a.log)
	a.log.Error("job failed", "attempts", n, "error", att.Error)
	e.met.jobOutcome(rule.Name, "failed")
	d.finished(j, true, 0)
}

// backoff is exponential from Backoff with ±20% jitter, so that many
// failed jobs do not retry in lockstep, and capped at MaxBackoff after the
// jitter: max_backoff is a promise about the longest wait.
func backoff(r rules.Retry, attempt int) time.Duration {
	d := r.Backoff
	for i := 1; i < attempt && d < r.MaxBackoff; i++ {
		d *= 2
	}
	d = time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
	if r.MaxBackoff > 0 && d > r.MaxBackoff {
		d = r.MaxBackoff
	}
	return d
}

// eventEnv rebuilds the expression environment from a stored event, so a
// job renders the same whether it runs now or after a restart.
func eventEnv(ev *store.Event) *rules.Env {
	// The stored body is already decoded: Content-Encoding is not undone.
	body, bodyErr := parseBody(ev.Headers["content-type"], ev.Body)
	return (&rules.Env{Source: ev.Source, Event: ev.Event, ID: ev.DeliveryID, Headers: ev.Headers, Body: body, BodyErr: bodyErr,
		Raw: string(ev.Body), Query: ev.Query, Method: ev.Method, Path: ev.Path, RemoteAddr: ev.RemoteAddr,
		ReceivedAt: ev.ReceivedAt, EventID: ev.ID}).Bind()
}

// failureOutputMax bounds `output` in on_failure: enough for the last lines
// of a deploy log, small enough for a Slack message.
const failureOutputMax = 4 << 10

// failedOutput is the tail of the failed step's output (already redacted),
// cut at a line start, or a rune start, when the output is longer.
func failedOutput(steps []store.Step) string {
	if len(steps) == 0 {
		return ""
	}
	out := steps[len(steps)-1].Output
	if len(out) <= failureOutputMax {
		return out
	}
	out = out[len(out)-failureOutputMax:]
	if i := strings.IndexByte(out, '\n'); i >= 0 && i < len(out)-1 {
		return out[i+1:]
	}
	for len(out) > 0 && !utf8.RuneStart(out[0]) {
		out = out[1:]
	}
	return out
}

// save records a job's state (how: store.Wait, Soon or Later). A failed
// write is logged; a final state is written again until it is recorded
// (resave), since nothing else would: the store would go on saying the job
// runs, holding its lane, and run it again after a restart.
func (d *dispatcher) save(j *store.Job, how store.Save, log *slog.Logger) {
	state, id := j.State, j.ID
	var final *store.Job
	if store.Final(state) {
		final = snapshot(j)
	}
	failed := func(err error) {
		if notHeld(err) {
			// Another node claimed it (this node's lease ran out): the
			// job is its to record; this node drops it at its next step.
			log.Warn(fmt.Sprintf("lease lost; another node runs job %d", id), "state", state)
			return
		}
		log.Error("cannot record the job's state", "state", state, "error", err)
		if final != nil {
			d.resave(final, log, 1)
		}
	}
	if err := d.e.store.SaveJob(j, how, failed); err != nil {
		failed(err)
	}
}
