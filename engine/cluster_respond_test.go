package engine

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"hookd/internal/pgtest"
	"hookd/rules"
	"hookd/store"
	"hookd/verify"
)

// clusterRespondRules answers /echo and /lane (a serial rule) with their
// action's output. /lane appends "start TEXT" and "end TEXT" to
// $SHARED/ran, and a /lane slow waits while $SHARED/hold exists.
const clusterRespondRules = `
sources:
  slack:
    verify: {provider: slack, secret: "${TEST_SECRET}"}
rules:
  - name: echo
    source: slack
    when: body.command == "/echo"
    respond: {wait: 2s, body: "fallback", headers: {X-Event: "{{ event_id }}"}}
    actions:
      - shell: {command: [/bin/sh, -c, 'echo "out $1"', sh, "{{ body.text }}"]}
  - name: lane
    source: slack
    when: body.command == "/lane"
    concurrency: serial
    respond: {wait: 2s, body: "fallback", headers: {X-Event: "{{ event_id }}"}}
    actions:
      - shell:
          command: [/bin/sh, -c, 'echo "start $1" >> "$SHARED/ran"; if [ "$1" = slow ]; then while [ -e "$SHARED/hold" ]; do sleep 0.02; done; fi; echo "out $1"; echo "end $1" >> "$SHARED/ran"', sh, "{{ body.text }}"]
`

// startRespondNode starts a node of the cluster on url with the rules
// above and workers workers.
func startRespondNode(t *testing.T, url, shared, node string, workers int) *testEngine {
	t.Helper()
	return startEngine(t, "", strings.ReplaceAll(clusterRespondRules, "$SHARED", shared), func(c *rules.Config) {
		c.Node = node
		c.Workers = workers
		c.Store = rules.Store{Driver: rules.DriverPostgres, URL: url, MaxConns: 4, Lease: 5 * time.Second}
	})
}

// command sends a signed slash command to te and returns its answer and
// the event id the answer names.
func (te *testEngine) command(cmd, text string) (answer, uint64) {
	te.t.Helper()
	body := []byte(url.Values{"command": {cmd}, "text": {text}, "trigger_id": {cmd + "-" + text}}.Encode())
	h, err := verify.Sign(verify.Config{Provider: "slack", Secrets: []string{secret}}, body, time.Now())
	if err != nil {
		te.t.Fatal(err)
	}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	a := te.send(http.MethodPost, "/hooks/slack", h, body)
	id, err := strconv.ParseUint(a.header.Get("X-Event"), 10, 64)
	if a.code != http.StatusOK || err != nil {
		te.t.Fatalf("%s %s: %d %q (event %q)", cmd, text, a.code, a.raw, a.header.Get("X-Event"))
	}
	return a, id
}

// A request that waits for its job's output, sent to node A, is answered
// with it, although node B is idle and claiming: A runs the job itself.
// Before, B took about half of them and their senders got the fallback.
func TestClusterRespondWaitAnswersWithTheOutput(t *testing.T) {
	url, shared := pgtest.URL(t), t.TempDir()
	a := startRespondNode(t, url, shared, "a", 2)
	b := startRespondNode(t, url, shared, "b", 4)
	var last uint64
	for i := range 50 {
		text := fmt.Sprint("e", i)
		ans, id := a.command("/echo", text)
		if ans.raw != "out "+text {
			t.Fatalf("delivery %d answered %q, want %q (the job ran on b: %v)", i, ans.raw, "out "+text, ranOnNode(b, id))
		}
		last = id
	}
	a.waitDone(last)
	if strings.Contains(b.logs.String(), "rule=echo attempt=1") {
		t.Fatalf("b ran a job a held for its request")
	}
}

// ranOnNode tells whether te's log shows an attempt of a job of event id.
func ranOnNode(te *testEngine, id uint64) bool {
	_, jobs, err := te.store.EventJobs(id)
	if err != nil || len(jobs) != 1 {
		return false
	}
	return strings.Contains(te.logs.String(), fmt.Sprintf("event_id=%d job=%d rule=", id, jobs[0].ID))
}

// A waited job of a serial rule whose lane is free runs on the node that
// holds the request; one whose lane is busy on another node waits its
// turn (its sender gets the fallback) and never overlaps the lane's job.
func TestClusterRespondWaitSerialLane(t *testing.T) {
	url, shared := pgtest.URL(t), t.TempDir()
	a := startRespondNode(t, url, shared, "a", 2)
	b := startRespondNode(t, url, shared, "b", 4)
	for i := range 12 {
		text := fmt.Sprint("s", i)
		ans, id := a.command("/lane", text)
		if ans.raw != "out "+text {
			t.Fatalf("delivery %d answered %q, want %q (the job ran on b: %v)", i, ans.raw, "out "+text, ranOnNode(b, id))
		}
		a.waitDone(id) // the lane is free for the next
	}
	hold := filepath.Join(shared, "hold")
	if err := os.WriteFile(hold, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	slow := make(chan answer, 1)
	go func() { ans, _ := b.command("/lane", "slow"); slow <- ans }()
	waitFor(t, "the slow job to start", func() bool { return slices.Contains(sharedLines(t, shared), "start slow") })
	ans, after := a.command("/lane", "after")
	if ans.raw != "fallback" {
		t.Fatalf("a job behind a busy lane answered %q, want the fallback", ans.raw)
	}
	if err := os.Remove(hold); err != nil {
		t.Fatal(err)
	}
	<-slow // the fallback: the job outlasted its wait
	if j := a.waitDone(after); j[0].State != store.Done {
		t.Fatalf("the job behind the lane: %s %s", j[0].State, j[0].Error)
	}
	lines := sharedLines(t, shared)
	if got := lines[len(lines)-4:]; !slices.Equal(got, []string{"start slow", "end slow", "start after", "end after"}) {
		t.Fatalf("the lane ran %q, want slow then after", got)
	}
}

// A node with no worker free does not keep a waited job for itself: a
// free node runs it (its sender gets the fallback) rather than the job
// waiting for the busy node.
func TestClusterRespondWaitBusyNodeLeavesTheJob(t *testing.T) {
	url, shared := pgtest.URL(t), t.TempDir()
	a := startRespondNode(t, url, shared, "a", 1)
	b := startRespondNode(t, url, shared, "b", 2)
	hold := filepath.Join(shared, "hold")
	if err := os.WriteFile(hold, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(hold)
	slow := make(chan answer, 1)
	go func() { ans, _ := a.command("/lane", "slow"); slow <- ans }()
	waitFor(t, "the slow job to start", func() bool { return slices.Contains(sharedLines(t, shared), "start slow") })
	ans, id := a.command("/echo", "busy")
	if ans.raw != "fallback" {
		t.Fatalf("answered %q, want the fallback: a's only worker is busy", ans.raw)
	}
	if j := a.waitDone(id); j[0].State != store.Done || !ranOnNode(b, id) {
		t.Fatalf("the job is %s, ran on b: %v; want done by b while a is busy", j[0].State, ranOnNode(b, id))
	}
	os.Remove(hold)
	<-slow
}
