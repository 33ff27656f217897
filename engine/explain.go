package engine

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"hookd/rules"
	"hookd/store"
	"hookd/verify"
)

// Verdict is what one rule says of an event, as hookd test prints it:
// matched, or the parts of `when` that were false and the values seen.
type Verdict struct {
	Rule    string           `json:"rule"`
	When    string           `json:"when,omitempty"`
	Matched bool             `json:"matched"`
	Error   string           `json:"error,omitempty"` // `when` failed at run time: no match
	Why     []string         `json:"why,omitempty"`
	Actions []map[string]any `json:"actions,omitempty"` // what the matched rule would run, secrets hidden
}

// Verdicts matches env against every rule of src, in load order; redact
// hides the configuration's secrets in what is shown.
func Verdicts(src *rules.Source, env *rules.Env, redact func(string) string) []Verdict {
	out := make([]Verdict, 0, len(src.Rules))
	for _, r := range src.Rules {
		v := Verdict{Rule: r.Name, When: redact(r.WhenSrc)} // `${SECRET}` may be in it
		ok, err := r.Match(env)
		switch {
		case err != nil:
			v.Error = redact(err.Error())
		case !ok:
			for _, why := range r.Explain(env) {
				v.Why = append(v.Why, redact(why))
			}
		default:
			v.Matched = true
			for _, a := range r.Actions {
				d, err := a.Describe(&rules.Call{Env: env})
				if err != nil {
					d = map[string]any{"kind": a.Kind, "error": err.Error()}
				}
				v.Actions = append(v.Actions, RedactValue(d, redact).(map[string]any))
			}
		}
		out = append(out, v)
	}
	return out
}

// Explain matches a stored event against the rules of its source in
// force now. src is nil when the source is no longer configured.
func (e *Engine) Explain(ev *store.Event) (src *rules.Source, verdicts []Verdict) {
	lv := e.live.Load()
	src = lv.set.Sources[ev.Source]
	if src == nil {
		return nil, nil
	}
	return src, Verdicts(src, eventEnv(ev), lv.redact.Replace)
}

// DryRunReport is what a request would do: hookd test's answer.
type DryRunReport struct {
	Source, Provider string
	Event, ID        string
	BodyError        string
	Errors           []string // id or event expressions that failed
	Verdicts         []Verdict
	// Handshake is set when serve answers the request as its sender's
	// handshake, before any rule (Verdicts is then empty); its answer's
	// body and Refused are redacted.
	Handshake *HandshakeAnswer
	Refused   string
}

// DryRun matches a request that was not received against the rules in
// force: nothing is verified, recorded or run.
func (e *Engine) DryRun(source string, h http.Header, q url.Values, raw []byte) (*DryRunReport, error) {
	lv := e.live.Load()
	src := lv.set.Sources[source]
	if src == nil {
		return nil, fmt.Errorf("no source %q", source)
	}
	if ce := h.Values("Content-Encoding"); len(ce) > 0 {
		var err error
		if raw, err = DecodeContent(ce, raw, lv.cfg.MaxBody); err != nil {
			return nil, err
		}
	}
	vr := &verify.Request{Method: http.MethodPost, Header: h, Query: q, Body: raw, Now: time.Now().UTC(), Source: src.Name, DryRun: true}
	var bodyErr error
	vr.JSON, bodyErr = ParseBody(h.Get("Content-Type"), raw)
	if hs, ok := Handshake(src, vr); ok {
		return handshakeReport(src, hs, lv.redact.Replace), nil
	}
	env, evalErrs := RequestEnv(src, vr, bodyErr, http.MethodPost, src.Path, "127.0.0.1")
	rep := &DryRunReport{Source: src.Name, Event: env.Event, ID: env.ID, Verdicts: Verdicts(src, env, lv.redact.Replace)}
	for _, msg := range evalErrs {
		rep.Errors = append(rep.Errors, lv.redact.Replace(msg))
	}
	if bodyErr != nil {
		rep.BodyError = bodyErr.Error()
	}
	return rep, nil
}

// handshakeReport is the dry run's report of a handshake.
func handshakeReport(src *rules.Source, hs *HandshakeAnswer, redact func(string) string) *DryRunReport {
	a := *hs.Answer
	a.Body = []byte(redact(string(a.Body)))
	hs.Answer = &a
	rep := &DryRunReport{Source: src.Name, Provider: src.Provider, Handshake: hs}
	if hs.Err != nil {
		rep.Refused = redact(hs.Err.Error())
	}
	return rep
}

