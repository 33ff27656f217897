package rules

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/ with the current output")

var testEnv = map[string]string{"SECRET": "s3cr3t-value", "EMPTY": "", "HOOK_PATH": "/hooks/from-env"}

func testLookup(k string) (string, bool) { v, ok := testEnv[k]; return v, ok }

// Golden files in testdata/load: the rules file, a line "-- want --", then
// what loading it prints: every error or warning as file:line:col, or a
// summary of what was loaded.
func TestLoadGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/load/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, golden := range files {
		t.Run(strings.TrimSuffix(filepath.Base(golden), ".txt"), func(t *testing.T) {
			data, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			input, want, ok := strings.Cut(string(data), "-- want --\n")
			if !ok && !*update {
				t.Fatalf("%s has no -- want -- line", golden)
			}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte(input), 0o644); err != nil {
				t.Fatal(err)
			}
			got := strings.ReplaceAll(describeLoad(dir), dir+string(filepath.Separator), "")
			if *update {
				if err := os.WriteFile(golden, []byte(input+"-- want --\n"+got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got != want {
				t.Errorf("loading %s:\n--- got ---\n%s--- want ---\n%s", golden, got, want)
			}
		})
	}
}

func describeLoad(dir string) string {
	var b strings.Builder
	set, err := Load(dir, DefaultRuleDefaults, testLookup)
	if err != nil {
		fmt.Fprintln(&b, err.Error())
		return b.String()
	}
	for _, w := range set.Warnings {
		fmt.Fprintln(&b, w.String())
	}
	fmt.Fprintln(&b, "ok")
	for _, name := range sortedKeys(set.Sources) {
		s := set.Sources[name]
		var rs []string
		for _, r := range s.Rules {
			rs = append(rs, r.Name)
		}
		fmt.Fprintf(&b, "source %s path=%s provider=%s allow=%v rules=%v\n", s.Name, s.Path, s.Provider, s.Allow, rs)
	}
	for _, name := range sortedKeys(set.Rules) {
		r := set.Rules[name]
		var kinds []string
		for _, a := range r.Actions {
			kinds = append(kinds, a.Kind)
		}
		var fk []string
		for _, a := range r.OnFailure {
			fk = append(fk, a.Kind)
		}
		fmt.Fprintf(&b, "rule %s sources=%v when=%q concurrency=%s key=%v timeout=%s retry=%d/%s/%s actions=%v on_failure=%v\n",
			r.Name, r.Sources, r.WhenSrc, r.Concurrency, r.Key != nil, r.Timeout, r.Retry.Attempts, r.Retry.Backoff, r.Retry.MaxBackoff, kinds, fk)
	}
	secrets := append([]string(nil), set.Secrets...)
	sort.Strings(secrets)
	fmt.Fprintf(&b, "secrets %d\n", len(secrets))
	return b.String()
}
