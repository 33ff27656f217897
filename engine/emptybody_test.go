package engine

import (
	"strings"
	"testing"
)

const emptyBodyRules = `
sources:
  github:
    verify: {provider: github, secret: "${TEST_SECRET}"}
rules:
  - name: sleeper
    source: github
    when: event == "push"
    actions:
      - shell: {command: [sh, -c, 'exit 0', x, "{{ body.sleep ?? 0 }}"]}
  - name: on-main
    source: github
    when: event == "ping" && body.ref == "refs/heads/main"
    actions:
      - shell: {command: ["true"]}
`

// An empty body is nil to rules, not an error of its own; but a rule or a
// template that reads body.x of it fails saying the body was empty,
// where it said "cannot fetch sleep from <nil>" alone.
func TestEmptyBodyIsNamedWhereABodyReadFails(t *testing.T) {
	te := startEngine(t, "", emptyBodyRules, nil)
	a := te.send("POST", "/hooks/github", githubHeaders(nil, "push", "empty-1"), nil)
	if a.code != 200 || a.body["status"] != "accepted" {
		t.Fatalf("empty push: %d %s", a.code, a.raw)
	}
	jobs := te.waitJobs(1)
	if j := jobs[0]; j.State != "failed" || !strings.HasSuffix(j.Error, "body.sleep cannot be read: body is nil (body: empty)") {
		t.Fatalf("job %s: %q", j.State, j.Error)
	}
	a = te.send("POST", "/hooks/github", githubHeaders([]byte(" "), "ping", "empty-2"), []byte(" "))
	if a.code != 200 || a.body["status"] != "ignored" {
		t.Fatalf("empty ping: %d %s", a.code, a.raw)
	}
	ev := te.event(a)
	if len(ev.Errors) != 1 || !strings.Contains(ev.Errors[0], "on-main") || !strings.HasSuffix(ev.Errors[0], "(body: empty)") {
		t.Fatalf("the rule reading body.ref: %q", ev.Errors)
	}
	if strings.Contains(te.logs.String(), "body not readable") {
		t.Fatal("an empty body was logged as unreadable")
	}
}
