package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The start log makes a job's running mark, and its end when it is done,
// outlive a crash of this process without an fsync in a worker's path
// (SaveJob with Started, and a done job not waited for). The record is
// written into one of a few fixed slots of a small file, a write(2) into
// the page cache, which survives the death of the process though not of
// the machine, and rides with the next commit to the database. When that
// commit lands, the slot is free again. Open applies what the database
// lacks: a job that started and whose mark was not committed is recorded
// as running, and the usual recovery runs it again with its interrupted
// attempt recorded; a job that was done is recorded done (its steps'
// details, which only the database keeps, are lost) and does not run again.
//
// A slot is 48 bytes, little-endian: job id (8), attempt number (4), kind
// (4: 1 started, 2 done), start and end in Unix nanoseconds (8 each), the
// id of the database's newest committed transaction when it was written
// (8), CRC-32C of those 40 bytes (4), zeros (4). A slot of zeros, or with
// a wrong checksum (a torn write on power loss), is empty. A slot written
// after the database's newest transaction belongs to a later history than
// the file's (a backup restored in its place) and is not applied.
const (
	startSlots    = 256
	startSlotSize = 48
	startLogName  = "hookd.starts"
)

// Interrupted is the error of an attempt whose process died while it ran.
const Interrupted = "interrupted: hookd stopped while this attempt ran"

const (
	markStarted = 1
	markDone    = 2
)

type startLog struct {
	f      *os.File
	lastTx *atomic.Uint64 // the store's newest committed transaction
	mu     sync.Mutex
	free   []int              // slots whose record is committed or that were never used
	held   map[uint64]slotUse // job id -> its slot, until the record is committed
}

// slotUse is a job's slot and the number of its latest record: only that
// record's commit frees the slot.
type slotUse struct {
	slot int
	gen  uint64
}

// startMark is one slot's content.
type startMark struct {
	job        uint64
	attempt    int
	kind       int
	start, end time.Time
	tx         uint64
}

// markOf returns what the start log keeps of a job saved with how: its
// running mark (Started) or its end (a done job), if anything.
func markOf(j *Job, how Save) (startMark, bool) {
	n := len(j.Attempts)
	if n == 0 || how == Wait {
		return startMark{}, false
	}
	a := j.Attempts[n-1]
	switch {
	case how == Started:
		return startMark{job: j.ID, attempt: a.N, kind: markStarted, start: a.Start}, true
	case j.State == Done:
		return startMark{job: j.ID, attempt: a.N, kind: markDone, start: a.Start, end: a.End}, true
	}
	return startMark{}, false
}

func (m startMark) encode() []byte {
	b := make([]byte, startSlotSize)
	binary.LittleEndian.PutUint64(b[0:], m.job)
	binary.LittleEndian.PutUint32(b[8:], uint32(m.attempt))
	binary.LittleEndian.PutUint32(b[12:], uint32(m.kind))
	binary.LittleEndian.PutUint64(b[16:], uint64(m.start.UnixNano()))
	binary.LittleEndian.PutUint64(b[24:], uint64(m.end.UnixNano()))
	binary.LittleEndian.PutUint64(b[32:], m.tx)
	binary.LittleEndian.PutUint32(b[40:], crc32.Checksum(b[:40], castagnoli))
	return b
}

func decodeStartMark(b []byte) (startMark, bool) {
	if binary.LittleEndian.Uint32(b[40:]) != crc32.Checksum(b[:40], castagnoli) {
		return startMark{}, false
	}
	m := startMark{
		job:     binary.LittleEndian.Uint64(b[0:]),
		attempt: int(binary.LittleEndian.Uint32(b[8:])),
		kind:    int(binary.LittleEndian.Uint32(b[12:])),
		start:   time.Unix(0, int64(binary.LittleEndian.Uint64(b[16:]))).UTC(),
		end:     time.Unix(0, int64(binary.LittleEndian.Uint64(b[24:]))).UTC(),
		tx:      binary.LittleEndian.Uint64(b[32:]),
	}
	return m, m.job != 0 && m.attempt > 0 && (m.kind == markStarted || m.kind == markDone)
}

// readStartLog opens the start log in dir and returns the marks it holds,
// and, when a process left it (it died: a clean close removes the log),
// the last time that process was known alive: the log's modification
// time, which its writes and its heartbeat (beat) keep within beatEvery of
// the present. The database's lock must be held.
func readStartLog(dir string) (*os.File, []startMark, time.Time, error) {
	path := filepath.Join(dir, startLogName)
	var alive time.Time
	if fi, err := os.Stat(path); err == nil {
		alive = fi.ModTime().UTC()
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	// Made by root (compact, on a stopped daemon's directory), the log
	// belongs to the database's owner, as the database does.
	if fi, err := os.Stat(filepath.Join(dir, "hookd.db")); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 {
			_ = f.Chown(int(st.Uid), int(st.Gid))
		}
	}
	buf := make([]byte, startSlots*startSlotSize)
	n, err := f.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		f.Close()
		return nil, nil, time.Time{}, fmt.Errorf("reading %s: %w", path, err)
	}
	return f, decodeStartLog(buf[:n]), alive, nil
}

// decodeStartLog returns the marks of the slots in b, a start log's
// content; empty and torn slots hold none.
func decodeStartLog(b []byte) []startMark {
	var marks []startMark
	for i := 0; i+startSlotSize <= len(b); i += startSlotSize {
		if m, ok := decodeStartMark(b[i : i+startSlotSize]); ok {
			marks = append(marks, m)
		}
	}
	return marks
}

