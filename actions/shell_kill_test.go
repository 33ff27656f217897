package actions

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// What an attempt leaves behind: its process group is killed when it
// times out, when hookd stops, and when it succeeds.

// runWithin runs s and fails the test if Run has not returned within d,
// well short of WaitDelay, so a kill that misses a process is a failure
// rather than a hung test.
func runWithin(t *testing.T, d time.Duration, s *Shell, ctx context.Context) (Result, error) {
	t.Helper()
	type ret struct {
		res Result
		err error
	}
	done := make(chan ret, 1)
	go func() {
		res, err := s.Run(ctx, &Input{})
		done <- ret{res, err}
	}()
	select {
	case r := <-done:
		return r.res, r.err
	case <-time.After(d):
		t.Fatalf("Run still running after %v", d)
		return Result{}, nil
	}
}

// gone reports whether pid has exited: no such process, or a zombie
// waiting for its (new) parent to reap it.
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return os.IsNotExist(err)
	}
	// The state follows the parenthesised command name.
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

func waitGone(t *testing.T, pidFile string) {
	t.Helper()
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("grandchild never started: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		t.Fatalf("bad pid %q", b)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !gone(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("grandchild %d outlived the attempt", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestShellTimeoutKillsProcessGroup(t *testing.T) {
	tests := []struct {
		name     string
		cancel   bool // cancel instead of a deadline
		wantText string
		wantErr  error
	}{
		{"deadline", false, "timed out", context.DeadlineExceeded},
		{"shutdown", true, "stopped", context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			pidFile := filepath.Join(dir, "grandchild.pid")
			// The grandchild keeps stdout open, so the run also proves that
			// killing the group unblocks the output pipe.
			script := `sleep 1000 & echo $! > grandchild.pid; echo started; sleep 1000`
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if tt.cancel {
				go func() {
					for {
						if _, err := os.Stat(pidFile); err == nil {
							time.Sleep(50 * time.Millisecond)
							cancel()
							return
						}
						time.Sleep(10 * time.Millisecond)
					}
				}()
			} else {
				ctx, cancel = context.WithTimeout(ctx, 500*time.Millisecond)
				defer cancel()
			}
			res, err := runWithin(t, 10*time.Second, &Shell{Script: script, Dir: dir, Env: pathEnv, WaitDelay: 20 * time.Second}, ctx)
			if err == nil || !strings.Contains(err.Error(), tt.wantText) {
				t.Fatalf("err = %v, want %q", err, tt.wantText)
			}
			if IsPermanent(err) {
				t.Errorf("timeout is permanent: %v", err)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want it to wrap %v", err, tt.wantErr)
			}
			if res.Exit != -1 {
				t.Errorf("Exit = %d, want -1", res.Exit)
			}
			if !bytes.Contains(res.Output, []byte("started")) {
				t.Errorf("output before the kill lost: %q", res.Output)
			}
			waitGone(t, pidFile)
		})
	}
}

// A background process left behind by a successful script is killed too.
func TestShellSuccessKillsLeftovers(t *testing.T) {
	dir := t.TempDir()
	script := `sleep 1000 >/dev/null 2>&1 </dev/null & echo $! > grandchild.pid`
	res, err := runWithin(t, 10*time.Second, &Shell{Script: script, Dir: dir, Env: pathEnv}, context.Background())
	if err != nil || res.Exit != 0 {
		t.Fatalf("Exit %d, err %v", res.Exit, err)
	}
	waitGone(t, filepath.Join(dir, "grandchild.pid"))
}
