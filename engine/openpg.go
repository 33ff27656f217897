package engine

import (
	"context"

	"hookd/store"
	"hookd/store/pgstore"
)

// openShared opens the PostgreSQL store: its schema is created or
// upgraded, and this process registers its lease.
func (e *Engine) openShared(ctx context.Context) (store.Backend, error) {
	c := e.cfg.Store
	return pgstore.Open(ctx, pgstore.Options{URL: c.URL, MaxConns: int32(c.MaxConns), Lease: c.Lease, Node: e.cfg.NodeName(), Logger: e.log})
}
