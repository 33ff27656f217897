package engine

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"hookd/rules"
)

// scrape fetches /metrics the way Prometheus does and parses the text format.
func (te *testEngine) scrape() map[string]*dto.MetricFamily {
	te.t.Helper()
	req, _ := http.NewRequest("GET", te.url+"/metrics", nil)
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		te.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		te.t.Fatalf("/metrics: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		te.t.Fatalf("parsing /metrics: %v", err)
	}
	return fams
}

// metricValue returns the value of the series of name with exactly labels
// (name=value pairs), or -1 when there is no such series.
func metricValue(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.Metric {
		if len(m.Label) != len(labels)/2 {
			continue
		}
		for i := 0; i < len(labels); i += 2 {
			found := false
			for _, l := range m.Label {
				if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

func waitFile(t *testing.T, path string) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never appeared", path)
		}
	}
}

const metricsRules = `
sources:
  github:
    verify: {provider: github, secret: "${TEST_SECRET}"}
rules:
  - name: deploy
    source: github
    when: event == "push"
    actions:
      # Holds the worker until the test creates $DIR/go, so that the test
      # can see a job running and one queued without timing anything.
      - shell:
          script: 'touch "$DIR/started-$HOOKD_DELIVERY_ID"; while [ ! -e "$DIR/go" ]; do sleep 0.01; done'
          env: {DIR: "$DIR"}
  - name: flaky
    source: github
    when: event == "release"
    retry: {attempts: 2, backoff: 1ms}
    actions:
      - shell: {command: [/bin/false]}
`

func TestMetricsMoveWithTraffic(t *testing.T) {
	te := startEngine(t, "", metricsRules, func(c *rules.Config) { c.Workers = 1 })
	fams := te.scrape()
	// Zero series exist before any traffic, and the start counts as a load.
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"hookd_requests_total", []string{"source", "github", "outcome", "accepted"}, 0},
		{"hookd_verification_failures_total", []string{"source", "github"}, 0},
		{"hookd_job_outcomes_total", []string{"rule", "deploy", "outcome", "done"}, 0},
		{"hookd_config_last_reload_successful", nil, 1},
		{"hookd_jobs", []string{"state", "queued"}, 0},
	} {
		if got := metricValue(fams, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v before traffic, want %v", c.name, c.labels, got, c.want)
		}
	}
	if ts := metricValue(fams, "hookd_config_last_reload_success_timestamp_seconds"); ts < float64(time.Now().Add(-time.Hour).Unix()) {
		t.Errorf("reload timestamp %v", ts)
	}
	if fams["hookd_build_info"] == nil || fams["go_goroutines"] == nil || fams["process_open_fds"] == nil {
		t.Errorf("build info, Go or process collector missing")
	}

	body := push("refs/heads/main", "a1")
	if a := te.send("POST", "/hooks/github", githubHeaders(body, "push", "d1"), body); a.body["status"] != "accepted" {
		t.Fatalf("d1: %s", a.raw)
	}
	waitFile(t, filepath.Join(te.dir, "started-d1"))
	if a := te.send("POST", "/hooks/github", githubHeaders(body, "push", "d2"), body); a.body["status"] != "accepted" {
		t.Fatalf("d2: %s", a.raw)
	}
	fams = te.scrape()
	if r, q := metricValue(fams, "hookd_jobs", "state", "running"), metricValue(fams, "hookd_jobs", "state", "queued"); r != 1 || q != 1 {
		t.Errorf("jobs running %v queued %v, want 1 and 1", r, q)
	}
	if err := os.WriteFile(filepath.Join(te.dir, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	te.send("POST", "/hooks/github", githubHeaders(body, "push", "d1"), body)             // duplicate
	te.send("POST", "/hooks/github", githubHeaders(body, "issues", "d3"), body)           // ignored
	te.send("POST", "/hooks/github", githubHeaders(body, "release", "d4"), body)          // accepted, fails twice
	te.send("POST", "/hooks/github", githubHeaders([]byte("forged"), "push", "d5"), body) // unauthorized
	te.send("POST", "/hooks/nope/d6", githubHeaders(body, "push", "d6"), body)            // not found
	te.send("GET", "/hooks/github", nil, nil)                                             // method
	te.waitJobs(3)

	fams = te.scrape()
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"hookd_requests_total", []string{"source", "github", "outcome", "accepted"}, 3},
		{"hookd_requests_total", []string{"source", "github", "outcome", "duplicate"}, 1},
		{"hookd_requests_total", []string{"source", "github", "outcome", "ignored"}, 1},
		{"hookd_requests_total", []string{"source", "github", "outcome", "unauthorized"}, 1},
		{"hookd_requests_total", []string{"source", "github", "outcome", "method_not_allowed"}, 1},
		{"hookd_requests_total", []string{"source", "", "outcome", "not_found"}, 1},
		{"hookd_verification_failures_total", []string{"source", "github"}, 1},
		{"hookd_job_attempts_total", []string{"rule", "deploy"}, 2},
		{"hookd_job_attempts_total", []string{"rule", "flaky"}, 2},
		{"hookd_job_outcomes_total", []string{"rule", "deploy", "outcome", "done"}, 2},
		{"hookd_job_outcomes_total", []string{"rule", "flaky", "outcome", "retry"}, 1},
		{"hookd_job_outcomes_total", []string{"rule", "flaky", "outcome", "failed"}, 1},
		{"hookd_action_duration_seconds", []string{"rule", "deploy", "kind", "shell"}, 2},
		{"hookd_action_duration_seconds", []string{"rule", "flaky", "kind", "shell"}, 2},
		{"hookd_jobs", []string{"state", "running"}, 0},
		{"hookd_jobs", []string{"state", "queued"}, 0},
		{"hookd_jobs", []string{"state", "retrying"}, 0},
	} {
		if got := metricValue(fams, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if n := metricValue(fams, "hookd_intake_commit_duration_seconds"); n < 1 {
		t.Errorf("no commit observed: %v", n)
	}
	if n := metricValue(fams, "hookd_intake_commit_writes"); n < 1 {
		t.Errorf("no commit size observed: %v", n)
	}
	// No label ever holds a path or a delivery id.
	for name, f := range fams {
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if strings.Contains(l.GetValue(), "/hooks/") || strings.HasPrefix(l.GetValue(), "d") && len(l.GetValue()) == 2 {
					t.Errorf("%s has an unbounded label %s=%q", name, l.GetName(), l.GetValue())
				}
			}
		}
	}

	// A broken reload sets the gauge to 0 and keeps the timestamp; a good
	// one sets it back.
	before := metricValue(fams, "hookd_config_last_reload_success_timestamp_seconds")
	bad := filepath.Join(te.dir, "rules", "bad.yaml")
	if err := os.WriteFile(bad, []byte("rules: [{name: x, source: nowhere}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if te.Reload() == nil {
		t.Fatal("a broken rules file reloaded")
	}
	fams = te.scrape()
	if v := metricValue(fams, "hookd_config_last_reload_successful"); v != 0 {
		t.Errorf("after a failed reload: %v", v)
	}
	if v := metricValue(fams, "hookd_config_last_reload_success_timestamp_seconds"); v != before {
		t.Errorf("failed reload moved the timestamp: %v -> %v", before, v)
	}
	os.Remove(bad)
	if err := te.Reload(); err != nil {
		t.Fatal(err)
	}
	if v := metricValue(te.scrape(), "hookd_config_last_reload_successful"); v != 1 {
		t.Errorf("after a good reload: %v", v)
	}
}

// Several engines in one process each have their own registry.
func TestMetricsPerEngine(t *testing.T) {
	a := startEngine(t, "", metricsRules, nil)
	b := startEngine(t, "", metricsRules, nil)
	body := push("refs/heads/main", "x")
	a.send("POST", "/hooks/github", githubHeaders(body, "issues", "only-a"), body)
	if v := metricValue(a.scrape(), "hookd_requests_total", "source", "github", "outcome", "ignored"); v != 1 {
		t.Errorf("engine a: %v", v)
	}
	if v := metricValue(b.scrape(), "hookd_requests_total", "source", "github", "outcome", "ignored"); v != 0 {
		t.Errorf("engine b counted a's request: %v", v)
	}
}
