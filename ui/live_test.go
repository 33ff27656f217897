package ui

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

// slowYAML: every push runs a job that takes a while, then fails for
// "fail" (after one retry) and succeeds otherwise.
const slowYAML = `
sources:
  github:
    path: /hooks/github
    verify: {provider: github, secret: ` + secret + `}
rules:
  - name: slow
    source: github
    when: event == "push"
    retry: {attempts: 2, backoff: 300ms}
    actions:
      - shell: {command: [sh, -c, 'sleep 0.4; test "$0" != fail', "{{ body.after }}"]}
`

// openStream opens a live stream that ends after a few seconds, so that a
// row that never comes fails the test instead of hanging it.
func openStream(t *testing.T, url string) *http.Response {
	t.Helper()
	c := &http.Client{Timeout: 8 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %s", url, resp.Status)
	}
	return resp
}

// rowsOf reads a live stream's rows, one message at a time ("" at the end).
func rowsOf(resp *http.Response) func() string {
	sc := bufio.NewScanner(resp.Body)
	return func() string {
		var msg strings.Builder
		for sc.Scan() {
			if sc.Text() == "" && strings.Contains(msg.String(), "event: row") {
				return msg.String()
			}
			msg.WriteString(sc.Text() + "\n")
		}
		return ""
	}
}

// A state-filtered live list shows an event once it reaches the state,
// however long its jobs take; an event that never reaches it never comes.
func TestLiveStreamShowsAnEventOnceItReachesTheState(t *testing.T) {
	for _, c := range []struct{ state, after, want string }{
		{"failed", "fail", ">failed</span>"},
		{"done", "ok", ">done</span>"},
		{"retrying", "fail", ">retrying</span>"},
	} {
		t.Run(c.state, func(t *testing.T) {
			f := startWith(t, slowYAML)
			srv := httptest.NewServer(f.h)
			t.Cleanup(srv.Close) // after the streams close
			f.send("push", "d-0", push("refs/heads/main", "other"))
			resp := openStream(t, srv.URL+"/events/stream?state="+c.state+"&after=1")
			f.send("push", "d-1", push("refs/heads/main", c.after))
			got := rowsOf(resp)()
			must(t, got, `data-id="2"`, c.want)
		})
	}
}

var streamRE = regexp.MustCompile(`data-stream="([^"]+)" data-after="(\d+)"`)

// A row the live list shows is sent again when its event's state changes:
// a new row, and a row the page was rendered with.
func TestLiveStreamUpdatesTheStateOfRowsShown(t *testing.T) {
	f := startWith(t, slowYAML)
	srv := httptest.NewServer(f.h)
	t.Cleanup(srv.Close) // after the streams close
	resp := openStream(t, srv.URL+"/events/stream?after=0")
	f.send("push", "d-1", push("refs/heads/main", "fail"))
	got := readSSE(t, resp.Body, ">failed</span>")
	if n := strings.Count(got, `data-id="1"`); n < 2 {
		t.Fatalf("the row was sent %d times, not again when it failed:\n%s", n, got)
	}
	must(t, got, ">running</span>", ">retrying</span>")

	f.send("push", "d-2", push("refs/heads/main", "ok"))
	time.Sleep(100 * time.Millisecond)
	_, page := f.get("/events")
	m := streamRE.FindStringSubmatch(strings.ReplaceAll(page, "&amp;", "&"))
	if m == nil || !strings.Contains(m[1], "watch=2") {
		t.Fatalf("the page does not ask to follow its running row:\n%s", page)
	}
	resp = openStream(t, srv.URL+m[1]+"&after="+m[2])
	got = readSSE(t, resp.Body, ">done</span>")
	must(t, got, `data-id="2"`)
	mustNot(t, got, `data-id="1"`)

	if code, _ := f.get("/events/stream?watch=x"); code != 400 {
		t.Fatalf("a stream with a bad watch list: %d", code)
	}
}
