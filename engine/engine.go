// Package engine is the running daemon: it receives webhooks, records them
// in the store, and runs the matched rules' actions with a bounded pool of
// workers. Its configuration is one immutable rules.Set behind an atomic
// pointer; a reload builds a new one and swaps it in whole.
package engine

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"hookd/rules"
	"hookd/store"
	"hookd/verify"
)

// Options configure an Engine.
type Options struct {
	Config rules.Config
	Logger *slog.Logger
	// Environ is the daemon's environment, of which processes get only
	// the allow-list of rules.Set.ActionEnviron (default os.Environ()).
	Environ []string
	// Lookup reads variables for ${VAR} in rules (default os.LookupEnv).
	Lookup func(string) (string, bool)
	// Listener, when set, is used instead of listening on Config.Listen.
	Listener net.Listener
	// ReloadConfig reads hookd.yaml again on reload, with the command
	// line's overrides (default: rules.LoadConfig of Config.File).
	ReloadConfig func() (rules.Config, error)
	// LogLevel, when set, is the logger's level; a reload sets it.
	LogLevel *slog.LevelVar
	// NoWatch turns off watching the rules directory and hookd.yaml.
	NoWatch bool
	// Version is reported by hookd_build_info.
	Version string
	// CertCheckInterval is how often at most the TLS certificate files are
	// checked for a change (default 10s).
	CertCheckInterval time.Duration
	// BeforeReload, when set, is called as every reload starts (SIGHUP or
	// file watcher), and the function it returns as the reload ends: the
	// systemd notify protocol wants RELOADING=1 ... READY=1 around both.
	BeforeReload func() (after func(error))
	// UI, when set, builds the dashboard, served on Config.UI.Listen.
	UI func(*Engine) (http.Handler, error)
	// Context, when set, ends New's wait for a database server that
	// cannot be reached at start (SIGTERM meanwhile).
	Context context.Context
	// StoreWait, when set, is told each time New could not reach the
	// database and waits to try again (the error has no secret).
	StoreWait func(error)
}

// live is what requests and jobs read: swapped whole on reload.
type live struct {
	set     *rules.Set
	cfg     rules.Config // the settings in force; see reload.go
	baseEnv []string     // what actions inherit of Environ
	redact  *strings.Replacer
	secrets *verify.Secrets           // what redactRecord looks for
	limits  map[string]*sourceLimiter // by source name; see ratelimit.go
	// ruleNames are the rules of set, sorted: what a shared store's
	// claims are limited to.
	ruleNames []string
	// gone holds the rules an earlier configuration of this process had
	// and set lacks, and since when: their jobs are held for
	// removed_rule_grace from then (hold.go).
	gone map[string]time.Time
}

// Engine is a running hookd.
type Engine struct {
	opts  Options
	cfg   rules.Config
	began time.Time // when New made it: a rule missing since start is gone since then
	log   *slog.Logger
	store store.Backend
	live  atomic.Pointer[live]
	disp  *dispatcher
	met   *metrics
	// refusals rate-limits the log lines of refused requests.
	refusals *refusals
	// waits holds the requests a respond.wait keeps open for a job's
	// first action.
	waits answerWaits
	// recent keeps the events accepted last, for their jobs' start.
	recent *recentEvents
	// bodyDir holds HOOKD_BODY_FILE's files (absolute).
	bodyDir string
	// ua is what http and slack actions send unless a rule sets one.
	ua string

	srv      *http.Server
	ln       net.Listener
	conns    *connTracker
	serveErr chan error
	ready    atomic.Bool
	ping     pinger // readiness of a shared store
	reloadMu sync.Mutex
	// readCfg is hookd.yaml as the last reload read it (nil: not read
	// since the start), under reloadMu.
	readCfg *rules.Config

	admin   *http.Server
	adminLn net.Listener
	// stopping is the unix nanoseconds of the shutdown drain's deadline,
	// 0 while hookd serves: the admin API says it meanwhile.
	stopping atomic.Int64
	ops      *http.Server // ops.listen's server, nil when unset
	opsLn    net.Listener
	ui       *http.Server // the dashboard's server, nil when it does not listen
	uiLn     net.Listener
	stopBg   chan struct{} // closed at shutdown: the pruner
	bg       sync.WaitGroup
	reloadAt atomic.Int64 // unix nanoseconds of the last reload
	reloadOK atomic.Bool
	// reloadErrs holds the errors of the last reload when it failed.
	reloadErrs atomic.Pointer[[]string]
	watch      *watcher
}

