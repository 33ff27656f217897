package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"hookd/store"
)

// The deploy fails until $DIR/ok exists; each run leaves a line in ran.
// github redelivers failed events; plain keeps the default.
const redeliveryRules = `
sources:
  github:
    verify: {provider: github, secret: "${TEST_SECRET}"}
    redelivery: retry_failed
  plain:
    verify: {provider: github, secret: "${TEST_SECRET}"}
rules:
  - name: deploy
    sources: [github, plain]
    when: event == "push"
    actions:
      - shell:
          command: [/bin/sh, -c, 'echo "$HOOKD_DELIVERY_ID $HOOKD_SOURCE" >> "$DIR/ran"; test -f "$DIR/ok"']
`

// failedEvent delivers a push to source that fails its one job, and
// returns the event id.
func failedEvent(t *testing.T, te *testEngine, source, delivery string, jobs int) any {
	t.Helper()
	body := push("refs/heads/main", delivery)
	a := te.send("POST", "/hooks/"+source, githubHeaders(body, "push", delivery), body)
	if a.body["status"] != "accepted" {
		t.Fatalf("first delivery: %s", a.raw)
	}
	for _, j := range te.waitJobs(jobs) {
		if j.State != store.Failed {
			t.Fatalf("job %d is %s, want failed", j.ID, j.State)
		}
	}
	return a.body["id"]
}

func (te *testEngine) redeliver(source, delivery string) answer {
	te.t.Helper()
	body := push("refs/heads/main", delivery)
	return te.send("POST", "/hooks/"+source, githubHeaders(body, "push", delivery), body)
}

func TestRedeliveryOfFailedEventRunsItsRulesAgainOnce(t *testing.T) {
	te := startEngine(t, "", redeliveryRules, nil)
	id := failedEvent(t, te, "github", "d-1", 1)
	a := te.redeliver("github", "d-1")
	if a.code != 200 || a.body["status"] != "accepted" || a.body["id"] != id || !strings.Contains(a.raw, `"rules":["deploy"]`) {
		t.Fatalf("redelivery of a failed event: %d %s, want accepted with id %s", a.code, a.raw, id)
	}
	jobs := te.waitJobs(2)
	if ran := readLines(t, filepath.Join(te.dir, "ran")); len(ran) != 2 {
		t.Fatalf("runs %q, want the first and one for the redelivery", ran)
	}
	// Recorded on the event, which keeps its own id and both jobs.
	s := te.adminGet("/events/" + fmt.Sprint(id))
	reds, _ := s.body["redeliveries"].([]any)
	if s.code != 200 || len(reds) != 1 || !strings.Contains(s.raw, fmt.Sprintf(`"jobs":[%d]`, jobs[1].ID)) {
		t.Fatalf("show after a redelivery: %s", s.raw)
	}
	if jj, _ := s.body["jobs"].([]any); len(jj) != 2 {
		t.Fatalf("event jobs %v, want 2", s.body["jobs"])
	}
	// It failed again: the next redelivery runs it again, once more.
	if a := te.redeliver("github", "d-1"); a.body["status"] != "accepted" {
		t.Fatalf("second redelivery: %s", a.raw)
	}
	te.waitJobs(3)
	// Now it succeeds: a redelivery of a done event is a duplicate.
	if err := os.WriteFile(filepath.Join(te.dir, "ok"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if a := te.redeliver("github", "d-1"); a.body["status"] != "accepted" {
		t.Fatalf("third redelivery: %s", a.raw)
	}
	if j := te.waitJobs(4)[3]; j.State != store.Done {
		t.Fatalf("last job %s, want done", j.State)
	}
	if a := te.redeliver("github", "d-1"); a.body["status"] != "duplicate" || a.body["id"] != id {
		t.Fatalf("redelivery of a done event: %s, want duplicate", a.raw)
	}
	te.waitJobs(4)
	if ran := readLines(t, filepath.Join(te.dir, "ran")); len(ran) != 4 {
		t.Fatalf("runs %q, want 4", ran)
	}
	fams := te.scrape()
	for outcome, want := range map[string]float64{"accepted": 1, "redelivered": 3, "duplicate": 1} {
		if got := metricValue(fams, "hookd_requests_total", "source", "github", "outcome", outcome); got != want {
			t.Errorf("requests %s = %v, want %v", outcome, got, want)
		}
	}
	if n := strings.Count(te.logs.String(), "outcome=redelivered event_id="+fmt.Sprint(id)); n != 3 {
		t.Errorf("%d log lines of outcome redelivered, want 3", n)
	}
}

// Two copies of a redelivery at once: one runs the rules, the other is a
// duplicate, whichever order they commit in.
//
// The job waits for $DIR/release, so that it cannot fail again, making a
// later copy a legitimate redelivery, before every copy is answered.
func TestConcurrentRedeliveriesRunOnce(t *testing.T) {
	gated := strings.Replace(redeliveryRules, `'echo`, `'until test -f "$DIR/release"; do sleep 0.01; done; echo`, 1)
	te := startEngine(t, "", gated, nil)
	release := filepath.Join(te.dir, "release")
	const rounds, copies = 5, 4
	for r := range rounds {
		delivery := fmt.Sprintf("d-%d", r)
		if err := os.WriteFile(release, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		id := failedEvent(t, te, "github", delivery, 2*r+1)
		if err := os.Remove(release); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		got := make([]answer, copies)
		for i := range copies {
			wg.Go(func() { got[i] = te.redeliver("github", delivery) })
		}
		wg.Wait()
		n := 0
		for _, a := range got {
			switch {
			case a.body["status"] == "accepted" && a.body["id"] == id:
				n++
			case a.body["status"] == "duplicate" && a.body["id"] == id:
			default:
				t.Fatalf("round %d: answer %d %s", r, a.code, a.raw)
			}
		}
		if n != 1 {
			t.Fatalf("round %d: %d of %d copies accepted, want 1", r, n, copies)
		}
		if err := os.WriteFile(release, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		te.waitJobs(2*r + 2)
	}
	if ran := readLines(t, filepath.Join(te.dir, "ran")); len(ran) != 2*rounds {
		t.Fatalf("%d runs, want %d", len(ran), 2*rounds)
	}
}

// Without the setting, and while a job may still run, a redelivery is a
// duplicate and runs nothing.
func TestRedeliveryStaysDuplicate(t *testing.T) {
	te := startEngine(t, "", redeliveryRules, nil)
	id := failedEvent(t, te, "plain", "d-plain", 1)
	if a := te.redeliver("plain", "d-plain"); a.body["status"] != "duplicate" || a.body["id"] != id {
		t.Fatalf("redelivery without the setting: %s", a.raw)
	}
	te.waitJobs(1)
	if ran := readLines(t, filepath.Join(te.dir, "ran")); len(ran) != 1 {
		t.Fatalf("runs %q, want 1", ran)
	}
	if s := te.adminGet("/events/" + fmt.Sprint(id)); strings.Contains(s.raw, "redeliveries") {
		t.Fatalf("a duplicate was recorded as a redelivery: %s", s.raw)
	}
}
