package cli

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"hookd/engine"
)

func cmdServe(ctx context.Context, args []string, stderr io.Writer) int {
	fs := newFlags("serve", stderr)
	cf := addConfigFlags(fs, true, true).withAdmin()
	if code, ok := parse(fs, args); !ok {
		return code
	}
	cfg, err := cf.load()
	if err != nil {
		printErr(stderr, err)
		return 1
	}
	log, level := newLogger(cfg, stderr)
	e, err := engine.New(engine.Options{Config: cfg, Logger: log, LogLevel: level, ReloadConfig: cf.load})
	if err != nil {
		printErr(stderr, err)
		return 1
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if err := e.Start(); err != nil {
		printErr(stderr, err)
		return 1
	}
	code := 0
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-hup:
			_ = e.Reload()
		case err := <-e.Serving():
			log.Error("server stopped", "error", err)
			code = 1
			break loop
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), e.Config().ShutdownTimeout)
	defer cancel()
	if err := e.Shutdown(sctx); err != nil {
		log.Error("shutdown", "error", err)
		code = 1
	}
	return code
}
