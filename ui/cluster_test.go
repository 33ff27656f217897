package ui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hookd/internal/pgtest"
	"hookd/rules"
)

// heldRules: a push to main runs a script that waits while $HOLD exists.
const heldRules = `
sources:
  github:
    path: /hooks/github
    verify: {provider: github, secret: ` + secret + `}
rules:
  - name: deploy
    source: github
    when: event == "push"
    actions:
      - shell: {command: [sh, -c, 'while [ -e "$0" ]; do sleep 0.02; done', "%HOLD%"]}
`

// TestClusterPages: on a shared store, the overview's queue counts every
// node's jobs (and says so), and the event page names the node that ran
// each attempt.
func TestClusterPages(t *testing.T) {
	url := pgtest.URL(t)
	hold := filepath.Join(t.TempDir(), "hold")
	if err := os.WriteFile(hold, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	y := strings.ReplaceAll(heldRules, "%HOLD%", hold)
	node := func(name string, workers int) *fixture {
		return startConfig(t, y, func(c *rules.Config) {
			c.Node, c.Workers = name, workers
			c.Store = rules.Store{Driver: rules.DriverPostgres, URL: url, MaxConns: 4, Lease: 5 * time.Second}
		})
	}
	a := node("node-a", 1)
	if code := a.send("push", "d-1", push("refs/heads/main", "abc")); code != 200 && code != 202 {
		t.Fatalf("delivery: %d", code)
	}
	// b has no worker busy: what it shows running is a's.
	b := node("node-b", 1)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, body := b.get("/overview")
		if strings.Contains(body, `<th scope="row">running</th><td class="num">1</td>`) {
			must(t, body, `Queue <small>(all nodes)</small>`)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node b's overview never counted node a's running job:\n%s", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, running, _ := b.e.QueueDepth(); running != 0 {
		t.Fatalf("node b runs %d jobs itself", running)
	}
	os.Remove(hold)
	a.waitFinal()
	_, body := b.get("/events/1")
	must(t, body, "Attempt 1 · on node <strong>node-a</strong> · started")
}
