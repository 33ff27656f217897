package store

import (
	"errors"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// Rematch records, durably and in one transaction, jobs for rules an
// event now matches: the rules join the event's rules and its rematched
// list. Unless force, a rule already rematched for the event is left out
// (two rematches racing queue it once); the jobs written are returned.
func (s *Store) Rematch(eventID uint64, jobs []*Job, force bool) ([]*Job, error) {
	var done []*Job
	err := s.update(func(tx *bolt.Tx) error {
		done = done[:0]
		ev, err := getEvent(tx, eventID)
		if errors.Is(err, ErrNotFound) {
			return notFound(eventID)
		}
		if err != nil {
			return err
		}
		done = ev.AddRematched(jobs, force, done)
		for _, j := range done {
			if err := openJob(tx, j); err != nil {
				return err
			}
		}
		if len(done) == 0 {
			return nil
		}
		ev.Status = "accepted"
		return appending(tx, bEvents).Put(itob(ev.ID), appendEvent(nil, ev))
	})
	return done, err
}

// AddRematched lists in ev the jobs of a rematch, as both backends record
// them: the jobs join ev's jobs, their rules its rules and its rematched
// list; unless force, a rule already rematched is left out. It appends the
// jobs to record to done and returns it.
func (ev *Event) AddRematched(jobs []*Job, force bool, done []*Job) []*Job {
	for _, j := range jobs {
		if !force && slices.Contains(ev.Rematched, j.Rule) {
			continue
		}
		ev.Jobs = append(ev.Jobs, j.ID)
		if !slices.Contains(ev.Rules, j.Rule) {
			ev.Rules = append(ev.Rules, j.Rule)
		}
		if !slices.Contains(ev.Rematched, j.Rule) {
			ev.Rematched = append(ev.Rematched, j.Rule)
		}
		done = append(done, j)
	}
	return done
}

// openJob writes a new job and puts it in the open index.
func openJob(tx *bolt.Tx, j *Job) error {
	if err := appending(tx, bJobs).Put(itob(j.ID), appendJob(nil, j)); err != nil {
		return err
	}
	return appending(tx, bOpen).Put(itob(j.ID), nil)
}
