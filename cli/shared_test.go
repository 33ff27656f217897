package cli

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"hookd/internal/logbuf"
	"hookd/internal/pgtest"
	"hookd/rules"
)

// blockDB closes the database of dbURL to new connections and ends the
// open ones (true), or opens it again (false), from the test server's
// superuser connection.
func blockDB(t *testing.T, dbURL string, block bool) {
	t.Helper()
	cfg, err := pgx.ParseConfig(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, os.Getenv(pgtest.Env))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s ALLOW_CONNECTIONS %t", pgx.Identifier{cfg.Database}.Sanitize(), !block)); err != nil {
		t.Fatal(err)
	}
	if block {
		if _, err := conn.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", cfg.Database); err != nil {
			t.Fatal(err)
		}
	}
}

// withPassword puts a password in a test database's URL (the test server
// trusts local connections, so it is sent and ignored): it must never
// show.
func withPassword(t *testing.T, dbURL, pw string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), pw)
	return u.String()
}

// startSharedServe starts `hookd serve` as node web-test on dbURL (given
// in its environment, as systemd's EnvironmentFile would).
func startSharedServe(t *testing.T, dbURL string) (*exec.Cmd, *logbuf.Buffer, *notifyListener, chan error) {
	dir := t.TempDir()
	rulesDir := filepath.Join(dir, "rules")
	if err := os.MkdirAll(rulesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rulesDir, "r.yaml"), []byte(fmt.Sprintf(serveRules, filepath.Join(dir, "ran"))), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "hookd.yaml")
	yaml := "node: web-test\nstore:\n  driver: postgres\n  url: ${HOOKD_DATABASE_URL}\n  lease: 5s\n"
	if err := os.WriteFile(conf, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	n := listenNotify(t, dir)
	cmd := exec.Command(hookdBin, "serve", "-config", conf, "-rules", rulesDir, "-data", filepath.Join(dir, "data"), "-listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+n.path, "TEST_SECRET="+serveSecret, "HOOKD_DATABASE_URL="+dbURL)
	logs := &logbuf.Buffer{}
	cmd.Stderr, cmd.Stdout = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exit := make(chan error, 1)
	go func() { exit <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if t.Failed() {
			t.Logf("hookd output:\n%s", logs.String())
		}
	})
	return cmd, logs, n, exit
}

// Stopped while it waits for the database, serve exits 0: it was asked to.
func TestServeStoppedWhileWaitingForTheDatabase(t *testing.T) {
	dbURL := pgtest.URL(t)
	blockDB(t, dbURL, true)
	t.Cleanup(func() { blockDB(t, dbURL, false) })
	cmd, logs, n, exit := startSharedServe(t, dbURL)
	n.next(t, "EXTEND_TIMEOUT_USEC")
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-exit; err != nil {
		t.Fatalf("exit: %v", err)
	}
	if !strings.Contains(logs.String(), "gave up: stopped while waiting for the database") {
		t.Fatalf("output:\n%s", logs.String())
	}
}

