package ui

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"hookd/store"
)

// watchCap bounds the events a live stream reads again at each poll: those
// shown whose state may still change, and, under a state filter, those
// that may still reach it. Beyond it the oldest are no longer followed.
const watchCap = 200

// watchGap is the largest gap between the ids of watched events read in one
// range: a poll examines at most watchGap events per watched event.
const watchGap = 8

// settled reports whether an event's state will not change by itself: every
// job final (a replay makes it change again, from another page).
func settled(b store.EventBrief) bool {
	for _, j := range b.Jobs {
		if !store.Final(j.State) {
			return false
		}
	}
	return true
}

// liveList is what a live stream knows of the events page it feeds.
type liveList struct {
	q     store.EventQuery // the filters; for a job state, without it
	state string           // a job state to filter by, "" for none
	after uint64           // events up to this id were read once
	// watch holds the events not settled: the state the page shows, ""
	// for one not shown yet (it does not match the state filter yet), "?"
	// for a row the page was rendered with.
	watch map[uint64]string
}

// newLiveList follows the events after after that pass q, and the rows of
// the page (page: the ids of its rows not settled). accepted and ignored
// are what an event was recorded as, which never changes: the store
// filters them. A job state changes: the list filters it itself, so that
// an event is shown once it reaches the state, however late.
func newLiveList(q store.EventQuery, after uint64, page []uint64) *liveList {
	l := &liveList{q: q, after: after, watch: map[uint64]string{}}
	if q.Status != "accepted" && q.Status != "ignored" {
		l.state, l.q.Status = q.Status, ""
	}
	l.q.NoWait = true // what is still queued comes at the next poll
	for _, id := range page {
		l.watch[id] = "?"
	}
	l.trim()
	return l
}

// poll reads what changed: the new events (the newest 50, as the page
// shows; 200 under a job state filter, which reads those not matching
// yet), then the watched ones again, in
// short transactions that end before anything is written to the client.
// It returns the rows to send, oldest first: each new one goes on top, a
// row already shown is replaced.
func (l *liveList) poll(st store.Reader) ([]store.EventBrief, error) {
	var out []store.EventBrief
	old := l.after
	if top := st.NewestEventID(); top > l.after {
		q := l.q
		q.After = l.after
		if l.state != "" { // the new events that may reach the state later too
			q.Limit = 200
		}
		evs, _, err := st.QueryEvents(q)
		if err != nil {
			return nil, err
		}
		l.after = top
		for i := len(evs) - 1; i >= 0; i-- {
			out = l.saw(evs[i], out)
		}
	}
	again, err := l.reread(st, old)
	if err != nil {
		return nil, err
	}
	for _, b := range again {
		out = l.saw(b, out)
	}
	l.trim()
	return out, nil
}

// saw takes in an event as read now, adding its row to out when the page
// should show it: it matches and is not shown, or its state changed since
// it was shown (then the row says its new state, matching or not).
func (l *liveList) saw(b store.EventBrief, out []store.EventBrief) []store.EventBrief {
	shown := l.watch[b.ID]
	match := l.state == "" || b.Status == l.state
	if (match && shown != b.Status) || (shown != "" && shown != b.Status) {
		out = append(out, b)
		shown = b.Status
	}
	if settled(b) {
		delete(l.watch, b.ID)
	} else {
		l.watch[b.ID] = shown
	}
	return out
}

// reread reads again the watched events up to id upto, oldest first: one
// range read for ids close together. A watched event it no longer finds
// (deleted by retention) is no longer watched.
func (l *liveList) reread(st store.Reader, upto uint64) ([]store.EventBrief, error) {
	var ids []uint64
	for id := range l.watch {
		if id <= upto {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var out []store.EventBrief
	for len(ids) > 0 {
		n := 1
		for n < len(ids) && ids[n]-ids[n-1] <= watchGap {
			n++
		}
		lo, hi := ids[0], ids[n-1]
		q := l.q
		q.After, q.Before, q.Since = lo-1, hi+1, time.Time{}
		q.Limit, q.MaxScan = int(hi-lo+1), int(hi-lo+1)
		evs, _, err := st.QueryEvents(q)
		if err != nil {
			return nil, err
		}
		found := map[uint64]bool{}
		for i := len(evs) - 1; i >= 0; i-- {
			if _, ok := l.watch[evs[i].ID]; ok {
				found[evs[i].ID] = true
				out = append(out, evs[i])
			}
		}
		for _, id := range ids[:n] {
			if !found[id] {
				delete(l.watch, id)
			}
		}
		ids = ids[n:]
	}
	return out, nil
}

// trim forgets the oldest watched events beyond watchCap.
func (l *liveList) trim() {
	if len(l.watch) <= watchCap {
		return
	}
	ids := make([]uint64, 0, len(l.watch))
	for id := range l.watch {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids[:len(ids)-watchCap] {
		delete(l.watch, id)
	}
}

// readWatch reads the stream's watch parameter: the ids of the page's rows
// whose state may change, comma-separated.
func readWatch(s string) ([]uint64, error) {
	var out []uint64
	for _, p := range strings.Split(s, ",") {
		if p == "" {
			continue
		}
		id, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("watch: %q is not an event id", p)
		}
		out = append(out, id)
	}
	return out, nil
}

// stream sends the events that arrive, and the rows whose state changed,
// as rendered table rows, to the events page (server-sent events). Each
// poll reads in short transactions, then writes: a slow client holds no
// transaction.
func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	qv := r.URL.Query()
	after, _ := strconv.ParseUint(qv.Get("after"), 10, 64)
	page, werr := readWatch(qv.Get("watch"))
	qv.Del("after")
	qv.Del("watch")
	f, err := readFilters(qv)
	f.Before = 0
	var q store.EventQuery
	if err == nil {
		q, err = f.query(time.Now().UTC())
	}
	if err != nil || werr != nil || f.Delivery != "" {
		http.Error(w, "no live stream for these filters", http.StatusBadRequest)
		return
	}
	if f.Until != "" {
		http.Error(w, "no live stream for a closed time range", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	fmt.Fprint(w, "retry: 2000\n\n")
	fl.Flush()
	l := newLiveList(q, after, page)
	tick := time.NewTicker(s.poll)
	defer tick.Stop()
	idle := 0
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
		evs, err := l.poll(s.e.Store())
		if err != nil {
			return
		}
		msg, err := s.streamRows(evs)
		if err != nil {
			return
		}
		if msg.Len() == 0 {
			if idle++; idle*int(s.poll) < int(15*time.Second) {
				continue
			}
			msg.WriteString(": keep-alive\n\n") // a comment keeps proxies from closing the stream
		}
		idle = 0
		if _, err := msg.WriteTo(w); err != nil {
			return
		}
		fl.Flush()
	}
}

// streamRows renders rows as server-sent events.
func (s *Server) streamRows(evs []store.EventBrief) (*bytes.Buffer, error) {
	var msg bytes.Buffer
	for _, b := range evs {
		var buf bytes.Buffer
		if err := s.rows.ExecuteTemplate(&buf, "row", rowOf(b)); err != nil {
			return nil, err
		}
		msg.WriteString("event: row\nid: " + strconv.FormatUint(b.ID, 10) + "\n")
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			msg.WriteString("data: " + line + "\n")
		}
		msg.WriteString("\n")
	}
	return &msg, nil
}
