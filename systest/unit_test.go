package systest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// unitArgs returns the arguments of the unit's `ExecStart=... hookd serve`.
func unitArgs(t *testing.T) []string {
	raw, err := os.ReadFile("../systemd/hookd.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "ExecStart=/usr/local/bin/hookd serve"); ok {
			return strings.Fields(rest)
		}
	}
	t.Fatal("no ExecStart=/usr/local/bin/hookd serve in systemd/hookd.service")
	return nil
}

// guideDirs returns the rules_dir and data_dir lines of the hookd.yaml that
// the README's install guide writes.
func guideDirs(t *testing.T) string {
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)tee /etc/hookd/hookd.yaml >/dev/null <<'EOF'\n(.*?)\nEOF\n`).FindSubmatch(raw)
	if m == nil {
		t.Fatal("README: no install step writing /etc/hookd/hookd.yaml")
	}
	var keep []string
	for _, line := range strings.Split(string(m[1]), "\n") {
		if strings.HasPrefix(line, "rules_dir:") || strings.HasPrefix(line, "data_dir:") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n") + "\n"
}

// The admin commands, given the -config the unit passes, find the daemon
// the unit starts: the unit says nothing that hookd.yaml does not.
func TestUnitAndAdminCommandsAgree(t *testing.T) {
	args := unitArgs(t)
	if len(args) != 2 || args[0] != "-config" || args[1] != "/etc/hookd/hookd.yaml" {
		t.Fatalf("the unit runs serve %q: flags other than -config put files where `hookd events -config` does not look", args)
	}
	root := t.TempDir()
	etc, lib := filepath.Join(root, "etc/hookd"), filepath.Join(root, "var/lib/hookd")
	if err := os.MkdirAll(filepath.Join(etc, "rules.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	dirs := strings.NewReplacer("/etc/hookd", etc, "/var/lib/hookd", lib).Replace(guideDirs(t))
	s := newSite(t, pushRule, "")
	cfg := filepath.Join(etc, "hookd.yaml")
	writeFile(t, cfg, fmt.Sprintf("listen: %s\n%s", s.addr, dirs))
	writeFile(t, filepath.Join(etc, "rules.d", "rules.yaml"), pushRule)

	cmd := exec.Command(bin, "serve", "-config", cfg)
	cmd.Dir = root // systemd starts the service in /: nothing may depend on it
	cmd.Env, cmd.Stdout, cmd.Stderr = s.env, s.logs, s.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &daemon{cmd: cmd, done: make(chan error, 1)}
	go func() { d.done <- cmd.Wait() }()
	t.Cleanup(d.kill)
	eventually(t, "the daemon's admin socket", 20*time.Second, func() bool {
		_, err := os.Stat(filepath.Join(lib, "admin.sock"))
		return err == nil
	})
	code, stdout, stderr := run(t, nil, "events", "-config", cfg)
	if code != 0 || strings.Contains(stderr, "not running") || !strings.Contains(stdout, "(no events)") {
		t.Fatalf("events -config %s: exit %d\n%s%s", cfg, code, stdout, stderr)
	}
}
