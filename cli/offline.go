package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
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

// ownDataDir is the advice for serve's permission error.
const ownDataDir = "the data directory must belong to the user hookd runs as (install -d -o hookd -m 0700 DIR)"

// dialError says why the admin API cannot be reached.
func dialError(addr string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // not the request's internal URL
	}
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
	return fmt.Errorf("cannot reach hookd at %s: %v", addr, oe.Err)
}

// readStopped answers a read (events, show) from the database itself when
// no daemon runs: opened read-only, and only when no daemon holds it.
func readStopped(ctx context.Context, cfg rules.Config, path string, out any, dialErr error, stderr io.Writer) ([]byte, error) {
	if cfg.Store.Shared() {
		return readShared(ctx, cfg, path, out, dialErr, stderr)
	}
	db := filepath.Join(cfg.DataDir, "hookd.db")
	st, err := store.OpenReadOnly(cfg.DataDir, 500*time.Millisecond)
	switch {
	case errors.Is(err, store.ErrLocked):
		return nil, fmt.Errorf("a running hookd holds %s but nothing answers at %s: it is finishing its shutdown (try again in a moment), "+
			"or it uses another admin address (admin: in hookd.yaml, -admin)", db, cfg.AdminPath())
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
	return c.send(ctx, http.MethodGet, path, nil, out)
}

// readShared answers a read from the shared database when no daemon
// answers on this machine: every node's events are there, whether or not
// a node runs.
func readShared(ctx context.Context, cfg rules.Config, path string, out any, dialErr error, stderr io.Writer) ([]byte, error) {
	octx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	st, err := engine.OpenSharedReader(octx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%v, and the database cannot be read: %v", dialErr, err)
	}
	defer st.Close()
	fmt.Fprintf(stderr, "hookd is not running here: reading the database %s\n", cfg.Store.Redacted())
	c := &adminClient{addr: cfg.Store.Redacted(), hc: &http.Client{Transport: handlerTransport{engine.ReadAdmin(st)}}}
	return c.send(ctx, http.MethodGet, path, nil, out)
}

// handlerTransport answers requests with a handler, in process.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	w := &answer{header: http.Header{}, status: http.StatusOK}
	t.h.ServeHTTP(w, r)
	return &http.Response{StatusCode: w.status, Status: http.StatusText(w.status), Header: w.header,
		Body: io.NopCloser(&w.body), ContentLength: int64(w.body.Len()), Request: r}, nil
}

// answer is the http.ResponseWriter of handlerTransport (httptest's
// recorder would bring its -httptest.serve flag into the binary).
type answer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (a *answer) Header() http.Header         { return a.header }
func (a *answer) Write(p []byte) (int, error) { return a.body.Write(p) }
func (a *answer) WriteHeader(code int)        { a.status = code }

// withUser adds to a permission error which user this command runs as,
// and advice: the data directory and the database belong to the user
// hookd runs as.
func withUser(err error, advice string) error {
	if !errors.Is(err, fs.ErrPermission) {
		return err
	}
	name := strconv.Itoa(os.Getuid())
	if u, uerr := user.Current(); uerr == nil {
		name = u.Username
	}
	return fmt.Errorf("%w (running as user %s: %s)", err, name, advice)
}

// compactErr says why compact cannot open the database: none there, or
// not this user's.
func compactErr(err error, dataDir string) error {
	db := filepath.Join(dataDir, "hookd.db")
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("there is no database at %s: pass the -config (or -data) the daemon uses", db)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("permission denied on %s: %s", db, asDaemonUser)
	}
	return err
}
