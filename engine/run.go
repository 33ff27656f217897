package engine

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"time"

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
	rule := lv.set.Rules[j.Rule]
	if rule == nil {
		j.State, j.Error, j.Updated = store.Cancelled, "cancelled: rule "+j.Rule+" is no longer in the configuration", now
		d.save(j, store.Later, log)
		log.Warn("job cancelled: its rule was removed")
		e.met.jobOutcome(j.Rule, "cancelled")
		d.finished(j, true, 0)
		return
	}
	ev, err := e.store.Event(j.EventID)
	if err != nil {
		j.State, j.Error, j.Updated = store.Failed, "cannot read the event: "+err.Error(), now
		d.save(j, store.Later, log)
		log.Error("job failed: cannot read its event", "error", err)
		e.met.jobOutcome(j.Rule, "failed")
		d.finished(j, true, 0)
		return
	}
	n := len(j.Attempts) + 1
	prev := *j
	j.State, j.Updated, j.NextAt, j.Error = store.Running, now, time.Time{}, ""
	j.Attempts = append(j.Attempts, store.Attempt{N: n, Start: now})
	// The running mark is durable before anything runs: after a crash, a job
	// that may have had effects is known to have run (its attempt counted),
	// so "ran twice" only ever happens to a job recorded as running.
	if err := e.store.SaveJob(j, store.Wait, nil); err != nil {
		*j = prev
		log.Error("cannot record the job as running; trying again later", "error", err)
		d.finished(j, false, 5*time.Second)
		return
	}
	e.met.attempt(rule.Name)

	env := eventEnv(ev)
	bodyFile, cleanup := writeBodyFile(ev.Body, rule, log)
	defer cleanup()
	vars := []string{
		"HOOKD_EVENT_ID=" + strconv.FormatUint(ev.ID, 10),
		"HOOKD_DELIVERY_ID=" + ev.DeliveryID,
		"HOOKD_SOURCE=" + ev.Source,
		"HOOKD_EVENT=" + ev.Event,
		"HOOKD_RULE=" + rule.Name,
		"HOOKD_ATTEMPT=" + strconv.Itoa(n),
		"HOOKD_BODY_FILE=" + bodyFile,
	}
	call := &rules.Call{Env: env, Vars: vars, BaseEnv: lv.baseEnv}
	steps, retryAfter, runErr := d.runActions(lv, rule, rule.Actions, call, ev.Body, log.With("attempt", n))

	att := &j.Attempts[len(j.Attempts)-1]
	att.Steps, att.End = steps, time.Now().UTC()
	j.Updated = att.End
	if runErr == nil {
		j.State = store.Done
		// Committed at once, as a waited write would be, but the worker
		// goes on to its next job meanwhile: until the commit, a crash
		// runs this job again, as it would while waiting for it.
		d.save(j, store.Soon, log)
		log.Info("job done", "attempt", n)
		e.met.jobOutcome(rule.Name, "done")
		d.finished(j, true, 0)
		return
	}
	att.Error = lv.redact.Replace(runErr.Error())
	if d.runCtx.Err() != nil {
		// Killed by shutdown: it runs again at the next start.
		j.State = store.Queued
		att.Error = "interrupted by shutdown: " + att.Error
		d.save(j, store.Wait, log)
		log.Warn("job interrupted by shutdown; it stays queued")
		e.met.jobOutcome(rule.Name, "interrupted")
		return
	}
	if n < rule.Retry.Attempts && !actions.IsPermanent(runErr) {
		delay := backoff(rule.Retry, n)
		if retryAfter > delay {
			delay = retryAfter
		}
		j.State, j.NextAt, j.Error = store.Retrying, time.Now().Add(delay).UTC(), att.Error
		d.save(j, store.Later, log)
		log.Warn("job attempt failed; will retry", "attempt", n, "retry_in", delay.Round(time.Millisecond).String(), "error", att.Error)
		e.met.jobOutcome(rule.Name, "retry")
		d.finished(j, false, delay)
		return
	}
	j.State, j.Error = store.Failed, att.Error
	if len(rule.OnFailure) > 0 {
		fenv := &rules.FailureEnv{Env: *env, Error: att.Error, Rule: rule.Name, Attempt: n}
		fcall := &rules.Call{Env: fenv, Vars: vars, BaseEnv: lv.baseEnv}
		j.OnFailure, _, _ = d.runActions(lv, rule, rule.OnFailure, fcall, ev.Body, log.With("attempt", n, "on_failure", true))
	}
	d.save(j, store.Later, log)
	log.Error("job failed", "attempts", n, "error", att.Error)
	e.met.jobOutcome(rule.Name, "failed")
	d.finished(j, true, 0)
}

