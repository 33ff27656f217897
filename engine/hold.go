package engine

import (
	"log/slog"
	"time"

	"hookd/store"
)

// hold keeps a job whose rule is not in the configuration. A git pull or
// an rsync --delete can remove a rules file for a moment, so the job waits
// until grace after the rule left (since), holding no worker (a timer, as a
// retry), and runs if a reload brings its rule back; after that it is
// cancelled. Every job of the rule has the same deadline, however late a
// lane brings it to the head. The deadline is kept in the job's NextAt
// (its state stays queued), so a restart neither runs it early nor gives
// it a new grace.
func (d *dispatcher) hold(j *store.Job, grace time.Duration, since time.Time, log *slog.Logger) {
	now := time.Now().UTC()
	if j.State != store.Queued || j.NextAt.IsZero() {
		j.State, j.NextAt, j.Updated = store.Queued, since.Add(grace), now
		j.Error = "held: rule " + j.Rule + " is not in the configuration; cancelled at " +
			j.NextAt.Format(time.RFC3339) + " unless a reload brings it back"
		if j.NextAt.After(now) {
			d.save(j, store.Later, log)
			log.Warn("job held: its rule is not in the configuration", "until", j.NextAt.Format(time.RFC3339))
		}
	}
	if wait := j.NextAt.Sub(now); wait > 0 {
		d.mu.Lock()
		d.held[j.ID] = j
		d.scheduleLocked(j, wait)
		d.mu.Unlock()
		return
	}
	j.State, j.NextAt, j.Updated = store.Cancelled, time.Time{}, now
	j.Error = "cancelled: rule " + j.Rule + " is not in the configuration (waited " + grace.String() + " for it to come back)"
	d.save(j, store.Later, log)
	log.Warn("job cancelled: its rule was removed", "grace", grace.String())
	d.e.met.jobOutcome(j.Rule, "cancelled")
	d.finished(j, true, 0)
}
