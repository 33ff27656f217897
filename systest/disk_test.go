package systest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"hookd/store"
)

const diskRules = `
sources:
  github:
    verify: {provider: github, secret: "${WEBHOOK_SECRET}"}
rules:
  - name: effect
    source: github
    actions:
      - shell:
          env: {OUT: "${OUT}"}
          script: 'printf "%s\n" "$HOOKD_DELIVERY_ID" >> "$OUT"'
`

// mountTmpfs mounts a small tmpfs on dir for the test's lifetime.
func mountTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("disk trouble tests mount a tmpfs: run as root (e.g. in CI's container) to run them")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (no CAP_SYS_ADMIN?): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
}

func remount(t *testing.T, dir, mode string) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", "remount,"+mode, dir).CombinedOutput(); err != nil {
		t.Fatalf("remount %s %s: %v: %s", dir, mode, err, out)
	}
}

// fill writes a file until the filesystem has no space left.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return
			}
			t.Fatalf("filling %s: %v", path, err)
		}
	}
}

// checkDB runs bbolt's own consistency check on the database.
func checkDB(t *testing.T, dataDir string) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dataDir, "hookd.db"), 0o600, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("bbolt open: %v", err)
	}
	defer db.Close()
	if err := db.View(checkTx); err != nil {
		t.Fatalf("bbolt check: %v", err)
	}
}

// TestDiskFull: with the data dir's filesystem full, intake answers 503
// with Retry-After and never 200 accepted for an event it could not store;
// it recovers when space returns; the database stays consistent.
func TestDiskFull(t *testing.T) {
	s := newSite(t, diskRules, "workers: 2\n")
	data := filepath.Join(s.dir, "data")
	mountTmpfs(t, data, "2m")
	d := s.start()

	accepted := map[string]bool{}
	post := func(id string, body []byte) answer {
		t.Helper()
		a, err := s.postTo("/hooks/github", githubHeaders(id, body), body)
		if err != nil {
			t.Fatalf("delivery %s: %v", id, err)
		}
		if a.code == 200 && a.Status == "accepted" {
			accepted[id] = true
		}
		return a
	}
	for i := range 3 {
		if a := post(fmt.Sprintf("before-%d", i), []byte(`{"n":1}`)); a.code != 200 || a.Status != "accepted" {
			t.Fatalf("before filling: %d %+v", a.code, a.reply)
		}
	}

	filler := filepath.Join(data, "filler")
	fill(t, filler)
	// Bodies large enough that the database must grow soon.
	big := bytes.Repeat([]byte("x"), 16<<10)
	var refused []string
	for i := 0; i < 64 && len(refused) < 8; i++ {
		id := fmt.Sprintf("full-%d", i)
		body := []byte(fmt.Sprintf(`{"n":%d,"pad":"%s"}`, i, big))
		a := post(id, body)
		switch {
		case a.code == 503:
			if a.header.Get("Retry-After") == "" {
				t.Errorf("503 without Retry-After for %s", id)
			}
			refused = append(refused, id)
		case a.code == 200 && a.Status == "accepted":
			// Stored in free pages the file already had: fine, checked below.
		default:
			t.Fatalf("disk full, delivery %s: %d %+v", id, a.code, a.reply)
		}
	}
	if len(refused) == 0 {
		t.Fatal("disk full and every delivery accepted: intake never noticed the store could not write")
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	// Space is back: the refused deliveries, sent again as a provider
	// would, are accepted and run.
	for _, id := range refused {
		n := 0
		fmt.Sscanf(strings.TrimPrefix(id, "full-"), "%d", &n)
		body := []byte(fmt.Sprintf(`{"n":%d,"pad":"%s"}`, n, big))
		if a := post(id, body); a.code != 200 || a.Status != "accepted" {
			t.Fatalf("after freeing space, %s: %d %+v", id, a.code, a.reply)
		}
	}
	waitRan(t, s, accepted)
	d.stop(t)
	checkStored(t, data, accepted)
	checkDB(t, data)
	t.Logf("disk full: %d accepted, %d refused with 503 and accepted after space returned", len(accepted), len(refused))
}

// TestReadOnlyDisk: Linux refuses to remount a filesystem read-only while
// a file on it is open for writing (EBUSY), and hookd holds its database
// open, so a read-only data dir is met at start: hookd must fail fast
// with one clear line, then start normally once the disk is writable.
func TestReadOnlyDisk(t *testing.T) {
	s := newSite(t, diskRules, "")
	data := filepath.Join(s.dir, "data")
	mountTmpfs(t, data, "4m")
	d := s.start()
	if a, err := s.postTo("/hooks/github", githubHeaders("rw-1", []byte(`{}`)), []byte(`{}`)); err != nil || a.Status != "accepted" {
		t.Fatalf("first delivery: %v %+v", err, a)
	}
	d.stop(t)
	remount(t, data, "ro")
	code, out, took := serveOnce(t, s, filepath.Join(s.dir, "data"))
	if code == 0 {
		t.Fatalf("hookd serve on a read-only data dir exited 0:\n%s", out)
	}
	checkOneLine(t, out, took)
	remount(t, data, "rw")
	d = s.start()
	if a, err := s.postTo("/hooks/github", githubHeaders("rw-2", []byte(`{}`)), []byte(`{}`)); err != nil || a.Status != "accepted" {
		t.Fatalf("after remounting rw: %v %+v", err, a)
	}
	waitRan(t, s, map[string]bool{"rw-1": true, "rw-2": true})
	d.stop(t)
	checkDB(t, data)
}

// TestSecondServeLocked: a second hookd on the same data dir fails fast
// with one clear line saying the database is locked.
func TestSecondServeLocked(t *testing.T) {
	s := newSite(t, diskRules, "")
	d := s.start()
	code, out, took := serveOnce(t, s, filepath.Join(s.dir, "data"))
	if code == 0 {
		t.Fatalf("second hookd serve exited 0:\n%s", out)
	}
	checkOneLine(t, out, took)
	if !strings.Contains(out, "locked") {
		t.Errorf("second serve does not say the database is locked: %q", out)
	}
	// The first one is unharmed.
	if a, err := s.postTo("/hooks/github", githubHeaders("after-second", []byte(`{}`)), []byte(`{}`)); err != nil || a.Status != "accepted" {
		t.Fatalf("first daemon after a second start: %v %+v", err, a)
	}
	d.stop(t)
}

// serveOnce runs a second `hookd serve` on another port and waits for it
// to exit (killing it after a minute: a hang is a failure).
func serveOnce(t *testing.T, s *site, dataDir string) (code int, out string, took time.Duration) {
	t.Helper()
	var buf bytes.Buffer
	cmd := exec.Command(bin, "serve", "-config", filepath.Join(s.dir, "hookd.yaml"), "-rules", filepath.Join(s.dir, "rules"),
		"-data", dataDir, "-listen", "127.0.0.1:0")
	cmd.Env = s.env
	cmd.Stdout, cmd.Stderr = &buf, &buf
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("hookd serve still running after 60s: it hangs instead of failing:\n%s", buf.String())
	}
	return cmd.ProcessState.ExitCode(), buf.String(), time.Since(start)
}

