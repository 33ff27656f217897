package engine

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"hookd/rules"
	"hookd/store"
	"hookd/store/pgstore"
)

// openShared opens the PostgreSQL store: its schema is created or
// upgraded, and this process registers its lease.
func (e *Engine) openShared(ctx context.Context) (store.Backend, error) {
	c := e.cfg.Store
	return pgstore.Open(ctx, pgstore.Options{URL: c.URL, MaxConns: int32(c.MaxConns), Lease: c.Lease, Node: e.cfg.NodeName(), Logger: e.log,
		Timeout: callTimeout})
}

// callTimeout bounds each of the store's calls: with the database
// unreachable, intake answers 503 within about twice this, well inside
// the 10 s a sender such as GitHub waits for an answer.
const callTimeout = 3 * time.Second

// OpenSharedReader opens cfg's shared store for the command line's reads
// (events, show) when no daemon answers on this machine: the database
// holds what every node recorded, whether or not any node runs. It does
// not wait for a database it cannot reach; errors hold no password.
func OpenSharedReader(ctx context.Context, cfg rules.Config) (store.Backend, error) {
	c := cfg.Store
	st, err := pgstore.Open(ctx, pgstore.Options{URL: c.URL, MaxConns: 2, Lease: c.Lease, Node: cfg.NodeName() + "/cli",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return nil, errors.New(cfg.Redactor().Replace(err.Error()))
	}
	return st, nil
}
