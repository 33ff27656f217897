package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A rules directory that is missing, or a file given in its place, is one
// message saying what -rules expects.
func TestRulesDirMistakes(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "deploy.yaml")
	if err := os.WriteFile(file, []byte("sources: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ dir, want string }{
		{filepath.Join(dir, "missing"), "missing: rules directory does not exist (create it, or pass -rules DIR)"},
		{file, "deploy.yaml: is a file, not the rules directory: -rules and rules_dir name the directory of rule files (hookd check FILE checks one file)"},
	} {
		_, err := Load(c.dir, Defaults{}, nil)
		if err == nil || !strings.HasSuffix(err.Error(), c.want) || strings.Count(err.Error(), "\n") > 0 {
			t.Errorf("Load(%s): %v, want one line ending %q", c.dir, err, c.want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30d", 30 * 24 * time.Hour, true},
		{"1d12h", 36 * time.Hour, true},
		{"90s", 90 * time.Second, true},
		{"0d", 0, true},
		{"1.5d", 0, false},
		{"d", 0, false},
		{"-1d", 0, false},
		{"2dd", 0, false},
		{"1d-1h", 0, false},
	} {
		got, err := ParseDuration(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v (ok %v)", c.in, got, err, c.want, c.ok)
		}
	}
}