func checkOneLine(t *testing.T, out string, took time.Duration) {
	t.Helper()
	if took > 15*time.Second {
		t.Errorf("took %v to fail: not fast", took)
	}
	if strings.Count(strings.TrimRight(out, "\n"), "\n") != 0 || strings.TrimSpace(out) == "" {
		t.Errorf("want one line on stderr, got:\n%s", out)
	}
	if strings.Contains(out, "goroutine ") || strings.Contains(out, "panic") {
		t.Errorf("stack trace on stderr:\n%s", out)
	}
	t.Logf("failed in %v with: %s", took.Round(time.Millisecond), strings.TrimSpace(out))
}

// waitRan waits until each delivery has a line in the side-effect file.
func waitRan(t *testing.T, s *site, want map[string]bool) {
	t.Helper()
	out := filepath.Join(s.dir, "ran")
	eventually(t, "every accepted delivery ran", 60*time.Second, func() bool {
		got := map[string]bool{}
		for _, l := range lines(t, out) {
			got[l] = true
		}
		for id := range want {
			if !got[id] {
				return false
			}
		}
		return true
	})
}

// checkStored opens the store after the daemon stopped: every delivery
// answered accepted must be recorded.
func checkStored(t *testing.T, dataDir string, accepted map[string]bool) {
	t.Helper()
	st, err := store.Open(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for id := range accepted {
		if st.Seen("github", id) == 0 {
			t.Errorf("delivery %s was answered accepted but is not in the store", id)
		}
	}
}
