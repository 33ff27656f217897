package engine

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hookd/rules"
	"hookd/store"
)

// waitLogs waits until the log says substr at least n times.
func (te *testEngine) waitLogs(substr string, n int) {
	te.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(te.logs.String(), substr) < n {
		if time.Now().After(deadline) {
			te.t.Fatalf("log said %q fewer than %d times", substr, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Removing the last rules file must not turn every webhook into a 404:
// the reload is refused and says so, in the log and in the metric.
func TestReloadToNoSourcesIsRefused(t *testing.T) {
	te := startEngine(t, "", sourceFile("a"), nil)
	te.waitCode("/hooks/a", 200)
	if err := os.Remove(filepath.Join(te.dir, "rules", "rules.yaml")); err != nil {
		t.Fatal(err)
	}
	te.waitLog("no sources left: reload refused, the 1 sources in force keep serving")
	if ok, _ := te.LastReload(); ok {
		t.Fatal("LastReload reports success for a reload to no sources")
	}
	if v := metricValue(te.scrape(), "hookd_config_last_reload_successful"); v != 0 {
		t.Fatalf("hookd_config_last_reload_successful = %v, want 0", v)
	}
	te.waitCode("/hooks/a", 200)
	if a := te.send("GET", "/readyz", nil, nil); a.code != 200 {
		t.Fatalf("readyz %d", a.code)
	}
	// Putting a file back is a good reload again.
	writeFile(t, filepath.Join(te.dir, "rules", "b.yaml"), sourceFile("b"))
	te.waitCode("/hooks/b", 200)
	if v := metricValue(te.scrape(), "hookd_config_last_reload_successful"); v != 1 {
		t.Fatalf("hookd_config_last_reload_successful = %v after a good reload, want 1", v)
	}
}

// Starting with no sources is allowed, with a warning.
func TestStartWithNoSourcesWarns(t *testing.T) {
	te := startEngine(t, "", "", nil)
	te.waitLog("no sources: every webhook is answered 404")
	if a := te.send("GET", "/readyz", nil, nil); a.code != 200 {
		t.Fatalf("readyz %d", a.code)
	}
}

// heldJob starts an engine with one worker, busy with a job that waits for
// the file go, and a queued job of rule deploy (in deploy.yaml), whose file
// is then removed. It returns the engine, deploy.yaml's content and the
// path that releases the worker.
func heldJob(t *testing.T, grace time.Duration) (te *testEngine, deploy, release string) {
	dir := t.TempDir()
	rd := filepath.Join(dir, "rules")
	if err := os.MkdirAll(rd, 0o755); err != nil {
		t.Fatal(err)
	}
	release = filepath.Join(dir, "go")
	writeFile(t, filepath.Join(rd, "keep.yaml"), sourceFile("a")+fmt.Sprintf(`rules:
  - name: block
    source: a
    when: body.kind == "block"
    actions:
      - shell: {command: [/bin/sh, -c, 'while [ ! -e %s ]; do sleep 0.02; done']}
`, release))
	deploy = fmt.Sprintf(`rules:
  - name: deploy
    source: a
    when: body.kind == "deploy"
    actions:
      - shell: {command: [/bin/sh, -c, 'echo ran >> %s']}
`, filepath.Join(dir, "ran"))
	writeFile(t, filepath.Join(rd, "deploy.yaml"), deploy)
	te = startEngine(t, dir, "", func(c *rules.Config) { c.Workers = 1; c.RuleGrace = grace })
	for _, kind := range []string{"block", "deploy"} {
		a := te.send("POST", "/hooks/a", http.Header{"Content-Type": {"application/json"}}, []byte(`{"kind":"`+kind+`"}`))
		if a.code != 200 || a.body["status"] != "accepted" {
			t.Fatalf("%s: %d %s", kind, a.code, a.raw)
		}
	}
	if err := os.Remove(filepath.Join(rd, "deploy.yaml")); err != nil {
		t.Fatal(err)
	}
	te.waitLog("reloaded")
	if te.Rules().Rules["deploy"] != nil {
		t.Fatal("rule deploy still in force after its file was removed")
	}
	writeFile(t, release, "")
	return te, deploy, release
}

func (te *testEngine) job(rule string, jobs []*store.Job) *store.Job {
	te.t.Helper()
	for _, j := range jobs {
		if j.Rule == rule {
			return j
		}
	}
	te.t.Fatalf("no job of rule %s", rule)
	return nil
}

// A queued job whose rule file disappears for a moment (a git pull) waits
// for it, holding no worker, and runs once it is back.
func TestHeldJobRunsWhenItsRuleComesBack(t *testing.T) {
	te, deploy, _ := heldJob(t, time.Minute)
	te.waitLog("job held: its rule is not in the configuration")
	// The worker is free: another event runs meanwhile.
	a := te.send("POST", "/hooks/a", http.Header{"Content-Type": {"application/json"}}, []byte(`{"kind":"block","n":2}`))
	if a.code != 200 || a.body["status"] != "accepted" {
		t.Fatalf("%d %s", a.code, a.raw)
	}
	te.waitLogs("job done", 2)
	writeFile(t, filepath.Join(te.dir, "rules", "deploy.yaml"), deploy)
	jobs := te.waitJobs(3)
	if j := te.job("deploy", jobs); j.State != store.Done || j.Error != "" {
		t.Fatalf("deploy job %s %q, want done", j.State, j.Error)
	}
	if got := readLines(t, filepath.Join(te.dir, "ran")); len(got) != 1 {
		t.Fatalf("deploy ran %d times, want 1", len(got))
	}
}

// Past the grace, the held job is cancelled and says why.
func TestHeldJobCancelledAfterGrace(t *testing.T) {
	te, _, _ := heldJob(t, 300*time.Millisecond)
	jobs := te.waitJobs(2)
	j := te.job("deploy", jobs)
	if j.State != store.Cancelled || !strings.Contains(j.Error, "rule deploy is not in the configuration (waited 300ms") {
		t.Fatalf("deploy job %s %q, want cancelled with the reason", j.State, j.Error)
	}
	if got := readLines(t, filepath.Join(te.dir, "ran")); len(got) != 0 {
		t.Fatalf("deploy ran %d times, want 0", len(got))
	}
}

// A held job stays held across a restart, keeping its deadline, and runs
// when the restarted hookd has its rule.
func TestHeldJobSurvivesRestart(t *testing.T) {
	te, deploy, _ := heldJob(t, time.Hour)
	te.waitLog("job held: its rule is not in the configuration")
	te.stop()
	writeFile(t, filepath.Join(te.dir, "rules", "deploy.yaml"), deploy)
	te2 := startEngine(t, te.dir, "", func(c *rules.Config) { c.Workers = 1; c.RuleGrace = time.Hour })
	if j := te2.job("deploy", te2.waitJobs(2)); j.State != store.Done {
		t.Fatalf("deploy job %s %q after a restart, want done", j.State, j.Error)
	}
}

// The jobs of a removed serial rule are cancelled together, grace after
// the rule left, not one grace after another as the lane brings each to
// its head.
func TestHeldLaneJobsShareOneDeadline(t *testing.T) {
	dir := t.TempDir()
	rd := filepath.Join(dir, "rules")
	if err := os.MkdirAll(rd, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(rd, "keep.yaml"), sourceFile("a"))
	writeFile(t, filepath.Join(rd, "deploy.yaml"), `rules:
  - name: deploy
    source: a
    concurrency: serial
    actions:
      - shell: {command: [/bin/sh, -c, 'touch `+filepath.Join(dir, "started")+`; sleep 2']}
`)
	const grace = time.Second
	te := startEngine(t, dir, "", func(c *rules.Config) { c.Workers = 1; c.RuleGrace = grace })
	for i := 0; i < 4; i++ {
		if a := te.send("POST", "/hooks/a", http.Header{"Content-Type": {"application/json"}}, []byte(fmt.Sprintf(`{"n":%d}`, i))); a.code != 200 {
			t.Fatalf("%d %s", a.code, a.raw)
		}
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(dir, "started")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first job never started")
		}
	}
	removed := time.Now()
	if err := os.Remove(filepath.Join(rd, "deploy.yaml")); err != nil {
		t.Fatal(err)
	}
	te.waitLog("reloaded")
	// The running job runs to its end (2 s); the three queued behind it in
	// the lane are held then, and cancelled at the same deadline.
	for deadline := time.Now().Add(20 * time.Second); strings.Count(te.logs.String(), "job cancelled: its rule was removed") < 3; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the queued jobs were not all cancelled:\n%s", te.logs.String())
		}
	}
	if took := time.Since(removed); took > 2*time.Second+grace/2 {
		t.Fatalf("the three held jobs were cancelled %v after their rule left, want by the end of the running job (2 s), "+
			"which is after their shared deadline (grace %v)", took, grace)
	}
}
