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

	"hookd/rules"
	"hookd/store"
)

// gatedRules has one rule whose action logs "start SHA ATTEMPT", waits
// until the test creates $DIR/gate, then logs "end SHA". The sleep makes
// any overlap between runs show in the log.
func gatedRules(concurrency, key string) string {
	extra := ""
	if key != "" {
		extra = "\n    key: " + key
	}
	return `
sources:
  github:
    verify: {provider: github, secret: "${TEST_SECRET}"}
rules:
  - name: deploy
    source: github
    when: event == "push"
    concurrency: ` + concurrency + extra + `
    actions:
      - shell:
          script: 'echo "start $SHA $HOOKD_ATTEMPT" >> "$OUT"; while [ ! -e "$GATE" ]; do sleep 0.02; done; sleep 0.05; echo "end $SHA" >> "$OUT"'
          env: {OUT: "$DIR/ran", GATE: "$DIR/gate", SHA: "{{ body.after }}"}
`
}

func repoPush(repo, after string) []byte {
	return []byte(fmt.Sprintf(`{"ref":"refs/heads/main","after":%q,"repository":{"full_name":%q}}`, after, repo))
}

// waitFor polls cond with a generous deadline: slow machines only wait.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (te *testEngine) accept(body []byte, delivery string) uint64 {
	te.t.Helper()
	a := te.send("POST", "/hooks/github", githubHeaders(body, "push", delivery), body)
	if a.code != 200 || a.body["status"] != "accepted" {
		te.t.Fatalf("delivery %s: %d %s", delivery, a.code, a.raw)
	}
	return uint64(a.body["id"].(float64))
}

func (te *testEngine) ran() []string { return readLines(te.t, filepath.Join(te.dir, "ran")) }

func (te *testEngine) waitLine(line string) {
	te.t.Helper()
	waitFor(te.t, "line "+line, func() bool { return slices.Contains(te.ran(), line) })
}

func (te *testEngine) openGate() {
	te.t.Helper()
	if err := os.WriteFile(filepath.Join(te.dir, "gate"), nil, 0o644); err != nil {
		te.t.Fatal(err)
	}
}

func states(jobs []*store.Job) map[string]int {
	m := map[string]int{}
	for _, j := range jobs {
		m[j.State]++
	}
	return m
}

func TestSerialRunsOneAtATimeInArrivalOrder(t *testing.T) {
	te := startEngine(t, "", gatedRules("serial", ""), nil)
	for _, sha := range []string{"a", "b", "c", "d"} {
		te.accept(repoPush("o/r", sha), "d-"+sha)
	}
	te.waitLine("start a 1")
	te.openGate()
	jobs := te.waitJobs(4)
	if s := states(jobs); s[store.Done] != 4 {
		t.Fatalf("states %v", s)
	}
	want := "start a 1,end a,start b 1,end b,start c 1,end c,start d 1,end d"
	if got := strings.Join(te.ran(), ","); got != want {
		t.Fatalf("runs %s\nwant %s", got, want)
	}
}

func TestLatestBurstGivesOneDeployOfTheNewest(t *testing.T) {
	te := startEngine(t, "", gatedRules("latest", ""), nil)
	te.accept(repoPush("o/r", "p0"), "d-p0")
	te.waitLine("start p0 1")
	// Ten pushes at once while p0 runs; the newest is the highest event id.
	var mu sync.Mutex
	newest, newestSHA := uint64(0), ""
	var wg sync.WaitGroup
	for i := 1; i <= 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sha := "p" + strconv.Itoa(i)
			body := repoPush("o/r", sha)
			a := te.send("POST", "/hooks/github", githubHeaders(body, "push", "d-"+sha), body)
			if a.code != 200 || a.body["status"] != "accepted" {
				t.Errorf("%s: %d %s", sha, a.code, a.raw)
				return
			}
			id := uint64(a.body["id"].(float64))
			mu.Lock()
			if id > newest {
				newest, newestSHA = id, sha
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	te.openGate()
	jobs := te.waitJobs(11)
	if s := states(jobs); s[store.Done] != 2 || s[store.Superseded] != 9 {
		t.Fatalf("states %v", s)
	}
	want := "start p0 1,end p0,start " + newestSHA + " 1,end " + newestSHA
	if got := strings.Join(te.ran(), ","); got != want {
		t.Fatalf("runs %s\nwant %s", got, want)
	}
	for _, j := range jobs {
		if j.State == store.Superseded && (j.Error == "" || len(j.Attempts) != 0) {
			t.Fatalf("superseded job %+v", j)
		}
	}
}

func TestKeySerializesPerValue(t *testing.T) {
	te := startEngine(t, "", gatedRules("serial", "body.repository.full_name"), nil)
	te.accept(repoPush("o/a", "a1"), "d-a1")
	te.accept(repoPush("o/b", "b1"), "d-b1")
	a2 := te.accept(repoPush("o/a", "a2"), "d-a2")
	// Two repositories run side by side while a2 waits behind a1.
	te.waitLine("start a1 1")
	te.waitLine("start b1 1")
	id := a2
	ev, err := te.store.Event(id)
	if err != nil {
		t.Fatal(err)
	}
	if j, _ := te.store.Job(ev.Jobs[0]); j.State != store.Queued {
		t.Fatalf("a2 is %s while a1 runs", j.State)
	}
	te.openGate()
	te.waitJobs(3)
	got := te.ran()
	if i, k := slices.Index(got, "end a1"), slices.Index(got, "start a2 1"); i < 0 || k < i {
		t.Fatalf("a2 did not wait for a1: %q", got)
	}
}

// Lanes live in the store: after a stop that kills the running job, the
// restart runs it again first, then the rest in order.
func TestSerialOrderHoldsAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	te := startEngine(t, dir, gatedRules("serial", ""), nil)
	for _, sha := range []string{"a", "b", "c"} {
		te.accept(repoPush("o/r", sha), "d-"+sha)
	}
	te.waitLine("start a 1")
	te.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	_ = te.Shutdown(ctx)
	cancel()

	te2 := startEngine(t, dir, "", nil)
	te2.waitLine("start a 2")
	te2.accept(repoPush("o/r", "d"), "d-d")
	te2.openGate()
	te2.waitJobs(4)
	want := "start a 1,start a 2,end a,start b 1,end b,start c 1,end c,start d 1,end d"
	if got := strings.Join(te2.ran(), ","); got != want {
		t.Fatalf("runs %s\nwant %s", got, want)
	}
}

func TestLatestHoldsAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	te := startEngine(t, dir, gatedRules("latest", ""), nil)
	te.accept(repoPush("o/r", "p0"), "d-p0")
	te.waitLine("start p0 1")
	for _, sha := range []string{"p1", "p2", "p3"} {
		te.accept(repoPush("o/r", sha), "d-"+sha)
	}
	te.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	_ = te.Shutdown(ctx)
	cancel()

	te2 := startEngine(t, dir, "", nil)
	te2.waitLine("start p0 2")
	te2.accept(repoPush("o/r", "p4"), "d-p4") // replaces p3, still waiting
	te2.openGate()
	jobs := te2.waitJobs(5)
	if s := states(jobs); s[store.Done] != 2 || s[store.Superseded] != 3 {
		t.Fatalf("states %v", s)
	}
	want := "start p0 1,start p0 2,end p0,start p4 1,end p4"
	if got := strings.Join(te2.ran(), ","); got != want {
		t.Fatalf("runs %s\nwant %s", got, want)
	}
}

func TestQueueFullAnswers503ThenRecovers(t *testing.T) {
	te := startEngine(t, "", gatedRules("parallel", ""), func(c *rules.Config) { c.Workers = 1; c.MaxQueued = 2 })
	te.accept(repoPush("o/r", "q1"), "d-q1")
	te.accept(repoPush("o/r", "q2"), "d-q2")
	body := repoPush("o/r", "q3")
	a := te.send("POST", "/hooks/github", githubHeaders(body, "push", "d-q3"), body)
	if a.code != 503 || a.header.Get("Retry-After") == "" {
		t.Fatalf("full queue: %d %q %s", a.code, a.header.Get("Retry-After"), a.raw)
	}
	// An ignored event owes no job: it is still answered.
	other := repoPush("o/r", "x")
	if a := te.send("POST", "/hooks/github", githubHeaders(other, "ping", "d-ping"), other); a.code != 200 {
		t.Fatalf("ping while full: %d %s", a.code, a.raw)
	}
	te.openGate()
	te.waitJobs(2)
	// The refused delivery was not recorded: the provider's retry is new.
	te.accept(body, "d-q3")
	te.waitJobs(3)
	// Nothing stays in memory for finished work.
	d := te.disp
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.ready) != 0 || len(d.lanes) != 0 || len(d.timers) != 0 || d.pending != 0 {
		t.Fatalf("dispatcher holds ready=%d lanes=%d timers=%d pending=%d", len(d.ready), len(d.lanes), len(d.timers), d.pending)
	}
}

func TestRetentionPrunesFinishedEventsAndTheirDedupKeys(t *testing.T) {
	te := startEngine(t, "", deployRules, func(c *rules.Config) { c.Retention = time.Hour })
	body := push("refs/heads/main", "r1")
	id := te.accept(body, "d-ret")
	te.waitJobs(1)
	if n, err := te.prune(time.Now()); err != nil || n != 0 {
		t.Fatalf("young event pruned: %d %v", n, err)
	}
	if n, err := te.prune(time.Now().Add(2 * time.Hour)); err != nil || n != 1 {
		t.Fatalf("prune: %d %v", n, err)
	}
	if _, err := te.store.Event(id); err == nil {
		t.Fatal("event survived retention")
	}
	// Its delivery id is forgotten: the redelivery is a new event.
	if again := te.accept(body, "d-ret"); again == id {
		t.Fatalf("same id %d after pruning", again)
	}
	te.waitJobs(1)
	if got := te.ran(); len(got) != 2 {
		t.Fatalf("runs %q", got)
	}
}
