package systest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// cli runs a hookd verb against the site's daemon (its data directory and
// config), with stdin; it returns stdout, stderr and the exit status.
func (s *site) cli(t *testing.T, stdin string, verb string, args ...string) (string, string, int) {
	t.Helper()
	all := append([]string{verb, "-config", filepath.Join(s.dir, "hookd.yaml"), "-data", filepath.Join(s.dir, "data")}, args...)
	cmd := exec.Command(bin, all...)
	cmd.Env = s.env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return out.String(), errb.String(), ee.ExitCode()
	case err != nil:
		t.Fatalf("hookd %s: %v", verb, err)
	}
	return out.String(), errb.String(), 0
}

// A rule that never matches a webhook, serial, whose action shows what its
// templates saw and when it started and ended.
const runRules = `
sources:
  github:
    verify: {provider: github, secret: "${WEBHOOK_SECRET}"}
rules:
  - name: deploy
    source: github
    when: body.ref == "refs/heads/never"
    concurrency: serial
    actions:
      - shell:
          env: {AFTER: "{{ body.after }}", TARGET: "{{ headers['x-target'] }}", SRC: "{{ source }}", OUT: "${OUT}"}
          script: |
            printf 'start %s %s %s %s\n' "$SRC" "$AFTER" "$TARGET" "$HOOKD_EVENT_ID" >> "$OUT"
            sleep 0.3
            printf 'end %s\n' "$HOOKD_EVENT_ID" >> "$OUT"
  - name: on-push
    source: github
    when: body.n > 1 && event == "push"
    actions:
      - shell: {command: ["true"]}
`

// TestRunRule: `hookd run` records a manual event, durably, and queues the
// rule whatever its when says, in the rule's lane; the event reads source
// manual in events, show, the log and the metrics.
func TestRunRule(t *testing.T) {
	s := newSite(t, runRules, "")
	d := s.start()
	out, errOut, code := s.cli(t, `{"after":"abc123"}`, "run", "deploy", "-body", "-", "-header", "X-Target: prod", "-json")
	if code != 0 {
		t.Fatalf("hookd run: exit %d\n%s%s", code, out, errOut)
	}
	var ans struct {
		Status, Rule string
		ID, Job      uint64
	}
	if err := json.Unmarshal([]byte(out), &ans); err != nil || ans.Status != "queued" || ans.ID == 0 || ans.Job == 0 || ans.Rule != "deploy" {
		t.Fatalf("hookd run -json: %v %q", err, out)
	}
	// Two more at once: the serial lane runs them one after the other.
	for range 2 {
		if out, errOut, code := s.cli(t, `{"after":"def"}`, "run", "deploy", "-body", "-"); code != 0 || !strings.Contains(out, "queued as job") {
			t.Fatalf("hookd run: exit %d\n%s%s", code, out, errOut)
		}
	}
	// It runs whatever its when says; a when that does not hold for the
	// body is one note on stderr, as hookd test would explain it.
	for _, tc := range []struct{ rule, body, note string }{
		{"deploy", `{"after":"def"}`, "note: rule deploy's when is false for this body (`body.ref == \"refs/heads/never\"` was false: body.ref is nil); it runs anyway\n"},
		{"deploy", `{"ref":"refs/heads/never"}`, ""},
		{"on-push", `{"n":2}`, "note: rule on-push's when is false for this body (`event == \"push\"` was false: event is \"\"); it runs anyway\n"},
		{"on-push", `[1]`, "note: rule on-push's when fails for this body (body.n > 1 && event == \"push\": "},
	} {
		out, errOut, code := s.cli(t, tc.body, "run", tc.rule, "-body", "-")
		if code != 0 || !strings.Contains(out, "queued as job") || !strings.HasPrefix(errOut, tc.note) || tc.note == "" && errOut != "" ||
			strings.Count(errOut, "\n") > 1 {
			t.Errorf("hookd run %s with %s: exit %d\n%s%s\nwant stderr %q", tc.rule, tc.body, code, out, errOut, tc.note)
		}
	}
	ran := filepath.Join(s.dir, "ran")
	eventually(t, "five runs", 20*time.Second, func() bool { return len(lines(t, ran)) == 10 })
	got := lines(t, ran)
	if want := "start manual abc123 prod " + fmt.Sprint(ans.ID); got[0] != want {
		t.Errorf("first run saw %q, want %q", got[0], want)
	}
	for i := 0; i < len(got); i += 2 {
		if !strings.HasPrefix(got[i], "start ") || !strings.HasPrefix(got[i+1], "end ") {
			t.Fatalf("serial runs overlapped:\n%s", strings.Join(got, "\n"))
		}
	}

	list, _, code := s.cli(t, "", "events", "-source", "manual")
	if code != 0 || strings.Count(list, " manual ") != 7 {
		t.Errorf("hookd events -source manual:\n%s", list)
	}
	show, _, _ := s.cli(t, "", "show", fmt.Sprint(ans.ID))
	if !regexp.MustCompile(`(?m)^source\s+manual$`).MatchString(show) || !strings.Contains(show, "x-target: prod") ||
		!strings.Contains(show, "rule deploy   done") {
		t.Errorf("hookd show %d:\n%s", ans.ID, show)
	}
	if m := s.metricLine(t, `hookd_requests_total{outcome="accepted",source="manual"}`); m != "7" {
		t.Errorf("manual runs counted %q in hookd_requests_total, want 7", m)
	}
	if !strings.Contains(s.logs.String(), `msg="manual run queued" source=manual event_id=`+fmt.Sprint(ans.ID)+" rule=deploy") {
		t.Errorf("no log line for the manual run")
	}

	// An unknown rule: one line, exit 1.
	_, errOut, code = s.cli(t, "", "run", "nope")
	if code != 1 || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, `no rule "nope"`) {
		t.Errorf("hookd run nope: exit %d, stderr %q", code, errOut)
	}

	// Durable before "queued": a kill right after the answer loses nothing.
	before := len(lines(t, ran))
	out, _, _ = s.cli(t, `{"after":"ghi"}`, "run", "-body", "-", "deploy", "-json")
	_ = json.Unmarshal([]byte(out), &ans)
	d.kill()
	s.start()
	eventually(t, "the run queued before the kill", 20*time.Second, func() bool {
		return strings.Contains(strings.Join(lines(t, ran)[before:], "\n"), "end "+fmt.Sprint(ans.ID))
	})
	// A run the kill interrupted died with its hookd (its sh; the sleep
	// that sh started writes nothing): it never writes its end line, and
	// nothing writes in the test's directory once it is removed.
}

// metricLine returns the value of one labelled series from /metrics.
func (s *site) metricLine(t *testing.T, series string) string {
	t.Helper()
	resp, err := client.Get("http://" + s.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindSubmatch(raw)
	if m == nil {
		return ""
	}
	return string(m[1])
}
