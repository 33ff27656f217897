package systest

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const socketRules = `
sources:
  github:
    verify: {provider: github, secret: "${WEBHOOK_SECRET}"}
rules:
  - name: effect
    source: github
    actions:
      - shell:
          env: {OUT: "${OUT}"}
          script: 'printf "%s %s\n" "$HOOKD_DELIVERY_ID" "${LISTEN_FDS:-unset}" >> "$OUT"'
`

// startActivated starts hookd as systemd would with socket activation:
// the socket as fd 3, LISTEN_FDS=1, and LISTEN_PID set to hookd's own pid
// by a shell that then execs it.
func (s *site) startActivated(ln *os.File, listen string) *daemon {
	s.t.Helper()
	args := s.serveArgs()
	args[len(args)-1] = listen
	cmd := exec.Command("/bin/sh", append([]string{"-c", `LISTEN_PID=$$ exec "$0" "$@"`, bin}, args...)...)
	cmd.Env = []string{"LISTEN_FDS=1", "LISTEN_FDNAMES=hookd.socket"}
	cmd.ExtraFiles = []*os.File{ln}
	return s.startCmd(cmd)
}

// TestSocketActivationRestarts: hookd serves on a socket it inherits, not
// binding `listen`, and restarts on it (SIGTERM, start again) under
// concurrent load refuse no connection and lose no acknowledged delivery.
func TestSocketActivationRestarts(t *testing.T) {
	s := newSite(t, socketRules, "")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s.addr = ln.Addr().String()
	// listen names the socket's own address: bound again, it would fail.
	d := s.startActivated(f, s.addr)

	var (
		mu      sync.Mutex
		acked   = map[string]bool{}
		failed  []string
		stop    atomic.Bool
		wg      sync.WaitGroup
		perConn = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	)
	for c := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				id := fmt.Sprintf("c%d-%d", c, i)
				body := []byte(`{"ref":"refs/heads/main"}`)
				req, _ := http.NewRequest("POST", "http://"+s.addr+"/hooks/github", strings.NewReader(string(body)))
				req.Header = githubHeaders(id, body)
				resp, err := perConn.Do(req)
				mu.Lock()
				switch {
				case err != nil:
					failed = append(failed, id+": "+err.Error())
				case resp.StatusCode != 200:
					failed = append(failed, fmt.Sprintf("%s: status %d", id, resp.StatusCode))
				default:
					acked[id] = true
				}
				mu.Unlock()
				if resp != nil {
					resp.Body.Close()
				}
			}
		}()
	}
	const restarts = 5
	for range restarts {
		time.Sleep(300 * time.Millisecond)
		d.stop(t)
		d = s.startActivated(f, s.addr)
	}
	time.Sleep(300 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(failed) > 0 {
		t.Fatalf("%d of %d requests failed across %d restarts: %s", len(failed), len(failed)+len(acked), restarts, strings.Join(failed, "\n"))
	}
	t.Logf("%d deliveries acknowledged across %d restarts, none failed", len(acked), restarts)
	ran := filepath.Join(s.dir, "ran")
	eventually(t, "every acknowledged delivery ran", 30*time.Second, func() bool {
		seen := map[string]bool{}
		for _, l := range lines(t, ran) {
			id, fds, _ := strings.Cut(l, " ")
			if fds != "unset" {
				t.Fatalf("an action saw LISTEN_FDS=%s", fds)
			}
			seen[id] = true
		}
		for id := range acked {
			if !seen[id] {
				return false
			}
		}
		return true
	})
	logs := s.logs.String()
	if n := strings.Count(logs, `msg="listening on the socket passed by systemd" socket=hookd.socket`); n != restarts+1 {
		t.Errorf("%d starts said they use the passed socket, want %d", n, restarts+1)
	}

	// listen naming another address: not bound, and said.
	d.stop(t)
	s.startActivated(f, "127.0.0.1:1")
	if !strings.Contains(s.logs.String(), `listen in the configuration is not bound: the socket passed by systemd is used instead" listen=127.0.0.1:1`) {
		t.Error("no warning for a listen address other than the socket's")
	}
}
