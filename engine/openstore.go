package engine

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"hookd/store"
)

// storeRetry is how often hookd tries again to open a database server it
// cannot reach at start.
const storeRetry = 3 * time.Second

// openStore opens the configured store: bbolt in data_dir, or a shared
// database. A database server that cannot be reached at start is waited
// for, with a line logged at each try, until ctx is done: a node that
// restarts while the database restarts (a host reboot, a failover) comes
// up when the database does, where exiting would leave the restart to a
// service manager that gives up after a few tries. A database that answers
// but refuses (a wrong password, no such database, a schema newer than
// this binary) will not get better by waiting: that fails at once.
func (e *Engine) openStore(ctx context.Context) (store.Backend, error) {
	if !e.cfg.Store.Shared() {
		return store.Open(e.cfg.DataDir)
	}
	redact := e.cfg.Redactor()
	for try := 1; ; try++ {
		st, err := e.openShared(ctx)
		if err == nil {
			if try > 1 {
				e.log.Info("database reached: starting", "database", e.cfg.Store.Redacted(), "tries", try)
			}
			return st, nil
		}
		msg := redact.Replace(err.Error())
		if !unreachable(err) || ctx.Err() != nil {
			return nil, errors.New("store: " + msg)
		}
		e.log.Warn("cannot reach the database; trying again", "database", e.cfg.Store.Redacted(), "in", storeRetry.String(), "error", msg)
		if e.opts.StoreWait != nil {
			e.opts.StoreWait(errors.New(msg))
		}
		t := time.NewTimer(storeRetry)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, errors.New("store: " + msg + " (gave up: stopped while waiting for the database)")
		case <-t.C:
		}
	}
}

// unreachable tells an error that waiting may cure: no connection to the
// server, or a server starting, stopping or out of connections.
func unreachable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code[:min(2, len(pe.Code))] {
		case "08", "53", "57": // connection exception, insufficient resources, operator intervention
			return true
		}
		// Not accepting connections (ALTER DATABASE ... ALLOW_CONNECTIONS
		// false): maintenance, lifted after.
		return pe.Code == "55000"
	}
	var ne net.Error
	return errors.As(err, &ne) || pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ENOENT) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}
