package engine

import (
	"context"
	"net/http"
	"time"
)

// AdminHeader is set on every answer of the admin API, so that the command
// line tells it from another server at the address it was given (the
// webhook port passed as -admin answers 404 too).
const AdminHeader = "Hookd-Admin"

// StoppingHeader is set on the admin API's answers while hookd shuts down:
// the time (RFC 3339) by which it kills the actions still running.
const StoppingHeader = "Hookd-Stopping"

// markStopping records that the shutdown drain began, and until when it
// waits for running actions.
func (e *Engine) markStopping(ctx context.Context) {
	until, ok := ctx.Deadline()
	if !ok {
		until = time.Now().Add(e.Config().ShutdownTimeout)
	}
	e.stopping.Store(until.UnixNano())
}

// adminState marks the admin API's answers as its own and, while hookd
// shuts down, says so; the drain then refuses changes (replay, run,
// rematch), which would queue jobs no worker takes any more.
func (e *Engine) adminState(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(AdminHeader, "1")
		if ns := e.stopping.Load(); ns != 0 {
			until := time.Unix(0, ns)
			w.Header().Set(StoppingHeader, until.Format(time.RFC3339))
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				errorJSON(w, http.StatusServiceUnavailable, "hookd is shutting down: it waits for its running actions "+
					"(until "+until.Local().Format(time.TimeOnly)+" at the latest), then stops; run this again once it has started")
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// drainAdmin stops the admin API once the running actions are done,
// letting the answers under way finish for a moment.
func (e *Engine) drainAdmin() {
	if e.admin == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if e.admin.Shutdown(ctx) != nil {
		_ = e.admin.Close()
	}
}
