package engine

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"hookd/actions"
	"hookd/rules"
	"hookd/store"
	"hookd/verify"
)

// answerPick follows matching: the first matched rule with a respond (in
// load order), and the first matched rule's job, whose first action a
// source-level respond.wait waits for.
type answerPick struct {
	rule     *rules.Respond
	ruleJob  *store.Job
	firstJob *store.Job
}

func (p *answerPick) add(r *rules.Rule, j *store.Job) {
	if p.firstJob == nil {
		p.firstJob = j
	}
	if p.rule == nil && r.Respond != nil {
		p.rule, p.ruleJob = r.Respond, j
	}
}

// pendingAnswer is a respond block's answer to one event: rendered before
// the event is recorded (and recorded with it), sent once it is durable.
type pendingAnswer struct {
	answer   *store.Answer // the answer, or the fallback of a wait
	wait     *rules.Respond
	job      *store.Job // whose first action's output may answer
	deadline time.Time
	out      chan []byte
}

// prepareAnswer renders the answer a respond block gives an event, and sets
// ev.Answer to it; nil when no respond applies. A rule's respond that fails
// to render falls back to the source's respond, and one that fails too to
// the provider's fixed answer or the status JSON (in respond): each failure
// joins the event's errors and is logged.
func (e *Engine) prepareAnswer(lv *live, src *rules.Source, p *answerPick, env *rules.Env, parse func(), ev *store.Event, received time.Time) *pendingAnswer {
	type choice struct {
		r   *rules.Respond
		job *store.Job
	}
	var chain []choice
	if p.rule != nil {
		chain = append(chain, choice{p.rule, p.ruleJob})
	}
	if src.Respond != nil && src.Respond != p.rule {
		chain = append(chain, choice{src.Respond, p.firstJob})
	}
	if len(chain) == 0 {
		return nil
	}
	parse()
	for i, c := range chain {
		a, err := c.r.Render(env)
		if err != nil {
			msg := lv.redact.Replace(err.Error())
			ev.Errors = append(ev.Errors, msg)
			next := "the provider's answer or the status JSON answers"
			if i+1 < len(chain) {
				next = "the source's respond answers"
			}
			e.log.Warn("respond failed: "+next, "source", src.Name, "event_id", ev.ID, "error", msg)
			continue
		}
		for k, v := range a.Header {
			a.Header[k] = lv.redact.Replace(v)
		}
		pa := &pendingAnswer{answer: &store.Answer{Status: a.Status, Headers: a.Header, Body: lv.redact.Replace(string(a.Body))}}
		if c.r.Wait > 0 && c.job != nil {
			pa.wait, pa.job, pa.deadline = c.r, c.job, received.Add(c.r.Wait)
		}
		ev.Answer = pa.answer
		return pa
	}
	return nil
}

// recordIgnored records an event no rule matched: in the background, or
// durably when a respond block answers it, since an answer is sent only
// for what is on disk.
func (e *Engine) recordIgnored(ev *store.Event, pa *pendingAnswer) (uint64, error) {
	if pa != nil {
		return e.store.Accept(ev, nil)
	}
	return e.store.Record(ev)
}

// storeFailed answers 503 for an event the store could not write.
func (e *Engine) storeFailed(w http.ResponseWriter, source string, log reqLog, err error) {
	log.Error("webhook not stored", slog.String("outcome", "store_error"), slog.Any("error", err))
	e.met.request(source, "store_error")
	w.Header().Set("Retry-After", "10")
	errorJSON(w, http.StatusServiceUnavailable, "cannot store the event, retry later")
}

// arm registers the wait for the first action's output, before the job is
// submitted.
func (pa *pendingAnswer) arm(w *answerWaits) {
	if pa != nil && pa.job != nil {
		pa.out = w.add(pa.job.ID)
	}
}

// respond answers a recorded event: with its respond block's answer when it
// has one, else with the provider's fixed answer (ack, may be nil), else
// with the status JSON.
func (e *Engine) respond(w http.ResponseWriter, r *http.Request, pa *pendingAnswer, ack *verify.Answer, status string, ev *store.Event, log reqLog) {
	if pa == nil {
		writeStatusOr(w, ack, status, ev.ID, ev.Rules)
		return
	}
	a := pa.answer
	if pa.out != nil {
		a = e.awaitOutput(r, pa, ev.ID, log)
	}
	writeRespond(w, a)
}

