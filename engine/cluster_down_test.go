package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"hookd/internal/pgtest"
	"hookd/rules"
	"hookd/store"
)

// While the database refuses connections, /readyz and intake answer 503
// with Retry-After within a few seconds, nothing is acknowledged, and
// workers pause; when it is back, all of it resumes.
func TestClusterDatabaseUnavailable(t *testing.T) {
	url, shared := pgtest.URL(t), t.TempDir()
	te := startNode(t, url, shared, "a", 2)
	if a := te.send("GET", "/readyz", nil, nil); a.code != 200 {
		t.Fatalf("readyz %d %s", a.code, a.raw)
	}
	block := dbBlocker(t, url)
	block(true)
	waitFor(t, "readyz 503", func() bool { return te.send("GET", "/readyz", nil, nil).code == 503 })
	body := push("refs/heads/main", "down")
	start := time.Now()
	a := te.send("POST", "/hooks/github", githubHeaders(body, "push", "d-down"), body)
	if a.code != 503 || a.header.Get("Retry-After") == "" || a.body["status"] == "accepted" {
		t.Fatalf("intake while the database is down: %d %q %s", a.code, a.header.Get("Retry-After"), a.raw)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("intake took %v to refuse", took)
	}
	block(false)
	waitFor(t, "readyz 200", func() bool { return te.send("GET", "/readyz", nil, nil).code == 200 })
	id := te.accept(body, "d-down")
	if j := te.waitDone(id)[0]; j.State != store.Done {
		t.Fatalf("job after recovery: %s %q", j.State, j.Error)
	}
	if n := strings.Count(te.logs.String(), "not ready: the store cannot commit"); n != 1 {
		t.Fatalf("%d 'not ready' lines, want 1 (logged on change only)", n)
	}
}

// dbBlocker returns a function that closes the database of url to new
// connections and ends the open ones (true), or opens it again (false),
// from a superuser connection to the test server's own database.
func dbBlocker(t *testing.T, url string) func(bool) {
	base := os.Getenv(pgtest.Env)
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	name := cfg.Database
	return func(block bool) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		q := fmt.Sprintf("ALTER DATABASE %s ALLOW_CONNECTIONS %t", pgx.Identifier{name}.Sanitize(), !block)
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
		if block {
			if _, err := conn.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", name); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// A node that starts while its database refuses connections waits for it,
// saying so, and starts when it is back; one whose database does not exist
// fails at once with one line.
func TestClusterStartWaitsForTheDatabase(t *testing.T) {
	url, shared := pgtest.URL(t), t.TempDir()
	first := startNode(t, url, shared, "first", 1) // creates the schema
	first.stop()
	block := dbBlocker(t, url)
	block(true)
	t.Cleanup(func() { block(false) })
	go func() {
		time.Sleep(4 * time.Second)
		block(false)
	}()
	start := time.Now()
	te := startNode(t, url, shared, "a", 1)
	if took := time.Since(start); took < 3*time.Second {
		t.Fatalf("started after %v, while the database refused connections", took)
	}
	if !strings.Contains(te.logs.String(), "cannot reach the database; trying again") {
		t.Fatalf("no line said it waited:\n%s", te.logs.String())
	}
	te.accept(push("refs/heads/main", "up"), "d-up")

	cfg := rules.DefaultConfig()
	cfg.RulesDir, cfg.DataDir = t.TempDir(), t.TempDir()
	missing := strings.Replace(url, "/hookd_test_", "/hookd_nope_", 1)
	cfg.Store = rules.Store{Driver: rules.DriverPostgres, URL: missing, MaxConns: 2, Lease: 5 * time.Second}
	start = time.Now()
	_, err := New(Options{Config: cfg})
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("missing database: %v after %v; want an error at once", err, time.Since(start))
	}
}

// A job that ends while the database is unreachable has its end recorded
// when the database is back: the node keeps it meanwhile (its lease is
// renewed again), so it is not left running, holding its lane, nor run a
// second time.
func TestClusterEndRecordedAfterOutage(t *testing.T) {
	url, shared := pgtest.URL(t), t.TempDir()
	te := startNode(t, url, shared, "a", 1)
	hold := filepath.Join(shared, "hold-outage")
	if err := os.WriteFile(hold, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	id := te.accept(push("refs/heads/main", "outage"), "d-outage")
	waitFor(t, "the job to start", func() bool { return len(sharedLines(t, shared)) == 1 })
	block := dbBlocker(t, url)
	block(true)
	os.Remove(hold)
	waitFor(t, "the job to end", func() bool { return len(sharedLines(t, shared)) == 2 })
	waitFor(t, "its end to fail to be recorded", func() bool {
		return strings.Contains(te.logs.String(), "cannot record the job's state")
	})
	block(false)
	j := te.waitDone(id)[0]
	if j.State != store.Done || len(j.Attempts) != 1 {
		t.Fatalf("job %s with %d attempts, want done after one", j.State, len(j.Attempts))
	}
	time.Sleep(time.Second) // a second run would start within a claim interval
	if lines := sharedLines(t, shared); len(lines) != 2 {
		t.Fatalf("the action ran again: %q", lines)
	}
}
