// Command hookd receives webhooks, verifies and records them, and runs the
// actions of the rules they match. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"hookd/cli"
)

func main() { os.Exit(run()) }

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
}
