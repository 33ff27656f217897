package cli

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"hookd/internal/logbuf"
)

const serveSecret = "hunter2-webhook-secret-value"

// hangGuard only stops a test that would otherwise hang; nothing here
// depends on how fast the machine is.
const hangGuard = 2 * time.Minute

// buildHookd builds the real binary, so that signals, exit status and the
// environment are the ones systemd would see.
func buildHookd(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hookd")
	cmd := exec.Command("go", "build", "-o", bin, "hookd")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// notifyListener is the service manager's end of NOTIFY_SOCKET.
type notifyListener struct {
	path string
	conn *net.UnixConn
	msgs chan map[string]string
}

func listenNotify(t *testing.T, dir string) *notifyListener {
	t.Helper()
	path := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	n := &notifyListener{path: path, conn: conn, msgs: make(chan map[string]string, 100)}
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := conn.Read(buf)
			if err != nil {
				close(n.msgs)
				return
			}
			m := map[string]string{}
			for _, line := range strings.Split(string(buf[:k]), "\n") {
				if name, val, ok := strings.Cut(line, "="); ok {
					m[name] = val
				}
			}
			n.msgs <- m
		}
	}()
	return n
}

// next returns the next message that has key, skipping watchdog pings.
func (n *notifyListener) next(t *testing.T, key string) map[string]string {
	t.Helper()
	timeout := time.After(hangGuard)
	for {
		select {
		case m, ok := <-n.msgs:
			if !ok {
				t.Fatalf("notify socket closed while waiting for %s", key)
			}
			if _, ok := m["WATCHDOG"]; ok && len(m) == 1 && key != "WATCHDOG" {
				continue
			}
			if _, ok := m[key]; !ok {
				t.Fatalf("got notify message %v, want one with %s", m, key)
			}
			return m
		case <-timeout:
			t.Fatalf("no %s from hookd", key)
		}
	}
}

func githubSign(body []byte, event, delivery string) http.Header {
	m := hmac.New(sha256.New, []byte(serveSecret))
	m.Write(body)
	return http.Header{
		"X-Hub-Signature-256": {"sha256=" + hex.EncodeToString(m.Sum(nil))},
		"X-Github-Event":      {event},
		"X-Github-Delivery":   {delivery},
		"Content-Type":        {"application/json"},
	}
}

func post(t *testing.T, url string, h http.Header, body []byte) int {
	t.Helper()
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header = h
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

const serveRules = `
sources:
  github:
    verify: {provider: github, secret: "${TEST_SECRET}"}
rules:
  - name: deploy
    source: github
    when: event == "push"
    actions:
      # The secret is in the child's environment and in its output ...
      - shell:
          script: 'echo "token $TOKEN"; echo "$HOOKD_ATTEMPT" >> "$OUT"'
          env: {TOKEN: "${TEST_SECRET}", OUT: "%s"}
      # ... and in the error of a command that cannot start (templated, so
      # that the load does not refuse it as missing).
      - shell:
          command: ["/nonexistent/${TEST_SECRET}{{ '' }}"]
`

// runDaemon runs `hookd serve` through a whole life: start, a signed
// webhook whose job runs, a forged one, SIGHUP, SIGTERM. It checks the
// notify protocol on the way and returns what hookd logged.
func runDaemon(t *testing.T, bin, format string) string {
	dir := t.TempDir()
	rulesDir := filepath.Join(dir, "rules")
	ran := filepath.Join(dir, "ran")
	if err := os.MkdirAll(rulesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rulesDir, "r.yaml"), []byte(fmt.Sprintf(serveRules, ran)), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "hookd.yaml")
	if err := os.WriteFile(conf, []byte("log: {format: "+format+"}\nshutdown_timeout: 1m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	n := listenNotify(t, dir)
	cmd := exec.Command(bin, "serve", "-config", conf, "-rules", rulesDir, "-data", filepath.Join(dir, "data"), "-listen", "127.0.0.1:0")
	// No WATCHDOG_PID: hookd's pid is unknown before the start, and
	// without it WATCHDOG_USEC is meant for whoever reads it.
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+n.path, "TEST_SECRET="+serveSecret, "WATCHDOG_USEC=60000000")
	logs := &logbuf.Buffer{}
	cmd.Stderr, cmd.Stdout = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exit := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		exit <- err
		// Let the reader take what hookd sent before it died, then end
		// the wait of a test that expected more.
		_ = n.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if t.Failed() {
			t.Logf("hookd output:\n%s", logs.String())
		}
	})

	ready := n.next(t, "READY")
	m := regexp.MustCompile(`serving on (\S+):`).FindStringSubmatch(ready["STATUS"])
	if ready["READY"] != "1" || m == nil {
		t.Fatalf("ready message %v", ready)
	}
	base := "http://" + m[1]
	// READY=1 means it: /readyz answers at once, no retry needed.
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/readyz after READY=1: %d", resp.StatusCode)
	}
	if w := n.next(t, "WATCHDOG"); w["WATCHDOG"] != "1" {
		t.Fatalf("watchdog message %v", w)
	}

	body := []byte(`{"ref":"refs/heads/main"}`)
	if code := post(t, base+"/hooks/github", githubSign(body, "push", "delivery-1"), body); code != 200 {
		t.Fatalf("signed webhook: %d", code)
	}
	forged := githubSign(body, "push", "delivery-2")
	forged.Set("X-Hub-Signature-256", "sha256="+strings.Repeat("0", 64))
	if code := post(t, base+"/hooks/github", forged, body); code != 401 {
		t.Fatalf("forged webhook: %d", code)
	}
	// The job is over when its failing http action has been logged.
	for deadline := time.Now().Add(hangGuard); !strings.Contains(logs.String(), "job failed"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the job never finished")
		}
	}

	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	rl := n.next(t, "RELOADING")
	usec, err := strconv.ParseInt(rl["MONOTONIC_USEC"], 10, 64)
	if rl["RELOADING"] != "1" || err != nil || usec <= 0 {
		t.Fatalf("reloading message %v", rl)
	}
	if r := n.next(t, "READY"); r["READY"] != "1" {
		t.Fatalf("after reload %v", r)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if s := n.next(t, "STOPPING"); s["STOPPING"] != "1" {
		t.Fatalf("stopping message %v", s)
	}
	if err := <-exit; err != nil {
		t.Fatalf("hookd exit: %v", err)
	}
	if got, _ := os.ReadFile(ran); string(got) != "1\n" {
		t.Fatalf("the shell action ran %q", got)
	}
	return logs.String()
}

