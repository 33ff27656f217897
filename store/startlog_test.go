package store

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// acceptOne records an event with one queued job and returns the job.
func acceptOne(t *testing.T, s *Store, delivery string) *Job {
	t.Helper()
	ev := &Event{ID: s.NewEventID(), Source: "s", DeliveryID: delivery, Body: []byte("x"), Status: "accepted"}
	j := &Job{ID: s.NewJobID(), EventID: ev.ID, Rule: "r", State: Queued}
	ev.Jobs = []uint64{j.ID}
	if _, err := s.Accept(ev, []*Job{j}); err != nil {
		t.Fatal(err)
	}
	return j
}

// openStore opens a store in dir, closed at the test's end.
func openStore(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// holdCommitter keeps the committer inside a transaction, so that no write
// queued after it reaches the database, until release is called.
func holdCommitter(s *Store) (release func()) {
	held, done := make(chan struct{}), make(chan struct{})
	s.send(&write{fn: func(*bolt.Tx) error { close(held); <-done; return nil }, now: true})
	<-held
	return func() { close(done) }
}

// crashCopy copies the database and its start log as a crash of this
// process would leave them: what was committed, and what was written.
func crashCopy(t *testing.T, from string) string {
	t.Helper()
	to := t.TempDir()
	for _, name := range []string{"hookd.db", startLogName} {
		b, err := os.ReadFile(filepath.Join(from, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return to
}

// A running mark saved with Started is found after a crash that came
// before its commit: the job is running, with the attempt that started.
func TestStartedMarkOutlivesACrashBeforeItsCommit(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	j := acceptOne(t, s, "d-1")
	done := acceptOne(t, s, "d-2")
	ended := acceptOne(t, s, "d-3")
	start := time.Now().UTC().Truncate(time.Microsecond)
	done.State, done.Attempts = Done, []Attempt{{N: 1, Start: start, End: start}}
	if err := s.SaveJob(done, Wait, nil); err != nil {
		t.Fatal(err)
	}

	release := holdCommitter(s) // nothing below reaches the database
	j.State, j.Attempts = Running, []Attempt{{N: 1, Start: start}}
	if err := s.SaveJob(j, Started, nil); err != nil {
		t.Fatal(err)
	}
	// A job that started and ended while nothing was committed.
	ended.State, ended.Attempts = Running, []Attempt{{N: 1, Start: start}}
	if err := s.SaveJob(ended, Started, nil); err != nil {
		t.Fatal(err)
	}
	end := start.Add(time.Millisecond)
	ended.State, ended.Attempts[0].End = Done, end
	ended.Attempts[0].Steps = []Step{{Action: 1, Kind: "shell"}}
	if err := s.SaveJob(ended, Later, nil); err != nil {
		t.Fatal(err)
	}
	// A mark for a job whose record is further on is left alone.
	if _, _, err := s.starts.write(startMark{job: done.ID, attempt: 1, kind: markStarted, start: start}); err != nil {
		t.Fatal(err)
	}
	copied := crashCopy(t, dir)
	release()

	c := openStore(t, copied)
	got, err := c.Job(j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != Running || len(got.Attempts) != 1 || got.Attempts[0].N != 1 || !got.Attempts[0].Start.Equal(start) {
		t.Fatalf("after the crash the job is %s with attempts %+v; want running, attempt 1 started %v", got.State, got.Attempts, start)
	}
	if open, _ := c.OpenJobs(); len(open) != 1 || open[0].ID != j.ID {
		t.Fatalf("open jobs after the crash: %v; want job %d", open, j.ID)
	}
	if got, _ := c.Job(done.ID); got.State != Done {
		t.Fatalf("a done job came back %s", got.State)
	}
	got, _ = c.Job(ended.ID)
	if got.State != Done || len(got.Attempts) != 1 || !got.Attempts[0].End.Equal(end) {
		t.Fatalf("a job done before the crash is %s with attempts %+v; want done, attempt 1 ended %v", got.State, got.Attempts, end)
	}
	// The slots were emptied once applied: a second start applies nothing.
	b, _ := os.ReadFile(filepath.Join(copied, startLogName))
	for _, x := range b {
		if x != 0 {
			t.Fatal("the start log still holds marks after they were applied")
		}
	}
}

// Slots are freed as their marks are committed, so a long run of starts
// never falls back to waiting; torn slots are ignored.
func TestStartLogSlotsAreReused(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	j := acceptOne(t, s, "d-1")
	for n := 1; n <= 3*startSlots; n++ {
		j.State = Running
		j.Attempts = append(j.Attempts, Attempt{N: n, Start: time.Now().UTC()})
		if err := s.SaveJob(j, Started, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	if free := len(s.starts.free); free != startSlots || len(s.starts.held) != 0 {
		t.Fatalf("%d slots free after every mark was committed, want %d", free, startSlots)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	torn := startMark{job: j.ID, attempt: 3*startSlots + 1, kind: markStarted, start: time.Now()}.encode()
	torn[3] ^= 1
	if err := os.WriteFile(filepath.Join(dir, startLogName), torn, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, _ := s.Job(j.ID); len(got.Attempts) != 3*startSlots {
		t.Fatalf("a torn slot was applied: %d attempts", len(got.Attempts))
	}
}

// A database restored from a backup in place of the one the start log was
// written for takes none of its marks: they belong to a later history.
func TestStartLogIgnoredByARestoredBackup(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	j := acceptOne(t, s, "d-1")
	backup, err := os.ReadFile(filepath.Join(dir, "hookd.db"))
	if err != nil {
		t.Fatal(err)
	}
	acceptOne(t, s, "d-2") // the history goes on after the backup
	release := holdCommitter(s)
	j.State, j.Attempts = Running, []Attempt{{N: 1, Start: time.Now().UTC()}}
	if err := s.SaveJob(j, Started, nil); err != nil {
		t.Fatal(err)
	}
	copied := crashCopy(t, dir)
	release()
	if err := os.WriteFile(filepath.Join(copied, "hookd.db"), backup, 0o600); err != nil {
		t.Fatal(err)
	}
	c := openStore(t, copied)
	if got, _ := c.Job(j.ID); got.State != Queued || len(got.Attempts) != 0 {
		t.Fatalf("the restored backup's job is %s with %d attempts; want queued, none", got.State, len(got.Attempts))
	}
}

// A running mark saved after the store closed is refused and taken back:
// nothing starts, and the next start counts no attempt.
func TestStartedMarkRefusedOnceClosed(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	j := acceptOne(t, s, "d-1")
	release := holdCommitter(s)
	s.closing.Do(func() { // as Close does, while the committer is busy
		s.closeMu.Lock()
		s.closed.Store(true)
		close(s.writes)
		s.closeMu.Unlock()
	})
	j.State, j.Attempts = Running, []Attempt{{N: 1, Start: time.Now().UTC()}}
	if err := s.SaveJob(j, Started, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("a running mark on a closed store: %v, want ErrClosed", err)
	}
	copied := crashCopy(t, dir)
	release()
	c := openStore(t, copied)
	if got, _ := c.Job(j.ID); got.State != Queued || len(got.Attempts) != 0 {
		t.Fatalf("after the restart the job is %s with %d attempts; want queued, none", got.State, len(got.Attempts))
	}
}

// A process that dies leaves its start log, whose modification time its
// heartbeat keeps within beatEvery of the present: the next Open reads it,
// and Claim gives it to each job that was running, as the last moment its
// process was known alive (where its interrupted attempt ends, rather than
// at the restart). A clean close leaves no log, and no such time.
func TestClaimTellsWhenTheDeadProcessWasLastAlive(t *testing.T) {
	old := beatEvery
	beatEvery = 20 * time.Millisecond
	defer func() { beatEvery = old }()
	dir := t.TempDir()
	s := openStore(t, dir)
	log := filepath.Join(dir, startLogName)
	before, err := os.Stat(log)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if after, err := os.Stat(log); err != nil || !after.ModTime().After(before.ModTime()) {
		t.Fatalf("the heartbeat did not touch the log: %v then %v (%v)", before.ModTime(), after.ModTime(), err)
	}

	j := acceptOne(t, s, "d-1")
	j.State, j.Attempts = Running, []Attempt{{N: 1, Start: time.Now().UTC()}}
	if err := s.SaveJob(j, Wait, nil); err != nil {
		t.Fatal(err)
	}
	copied := crashCopy(t, dir)
	alive := time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond)
	if err := os.Chtimes(filepath.Join(copied, startLogName), alive, alive); err != nil {
		t.Fatal(err)
	}
	c := openStore(t, copied)
	jobs, err := c.Claim()
	if err != nil || len(jobs) != 1 || jobs[0].State != Running || !jobs[0].HolderRenewed.Equal(alive) {
		t.Fatalf("claimed %+v (%v); want the running job, its process alive last at %v", jobs, err, alive)
	}

	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	r := openStore(t, copied)
	if jobs, _ := r.Claim(); len(jobs) != 1 || !jobs[0].HolderRenewed.IsZero() {
		t.Fatalf("after a clean close, claimed %+v; want no time of death", jobs)
	}
}

// A recovered job killed again before its record was committed: the
// database still has its earlier attempt running, the start log the next
// one. The earlier attempt is recorded interrupted, as the recovery that
// was lost had recorded it, so every rerun has its interrupted attempt.
func TestRecoveryLostInASecondCrashStillRecordsTheInterruption(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	j := acceptOne(t, s, "d-1")
	start := time.Now().UTC().Truncate(time.Microsecond)
	j.State, j.Attempts = Running, []Attempt{{N: 1, Start: start}}
	if err := s.SaveJob(j, Wait, nil); err != nil {
		t.Fatal(err)
	}
	release := holdCommitter(s) // the recovery's record never reaches the database
	again := start.Add(time.Second)
	j.Attempts[0].End, j.Attempts[0].Error = start.Add(time.Millisecond), Interrupted
	j.Attempts = append(j.Attempts, Attempt{N: 2, Start: again})
	if err := s.SaveJob(j, Started, nil); err != nil {
		t.Fatal(err)
	}
	copied := crashCopy(t, dir)
	release()

	got, err := openStore(t, copied).Job(j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != Running || len(got.Attempts) != 2 {
		t.Fatalf("after the crash: %s with %+v; want running with attempts 1 and 2", got.State, got.Attempts)
	}
	a := got.Attempts[0]
	if a.Error != Interrupted || a.End.IsZero() || a.End.After(again) || a.End.Before(a.Start) {
		t.Fatalf("attempt 1 after the crash: %+v; want it interrupted, ended by %v", a, again)
	}
	if b := got.Attempts[1]; b.N != 2 || !b.Start.Equal(again) || !b.End.IsZero() {
		t.Fatalf("attempt 2 after the crash: %+v", b)
	}
}
