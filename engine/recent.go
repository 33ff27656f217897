package engine

import (
	"sync"

	"hookd/store"
)

// recentBudget bounds the bytes of events recentEvents keeps: enough for
// a burst's worth of jobs to start without reading their events back.
const recentBudget = 8 << 20

// recentEvents keeps the events this process accepted last, up to
// recentBudget bytes, oldest dropped first, so that a worker starting
// their jobs soon after does not read each one back from the store and
// decode it. A job reads only what intake recorded and nothing changes
// (source, headers, body, ...), so the event as intake built it is the
// one the store holds.
type recentEvents struct {
	mu    sync.Mutex
	byID  map[uint64]*store.Event
	order []uint64 // ids, oldest first from head
	head  int
	bytes int
}

func newRecentEvents() *recentEvents {
	return &recentEvents{byID: make(map[uint64]*store.Event)}
}

// eventSize approximates what ev holds in memory.
func eventSize(ev *store.Event) int {
	n := 256 + len(ev.Body) + len(ev.Path)
	for _, m := range []map[string]string{ev.Headers, ev.Query} {
		for k, v := range m {
			n += 32 + len(k) + len(v)
		}
	}
	return n
}

// add keeps ev, dropping the oldest events beyond the budget. An event
// larger than the whole budget is not kept.
func (r *recentEvents) add(ev *store.Event) {
	size := eventSize(ev)
	if size > recentBudget {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.byID[ev.ID] = ev
	r.order = append(r.order, ev.ID)
	r.bytes += size
	for r.bytes > recentBudget && r.head < len(r.order) {
		id := r.order[r.head]
		r.head++
		if old := r.byID[id]; old != nil {
			r.bytes -= eventSize(old)
			delete(r.byID, id)
		}
	}
	if r.head > len(r.order)/2 { // reuse the slice's front
		r.order = r.order[:copy(r.order, r.order[r.head:])]
		r.head = 0
	}
}

// get returns the event id if it is kept.
func (r *recentEvents) get(id uint64) *store.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byID[id]
}
