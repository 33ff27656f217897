package engine

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"hookd/rules"
)

// fullQueueRules: one worker, room for one job, and a rule that reads the
// body, so that telling a match needs the body parsed.
func fullQueue(t *testing.T) *testEngine {
	rulesYAML := strings.Replace(gatedRules("parallel", ""), `when: event == "push"`,
		`when: event == "push" && body.ref == "refs/heads/main"`, 1)
	te := startEngine(t, "", rulesYAML, func(c *rules.Config) { c.Workers = 1; c.MaxQueued = 1 })
	te.accept(repoPush("o/r", "q1"), "d-q1") // holds the only slot until the gate opens
	return te
}

// A full queue refuses an event that may match before parsing its body:
// an unreadable body, which parsing would log, is refused without a line.
func TestFullQueueRefusesBeforeParsing(t *testing.T) {
	te := fullQueue(t)
	bad := []byte(`{"ref": not json`)
	for i := 0; i < 3; i++ {
		a := te.send("POST", "/hooks/github", githubHeaders(bad, "push", fmt.Sprint("d-bad-", i)), bad)
		if a.code != 503 || a.header.Get("Retry-After") != "30" || a.body["error"] != "queue full, retry later" {
			t.Fatalf("full queue: %d %q %s", a.code, a.header.Get("Retry-After"), a.raw)
		}
	}
	if strings.Contains(te.logs.String(), "body not readable") {
		t.Fatalf("a refused body was parsed:\n%s", te.logs.String())
	}
	// The answer is held for refusalPause: a sender retrying at once
	// cannot spin on refusals.
	good := repoPush("o/r", "q2")
	t0 := time.Now()
	if a := te.send("POST", "/hooks/github", githubHeaders(good, "push", "d-q2"), good); a.code != 503 {
		t.Fatalf("matching push while full: %d %s", a.code, a.raw)
	}
	if d := time.Since(t0); d < refusalPause {
		t.Fatalf("refused in %v, before the %v pause", d, refusalPause)
	}
	// The same body with room in the queue is parsed, and its warning logged.
	te.openGate()
	te.waitJobs(1)
	if a := te.send("POST", "/hooks/github", githubHeaders(bad, "push", "d-bad-0"), bad); a.code != 200 || a.body["status"] != "ignored" {
		t.Fatalf("unreadable body with room: %d %s", a.code, a.raw)
	}
	te.waitLog("body not readable")
	// The refused push was not recorded: its retry is a new event.
	te.accept(good, "d-q2")
	te.waitJobs(2)
}

// What a full queue does not refuse: a forged request (401), an event no
// rule can match (recorded as ignored), and a redelivery of a recorded
// event, accepted or ignored (duplicate, running nothing).
func TestFullQueueKeepsOtherAnswers(t *testing.T) {
	te := fullQueue(t)
	body := repoPush("o/r", "q1")
	forged := githubHeaders(body, "push", "d-forged")
	forged.Set("X-Hub-Signature-256", "sha256="+strings.Repeat("0", 64))
	if a := te.send("POST", "/hooks/github", forged, body); a.code != 401 {
		t.Fatalf("forged while full: %d %s", a.code, a.raw)
	}
	if a := te.send("POST", "/hooks/github", githubHeaders(body, "issues", "d-issue"), body); a.code != 200 || a.body["status"] != "ignored" {
		t.Fatalf("unmatched event while full: %d %s", a.code, a.raw)
	}
	for _, d := range []struct{ event, id string }{{"push", "d-q1"}, {"issues", "d-issue"}} {
		a := te.send("POST", "/hooks/github", githubHeaders(body, d.event, d.id), body)
		if a.code != 200 || a.body["status"] != "duplicate" {
			t.Fatalf("redelivery of %s while full: %d %s", d.id, a.code, a.raw)
		}
	}
	te.openGate()
	if jobs := te.waitJobs(1); len(jobs) != 1 {
		t.Fatalf("%d jobs, want the first push's alone", len(jobs))
	}
	te.accept(repoPush("o/r", "q3"), "d-q3")
}

// Clients retrying at once against a full queue get a bounded number of
// log lines, and summaries that count every other refusal.
func TestFullQueueRefusalsAreLoggedAtABoundedRate(t *testing.T) {
	te := fullQueue(t)
	te.refusals.mu.Lock()
	te.refusals.every = 200 * time.Millisecond
	te.refusals.mu.Unlock()
	const n = 100
	codes := make(chan int, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := repoPush("o/r", fmt.Sprint("r", i))
			req, _ := http.NewRequest("POST", te.url+"/hooks/github", bytes.NewReader(body))
			req.Header = githubHeaders(body, "push", fmt.Sprint("d-r", i))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				codes <- 0
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 503 {
			t.Fatalf("status %d", c)
		}
	}
	te.waitLog("webhook refusals not logged one by one (rate limit)")
	te.openGate()
	te.waitJobs(1)
	te.stop()
	logs := te.logs.String()
	lines := strings.Count(logs, "outcome=queue_full")
	if lines < refusalBurst || lines > refusalBurst+10 {
		t.Fatalf("%d lines for %d refusals, want about %d", lines, n, refusalBurst)
	}
	suppressed := 0
	for _, l := range strings.Split(logs, "\n") {
		if i := strings.Index(l, " queue_full="); i >= 0 && strings.Contains(l, "rate limit") {
			var k int
			if _, err := fmt.Sscanf(l[i:], " queue_full=%d", &k); err != nil {
				t.Fatal(err)
			}
			suppressed += k
		}
	}
	if lines+suppressed != n {
		t.Fatalf("%d lines + %d suppressed, want %d refusals in all\n%s", lines, suppressed, n, logs)
	}
}
