package engine

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"hookd/store"
	"hookd/verify"
)

// redeliver handles a delivery already recorded as event prev, on a source
// with `redelivery: retry_failed`: if all of the event's jobs ended failed
// or cancelled, its rules that still exist run again, as `hookd replay`
// runs them, and the answer is accepted with the event's id. It reports
// whether it answered; false leaves the answer (duplicate) to the caller.
// ack is the provider's fixed answer, if it has one.
func (e *Engine) redeliver(w http.ResponseWriter, r *http.Request, lv *live, source string, prev uint64, log reqLog, ack *verify.Answer) bool {
	ev, ok := e.store.Retryable(prev)
	if !ok {
		return false
	}
	now := time.Now().UTC()
	jobs, names, _, err := e.rerunJobs(lv, ev, now)
	if err != nil {
		e.storeFailed(w, source, log, err)
		return true
	}
	if len(jobs) == 0 {
		return false // none of its rules remains: nothing to run again
	}
	full := func() bool {
		log.Warn("webhook refused", append(verifiedRefusal(r), slog.String("outcome", "queue_full"), slog.Uint64("event_id", prev))...)
		e.met.request(source, "queue_full")
		w.Header().Set("Retry-After", "30")
		errorJSON(w, http.StatusServiceUnavailable, "queue full, retry later")
		return true
	}
	if !e.disp.admit(len(jobs)) {
		return full()
	}
	// Decided again in the write: another copy may have got there first.
	added, err := e.store.Redeliver(prev, jobs, now)
	if !added {
		e.disp.unadmit(len(jobs))
		if err == nil {
			return false
		}
		if errors.Is(err, store.ErrFull) {
			return full()
		}
		log.Error("webhook not stored", slog.String("outcome", "store_error"), slog.Any("error", err))
		e.met.request(source, "store_error")
		w.Header().Set("Retry-After", "10")
		errorJSON(w, http.StatusServiceUnavailable, "cannot store the event, retry later")
		return true
	}
	e.disp.submit(jobs)
	log.Info("webhook received", slog.String("outcome", "redelivered"), slog.Uint64("event_id", prev), slog.Any("rules", names))
	e.met.request(source, "redelivered")
	writeStatusOr(w, ack, "accepted", prev, names)
	return true
}
