package rules

import (
	"errors"
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
			// Beside the rules file: a program, a file that is not one,
			// and a directory, for relative command and dir paths.
			if err := errors.Join(os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte(input), 0o644),
				os.WriteFile(filepath.Join(dir, "deploy.sh"), []byte("#!/bin/sh\n"), 0o755),
				os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644),
				os.Mkdir(filepath.Join(dir, "site"), 0o755)); err != nil {
				t.Fatal(err)
			}
			lookup := secretFiles(t, dir, input)
			got := strings.ReplaceAll(describeLoadEnv(dir, lookup), dir+string(filepath.Separator), "")
			got = strings.ReplaceAll(got, dir, "rules.d")
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

// secretFiles writes, beside the rules file, files for ${file:...} and a
// credentials directory for ${credential:...}, and returns the lookup that
// names it in CREDENTIALS_DIRECTORY, unless the input says
// "# no CREDENTIALS_DIRECTORY".
func secretFiles(t *testing.T, dir, input string) func(string) (string, bool) {
	creds := filepath.Join(dir, "creds")
	if err := errors.Join(os.WriteFile(filepath.Join(dir, "token.txt"), []byte("file-s3cret\n"), 0o600),
		os.WriteFile(filepath.Join(dir, "blank.txt"), []byte("\n"), 0o600),
		os.Mkdir(creds, 0o700),
		os.WriteFile(filepath.Join(creds, "github"), []byte("cred-s3cret"), 0o400),
		os.WriteFile(filepath.Join(creds, "empty"), nil, 0o400)); err != nil {
		t.Fatal(err)
	}
	return func(k string) (string, bool) {
		if k == "CREDENTIALS_DIRECTORY" && !strings.Contains(input, "# no CREDENTIALS_DIRECTORY") {
			return creds, true
		}
		return testLookup(k)
	}
}

func describeLoad(dir string) string { return describeLoadEnv(dir, testLookup) }

func describeLoadEnv(dir string, lookup func(string) (string, bool)) string {
	var b strings.Builder
	set, err := Load(dir, DefaultRuleDefaults, lookup)
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
		if s.Rate != nil {
			fmt.Fprintf(&b, "source %s rate=%g/s burst=%d\n", s.Name, s.Rate.PerSecond, s.Rate.Burst)
		}
		if s.KeepIgnored != KeepAll {
			fmt.Fprintf(&b, "source %s keep_ignored=%s\n", s.Name, s.KeepIgnored)
		}
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

// What else may lie in the rules directory: only a *.yaml or *.yml file is
// loaded, a near miss is a warning, and a rule file that cannot be read is
// an error, never a rule file quietly missing.
func TestRulesDirEntries(t *testing.T) {
	const rule = "sources:\n  gh: {verify: {provider: github, secret: xsecret}}\nrules:\n  - {name: r, source: gh, actions: [{shell: {command: [/bin/true]}}]}\n"
	const summary = "source gh path=/hooks/gh provider=github allow=[] rules=[r]\n" +
		"rule r sources=[gh] when=\"\" concurrency=parallel key=false timeout=10m0s retry=1/5s/5m0s actions=[shell] on_failure=[]\nsecrets 1\n"
	for _, tc := range []struct {
		name  string
		setup func(dir string) error
		want  string // describeLoad's output, dir stripped
	}{
		{"other files are not rules", func(dir string) error {
			return errors.Join(os.WriteFile(filepath.Join(dir, "deploy.sh"), []byte("#!/bin/sh\n"), 0o755),
				os.WriteFile(filepath.Join(dir, ".deploy.yaml.swp"), []byte("\x00"), 0o644),
				os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644))
		}, "ok\n" + summary},
		{"upper-case extension", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "deploy.YAML"), []byte("{"), 0o644)
		}, "deploy.YAML: warning: not loaded: only names ending in .yaml or .yml, in lower case, are rule files\nok\n" + summary},
		{"a directory", func(dir string) error { return os.Mkdir(filepath.Join(dir, "old.yml"), 0o755) },
			"old.yml: warning: not loaded: a directory, not a rule file (rules are not read from subdirectories)\nok\n" + summary},
		{"dangling symlink", func(dir string) error {
			return os.Symlink(filepath.Join(dir, "gone"), filepath.Join(dir, "deploy.yaml"))
		}, "deploy.yaml: cannot read this rule file: stat deploy.yaml: no such file or directory\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "base.yml"), []byte(rule), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := tc.setup(dir); err != nil {
				t.Fatal(err)
			}
			if got := strings.ReplaceAll(describeLoad(dir), dir+string(filepath.Separator), ""); got != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}
