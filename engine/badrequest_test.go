package engine

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"hookd/store"
)

// A header rendered with a newline from the payload can never be sent:
// the job fails at its first attempt, naming the header and not its value.
func TestHTTPBadRenderedHeaderFailsWithoutRetry(t *testing.T) {
	srv := newRecorder(t, status(200))
	te := startEngine(t, "", withRules(srv.URL, `
  - name: hdr
    source: github
    retry: {attempts: 3, backoff: 10ms}
    actions:
      - http: {url: "$URL/h", headers: {X-Msg: "{{ body.msg }}"}}
`), nil)
	j := te.deliver(`{"msg":"first\nsecond-part"}`, 1)[0]
	if j.State != store.Failed || len(j.Attempts) != 1 || !strings.Contains(j.Error, "header X-Msg: its value holds a newline") {
		t.Fatalf("job %+v", j)
	}
	if strings.Contains(j.Error, "second-part") || strings.Contains(te.logs.String(), "second-part") {
		t.Fatalf("the header's value is shown: %s\n%s", j.Error, te.logs.String())
	}
	time.Sleep(50 * time.Millisecond) // a wrongly scheduled retry would land here
	if n := len(srv.requests()); n != 0 {
		t.Fatalf("%d requests sent", n)
	}
}

// A `when` that fails on a body of the wrong shape says so in the log,
// with the event's id, and in the stored event; a template failing the
// same way fails the job with the same words.
func TestConditionFailureSaysWhatWasMet(t *testing.T) {
	srv := newRecorder(t, status(200))
	te := startEngine(t, "", withRules(srv.URL, `
  - name: reads-ref
    source: github
    when: body.ref == "refs/heads/main"
    actions: [{shell: {command: ["true"]}}]
  - name: any
    source: github
    actions:
      - http: {url: "$URL/h", body: "{{ body.after }}"}
`), nil)
	j := te.deliver(`[1,2]`, 1)[0]
	const want = "body is a list, not an object: body.ref cannot be read"
	line := ""
	for _, l := range strings.Split(te.logs.String(), "\n") {
		if strings.Contains(l, "rule not matched") {
			line = l
		}
	}
	if !strings.Contains(line, "event_id="+strconv.FormatUint(j.EventID, 10)+" ") || !strings.Contains(line, want) {
		t.Fatalf("log line %q, want event_id=%d and %q", line, j.EventID, want)
	}
	ev, err := te.store.Event(j.EventID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Errors) != 1 || ev.Errors[0] != "rule reads-ref: when: "+want {
		t.Fatalf("event errors %q", ev.Errors)
	}
	if j.State != store.Failed || !strings.Contains(j.Error, "body is a list, not an object: body.after cannot be read") {
		t.Fatalf("job %+v", j)
	}
}
