package cli

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// drainRules' action runs until the gate file is there.
const drainRules = crashSource + `rules:
  - name: work
    source: github
    actions:
      - shell:
          script: 'echo "start $N" >> "$OUT"; while [ ! -e "$GATE" ]; do sleep 0.02; done'
          env: {OUT: "%DIR%/ran", GATE: "%DIR%/gate", N: "{{ body.n }}"}
`

// While hookd waits out shutdown_timeout for a running action, events and
// show still answer, and say that hookd is shutting down; a change is
// refused with the same reason, never sent looking for another address.
func TestAdminDuringShutdownDrain(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	dir := t.TempDir()
	d := newCrashDaemon(t, dir, drainRules)
	os.WriteFile(d.cfg, []byte("workers: 2\nshutdown_timeout: 2m\nui: {listen: \"off\"}\n"), 0o644)
	cmd := d.serveWithOnePush()
	poll(t, "the job to run", func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "ran"))
		return strings.Contains(string(b), "start 1")
	})
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var code int
	var out, stderr string
	poll(t, "the drain to begin", func() bool {
		code, out, stderr = hookdCLI(t, "events", "-data", d.data)
		return strings.Contains(stderr, "shutting down")
	})
	if code != 0 || !strings.HasPrefix(stderr, "hookd is shutting down: it waits for its running actions (until ") ||
		strings.Count(stderr, "\n") != 1 || !strings.Contains(out, "d-1") {
		t.Fatalf("events during the drain: %d\n%s\n%s", code, out, stderr)
	}
	code, out, stderr = hookdCLI(t, "show", "-data", d.data, "1")
	if code != 0 || !strings.Contains(stderr, "hookd is shutting down") || !strings.Contains(out, "job 1   rule work") {
		t.Fatalf("show during the drain: %d\n%s\n%s", code, out, stderr)
	}
	code, _, stderr = hookdCLI(t, "replay", "-data", d.data, "1")
	if code != 1 || !strings.HasPrefix(stderr, "hookd replay: hookd is shutting down: it waits for its running actions") ||
		strings.Count(stderr, "\n") != 1 {
		t.Fatalf("replay during the drain: %d %q", code, stderr)
	}

	os.WriteFile(filepath.Join(dir, "gate"), nil, 0o644)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("hookd: %v", err)
	}
	code, _, stderr = hookdCLI(t, "events", "-data", d.data)
	if code != 0 || stderr != "hookd is not running: reading "+filepath.Join(d.data, "hookd.db")+"\n" {
		t.Fatalf("events once stopped: %d %q", code, stderr)
	}
}

// An address that is not the admin API's, or one that cannot be a socket,
// is said as such, without the request's internal URL.
func TestAdminAddressMistakes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	dir := t.TempDir()
	d := newCrashDaemon(t, dir, drainRules)
	os.WriteFile(d.cfg, []byte("ui: {listen: \"off\"}\n"), 0o644)
	d.serve()
	afile := filepath.Join(dir, "afile")
	os.WriteFile(afile, nil, 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-admin", d.addr}, "hookd events: " + d.addr + " answered 404 Not Found, but it is not hookd's admin API (the webhook listen address?)"},
		{[]string{"-data", afile}, "hookd events: cannot reach hookd at " + filepath.Join(afile, "admin.sock") + ": connect: not a directory"},
	} {
		code, _, stderr := hookdCLI(t, append([]string{"events"}, tc.args...)...)
		if code != 1 || !strings.HasPrefix(stderr, tc.want) || strings.Count(stderr, "\n") != 1 || strings.Contains(stderr, "http://") {
			t.Errorf("events %v: %d %q, want %q", tc.args, code, stderr, tc.want)
		}
	}
}
