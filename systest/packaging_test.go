package systest

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The package's example rules file declares nothing as shipped, and is a
// valid rules file once its commented lines are uncommented, as it tells
// the operator to do.
func TestPackagedExampleRules(t *testing.T) {
	raw, err := os.ReadFile("../packaging/etc/rules.d/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	check := func(text string, env ...string) string {
		t.Helper()
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "example.yaml"), text)
		if err := os.WriteFile(filepath.Join(dir, "deploy.sh"), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "check", "-rules", dir)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("hookd check: %v\n%s\n--- example.yaml:\n%s", err, out, text)
		}
		return string(out)
	}
	if out := check(string(raw)); !strings.Contains(out, "0 sources, 0 rules") {
		t.Errorf("the example as shipped declares something:\n%s", out)
	}
	// The commented YAML starts at "#sources:"; the prose above it stays.
	i := strings.Index(string(raw), "\n#sources:")
	if i < 0 {
		t.Fatal("example.yaml: no commented sources: block")
	}
	yamlPart := regexp.MustCompile(`(?m)^#`).ReplaceAllString(string(raw[i:]), "")
	out := check(string(raw[:i])+yamlPart, "GITHUB_WEBHOOK_SECRET="+secret)
	if !strings.Contains(out, "1 sources, 1 rules") {
		t.Errorf("the uncommented example:\n%s", out)
	}
}

// The package's hookd.yaml is the one the README's guide writes for an
// install from source: the two paths give the same service.
func TestPackagedConfigIsTheGuides(t *testing.T) {
	shipped, err := os.ReadFile("../packaging/etc/hookd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)tee /etc/hookd/hookd.yaml >/dev/null <<'EOF'\n(.*?)\nEOF\n`).FindSubmatch(readme)
	if m == nil {
		t.Fatal("README: no install step writing /etc/hookd/hookd.yaml")
	}
	var a, b map[string]any
	if err := yaml.Unmarshal(shipped, &a); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(m[1], &b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("packaging/etc/hookd.yaml says\n%v\nthe README's guide writes\n%v", a, b)
	}
}
