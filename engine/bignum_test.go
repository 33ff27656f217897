package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hookd/store"
)

// TestWholeNumbersBeyondInt64StayExact: whole numbers too large for int64
// reach every action as the sender wrote them: a json: value, a text body,
// a header, a Slack text and a shell argument; string() compares them.
func TestWholeNumbersBeyondInt64StayExact(t *testing.T) {
	srv := newRecorder(t, status(200))
	out := filepath.Join(t.TempDir(), "argv")
	te := startEngine(t, "", withRules(srv.URL, `
  - name: big
    source: github
    when: string(body.n) == "12345678901234567890"
    actions:
      - http:
          url: "$URL/json"
          json: {n: "{{ body.n }}", m: "{{ body.m }}", all: "{{ body }}", text: "n={{ body.n }}"}
      - http:
          url: "$URL/text"
          headers: {X-N: "{{ body.n }}"}
          body: "n={{ body.n }} m={{ body.m }}"
      - slack: {url: "$URL/slack", text: "n={{ body.n }}"}
      - shell: {command: [sh, -c, 'printf "%s" "$1" > `+out+`', sh, "{{ body.n }} {{ body.m }}"]}
`), nil)
	body := `{"f":1.5,"m":-123456789012345678901234567890,"n":12345678901234567890}`
	jobs := te.deliver(body, 1)
	if jobs[0].State != store.Done {
		t.Fatalf("job %+v", jobs[0])
	}
	reqs := srv.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests", len(reqs))
	}
	const n, m = "12345678901234567890", "-123456789012345678901234567890"
	wantJSON := `{"n":` + n + `,"m":` + m + `,"all":` + body + `,"text":"n=` + n + `"}`
	if got := string(reqs[0].body); got != wantJSON {
		t.Errorf("json body\n got %s\nwant %s", got, wantJSON)
	}
	if got := string(reqs[1].body); got != "n="+n+" m="+m || reqs[1].header.Get("X-N") != n {
		t.Errorf("text body %q, X-N %q", got, reqs[1].header.Get("X-N"))
	}
	if !strings.Contains(string(reqs[2].body), `"text":"n=`+n+`"`) {
		t.Errorf("slack body %s", reqs[2].body)
	}
	if argv, err := os.ReadFile(out); err != nil || string(argv) != n+" "+m {
		t.Errorf("shell argument %q, %v", argv, err)
	}
}
