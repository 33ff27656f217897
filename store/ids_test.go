package store

import (
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// Events and jobs have sequences of their own: three events with one job
// each are events 1, 2, 3 and jobs 1, 2, 3, and both continue after a
// restart.
func TestEventAndJobIDsHaveTheirOwnSequences(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		ev := &Event{ID: s.NewEventID(), Source: "s", DeliveryID: string(rune('a' + i)), Status: "accepted"}
		j := &Job{ID: s.NewJobID(), EventID: ev.ID, Rule: "r", State: Queued}
		if ev.ID != uint64(i) || j.ID != uint64(i) {
			t.Fatalf("event %d, job %d; want both %d", ev.ID, j.ID, i)
		}
		if _, err := s.Accept(ev, []*Job{j}); err != nil {
			t.Fatal(err)
		}
	}
	s = reopen(t, s, dir)
	defer s.Close()
	if ev, j := s.NewEventID(), s.NewJobID(); ev != 4 || j != 4 {
		t.Fatalf("after a restart: event %d, job %d; want 4 and 4", ev, j)
	}
}

// A database written when events and jobs shared one counter goes on from
// its highest ids, pruned ones included: no id is used twice.
func TestSharedCounterDatabaseContinues(t *testing.T) {
	for _, tc := range []struct {
		name            string
		events, jobs    []uint64
		pruned          uint64
		wantEv, wantJob uint64
	}{
		{"interleaved", []uint64{1, 3, 6}, []uint64{2, 4, 5, 7}, 0, 7, 8},
		{"newest pruned", []uint64{1}, []uint64{2}, 12, 13, 13},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			db, err := bolt.Open(filepath.Join(dir, "hookd.db"), 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = db.Update(func(tx *bolt.Tx) error {
				for name, ids := range map[string][]uint64{"events": tc.events, "jobs": tc.jobs} {
					b, err := tx.CreateBucket([]byte(name))
					if err != nil {
						return err
					}
					for _, id := range ids {
						if err := b.Put(itob(id), []byte("{}")); err != nil {
							return err
						}
					}
				}
				m, err := tx.CreateBucket(bMeta)
				if err != nil || tc.pruned == 0 {
					return err
				}
				return m.Put(kPruned, itob(tc.pruned))
			})
			if err != nil {
				t.Fatal(err)
			}
			db.Close()
			s, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if ev, j := s.NewEventID(), s.NewJobID(); ev != tc.wantEv || j != tc.wantJob {
				t.Fatalf("next event %d, job %d; want %d and %d", ev, j, tc.wantEv, tc.wantJob)
			}
		})
	}
}

// reopen closes s and opens dir again, as a restart does.
func reopen(t *testing.T, s *Store, dir string) *Store {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
