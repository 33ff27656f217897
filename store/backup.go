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
	db, err := openBolt(path, &bolt.Options{ReadOnly: true, Timeout: 500 * time.Millisecond})
	if errors.Is(err, berrors.ErrTimeout) {
		return 0, fmt.Errorf("%s: %w by a running hookd", path, ErrInUse)
	}
	if err != nil {
		return 0, openErr(path, err)
	}
	defer db.Close()
	return writeCopy(db, w, size)
}

// WriteAtomic creates path (mode 0600) with what fill writes, through a
// temporary file in the same directory that is synced and renamed over
// path only once complete: a failed or interrupted copy leaves no file.
// check, if not nil, is given the complete temporary file before the
// rename; its error leaves no file either.
func WriteAtomic(path string, fill func(io.Writer) error, check func(tmp string) error) error {
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
	if err == nil && check != nil {
		err = check(tmp)
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

// CheckCopy reads every page of the database copy at path: every key and
// value of every bucket, then bbolt's consistency check (Tx.Check). A
// damaged copy is a DamagedError naming src, the database it was copied
// from, whose damage the copy carries. The walk comes first and is guarded
// (see guard): Tx.Check runs in a goroutine of its own, where a fault on a
// page pointer that leads outside the file could not be recovered, so it
// only runs once every page it visits is known to be sound.
func CheckCopy(path, src string) error {
	db, err := openBolt(path, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		var d *DamagedError
		if errors.As(err, &d) || errors.Is(err, berrors.ErrInvalid) || errors.Is(err, berrors.ErrChecksum) {
			return &DamagedError{Path: src, Detail: detailOf(err)}
		}
		return fmt.Errorf("checking the copy: %w", err)
	}
	defer db.Close()
	err = guard(src, func() error {
		return db.View(func(tx *bolt.Tx) error {
			return tx.ForEach(func(name []byte, b *bolt.Bucket) error { return walk(b) })
		})
	})
	if err != nil {
		return err
	}
	return db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return &DamagedError{Path: src, Detail: strings.TrimPrefix(err.Error(), "panic: ")}
		}
		return nil
	})
}

// walk reads every key and value of b and of the buckets within it.
func walk(b *bolt.Bucket) error {
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if v == nil {
			if sub := b.Bucket(k); sub != nil {
				if err := walk(sub); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func detailOf(err error) string {
	var d *DamagedError
	if errors.As(err, &d) {
		return d.Detail
	}
	return err.Error()
}
