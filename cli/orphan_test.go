package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The action writes its pid and sleeps; exec keeps that pid hookd's
// direct child.
const orphanRules = crashSource + `rules:
  - name: work
    source: github
    actions:
      - shell:
          script: 'echo $$ > "$OUT.tmp" && mv "$OUT.tmp" "$OUT" && exec sleep 300'
          env: {OUT: "%DIR%/pid"}
`

// alive is whether pid is a process that has not exited (a zombie waiting
// for its new parent to reap it has).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

// A hookd killed by SIGKILL takes the action it runs with it: left
// running, it would overlap the attempt another node starts after the
// lease.
func TestKill9KillsTheRunningAction(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	dir := t.TempDir()
	d := newCrashDaemon(t, dir, orphanRules)
	defer func() {
		if t.Failed() {
			t.Logf("hookd logs:\n%s", d.logs.String())
		}
	}()
	cmd, addr := d.serve(), d.addr
	if a := signedPush(t, "http://"+addr, "orphan-1", []byte(`{}`)); a["status"] != "accepted" {
		t.Fatalf("push: %v", a)
	}
	var pid int
	poll(t, "the action to start", func() bool {
		b, err := os.ReadFile(filepath.Join(dir, "pid"))
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && pid > 0
	})
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	// Jobs start on worker goroutines that come and go: give the runtime
	// time to move threads about before the kill.
	time.Sleep(300 * time.Millisecond)
	if !alive(pid) {
		t.Fatalf("the action (pid %d) ended while hookd runs", pid)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("the action (pid %d) still runs 5s after hookd was killed", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
