package store

import (
	"time"

	bolt "go.etcd.io/bbolt"
)

// Redelivery is a redelivery of an event that queued its rules again (a
// source with `redelivery: retry_failed`).
type Redelivery struct {
	At   time.Time `json:"at"`
	Jobs []uint64  `json:"jobs"`
}

// Retryable returns the event id names when it has jobs and all of them
// ended failed or cancelled: what a redelivery may run again. It is a
// quick look outside any write; Redeliver decides.
func (s *Store) Retryable(id uint64) (*Event, bool) {
	var ev *Event
	var ok bool
	_ = s.view(func(tx *bolt.Tx) error {
		var err error
		ev, err = getEvent(tx, id)
		if err == nil {
			ok = retryable(tx, ev)
		}
		return nil
	})
	return ev, ok
}

// Redeliver adds jobs to an event for a redelivery received at, durably,
// if all the event's jobs ended failed or cancelled; it reports whether it
// did. The check is made in the transaction that adds the jobs, so of two
// copies arriving at once one queues them and the other finds them queued.
func (s *Store) Redeliver(eventID uint64, jobs []*Job, at time.Time) (bool, error) {
	var added bool
	err := s.update(func(tx *bolt.Tx) error {
		added = false
		ev, err := getEvent(tx, eventID)
		if err != nil || !retryable(tx, ev) {
			return nil // not an error of this write: the caller answers duplicate
		}
		r := Redelivery{At: at}
		for _, j := range jobs {
			r.Jobs = append(r.Jobs, j.ID)
		}
		ev.Redeliveries = append(ev.Redeliveries, r)
		added = true
		return putJobs(tx, ev, jobs)
	})
	return added && err == nil, err
}

// retryable reports whether ev has jobs and all of them ended failed or
// cancelled. A job that is still open, done or superseded, or that is no
// longer stored, makes it not retryable.
func retryable(tx *bolt.Tx, ev *Event) bool {
	if len(ev.Jobs) == 0 {
		return false
	}
	for _, id := range ev.Jobs {
		j, err := getJob(tx, id)
		if err != nil || (j.State != Failed && j.State != Cancelled) {
			return false
		}
	}
	return true
}

// getEvent reads and decodes an event in tx.
func getEvent(tx *bolt.Tx, id uint64) (*Event, error) {
	v := tx.Bucket(bEvents).Get(itob(id))
	if v == nil {
		return nil, ErrNotFound
	}
	ev := new(Event)
	return ev, decodeEvent(v, ev)
}

// putJobs writes new open jobs of ev, adds them to its list and rewrites
// ev.
func putJobs(tx *bolt.Tx, ev *Event, jobs []*Job) error {
	jb, open := appending(tx, bJobs), appending(tx, bOpen)
	for _, j := range jobs {
		ev.Jobs = append(ev.Jobs, j.ID)
		if err := jb.Put(itob(j.ID), appendJob(nil, j)); err != nil {
			return err
		}
		if err := open.Put(itob(j.ID), nil); err != nil {
			return err
		}
	}
	return appending(tx, bEvents).Put(itob(ev.ID), appendEvent(nil, ev))
}

// SetAnswer records what an event's sender was answered once it is known
// after the event was recorded (respond.wait), without waiting for the
// disk: a crash before the commit leaves the answer recorded with the
// event, the fallback. An event pruned meanwhile is left alone.
func (s *Store) SetAnswer(eventID uint64, a *Answer, failed func(error)) {
	w := &write{fn: func(tx *bolt.Tx) error {
		ev, err := getEvent(tx, eventID)
		if err != nil {
			return nil
		}
		ev.Answer = a
		return appending(tx, bEvents).Put(itob(ev.ID), appendEvent(nil, ev))
	}, after: func(err error) {
		if err != nil && failed != nil {
			failed(err)
		}
	}}
	if !s.send(w) && failed != nil {
		failed(ErrClosed)
	}
}
