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
)

// The action logs its start, waits for the gate file, and logs its end
// only if the hookd that started it is still alive: an orphan left by a
// SIGKILL goes away without a trace.
const crashRules = `
sources:
  github:
    verify: {provider: github, secret: cli-test-secret}
rules:
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

func TestKill9LosesNothingAndRerunsOnlyRunningJobs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "hookd")
	build := exec.Command("go", "build", "-o", bin, "hookd")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	rd, data := filepath.Join(dir, "rules"), filepath.Join(dir, "data")
	os.MkdirAll(rd, 0o755)
	os.WriteFile(filepath.Join(rd, "r.yaml"), []byte(strings.ReplaceAll(crashRules, "%DIR%", dir)), 0o644)
	cfgFile := filepath.Join(dir, "hookd.yaml")
	os.WriteFile(cfgFile, []byte("workers: 2\n"), 0o644)
	addr := freePort(t)
	var logs strings.Builder
	serve := func() *exec.Cmd {
		cmd := exec.Command(bin, "serve", "-config", cfgFile, "-rules", rd, "-data", data, "-listen", addr)
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		poll(t, "hookd to be ready", func() bool {
			resp, err := http.Get("http://" + addr + "/readyz")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == 200
		})
		return cmd
	}
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
