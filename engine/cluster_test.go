package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"hookd/internal/pgtest"
	"hookd/rules"
	"hookd/store"
)

// clusterRules has a parallel rule "run" and a serial rule "serial". Each
// action appends "start SHA NS" and "end SHA NS" (unix nanoseconds) to
// $SHARED/ran, a file both nodes write, and "run" waits while
// $SHARED/hold exists, so a test can keep a node's worker busy.
const clusterRules = `
sources:
  github:
    verify: {provider: github, secret: "${TEST_SECRET}"}
rules:
  - name: run
    source: github
    when: event == "push" && body.ref == "refs/heads/main"
    actions:
      - shell:
          script: 'echo "start $SHA $(date +%s%N)" >> "$OUT"; while [ -e "$HOLD" ]; do sleep 0.02; done; echo "end $SHA $(date +%s%N)" >> "$OUT"'
          env: {OUT: "$SHARED/ran", HOLD: "$SHARED/hold-{{ body.after }}", SHA: "{{ body.after }}"}
  - name: serial
    source: github
    when: event == "push" && body.ref == "refs/heads/serial"
    concurrency: serial
    actions:
      - shell:
          script: 'echo "start $SHA $(date +%s%N)" >> "$OUT"; sleep 0.15; echo "end $SHA $(date +%s%N)" >> "$OUT"'
          env: {OUT: "$SHARED/ran", SHA: "{{ body.after }}"}
`

// startNode starts an engine named node on the PostgreSQL database url;
// its actions write to shared.
func startNode(t *testing.T, url, shared, node string, workers int) *testEngine {
	t.Helper()
	return startLeased(t, url, shared, node, workers, 5*time.Second)
}

func startLeased(t *testing.T, url, shared, node string, workers int, lease time.Duration) *testEngine {
	t.Helper()
	return startEngine(t, "", strings.ReplaceAll(clusterRules, "$SHARED", shared), func(c *rules.Config) {
		c.Node = node
		c.Workers = workers
		c.Store = rules.Store{Driver: rules.DriverPostgres, URL: url, MaxConns: 4, Lease: lease}
	})
}

// sharedLines reads the action lines of the shared file.
func sharedLines(t *testing.T, shared string) []string {
	return readLines(t, filepath.Join(shared, "ran"))
}

// waitDone waits until the event's jobs are all final, as any node reads
// them, and returns them.
func (te *testEngine) waitDone(id uint64) []*store.Job {
	te.t.Helper()
	var jobs []*store.Job
	waitFor(te.t, fmt.Sprintf("event %d's jobs to end", id), func() bool {
		_, js, err := te.store.EventJobs(id)
		if err != nil || len(js) == 0 {
			return false
		}
		for _, j := range js {
			if !store.Final(j.State) {
				return false
			}
		}
		jobs = js
		return true
	})
	return jobs
}

