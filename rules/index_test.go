package rules

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The index may skip a rule only when its `when` is false without error:
// matching through Candidates gives exactly what running every rule gives,
// matches and run-time errors alike.
func TestIndexAgreesWithFullScan(t *testing.T) {
	whens := []string{
		`event == "push" && body.ref == "refs/heads/main"`,
		`event == "push"`,
		`"push" == event && body.after != ""`,
		`event == "issues" && body.action == "opened"`,
		`body.ref == "refs/heads/dev"`,
		`body.repository.full_name == "acme/site" and event == "push"`,
		`header("X-GitHub-Event") == "release"`,
		`headers["x-github-event"] == "push"`,
		`body.ref == "refs/heads/main" || event == "issues"`,
		`body.n > 3`,
		`event != "push"`,
		`body["ref"] == "refs/heads/main"`,
		`body.items[0] == "a"`,
		`source == "s" && body.ref == "refs/heads/main"`,
		`method == "POST"`,
		``,
	}
	var sb strings.Builder
	sb.WriteString("sources:\n  s: {verify: {provider: none}}\nrules:\n")
	for i, w := range whens {
		if w == "" {
			fmt.Fprintf(&sb, "  - {name: r%d, source: s, actions: [{shell: {command: [\"true\"]}}]}\n", i)
			continue
		}
		fmt.Fprintf(&sb, "  - {name: r%d, source: s, when: '%s', actions: [{shell: {command: [\"true\"]}}]}\n", i, w)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "r.yaml"), []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := Load(dir, DefaultRuleDefaults, testLookup)
	if err != nil {
		t.Fatal(err)
	}
	src := set.Sources["s"]
	if src.index == nil || len(src.index.paths) < 4 {
		t.Fatalf("the index groups too little: %+v", src.index)
	}
	bodies := []any{
		nil,
		"text",
		[]any{1, 2},
		map[string]any{"ref": "refs/heads/main", "after": "abc", "repository": map[string]any{"full_name": "acme/site"}, "n": 5, "items": []any{"a"}},
		map[string]any{"ref": "refs/heads/dev", "action": "opened", "n": 1},
		map[string]any{"ref": 7, "repository": "not an object", "items": []any{}},
	}
	for _, event := range []string{"push", "issues", "release", ""} {
		for bi, body := range bodies {
			env := (&Env{Source: "s", Event: event, Method: "POST", Body: body, ReceivedAt: time.Now(),
				Headers: map[string]string{"x-github-event": event}}).Bind()
			full := outcome(src.Rules, env)
			narrowed := outcome(src.Candidates(env, nil), env)
			if full != narrowed {
				t.Errorf("event %q body %d:\nfull scan: %s\nindexed:   %s", event, bi, full, narrowed)
			}
			// As intake does it: the body is filled in only when asked for.
			lazy := *env
			lazy.Body = nil
			cands := src.Candidates(&lazy, func() { lazy.Body = body })
			for _, r := range cands {
				if r.UsesBody {
					lazy.Body = body
				}
			}
			if got := outcome(cands, &lazy); got != full {
				t.Errorf("event %q body %d, body parsed on demand:\nfull scan: %s\nindexed:   %s", event, bi, full, got)
			}
		}
	}
}

func outcome(rules []*Rule, env *Env) string {
	var out []string
	for _, r := range rules {
		ok, err := r.Match(env)
		switch {
		case err != nil:
			out = append(out, r.Name+":error")
		case ok:
			out = append(out, r.Name)
		}
	}
	return strings.Join(out, " ")
}
