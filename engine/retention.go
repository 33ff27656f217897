package engine

import (
	"time"
)

// pruneBatch bounds one pruning transaction, so intake's writes, which
// share the committer, never wait long behind it.
const pruneBatch = 500

// pruneInterval is how often the pruner runs: often enough that the
// database stays near its steady size, rarely enough to cost nothing.
func pruneInterval(retention time.Duration) time.Duration {
	return min(max(retention/24, time.Minute), time.Hour)
}

// pruner deletes finished events older than retention (failed ones older
// than failed_retention, if set) until stop closes.
func (e *Engine) pruner(stop <-chan struct{}) {
	defer e.bg.Done()
	t := time.NewTimer(time.Minute) // let a restart's recovery settle first
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		_, _ = e.prune(time.Now())
		t.Reset(pruneInterval(e.cfg.Retention))
	}
}

// prune runs one pass of the retention policy as of now.
func (e *Engine) prune(now time.Time) (int, error) {
	start := time.Now()
	var failedCutoff time.Time // zero: failed events are kept
	if e.cfg.FailedRetention > 0 {
		failedCutoff = now.Add(-e.cfg.FailedRetention)
	}
	n, err := e.store.Prune(now.Add(-e.cfg.Retention), failedCutoff, pruneBatch)
	if err != nil {
		e.log.Error("pruning old events failed", "error", err)
		return n, err
	}
	if n > 0 {
		e.log.Info("pruned old events", "events", n, "retention", e.cfg.Retention, "took", time.Since(start).Round(time.Millisecond))
	}
	return n, nil
}