// runActions runs actions in order; a failure stops the rest.
func (d *dispatcher) runActions(lv *live, rule *rules.Rule, list []*rules.Action, call *rules.Call, body []byte, log *slog.Logger) ([]store.Step, time.Duration, error) {
	var steps []store.Step
	for i, a := range list {
		start := time.Now()
		step := store.Step{Action: i + 1, Kind: a.Kind, Start: start.UTC()}
		timeout := a.Timeout
		if timeout == 0 {
			timeout = rule.Timeout
		}
		var res actions.Result
		act, err := a.Build(call)
		if err != nil {
			// The stored event renders the same way every time: retrying
			// a template that failed cannot help.
			err = actions.Permanent(err)
		} else {
			ctx, cancel := context.WithTimeout(d.runCtx, timeout)
			res, err = act.Run(ctx, &actions.Input{Body: body})
			cancel()
		}
		step.Duration = time.Since(start)
		d.e.met.action(rule.Name, a.Kind, step.Duration)
		if a.Kind == "shell" {
			exit := res.Exit
			step.Exit = &exit
		}
		step.Status = res.Status
		step.Output = lv.redact.Replace(string(res.Output))
		outcome := "ok"
		if err != nil {
			step.Error = lv.redact.Replace(err.Error())
			outcome = "failed"
		}
		steps = append(steps, step)
		attrs := []any{"action", i + 1, "kind", a.Kind, "duration", step.Duration.Round(time.Millisecond).String(), "outcome", outcome}
		if step.Exit != nil {
			attrs = append(attrs, "exit", *step.Exit)
		}
		if step.Status != 0 {
			attrs = append(attrs, "status", step.Status)
		}
		if err != nil {
			log.Warn("action failed", append(attrs, "error", step.Error)...)
			return steps, res.RetryAfter, err
		}
		log.Info("action done", attrs...)
	}
	return steps, 0, nil
}

// backoff is exponential from Backoff, capped at MaxBackoff, with ±20%
// jitter so that many failed jobs do not retry in lockstep.
func backoff(r rules.Retry, attempt int) time.Duration {
	d := r.Backoff
	for i := 1; i < attempt && d < r.MaxBackoff; i++ {
		d *= 2
	}
	if r.MaxBackoff > 0 && d > r.MaxBackoff {
		d = r.MaxBackoff
	}
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// eventEnv rebuilds the expression environment from a stored event, so a
// job renders the same whether it runs now or after a restart.
func eventEnv(ev *store.Event) *rules.Env {
	// The stored body is already decoded: Content-Encoding is not undone.
	body, bodyErr := parseBody(ev.Headers["content-type"], ev.Body)
	return (&rules.Env{Source: ev.Source, Event: ev.Event, ID: ev.DeliveryID, Headers: ev.Headers, Body: body, BodyErr: bodyErr,
		Raw: string(ev.Body), Query: ev.Query, Method: ev.Method, Path: ev.Path, RemoteAddr: ev.RemoteAddr,
		ReceivedAt: ev.ReceivedAt}).Bind()
}

// writeBodyFile writes the raw body where a process can read it
// (HOOKD_BODY_FILE), for rules that run processes.
func writeBodyFile(body []byte, rule *rules.Rule, log *slog.Logger) (string, func()) {
	shell := false
	for _, list := range [][]*rules.Action{rule.Actions, rule.OnFailure} {
		for _, a := range list {
			shell = shell || a.Kind == "shell"
		}
	}
	if !shell {
		return "", func() {}
	}
	f, err := os.CreateTemp("", "hookd-body-*")
	if err == nil {
		_, err = f.Write(body)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			return f.Name(), func() { os.Remove(f.Name()) }
		}
		os.Remove(f.Name())
	}
	log.Warn("cannot write the body file; HOOKD_BODY_FILE is empty for this attempt", "error", err)
	return "", func() {}
}

// save records a job's state (how: store.Wait, Soon or Later). A failed
// write is logged: the store then still holds the previous state, and at
// worst the job runs again after a restart.
func (d *dispatcher) save(j *store.Job, how store.Save, log *slog.Logger) {
	state := j.State
	failed := func(err error) { log.Error("cannot record the job's state", "state", state, "error", err) }
	if err := d.e.store.SaveJob(j, how, failed); err != nil {
		failed(err)
	}
}
