package engine

import (
	"context"
	"net/http"
	"sync"
	"time"

	"hookd/store"
)

// pingTimeout bounds a readiness probe's look at a shared store, and
// pingCache is how long its answer stands, so that probes from a load
// balancer (every second or so, from each of several) do not hammer the
// database.
const (
	pingTimeout = time.Second
	pingCache   = time.Second
)

// pinger caches a shared store's Ping for readiness.
type pinger struct {
	mu  sync.Mutex
	at  time.Time
	err error
	was error // the last answer logged: only changes are
}

// storeReady returns nil when the store can commit now. A bbolt store is
// open or the engine is not running: always ready.
func (e *Engine) storeReady(ctx context.Context) error {
	sh, ok := e.store.(store.Shared)
	if !ok {
		return nil
	}
	p := &e.ping
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.at.IsZero() && time.Since(p.at) < pingCache {
		return p.err
	}
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	p.err = sh.Ping(ctx)
	p.at = time.Now()
	switch {
	case p.err != nil && p.was == nil:
		e.log.Error("not ready: the store cannot commit", "error", p.err)
	case p.err == nil && p.was != nil:
		e.log.Info("ready again: the store answers")
	}
	p.was = p.err
	return p.err
}

// readyz is 200 while the engine serves with its configuration loaded and
// its store able to commit; 503 otherwise, so that a load balancer sends
// webhooks to another node.
func (e *Engine) readyz(w http.ResponseWriter, r *http.Request) {
	if !e.ready.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready"})
		return
	}
	if err := e.storeReady(r.Context()); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": "the database cannot be reached"})
		return
	}
	writeJSON(w, 200, map[string]string{"status": "ready"})
}
