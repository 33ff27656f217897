package engine

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"hookd/store"
)

// A failed deploy's alert can say what went wrong and where to look: the
// tail of the failed attempt's output and hookd's event id.
func TestOnFailureSeesOutputAndEventID(t *testing.T) {
	alerts := newRecorder(t, status(200))
	te := startEngine(t, "", withRules(alerts.URL, `
  - name: deploy
    source: github
    when: event_id > 0
    actions:
      - shell:
          script: |
            i=0
            while [ $i -lt 2000 ]; do echo "noise line $i"; i=$((i+1)); done
            echo "fatal: cannot lock ref refs/heads/main" >&2
            exit 3
    on_failure:
      - http:
          url: "$URL/alert"
          json: {output: "{{ output }}", event_id: "{{ event_id }}", error: "{{ error }}", text: "see hookd show {{ event_id }}"}
`), nil)
	j := te.deliver(`{"after":"abc"}`, 1)[0]
	if j.State != store.Failed || len(j.OnFailure) != 1 {
		t.Fatalf("job %+v", j)
	}
	var got struct {
		Output  string `json:"output"`
		EventID any    `json:"event_id"`
		Error   string `json:"error"`
		Text    string `json:"text"`
	}
	alerts.decodeOnly(t, &got)
	if !strings.HasSuffix(got.Output, "fatal: cannot lock ref refs/heads/main\n") {
		t.Fatalf("output does not end with the script's last line: %q", got.Output)
	}
	if len(got.Output) > failureOutputMax || !strings.HasPrefix(got.Output, "noise line ") {
		t.Fatalf("output is not a bounded tail cut at a line: %d bytes, starts %q", len(got.Output), got.Output[:20])
	}
	if got.EventID != float64(j.EventID) || got.Text != "see hookd show "+strconv.FormatUint(j.EventID, 10) {
		t.Fatalf("event id %v, text %q; job's event is %d", got.EventID, got.Text, j.EventID)
	}
	if !strings.Contains(got.Error, "exit status 3") {
		t.Fatalf("error %q", got.Error)
	}
}

// decodeOnly waits briefly, checks that exactly one request came (an
// on_failure that ran once), and decodes its JSON body into out.
func (rec *recorder) decodeOnly(t *testing.T, out any) []byte {
	t.Helper()
	time.Sleep(50 * time.Millisecond)
	reqs := rec.requests()
	if len(reqs) != 1 {
		t.Fatalf("on_failure ran %d times", len(reqs))
	}
	if err := json.Unmarshal(reqs[0].body, out); err != nil {
		t.Fatal(err)
	}
	return reqs[0].body
}

// The HTTP answer's id is a JSON number, as in the admin API and events
// -json, whatever the outcome.
func TestAnswerIDIsANumber(t *testing.T) {
	te := startEngine(t, "", withRules("", `
  - name: main-only
    source: github
    when: body.ref == "refs/heads/main"
    actions: [{shell: {command: ["true"]}}]
`), nil)
	main, dev := []byte(`{"ref":"refs/heads/main"}`), []byte(`{"ref":"refs/heads/dev"}`)
	for _, tc := range []struct {
		status, delivery string
		body             []byte
	}{
		{"accepted", "n-1", main},
		{"duplicate", "n-1", main},
		{"ignored", "n-2", dev},
	} {
		a := te.send("POST", "/hooks/github", githubHeaders(tc.body, "push", tc.delivery), tc.body)
		raw := jsonKeys(t, []byte(a.raw))
		var id uint64
		if a.body["status"] != tc.status || json.Unmarshal(raw["id"], &id) != nil {
			t.Fatalf("%s: the id is not a number: %s", tc.status, a.raw)
		}
		if err := te.store.Sync(); err != nil { // ignored events are written without waiting
			t.Fatal(err)
		}
		if _, err := te.store.Event(id); err != nil {
			t.Fatalf("%s: answered id %d: %v", tc.status, id, err)
		}
	}
}
