package store

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A backup restored in place of the database after more events were
// accepted does not hand out their event and job ids again: the
// sequences go on after the highest ids the data directory has seen.
func TestRestoredBackupDoesNotReuseIDs(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	accept := func(s *Store, n int) (ev, job uint64) {
		for i := range n {
			e := &Event{ID: s.NewEventID(), Source: "github", DeliveryID: fmt.Sprint(time.Now().UnixNano(), i), Event: "push", ReceivedAt: time.Now()}
			j := &Job{ID: s.NewJobID(), EventID: e.ID, Rule: "r", State: Done}
			if _, err := s.Accept(e, []*Job{j}); err != nil {
				t.Fatal(err)
			}
			ev, job = e.ID, j.ID
		}
		return ev, job
	}
	accept(s, 3)
	var copy bytes.Buffer
	if _, err := s.Backup(&copy, nil); err != nil {
		t.Fatal(err)
	}
	lastEv, lastJob := accept(s, 2)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "hookd.db"), copy.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ev, job := accept(s, 1)
	if ev != lastEv+1 || job != lastJob+1 {
		t.Fatalf("after the restore: event %d, job %d; want %d and %d", ev, job, lastEv+1, lastJob+1)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// A torn or foreign file counts for nothing: the database's ids rule.
	if err := os.WriteFile(filepath.Join(dir, idsName), []byte("garbage that is long enough"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if ev2, _ := accept(s, 1); ev2 != ev+1 {
		t.Fatalf("with a torn ids file: event %d, want %d", ev2, ev+1)
	}
}
