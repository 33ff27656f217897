package cli

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"hookd/engine"
)

// crashSource is the signed GitHub source of the crash tests' rules.
const crashSource = `
sources:
  github:
    verify: {provider: github, secret: cli-test-secret}
`

// The action logs its start, waits for the gate file, and logs its end
// only if the hookd that started it is still alive: an orphan left by a
// SIGKILL goes away without a trace.
const crashRules = crashSource + `rules:
  - name: work
    source: github
    actions:
      - shell:
          script: 'echo "start $N $HOOKD_ATTEMPT" >> "$OUT"; while [ ! -e "$GATE" ] && kill -0 $PPID 2>/dev/null; do sleep 0.02; done; kill -0 $PPID 2>/dev/null || exit 1; echo "end $N" >> "$OUT"'
          env: {OUT: "%DIR%/ran", GATE: "%DIR%/gate", N: "{{ body.n }}"}
`

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// crashDaemon is hookd (hookdBin) with its rules (rulesYAML, %DIR%
// replaced by dir), two workers and a data directory of its own, started
// by serve.
type crashDaemon struct {
	t                      *testing.T
	cfg, rules, data, addr string
	logs                   strings.Builder
}

func newCrashDaemon(t *testing.T, dir, rulesYAML string) *crashDaemon {
	t.Helper()
	d := &crashDaemon{t: t, cfg: filepath.Join(dir, "hookd.yaml"),
		rules: filepath.Join(dir, "rules"), data: filepath.Join(dir, "data"), addr: freePort(t)}
	os.MkdirAll(d.rules, 0o755)
	os.WriteFile(filepath.Join(d.rules, "r.yaml"), []byte(strings.ReplaceAll(rulesYAML, "%DIR%", dir)), 0o644)
	os.WriteFile(d.cfg, []byte("workers: 2\n"), 0o644)
	return d
}

// serve starts hookd and waits until it is ready.
func (d *crashDaemon) serve() *exec.Cmd {
	t := d.t
	cmd := exec.Command(hookdBin, "serve", "-config", d.cfg, "-rules", d.rules, "-data", d.data, "-listen", d.addr)
	cmd.Stdout, cmd.Stderr = &d.logs, &d.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	poll(t, "hookd to be ready", func() bool {
		resp, err := http.Get("http://" + d.addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return cmd
}

// serveWithOnePush starts hookd, sends it one accepted push, and logs
// hookd's output if the test fails.
func (d *crashDaemon) serveWithOnePush() *exec.Cmd {
	t := d.t
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("hookd logs:\n%s", d.logs.String())
		}
	})
	cmd := d.serve()
	if a := signedPush(t, "http://"+d.addr, "d-1", []byte(`{"n":"1"}`)); a["status"] != "accepted" {
		t.Fatalf("push: %v", a)
	}
	return cmd
}

func TestKill9LosesNothingAndRerunsOnlyRunningJobs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	d := newCrashDaemon(t, dir, crashRules)
	addr, data, logs, serve := d.addr, d.data, &d.logs, d.serve
	defer func() {
		if t.Failed() {
			t.Logf("hookd logs:\n%s", logs.String())
		}
	}()
	lines := func() []string {
		b, _ := os.ReadFile(filepath.Join(dir, "ran"))
		if s := strings.TrimSpace(string(b)); s != "" {
			return strings.Split(s, "\n")
		}
		return nil
	}

	cmd := serve()
	const n = 6
	for i := 1; i <= n; i++ {
		a := signedPush(t, "http://"+addr, fmt.Sprintf("d-%d", i), []byte(fmt.Sprintf(`{"n":"%d"}`, i)))
		if a["status"] != "accepted" {
			t.Fatalf("push %d: %v", i, a)
		}
	}
	// Two workers: two jobs run, the others are queued.
	poll(t, "two jobs to run", func() bool { return len(lines()) == 2 })
	running := lines()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait() // reaped: the orphans see their hookd gone

	os.WriteFile(filepath.Join(dir, "gate"), nil, 0o644)
	cmd = serve()
	poll(t, "every job to finish", func() bool {
		code, out, _ := hookdCLI(t, "events", "-data", data, "-status", "done", "-json")
		var v struct{ Events []json.RawMessage }
		return code == 0 && json.Unmarshal([]byte(out), &v) == nil && len(v.Events) == n
	})
	got := lines()
	for i := 1; i <= n; i++ {
		first := fmt.Sprintf("start %d 1", i)
		wasRunning := slices.Contains(running, first)
		var want []string
		if wasRunning {
			want = []string{first, fmt.Sprintf("start %d 2", i), fmt.Sprintf("end %d", i)}
		} else {
			want = []string{first, fmt.Sprintf("end %d", i)}
		}
		var have []string
		for _, l := range got {
			if f := strings.Fields(l); len(f) >= 2 && f[1] == fmt.Sprint(i) {
				have = append(have, l)
			}
		}
		if strings.Join(have, ",") != strings.Join(want, ",") {
			t.Errorf("job %d (running at the kill: %v): ran %q, want %q", i, wasRunning, have, want)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("hookd after SIGTERM: %v", err)
	}
	if _, err := os.Stat(filepath.Join(data, "admin.sock")); !os.IsNotExist(err) {
		t.Fatalf("admin socket left after a clean stop: %v", err)
	}
}

