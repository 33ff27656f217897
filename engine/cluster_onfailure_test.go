package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hookd/internal/pgtest"
	"hookd/rules"
	"hookd/store"
)

// The action fails for good; on_failure logs its node and waits while
// the hold file exists.
const failingClusterRules = `
sources:
  github:
    verify: {provider: github, secret: "${TEST_SECRET}"}
rules:
  - name: deploy
    source: github
    concurrency: serial
    actions:
      - shell:
          script: 'echo ran >> "$SHARED/ran"; exit 3'
    on_failure:
      - shell:
          script: 'echo "alert $NODE $N" >> "$SHARED/alerts"; while [ -e "$SHARED/hold" ]; do sleep 0.02; done'
          env: {NODE: "${HOOKD_TEST_NODE}", N: "{{ attempt }}"}
`

// A node stopped while a job's on_failure runs leaves the job failing:
// another node runs the on_failure again, not the failed action.
func TestClusterOnFailureStoppedRunsOnAnotherNode(t *testing.T) {
	url, shared := pgtest.URL(t), t.TempDir()
	if err := os.WriteFile(filepath.Join(shared, "hold"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	yaml := strings.ReplaceAll(failingClusterRules, "$SHARED", shared)
	node := func(name string) *testEngine {
		t.Setenv("HOOKD_TEST_NODE", name)
		return startEngine(t, "", yaml, func(c *rules.Config) {
			c.Node, c.Workers = name, 1
			c.Store = rules.Store{Driver: rules.DriverPostgres, URL: url, MaxConns: 4, Lease: 5 * time.Second}
		})
	}
	a := node("a")
	id := a.accept(push("refs/heads/main", "f1"), "d-f1")
	alerts := func() []string { return readLines(t, filepath.Join(shared, "alerts")) }
	waitFor(t, "on_failure to start on a", func() bool { return len(alerts()) == 1 })
	b := node("b")

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	a.stopped = true
	_ = a.Shutdown(ctx) // past its deadline: on_failure is killed
	os.Remove(filepath.Join(shared, "hold"))

	j := b.waitDone(id)[0]
	if got := readLines(t, filepath.Join(shared, "ran")); len(got) != 1 {
		t.Errorf("the action ran %d times, want once", len(got))
	}
	if got := alerts(); strings.Join(got, ",") != "alert a 1,alert b 1" {
		t.Errorf("on_failure ran %q, want on a then on b", got)
	}
	if j.State != store.Failed || j.Failing || len(j.Attempts) != 1 || !strings.Contains(j.Error, "exit status 3") ||
		len(j.OnFailure) != 1 || j.OnFailure[0].Error != "" {
		t.Errorf("the job: %s failing=%v error %q, %d attempts, on_failure %+v", j.State, j.Failing, j.Error, len(j.Attempts), j.OnFailure)
	}
}