// New loads the rules and opens the store. Nothing listens yet.
func New(opts Options) (*Engine, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if opts.Environ == nil {
		opts.Environ = os.Environ()
	}
	if opts.Lookup == nil {
		opts.Lookup = os.LookupEnv
	}
	e := &Engine{opts: opts, cfg: opts.Config, log: opts.Logger, refusals: newRefusals(opts.Logger), recent: newRecentEvents(), ua: UserAgent(opts.Version),
		began: time.Now().UTC()}
	e.met = newMetrics(e, opts.Version)
	set, err := rules.Load(e.cfg.RulesDir, e.cfg.Rules, opts.Lookup)
	if err != nil {
		if set != nil {
			e.logWarnings(set) // an error must not hide them
		}
		return nil, err
	}
	e.met.loaded(set, nil)
	e.logWarnings(set)
	e.live.Store(e.makeLive(set))
	e.markReload(true)
	ctx := opts.Context
	if ctx == nil {
		ctx = context.Background()
	}
	st, err := e.openStore(ctx)
	if err != nil {
		return nil, err
	}
	e.bodyDir = bodyDir(e.cfg.DataDir)
	if err := prepareBodyDir(e.bodyDir); err != nil {
		st.Close()
		return nil, err
	}
	if _, shared := st.(store.Shared); !shared { // the bbolt lock makes the data directory ours
		if n := killLeftovers(e.bodyDir); n > 0 {
			e.log.Warn("killed processes that a killed hookd's actions had left running, before their jobs run again", "processes", n)
		}
	}
	e.store = st
	if co, ok := e.store.(store.CommitObserver); ok {
		co.SetCommitHook(e.met.commit)
	}
	if rh, ok := e.store.(recordHooker); ok {
		rh.SetRecordHook(e.recordFailed)
	}
	if sh, ok := e.store.(store.Shared); ok {
		e.met.sharedStore(sh)
	}
	e.disp = newDispatcher(e)
	return e, nil
}

func (e *Engine) logWarnings(set *rules.Set) {
	for _, w := range set.Warnings {
		at := w.File
		if w.Line > 0 {
			at = fmt.Sprintf("%s:%d:%d", w.File, w.Line, w.Col)
		}
		e.log.Warn(w.Msg, "at", at)
	}
}

func (e *Engine) makeLive(set *rules.Set) *live {
	lv := newLive(set, e.cfg, e.opts.Environ)
	lv.limits = carryLimits(e.live.Load(), set)
	lv.gone = carryGone(e.live.Load(), set, time.Now().UTC())
	return lv
}

// carryGone returns the rules that prev's configuration had, or had lost,
// and set lacks, with when they left.
func carryGone(prev *live, set *rules.Set, now time.Time) map[string]time.Time {
	if prev == nil {
		return nil
	}
	gone := map[string]time.Time{}
	for name, at := range prev.gone {
		if set.Rules[name] == nil {
			gone[name] = at
		}
	}
	for name := range prev.set.Rules {
		if _, ok := gone[name]; !ok && set.Rules[name] == nil {
			gone[name] = now
		}
	}
	return gone
}

// Rules returns the configuration in force.
func (e *Engine) Rules() *rules.Set { return e.live.Load().set }

// Store returns the engine's store.
func (e *Engine) Store() store.Backend { return e.store }

// Addr returns the address the HTTP server listens on.
func (e *Engine) Addr() string { return e.ln.Addr().String() }

