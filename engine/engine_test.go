package engine

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hookd/internal/logbuf"
	"hookd/rules"
	"hookd/store"
)

const secret = "s3cr3t-for-tests"

// testEngine is a real engine on 127.0.0.1:0 with a temp rules and data dir.
type testEngine struct {
	*Engine
	t       testing.TB
	dir     string
	logs    *logbuf.Buffer
	url     string
	stopped bool
}

// bolt is the engine's store as the bbolt database it is in these tests,
// for what only it can tell (ids allocated, open jobs).
func (te *testEngine) bolt() *store.Store { return te.store.(*store.Store) }

// startEngine writes rules (with $DIR replaced by the temp dir) and starts
// an engine; dir reuses a directory from an earlier engine.
func startEngine(t testing.TB, dir, rulesYAML string, mod func(*rules.Config)) *testEngine {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	rd := filepath.Join(dir, "rules")
	if err := os.MkdirAll(rd, 0o755); err != nil {
		t.Fatal(err)
	}
	if rulesYAML != "" {
		if err := os.WriteFile(filepath.Join(rd, "rules.yaml"), []byte(strings.ReplaceAll(rulesYAML, "$DIR", dir)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := rules.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.RulesDir = rd
	cfg.DataDir = filepath.Join(dir, "data")
	if mod != nil {
		mod(&cfg)
	}
	logs := &logbuf.Buffer{}
	env := append(os.Environ(), "TEST_SECRET="+secret)
	lookup := func(k string) (string, bool) {
		if k == "TEST_SECRET" {
			return secret, true
		}
		return os.LookupEnv(k)
	}
	e, err := New(Options{Config: cfg, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), Environ: env, Lookup: lookup})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	te := &testEngine{Engine: e, t: t, dir: dir, logs: logs, url: "http://" + e.Addr()}
	t.Cleanup(func() {
		te.stop()
		if t.Failed() {
			t.Logf("engine log:\n%s", logs.String())
		}
	})
	return te
}

func (te *testEngine) stop() {
	if te.stopped {
		return
	}
	te.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := te.Shutdown(ctx); err != nil {
		te.t.Errorf("shutdown: %v", err)
	}
}

type answer struct {
	code   int
	header http.Header
	body   map[string]any
	raw    string
}

func (te *testEngine) send(method, path string, header http.Header, body []byte) answer {
	te.t.Helper()
	req, err := http.NewRequest(method, te.url+path, bytes.NewReader(body))
	if err != nil {
		te.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		te.t.Fatal(err)
	}
	return answerOf(resp)
}

// answerOf reads and closes a response.
func answerOf(resp *http.Response) answer {
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{code: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

func githubHeaders(body []byte, event, delivery string) http.Header {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return http.Header{
		"X-Hub-Signature-256": {"sha256=" + hex.EncodeToString(m.Sum(nil))},
		"X-Github-Event":      {event},
		"X-Github-Delivery":   {delivery},
		"Content-Type":        {"application/json"},
	}
}

// waitJobs waits until every job of the store is final and returns them.
func (te *testEngine) waitJobs(want int) []*store.Job {
	te.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	if err := te.store.Sync(); err != nil { // ignored events are written without waiting
		te.t.Fatal(err)
	}
	for {
		open, err := te.bolt().OpenJobs()
		if err != nil {
			te.t.Fatal(err)
		}
		if len(open) == 0 && te.disp.queued() == 0 {
			break
		}
		if time.Now().After(deadline) {
			te.t.Fatalf("jobs still open after 15s: %d", len(open))
		}
		time.Sleep(10 * time.Millisecond)
	}
	var jobs []*store.Job
	for id := uint64(1); id <= te.bolt().LastJobID(); id++ {
		if j, err := te.store.Job(id); err == nil {
			jobs = append(jobs, j)
		}
	}
	if len(jobs) != want {
		te.t.Fatalf("%d jobs, want %d", len(jobs), want)
	}
	return jobs
}

func readLines(t testing.TB, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

const deployRules = `
sources:
  github:
    verify: {provider: github, secret: "${TEST_SECRET}"}
rules:
  - name: deploy
    source: github
    when: event == "push" && body.ref == "refs/heads/main"
    actions:
      - shell:
          command: [/bin/sh, -c, 'printf "%s %s %s\n" "$1" "$HOOKD_DELIVERY_ID" "$HOOKD_ATTEMPT" >> "$OUT"', sh, "{{ body.after }}"]
          env: {OUT: "$DIR/ran"}
`

func push(ref, after string) []byte {
	return []byte(fmt.Sprintf(`{"ref":%q,"after":%q,"repository":{"full_name":"o/r"}}`, ref, after))
}

func TestSignedPushRunsOnceThenDuplicate(t *testing.T) {
	te := startEngine(t, "", deployRules, nil)
	body := push("refs/heads/main", "abc123")
	a := te.send("POST", "/hooks/github", githubHeaders(body, "push", "delivery-1"), body)
	if a.code != 200 || a.body["status"] != "accepted" {
		t.Fatalf("first delivery: %d %s", a.code, a.raw)
	}
	if rs, _ := a.body["rules"].([]any); len(rs) != 1 || rs[0] != "deploy" {
		t.Fatalf("rules = %v", a.body["rules"])
	}
	id := a.body["id"]
	jobs := te.waitJobs(1)
	if jobs[0].State != store.Done {
		t.Fatalf("job state %s: %+v", jobs[0].State, jobs[0])
	}
	a = te.send("POST", "/hooks/github", githubHeaders(body, "push", "delivery-1"), body)
	if a.code != 200 || a.body["status"] != "duplicate" || a.body["id"] != id {
		t.Fatalf("second delivery: %d %s", a.code, a.raw)
	}
	te.waitJobs(1)
	got := readLines(t, filepath.Join(te.dir, "ran"))
	if want := []string{"abc123 delivery-1 1"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("side effects %q, want %q", got, want)
	}
	ev, err := te.store.Event(jobs[0].EventID)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Status != "accepted" || ev.DeliveryID != "delivery-1" || ev.Event != "push" || string(ev.Body) != string(body) {
		t.Fatalf("stored event %+v", ev)
	}
	st := jobs[0].Attempts[0].Steps[0]
	if st.Exit == nil || *st.Exit != 0 || st.Kind != "shell" {
		t.Fatalf("step %+v", st)
	}
}

func TestRefusedAndIgnored(t *testing.T) {
	te := startEngine(t, "", deployRules, func(c *rules.Config) { c.MaxBody = 1024 })
	body := push("refs/heads/main", "abc")
	bad := githubHeaders(body, "push", "d-bad")
	bad.Set("X-Hub-Signature-256", "sha256="+strings.Repeat("0", 64))
	unsigned := githubHeaders(body, "push", "d-unsigned")
	unsigned.Del("X-Hub-Signature-256")
	big := bytes.Repeat([]byte("x"), 2048)
	for _, tc := range []struct {
		name   string
		method string
		path   string
		header http.Header
		body   []byte
		code   int
		status string
	}{
		{"bad signature", "POST", "/hooks/github", bad, body, 401, ""},
		{"missing signature", "POST", "/hooks/github", unsigned, body, 401, ""},
		{"signed for another body", "POST", "/hooks/github", githubHeaders(body, "push", "d-x"), push("refs/heads/main", "evil"), 401, ""},
		{"unknown path", "POST", "/hooks/nope", githubHeaders(body, "push", "d-1"), body, 404, ""},
		{"wrong method", "GET", "/hooks/github", nil, nil, 405, ""},
		{"put", "PUT", "/hooks/github", githubHeaders(body, "push", "d-put"), body, 405, ""},
		{"huge body", "POST", "/hooks/github", githubHeaders(big, "push", "d-big"), big, 413, ""},
		{"other branch", "POST", "/hooks/github", githubHeaders(push("refs/heads/dev", "x"), "push", "d-dev"), push("refs/heads/dev", "x"), 200, "ignored"},
		{"other event", "POST", "/hooks/github", githubHeaders(body, "issues", "d-issue"), body, 200, "ignored"},
		{"malformed json", "POST", "/hooks/github", githubHeaders([]byte(`{"ref":`), "push", "d-malformed"), []byte(`{"ref":`), 200, "ignored"},
		{"empty body", "POST", "/hooks/github", githubHeaders(nil, "push", "d-empty"), nil, 200, "ignored"},
		{"json array body", "POST", "/hooks/github", githubHeaders([]byte(`[1,2]`), "push", "d-array"), []byte(`[1,2]`), 200, "ignored"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := te.send(tc.method, tc.path, tc.header, tc.body)
			if a.code != tc.code {
				t.Fatalf("status %d, want %d (%s)", a.code, tc.code, a.raw)
			}
			if tc.status != "" && a.body["status"] != tc.status {
				t.Fatalf("answer %s, want status %s", a.raw, tc.status)
			}
			if tc.code == 401 && a.raw != "{\"error\":\"unauthorized\"}\n" {
				t.Fatalf("401 body says more than it should: %s", a.raw)
			}
		})
	}
	// The daemon still serves, and nothing ran.
	if a := te.send("GET", "/healthz", nil, nil); a.code != 200 {
		t.Fatalf("healthz %d", a.code)
	}
	if a := te.send("GET", "/readyz", nil, nil); a.code != 200 {
		t.Fatalf("readyz %d", a.code)
	}
	te.waitJobs(0)
	if got := readLines(t, filepath.Join(te.dir, "ran")); got != nil {
		t.Fatalf("something ran: %q", got)
	}
	// An ignored event is recorded, and a redelivery of it is a duplicate.
	// Ignored events are written without waiting for the disk: wait here.
	if err := te.store.Sync(); err != nil {
		t.Fatal(err)
	}
	a := te.send("POST", "/hooks/github", githubHeaders(body, "issues", "d-issue"), body)
	if a.body["status"] != "duplicate" {
		t.Fatalf("redelivered ignored event: %s", a.raw)
	}
}

func TestStoredJobRunsAfterRestart(t *testing.T) {
	dir := t.TempDir()
	// A first engine records an event whose job never ran: its workers are
	// held by a slow job and it is shut down at once, the way a crash
	// leaves a queued job behind.
	te := startEngine(t, dir, deployRules, func(c *rules.Config) { c.Workers = 1 })
	body := push("refs/heads/main", "queued1")
	ev := &store.Event{ID: te.store.(*store.Store).NewEventID(), Source: "github", DeliveryID: "stored-1", Event: "push", ReceivedAt: time.Now(),
		Method: "POST", Path: "/hooks/github", Headers: map[string]string{"content-type": "application/json"}, Body: body, Status: "accepted", Rules: []string{"deploy"}}
	job := &store.Job{ID: te.store.(*store.Store).NewJobID(), EventID: ev.ID, Rule: "deploy", State: store.Queued, Created: time.Now()}
	ev.Jobs = []uint64{job.ID}
	te.stop() // the dispatcher is gone: the job is only in the store
	st, err := store.Open(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Accept(ev, []*store.Job{job}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if got := readLines(t, filepath.Join(dir, "ran")); got != nil {
		t.Fatalf("ran before restart: %q", got)
	}
	te2 := startEngine(t, dir, "", nil)
	jobs := te2.waitJobs(1)
	if jobs[0].State != store.Done {
		t.Fatalf("state %s", jobs[0].State)
	}
	if got := readLines(t, filepath.Join(dir, "ran")); len(got) != 1 || got[0] != "queued1 stored-1 1" {
		t.Fatalf("side effects %q", got)
	}
}

// A finished job's state is committed without holding its worker: a stop
// right after the last action ends must still record it, so a restart runs
// nothing again.
func TestFinishedJobsStayDoneAcrossAStop(t *testing.T) {
	dir := t.TempDir()
	te := startEngine(t, dir, deployRules, func(c *rules.Config) { c.Workers = 4 })
	const n = 20
	for i := 0; i < n; i++ {
		body := push("refs/heads/main", fmt.Sprint("c", i))
		if a := te.send("POST", "/hooks/github", githubHeaders(body, "push", fmt.Sprint("fin-", i)), body); a.body["status"] != "accepted" {
			t.Fatalf("answer %s", a.raw)
		}
	}
	// Stop as soon as every action has run, before their states are read.
	for deadline := time.Now().Add(10 * time.Second); len(readLines(t, filepath.Join(dir, "ran"))) < n; {
		if time.Now().After(deadline) {
			t.Fatalf("ran %d of %d", len(readLines(t, filepath.Join(dir, "ran"))), n)
		}
		time.Sleep(time.Millisecond)
	}
	te.stop()
	te2 := startEngine(t, dir, "", nil)
	for _, j := range te2.waitJobs(n) {
		if j.State != store.Done || len(j.Attempts) != 1 {
			t.Errorf("job %d: state %s after %d attempts", j.ID, j.State, len(j.Attempts))
		}
	}
	time.Sleep(200 * time.Millisecond) // a job wrongly left open would run now
	if got := readLines(t, filepath.Join(dir, "ran")); len(got) != n {
		t.Fatalf("%d runs for %d jobs: %q", len(got), n, got)
	}
}

func TestRunningJobRunsAgainAfterRestartWithAttemptRaised(t *testing.T) {
	dir := t.TempDir()
	const slow = `
sources:
  github:
    verify: {provider: github, secret: "${TEST_SECRET}"}
rules:
  - name: slow
    source: github
    actions:
      - shell:
          script: 'echo "$HOOKD_ATTEMPT" >> "$OUT"; if [ "$HOOKD_ATTEMPT" = 1 ]; then sleep 30; fi'
          env: {OUT: "$DIR/ran"}
`
	te := startEngine(t, dir, slow, func(c *rules.Config) { c.ShutdownTimeout = 200 * time.Millisecond })
	body := push("refs/heads/main", "x")
	if a := te.send("POST", "/hooks/github", githubHeaders(body, "push", "d-slow"), body); a.body["status"] != "accepted" {
		t.Fatalf("answer %s", a.raw)
	}
	for deadline := time.Now().Add(5 * time.Second); readLines(t, filepath.Join(dir, "ran")) == nil; {
		if time.Now().After(deadline) {
			t.Fatal("the action never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	start := time.Now()
	te.stopped = true
	if err := te.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("shutdown took %v: the process group was not killed", d)
	}
	te2 := startEngine(t, dir, "", nil)
	jobs := te2.waitJobs(1)
	if jobs[0].State != store.Done || len(jobs[0].Attempts) != 2 {
		t.Fatalf("job %+v", jobs[0])
	}
	if got := readLines(t, filepath.Join(dir, "ran")); strings.Join(got, ",") != "1,2" {
		t.Fatalf("attempts seen by the action: %q", got)
	}
}
