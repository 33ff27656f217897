package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"hookd/rules"
	"hookd/store"
)

// ManualSource is the source of the events `hookd run` records: no
// configured source sent them, and every listing says so.
const ManualSource = "manual"

// RunRequest is the body of POST /rules/{name}/run: what the rule's
// templates see as the request.
type RunRequest struct {
	Headers map[string]string `json:"headers,omitempty"`
	Body    []byte            `json:"body,omitempty"`
}

// RunAnswer is what POST /rules/{name}/run answers.
type RunAnswer struct {
	Status string `json:"status"`
	ID     uint64 `json:"id"`
	Rule   string `json:"rule"`
	Job    uint64 `json:"job"`
	// Note says, when the rule's `when` is false or fails for this
	// request, why: the job runs anyway, and the operator should know.
	Note string `json:"note,omitempty"`
}

// adminRun is POST /rules/{name}/run: an event of source "manual" and one
// job for the rule, whatever its `when` says (the answer's Note says when it
// does not hold), recorded durably before the
// answer and queued in the rule's lane as intake would queue it.
func (e *Engine) adminRun(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	lv := e.live.Load()
	rule := lv.set.Rules[name]
	if rule == nil {
		errorJSON(w, http.StatusNotFound, fmt.Sprintf("no rule %q in the configuration; %s", name, ruleList(lv.set.Rules)))
		return
	}
	var in RunRequest
	// The body travels as base64: a third more than max_body, and some room.
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, lv.cfg.MaxBody*4/3+64<<10))
	if err := dec.Decode(&in); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			errorJSON(w, http.StatusRequestEntityTooLarge, "body larger than max_body")
			return
		}
		errorJSON(w, http.StatusBadRequest, "cannot read the request: "+err.Error())
		return
	}
	if int64(len(in.Body)) > lv.cfg.MaxBody {
		errorJSON(w, http.StatusRequestEntityTooLarge, "body larger than max_body")
		return
	}
	h := http.Header{}
	for k, v := range in.Headers {
		h.Set(k, v)
	}
	headers, _ := redacted(nil, h, nil)
	now := time.Now().UTC()
	evID, err1 := e.store.NextEventID()
	jobID, err2 := e.store.NextJobID()
	if err := errors.Join(err1, err2); err != nil {
		w.Header().Set("Retry-After", "10")
		errorJSON(w, http.StatusServiceUnavailable, "cannot store the event: "+err.Error())
		return
	}
	ev := &store.Event{ID: evID, Source: ManualSource, ReceivedAt: now, Method: http.MethodPost,
		Path: r.URL.Path, RemoteAddr: "admin", Headers: headers, Body: in.Body, Status: "accepted", Rules: []string{name}}
	// Unique, so the run is never taken for a redelivery.
	ev.DeliveryID = "manual-" + strconv.FormatUint(ev.ID, 10)
	j := &store.Job{ID: jobID, EventID: ev.ID, Rule: name, State: store.Queued, Created: now, Updated: now}
	env := eventEnv(ev)
	j.Lane, j.Latest = laneOf(rule, env)
	note := whenNote(rule, env, lv.redact.Replace)
	ev.Jobs = []uint64{j.ID}
	lv.redactRecord(ev)
	if !e.disp.admit(1) {
		w.Header().Set("Retry-After", "30")
		errorJSON(w, http.StatusServiceUnavailable, "queue full, retry later")
		return
	}
	if _, err := e.store.Accept(ev, []*store.Job{j}); err != nil {
		e.disp.unadmit(1)
		if errors.Is(err, store.ErrFull) {
			w.Header().Set("Retry-After", "30")
			errorJSON(w, http.StatusServiceUnavailable, "queue full, retry later")
			return
		}
		e.met.request(ManualSource, "store_error")
		w.Header().Set("Retry-After", "10")
		errorJSON(w, http.StatusServiceUnavailable, "cannot store the event: "+err.Error())
		return
	}
	e.disp.submit([]*store.Job{j})
	e.met.request(ManualSource, "accepted")
	e.log.Info("manual run queued", "source", ManualSource, "event_id", ev.ID, "rule", name, "job", j.ID)
	writeJSON(w, http.StatusOK, RunAnswer{Status: "queued", ID: ev.ID, Rule: name, Job: j.ID, Note: note})
}

// whenNote says why a rule's `when` does not hold for a manual run's
// request, as `hookd test` explains it; "" when it holds.
func whenNote(rule *rules.Rule, env *rules.Env, redact func(string) string) string {
	ok, err := rule.Match(env)
	switch {
	case err != nil:
		return redact(fmt.Sprintf("rule %s's when fails for this body (%s: %v); it runs anyway", rule.Name, rule.WhenSrc, err))
	case ok:
		return ""
	}
	why := rule.Explain(env)
	for i := range why {
		why[i] = strings.TrimSpace(why[i])
	}
	return redact(fmt.Sprintf("rule %s's when is false for this body (%s); it runs anyway", rule.Name, strings.Join(why, "; ")))
}

// ruleList names the rules in force, sorted, the first ten of them.
func ruleList(set map[string]*rules.Rule) string {
	if len(set) == 0 {
		return "it has no rules"
	}
	names := slices.Sorted(maps.Keys(set))
	const shown = 10
	if len(names) <= shown {
		return "its rules are " + strings.Join(names, ", ")
	}
	return fmt.Sprintf("its rules are %s and %d more", strings.Join(names[:shown], ", "), len(names)-shown)
}
