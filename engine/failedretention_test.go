package engine

import (
	"testing"
	"time"

	"hookd/rules"
	"hookd/store"
)

const failingRules = `
sources:
  github:
    verify: {provider: github, secret: "${TEST_SECRET}"}
rules:
  - name: broken
    source: github
    retry: {attempts: 1}
    actions:
      - shell: {command: ["false"]}
`

// A failed event outlives retention (SPEC: kept, and visible with hookd
// events -status failed) until failed_retention, when set, ends it.
func TestRetentionKeepsFailedEventsUntilFailedRetention(t *testing.T) {
	te := startEngine(t, "", failingRules, func(c *rules.Config) { c.Retention = time.Hour; c.FailedRetention = 3 * time.Hour })
	id := te.accept([]byte(`{}`), "d-fail")
	if jobs := te.waitJobs(1); jobs[0].State != store.Failed {
		t.Fatalf("job %s, want failed", jobs[0].State)
	}
	if n, err := te.prune(time.Now().Add(2 * time.Hour)); err != nil || n != 0 {
		t.Fatalf("failed event pruned past retention: %d %v", n, err)
	}
	if _, err := te.store.Event(id); err != nil {
		t.Fatalf("failed event gone: %v", err)
	}
	if n, err := te.prune(time.Now().Add(4 * time.Hour)); err != nil || n != 1 {
		t.Fatalf("failed event past failed_retention: pruned %d %v", n, err)
	}
}
