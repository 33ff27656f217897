package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"hookd/engine"
	"hookd/sdnotify"
	"hookd/ui"
)

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("serve", stdout, stderr)
	cf := addConfigFlags(fs, withRules|withData|withListen).withAdmin()
	if code, ok := parse(fs, args); !ok {
		return code
	}
	cfg, err := cf.load()
	if err != nil {
		printErr(stderr, "serve", err)
		return 1
	}
	log, level := newLogger(cfg, stderr)
	if cfg.Store.Shared() {
		// Several nodes log to one place: every line says which. One node
		// on bbolt keeps its lines as they were (journald has the host).
		log = log.With("node", cfg.NodeName())
	}
	// Before engine.New, which passes the environment on to actions.
	ln, err := inheritedListener(cfg, log)
	if err != nil {
		printErr(stderr, "serve", err)
		return 1
	}
	e, err := newServeEngine(ctx, engine.Options{Config: cfg, Logger: log, LogLevel: level, ReloadConfig: cf.load, Version: version(), Listener: ln})
	if err != nil {
		printErr(stderr, "serve", withUser(err, ownDataDir))
		if ctx.Err() != nil {
			return 0 // stopped while waiting for the database: as asked
		}
		return 1
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if err := e.Start(); err != nil {
		printErr(stderr, "serve", err)
		return 1
	}
	// Rules loaded, database open, listener bound: only now is hookd ready.
	notify(log, "READY=1\nSTATUS="+status(e))
	wctx, stopWatchdog := context.WithCancel(context.Background())
	defer stopWatchdog()
	go func() { _ = sdnotify.Watchdog(wctx) }()
	return serveUntilStopped(ctx, e, hup, log)
}

// newServeEngine creates the daemon's engine from o, adding the dashboard
// and the hooks that keep systemd told of the database wait and reloads.
func newServeEngine(ctx context.Context, o engine.Options) (*engine.Engine, error) {
	log := o.Logger
	var e *engine.Engine
	o.UI = func(e *engine.Engine) (http.Handler, error) {
		s, err := ui.New(e, log)
		if err != nil {
			return nil, err
		}
		return s.Handler(), nil
	}
	o.Context = ctx
	o.StoreWait = func(err error) {
		// Not ready until the database opens: tell systemd why, and
		// that the start is not stuck (TimeoutStartSec would kill it).
		notify(log, "EXTEND_TIMEOUT_USEC=30000000\nSTATUS=waiting for the database: "+err.Error())
	}
	o.BeforeReload = func() func(error) {
		if _, err := sdnotify.Reloading(); err != nil {
			log.Warn("sd_notify", "error", err)
		}
		return func(err error) {
			msg := "READY=1\nSTATUS=" + status(e)
			if err != nil {
				msg += "; last reload failed, previous configuration in force"
			}
			notify(log, msg)
		}
	}
	var err error
	e, err = engine.New(o)
	return e, err
}

// serveUntilStopped reloads on SIGHUP until ctx ends or the server stops,
// then shuts e down; it returns the exit code.
func serveUntilStopped(ctx context.Context, e *engine.Engine, hup <-chan os.Signal, log *slog.Logger) int {
	code := 0
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-hup:
			_ = e.Reload() // errors are logged, and told to systemd
		case err := <-e.Serving():
			log.Error("server stopped", "error", err)
			code = 1
			break loop
		}
	}
	notify(log, "STOPPING=1\nSTATUS=shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), e.Config().ShutdownTimeout)
	defer cancel()
	if err := e.Shutdown(sctx); err != nil {
		log.Error("shutdown", "error", err)
		code = 1
	}
	return code
}

// notify sends to systemd; a failure is logged, never fatal: hookd works the
// same without a service manager.
func notify(log *slog.Logger, state string) {
	if _, err := sdnotify.Notify(state); err != nil {
		log.Warn("sd_notify", "error", err)
	}
}

func status(e *engine.Engine) string {
	set := e.Rules()
	return fmt.Sprintf("serving on %s: %d sources, %d rules", e.Addr(), len(set.Sources), len(set.Rules))
}
