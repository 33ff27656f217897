package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"runtime/debug"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// ErrDamaged is matched (errors.Is) by every error that says the database
// file is damaged: bbolt met a page that is not what the file's structure
// says it is, or one that lies beyond the end of the file.
var ErrDamaged = errors.New("the database is damaged")

// DamagedError is the one-line report of a damaged database file.
type DamagedError struct {
	Path   string
	Detail string // what was found, e.g. "page 2: ..."
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("the database %s is damaged (%s): restore it from a backup (see README \"Backup and restore\")", e.Path, e.Detail)
}

// Is makes errors.Is(err, ErrDamaged) true.
func (e *DamagedError) Is(target error) bool { return target == ErrDamaged }

// guard runs fn, which reads or writes the database file at path, and turns
// what bbolt does on a damaged file into a DamagedError: its page checks
// panic, and a page pointer that leads outside the memory-mapped file
// faults (SIGSEGV, or SIGBUS past the end of a truncated file), which
// SetPanicOnFault makes a panic of this goroutine instead of the death of
// the process. bbolt's View and Update roll their transaction back on a
// panic, so the database stays usable for the pages that are sound.
func guard(path string, fn func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			err = damaged(path, r)
		}
	}()
	return fn()
}

// damaged describes what a recovered panic says of the file.
func damaged(path string, r any) *DamagedError {
	detail := fmt.Sprint(r)
	if _, ok := r.(interface{ Addr() uintptr }); ok {
		detail = "a page points outside the file: " + detail
	}
	detail = strings.TrimPrefix(detail, "assertion failed: ")
	if p, ok := strings.CutPrefix(detail, "Page expected to be: "); ok {
		// bbolt: "Page expected to be: 2, but self identifies as 7118..."
		if n, rest, ok := strings.Cut(p, ", but self identifies as "); ok {
			detail = "page " + n + " holds something else (it says it is page " + rest + ")"
		}
	}
	if len(detail) > 200 {
		detail = detail[:200] + "…"
	}
	return &DamagedError{Path: path, Detail: detail}
}

// view is db.View for the store's readers, guarded (see guard).
func (s *Store) view(fn func(*bolt.Tx) error) error {
	return guard(s.db.Path(), func() error { return s.db.View(fn) })
}

// updateDB is db.Update for the committer, guarded (see guard). bbolt's
// rollback of a write transaction reads the freelist page: when that page
// is the damaged one, the rollback panics before it releases bbolt's
// writer lock, and every later write (and Close) would wait for ever. So
// the transaction is rolled back here once more, guarded; if that fails
// too, the store is broken: later writes fail at once with the damage,
// and Close leaves the file to the process's exit.
func (s *Store) updateDB(fn func(*bolt.Tx) error) error {
	if err := s.broken.Load(); err != nil {
		return *err
	}
	path := s.db.Path()
	var tx *bolt.Tx
	err := guard(path, func() error {
		var err error
		if tx, err = s.db.Begin(true); err != nil {
			return err
		}
		if err := fn(tx); err != nil {
			_ = tx.Rollback()
			return err
		}
		return tx.Commit()
	})
	if errors.Is(err, ErrDamaged) && tx != nil {
		if guard(path, func() error { _ = tx.Rollback(); return nil }) != nil {
			s.broken.Store(&err)
		}
	}
	return err
}

// openBolt opens the database file at path with bbolt after checking that
// the file is as long as its newest meta page says, guarded: a damaged
// freelist page panics inside bolt.Open.
func openBolt(path string, opts *bolt.Options) (db *bolt.DB, err error) {
	if err := checkLength(path); err != nil {
		return nil, err
	}
	err = guard(path, func() error {
		var err error
		db, err = bolt.Open(path, 0o600, opts)
		return err
	})
	return db, err
}

// bbolt's meta page: a 16-byte page header, then magic, version, page
// size, flags (4 bytes each), the root bucket (16), the freelist's page,
// the high-water mark (the number of pages in use), the transaction id
// and an FNV-64a checksum of what precedes it (8 bytes each).
const (
	metaOff      = 16
	metaLen      = 64
	boltMagic    = 0xED0CDAED
	metaChecksum = 56
)

// checkLength reports a file shorter than its newest valid meta page's
// high-water mark: a truncated copy, whose missing pages bbolt would read
// through the memory map as a SIGBUS. A file without a valid meta page is
// left to bbolt, which says it is not a database.
func checkLength(path string) error {
	f, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil // bbolt creates it
		}
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return err
	}
	var best struct{ txid, pages, pageSize uint64 }
	for _, off := range []int64{0, 4096, 8192, 16384, 32768, 65536} {
		var b [metaOff + metaLen]byte
		if _, err := f.ReadAt(b[:], off); err != nil && err != io.EOF {
			return err
		}
		m := b[metaOff:]
		if binary.LittleEndian.Uint32(m[0:]) != boltMagic {
			continue
		}
		h := fnv.New64a()
		h.Write(m[:metaChecksum])
		if h.Sum64() != binary.LittleEndian.Uint64(m[metaChecksum:]) {
			continue
		}
		ps := uint64(binary.LittleEndian.Uint32(m[8:]))
		if off != 0 && uint64(off) != ps { // meta 1 is the page after meta 0
			continue
		}
		if txid := binary.LittleEndian.Uint64(m[48:]); best.pageSize == 0 || txid > best.txid {
			best.txid, best.pages, best.pageSize = txid, binary.LittleEndian.Uint64(m[40:]), ps
		}
	}
	if need := best.pages * best.pageSize; need > uint64(fi.Size()) {
		return &DamagedError{Path: path, Detail: fmt.Sprintf("truncated: the file has %d bytes, its pages need %d", fi.Size(), need)}
	}
	return nil
}

// openErr says that opening path failed, unless err already says all.
func openErr(path string, err error) error {
	if errors.Is(err, ErrDamaged) {
		return err
	}
	return fmt.Errorf("opening %s: %w", path, err)
}
