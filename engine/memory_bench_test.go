package engine

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkDaemonMemory runs the real binary, sends b.N signed pushes that
// are all accepted (one rule supersedes its waiting job; another queues
// every tenth event behind a busy worker), and reports the daemon's
// resident memory. Run it with 100,000 events:
//
//	go test ./engine -run '^$' -bench DaemonMemory -benchtime 100000x
func BenchmarkDaemonMemory(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "hookd")
	if out, err := exec.Command("go", "build", "-o", bin, "hookd").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	rd := filepath.Join(dir, "rules")
	_ = os.MkdirAll(rd, 0o755)
	rulesYAML := benchSource + `
  - name: deploy
    source: github
    concurrency: latest
    actions: [{shell: {command: [sleep, "1000"]}}]
  - name: every-tenth
    source: github
    when: int(body.n) % 10 == 0
    concurrency: serial
    actions: [{shell: {command: [sleep, "1000"]}}]
`
	if err := os.WriteFile(filepath.Join(rd, "r.yaml"), []byte(rulesYAML), 0o644); err != nil {
		b.Fatal(err)
	}
	cfg := filepath.Join(dir, "hookd.yaml")
	if err := os.WriteFile(cfg, []byte("max_queued: 1000000\nshutdown_timeout: 1s\nlog: {level: warn}\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve", "-config", cfg, "-rules", rd, "-data", filepath.Join(dir, "data"), "-listen", addr)
	cmd.Env = append(os.Environ(), "TEST_SECRET="+secret)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() }()
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if i > 500 {
			b.Fatal("daemon did not listen")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Sample the anonymous memory (the heap and stacks, what hookd itself
	// holds) while the load runs; file-backed pages of the database's mmap
	// are the kernel's page cache, shared and reclaimable.
	stop := make(chan struct{})
	peakAnon := make(chan float64)
	go func() {
		peak := 0.0
		for {
			select {
			case <-stop:
				peakAnon <- peak
				return
			case <-time.After(20 * time.Millisecond):
				if m := procStatus(b, cmd.Process.Pid); m["RssAnon:"] > peak {
					peak = m["RssAnon:"]
				}
			}
		}
	}()
	drive(b, "http://"+addr+"/hooks/github", signedPushes(b.N), 200)
	close(stop)
	time.Sleep(500 * time.Millisecond)
	m := procStatus(b, cmd.Process.Pid)
	b.ReportMetric(m["VmRSS:"], "rss-MiB")
	b.ReportMetric(m["RssAnon:"], "anon-MiB")
	b.ReportMetric(m["VmHWM:"], "peak-rss-MiB")
	b.ReportMetric(<-peakAnon, "peak-anon-MiB")
}

// procStatus reads the memory lines of /proc/PID/status, in MiB.
func procStatus(b *testing.B, pid int) map[string]float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	m := map[string]float64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 3 && fields[2] == "kB" {
			kb, _ := strconv.ParseFloat(fields[1], 64)
			m[fields[0]] = kb / 1024
		}
	}
	return m
}
