package store

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"hookd/internal/fsfull"
)

// TestUnwrittenIgnoredEventKept makes the disk refuse to grow the
// database (RLIMIT_FSIZE: writes past the limit fail with EFBIG, as on a
// full disk) while ignored events are recorded: each failure is told to
// the hook with the event id, the events stay findable and their
// deliveries duplicates, and once the disk has room they are written.
func TestUnwrittenIgnoredEventKept(t *testing.T) {
	defer func(d time.Duration) { unwrittenRetry = d }(unwrittenRetry)
	unwrittenRetry = 50 * time.Millisecond
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var mu sync.Mutex
	var told []RecordFailure
	s.SetRecordHook(func(f RecordFailure) { mu.Lock(); told = append(told, f); mu.Unlock() })

	restore := fsfull.Limit(t, 64<<10)

	const n = 40
	body := bytes.Repeat([]byte{'b'}, 8<<10) // 40 x 8 KiB: past 64 KiB
	ids := make([]uint64, n)
	for i := range n {
		ids[i] = s.NewEventID()
		ev := &Event{ID: ids[i], Source: "github", DeliveryID: fmt.Sprint("ign-", i), Event: "issues", ReceivedAt: time.Now(), Status: "ignored", Body: body}
		if _, err := s.Record(ev); err != nil {
			t.Fatal(err)
		}
	}
	s.Sync() // fails: the records are on their way or failed
	mu.Lock()
	kept := 0
	for _, f := range told {
		if f.Kept && f.Err != nil {
			kept++
		}
	}
	mu.Unlock()
	if kept == 0 {
		t.Fatal("no write failed: the limit did not bite")
	}
	for i, id := range ids {
		if ev, err := s.Event(id); err != nil || ev.DeliveryID != fmt.Sprint("ign-", i) {
			t.Fatalf("event %d while the disk is full: %v %v", id, ev, err)
		}
		if prev, err := s.Record(&Event{ID: s.NewEventID(), Source: "github", DeliveryID: fmt.Sprint("ign-", i)}); !errors.Is(err, ErrDuplicate) || prev != id {
			t.Fatalf("redelivery of %d while the disk is full: %d %v, want a duplicate", id, prev, err)
		}
	}
	restore()
	deadline := time.Now().Add(time.Minute)
	for {
		mu.Lock()
		written := 0
		for _, f := range told {
			if !f.Kept && f.Err == nil {
				written++
			}
			if !f.Kept && f.Err != nil {
				t.Fatalf("event %d lost: %v", f.EventID, f.Err)
			}
		}
		mu.Unlock()
		if written == kept {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d kept events written after the disk had room", written, kept)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := OpenReadOnly(dir, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, id := range ids {
		if _, err := r.Event(id); err != nil {
			t.Fatalf("event %d not on disk: %v", id, err)
		}
	}
}