// `hookd serve` on a database that refuses connections at start waits,
// tells systemd why (and to wait longer), and is READY only once the
// database opens. Every line it logs names the node; none shows the
// URL's password.
func TestServeWaitsForTheSharedDatabase(t *testing.T) {
	const pw = "pw-serve-secret"
	dbURL := withPassword(t, pgtest.URL(t), pw)
	blockDB(t, dbURL, true)
	t.Cleanup(func() { blockDB(t, dbURL, false) })
	cmd, logs, n, exit := startSharedServe(t, dbURL)
	wait := n.next(t, "EXTEND_TIMEOUT_USEC")
	if !strings.HasPrefix(wait["STATUS"], "waiting for the database: ") {
		t.Fatalf("status while waiting: %v", wait)
	}
	if us, err := strconv.Atoi(wait["EXTEND_TIMEOUT_USEC"]); err != nil || us < 10e6 {
		t.Fatalf("EXTEND_TIMEOUT_USEC %q", wait["EXTEND_TIMEOUT_USEC"])
	}
	blockDB(t, dbURL, false)
	var ready map[string]string
	for ready == nil {
		m := n.next(t, "STATUS")
		if m["READY"] == "1" {
			ready = m
		}
	}
	addr := regexp.MustCompile(`serving on (\S+):`).FindStringSubmatch(ready["STATUS"])
	if addr == nil {
		t.Fatalf("ready %v", ready)
	}
	body := []byte(`{"ref":"refs/heads/main"}`)
	if code := post(t, "http://"+addr[1]+"/hooks/github", githubSign(body, "push", "delivery-1"), body); code != 200 {
		t.Fatalf("webhook: %d", code)
	}
	for deadline := time.Now().Add(hangGuard); !strings.Contains(logs.String(), "job failed"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the job never finished")
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-exit; err != nil {
		t.Fatalf("exit: %v", err)
	}
	out := logs.String()
	if strings.Contains(out, pw) {
		t.Fatalf("the password shows in the log:\n%s", out)
	}
	if !strings.Contains(out, "cannot reach the database; trying again") || !strings.Contains(out, "hookd started") {
		t.Fatalf("log:\n%s", out)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.Contains(line, " node=web-test") {
			t.Fatalf("a line without the node: %q", line)
		}
	}
}

// With no daemon on this machine, events and show read the shared
// database: another node's events are there.
func TestEventsShowFromTheSharedDatabase(t *testing.T) {
	dbURL := pgtest.URL(t)
	dir := t.TempDir()
	rd := filepath.Join(dir, "rules")
	os.MkdirAll(rd, 0o755)
	if err := os.WriteFile(filepath.Join(rd, "r.yaml"), []byte(strings.ReplaceAll(cliRules, "%DIR%", dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other-node")
	conf := filepath.Join(dir, "hookd.yaml")
	yaml := fmt.Sprintf("data_dir: %s\nrules_dir: %s\nstore: {driver: postgres, url: '%s'}\n", other, rd, dbURL)
	if err := os.WriteFile(conf, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := rules.LoadConfig(conf, os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listen, cfg.DataDir = "127.0.0.1:0", filepath.Join(dir, "this-node")
	e := startDaemonWith(t, cfg)
	a := signedPush(t, "http://"+e.Addr(), "d-shared", []byte(`{"after":"abc"}`))
	id := strconv.FormatFloat(a["id"].(float64), 'f', -1, 64)
	var out, stderr string
	poll(t, "the job to fail", func() bool {
		var code int
		code, out, stderr = hookdCLI(t, "show", id, "-config", conf)
		return code == 0 && strings.Contains(out, "exit 1")
	})
	if !strings.Contains(stderr, "hookd is not running here: reading the database postgres://") || !strings.Contains(out, "event "+id) ||
		!strings.Contains(out, "   on "+cfg.NodeName()+"\n") {
		t.Fatalf("show: %s\n%s", stderr, out)
	}
	code, out, _ := hookdCLI(t, "events", "-config", conf)
	if code != 0 || !strings.Contains(out, "d-shared") {
		t.Fatalf("events: %d %s", code, out)
	}
	if code, _, stderr := hookdCLI(t, "replay", id, "-config", conf); code != 1 || !strings.Contains(stderr, "needs hookd running on this machine") {
		t.Fatalf("replay without a daemon here: %d %s", code, stderr)
	}
}

// Every error hookd prints is one line, a driver's error of several lines
// (one per address tried) included: a host that does not resolve.
func TestServeDatabaseErrorsAreOneLine(t *testing.T) {
	cmd, logs, n, exit := startSharedServe(t, "postgres://hookd@nonexistent.invalid:5432/hookd?connect_timeout=2")
	n.next(t, "EXTEND_TIMEOUT_USEC")
	poll(t, "the warning", func() bool { return strings.Contains(logs.String(), "cannot reach the database") })
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-exit
	out := logs.String()
	if !strings.Contains(out, "nonexistent.invalid") || !strings.Contains(out, "hookd serve: ") {
		t.Fatalf("output does not name the host and the error:\n%s", out)
	}
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if !strings.HasPrefix(l, "time=") && !strings.HasPrefix(l, "hookd serve: ") || strings.Contains(l, `\n`) {
			t.Errorf("a line that is not one whole message: %q", l)
		}
	}
}

// backup against a running PostgreSQL node (found by -data, without
// hookd.yaml) prints the daemon's reason on one line, not its raw answer.
func TestBackupAsksAPostgresDaemon(t *testing.T) {
	cmd, _, _, _ := startSharedServe(t, pgtest.URL(t))
	data := cmd.Args[slices.Index(cmd.Args, "-data")+1]
	sock := filepath.Join(data, "admin.sock")
	poll(t, "the admin socket", func() bool { _, err := os.Stat(sock); return err == nil })
	file := filepath.Join(t.TempDir(), "copy.db")
	var code int
	var stderr string
	poll(t, "the daemon to answer", func() bool {
		code, _, stderr = hookdCLI(t, "backup", "-data", data, file)
		return !strings.Contains(stderr, "no hookd answers")
	})
	want := ": the store is PostgreSQL: back it up with pg_dump"
	if code != 1 || !strings.HasPrefix(stderr, "hookd backup: ") || !strings.Contains(stderr, want) || strings.Count(stderr, "\n") != 1 || strings.Contains(stderr, "{") {
		t.Fatalf("exit %d, stderr %q; want one line saying %q", code, stderr, want)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Fatalf("backup left a file: %v", err)
	}
}