// A delivery node A accepts while its only worker is busy runs on node B.
func TestClusterJobRunsOnAFreeNode(t *testing.T) {
	url, shared := pgtest.URL(t), t.TempDir()
	a := startNode(t, url, shared, "a", 1)
	hold := filepath.Join(shared, "hold-busy")
	if err := os.WriteFile(hold, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	busy := a.accept(push("refs/heads/main", "busy"), "d-busy")
	waitFor(t, "the first job to start", func() bool { return slices.ContainsFunc(sharedLines(t, shared), startOf("busy")) })
	b := startNode(t, url, shared, "b", 1)
	// A's only worker is busy: the second delivery, sent to A, runs on B.
	second := a.accept(push("refs/heads/main", "second"), "d-second")
	jobs := a.waitDone(second)
	if jobs[0].State != store.Done {
		t.Fatalf("second job %s: %s", jobs[0].State, jobs[0].Error)
	}
	if j := a.jobOf(busy); j.State != store.Running {
		t.Fatalf("the first job is %s, want still running", j.State)
	}
	ranOn := func(te *testEngine, id uint64) bool {
		return strings.Contains(te.logs.String(), fmt.Sprintf("job=%d rule=run attempt=1", id))
	}
	if ranOn(a, jobs[0].ID) || !ranOn(b, jobs[0].ID) {
		t.Fatalf("job %d ran on a: %v, on b: %v; want on b only", jobs[0].ID, ranOn(a, jobs[0].ID), ranOn(b, jobs[0].ID))
	}
	if n := jobs[0].Attempts[0].Node; n != "b" {
		t.Fatalf("the attempt records node %q, want b", n)
	}
	// The cluster's queue, as b counts it, holds a's running job.
	if q := b.ClusterQueue(); q.Running != 1 || q.Scope != "all nodes" || q.Err != nil {
		t.Fatalf("b's queue %+v, want a's job running", q)
	}
	os.Remove(hold)
	if j := a.waitDone(busy)[0]; j.Attempts[0].Node != "a" {
		t.Fatalf("the busy job's attempt records node %q, want a", j.Attempts[0].Node)
	}
	if got := sharedLines(t, shared); len(got) != 4 {
		t.Fatalf("lines %q, want each job started and ended once", got)
	}
}

func startOf(sha string) func(string) bool {
	return func(l string) bool { return strings.HasPrefix(l, "start "+sha+" ") }
}

func (te *testEngine) jobOf(eventID uint64) *store.Job {
	te.t.Helper()
	_, jobs, err := te.store.EventJobs(eventID)
	if err != nil || len(jobs) != 1 {
		te.t.Fatalf("event %d: %d jobs, %v", eventID, len(jobs), err)
	}
	return jobs[0]
}

// A node stopped gives back what it claimed: another runs it. A job it
// accepted and never started runs on the node left.
func TestClusterNodeStoppedOthersRun(t *testing.T) {
	url, shared := pgtest.URL(t), t.TempDir()
	a := startNode(t, url, shared, "a", 1)
	b := startNode(t, url, shared, "b", 1)
	b.stop()
	for _, sha := range []string{"h1", "h2", "h3"} {
		if err := os.WriteFile(filepath.Join(shared, "hold-"+sha), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var ids []uint64
	for _, sha := range []string{"h1", "h2", "h3"} {
		ids = append(ids, a.accept(push("refs/heads/main", sha), "d-"+sha))
	}
	waitFor(t, "a job to start on a", func() bool { return len(sharedLines(t, shared)) == 1 })
	// A stops: its running job is killed (shutdown_timeout is short here)
	// and the others, never started, are not its any more.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	a.stopped = true
	_ = a.Shutdown(ctx)
	cancel()
	for _, sha := range []string{"h1", "h2", "h3"} {
		os.Remove(filepath.Join(shared, "hold-"+sha))
	}
	c := startNode(t, url, shared, "c", 2)
	for _, id := range ids {
		if j := c.waitDone(id)[0]; j.State != store.Done {
			t.Fatalf("event %d: job %s %q", id, j.State, j.Error)
		}
	}
}

// The same delivery sent to both nodes at once is accepted once, answered
// duplicate once, and runs once.
func TestClusterSameDeliveryToBothNodes(t *testing.T) {
	url, shared := pgtest.URL(t), t.TempDir()
	nodes := []*testEngine{startNode(t, url, shared, "a", 2), startNode(t, url, shared, "b", 2)}
	for round := range 5 {
		sha := "same" + strconv.Itoa(round)
		body := push("refs/heads/main", sha)
		var wg sync.WaitGroup
		answers := make([]answer, 2)
		for i, te := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				answers[i] = te.send("POST", "/hooks/github", githubHeaders(body, "push", "d-"+sha), body)
			}()
		}
		wg.Wait()
		got := []any{answers[0].body["status"], answers[1].body["status"]}
		if !slices.Contains(got, "accepted") || !slices.Contains(got, "duplicate") || answers[0].body["id"] != answers[1].body["id"] {
			t.Fatalf("round %d: %s | %s", round, answers[0].raw, answers[1].raw)
		}
		nodes[0].waitDone(uint64(answers[0].body["id"].(float64)))
	}
	starts := 0
	for _, l := range sharedLines(t, shared) {
		if strings.HasPrefix(l, "start ") {
			starts++
		}
	}
	if starts != 5 {
		t.Fatalf("%d runs, want 5:\n%s", starts, strings.Join(sharedLines(t, shared), "\n"))
	}
}

// A serial rule's jobs never overlap, whichever node accepts and runs them,
// and run in arrival order.
func TestClusterSerialNeverOverlaps(t *testing.T) {
	url, shared := pgtest.URL(t), t.TempDir()
	nodes := []*testEngine{startNode(t, url, shared, "a", 3), startNode(t, url, shared, "b", 3)}
	var ids []uint64
	var order []string
	for i := range 8 {
		sha := "s" + strconv.Itoa(i)
		ids = append(ids, nodes[i%2].accept(push("refs/heads/serial", sha), "d-"+sha))
		order = append(order, sha)
	}
	for _, id := range ids {
		nodes[0].waitDone(id)
	}
	var prevEnd int64
	var ran []string
	lines := sharedLines(t, shared)
	for i := 0; i+1 < len(lines); i += 2 {
		var s1, s2 string
		var start, end int64
		if _, err := fmt.Sscanf(lines[i]+" "+lines[i+1], "start %s %d end %s %d", &s1, &start, &s2, &end); err != nil || s1 != s2 {
			t.Fatalf("runs overlap or interleave at %q, %q (%v):\n%s", lines[i], lines[i+1], err, strings.Join(lines, "\n"))
		}
		if start < prevEnd {
			t.Fatalf("%s started before the previous run ended", s1)
		}
		prevEnd = end
		ran = append(ran, s1)
	}
	if !slices.Equal(ran, order) {
		t.Fatalf("ran %v, want arrival order %v", ran, order)
	}
}

// max_queued counts the cluster: past it, a delivery to either node is
// refused as by a full queue, 503 with Retry-After.
func TestClusterMaxQueuedCountsTheCluster(t *testing.T) {
	url, shared := pgtest.URL(t), t.TempDir()
	full := func(c *rules.Config) { c.MaxQueued = 2 }
	a := startEngine(t, "", strings.ReplaceAll(clusterRules, "$SHARED", shared), func(c *rules.Config) {
		c.Node, c.Workers = "a", 1
		c.Store = rules.Store{Driver: rules.DriverPostgres, URL: url, MaxConns: 4, Lease: 5 * time.Second}
		full(c)
	})
	b := startEngine(t, "", strings.ReplaceAll(clusterRules, "$SHARED", shared), func(c *rules.Config) {
		c.Node, c.Workers = "b", 1
		c.Store = rules.Store{Driver: rules.DriverPostgres, URL: url, MaxConns: 4, Lease: 5 * time.Second}
		full(c)
	})
	for _, sha := range []string{"q1", "q2", "q3"} {
		if err := os.WriteFile(filepath.Join(shared, "hold-"+sha), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	q1 := a.accept(push("refs/heads/main", "q1"), "d-q1")
	q2 := b.accept(push("refs/heads/main", "q2"), "d-q2")
	body := push("refs/heads/main", "q3")
	for _, te := range []*testEngine{a, b} {
		r := te.send("POST", "/hooks/github", githubHeaders(body, "push", "d-q3"), body)
		if r.code != 503 || r.header.Get("Retry-After") == "" || !strings.Contains(r.raw, "queue full") {
			t.Fatalf("third job to %s: %d %q %s", te.cfg.Node, r.code, r.header.Get("Retry-After"), r.raw)
		}
	}
	waitFor(t, "the cluster's count in b's metrics", func() bool {
		return strings.Contains(b.send("GET", "/metrics", nil, nil).raw, "\nhookd_cluster_jobs_not_final 2\n")
	})
	// A replay is refused alike, whatever Queued last counted.
	if _, err := b.Replay(q1, ""); err == nil || !strings.Contains(err.Error(), "queue full") {
		t.Fatalf("replay past max_queued: %v", err)
	}
	for _, sha := range []string{"q1", "q2"} {
		os.Remove(filepath.Join(shared, "hold-"+sha))
	}
	a.waitDone(q1)
	a.waitDone(q2)
	os.Remove(filepath.Join(shared, "hold-q3"))
	waitFor(t, "room again", func() bool {
		return a.send("POST", "/hooks/github", githubHeaders(body, "push", "d-q3"), body).body["status"] == "accepted"
	})
}

// A reload's max_queued bounds the cluster from then on.
func TestClusterReloadSetsMaxQueued(t *testing.T) {
	url, shared, dir := pgtest.URL(t), t.TempDir(), t.TempDir()
	file := filepath.Join(dir, "hookd.yaml")
	write := func(n int) {
		yaml := fmt.Sprintf("workers: 1\nmax_queued: %d\nstore: {driver: postgres, url: '%s', lease: 5s, max_conns: 4}\n", n, url)
		if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(1)
	te := startEngine(t, dir, strings.ReplaceAll(clusterRules, "$SHARED", shared), func(c *rules.Config) {
		c.File, c.Workers, c.MaxQueued = file, 1, 1
		c.Store = rules.Store{Driver: rules.DriverPostgres, URL: url, MaxConns: 4, Lease: 5 * time.Second}
	})
	for _, sha := range []string{"m1", "m2"} {
		if err := os.WriteFile(filepath.Join(shared, "hold-"+sha), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(filepath.Join(shared, "hold-"+sha))
	}
	te.accept(push("refs/heads/main", "m1"), "d-m1")
	body := push("refs/heads/main", "m2")
	if r := te.send("POST", "/hooks/github", githubHeaders(body, "push", "d-m2"), body); r.code != 503 {
		t.Fatalf("past max_queued 1: %d %s", r.code, r.raw)
	}
	write(5)
	if err := te.Reload(); err != nil {
		t.Fatal(err)
	}
	te.accept(body, "d-m2")
}

// A node whose rules lack a job's rule (a rolling deploy of the rules)
// does not claim the job: it waits for a node that has the rule, rather
// than being held and then cancelled where its rule is unknown.
func TestClusterNodeLackingTheRuleLeavesItsJobs(t *testing.T) {
	url, shared := pgtest.URL(t), t.TempDir()
	a := startNode(t, url, shared, "a", 1)
	hold := filepath.Join(shared, "hold-busy")
	if err := os.WriteFile(hold, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	busy := a.accept(push("refs/heads/main", "busy"), "d-busy")
	waitFor(t, "the first job to start", func() bool { return slices.ContainsFunc(sharedLines(t, shared), startOf("busy")) })
	// b has only the serial rule.
	serialOnly := strings.ReplaceAll(clusterRules[:strings.Index(clusterRules, "  - name: run")]+
		clusterRules[strings.Index(clusterRules, "  - name: serial"):], "$SHARED", shared)
	b := startEngine(t, "", serialOnly, func(c *rules.Config) {
		c.Node, c.Workers = "b", 2
		c.Store = rules.Store{Driver: rules.DriverPostgres, URL: url, MaxConns: 4, Lease: 5 * time.Second}
	})
	second := a.accept(push("refs/heads/main", "second"), "d-second")
	time.Sleep(1500 * time.Millisecond) // b's claims, woken and by its interval
	if strings.Contains(b.logs.String(), "rule is not in the configuration") || b.jobOf(second).State != store.Queued {
		t.Fatalf("b took a job of a rule it lacks: %s\n%s", b.jobOf(second).State, b.logs.String())
	}
	os.Remove(hold)
	a.waitDone(busy)
	if j := a.waitDone(second)[0]; j.State != store.Done {
		t.Fatalf("second job %s: %s", j.State, j.Error)
	}
}
