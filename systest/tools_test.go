package systest

import (
	"path/filepath"
	"strings"
	"testing"
)

const prRules = `
sources:
  github:
    verify: {provider: github, secret: "${WEBHOOK_SECRET}"}
rules:
  - name: review
    source: github
    when: event == "pull_request"
    actions: [{shell: {command: ["true"]}}]
  - name: any
    source: github
    when: body.ref == "refs/heads/main"
    actions: [{shell: {command: ["true"]}}]
`

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
