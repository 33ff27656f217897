package store

import (
	"errors"
	"fmt"
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
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: timeout, NoStatistics: true})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("%s: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	s := &Store{db: db, writes: make(chan *write), wake: make(chan struct{}, 1), done: make(chan struct{})}
	s.filter.Store(newFilter()) // never built: Seen reads the database
	go s.commitLoop()
	return s, nil
}
