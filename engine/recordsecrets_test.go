package engine

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const recordKey = "k-0123456789-deploy"

// recordSecretRules match on a secret the sender sends (the README's
// query.key == "${DEPLOY_KEY}") and write what the job renders of it.
const recordSecretRules = `
sources:
  github:
    verify: {provider: github, secret: "${TEST_SECRET}"}
  tok:
    verify: {provider: token, secret: "tokensecret-777", header: X-Token}
rules:
  - name: keyed
    source: github
    when: query.key == "${DEPLOY_KEY}" && body.x.y == "${DEPLOY_KEY}"
    actions:
      - shell: {command: [sh, -c, 'printf "%s|%s\n" "$1" "$2" >> $DIR/ran', sh, "{{ query.key }}", "{{ body.x.y }}"]}
  - name: tokened
    source: tok
    actions:
      - shell: {command: ["true"]}
`

// A secret of the configuration that a sender sends, in a header, the
// query or a JSON string of the body (escaped or not), is recorded as
// [redacted]: matching saw it in clear, the record, what is shown of it
// and the jobs that render from it do not.
func TestSecretsSentAreRecordedRedacted(t *testing.T) {
	t.Setenv("DEPLOY_KEY", recordKey)
	te := startEngine(t, "", recordSecretRules, nil)
	escaped := strings.ReplaceAll(recordKey, "-", `\u002d`)
	body := []byte(`{"x":{"y":"` + recordKey + `"},"s":"` + secret + `-is-not","t":"` + secret + `","e":"` + escaped + `","n":1}`)
	h := githubHeaders(body, "keyed", "rs-1")
	h.Set("X-Custom", recordKey)
	h.Set("X-Other", secret)
	h.Set("X-Bearer", "Bearer "+recordKey)
	a := te.send("POST", "/hooks/github?key="+recordKey+"&k2="+secret+"&plain=v", h, body)
	if a.code != 200 || a.body["status"] != "accepted" {
		t.Fatalf("delivery: %d %s (matching must see the key in clear)", a.code, a.raw)
	}
	jobs := te.waitJobs(1)
	ev, err := te.store.Event(jobs[0].EventID)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"x-custom": "[redacted]", "x-other": "[redacted]", "x-bearer": "Bearer [redacted]", "x-github-event": "keyed"} {
		if ev.Headers[k] != want {
			t.Errorf("header %s = %q, want %q", k, ev.Headers[k], want)
		}
	}
	for k, want := range map[string]string{"key": "[redacted]", "k2": "[redacted]", "plain": "v"} {
		if ev.Query[k] != want {
			t.Errorf("query %s = %q, want %q", k, ev.Query[k], want)
		}
	}
	wantBody := `{"x":{"y":"[redacted]"},"s":"` + secret + `-is-not","t":"[redacted]","e":"[redacted]","n":1}`
	if string(ev.Body) != wantBody {
		t.Errorf("body recorded\n %s\nwant\n %s", ev.Body, wantBody)
	}
	if got := readLines(t, filepath.Join(te.dir, "ran")); strings.Join(got, ",") != "[redacted]|[redacted]" {
		t.Errorf("the job rendered %q from the record", got)
	}

	// A token provider's secret sent in the body as well as its header.
	tb := []byte(`{"s":"tokensecret-777"}`)
	a = te.send("POST", "/hooks/tok", map[string][]string{"X-Token": {"tokensecret-777"}, "Content-Type": {"application/json"}}, tb)
	if a.code != 200 {
		t.Fatalf("token delivery: %d %s", a.code, a.raw)
	}
	jobs = te.waitJobs(2)
	for _, j := range jobs {
		if j.Rule == "tokened" {
			ev, err := te.store.Event(j.EventID)
			if err != nil {
				t.Fatal(err)
			}
			if string(ev.Body) != `{"s":"[redacted]"}` || ev.Headers["x-token"] != "[redacted]" {
				t.Errorf("token event recorded %s %v", ev.Body, ev.Headers)
			}
		}
	}

	te.stop()
	db, err := os.ReadFile(filepath.Join(te.dir, "data", "hookd.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{recordKey, escaped, "tokensecret-777", `"t":"` + secret} {
		if bytes.Contains(db, []byte(s)) {
			t.Errorf("the database file holds %s", s)
		}
	}
}
