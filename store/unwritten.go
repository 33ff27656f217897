package store

import (
	"errors"
	"sync"
	"time"
)

// An ignored event is answered before it is written (Record). If its write
// fails (a full disk, an I/O error, a damaged page), what intake answered
// must stay true: the event stays in memory, its delivery id still counts
// as recorded (a redelivery is a duplicate), Event finds it, and it is
// written again every unwrittenRetry until a write succeeds. Memory bounds
// this: past maxUnwritten events or maxUnwrittenBytes, or when the store
// closes, an event that could not be written is dropped, and said so.
var unwrittenRetry = 5 * time.Second

const (
	maxUnwritten      = 10000
	maxUnwrittenBytes = 64 << 20
)

// RecordFailure is what the store tells (SetRecordHook) of an ignored event
// whose write failed, and of its fate.
type RecordFailure struct {
	EventID uint64
	Err     error // the failed write's error; nil once written at last
	// Kept: the event is kept in memory and written again later.
	// Neither Kept nor Err: a kept event was written at last.
	// Err and not Kept: the event is lost (memory bound, or hookd stopped).
	Kept bool
}

// ErrStoppedUnwritten is the error of an ignored event still unwritten when
// the store closed.
var ErrStoppedUnwritten = errors.New("hookd stopped before the event could be written")

// unwritten holds the ignored events whose write failed.
type unwritten struct {
	mu    sync.Mutex
	ops   map[uint64]*recordOp
	bytes int
	hook  func(RecordFailure)
}

// SetRecordHook sets the function told of ignored events whose write
// failed (see RecordFailure). It must not call the store.
func (s *Store) SetRecordHook(f func(RecordFailure)) {
	s.unwritten.mu.Lock()
	s.unwritten.hook = f
	s.unwritten.mu.Unlock()
}

// failed settles r's failed write: kept for a later write (true), or not.
func (s *Store) failed(r *recordOp, err error) bool {
	u := &s.unwritten
	u.mu.Lock()
	defer u.mu.Unlock()
	if r.held {
		r.queued = false
		_, ok := u.ops[r.id()]
		return ok && !s.closed.Load() || !ok // not ok: Close dropped it
	}
	if s.closed.Load() || len(u.ops) >= maxUnwritten || u.bytes+len(r.rec.event) > maxUnwrittenBytes {
		return false
	}
	if u.ops == nil {
		u.ops = map[uint64]*recordOp{}
	}
	r.held = true
	u.ops[r.id()] = r
	u.bytes += len(r.rec.event)
	if u.hook != nil {
		u.hook(RecordFailure{EventID: r.id(), Err: err, Kept: true})
	}
	return true
}

// written settles r's write (err nil) or its loss: it reports whether the
// caller is to release r (false: Close did).
func (s *Store) settled(r *recordOp, err error) bool {
	u := &s.unwritten
	u.mu.Lock()
	defer u.mu.Unlock()
	if r.held {
		if _, ok := u.ops[r.id()]; !ok {
			return false
		}
		delete(u.ops, r.id())
		u.bytes -= len(r.rec.event)
	}
	if err != nil && s.closed.Load() {
		err = ErrStoppedUnwritten
	}
	if u.hook != nil && (err != nil || r.held) {
		u.hook(RecordFailure{EventID: r.id(), Err: err})
	}
	return true
}

// retryUnwritten writes the kept events again every unwrittenRetry, until
// the store closes.
func (s *Store) retryUnwritten() {
	t := time.NewTicker(unwrittenRetry)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		u := &s.unwritten
		u.mu.Lock()
		var again []*recordOp
		for _, r := range u.ops {
			if !r.queued {
				r.queued = true
				again = append(again, r)
			}
		}
		u.mu.Unlock()
		for _, r := range again {
			if !s.send(&r.w) {
				r.done(ErrClosed)
			}
		}
	}
}

// dropUnwritten reports the kept events as lost, once the store is closed.
func (s *Store) dropUnwritten() {
	u := &s.unwritten
	u.mu.Lock()
	ops := u.ops
	u.ops, u.bytes = nil, 0
	hook := u.hook
	u.mu.Unlock()
	for _, r := range ops {
		s.inflight.Delete(r.key)
		r.rec.release()
		if hook != nil {
			hook(RecordFailure{EventID: r.id(), Err: ErrStoppedUnwritten})
		}
	}
}

// unwrittenEvent returns the kept event id, if it is one.
func (s *Store) unwrittenEvent(id uint64) *Event {
	u := &s.unwritten
	u.mu.Lock()
	defer u.mu.Unlock()
	r := u.ops[id]
	if r == nil {
		return nil
	}
	ev := new(Event)
	if decodeEvent(r.rec.event, ev) != nil {
		return nil
	}
	ev.ID = id
	return ev
}