// The action's first attempt kills its hookd the moment it starts. The
// job's running mark must be durable before that: after a restart the job
// runs again as attempt 2. Were the mark written after the action started,
// or without waiting for its commit, the restarted hookd would find the
// job queued, run attempt 1 again, and be killed again (the test then
// times out waiting for it to be ready).
const killerRules = crashSource + `rules:
  - name: work
    source: github
    actions:
      - shell:
          script: 'if [ "$HOOKD_ATTEMPT" = 1 ]; then kill -9 $PPID; sleep 5; fi; echo "ran $HOOKD_ATTEMPT" >> "$OUT"'
          env: {OUT: "%DIR%/ran"}
`

func TestRunningMarkIsDurableBeforeTheActionStarts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	d := newCrashDaemon(t, dir, killerRules)
	cmd := d.serveWithOnePush()
	if err := cmd.Wait(); err == nil {
		t.Fatal("hookd was not killed by its action")
	}
	// Read while hookd is down, the job is running, as the restart will
	// record it, though its mark is only in the start log.
	code, out, errOut := hookdCLI(t, "events", "-data", d.data, "-status", "running", "-json")
	var v struct{ Events []struct{ ID uint64 } }
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || len(v.Events) != 1 {
		t.Fatalf("events -status running with hookd down: exit %d, %s%s; want the one event", code, out, errOut)
	}
	killed := time.Now().UTC()
	time.Sleep(time.Second) // the attempt ends when hookd died, not at the restart
	cmd = d.serve()
	ran := filepath.Join(dir, "ran")
	poll(t, "the job's second attempt", func() bool {
		b, _ := os.ReadFile(ran)
		return len(b) > 0
	})
	if b, _ := os.ReadFile(ran); strings.TrimSpace(string(b)) != "ran 2" {
		t.Fatalf("after the kill the job ran %q, want %q", b, "ran 2")
	}
	var view engine.EventView
	poll(t, "the interrupted attempt's record", func() bool {
		_, out, _ := hookdCLI(t, "show", fmt.Sprint(v.Events[0].ID), "-json", "-data", d.data)
		view = engine.EventView{}
		return json.Unmarshal([]byte(out), &view) == nil && len(view.Jobs) == 1 && len(view.Jobs[0].Attempts) == 2
	})
	if a := view.Jobs[0].Attempts[0]; !strings.HasPrefix(a.Error, "interrupted") || a.End.After(killed) || a.End.Before(a.Start) {
		t.Fatalf("the interrupted attempt: %+v; want it to end by %v, when hookd was killed", a, killed)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
}

// What a script put in the background outlives a kill -9 of hookd (only
// the action's own process dies with it); the next hookd on the data
// directory kills it before the job runs again, so a serial lane's two
// attempts never overlap.
func TestKill9LeftoversKilledBeforeTheRerun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	d := newCrashDaemon(t, dir, crashSource+`rules:
  - name: deploy
    source: github
    concurrency: serial
    actions:
      - shell:
          script: 'sh -c "echo \$\$ > \"$OUT.$HOOKD_ATTEMPT\"; sleep 30" & wait'
          env: {OUT: "%DIR%/bg"}
`)
	cmd := d.serveWithOnePush()
	var pid int
	poll(t, "the background command to start", func() bool {
		b, err := os.ReadFile(filepath.Join(dir, "bg.1"))
		_, err2 := fmt.Sscan(string(b), &pid)
		return err == nil && err2 == nil && pid > 0
	})
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if syscall.Kill(pid, 0) != nil {
		t.Fatal("the background command died with hookd: nothing to test")
	}
	cmd = d.serve()
	poll(t, "the second attempt to start", func() bool {
		_, err := os.Stat(filepath.Join(dir, "bg.2"))
		return err == nil
	})
	// Dead by the time attempt 2 started (maybe a zombie not yet reaped
	// by whoever adopted it).
	if syscall.Kill(pid, 0) == nil {
		if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); !strings.Contains(string(b), ") Z ") {
			t.Fatalf("attempt 1's background command (pid %d) still runs beside attempt 2", pid)
		}
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait() // its output is all copied: the log can be read
	var pid2 int
	if b, err := os.ReadFile(filepath.Join(dir, "bg.2")); err == nil {
		if _, err := fmt.Sscan(string(b), &pid2); err == nil && pid2 > 0 {
			_ = syscall.Kill(pid2, syscall.SIGKILL) // attempt 2's, left by this kill
		}
	}
	if !strings.Contains(d.logs.String(), "killed processes that a killed hookd's actions had left running") {
		t.Error("the kill is not logged")
	}
}
