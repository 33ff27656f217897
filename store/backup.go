package store

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Backup writes a consistent copy of the database to w from one read
// transaction, while writes go on. Every write queued before it is made
// durable first, so the copy holds every event acknowledged before the
// call. size, if not nil, is told the copy's length before it is written.
func (s *Store) Backup(w io.Writer, size func(int64)) (int64, error) {
	if err := s.Sync(); err != nil {
		return 0, err
	}
	return writeCopy(s.db, w, size)
}

func writeCopy(db *bolt.DB, w io.Writer, size func(int64)) (int64, error) {
	var n int64
	err := db.View(func(tx *bolt.Tx) error {
		if size != nil {
			size(tx.Size())
		}
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}

// BackupOffline copies the database of dir, which no daemon holds, opened
// read-only. It returns ErrInUse when a daemon holds it.
func BackupOffline(dir string, w io.Writer, size func(int64)) (int64, error) {
	path := filepath.Join(dir, "hookd.db")
	if _, err := os.Stat(path); err != nil {
		return 0, err
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 500 * time.Millisecond})
	if errors.Is(err, berrors.ErrTimeout) {
		return 0, fmt.Errorf("%s: %w by a running hookd", path, ErrInUse)
	}
	if err != nil {
		return 0, fmt.Errorf("opening %s: %w", path, err)
	}
	defer db.Close()
	return writeCopy(db, w, size)
}

// WriteAtomic creates path (mode 0600) with what fill writes, through a
// temporary file in the same directory that is synced and renamed over
// path only once complete: a failed or interrupted copy leaves no file.
func WriteAtomic(path string, fill func(io.Writer) error) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return &fs.PathError{Op: "create", Path: path, Err: pe.Err} // not the temporary name
		}
		return err
	}
	tmp := f.Name()
	err = f.Chmod(0o600)
	if err == nil {
		err = fill(f)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return &tempHidden{err: err, msg: strings.ReplaceAll(err.Error(), tmp, path)}
	}
	if d, err := os.Open(dir); err == nil { // make the rename durable
		err = d.Sync()
		d.Close()
		return err
	}
	return nil
}

// tempHidden is an error of WriteAtomic that names the file asked for, not
// the temporary one it wrote.
type tempHidden struct {
	err error
	msg string
}

func (e *tempHidden) Error() string { return e.msg }
func (e *tempHidden) Unwrap() error { return e.err }
