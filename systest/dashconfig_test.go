package systest

import (
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// TestDashboardSettingsRefused: the dashboard beyond loopback without
// users, an admin API on TCP beyond loopback, and a ui.listen that cannot be
// bound stop hookd with one clear line each.
func TestDashboardSettingsRefused(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, tc := range []struct{ name, config, want string }{
		{"beyond loopback without users", "ui:\n  listen: 0.0.0.0:9001\n",
			"hookd.yaml:2:11: ui.listen 0.0.0.0:9001 is reachable beyond this machine: set ui.users"},
		{"admin beyond loopback", "admin: 0.0.0.0:9002\n",
			"hookd.yaml:1:8: admin 0.0.0.0:9002 is reachable beyond this machine, and the admin API has no authentication"},
		{"a chosen address taken", fmt.Sprintf("ui: {listen: %s}\n", busy.Addr()),
			"ui.listen " + busy.Addr().String() + ": listen tcp " + busy.Addr().String() + ": bind: address already in use"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSite(t, dashboardRules, tc.config)
			var out bytes.Buffer
			cmd := exec.Command(bin, s.serveArgs()...)
			cmd.Env, cmd.Stdout, cmd.Stderr = s.env, &out, &out
			done := make(chan error, 1)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			go func() { done <- cmd.Wait() }()
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatalf("hookd serve did not stop:\n%s", out.String())
			}
			if err == nil || !strings.Contains(out.String(), tc.want) || strings.Contains(out.String(), "goroutine") {
				t.Fatalf("exit %v, output:\n%s\nwant %q", err, out.String(), tc.want)
			}
		})
	}
}

func TestHashPasswordFromAPipe(t *testing.T) {
	cmd := exec.Command(bin, "hash-password")
	cmd.Stdin = strings.NewReader("correct horse battery\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	hash := bytes.TrimSpace(out)
	if bcrypt.CompareHashAndPassword(hash, []byte("correct horse battery")) != nil {
		t.Fatalf("%q is not the password's hash", hash)
	}
	// The hash works in hookd.yaml as it is printed.
	s := newSite(t, dashboardRules, fmt.Sprintf("ui:\n  listen: 127.0.0.1:0\n  users:\n    alice: %s\n", hash))
	check := exec.Command(bin, "check", "-config", filepath.Join(s.dir, "hookd.yaml"), "-rules", filepath.Join(s.dir, "rules"))
	check.Env = s.env
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("check: %v\n%s", err, out)
	}
}
