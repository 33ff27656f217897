package cli

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"hookd/engine"
	"hookd/rules"
	"hookd/store"
)

const testSecret = "cli-test-secret"

// hookdCLI runs the command line in-process.
func hookdCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func signedPush(t *testing.T, url, delivery string, body []byte) map[string]any {
	t.Helper()
	m := hmac.New(sha256.New, []byte(testSecret))
	m.Write(body)
	req, _ := http.NewRequest("POST", url+"/hooks/github", bytes.NewReader(body))
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-GitHub-Delivery", delivery)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var a map[string]any
	_ = json.Unmarshal(raw, &a)
	if resp.StatusCode != 200 {
		t.Fatalf("webhook: %d %s", resp.StatusCode, raw)
	}
	return a
}

// startDaemon runs an engine on 127.0.0.1:0 until the test ends.
func startDaemon(t *testing.T, rulesDir, dataDir string) *engine.Engine {
	t.Helper()
	cfg := rules.DefaultConfig()
	cfg.Listen, cfg.RulesDir, cfg.DataDir = "127.0.0.1:0", rulesDir, dataDir
	return startDaemonWith(t, cfg)
}

// startDaemonWith runs an engine of cfg until the test ends.
func startDaemonWith(t *testing.T, cfg rules.Config) *engine.Engine {
	t.Helper()
	e, err := engine.New(engine.Options{Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.Shutdown(ctx)
	})
	return e
}

func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

const cliRules = `
sources:
  github:
    verify: {provider: github, secret: cli-test-secret}
rules:
  - name: deploy
    source: github
    retry: {attempts: 1}
    actions:
      - shell:
          script: 'echo "deploying $HOOKD_ATTEMPT"; test -e "$OK"'
          env: {OK: "%DIR%/ok"}
`

