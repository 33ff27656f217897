package ui

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"hookd/engine"
	"hookd/store"
)

type kv struct{ K, V string }

type eventData struct {
	Ev      *store.Event
	Status  string
	Headers []kv
	Query   []kv
	Tree    template.HTML // the body as foldable JSON, "" when it is not JSON or too big
	Raw     string        // the body as text, "" when it is binary
	Binary  bool
	Size    int
	BodyErr string
	Gone    bool // the source is no longer configured
	// Replayable are the event's rules still configured, which Replay can
	// run again; RulesGone those no longer configured, which it cannot.
	Replayable, RulesGone []string
	Verdicts              []engine.Verdict
	Jobs                  []*store.Job
	Live                  bool   // a job is queued or running: the page reloads itself
	Replayed              string // what a replay just queued
}

func sortedKV(m map[string]string) []kv {
	out := make([]kv, 0, len(m))
	for k, v := range m {
		out = append(out, kv{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].K < out[j].K })
	return out
}

// treeMax bounds the body shown folded: bigger ones are shown raw.
const treeMax = 256 << 10

func (s *Server) event(w http.ResponseWriter, r *http.Request) {
	id, ok := eventID(r)
	if !ok {
		s.message(w, http.StatusBadRequest, "Event", "An event id is a positive number.", "/events")
		return
	}
	ev, jobs, err := s.e.Store().EventJobs(id)
	if errors.Is(err, store.ErrNotFound) {
		s.message(w, http.StatusNotFound, "Event", fmt.Sprintf("No event %d: it never was, or it was pruned (retention).", id), "/events")
		return
	}
	if err != nil {
		s.storeError(w, err)
		return
	}
	d := &eventData{Ev: ev, Jobs: jobs, Headers: sortedKV(ev.Headers), Query: sortedKV(ev.Query), Size: len(ev.Body),
		Replayed: replayedJobs(r.URL.Query().Get("replayed"), jobs)}
	var briefs []store.JobBrief
	for _, j := range jobs {
		briefs = append(briefs, store.JobBrief{ID: j.ID, Rule: j.Rule, State: j.State, Updated: j.Updated})
		d.Live = d.Live || j.State == store.Queued || j.State == store.Running
	}
	d.Status = store.Summarize(ev.Status, briefs)
	if utf8.Valid(ev.Body) {
		d.Raw = string(ev.Body)
	} else {
		d.Binary = true
	}
	if _, err := engine.ParseBody(ev.Headers["content-type"], ev.Body); err != nil && ev.Kept == nil {
		d.BodyErr = err.Error()
	}
	if len(ev.Body) <= treeMax {
		var v any
		dec := json.NewDecoder(bytes.NewReader(ev.Body))
		dec.UseNumber()
		if dec.Decode(&v) == nil {
			var b strings.Builder
			jsonTree(&b, "", v, 0)
			d.Tree = template.HTML(b.String()) // jsonTree escapes every string
		}
	}
	d.Replayable, d.RulesGone = s.replayable(ev.Rules)
	src, verdicts := s.e.Explain(ev)
	d.Gone = src == nil
	if ev.Kept == nil { // matching what was not kept would mislead
		d.Verdicts = verdicts
	}
	s.render(w, http.StatusOK, "event", fmt.Sprintf("Event %d", id), d)
}

// jsonTree writes v as nested <details>, open to depth 2, every key and
// value escaped.
func jsonTree(b *strings.Builder, key string, v any, depth int) {
	label := ""
	if key != "" {
		label = `<span class="k">` + template.HTMLEscapeString(key) + `</span>: `
	}
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		open(b, depth, label, "{", fmt.Sprintf("%d keys", len(keys)))
		for _, k := range keys {
			jsonTree(b, strconv.Quote(k), x[k], depth+1)
		}
		b.WriteString("}</details>")
	case []any:
		open(b, depth, label, "[", fmt.Sprintf("%d items", len(x)))
		for i, e := range x {
			jsonTree(b, strconv.Itoa(i), e, depth+1)
		}
		b.WriteString("]</details>")
	default:
		j := jsonText(x) // as sent: <, > and & too
		cls := "n"
		if _, ok := x.(string); ok {
			cls = "s"
		}
		b.WriteString(`<div class="leaf">` + label + `<span class="` + cls + `">` + template.HTMLEscapeString(j) + `</span></div>`)
	}
}

func open(b *strings.Builder, depth int, label, bracket, count string) {
	attr := ""
	if depth < 2 {
		attr = " open"
	}
	b.WriteString(`<details` + attr + `><summary>` + label + bracket + ` <span class="count">` + count + `</span></summary>`)
}

