package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"syscall"
	"time"

	"hookd/engine"
	"hookd/rules"
	"hookd/store"
)

// errNotRunning marks a dial that found no daemon: no socket, or nobody
// listening on it.
var errNotRunning = errors.New("no hookd answers")

// asDaemonUser is the advice for a permission error: the socket and the
// database are private to the user the daemon runs as.
const asDaemonUser = "run the command as the user hookd runs as (e.g. sudo -u hookd hookd ...)"

// dialError says why the admin API cannot be reached.
func dialError(addr string, err error) error {
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "dial" {
		return fmt.Errorf("talking to hookd at %s: %w", addr, err)
	}
	switch {
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return fmt.Errorf("permission denied on the admin socket %s: %s", addr, asDaemonUser)
	case errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%w at %s", errNotRunning, addr)
	}
	return fmt.Errorf("cannot reach hookd at %s: %v", addr, err)
}

// readStopped answers a read (events, show) from the database itself when
// no daemon runs: opened read-only, and only when no daemon holds it. A
// write (replay) needs the daemon.
func readStopped(ctx context.Context, cfg rules.Config, method, path string, out any, dialErr error, stderr io.Writer) ([]byte, error) {
	if method != http.MethodGet {
		return nil, fmt.Errorf("%v: replay needs the running daemon; start it (systemctl start hookd) and try again", dialErr)
	}
	db := filepath.Join(cfg.DataDir, "hookd.db")
	st, err := store.OpenReadOnly(cfg.DataDir, 500*time.Millisecond)
	switch {
	case errors.Is(err, store.ErrLocked):
		return nil, fmt.Errorf("a running hookd holds %s but nothing answers at %s: does it use another admin address (admin: in hookd.yaml, -admin)?", db, cfg.AdminPath())
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%v, and there is no database at %s: pass the -config (or -data) the daemon uses", dialErr, db)
	case errors.Is(err, fs.ErrPermission):
		return nil, fmt.Errorf("permission denied reading %s: %s", db, asDaemonUser)
	case err != nil:
		return nil, err
	}
	defer st.Close()
	fmt.Fprintf(stderr, "hookd is not running: reading %s\n", db)
	c := &adminClient{addr: db, hc: &http.Client{Transport: handlerTransport{engine.ReadAdmin(st)}}}
	return c.call(ctx, method, path, out)
}

// handlerTransport answers requests with a handler, in process.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}
