package engine

import (
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
