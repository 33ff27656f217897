// Package pgstore keeps hookd's events and jobs in PostgreSQL, for several
// hookd processes sharing one database (store.Shared). Intake writes go
// through a committer goroutine that groups concurrent calls into one
// transaction (group commit, pipelined); jobs are held by no process until
// one claims them (ClaimRunnable), under a lease its process renews.
//
// The schema is created and upgraded at Open by versioned migrations
// embedded in the binary (goose), under a PostgreSQL advisory lock, so
// processes starting together migrate once.
package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"hookd/store"
)

// Options configure Open.
type Options struct {
	// URL is a PostgreSQL connection URL or keyword/value string. Its
	// password never appears in an error or a log line.
	URL string
	// MaxConns bounds the pool (default 10).
	MaxConns int32
	// Lease is how long this process's hold on its jobs outlives its last
	// renewal (default 30 s); it renews every Lease/10.
	Lease time.Duration
	// Node names this process in logs (default: the hostname). Leases
	// belong to a process id made at each Open, never to a node name.
	Node string
	// Logger receives the store's own messages (default: none); it
	// carries the node name when the caller wants one.
	Logger *slog.Logger
	// Timeout bounds one call's round trips (default 5 s): with the
	// database unreachable, calls fail within about twice this.
	Timeout time.Duration
}

// Store is an open PostgreSQL store, one process's view of it.
type Store struct {
	pool     *pgxpool.Pool
	opt      Options
	id       string // this process, the holder of its claims
	password string
	log      *slog.Logger

	ops        chan *op // to the ordered committer: job progress, answers
	intake     chan *op // to the intake committers: events
	closeMu    sync.RWMutex
	closed     atomic.Bool
	committers sync.WaitGroup
	closing    sync.Once

	idReqs  chan chan idResult // event ids, batched by idLoop
	jobMu   sync.Mutex
	jobNext uint64 // next job id of the block held
	jobEnd  uint64 // first id past the block

	wake     chan struct{}
	noteC    chan struct{} // notices queued (notify.go)
	noteMu   sync.Mutex
	notes    []string
	due      chan time.Time // a next_at to wake at
	bgctx    context.Context
	bgstop   context.CancelFunc
	bg       sync.WaitGroup
	renewOff atomic.Bool // StopRenewing (tests)
	lease    leaseState  // lease.go

	procPruned     atomic.Int64  // when pruneGone last ran (unix ns)
	procPruneEvery time.Duration // processPruneEvery; tests shorten it

	// claimPause, if set, runs after a claim's candidates are read (1)
	// and after their lanes are checked (2): tests let another process
	// act there.
	claimPause func(stage int)

	maxQueued  atomic.Int64
	queued     atomic.Int64
	open       openBase // the last exact count of queued, for bounds
	commitHook atomic.Pointer[func(time.Duration, int)]
}

var (
	_ store.Shared         = (*Store)(nil)
	_ store.CommitObserver = (*Store)(nil)
	_ store.OpenCounter    = (*Store)(nil)
)

// Open connects, migrates the schema, and registers this process. A
// database whose schema is newer than this binary is refused.
func Open(ctx context.Context, o Options) (*Store, error) {
	if err := CheckURL(o.URL); err != nil {
		return nil, fmt.Errorf("store url: %w", err)
	}
	cfg, err := pgxpool.ParseConfig(o.URL)
	if err != nil {
		return nil, fmt.Errorf("store url: %s", parseReason(o.URL, err))
	}
	pw := cfg.ConnConfig.Password
	if o.MaxConns <= 0 {
		o.MaxConns = 10
	}
	if o.Lease <= 0 {
		o.Lease = 30 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.Node == "" {
		o.Node, _ = os.Hostname()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	// pg_stat_activity and the server's logs tell the nodes apart, unless
	// the URL (or PGAPPNAME) names the connections itself.
	if _, set := cfg.ConnConfig.RuntimeParams["application_name"]; !set {
		cfg.ConnConfig.RuntimeParams["application_name"] = "hookd " + o.Node
	}
	cfg.MaxConns = o.MaxConns
	cfg.ConnConfig.ConnectTimeout = o.Timeout
	cfg.HealthCheckPeriod = 10 * time.Second
	withoutJIT(cfg)
	if err := migrate(ctx, cfg.ConnConfig, o.Logger); err != nil {
		return nil, redact(err, pw)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, redact(err, pw)
	}
	var b [12]byte
	rand.Read(b[:])
	s := &Store{pool: pool, opt: o, id: hex.EncodeToString(b[:]), password: pw, log: o.Logger,
		ops: make(chan *op, 4096), intake: make(chan *op, 4096), idReqs: make(chan chan idResult),
		wake: make(chan struct{}, 1), noteC: make(chan struct{}, 1), due: make(chan time.Time, 16)}
	s.lease.init()
	s.procPruneEvery = processPruneEvery
	s.bgctx, s.bgstop = context.WithCancel(context.Background())
	octx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	_, err = pool.Exec(octx, `INSERT INTO processes (id, node, lease_until, lease) VALUES ($1, $2, now() + make_interval(secs => $3), make_interval(secs => $3))`,
		s.id, o.Node, o.Lease.Seconds())
	if err != nil {
		pool.Close()
		return nil, s.clean(fmt.Errorf("registering this process: %w", err))
	}
	s.committers.Add(1 + intakeCommitters)
	go s.commitLoop(s.ops)
	for range intakeCommitters {
		go s.commitLoop(s.intake)
	}
	s.start(s.idLoop, s.renewLoop, s.leaseWatch, s.listenLoop, s.timerLoop, s.refreshLoop, s.notifyLoop)
	return s, nil
}

func (s *Store) start(loops ...func()) {
	for _, f := range loops {
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			f()
		}()
	}
}

// Node is this process's node name.
func (s *Store) Node() string { return s.opt.Node }

// Process is this process's id, the holder of its claims.
func (s *Store) Process() string { return s.id }

// SetCommitHook sets a function told each group commit's duration and
// number of writes.
func (s *Store) SetCommitHook(f func(d time.Duration, writes int)) { s.commitHook.Store(&f) }

// Ping returns nil when a round trip to the database succeeds.
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	ctx, cancel := context.WithTimeout(ctx, s.opt.Timeout)
	defer cancel()
	_, err := s.pool.Exec(ctx, "SELECT 1")
	return s.clean(err)
}

