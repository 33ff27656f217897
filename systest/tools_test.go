package systest

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

const prRules = githubSource + `
  - name: review
    source: github
    when: event == "pull_request"
    actions: [{shell: {command: ["true"]}}]
  - name: any
    source: github
    when: body.ref == "refs/heads/main"
    actions: [{shell: {command: ["true"]}}]
`

// hookd sign -event -id: the headers it prints make the daemon record that
// event type and delivery id, and the same id again is a duplicate.
func TestSignSetsEventAndDeliveryID(t *testing.T) {
	s := newSite(t, prRules, "")
	s.start()
	bodyFile := filepath.Join(s.dir, "pr.json")
	body := []byte(`{"action":"opened"}`)
	writeFile(t, bodyFile, string(body))
	code, stdout, stderr := run(t, nil, "sign", "-provider", "github", "-secret", secret, "-body", bodyFile, "-event", "pull_request", "-id", "pr-7")
	if code != 0 {
		t.Fatalf("sign: exit %d: %s", code, stderr)
	}
	h := http.Header{}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		name, val, _ := strings.Cut(line, ": ")
		h.Set(name, val)
	}
	for i, want := range []string{"accepted", "duplicate"} {
		a, err := s.postTo("/hooks/github", h, body)
		if err != nil || a.Status != want || (i == 0 && strings.Join(a.Rules, ",") != "review") {
			t.Fatalf("delivery %d: %v %+v, want %s by rule review", i+1, err, a.reply, want)
		}
	}
	code, stdout, _ = run(t, nil, "events", "-data", filepath.Join(s.dir, "data"))
	if code != 0 || !strings.Contains(stdout, "pull_request") || !strings.Contains(stdout, "pr-7") {
		t.Fatalf("events: exit %d\n%s", code, stdout)
	}
	code, _, stderr = run(t, nil, "sign", "-provider", "stripe", "-secret", "whsec_x", "-event", "charge.failed")
	if code != 2 || !strings.Contains(stderr, "-event: provider stripe does not send the event type in a header") {
		t.Fatalf("sign -event for stripe: exit %d, %q", code, stderr)
	}
}

// hookd test -expect gives a CI job an exit code: 1 when the outcome is
// not the one expected, 2 for a rule that does not exist.
func TestTestExpect(t *testing.T) {
	t.Setenv("WEBHOOK_SECRET", secret)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "rules.yaml"), prRules)
	main := filepath.Join(dir, "main.json")
	writeFile(t, main, `{"ref":"refs/heads/main"}`)
	dev := filepath.Join(dir, "dev.json")
	writeFile(t, dev, `{"ref":"refs/heads/dev"}`)
	for _, tc := range []struct {
		body, expect string
		code         int
		stderr       string
	}{
		{main, "", 0, ""},
		{dev, "", 0, ""},
		{main, "match", 0, ""},
		{main, "any", 0, ""},
		{main, "nomatch", 1, "expected nomatch, got any"},
		{dev, "nomatch", 0, ""},
		{dev, "match", 1, "expected match, got nomatch"},
		{main, "any,review", 1, "expected any,review, got any"},
		{main, "deploy", 2, `source github has no rule "deploy"`},
	} {
		code, stdout, stderr := run(t, nil, "test", "-rules", dir, "-source", "github", "-header", "X-GitHub-Event: push",
			"-header", "Content-Type: application/json", "-body", tc.body, "-expect", tc.expect)
		if code != tc.code || !strings.Contains(stderr, tc.stderr) || (tc.stderr == "" && stderr != "") {
			t.Fatalf("test -body %s -expect %q: exit %d, want %d; stderr %q\n%s", filepath.Base(tc.body), tc.expect, code, tc.code, stderr, stdout)
		}
	}
}
