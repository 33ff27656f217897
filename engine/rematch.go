package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"hookd/store"
)

// RematchRequest is the body of POST /rematch: one event, or a filter.
type RematchRequest struct {
	ID     uint64    `json:"id,omitempty"`
	Source string    `json:"source,omitempty"`
	Since  time.Time `json:"since,omitzero"`
	Status string    `json:"status,omitempty"`
	DryRun bool      `json:"dry_run,omitempty"`
	Force  bool      `json:"force,omitempty"`
}

// RematchItem is one rule an event matches now, and what became of it:
// queued (with its job), would_run (dry run), or skipped (with why); or an
// event that cannot be matched again: not_kept (Rule empty, with why).
type RematchItem struct {
	Event   uint64 `json:"event"`
	Rule    string `json:"rule"`
	Outcome string `json:"outcome"`
	Job     uint64 `json:"job,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// maxRematch bounds the events one call looks at.
const maxRematch = 100000

// adminRematch is POST /rematch: stored events matched against the rules
// in force now, with jobs queued for the rules that match and have not run
// for the event (a rule added after an outage, run over what arrived
// during it).
func (e *Engine) adminRematch(w http.ResponseWriter, r *http.Request) {
	var in RematchRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&in); err != nil {
		errorJSON(w, http.StatusBadRequest, "cannot read the request: "+err.Error())
		return
	}
	if in.Status != "" && !listStatuses[in.Status] {
		errorJSON(w, http.StatusBadRequest, "unknown status "+strconv.Quote(in.Status))
		return
	}
	evs, err := e.rematchEvents(in)
	if err != nil {
		code := http.StatusServiceUnavailable // the store cannot be read
		if errors.Is(err, store.ErrNotFound) {
			code = http.StatusNotFound
		}
		errorJSON(w, code, err.Error())
		return
	}
	items := []RematchItem{}
	for _, ev := range evs {
		out, err := e.rematchOne(ev, in)
		items = append(items, out...)
		if err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": err.Error(), "items": items})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": len(evs), "items": items})
}

// rematchEvents reads the event asked for, or those the filter selects.
func (e *Engine) rematchEvents(in RematchRequest) ([]*store.Event, error) {
	if in.ID != 0 {
		ev, err := e.store.Event(in.ID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("%w: %d", store.ErrNotFound, in.ID)
		}
		if err != nil {
			return nil, fmt.Errorf("cannot read event %d: %w", in.ID, err)
		}
		return []*store.Event{ev}, nil
	}
	var out []*store.Event
	o := store.ListOptions{Source: in.Source, Status: in.Status, Limit: 500}
	for len(out) < maxRematch {
		page, next, err := e.store.ListEvents(o)
		if err != nil {
			return nil, err
		}
		for _, b := range page {
			if !in.Since.IsZero() && b.ReceivedAt.Before(in.Since) {
				return out, nil
			}
			ev, err := e.store.Event(b.ID)
			if errors.Is(err, store.ErrNotFound) {
				continue // pruned meanwhile
			}
			if err != nil {
				return nil, fmt.Errorf("cannot read event %d: %w", b.ID, err)
			}
			out = append(out, ev)
		}
		if next == 0 {
			break
		}
		o.Before = next
	}
	return out, nil
}

// rematchOne matches one event against the rules of its source in force
// now, and queues (unless a dry run) the rules not yet run for it.
func (e *Engine) rematchOne(ev *store.Event, in RematchRequest) ([]RematchItem, error) {
	lv := e.live.Load()
	src := lv.set.Sources[ev.Source]
	if src == nil {
		return nil, nil
	}
	id := ev.ID
	if why := notKept(ev); why != "" {
		return []RematchItem{{Event: id, Outcome: "not_kept", Reason: why}}, nil
	}
	env := eventEnv(ev)
	var items []RematchItem
	var jobs []*store.Job
	now := time.Now().UTC()
	for _, rule := range src.Rules {
		if ok, err := rule.Match(env); err != nil || !ok {
			continue
		}
		it := RematchItem{Event: id, Rule: rule.Name}
		switch {
		case in.Force:
		case slices.Contains(ev.Rematched, rule.Name):
			it.Outcome, it.Reason = "skipped", "already rematched (-force to queue it again)"
		case slices.Contains(ev.Rules, rule.Name):
			it.Outcome, it.Reason = "skipped", "matched when received (hookd replay runs it again)"
		}
		if it.Outcome == "" && in.DryRun {
			it.Outcome = "would_run"
		}
		if it.Outcome == "" {
			id, err := e.store.NextJobID()
			if err != nil {
				return nil, err
			}
			j := &store.Job{ID: id, EventID: ev.ID, Rule: rule.Name, State: store.Queued, Created: now, Updated: now}
			j.Lane, j.Latest = laneOf(rule, env)
			jobs = append(jobs, j)
			continue
		}
		items = append(items, it)
	}
	if len(jobs) == 0 {
		return items, nil
	}
	if !e.disp.admit(len(jobs)) {
		return items, errQueueFullRematch
	}
	done, err := e.store.Rematch(ev.ID, jobs, in.Force)
	e.disp.unadmit(len(jobs) - len(done))
	if err != nil {
		e.disp.unadmit(len(done))
		if errors.Is(err, store.ErrFull) {
			return items, errQueueFullRematch
		}
		return items, err
	}
	e.disp.submit(done)
	for _, j := range done {
		items = append(items, RematchItem{Event: id, Rule: j.Rule, Outcome: "queued", Job: j.ID})
		e.log.Info("event rematched", "event_id", ev.ID, "source", ev.Source, "rule", j.Rule, "job", j.ID)
	}
	return items, nil
}

var errQueueFullRematch = errors.New("queue full: the events before this one are queued; rematch the rest later")
