package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hookd/rules"
	"hookd/store"
)

// node: and store: need a restart: a reload that changes them keeps the
// running values, says so, and never shows the URL's password.
func TestReloadKeepsStoreAndNode(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "hookd.yaml")
	if err := os.WriteFile(file, []byte("node: first\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	te := startEngine(t, dir, deployRules, func(c *rules.Config) { c.File, c.Node = file, "first" })
	next := "node: second\nstore:\n  driver: postgres\n  url: postgres://hookd:pw-reload-secret@db.invalid/hookd\n"
	if err := os.WriteFile(file, []byte(next), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := te.Reload(); err != nil {
		t.Fatal(err)
	}
	logs := te.logs.String()
	if !strings.Contains(logs, "need a restart") || !strings.Contains(logs, "node") || !strings.Contains(logs, "store") {
		t.Fatalf("no restart line for node and store:\n%s", logs)
	}
	if strings.Contains(logs, "pw-reload-secret") {
		t.Fatalf("the URL's password is in the log:\n%s", logs)
	}
	if c := te.Config(); c.Store.Shared() || c.NodeName() != "first" {
		t.Fatalf("running config changed: %+v node %q", c.Store, c.NodeName())
	}
	if _, ok := te.store.(*store.Store); !ok {
		t.Fatalf("store is %T", te.store)
	}
	body := push("refs/heads/main", "after")
	te.accept(body, "d-after-reload")
	te.waitJobs(1)
}

// Metrics name the node in one info series, not in a label on every series.
func TestNodeInfoMetric(t *testing.T) {
	te := startEngine(t, "", deployRules, func(c *rules.Config) { c.Node = "web-1" })
	a := te.send("GET", "/metrics", nil, nil)
	if !strings.Contains(a.raw, `hookd_node_info{node="web-1",store="bbolt"} 1`) {
		t.Fatalf("no node info series:\n%s", a.raw)
	}
	if strings.Count(a.raw, `node="web-1"`) != 1 {
		t.Fatal("the node label is on other series")
	}
}

// A setting that needs a restart is said once per change: the reloads
// after it (a rules file saved, a SIGHUP) do not say it again, and a
// setting set back to its running value says nothing.
func TestRestartWarningOncePerChange(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "hookd.yaml")
	if err := os.WriteFile(file, []byte("node: first\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	te := startEngine(t, dir, deployRules, func(c *rules.Config) { c.File, c.Node = file, "first" })
	for i, step := range []struct {
		yaml string // "" reloads without writing
		want int    // restart lines logged so far
	}{
		{"node: second\n", 1},
		{"", 1},
		{"", 1},
		{"node: third\n", 2},
		{"node: third\nretention: 1d\n", 2},
		{"node: first\n", 2},
		{"node: second\n", 3},
	} {
		if step.yaml != "" {
			if err := os.WriteFile(file, []byte(step.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := te.Reload(); err != nil {
			t.Fatal(err)
		}
		if got := strings.Count(te.logs.String(), "need a restart"); got != step.want {
			t.Fatalf("step %d (%q): %d restart lines, want %d:\n%s", i, step.yaml, got, step.want, te.logs.String())
		}
	}
}