// awaitOutput waits until the deadline for the first action's output and
// returns the answer it makes, or the fallback.
func (e *Engine) awaitOutput(r *http.Request, pa *pendingAnswer, eventID uint64, log reqLog) *store.Answer {
	defer e.waits.drop(pa.job.ID)
	t := time.NewTimer(time.Until(pa.deadline))
	defer t.Stop()
	var out []byte
	select {
	case out = <-pa.out:
	case <-t.C:
		log.Info("answered with the fallback: the first action did not finish within respond.wait", slog.Duration("wait", pa.wait.Wait))
		return pa.answer
	case <-r.Context().Done():
		return pa.answer
	}
	if out == nil {
		log.Info("answered with the fallback: the first action failed or its output is too long to answer with")
		return pa.answer
	}
	ctype := sniffType(out)
	if ctype != "application/json" {
		out = bytes.TrimSuffix(out, []byte("\n")) // as $(...) does, but one only
	}
	if len(out) == 0 { // a blank line says nothing either
		log.Info("answered with the fallback: the first action printed nothing")
		return pa.answer
	}
	a := &store.Answer{Status: pa.answer.Status, Headers: make(map[string]string, len(pa.answer.Headers)+1), Body: string(out)}
	for k, v := range pa.answer.Headers {
		a.Headers[k] = v
	}
	if !pa.wait.TypeSet {
		a.Headers["Content-Type"] = ctype
	}
	e.store.SetAnswer(eventID, a, func(err error) {
		e.log.Warn("cannot record the answer sent", "event_id", eventID, "error", err)
	})
	return a
}

// sniffType: output that is a JSON object or array is sent as JSON (a
// Slack message, say), anything else as text.
func sniffType(b []byte) string {
	for _, c := range b {
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			continue
		}
		if (c == '{' || c == '[') && json.Valid(b) {
			return "application/json"
		}
		break
	}
	return "text/plain; charset=utf-8"
}

// writeRespond sends a respond block's answer.
func writeRespond(w http.ResponseWriter, a *store.Answer) {
	h := w.Header()
	for k, v := range a.Headers {
		h[k] = []string{v}
	}
	if a.Body != "" {
		h["Content-Length"] = []string{strconv.Itoa(len(a.Body))}
	}
	w.WriteHeader(a.Status)
	if a.Body != "" {
		_, _ = w.Write([]byte(a.Body))
	}
}

// answerDuplicate answers a duplicate of an event what the event was
// answered, when a respond block answered it; else the provider's fixed
// answer (ack, may be nil), else the status JSON.
func (e *Engine) answerDuplicate(w http.ResponseWriter, src *rules.Source, prev uint64, ack *verify.Answer) {
	if src.Answers {
		if ev, err := e.store.Event(prev); err == nil && ev.Answer != nil {
			writeRespond(w, ev.Answer)
			return
		}
	}
	writeStatusOr(w, ack, "duplicate", prev, nil)
}

// answerWaits holds the requests waiting for a job's first action's
// output, by job id.
type answerWaits struct {
	n  atomic.Int32 // entries: a job run skips the lock when there are none
	mu sync.Mutex
	m  map[uint64]chan []byte
}

func (aw *answerWaits) add(job uint64) chan []byte {
	ch := make(chan []byte, 1)
	aw.mu.Lock()
	if aw.m == nil {
		aw.m = map[uint64]chan []byte{}
	}
	aw.m[job] = ch
	aw.n.Store(int32(len(aw.m)))
	aw.mu.Unlock()
	return ch
}

func (aw *answerWaits) drop(job uint64) { aw.take(job) }

func (aw *answerWaits) take(job uint64) chan []byte {
	if aw.n.Load() == 0 {
		return nil
	}
	aw.mu.Lock()
	ch := aw.m[job]
	delete(aw.m, job)
	aw.n.Store(int32(len(aw.m)))
	aw.mu.Unlock()
	return ch
}

// firstOutput returns what hands the first action's result of a job's
// first attempt to the request waiting for it, or nil when none waits.
func (aw *answerWaits) firstOutput(j *store.Job, attempt int, lv *live) func(actions.Result, error) {
	if attempt != 1 {
		return nil
	}
	ch := aw.take(j.ID)
	if ch == nil {
		return nil
	}
	return func(res actions.Result, err error) {
		var out []byte
		if err == nil && len(res.Answer) > 0 {
			out = []byte(lv.redact.Replace(string(res.Answer)))
		}
		ch <- out
	}
}
