package rules

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// Merge keys resolve as YAML 1.1 says: keys written in the mapping win
// over merged ones, and of several merged mappings the first wins.
func TestMergeKeys(t *testing.T) {
	const head = "sources:\n  gh: {verify: {provider: github, secret: abcdsecret}}\nrules:\n  - name: r\n    source: gh\n    actions:\n" +
		"      - shell: {command: [echo], env: &env {A: a1, B: b1}}\n"
	for _, tc := range []struct {
		name, env string
		want      map[string]string
	}{
		{"alone", "{<<: *env}", map[string]string{"A": "a1", "B": "b1"}},
		{"explicit key wins", "{<<: *env, B: b2}", map[string]string{"A": "a1", "B": "b2"}},
		{"explicit key before the merge wins", "{B: b2, <<: *env}", map[string]string{"A": "a1", "B": "b2"}},
		{"first merged wins", "{<<: [{A: x}, *env]}", map[string]string{"A": "x", "B": "b1"}},
		{"nested merge", "{<<: {<<: *env, C: c}, A: y}", map[string]string{"A": "y", "B": "b1", "C": "c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			src := head + "      - shell: {command: [echo], env: " + tc.env + "}\n"
			if err := os.WriteFile(filepath.Join(dir, "r.yaml"), []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			set, err := Load(dir, DefaultRuleDefaults, testLookup)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for k, tpl := range set.Rules["r"].Actions[1].impl.(*shellAction).env {
				got[k] = tpl.Source()
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("env %s: got %v, want %v", tc.env, got, tc.want)
			}
		})
	}
}