// beatEvery is how often a live process touches its start log: after a
// crash, the log's modification time tells, to within it, when the
// process was last alive, where the attempts it left running end.
var beatEvery = 5 * time.Second

// beat touches the log every period until stop is closed.
func (l *startLog) beat(stop <-chan struct{}, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			_ = os.Chtimes(l.f.Name(), now, now)
		}
	}
}

// newStartLog empties the log f, whose marks the database now has
// durably, and returns it ready for writes; lastTx is kept up to date by
// the store's committer.
func newStartLog(f *os.File, lastTx *atomic.Uint64) (*startLog, error) {
	if _, err := f.WriteAt(make([]byte, startSlots*startSlotSize), 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("writing %s: %w", f.Name(), err)
	}
	if err := f.Sync(); err != nil { // the slots' blocks are allocated now
		f.Close()
		return nil, fmt.Errorf("writing %s: %w", f.Name(), err)
	}
	l := &startLog{f: f, lastTx: lastTx, free: make([]int, 0, startSlots), held: make(map[uint64]slotUse)}
	for i := startSlots - 1; i >= 0; i-- {
		l.free = append(l.free, i)
	}
	return l, nil
}

// applyStartMarks records each mark whose job's record does not have it
// yet. Attempts only grow, so a mark the database already has, or a job
// gone since (pruned), is left alone. tx must be the first write
// transaction since the database was opened: a mark written after the
// newest transaction it finds is from a later history.
func applyStartMarks(tx *bolt.Tx, marks []startMark) error {
	for _, m := range marks {
		if m.tx >= uint64(tx.ID()) || tx.Bucket(bJobs).Get(itob(m.job)) == nil {
			continue
		}
		j, err := getJob(tx, m.job)
		if err != nil {
			return err
		}
		if !markJob(j, m) {
			continue
		}
		id := itob(j.ID)
		if err := tx.Bucket(bJobs).Put(id, appendJob(nil, j)); err != nil {
			return err
		}
		if Final(j.State) {
			err = tx.Bucket(bOpen).Delete(id)
		} else {
			err = tx.Bucket(bOpen).Put(id, nil)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// markJob gives j what mark m records of it, and reports whether m was
// news: attempts only grow, so a mark j already has, or that an ended job
// has passed, changes nothing.
func markJob(j *Job, m startMark) bool {
	n := len(j.Attempts)
	if Final(j.State) || n > m.attempt || n == m.attempt && (m.kind == markStarted || j.State != Running) {
		return false
	}
	if n < m.attempt {
		// The attempt the database has running was interrupted: the
		// recovery that recorded so, with m's start, was not committed.
		if n > 0 && j.Attempts[n-1].End.IsZero() {
			a := &j.Attempts[n-1]
			a.End, a.Error = m.start, Interrupted
			if a.End.Before(a.Start) {
				a.End = a.Start
			}
		}
		j.Attempts = append(j.Attempts, Attempt{N: m.attempt, Start: m.start})
	}
	j.State, j.Updated, j.NextAt, j.Error = Running, m.start, time.Time{}, ""
	if m.kind == markDone {
		j.State, j.Updated = Done, m.end
		j.Attempts[len(j.Attempts)-1].End = m.end
	}
	return true
}

// write records m in its job's slot, or a free one, and returns the
// record's use; ok is false when every slot waits for its commit.
func (l *startLog) write(m startMark) (u slotUse, ok bool, err error) {
	if l == nil {
		return slotUse{}, false, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	u, held := l.held[m.job]
	if !held {
		if len(l.free) == 0 {
			return slotUse{}, false, nil
		}
		u.slot = l.free[len(l.free)-1]
	}
	m.tx = l.lastTx.Load()
	if _, err := l.f.WriteAt(m.encode(), int64(u.slot*startSlotSize)); err != nil {
		return slotUse{}, false, err
	}
	if !held {
		l.free = l.free[:len(l.free)-1]
	}
	u.gen++
	l.held[m.job] = u
	return u, true, nil
}

// release frees a job's slot once the record u wrote is committed, unless
// a newer record of the job took it since. A slot whose commit failed
// stays taken: its record is still the only one of the job's progress.
func (l *startLog) release(job uint64, u slotUse) {
	l.mu.Lock()
	if l.held[job] == u {
		delete(l.held, job)
		l.free = append(l.free, u.slot)
	}
	l.mu.Unlock()
}

// undo empties and frees the slot of a record u wrote that will not be
// committed, unless a newer record of the job took it since.
func (l *startLog) undo(job uint64, u slotUse) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held[job] != u {
		return
	}
	if _, err := l.f.WriteAt(make([]byte, startSlotSize), int64(u.slot*startSlotSize)); err != nil {
		return // the slot stays taken: its record may still be read
	}
	delete(l.held, job)
	l.free = append(l.free, u.slot)
}

// close closes the log, and removes it when every record is committed:
// a clean stop, or a command run on a stopped daemon's directory, leaves
// nothing behind.
func (l *startLog) close(committed bool) {
	l.mu.Lock()
	committed = committed && len(l.held) == 0
	l.mu.Unlock()
	if committed {
		_ = os.Remove(l.f.Name())
	}
	l.f.Close()
}
