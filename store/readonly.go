package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// ErrLocked is returned by OpenReadOnly when a daemon holds the database.
var ErrLocked = errors.New("the database is locked by a running hookd")

// OpenReadOnly opens the database in dir for reading, for the admin
// commands while no daemon runs. It waits at most timeout for the lock,
// which a running daemon holds exclusively: then it returns ErrLocked.
// Writes to the store fail.
func OpenReadOnly(dir string, timeout time.Duration) (*Store, error) {
	path := filepath.Join(dir, "hookd.db")
	db, err := openBolt(path, &bolt.Options{ReadOnly: true, Timeout: timeout, NoStatistics: true})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("%s: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, openErr(path, err)
	}
	s := &Store{db: db, writes: make(chan *write), wake: make(chan struct{}, 1), done: make(chan struct{})}
	if s.marks, err = readMarks(dir, db); err != nil {
		db.Close()
		return nil, err
	}
	s.filter.Store(newFilter()) // never built: Seen reads the database
	go s.commitLoop()
	return s, nil
}

// readMarks returns, by job, the marks of a stopped daemon's start log
// that its database lacks: a daemon that died (kill -9, OOM, a panic)
// leaves the marks of jobs it started or ended since its last commit
// there, and Open applies them when it starts again. A reader shows the
// jobs as Open will record them (marked), rather than as queued while the
// job had started. A daemon that stopped cleanly left no log: no marks.
func readMarks(dir string, db *bolt.DB) (map[uint64][]startMark, error) {
	b, err := os.ReadFile(filepath.Join(dir, startLogName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var last uint64 // marks written after it are from a later history (a restored backup)
	_ = db.View(func(tx *bolt.Tx) error { last = uint64(tx.ID()); return nil })
	var marks map[uint64][]startMark
	for _, m := range decodeStartLog(b) {
		if m.tx > last {
			continue
		}
		if marks == nil {
			marks = map[uint64][]startMark{}
		}
		marks[m.job] = append(marks[m.job], m)
	}
	return marks, nil
}

// marked gives j the marks a stopped daemon's start log holds for it.
func (s *Store) marked(j *Job) *Job {
	for _, m := range s.marks[j.ID] {
		markJob(j, m)
	}
	return j
}
