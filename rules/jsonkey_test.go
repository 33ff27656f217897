package rules_test

import (
	"strings"
	"testing"

	"hookd/actions"
	"hookd/rules"
)

// A json: key is a string of the action: its {{ }} renders, as a value's
// does, where it was sent as written.
func TestJSONKeysRender(t *testing.T) {
	for _, tc := range []struct {
		name, json, want, err string
	}{
		{"plain key", `{sha: 1}`, `{"sha":1}`, ""},
		{"templated key", `{"{{ body.after }}": 1, x: "{{ body.n }}"}`, `{"abc123":1,"x":42}`, ""},
		{"key and value", `{"k-{{ body.repo.name }}": "{{ body.after }}"}`, `{"k-o/r":"abc123"}`, ""},
		{"nested", `{a: {"{{ body.after }}": [1]}}`, `{"a":{"abc123":[1]}}`, ""},
		{"number key renders as text", `{"{{ body.n }}": true}`, `{"42":true}`, ""},
		{"two keys render the same", `{"{{ body.after }}": 1, abc123: 2}`, "", `both render as "abc123"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set, _, err := load(t, "      - http: {url: \"https://example.com/\", json: "+tc.json+"}\n", nil)
			if err != nil {
				t.Fatal(err)
			}
			a, err := set.Rules["r"].Actions[0].Build(&rules.Call{Env: testEnv})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got error %v, want one with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := string(a.(*actions.HTTP).Body); got != tc.want {
				t.Errorf("json %s: sent %s, want %s", tc.json, got, tc.want)
			}
		})
	}
}
