package engine

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"testing"
)

// adminGet calls the engine's admin API over its unix socket, as `hookd
// show` and `hookd events` do.
func (te *testEngine) adminGet(path string) answer {
	te.t.Helper()
	addr := te.AdminAddr()
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, AdminNetwork(addr), addr)
	}}}
	resp, err := c.Get("http://hookd" + path)
	if err != nil {
		te.t.Fatal(err)
	}
	return answerOf(resp)
}

// An id intake has answered can be read back at once, though an ignored
// event is written without waiting for the disk: show finds it and the
// listing holds it.
func TestAnsweredIgnoredEventsReadBackAtOnce(t *testing.T) {
	te := startEngine(t, "", deployRules, nil)
	const n = 100
	ids := map[string]bool{}
	for i := range n {
		body := push("refs/heads/dev", fmt.Sprint(i))
		a := te.send("POST", "/hooks/github", githubHeaders(body, "push", fmt.Sprintf("read-%d", i)), body)
		id := fmt.Sprint(a.body["id"])
		if a.code != 200 || a.body["status"] != "ignored" || id == "" {
			t.Fatalf("delivery %d: %d %s", i, a.code, a.raw)
		}
		ids[id] = true
		if s := te.adminGet("/events/" + id); s.code != 200 || s.body["status"] != "ignored" {
			t.Fatalf("show %s right after its answer (delivery %d): %d %s", id, i, s.code, s.raw)
		}
	}
	// The same, for a listing right after a burst.
	for i := range n {
		body := push("refs/heads/dev", fmt.Sprint("burst", i))
		a := te.send("POST", "/hooks/github", githubHeaders(body, "push", fmt.Sprintf("burst-%d", i)), body)
		ids[fmt.Sprint(a.body["id"])] = true
	}
	l := te.adminGet("/events?limit=1000")
	evs, _ := l.body["events"].([]any)
	for _, e := range evs {
		m, _ := e.(map[string]any)
		delete(ids, fmt.Sprint(m["id"]))
	}
	if len(ids) > 0 {
		t.Fatalf("listing misses %d of %d answered events: %s", len(ids), 2*n, l.raw)
	}
}
