package engine

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"testing"
)

// adminPost calls the admin API over its unix socket with a JSON body.
func (te *testEngine) adminPost(path, body string) answer {
	te.t.Helper()
	addr := te.AdminAddr()
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, AdminNetwork(addr), addr)
	}}}
	resp, err := c.Post("http://hookd"+path, "application/json", bytes.NewReader([]byte(body)))
	if err != nil {
		te.t.Fatal(err)
	}
	return answerOf(resp)
}

// A manual run's job takes its id from the jobs' sequence, not the events':
// webhooks accepted after it never reuse its id, and every event's jobs
// are its own.
func TestManualRunJobIDsAreNeverReused(t *testing.T) {
	te := startEngine(t, "", deployRules, nil)
	for i := range 2 { // events ahead of jobs
		body := push("refs/heads/dev", fmt.Sprint(i))
		if a := te.send("POST", "/hooks/github", githubHeaders(body, "push", fmt.Sprint("ignored-", i)), body); a.body["status"] != "ignored" {
			t.Fatalf("ignored delivery: %d %s", a.code, a.raw)
		}
	}
	if a := te.adminPost("/rules/deploy/run", `{}`); a.code != 200 || a.body["status"] != "queued" {
		t.Fatalf("manual run: %d %s", a.code, a.raw)
	}
	for i := range 5 {
		body := push("refs/heads/main", fmt.Sprint("after", i))
		if a := te.send("POST", "/hooks/github", githubHeaders(body, "push", fmt.Sprint("accepted-", i)), body); a.body["status"] != "accepted" {
			t.Fatalf("accepted delivery: %d %s", a.code, a.raw)
		}
	}
	te.waitJobs(6)
	for id := uint64(1); id <= te.bolt().LastID(); id++ {
		ev, err := te.store.Event(id)
		if err != nil {
			t.Fatal(err)
		}
		for _, jid := range ev.Jobs {
			j, err := te.store.Job(jid)
			if err != nil {
				t.Fatal(err)
			}
			if j.EventID != ev.ID {
				t.Errorf("event %d (%s) lists job %d, which belongs to event %d", ev.ID, ev.Source, jid, j.EventID)
			}
		}
	}
}

// Running a rule that does not exist names the rules that do.
func TestManualRunOfAnUnknownRule(t *testing.T) {
	te := startEngine(t, "", deployRules, nil)
	a := te.adminPost("/rules/nosuch/run", `{}`)
	if want := `no rule "nosuch" in the configuration; its rules are deploy`; a.code != 404 || a.body["error"] != want {
		t.Fatalf("run of an unknown rule: %d %s, want 404 %q", a.code, a.raw, want)
	}
}
