package systest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

const backupRules = `
sources:
  github:
    verify: {provider: github, secret: "${WEBHOOK_SECRET}"}
rules:
  - name: effect
    source: github
    when: body.ref == "refs/heads/main"
    actions:
      - shell: {command: ["true"]}
`

// checkBackup opens a backup, runs bbolt's consistency check on it, and
// reports the deliveries of want it does not hold.
func checkBackup(t *testing.T, path string, want []string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v, want 0600", fi.Mode().Perm())
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatalf("the backup does not open: %v", err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		if err := checkTx(tx); err != nil {
			return fmt.Errorf("bbolt check: %w", err)
		}
		dedup := tx.Bucket([]byte("dedup"))
		if dedup == nil {
			return errors.New("no dedup bucket")
		}
		missing := 0
		for _, id := range want {
			if dedup.Get([]byte("github\x00"+id)) == nil {
				missing++
				if missing <= 5 {
					t.Errorf("delivery %s was acknowledged before the backup started but is not in it", id)
				}
			}
		}
		if missing > 0 {
			return fmt.Errorf("%d of %d acknowledged deliveries missing", missing, len(want))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// checkTx runs bbolt's own consistency check.
func checkTx(tx *bolt.Tx) error {
	var errs []error
	for e := range tx.Check() {
		errs = append(errs, e)
	}
	return errors.Join(errs...)
}

// TestBackupUnderLoad: `hookd backup` taken while clients send, accepted
// and ignored deliveries alike, gives a file that opens, passes bbolt's
// check and holds every delivery acknowledged before it started; with the
// daemon stopped it copies the file directly.
func TestBackupUnderLoad(t *testing.T) {
	s := newSite(t, backupRules, "")
	d := s.start()
	var (
		mu    sync.Mutex
		acked []string
		stop  atomic.Bool
		wg    sync.WaitGroup
		errs  atomic.Int64
	)
	for c := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				id := fmt.Sprintf("c%d-%d", c, i)
				ref := "refs/heads/main"
				if i%2 == 1 {
					ref = "refs/heads/dev" // ignored: written without waiting for the disk
				}
				r, err := s.post(id, []byte(`{"ref":"`+ref+`","pad":"`+strings.Repeat("x", 2000)+`"}`))
				if err != nil || r.code != 200 {
					errs.Add(1)
					continue
				}
				mu.Lock()
				acked = append(acked, id)
				mu.Unlock()
			}
		}()
	}
	time.Sleep(time.Second)
	mu.Lock()
	before := append([]string(nil), acked...)
	mu.Unlock()
	file := filepath.Join(t.TempDir(), "hookd-backup.db")
	out, errOut, code := s.cli(t, "", "backup", file)
	mu.Lock()
	during := len(acked) - len(before)
	mu.Unlock()
	time.Sleep(300 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	if code != 0 || !strings.Contains(out, "bytes (online") {
		t.Fatalf("hookd backup: exit %d\n%s%s", code, out, errOut)
	}
	t.Logf("%d deliveries acknowledged before the backup, %d while it ran; %s", len(before), during, strings.TrimSpace(out))
	if len(before) < 50 || errs.Load() > 0 {
		t.Fatalf("load: %d acknowledged before the backup, %d failed requests", len(before), errs.Load())
	}
	checkBackup(t, file, before)
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(file), ".*tmp*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}

	// Stopped: the file is copied directly, and holds everything.
	d.stop(t)
	mu.Lock()
	all := append([]string(nil), acked...)
	mu.Unlock()
	out, errOut, code = s.cli(t, "", "backup", file)
	if code != 0 || !strings.Contains(out, "daemon stopped") {
		t.Fatalf("hookd backup, daemon stopped: exit %d\n%s%s", code, out, errOut)
	}
	checkBackup(t, file, all)

	// A file that cannot be written: one line, exit 1, nothing left.
	_, errOut, code = s.cli(t, "", "backup", filepath.Join(s.dir, "no", "such", "dir", "b.db"))
	if code != 1 || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "does not exist: create it first") {
		t.Errorf("backup into a missing directory: exit %d, stderr %q", code, errOut)
	}
}