// body downloads the stored body as it was received (after decoding).
func (s *Server) body(w http.ResponseWriter, r *http.Request) {
	id, ok := eventID(r)
	if !ok {
		http.Error(w, "an event id is a positive number", http.StatusBadRequest)
		return
	}
	ev, err := s.e.Store().Event(id)
	if err != nil {
		http.Error(w, fmt.Sprintf("no event %d", id), http.StatusNotFound)
		return
	}
	if ev.Kept != nil {
		http.Error(w, fmt.Sprintf("the body of event %d was not kept (source %s has keep_ignored: %s)", id, ev.Source, ev.Kept.What), http.StatusGone)
		return
	}
	ext := "bin"
	if strings.Contains(ev.Headers["content-type"], "json") {
		ext = "json"
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="event-%d.%s"`, id, ext))
	_, _ = w.Write(ev.Body)
}

type confirmData struct {
	What, Action, Back string
	Fields             []kv
	Items              []string
	Skipped            []string // what will not run, and why
}

// replayable splits an event's rules into those still configured and those
// gone (their file removed or the rule renamed): a replay cannot run these.
func (s *Server) replayable(names []string) (ok, gone []string) {
	set := s.e.Rules()
	for _, n := range names {
		if slices.Contains(ok, n) || slices.Contains(gone, n) {
			continue
		}
		if set.Rules[n] != nil {
			ok = append(ok, n)
		} else {
			gone = append(gone, n)
		}
	}
	return ok, gone
}

// goneText says why a rule cannot be replayed.
func goneText(rule string) string {
	return fmt.Sprintf("rule %s is no longer in the configuration, so it cannot run again", rule)
}

// confirmReplay asks before replaying: GET shows what would run, and the
// form POSTs it.
func (s *Server) confirmReplay(w http.ResponseWriter, r *http.Request) {
	id, ok := eventID(r)
	if !ok {
		s.message(w, http.StatusBadRequest, "Replay", "An event id is a positive number.", "/events")
		return
	}
	ev, err := s.e.Store().Event(id)
	if err != nil {
		s.message(w, http.StatusNotFound, "Replay", fmt.Sprintf("No event %d.", id), "/events")
		return
	}
	rule := r.URL.Query().Get("rule")
	names := ev.Rules
	if rule != "" {
		names = []string{rule}
	}
	back := fmt.Sprintf("/events/%d", id)
	items, gone := s.replayable(names)
	var skipped []string
	for _, g := range gone {
		skipped = append(skipped, goneText(g))
	}
	if len(items) == 0 {
		msg := fmt.Sprintf("Event %d matched no rule: there is nothing to run again.", id)
		if len(skipped) > 0 {
			msg = fmt.Sprintf("Event %d cannot be replayed: %s.", id, strings.Join(skipped, "; "))
		}
		s.message(w, http.StatusConflict, "Replay", msg, back)
		return
	}
	d := confirmData{What: fmt.Sprintf("Run event %d (%s, delivery %s) again for these rules? Their actions run now, again.", id, ev.Source, ev.DeliveryID),
		Action: back + "/replay", Back: back, Fields: []kv{{"rule", rule}}, Items: items, Skipped: skipped}
	s.render(w, http.StatusOK, "confirm", "Replay?", d)
}

func (s *Server) replay(w http.ResponseWriter, r *http.Request) {
	id, ok := eventID(r)
	if !ok {
		s.message(w, http.StatusBadRequest, "Replay", "An event id is a positive number.", "/events")
		return
	}
	res, err := s.e.Replay(id, r.FormValue("rule"))
	var re *engine.ReplayError
	if errors.As(err, &re) {
		s.message(w, re.Status, "Replay refused", re.Msg, fmt.Sprintf("/events/%d", id))
		return
	}
	if len(res.Skipped) > 0 {
		s.log.Warn("replay skipped rules no longer in the configuration", "event_id", id, "rules", res.Skipped)
	}
	http.Redirect(w, r, fmt.Sprintf("/events/%d?replayed=%s", id, url.QueryEscape(joinIDs(res.Jobs))), http.StatusSeeOther)
}

// replayedJobs says which of the event's jobs a replay just queued, from
// their ids in the URL: only jobs of this event are named, so a link
// cannot make the page say anything else.
func replayedJobs(ids string, jobs []*store.Job) string {
	var out []string
	for _, id := range strings.Split(ids, ",") {
		for _, j := range jobs {
			if strconv.FormatUint(j.ID, 10) == id {
				out = append(out, fmt.Sprintf("job %d for %s", j.ID, j.Rule))
			}
		}
	}
	if len(out) == 0 {
		return ""
	}
	return "queued " + strings.Join(out, ", ")
}

// attemptDur is how long an attempt took ("" while it runs).
func attemptDur(a store.Attempt) string {
	if a.End.IsZero() {
		return "running"
	}
	return fmtDuration(a.End.Sub(a.Start))
}

func init() {
	funcs["attemptDur"] = attemptDur
	funcs["since"] = func(t time.Time) time.Duration { return time.Since(t) }
}

// joinIDs is ids in decimal, comma-separated.
func joinIDs(ids []uint64) string {
	var b []byte
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, id, 10)
	}
	return string(b)
}