// RedactValue hides secrets in every string of an action's description.
func RedactValue(v any, redact func(string) string) any {
	switch x := v.(type) {
	case string:
		return redact(x)
	case []string:
		out := make([]string, len(x))
		for i, s := range x {
			out[i] = redact(s)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = RedactValue(e, redact)
		}
		return out
	case map[string]string:
		out := make(map[string]string, len(x))
		for k, s := range x {
			out[k] = redact(s)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = RedactValue(e, redact)
		}
		return out
	}
	return v
}

// ReplayError is why a replay was refused, with the HTTP status that says so.
type ReplayError struct {
	Status int
	Msg    string
}

func (e *ReplayError) Error() string { return e.Msg }

// Replayed is what a replay queued: the rules run again and their new
// jobs, and the rules no longer configured (skipped).
type Replayed struct {
	Rules, Skipped []string
	Jobs           []uint64
}

// Replay durably queues new jobs for the event's matched rules that still
// exist (only: that one rule), whatever became of the old ones.
func (e *Engine) Replay(id uint64, only string) (*Replayed, error) {
	ev, err := e.store.Event(id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &ReplayError{http.StatusNotFound, fmt.Sprintf("no event %d", id)}
	}
	if err != nil {
		return nil, &ReplayError{http.StatusServiceUnavailable, fmt.Sprintf("cannot read event %d: %v", id, err)}
	}
	if only != "" {
		if !slices.Contains(ev.Rules, only) {
			return nil, &ReplayError{http.StatusConflict, fmt.Sprintf("event %d did not match rule %q", id, only)}
		}
		ev.Rules = []string{only}
	}
	jobs, names, gone, err := e.rerunJobs(e.live.Load(), ev, time.Now().UTC())
	if err != nil {
		return nil, &ReplayError{http.StatusServiceUnavailable, "cannot store the jobs: " + err.Error()}
	}
	if len(jobs) == 0 {
		msg := fmt.Sprintf("event %d matched no rule", id)
		if len(gone) > 0 {
			msg = fmt.Sprintf("no rule of event %d remains in the configuration (%s)", id, strings.Join(gone, ", "))
		}
		return nil, &ReplayError{http.StatusConflict, msg}
	}
	if !e.disp.admit(len(jobs)) {
		return nil, &ReplayError{http.StatusServiceUnavailable, "queue full, retry later"}
	}
	if err := e.store.AddJobs(ev.ID, jobs); err != nil {
		e.disp.unadmit(len(jobs))
		if errors.Is(err, store.ErrFull) {
			return nil, &ReplayError{http.StatusServiceUnavailable, "queue full, retry later"}
		}
		return nil, &ReplayError{http.StatusInternalServerError, "cannot store the jobs: " + err.Error()}
	}
	e.disp.submit(jobs)
	out := &Replayed{Rules: names, Skipped: gone}
	for _, j := range jobs {
		out.Jobs = append(out.Jobs, j.ID)
	}
	e.log.Info("event replayed", "event_id", ev.ID, "rules", names, "jobs", out.Jobs)
	return out, nil
}

// QueueDepth counts the jobs queued, running and waiting to retry.
func (e *Engine) QueueDepth() (queued, running, retrying int) { return e.disp.depth() }

// Queue is the dashboard's count of the jobs not final: every node's on a
// shared store (Scope "all nodes"), or, when that count cannot be read,
// this node's (Scope "this node", Err why). A single node's has no Scope.
type Queue struct {
	Queued, Running, Retrying int
	Scope                     string
	Err                       error
}

// ClusterQueue counts the jobs not final for the dashboard.
func (e *Engine) ClusterQueue() Queue {
	var q Queue
	if c, ok := e.store.(store.OpenCounter); ok {
		if q.Queued, q.Running, q.Retrying, q.Err = c.OpenJobs(); q.Err == nil {
			q.Scope = "all nodes"
			return q
		}
	}
	q.Queued, q.Running, q.Retrying = e.disp.depth()
	if _, shared := e.store.(store.Shared); shared {
		q.Scope = "this node"
	}
	return q
}

// Redact hides the configuration's secrets in s.
func (e *Engine) Redact(s string) string { return e.live.Load().redact.Replace(s) }

// ReloadErrors are the errors of the last reload, when it failed, as
// file:line:col: message.
func (e *Engine) ReloadErrors() []string {
	p := e.reloadErrs.Load()
	if p == nil {
		return nil
	}
	return *p
}

func reloadErrText(err error) []string {
	var errs rules.Errors
	if errors.As(err, &errs) {
		out := make([]string, len(errs))
		for i, d := range errs {
			out[i] = d.String()
		}
		return out
	}
	return []string{err.Error()}
}

// SourceNames lists the configured sources, sorted.
func (e *Engine) SourceNames() []string {
	set := e.Rules()
	names := make([]string, 0, len(set.Sources))
	for n := range set.Sources {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
