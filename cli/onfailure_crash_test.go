package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"hookd/engine"
)

// The action fails for good at once; its on_failure logs each run and,
// the first time, waits until it is killed.
const failingRules = crashSource + `rules:
  - name: deploy
    source: github
    concurrency: serial
    actions:
      - shell:
          script: 'echo "ran $HOOKD_ATTEMPT" >> "$OUT"; exit 3'
          env: {OUT: "%DIR%/ran"}
    on_failure:
      - shell:
          script: 'echo "alert $A" >> "$OUT"; [ -e "$OUT.once" ] && exit 0; touch "$OUT.once"; sleep 30'
          env: {OUT: "%DIR%/alerts", A: "{{ attempt }} {{ error }}"}
`

// A hookd killed (SIGKILL) or stopped (SIGTERM, past shutdown_timeout)
// while a job's on_failure runs: the next start runs the on_failure again,
// not the failed action, and the job ends failed with the action's own
// failure recorded.
func TestStoppedDuringOnFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			d := newCrashDaemon(t, dir, failingRules)
			os.WriteFile(d.cfg, []byte("workers: 2\nshutdown_timeout: 1s\n"), 0o644)
			cmd := d.serveWithOnePush()
			alerts := filepath.Join(dir, "alerts")
			poll(t, "on_failure to start", func() bool {
				_, err := os.Stat(alerts + ".once")
				return err == nil
			})
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Wait()
			// Read while hookd is down: the failure is recorded already.
			if _, out, _ := hookdCLI(t, "show", "1", "-data", d.data); !strings.Contains(out, "running (failed for good; its on_failure runs)") ||
				!strings.Contains(out, "exit status 3") {
				t.Errorf("hookd show with hookd down:\n%s", out)
			}

			cmd = d.serve()
			var view engine.EventView
			poll(t, "the job to end failed", func() bool {
				_, out, _ := hookdCLI(t, "show", "1", "-json", "-data", d.data)
				view = engine.EventView{}
				return json.Unmarshal([]byte(out), &view) == nil && len(view.Jobs) == 1 && view.Jobs[0].State == "failed"
			})
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()

			if b, _ := os.ReadFile(filepath.Join(dir, "ran")); string(b) != "ran 1\n" {
				t.Errorf("the action ran %q, want once", b)
			}
			want := "alert 1 shell: exit status 3\n"
			if b, _ := os.ReadFile(alerts); string(b) != want+want {
				t.Errorf("on_failure ran %q, want %q twice", b, want)
			}
			j := view.Jobs[0]
			if len(j.Attempts) != 1 || !strings.Contains(j.Attempts[0].Error, "exit status 3") || !strings.Contains(j.Error, "exit status 3") {
				t.Errorf("the job's record: error %q, attempts %+v; want the action's failure, once", j.Error, j.Attempts)
			}
			if len(j.OnFailure) != 1 || j.OnFailure[0].Exit == nil || *j.OnFailure[0].Exit != 0 {
				t.Errorf("on_failure's record: %+v; want its second run, exit 0", j.OnFailure)
			}
			if !strings.Contains(d.logs.String(), "running on_failure again") {
				t.Error("the rerun of on_failure is not logged")
			}
		})
	}
}
