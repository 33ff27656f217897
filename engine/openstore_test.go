package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"hookd/internal/logbuf"
	"hookd/rules"
)

// A start waits for what waiting may cure, and fails at once otherwise.
func TestUnreachable(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("connect: %w", refused), true},
		{fmt.Errorf("dial: %w", syscall.ENOENT), true}, // the socket is not there yet
		{context.DeadlineExceeded, true},
		{&pgconn.PgError{Code: "57P03"}, true},  // the database system is starting up
		{&pgconn.PgError{Code: "53300"}, true},  // too many connections
		{&pgconn.PgError{Code: "55000"}, true},  // not accepting connections
		{&pgconn.PgError{Code: "28P01"}, false}, // password authentication failed
		{&pgconn.PgError{Code: "3D000"}, false}, // no such database
		{&pgconn.PgError{Code: "42501"}, false}, // cannot create the schema
		{errors.New("database schema version 9 is newer than this hookd (2)"), false},
	} {
		if got := unreachable(tc.err); got != tc.want {
			t.Errorf("unreachable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// With no server listening, New waits, says so each time (the password
// never shown), and gives up when its context ends.
func TestStartWaitsForAnUnreachableDatabase(t *testing.T) {
	cfg := rules.DefaultConfig()
	cfg.RulesDir, cfg.DataDir = t.TempDir(), t.TempDir()
	cfg.Store = rules.Store{Driver: rules.DriverPostgres, URL: "postgres://hookd:pw-port-secret@127.0.0.1:1/hookd", MaxConns: 2, Lease: 5 * time.Second}
	cfg.Secrets = []string{"pw-port-secret"}
	logs := &logbuf.Buffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	var waits []error
	_, err := New(Options{Config: cfg, Context: ctx, Logger: slog.New(slog.NewTextHandler(logs, nil)),
		StoreWait: func(err error) { waits = append(waits, err) }})
	if err == nil || ctx.Err() == nil {
		t.Fatalf("New: %v before its context ended", err)
	}
	if len(waits) < 1 || strings.Count(logs.String(), "cannot reach the database; trying again") != len(waits) {
		t.Fatalf("%d waits told, log:\n%s", len(waits), logs.String())
	}
	if all := logs.String() + err.Error() + fmt.Sprint(waits); strings.Contains(all, "pw-port-secret") {
		t.Fatalf("the password shows:\n%s", all)
	}
	// The first contact fails as a connection, not as the schema's
	// migration (which is what happens to try first).
	if !strings.Contains(logs.String(), `error="connecting to the database: failed to connect to`) || strings.Contains(logs.String(), "migrat") {
		t.Fatalf("the wait does not say it cannot connect:\n%s", logs.String())
	}
}
