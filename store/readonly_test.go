package store

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A reader of a stopped daemon's database (hookd show, hookd events) sees
// the jobs as the daemon will record them when it starts: the start log's
// marks that the database lacks are applied to what it reads, without
// writing anything.
func TestReadOnlySeesTheStartLog(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	running := acceptOne(t, s, "d-1")
	ended := acceptOne(t, s, "d-2")
	queued := acceptOne(t, s, "d-3")
	backup := copyFile(t, filepath.Join(dir, "hookd.db")) // before the marks' history
	acceptOne(t, s, "d-4")

	start := time.Now().UTC().Truncate(time.Microsecond)
	end := start.Add(time.Second)
	release := holdCommitter(s) // the marks reach the log only
	running.State, running.Attempts = Running, []Attempt{{N: 1, Start: start}}
	if err := s.SaveJob(running, Started, nil); err != nil {
		t.Fatal(err)
	}
	ended.State, ended.Attempts = Running, []Attempt{{N: 1, Start: start}}
	if err := s.SaveJob(ended, Started, nil); err != nil {
		t.Fatal(err)
	}
	ended.State, ended.Attempts[0].End = Done, end
	if err := s.SaveJob(ended, Later, nil); err != nil {
		t.Fatal(err)
	}
	crashed := crashCopy(t, dir)
	release()

	restored := crashCopy(t, dir) // the same log, an older database
	if err := os.WriteFile(filepath.Join(restored, "hookd.db"), backup, 0o600); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name              string
		dir               string
		running, ended    string
		runningEventState string
	}{
		{"crashed", crashed, Running, Done, "running"},
		{"older database restored", restored, Queued, Queued, "queued"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := OpenReadOnly(c.dir, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			for _, want := range []struct {
				job   *Job
				state string
			}{{running, c.running}, {ended, c.ended}, {queued, Queued}} {
				got, err := r.Job(want.job.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.State != want.state {
					t.Errorf("job %d reads %s; want %s", got.ID, got.State, want.state)
				}
				_, jobs, err := r.EventJobs(want.job.EventID)
				if err != nil {
					t.Fatal(err)
				}
				if jobs[0].State != want.state {
					t.Errorf("event %d's job reads %s; want %s", want.job.EventID, jobs[0].State, want.state)
				}
			}
			if got, _ := r.Job(ended.ID); c.ended == Done && (len(got.Attempts) != 1 || !got.Attempts[0].End.Equal(end)) {
				t.Errorf("the ended job's attempts read %+v; want one that ended %v", got.Attempts, end)
			}
			list, _, err := r.QueryEvents(EventQuery{Status: c.runningEventState})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, b := range list {
				found = found || b.ID == running.EventID
			}
			if !found {
				t.Errorf("listing status %s: %+v; want event %d among them", c.runningEventState, list, running.EventID)
			}
		})
	}

	// Reading wrote nothing: the daemon still applies the log at start.
	s2 := openStore(t, crashed)
	if got, _ := s2.Job(running.ID); got.State != Running {
		t.Fatalf("after the readers, the daemon's start reads job %d %s; want running", running.ID, got.State)
	}
}

// A daemon that stopped cleanly leaves no start log; reading needs none.
func TestReadOnlyWithoutAStartLog(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	j := acceptOne(t, s, "d-1")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, startLogName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a clean close left the start log: %v", err)
	}
	r, err := OpenReadOnly(dir, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, err := r.Job(j.ID); err != nil || got.State != Queued {
		t.Fatalf("job reads %+v, %v; want queued", got, err)
	}
	if _, err := os.Stat(filepath.Join(dir, startLogName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("reading made a start log: %v", err)
	}
}

func copyFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