// parseText reads one slog text line (key=value, values quoted when needed).
func parseText(line string) (map[string]any, error) {
	rec := map[string]any{}
	for line = strings.TrimSpace(line); line != ""; line = strings.TrimLeft(line, " ") {
		key, rest, ok := strings.Cut(line, "=")
		if !ok || strings.Contains(key, " ") {
			return nil, fmt.Errorf("no key=value at %q", line)
		}
		val := rest
		if strings.HasPrefix(rest, `"`) {
			q, err := strconv.QuotedPrefix(rest)
			if err != nil {
				return nil, err
			}
			val, _ = strconv.Unquote(q)
			rest = rest[len(q):]
		} else {
			val, rest, _ = strings.Cut(rest, " ")
		}
		rec[key] = val
		line = rest
	}
	return rec, nil
}

func TestServeNotifyProtocolAndLogs(t *testing.T) {
	bin := buildHookd(t)
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			out := runDaemon(t, bin, format)
			if strings.Contains(out, serveSecret) {
				t.Fatalf("the secret is in the log:\n%s", out)
			}
			// The failed command's path held the secret: it was there to leak.
			if !strings.Contains(out, "/nonexistent/[redacted]") {
				t.Errorf("the failing action's error is not in the log:\n%s", out)
			}
			var recs []map[string]any
			sc := bufio.NewScanner(strings.NewReader(out))
			for sc.Scan() {
				var rec map[string]any
				var err error
				if format == "json" {
					err = json.Unmarshal(sc.Bytes(), &rec)
				} else {
					rec, err = parseText(sc.Text())
				}
				if err != nil {
					t.Fatalf("log line %q: %v", sc.Text(), err)
				}
				recs = append(recs, rec)
			}
			// One line per request, per action attempt and per reload, each
			// with the fields an operator greps for.
			for _, want := range []struct {
				msg    string
				fields map[string]string
				keys   []string
			}{
				{"webhook received", map[string]string{"outcome": "accepted", "source": "github", "delivery_id": "delivery-1", "event": "push"}, []string{"event_id", "remote"}},
				{"webhook refused", map[string]string{"outcome": "unauthorized", "source": "github"}, []string{"remote"}},
				{"action done", map[string]string{"rule": "deploy", "kind": "shell", "outcome": "ok"}, []string{"event_id", "attempt", "duration"}},
				{"action failed", map[string]string{"rule": "deploy", "kind": "shell", "outcome": "failed"}, []string{"event_id", "attempt", "duration", "error"}},
				{"reloaded", nil, []string{"rules", "sources"}},
			} {
				n := 0
				for _, rec := range recs {
					if rec["msg"] != want.msg {
						continue
					}
					n++
					for k, v := range want.fields {
						if fmt.Sprint(rec[k]) != v {
							t.Errorf("%q: %s=%v, want %s", want.msg, k, rec[k], v)
						}
					}
					for _, k := range want.keys {
						if _, ok := rec[k]; !ok {
							t.Errorf("%q has no %s: %v", want.msg, k, rec)
						}
					}
				}
				if n != 1 {
					t.Errorf("%d %q lines, want 1", n, want.msg)
				}
			}
		})
	}
}
