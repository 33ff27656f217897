package systest

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// run runs the hookd binary with args and returns its exit code, stdout
// and stderr.
func run(t *testing.T, cred *syscall.Credential, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String(), errb.String()
	case err != nil:
		t.Fatal(err)
	}
	return 0, out.String(), errb.String()
}

// githubSource opens a rules file with a GitHub source; rules follow.
const githubSource = `
sources:
  github:
    verify: {provider: github, secret: "${WEBHOOK_SECRET}"}
rules:
`

const pushRule = githubSource + `
  - name: deploy
    source: github
    actions: [{shell: {command: ["true"]}}]
`

// The admin commands off the happy path: a user who may not use the
// socket is told so, and with the daemon stopped events and show read the
// database while replay says it needs the daemon.
func TestAdminCLIOffTheHappyPath(t *testing.T) {
	s := newSite(t, pushRule, "")
	data := filepath.Join(s.dir, "data")
	d := s.start()
	r, err := s.post("offline-1", []byte(`{"ref":"refs/heads/main"}`))
	if err != nil || r.code != 200 {
		t.Fatalf("post: %v %+v", err, r)
	}
	id := strconv.FormatUint(r.ID, 10)

	t.Run("permission denied", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("needs root to run the CLI as another user")
		}
		if err := os.Chmod(filepath.Dir(bin), 0o755); err != nil {
			t.Fatal(err)
		}
		code, _, stderr := run(t, &syscall.Credential{Uid: 65534, Gid: 65534}, "events", "-data", data)
		if code != 1 || !strings.Contains(stderr, "permission denied on the admin socket") || !strings.Contains(stderr, "sudo -u hookd") {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
	})
	t.Run("locked by a daemon that does not answer there", func(t *testing.T) {
		code, _, stderr := run(t, nil, "events", "-data", data, "-admin", filepath.Join(s.dir, "elsewhere.sock"))
		if code != 1 || !strings.Contains(stderr, "a running hookd holds") {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
	})

	d.stop(t)
	code, stdout, stderr := run(t, nil, "events", "-data", data)
	if code != 0 || !strings.Contains(stdout, "offline-1") || !strings.Contains(stderr, "hookd is not running: reading") {
		t.Fatalf("events with the daemon stopped: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = run(t, nil, "show", id, "-data", data)
	if code != 0 || !strings.Contains(stdout, "event "+id) || !strings.Contains(stdout, "rule deploy") {
		t.Fatalf("show with the daemon stopped: exit %d\n%s%s", code, stdout, stderr)
	}
	code, _, stderr = run(t, nil, "replay", id, "-data", data)
	if code != 1 || !strings.Contains(stderr, "replay needs the running daemon") {
		t.Fatalf("replay with the daemon stopped: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = run(t, nil, "events", "-data", filepath.Join(s.dir, "nowhere"))
	if code != 1 || !strings.Contains(stderr, "there is no database at") {
		t.Fatalf("events on a wrong data directory: exit %d, stderr %q", code, stderr)
	}
	// The daemon starts again: the read-only opens left no lock behind.
	s.start()
	if code, stdout, _ := run(t, nil, "events", "-data", data); code != 0 || !strings.Contains(stdout, "offline-1") {
		t.Fatalf("events after a restart: exit %d\n%s", code, stdout)
	}
}