func TestEventsShowReplayThroughTheCLI(t *testing.T) {
	dir := t.TempDir()
	rd := filepath.Join(dir, "rules")
	os.MkdirAll(rd, 0o755)
	rulesFile := filepath.Join(rd, "r.yaml")
	if err := os.WriteFile(rulesFile, []byte(strings.ReplaceAll(cliRules, "%DIR%", dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")

	// Nothing ran yet: a clear one-line error.
	code, _, stderr := hookdCLI(t, "events", "-data", data)
	want := "hookd events: no hookd answers at " + filepath.Join(data, "admin.sock") + ", and there is no database at " +
		filepath.Join(data, "hookd.db") + ": pass the -config (or -data) the daemon uses\n"
	if code != 1 || stderr != want {
		t.Fatalf("daemon down: %d %q, want %q", code, stderr, want)
	}

	e := startDaemon(t, rd, data)
	if fi, err := os.Stat(filepath.Join(data, "admin.sock")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin socket: %v %v", fi.Mode(), err)
	}
	// The public port does not serve the admin API.
	if resp, err := http.Get("http://" + e.Addr() + "/events"); err != nil || resp.StatusCode != 404 {
		t.Fatalf("public /events: %v %v", resp.StatusCode, err)
	}

	a := signedPush(t, "http://"+e.Addr(), "d-1", []byte(`{"after":"abc"}`))
	id := strconv.FormatFloat(a["id"].(float64), 'f', -1, 64)
	poll(t, "the job to fail", func() bool {
		_, out, _ := hookdCLI(t, "events", "-data", data, "-status", "failed")
		return strings.Contains(out, "d-1")
	})
	code, out, stderr := hookdCLI(t, "events", "-data", data)
	if code != 0 || !strings.Contains(out, "STATUS") || !strings.Contains(out, "failed") || !strings.Contains(out, "deploy") {
		t.Fatalf("events: %d %s %s", code, out, stderr)
	}
	code, out, _ = hookdCLI(t, "show", id, "-data", data)
	for _, s := range []string{"event " + id, "failed", "x-github-event: push", `{"after":"abc"}`, "attempt 1", "exit 1", "| deploying 1"} {
		if code != 0 || !strings.Contains(out, s) {
			t.Fatalf("show lacks %q:\n%s", s, out)
		}
	}

	// Fix the cause, replay: a new job of the same event, and it is done.
	os.WriteFile(filepath.Join(dir, "ok"), nil, 0o644)
	code, out, stderr = hookdCLI(t, "replay", "-data", data, id)
	if code != 0 || !strings.Contains(out, "rule deploy queued again as job") {
		t.Fatalf("replay: %d %s %s", code, out, stderr)
	}
	var view engine.EventView
	poll(t, "the replay to finish", func() bool {
		_, out, _ := hookdCLI(t, "show", id, "-json", "-data", data)
		view = engine.EventView{}
		return json.Unmarshal([]byte(out), &view) == nil && view.Status == "done"
	})
	if len(view.Jobs) != 2 || view.Jobs[0].State != "failed" || view.Jobs[1].State != "done" || view.Event.ID == 0 {
		t.Fatalf("jobs after replay: %+v", view.Jobs)
	}
	// A done event replays too.
	if code, _, stderr := hookdCLI(t, "replay", id, "-data", data); code != 0 {
		t.Fatalf("replay of a done event: %s", stderr)
	}
	poll(t, "the second replay", func() bool {
		_, out, _ := hookdCLI(t, "show", id, "-json", "-data", data)
		view = engine.EventView{}
		return json.Unmarshal([]byte(out), &view) == nil && len(view.Jobs) == 3 && view.Status == "done"
	})

	if code, _, stderr := hookdCLI(t, "replay", "999", "-data", data); code != 1 || stderr != "hookd replay: no event 999\n" {
		t.Fatalf("unknown id: %d %q", code, stderr)
	}
	if code, _, _ := hookdCLI(t, "show", "-data", data); code != 2 {
		t.Fatalf("show without id: %d", code)
	}
	// The rule is gone: nothing to replay.
	os.WriteFile(rulesFile, []byte("sources:\n  github:\n    verify: {provider: github, secret: x}\n"), 0o644)
	if err := e.Reload(); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = hookdCLI(t, "replay", id, "-data", data)
	if code != 1 || !strings.Contains(stderr, "no rule of event "+id+" remains in the configuration (deploy)") {
		t.Fatalf("replay without its rule: %d %q", code, stderr)
	}
}

// show tells when a redelivery ran the event's rules again.
func TestShowPrintsRedeliveries(t *testing.T) {
	at := time.Date(2026, 11, 30, 1, 2, 3, 0, time.Local)
	ev := &store.Event{ID: 7, Source: "github", Status: "accepted", Rules: []string{"deploy"}, Jobs: []uint64{8, 9, 11},
		Redeliveries: []store.Redelivery{{At: at, Jobs: []uint64{9}}, {At: at.Add(time.Minute), Jobs: []uint64{11}}}}
	var b strings.Builder
	printEvent(&b, &engine.EventView{Event: ev, Status: "queued"})
	for _, want := range []string{"redelivered  2026-11-30T01:02:03", ", rules queued again (job 9)\n", "T01:03:03"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("show lacks %q:\n%s", want, b.String())
		}
	}
}

// show prints the query string that was kept with the headers.
func TestShowPrintsTheQuery(t *testing.T) {
	ev := &store.Event{ID: 7, Source: "github", Status: "ignored", Headers: map[string]string{"x-github-event": "push"},
		Query: map[string]string{"team": "core", "env": "prod"}}
	for _, kept := range []*store.Kept{nil, {What: "headers", BodyBytes: 2}} {
		ev.Kept = kept
		var b strings.Builder
		printEvent(&b, &engine.EventView{Event: ev, Status: "ignored"})
		if want := "\nquery:\n  env: prod\n  team: core\n"; !strings.Contains(b.String(), want) {
			t.Errorf("show (kept %+v) lacks %q:\n%s", kept, want, b.String())
		}
	}
}

// On a loopback TCP admin address, the verbs work as on the socket: the
// API answers local names only, and the CLI asks it as localhost.
func TestAdminVerbsOverTCP(t *testing.T) {
	dir := t.TempDir()
	rd := filepath.Join(dir, "rules")
	os.MkdirAll(rd, 0o755)
	if err := os.WriteFile(filepath.Join(rd, "r.yaml"), []byte(strings.ReplaceAll(cliRules, "%DIR%", dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := rules.DefaultConfig()
	cfg.Listen, cfg.RulesDir, cfg.DataDir, cfg.Admin = "127.0.0.1:0", rd, filepath.Join(dir, "data"), "127.0.0.1:0"
	e := startDaemonWith(t, cfg)
	a := signedPush(t, "http://"+e.Addr(), "d-1", []byte(`{"after":"abc"}`))
	id := strconv.FormatFloat(a["id"].(float64), 'f', -1, 64)
	for _, args := range [][]string{
		{"events", "-admin", e.AdminAddr()},
		{"show", "-admin", e.AdminAddr(), id},
		{"backup", "-admin", e.AdminAddr(), filepath.Join(dir, "copy.db")},
	} {
		if code, stdout, stderr := hookdCLI(t, args...); code != 0 {
			t.Errorf("%v: exit %d\n%s%s", args, code, stdout, stderr)
		}
	}
}

// A backup's name that is a directory, in a directory that does not exist,
// or the database itself (a running daemon would lose what it wrote after),
// is one clear line before anything is copied.
func TestBackupTargetMistakes(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(data, "hookd.db")
	if err := os.WriteFile(db, []byte("the database"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(db, filepath.Join(dir, "link.db")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ file, want string }{
		{dir, "hookd backup: " + dir + ": is a directory: give the backup's file name, such as " + filepath.Join(dir, "hookd.db") + "\n"},
		{db, "hookd backup: " + db + ": is the database's own hookd.db in " + data + ": write the backup somewhere else, such as /var/backups/hookd/hookd.db\n"},
		{filepath.Join(dir, "link.db"), "hookd backup: " + filepath.Join(dir, "link.db") + ": is the database's own hookd.db in " + data + ": write the backup somewhere else, such as /var/backups/hookd/hookd.db\n"},
		{filepath.Join(dir, "nope", "b.db"), "hookd backup: " + filepath.Join(dir, "nope", "b.db") + ": the directory " + filepath.Join(dir, "nope") + " does not exist: create it first\n"},
	} {
		code, _, stderr := hookdCLI(t, "backup", "-data", data, tc.file)
		if code != 1 || stderr != tc.want {
			t.Errorf("backup %s: exit %d %q, want %q", tc.file, code, stderr, tc.want)
		}
	}
	if b, err := os.ReadFile(db); err != nil || string(b) != "the database" {
		t.Fatalf("the database was touched: %q %v", b, err)
	}
}
