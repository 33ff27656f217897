package ui

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hookd/engine"
	"hookd/rules"
	"hookd/store"
)

const secret = "ui-test-secret"

// rulesYAML: pushes to main deploy (a script that prints and fails for
// "fail"), every issue event notifies.
const rulesYAML = `
sources:
  github:
    path: /hooks/github
    verify: {provider: github, secret: ` + secret + `}
  other:
    path: /hooks/other
    verify: {provider: none}
rules:
  - name: deploy
    source: github
    when: event == "push" && body.ref == "refs/heads/main"
    actions:
      - shell: {command: [sh, -c, 'echo deploying $0; test "$0" != fail', "{{ body.after }}"]}
    on_failure:
      - shell: {command: [echo, "cleaning up after {{ rule }}"]}
  - name: notify
    source: github
    when: event == "issues"
    actions:
      - shell: {command: [echo, issue]}
`

func writeRules(t testing.TB, rd string) { writeRulesYAML(t, rd, rulesYAML) }

func writeRulesYAML(t testing.TB, rd, y string) {
	t.Helper()
	if err := os.MkdirAll(rd, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rd, "rules.yaml"), []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
}

type fixture struct {
	t   *testing.T
	e   *engine.Engine
	h   http.Handler
	url string
}

func start(t *testing.T) *fixture { t.Helper(); return startWith(t, rulesYAML) }

func startWith(t *testing.T, y string) *fixture { t.Helper(); return startConfig(t, y, nil) }

// startConfig is startWith with mod applied to the configuration.
func startConfig(t *testing.T, y string, mod func(*rules.Config)) *fixture {
	t.Helper()
	dir := t.TempDir()
	rd := filepath.Join(dir, "rules")
	writeRulesYAML(t, rd, y)
	cfg := rules.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.RulesDir = rd
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.UI.Listen = ""
	if mod != nil {
		mod(&cfg)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e, err := engine.New(engine.Options{Config: cfg, Logger: log, NoWatch: true})
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
	s, err := New(e, log)
	if err != nil {
		t.Fatal(err)
	}
	s.poll = 20 * time.Millisecond
	return &fixture{t: t, e: e, h: s.Handler(), url: "http://" + e.Addr()}
}

// send delivers a signed GitHub webhook and returns the answer's status.
func (f *fixture) send(event, delivery, body string) int {
	f.t.Helper()
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	req, _ := http.NewRequest("POST", f.url+"/hooks/github", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", delivery)
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// get fetches a page from the dashboard's handler.
func (f *fixture) get(path string) (int, string) {
	f.t.Helper()
	return f.do(httptest.NewRequest("GET", path, nil))
}

func (f *fixture) post(path string, form url.Values) (int, string, string) {
	f.t.Helper()
	req := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, req)
	return w.Code, w.Body.String(), w.Header().Get("Location")
}

func (f *fixture) do(req *http.Request) (int, string) {
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, req)
	return w.Code, w.Body.String()
}

// waitFinal waits until every stored job is final.
func (f *fixture) waitFinal() {
	f.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		evs, _, err := f.e.Store().QueryEvents(store.EventQuery{Limit: 1000})
		if err != nil {
			f.t.Fatal(err)
		}
		busy := false
		for _, ev := range evs {
			for _, j := range ev.Jobs {
				busy = busy || !store.Final(j.State)
			}
		}
		if !busy {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	f.t.Fatal("jobs still running")
}

func must(t *testing.T, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Fatalf("page lacks %q:\n%s", w, body)
		}
	}
}

func mustNot(t *testing.T, body string, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(body, w) {
			t.Fatalf("page holds %q:\n%s", w, body)
		}
	}
}

// readSSE reads server-sent events until one carries want.
func readSSE(t *testing.T, r io.Reader, want string) string {
	t.Helper()
	sc := bufio.NewScanner(r)
	var got strings.Builder
	for sc.Scan() {
		got.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), want) {
			return got.String()
		}
	}
	t.Fatalf("stream ended without %q:\n%s", want, got.String())
	return ""
}

type jobView struct{ State string }

func (f *fixture) jobsOf(id uint64) []jobView {
	f.t.Helper()
	_, jobs, err := f.e.Store().EventJobs(id)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []jobView
	for _, j := range jobs {
		out = append(out, jobView{j.State})
	}
	return out
}