// Close makes queued writes durable, expires this process's lease so that
// the jobs it holds are claimable at once, and closes the pool.
func (s *Store) Close() error {
	var err error
	s.closing.Do(func() {
		s.stopWrites()
		s.committers.Wait()
		// The loops end first: a renewal must not follow the lease given
		// back.
		s.bgstop()
		s.bg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), s.opt.Timeout)
		defer cancel()
		// After an outage the pool may still hold a connection the server
		// ended: a statement that never left is sent again, on another.
		for try := 0; try < 2; try++ {
			_, err = s.pool.Exec(ctx, `WITH x AS (UPDATE processes SET lease_until = '-infinity' WHERE id = $1)
				SELECT pg_notify('`+channel+`', '')`, s.id)
			if err == nil || !pgconn.SafeToRetry(err) {
				break
			}
		}
		err = s.clean(err)
		s.pool.Close()
	})
	return err
}

// Abandon ends this store as a crash would: it stops renewing the lease
// and drops its connections, releasing nothing; its jobs come back to
// other processes when the lease runs out. For tests.
func (s *Store) Abandon() {
	s.closing.Do(func() {
		s.renewOff.Store(true)
		s.stopWrites()
		s.committers.Wait()
		s.bgstop()
		s.bg.Wait()
		s.pool.Close()
	})
}

// StopRenewing stops the lease renewal while the store stays open, as a
// process stalled for longer than its lease. For tests.
func (s *Store) StopRenewing() { s.renewOff.Store(true) }

// ResumeRenewing undoes StopRenewing: the process renews again, and
// Rejoin works once more. For tests.
func (s *Store) ResumeRenewing() { s.renewOff.Store(false) }

func (s *Store) stopWrites() {
	s.closeMu.Lock()
	s.closed.Store(true)
	close(s.ops)
	close(s.intake)
	s.closeMu.Unlock()
}

// ctx returns a context bounding one call.
func (s *Store) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.opt.Timeout)
}

// clean returns err with the URL's password masked, and says that it
// came from the database, but for the store's own errors.
func (s *Store) clean(err error) error {
	if err == nil {
		return nil
	}
	for _, own := range []error{store.ErrNotFound, store.ErrClosed, store.ErrFull, store.ErrNotHeld, store.ErrDuplicate} {
		if errors.Is(err, own) {
			return err
		}
	}
	return redact(fmt.Errorf("postgres: %w", err), s.password)
}

// redact returns err, or, if its message holds the password, an error
// with the same message and the password masked (and nothing to unwrap
// that could print it). A message of several lines (pgx's connection
// errors list each address tried on a line of its own) becomes one: an
// error is one line in a log or on a terminal.
func redact(err error, password string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if password != "" && strings.Contains(msg, password) {
		return errors.New(oneLine(strings.ReplaceAll(msg, password, "xxxxx")))
	}
	if strings.ContainsAny(msg, "\r\n") {
		return flatError{oneLine(msg), err}
	}
	return err
}

// flatError is an error's chain with its message on one line.
type flatError struct {
	msg string
	err error
}

func (e flatError) Error() string { return e.msg }
func (e flatError) Unwrap() error { return e.err }

// oneLine joins the lines of msg with "; ", without their indentation.
func oneLine(msg string) string {
	lines := strings.FieldsFunc(msg, func(r rune) bool { return r == '\n' || r == '\r' })
	out := lines[:0]
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, strings.TrimSuffix(l, ":"))
		}
	}
	return strings.Join(out, "; ")
}

// passwordOf finds the password in a connection string that failed to
// parse, so that the parse error can be masked too.
func passwordOf(u string) string {
	if _, kv, ok := strings.Cut(u, "password="); ok && !strings.Contains(u, "://") {
		pw, _, _ := strings.Cut(strings.Trim(kv, "'"), " ")
		return strings.TrimRight(pw, "'")
	}
	rest, ok := strings.CutPrefix(u, "postgres://")
	if !ok {
		rest, ok = strings.CutPrefix(u, "postgresql://")
	}
	if !ok {
		return ""
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return ""
	}
	_, pw, ok := strings.Cut(rest[:at], ":")
	if !ok {
		return ""
	}
	return pw
}
