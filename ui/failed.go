package ui

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"hookd/store"
)

type failedData struct {
	Jobs  []store.FailedJob
	Next  string
	Since string
	Error string
	// Replayed says what "replay all failed" just queued, and Refused
	// what it could not, each with the reason.
	Replayed string
	Refused  []string
}

func (s *Server) failed(w http.ResponseWriter, r *http.Request) {
	before, _ := strconv.ParseUint(r.URL.Query().Get("before"), 10, 64)
	jobs, next, err := s.e.Store().FailedJobs(before, time.Time{}, 50, 0)
	if err != nil {
		s.storeError(w, err)
		return
	}
	d := &failedData{Jobs: jobs, Since: "24h"}
	if n, err := strconv.Atoi(r.URL.Query().Get("replayed")); err == nil {
		d.Replayed = fmt.Sprintf("%d jobs queued again.", n)
	}
	if next != 0 {
		d.Next = "/failed?before=" + strconv.FormatUint(next, 10)
	}
	s.render(w, http.StatusOK, "failed", "Failed", d)
}

// failedSince lists the (event, rule) pairs whose newest job of the rule
// failed at or after since: what "replay all failed since" runs again.
func (s *Server) failedSince(since time.Time) ([]store.FailedJob, error) {
	jobs, _, err := s.e.Store().FailedJobs(0, since, 1000, 100000)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []store.FailedJob
	for _, f := range jobs {
		key := strconv.FormatUint(f.Job.EventID, 10) + "\x00" + f.Job.Rule
		if seen[key] {
			continue
		}
		seen[key] = true
		// A later job of the same rule (a replay) may have succeeded.
		_, evJobs, err := s.e.Store().EventJobs(f.Job.EventID)
		if err != nil {
			continue
		}
		newest := f.Job
		for _, j := range evJobs {
			if j.Rule == f.Job.Rule && j.ID > newest.ID {
				newest = j
			}
		}
		if newest.State == store.Failed {
			out = append(out, f)
		}
	}
	return out, nil
}

func (s *Server) confirmReplayFailed(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query().Get("since")
	since, err := parseTime(v, time.Now().UTC())
	if err != nil || since.IsZero() {
		s.render(w, http.StatusBadRequest, "failed", "Failed", &failedData{Since: v, Error: "since: a time is needed: " + errText(err)})
		return
	}
	jobs, err := s.failedSince(since)
	if err != nil {
		s.storeError(w, err)
		return
	}
	if len(jobs) == 0 {
		s.message(w, http.StatusOK, "Nothing to replay", "No job has failed since "+since.Format("2006-01-02 15:04:05 UTC")+" without a later success.", "/failed")
		return
	}
	var items, skipped []string
	for _, f := range jobs {
		item := fmt.Sprintf("event %d (%s %s): %s", f.Job.EventID, f.Source, f.DeliveryID, f.Job.Rule)
		if ok, _ := s.replayable([]string{f.Job.Rule}); len(ok) == 0 {
			skipped = append(skipped, item+": "+goneText(f.Job.Rule))
			continue
		}
		items = append(items, item)
	}
	if len(items) == 0 {
		s.message(w, http.StatusConflict, "Nothing to replay", "No failed job since "+since.Format("2006-01-02 15:04:05 UTC")+" can run again: "+strings.Join(skipped, "; ")+".", "/failed")
		return
	}
	d := confirmData{What: fmt.Sprintf("Run these %d failed jobs again (failed since %s)? Their actions run now, again.", len(items), since.Format("2006-01-02 15:04:05 UTC")),
		Action: "/failed/replay", Back: "/failed", Fields: []kv{{"since", since.Format(time.RFC3339Nano)}}, Items: items, Skipped: skipped}
	s.render(w, http.StatusOK, "confirm", "Replay failed jobs?", d)
}

func errText(err error) string {
	if err == nil {
		return "write e.g. 24h"
	}
	return err.Error()
}

func (s *Server) replayFailed(w http.ResponseWriter, r *http.Request) {
	since, err := time.Parse(time.RFC3339Nano, r.FormValue("since"))
	if err != nil {
		s.message(w, http.StatusBadRequest, "Replay refused", "since must be a time (RFC 3339).", "/failed")
		return
	}
	jobs, err := s.failedSince(since)
	if err != nil {
		s.storeError(w, err)
		return
	}
	queued := 0
	var refused []string
	for _, f := range jobs {
		why := ""
		if ok, _ := s.replayable([]string{f.Job.Rule}); len(ok) == 0 {
			why = goneText(f.Job.Rule)
		} else if res, err := s.e.Replay(f.Job.EventID, f.Job.Rule); err != nil {
			why = err.Error()
		} else {
			queued += len(res.Jobs)
			continue
		}
		refused = append(refused, fmt.Sprintf("event %d, rule %s: %s", f.Job.EventID, f.Job.Rule, why))
		s.log.Warn("replay of a failed job refused", "event_id", f.Job.EventID, "rule", f.Job.Rule, "error", why)
	}
	if len(refused) == 0 {
		http.Redirect(w, r, fmt.Sprintf("/failed?replayed=%d", queued), http.StatusSeeOther)
		return
	}
	// The reasons are shown here, not put in a URL that a link could fake.
	list, next, err := s.e.Store().FailedJobs(0, time.Time{}, 50, 0)
	if err != nil {
		s.storeError(w, err)
		return
	}
	d := &failedData{Jobs: list, Since: "24h", Replayed: fmt.Sprintf("%d jobs queued again; %d refused:", queued, len(refused)), Refused: refused}
	if next != 0 {
		d.Next = "/failed?before=" + strconv.FormatUint(next, 10)
	}
	s.render(w, http.StatusOK, "failed", "Failed", d)
}
