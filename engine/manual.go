package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

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
	ID     string `json:"id"`
	Rule   string `json:"rule"`
	Job    string `json:"job"`
}

// adminRun is POST /rules/{name}/run: an event of source "manual" and one
// job for the rule, whatever its `when` says, recorded durably before the
// answer and queued in the rule's lane as intake would queue it.
func (e *Engine) adminRun(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	lv := e.live.Load()
	rule := lv.set.Rules[name]
	if rule == nil {
		errorJSON(w, http.StatusNotFound, fmt.Sprintf("no rule %q in the configuration (hookd check lists them)", name))
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
	ev := &store.Event{ID: e.store.NewEventID(), Source: ManualSource, ReceivedAt: now, Method: http.MethodPost,
		Path: r.URL.Path, RemoteAddr: "admin", Headers: headers, Body: in.Body, Status: "accepted", Rules: []string{name}}
	// Unique, so the run is never taken for a redelivery.
	ev.DeliveryID = "manual-" + strconv.FormatUint(ev.ID, 10)
	j := &store.Job{ID: e.store.NewJobID(), EventID: ev.ID, Rule: name, State: store.Queued, Created: now, Updated: now}
	j.Lane, j.Latest = laneOf(rule, eventEnv(ev))
	ev.Jobs = []uint64{j.ID}
	if !e.disp.admit(1) {
		w.Header().Set("Retry-After", "30")
		errorJSON(w, http.StatusServiceUnavailable, "queue full, retry later")
		return
	}
	if _, err := e.store.Accept(ev, []*store.Job{j}); err != nil {
		e.disp.unadmit(1)
		e.met.request(ManualSource, "store_error")
		errorJSON(w, http.StatusServiceUnavailable, "cannot store the event: "+err.Error())
		return
	}
	e.disp.submit([]*store.Job{j})
	e.met.request(ManualSource, "accepted")
	e.log.Info("manual run queued", "source", ManualSource, "event_id", ev.ID, "rule", name, "job", j.ID)
	writeJSON(w, http.StatusOK, RunAnswer{Status: "queued", ID: strconv.FormatUint(ev.ID, 10), Rule: name, Job: strconv.FormatUint(j.ID, 10)})
}