// Start listens and serves, and starts the workers with every job the store
// holds unfinished (at-least-once: a job that was running at a crash runs
// again, its attempt counted).
func (e *Engine) Start() error {
	ln := e.opts.Listener
	if ln == nil {
		var err error
		ln, err = net.Listen("tcp", e.cfg.Listen)
		if err != nil {
			e.store.Close()
			return fmt.Errorf("listen %s: %w", e.cfg.Listen, err)
		}
	}
	e.conns = &connTracker{Listener: ln}
	ln = e.conns
	if e.cfg.TLSCert != "" {
		certs, err := newCertReloader(e.cfg.TLSCert, e.cfg.TLSKey, e.opts.CertCheckInterval, e.log)
		if err != nil {
			ln.Close()
			e.store.Close()
			return err
		}
		ln = tls.NewListener(ln, &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.get})
	}
	e.ln = ln
	if err := e.startOps(); err != nil {
		ln.Close()
		e.store.Close()
		return err
	}
	if err := e.disp.start(); err != nil {
		e.stopOps()
		ln.Close()
		e.store.Close()
		return err
	}
	mux := http.NewServeMux()
	if e.ops == nil {
		e.opsRoutes(mux)
	}
	mux.Handle("/", http.HandlerFunc(e.intake))
	e.srv = &http.Server{
		Handler:           e.hooksFirst(mux),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(e.log.Handler(), slog.LevelDebug),
	}
	if err := e.startAdmin(); err != nil {
		e.disp.stop(context.Background())
		e.stopOps()
		ln.Close()
		e.store.Close()
		return err
	}
	if err := e.startUI(); err != nil {
		e.stopAdmin()
		e.disp.stop(context.Background())
		e.stopOps()
		ln.Close()
		e.store.Close()
		return err
	}
	if !e.opts.NoWatch {
		w, err := e.startWatch()
		if err != nil {
			// Reload still works by SIGHUP.
			e.log.Error("cannot watch the configuration; reload with SIGHUP", "error", err)
		}
		e.watch = w
	}
	e.serveErr = make(chan error, 1)
	go func() { e.serveErr <- e.srv.Serve(ln) }()
	e.stopBg = make(chan struct{})
	if e.cfg.Retention > 0 {
		e.bg.Add(1)
		go e.pruner(e.stopBg)
	}
	e.ready.Store(true)
	attrs := []any{"listen", ln.Addr().String(), "rules_dir", e.cfg.RulesDir, "data_dir", e.cfg.DataDir,
		"sources", len(e.Rules().Sources), "rules", len(e.Rules().Rules), "workers", e.cfg.Workers}
	if e.cfg.Store.Shared() {
		attrs = append(attrs, "store", e.cfg.Store.Driver, "database", e.cfg.Store.Redacted())
	}
	e.log.Info("hookd started", attrs...)
	return nil
}

// Serving returns a channel that yields the HTTP server's error if it stops
// by itself.
func (e *Engine) Serving() <-chan error { return e.serveErr }

// Shutdown stops accepting requests, lets running actions finish until
// ctx is done (then kills their process groups), leaves queued jobs queued,
// and closes the store.
func (e *Engine) Shutdown(ctx context.Context) error {
	e.ready.Store(false)
	e.markStopping(ctx)
	e.log.Info("shutting down")
	e.watch.stop()
	httpCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	// Stop accepting, answer what was accepted (keep-alive off, so each
	// connection closes after its request), then shut the server down.
	_ = e.conns.Close()
	e.srv.SetKeepAlivesEnabled(false)
	e.conns.wait(httpCtx)
	err := e.srv.Shutdown(httpCtx)
	cancel()
	if errors.Is(err, context.DeadlineExceeded) {
		e.srv.Close()
		err = nil
	}
	e.stopUI()
	e.stopOps()
	e.refusals.stop()
	close(e.stopBg)
	e.bg.Wait()
	e.disp.stop(ctx)
	// The admin API answers until the running actions are done: events
	// and show work through the drain, and say hookd is stopping.
	e.drainAdmin()
	if cerr := e.store.Close(); cerr != nil && err == nil {
		err = cerr
	}
	e.log.Info("stopped")
	return err
}
