package rules

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CannotMatch, judged without the body, may only rule out what Match,
// with any body, finds false without error; and it does rule out a rule
// whose leading comparison of the event fails.
func TestCannotMatchOnlyRulesOutWhatCannotMatch(t *testing.T) {
	whens := map[string]bool{ // when → ruled out for a "release" event
		`event == "push" && body.ref == "refs/heads/main"`:                    true,
		`"push" == event && header("X-Kind") != "bot" && body.after != ""`:    true,
		`event == "release" && body.ref == "x"`:                               false,
		`body.ref == "refs/heads/main" && event == "push"`:                    false,
		`event == "push" || body.ref == "refs/heads/main"`:                    false,
		`event != "release" && body.n > 3`:                                    true,
		`headers["x-github-event"] == "push" and body.items[0] == "a"`:        true,
		`source == "s" && (event == "push" && body.ref == "refs/heads/main")`: true,
		`!(event == "push") && body.ref == "refs/heads/main"`:                 false,
		`event == "push"`:                     true,
		`body.n > 3`:                          false,
		`event == "release" && body != nil`:   false,
		`event == "release" && !(body.n > 3)`: false,
		`method == "POST" && query["k"] == "v" && event == "push" && body.n == 1`: true,
	}
	var yaml = "sources:\n  s: {verify: {provider: none}}\nrules:\n"
	names := map[string]string{}
	i := 0
	for w := range whens {
		name := "r" + string(rune('a'+i))
		names[name] = w
		yaml += "  - {name: " + name + ", source: s, when: '" + w + "', actions: [{shell: {command: [\"true\"]}}]}\n"
		i++
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "r.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := Load(dir, DefaultRuleDefaults, testLookup)
	if err != nil {
		t.Fatal(err)
	}
	bodies := []any{nil, "text", []any{1}, map[string]any{"ref": "refs/heads/main", "after": "a", "n": 5, "items": []any{"a"}},
		map[string]any{"ref": 7, "n": "x", "items": []any{}}}
	for _, r := range set.Sources["s"].Rules {
		for _, event := range []string{"push", "release", ""} {
			for _, kind := range []string{"", "bot"} {
				env := func(body any) *Env {
					return (&Env{Source: "s", Event: event, Method: "POST", Body: body, ReceivedAt: time.Now(), Query: map[string]string{"k": "v"},
						Headers: map[string]string{"x-github-event": event, "x-kind": kind}}).Bind()
				}
				if !r.CannotMatch(env(nil)) {
					continue
				}
				for bi, body := range bodies {
					if ok, err := r.Match(env(body)); ok || err != nil {
						t.Errorf("%s ruled out for event %q, kind %q, yet with body %d: %v %v", names[r.Name], event, kind, bi, ok, err)
					}
				}
			}
		}
		env := (&Env{Source: "s", Event: "release", Method: "POST", Headers: map[string]string{"x-github-event": "release"}}).Bind()
		if got := r.CannotMatch(env); got != whens[names[r.Name]] {
			t.Errorf("%s: ruled out for a release: %v, want %v", names[r.Name], got, whens[names[r.Name]])
		}
	}
}
