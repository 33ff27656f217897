package engine

import (
	"errors"
	"log/slog"
	"slices"
	"time"

	"hookd/store"
)

// resaveMax bounds the wait between two tries to record a final state.
const resaveMax = 30 * time.Second

// snapshot copies a job's state as it is now, for a later write.
func snapshot(j *store.Job) *store.Job {
	c := *j
	c.Attempts = slices.Clone(j.Attempts)
	c.OnFailure = slices.Clone(j.OnFailure)
	return &c
}

// resave writes a job's final state again, after a backoff that doubles up
// to resaveMax, until the store records it, another node holds the job, or
// the store is closed. While it waits the job stays this node's (a shared
// store's lease is renewed as soon as the database answers), so no other
// node runs it again meanwhile. One timer per job whose end is unrecorded:
// at most the jobs that ended while the store failed.
func (d *dispatcher) resave(j *store.Job, log *slog.Logger, try int) {
	delay := min(time.Second<<min(try-1, 5), resaveMax)
	time.AfterFunc(delay, func() {
		err := d.e.store.SaveJob(j, store.Wait, nil)
		switch {
		case err == nil:
			log.Info("recorded the job's state at last", "state", j.State, "tries", try+1)
		case notHeld(err), errors.Is(err, store.ErrClosed):
			log.Warn("gave up recording the job's state", "state", j.State, "error", err)
		default:
			if try%10 == 0 {
				log.Error("still cannot record the job's state", "state", j.State, "tries", try+1, "error", err)
			}
			d.resave(j, log, try+1)
		}
	})
}
