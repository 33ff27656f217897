package engine

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"hookd/rules"
	"hookd/store"
)

// With every worker busy, the next jobs are marked running ahead, at most
// two per worker; a shutdown gives them back queued with no attempt, so
// the next start runs them as attempt 1, and only the job whose action ran
// is recorded as interrupted.
func TestJobsMarkedAheadGoBackQueuedOnStop(t *testing.T) {
	dir := t.TempDir()
	te := startEngine(t, dir, gatedRules("parallel", ""), func(c *rules.Config) {
		c.Workers = 1
		c.ShutdownTimeout = 100 * time.Millisecond
	})
	const n = 6
	for i := 0; i < n; i++ {
		te.accept(repoPush("acme/site", fmt.Sprint("c", i)), fmt.Sprint("ahead-", i))
	}
	te.waitLine("start c0 1")
	running := func() []*store.Job {
		open, err := te.bolt().OpenJobs()
		if err != nil {
			t.Fatal(err)
		}
		return slices.DeleteFunc(open, func(j *store.Job) bool { return j.State != store.Running })
	}
	waitFor(t, "jobs marked ahead", func() bool { return len(running()) == 1+aheadPerWorker })
	time.Sleep(50 * time.Millisecond)
	if got := len(running()); got != 1+aheadPerWorker {
		t.Fatalf("%d jobs marked running with one worker: at most %d may be", got, 1+aheadPerWorker)
	}
	te.stop() // kills the gated action: its attempt is interrupted

	te2 := startEngine(t, dir, "", nil)
	te2.openGate()
	jobs := te2.waitJobs(n)
	for _, j := range jobs {
		want := 1
		if j.ID == jobs[0].ID {
			want = 2 // the one that ran when the first engine stopped
		}
		if j.State != store.Done || len(j.Attempts) != want {
			t.Errorf("job %d: %s after %d attempts, want done after %d", j.ID, j.State, len(j.Attempts), want)
		}
		for _, a := range j.Attempts[:len(j.Attempts)-1] {
			if !strings.HasPrefix(a.Error, "interrupted by shutdown") {
				t.Errorf("job %d attempt %d: %q", j.ID, a.N, a.Error)
			}
		}
	}
	for i := 1; i < n; i++ {
		if line := fmt.Sprintf("start c%d 1", i); !slices.Contains(te2.ran(), line) {
			t.Errorf("no %q in %q", line, te2.ran())
		}
	}
}
