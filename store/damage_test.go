package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// filledDB writes n accepted events of 1 KiB bodies into a database in a
// new directory, closes it and returns the directory.
func filledDB(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		ev := &Event{ID: s.NewEventID(), Source: "github", DeliveryID: fmt.Sprint("d", i), Event: "push",
			ReceivedAt: time.Now(), Body: bytes.Repeat([]byte{'x'}, 1024)}
		j := &Job{ID: s.NewJobID(), EventID: ev.ID, Rule: "r", State: Done}
		if _, err := s.Accept(ev, []*Job{j}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// leafPages returns the ids of the leaf pages of the database file b.
func leafPages(b []byte) []int {
	var ids []int
	for id := 2; (id+1)*4096 <= len(b); id++ {
		p := b[id*4096:]
		if binary.LittleEndian.Uint64(p) == uint64(id) && binary.LittleEndian.Uint16(p[8:]) == 0x02 {
			ids = append(ids, id)
		}
	}
	return ids
}

// scramble overwrites the pages ids of the file at path with random bytes.
func scramble(t *testing.T, path string, ids []int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewSource(1))
	for _, id := range ids {
		r.Read(b[id*4096 : (id+1)*4096])
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestDamagedFileIsAnError opens and reads damaged database files: every
// way in says the file is damaged, and none panics or faults (a fault on
// the memory map would end the test binary).
func TestDamagedFileIsAnError(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, path string)
		detail string
	}{
		{"leaf pages", func(t *testing.T, path string) {
			b, _ := os.ReadFile(path)
			scramble(t, path, leafPages(b))
		}, "page "},
		{"truncated", func(t *testing.T, path string) {
			if err := os.Truncate(path, 4*4096); err != nil {
				t.Fatal(err)
			}
		}, "truncated: the file has 16384 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filledDB(t, 300)
			path := filepath.Join(dir, "hookd.db")
			tc.damage(t, path)
			check := func(what string, err error) {
				t.Helper()
				if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), tc.detail) ||
					!strings.Contains(err.Error(), "restore it from a backup") {
					t.Errorf("%s: got %v, want the database is damaged (%s...)", what, err, tc.detail)
				}
			}
			_, err := Open(dir)
			check("Open", err)
			_, _, err = Compact(dir)
			check("Compact", err)
			if r, err := OpenReadOnly(dir, time.Second); err != nil {
				check("OpenReadOnly", err)
			} else {
				_, _, err = r.QueryEvents(EventQuery{Limit: 1000})
				check("QueryEvents", err)
				r.Close()
			}
			var out bytes.Buffer
			if _, err := BackupOffline(dir, &out, nil); err == nil {
				copyPath := filepath.Join(t.TempDir(), "copy.db")
				if err := os.WriteFile(copyPath, out.Bytes(), 0o600); err != nil {
					t.Fatal(err)
				}
				err = CheckCopy(copyPath, path)
				check("CheckCopy", err)
			} else {
				check("BackupOffline", err)
			}
		})
	}
}

// TestGuardRecoversFaults reads a memory-mapped file past its end, as
// bbolt reads a truncated database through its map: a SIGBUS, which guard
// makes an error, not the death of the process. (checkLength refuses a
// truncated file first; this is the net under it, for a page pointer that
// leads outside the file.)
func TestGuardRecoversFaults(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hookd.db")
	if err := os.WriteFile(path, make([]byte, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := syscall.Mmap(int(f.Fd()), 0, 2*4096, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(m)
	var got byte
	err = guard(path, func() error { got = m[4096]; return nil })
	if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "a page points outside the file") {
		t.Fatalf("got %v (read %d), want a damaged database", err, got)
	}
	t.Log(err)
}

// TestCheckCopyPassesSoundCopy: a sound copy is not refused.
func TestCheckCopyPassesSoundCopy(t *testing.T) {
	dir := filledDB(t, 50)
	path := filepath.Join(dir, "hookd.db")
	if err := CheckCopy(path, path); err != nil {
		t.Fatal(err)
	}
	if err := checkLength(path); err != nil {
		t.Fatal(err)
	}
}

// TestDamageMetWhileRunning damages pages under a running store (the file
// is mapped shared, so the store sees the new bytes): reads that meet
// them fail with ErrDamaged, and the rest of the store goes on.
func TestDamageMetWhileRunning(t *testing.T) {
	dir := filledDB(t, 300)
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	path := filepath.Join(dir, "hookd.db")
	b, _ := os.ReadFile(path)
	leaves := leafPages(b)
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	junk := bytes.Repeat([]byte{0xA5}, 4096)
	for _, id := range leaves[:len(leaves)/2] { // old events' pages, not the newest
		if _, err := f.WriteAt(junk, int64(id)*4096); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	_, _, err = s.QueryEvents(EventQuery{Limit: 1000, MaxScan: 1000})
	if !errors.Is(err, ErrDamaged) {
		t.Fatalf("QueryEvents over damaged pages: got %v, want ErrDamaged", err)
	}
	damagedReads := 0
	for id := uint64(1); id <= 300; id++ {
		if _, err := s.Event(id); errors.Is(err, ErrDamaged) {
			damagedReads++
		}
	}
	if damagedReads == 0 {
		t.Fatal("no read met the damaged pages")
	}
	// No write here: a write into a damaged tree may meet a damaged
	// freelist, which bbolt's commit can spin on (README, Backup and
	// restore); reads are what this test can hold to.
	t.Logf("%d of 300 reads met damaged pages", damagedReads)
}
