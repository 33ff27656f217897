package cli

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hookd/store"
)

// damagedDir returns a stopped hookd's configuration whose database, of
// 300 events, was damaged by damage (given the file's bytes, it returns
// them damaged).
func damagedDir(t *testing.T, damage func(b []byte) []byte) (cfg, dir string) {
	t.Helper()
	dir = t.TempDir()
	data := filepath.Join(dir, "data")
	s, err := store.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		ev := &store.Event{ID: s.NewEventID(), Source: "github", DeliveryID: fmt.Sprint("d", i), Event: "push",
			ReceivedAt: time.Now(), Body: bytes.Repeat([]byte{'x'}, 1024)}
		if _, err := s.Accept(ev, []*store.Job{{ID: s.NewJobID(), EventID: ev.ID, Rule: "work", State: store.Done}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(data, "hookd.db")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, damage(b), 0o600); err != nil {
		t.Fatal(err)
	}
	rulesDir := filepath.Join(dir, "rules")
	os.Mkdir(rulesDir, 0o700)
	os.WriteFile(filepath.Join(rulesDir, "r.yaml"), []byte(crashSource+"rules:\n  - {name: work, source: github, actions: [{shell: {script: 'true'}}]}\n"), 0o600)
	cfg = filepath.Join(dir, "hookd.yaml")
	os.WriteFile(cfg, []byte("listen: 127.0.0.1:0\nrules_dir: rules\ndata_dir: data\nui: {listen: off}\n"), 0o600)
	return cfg, dir
}

// randomize overwrites the 4 KiB pages ids of b with random bytes.
func randomize(b []byte, ids ...uint64) []byte {
	r := rand.New(rand.NewSource(int64(len(ids))))
	for _, id := range ids {
		r.Read(b[id*4096 : (id+1)*4096])
	}
	return b
}

// freelistPage is the freelist's page id in the newest meta page of b.
func freelistPage(b []byte) uint64 {
	m0, m1 := b[16:], b[4096+16:]
	if binary.LittleEndian.Uint64(m1[48:]) > binary.LittleEndian.Uint64(m0[48:]) {
		m0 = m1
	}
	return binary.LittleEndian.Uint64(m0[32:])
}

// leaves are the ids of b's leaf pages.
func leaves(b []byte) (ids []uint64) {
	for id := uint64(2); (id+1)*4096 <= uint64(len(b)); id++ {
		p := b[id*4096:]
		if binary.LittleEndian.Uint64(p) == id && binary.LittleEndian.Uint16(p[8:]) == 0x02 {
			ids = append(ids, id)
		}
	}
	return ids
}

// TestDamagedDatabase runs the real binary's commands that open or read
// the database on damaged files: each says in one line that the database
// is damaged and to restore a backup, and exits non-zero, with no panic or
// stack trace; backup writes no copy of a damaged file.
func TestDamagedDatabase(t *testing.T) {
	bin := buildHookd(t)
	damages := []struct {
		name   string
		damage func(b []byte) []byte
		says   string
		reads  bool // events and show read what they need: the freelist only matters to writers
	}{
		{"freelist page overwritten", func(b []byte) []byte { return randomize(b, freelistPage(b)) }, "(invalid freelist page: ", true},
		{"leaf pages overwritten", func(b []byte) []byte { return randomize(b, leaves(b)...) }, "(page ", false},
		{"truncated", func(b []byte) []byte { return b[:4*4096] }, "(truncated: the file has 16384 bytes", false},
	}
	for _, d := range damages {
		for _, args := range [][]string{{"serve"}, {"events"}, {"show", "1"}, {"compact"}, {"backup", "BACKUP"}} {
			t.Run(d.name+"/"+args[0], func(t *testing.T) {
				cfg, dir := damagedDir(t, d.damage)
				backup := filepath.Join(dir, "backup.db")
				argv := append([]string{}, args...)
				if argv[len(argv)-1] == "BACKUP" {
					argv[len(argv)-1] = backup
				}
				cmd := exec.Command(bin, append(argv, "-config", cfg)...)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				done := make(chan error, 1)
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				go func() { done <- cmd.Wait() }()
				select {
				case <-done:
				case <-time.After(hangGuard):
					cmd.Process.Kill()
					t.Fatal("hookd did not exit")
				}
				var lines []string
				for _, l := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
					if !strings.HasPrefix(l, "hookd is not running: reading ") {
						lines = append(lines, l)
					}
				}
				if d.reads && (args[0] == "events" || args[0] == "show") {
					if code := cmd.ProcessState.ExitCode(); code != 0 {
						t.Fatalf("exit %d, stderr:\n%s\nwant exit 0: the pages read are sound", code, stderr.String())
					}
					return
				}
				want := "the database " + filepath.Join(dir, "data", "hookd.db") + " is damaged " + d.says
				if code := cmd.ProcessState.ExitCode(); code != 1 || len(lines) != 1 || !strings.Contains(lines[0], want) ||
					!strings.Contains(lines[0], `restore it from a backup (see README "Backup and restore")`) {
					t.Fatalf("exit %d, stderr:\n%s\nwant exit 1 and one line with %q", code, stderr.String(), want)
				}
				if _, err := os.Stat(backup); err == nil {
					t.Errorf("a backup of the damaged database was written")
				}
			})
		}
	}
}
