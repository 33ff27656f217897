package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Save is how SaveJob writes: Wait returns once the state is durable; Soon
// commits it at once without making the caller wait; Later lets it ride
// with a later commit (up to asyncDelay), for states nothing depends on.
// Started is for a running mark: SaveJob returns once the state would
// outlive a crash of this process (not of the machine; see startLog) and
// the mark rides with a later commit, as Later; a backend with no such
// log treats it as Wait. A done job saved Soon or Later outlives such a
// crash the same way.
type Save int

const (
	Wait Save = iota
	Soon
	Later
	Started
)

// SaveJob writes a job's new state. A final job leaves the open index. A
// write that is not waited for reports its failure to failed, if not nil.
func (s *Store) SaveJob(j *Job, how Save, failed func(error)) error {
	data := appendJob(make([]byte, 0, 256), j)
	// An async write commits later, while the caller goes on changing j:
	// read what the write needs now, so the open index matches the data.
	id, final := itob(j.ID), Final(j.State)
	fn := func(tx *bolt.Tx) error {
		if err := appending(tx, bJobs).Put(id, data); err != nil {
			return err
		}
		if final {
			return tx.Bucket(bOpen).Delete(id)
		}
		return appending(tx, bOpen).Put(id, nil)
	}
	var slot slotUse
	logged := false
	if m, ok := markOf(j, how); ok {
		var err error
		if slot, logged, err = s.starts.write(m); err != nil {
			return err
		}
		if !logged && how == Started { // every slot awaits its commit
			how = Wait
		} else if !logged {
			how = Soon // a done job then costs a commit of its own
		}
	}
	if how == Wait {
		return s.update(fn)
	}
	var after func(error)
	if failed != nil || logged {
		jobID := j.ID
		after = func(err error) {
			if err == nil && logged {
				s.starts.release(jobID, slot)
			}
			if err != nil && failed != nil {
				failed(err)
			}
		}
	}
	if !s.send(&write{fn: fn, after: after, now: how == Soon}) {
		if how == Started {
			// Nothing may start: the mark is taken back, so that the next
			// start does not count an attempt that never ran.
			s.starts.undo(j.ID, slot)
			return ErrClosed
		}
		if after != nil {
			after(ErrClosed)
		}
	}
	return nil
}

// AddJobs records new jobs for an existing event (replay) durably.
func (s *Store) AddJobs(eventID uint64, jobs []*Job) error {
	return s.update(func(tx *bolt.Tx) error {
		ev, err := getEvent(tx, eventID)
		if err != nil {
			return fmt.Errorf("event %d: %w", eventID, err)
		}
		return putJobs(tx, ev, jobs)
	})
}
