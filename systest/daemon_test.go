// Package systest runs the real hookd binary the way production does:
// started, fed signed webhooks, killed, restarted, and inspected.
package systest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"hookd/internal/logbuf"
)

const secret = "systest-secret-0f4e"

var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hookd-systest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "hookd")
	if out, err := exec.Command("go", "build", "-o", bin, "hookd").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// site is a directory with rules, data and a fixed address, on which
// daemons are started one after the other.
type site struct {
	t    *testing.T
	dir  string
	addr string
	env  []string
	logs *logbuf.Buffer
	cwd  string // the daemon's working directory ("": the test's)
	// readyAddr is where /readyz answers ("": addr), as with ops.listen.
	readyAddr string
}

func newSite(t *testing.T, rulesYAML, configYAML string) *site {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "rules"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "rules", "rules.yaml"), rulesYAML)
	writeFile(t, filepath.Join(dir, "hookd.yaml"), configYAML)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &site{t: t, dir: dir, addr: addr, env: append(os.Environ(), "WEBHOOK_SECRET="+secret, "OUT="+filepath.Join(dir, "ran")), logs: &logbuf.Buffer{}}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("daemon logs:\n%s", s.logs.String())
		}
	})
	return s
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

type daemon struct {
	cmd  *exec.Cmd
	done chan error
}

// start runs `hookd serve` and waits until /readyz answers.
func (s *site) start() *daemon {
	s.t.Helper()
	return s.startCmd(exec.Command(bin, s.serveArgs()...))
}

// serveArgs are the arguments of `hookd serve` on the site.
func (s *site) serveArgs() []string {
	return []string{"serve", "-config", filepath.Join(s.dir, "hookd.yaml"), "-rules", filepath.Join(s.dir, "rules"),
		"-data", filepath.Join(s.dir, "data"), "-listen", s.addr}
}

// startCmd starts cmd, a hookd serve on the site, with the site's
// environment added to cmd.Env, and waits until /readyz answers.
func (s *site) startCmd(cmd *exec.Cmd) *daemon {
	s.t.Helper()
	cmd.Env = append(append([]string(nil), s.env...), cmd.Env...)
	cmd.Dir = s.cwd
	cmd.Stdout = s.logs
	cmd.Stderr = s.logs
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	d := &daemon{cmd: cmd, done: make(chan error, 1)}
	go func() { d.done <- cmd.Wait() }()
	s.t.Cleanup(func() { d.kill() })
	deadline := time.Now().Add(20 * time.Second)
	ready := s.addr
	if s.readyAddr != "" {
		ready = s.readyAddr
	}
	for {
		// Bounded: a socket nobody accepts on (an inherited one the
		// daemon failed to take) would hold the request forever.
		resp, err := readyClient.Get("http://" + ready + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return d
			}
		}
		select {
		case err := <-d.done:
			s.t.Fatalf("hookd exited before it was ready: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatal("hookd not ready after 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var readyClient = &http.Client{Timeout: 2 * time.Second}

// kill sends SIGKILL and waits.
func (d *daemon) kill() {
	if d.cmd.ProcessState != nil {
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.done
	d.done <- nil
}

// stop sends SIGTERM and returns the exit error.
func (d *daemon) stop(t *testing.T) {
	t.Helper()
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		d.done <- err
		if err != nil {
			t.Fatalf("hookd exited with %v after SIGTERM", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("hookd did not stop within 60s of SIGTERM")
	}
}

func sign(body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

type reply struct {
	Status string   `json:"status"`
	ID     uint64   `json:"id"`
	Rules  []string `json:"rules"`
	Error  string   `json:"error"`
	code   int
}

var client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

// post sends a signed GitHub push; err is a transport error (no answer).
func (s *site) post(delivery string, body []byte) (reply, error) {
	req, _ := http.NewRequest("POST", "http://"+s.addr+"/hooks/github", bytes.NewReader(body))
	req.Header = githubHeaders(delivery, body)
	resp, err := client.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	var r reply
	_ = json.Unmarshal(raw, &r)
	r.code = resp.StatusCode
	return r, nil
}
