package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// ErrInUse is returned by Compact while a daemon holds the database.
var ErrInUse = errors.New("database in use")

// Compact rewrites the database of dir into a new file and renames it over
// the old one: bbolt reuses freed pages but never shrinks its file, so this
// is how the space of pruned events goes back to the disk. It holds the
// database's lock throughout, and refuses if a daemon holds it.
func Compact(dir string) (before, after int64, err error) {
	path := filepath.Join(dir, "hookd.db")
	fi, err := os.Stat(path)
	if err != nil {
		return 0, 0, err
	}
	before = fi.Size()
	src, err := openBolt(path, &bolt.Options{Timeout: 500 * time.Millisecond})
	if errors.Is(err, berrors.ErrTimeout) {
		return 0, 0, fmt.Errorf("%s: %w by a running hookd; stop it first (systemctl stop hookd)", path, ErrInUse)
	}
	if err != nil {
		return 0, 0, openErr(path, err)
	}
	defer src.Close()
	tmp := path + ".compact"
	_ = os.Remove(tmp) // left by an interrupted compaction
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{FreelistType: bolt.FreelistMapType})
	if err != nil {
		return 0, 0, err
	}
	if err := guard(path, func() error { return bolt.Compact(dst, src, 64<<20) }); err != nil {
		dst.Close()
		os.Remove(tmp)
		if errors.Is(err, ErrDamaged) {
			return 0, 0, err
		}
		return 0, 0, fmt.Errorf("compacting %s: %w", path, err)
	}
	if err := dst.Close(); err != nil {
		os.Remove(tmp)
		return 0, 0, err
	}
	if err := keepOwner(tmp, fi); err != nil {
		os.Remove(tmp)
		return 0, 0, fmt.Errorf("compacting %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return 0, 0, err
	}
	if d, err := os.Open(dir); err == nil { // make the rename durable
		_ = d.Sync()
		d.Close()
	}
	if fi, err := os.Stat(path); err == nil {
		after = fi.Size()
	}
	return before, after, nil
}

// keepOwner gives path the mode, owner and group of the file fi describes,
// which it replaces: `hookd compact` run as root must not leave hookd a
// database it cannot open. Chown needs root unless nothing changes.
func keepOwner(path string, fi os.FileInfo) error {
	if err := os.Chmod(path, fi.Mode().Perm()); err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	now, err := os.Stat(path)
	if err != nil {
		return err
	}
	if cur, ok := now.Sys().(*syscall.Stat_t); ok && cur.Uid == st.Uid && cur.Gid == st.Gid {
		return nil
	}
	if err := os.Chown(path, int(st.Uid), int(st.Gid)); err != nil {
		return fmt.Errorf("cannot give the compacted file the owner of the database (uid %d, gid %d): %w; run hookd compact as that user or as root", st.Uid, st.Gid, err)
	}
	return nil
}
