// Package store keeps hookd's events and jobs in one bbolt file. Writes go
// through a single committer goroutine that groups every write queued while
// the previous transaction was being fsynced into the next transaction, so
// concurrent requests share fsyncs instead of paying one each.
package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

var (
	bEvents = []byte("events") // event id -> Event
	bDedup  = []byte("dedup")  // source \x00 delivery id -> event id
	bJobs   = []byte("jobs")   // job id -> Job
	bOpen   = []byte("open")   // job id -> nothing: every job not yet final
	bMeta   = []byte("meta")   // kPruned, kPrunedJobs -> the highest ids pruned
	// kPruned is the highest event id pruned. Before events and jobs had
	// their own sequences it was the highest of either, so a database
	// without kPrunedJobs takes it for jobs too.
	kPruned     = []byte("pruned")
	kPrunedJobs = []byte("pruned_jobs")
)

// ErrDuplicate is returned by Accept when the (source, delivery id) is
// already recorded; the id of the earlier event comes with it.
var ErrDuplicate = errors.New("duplicate delivery")

// ErrClosed is returned for writes after Close.
var ErrClosed = errors.New("store is closed")

// ErrFull is a shared backend's refusal of new jobs beyond max_queued
// (counted across the cluster): intake answers 503, as for a full queue.
var ErrFull = errors.New("queue full")

// ErrNotHeld is a shared backend's refusal of a job's progress from a
// process that no longer holds it (its lease ran out and another process
// claimed it): the caller drops the job.
var ErrNotHeld = errors.New("job is held by another process")

// Store is an open database.
type Store struct {
	db      *bolt.DB
	writes  chan *write
	wake    chan struct{} // a waited write, or a long queue, awaits the committer
	done    chan struct{}
	closing sync.Once
	closeMu sync.RWMutex // held shared to send on writes, exclusively to close it
	closed  atomic.Bool
	nextID  atomic.Uint64 // events
	nextJob atomic.Uint64 // jobs: a sequence of their own, so events are 1, 2, 3
	claimed atomic.Bool   // Claim has handed out the unfinished jobs
	// lastOld is the highest job id allocated before this process: higher
	// ones are jobs this process wrote, which Claim leaves to it.
	lastOld uint64
	// lastAlive is when the process before this one was last known alive,
	// if it died (readStartLog); zero after a clean close.
	lastAlive time.Time
	// inflight holds the dedup keys of ignored events queued but not yet
	// committed, so that a quick redelivery is still seen as a duplicate.
	inflight sync.Map
	// pending counts those events, for readers that must see them (fresh).
	pending atomic.Int64
	// filter holds every dedup key on disk or being written (see filter);
	// next is the filter being built to replace it.
	filter   atomic.Pointer[filter]
	next     atomic.Pointer[filter]
	building sync.Mutex
	bg       sync.WaitGroup // filter builds
	// starts holds running marks until they are committed (see startLog);
	// nil for a read-only store.
	starts *startLog
	lastTx atomic.Uint64 // the newest committed transaction's id
	// marks are a stopped daemon's start log, by job, for a reader
	// (OpenReadOnly); nil otherwise.
	marks map[uint64][]startMark
	// broken is the damage that made bbolt lose its writer lock: no
	// write can run any more (see updateDB).
	broken atomic.Pointer[error]
	// ids keeps the id sequences' high-water mark (nil: read-only).
	ids *highWater
	// unwritten holds ignored events whose write failed (see unwritten).
	unwritten unwritten
	// commitHook, when set, observes each commit's duration (metrics).
	commitHook atomic.Pointer[func(time.Duration, int)]
}

type write struct {
	fn    func(tx *bolt.Tx) error
	errc  chan error  // nil: nobody waits
	after func(error) // runs once the write is committed or has failed
	op    op          // instead of fn and after: one allocation per write
	now   bool        // commit at once, as for a waited write
}

// urgent reports whether w must not be held back for a later commit.
func (w *write) urgent() bool { return w.errc != nil || w.now }

// op is a write that carries its own state, for the busiest path (an
// ignored event), where two closures per request show up in the profile.
type op interface {
	apply(tx *bolt.Tx) error
	done(err error)
}

func (w *write) apply(tx *bolt.Tx) error {
	if w.op != nil {
		return w.op.apply(tx)
	}
	return w.fn(tx)
}

// Open opens (creating if needed) the database in dir. A database locked by
// another process fails after a short wait with a clear error.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the data directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, "hookd.db")
	db, err := openBolt(path, &bolt.Options{Timeout: 2 * time.Second, FreelistType: bolt.FreelistMapType, NoStatistics: true})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("%s is locked by another process (is hookd already running on this data directory?)", path)
		}
		return nil, openErr(path, err)
	}
	s := &Store{db: db, writes: make(chan *write, 4096), wake: make(chan struct{}, 1), done: make(chan struct{})}
	var lastEvent, lastJob uint64
	f, marks, alive, err := readStartLog(dir)
	if err != nil {
		db.Close()
		return nil, err
	}
	err = guard(path, func() error {
		return db.Update(func(tx *bolt.Tx) error {
			for _, b := range [][]byte{bEvents, bDedup, bJobs, bOpen, bMeta} {
				if _, err := tx.CreateBucketIfNotExists(b); err != nil {
					return err
				}
			}
			lastEvent, lastJob = lastIDs(tx)
			s.lastTx.Store(uint64(tx.ID()))
			return applyStartMarks(tx, marks)
		})
	})
	if err != nil {
		f.Close()
		db.Close()
		return nil, openErr(path, err)
	}
	// The marks are durable in the database (db.Update fsyncs): the start
	// log can be emptied.
	if s.starts, err = newStartLog(f, &s.lastTx); err != nil {
		db.Close()
		return nil, err
	}
	s.lastAlive = alive
	go s.starts.beat(s.done, beatEvery)
	// Ids handed out after the copy a restored backup was made from are
	// not given again (see highWater).
	hwEvent, hwJob := readHighWater(dir)
	lastEvent, lastJob = max(lastEvent, hwEvent), max(lastJob, hwJob)
	if s.ids, err = openHighWater(dir); err == nil {
		err = s.ids.save(lastEvent, lastJob, true)
	}
	if err != nil {
		s.starts.close(false)
		close(s.done) // the start log's heartbeat
		db.Close()
		return nil, err
	}
	s.nextID.Store(lastEvent)
	s.nextJob.Store(lastJob)
	s.lastOld = lastJob
	s.filter.Store(newFilter()) // not ready: Seen reads until it is built
	go s.commitLoop()
	go s.retryUnwritten()
	go s.keepHighWater(beatEvery)
	s.rebuildFilter()
	return s, nil
}

// SetCommitHook sets a function told each commit's duration and size.
func (s *Store) SetCommitHook(f func(d time.Duration, writes int)) { s.commitHook.Store(&f) }

// NewEventID allocates an event id. Ids grow, so keys sort by age.
func (s *Store) NewEventID() uint64 { return s.nextID.Add(1) }

// NewJobID allocates a job id, from a sequence of its own.
func (s *Store) NewJobID() uint64 { return s.nextJob.Add(1) }

// NextEventID is NewEventID for the store contract: it never fails.
func (s *Store) NextEventID() (uint64, error) { return s.NewEventID(), nil }

// NextJobID is NewJobID for the store contract: it never fails.
func (s *Store) NextJobID() (uint64, error) { return s.NewJobID(), nil }

// LastID returns the newest event id allocated so far.
func (s *Store) LastID() uint64 { return s.nextID.Load() }

// LastJobID returns the newest job id allocated so far.
func (s *Store) LastJobID() uint64 { return s.nextJob.Load() }

// lastIDs returns the highest event and job ids ever used: ids are never
// reused, even when the newest were pruned. A database written when both
// shared one sequence continues from its highest ids, so nothing collides.
func lastIDs(tx *bolt.Tx) (event, job uint64) {
	last := func(b []byte) uint64 {
		k, _ := tx.Bucket(b).Cursor().Last()
		return btoi(k)
	}
	meta := tx.Bucket(bMeta)
	pruned, prunedJobs := btoi(meta.Get(kPruned)), meta.Get(kPrunedJobs)
	if prunedJobs == nil {
		prunedJobs = itob(pruned)
	}
	return max(last(bEvents), pruned), max(last(bJobs), btoi(prunedJobs))
}

// Close flushes queued writes and closes the database.
func (s *Store) Close() error {
	s.closing.Do(func() {
		s.closeMu.Lock()
		s.closed.Store(true)
		close(s.writes)
		s.closeMu.Unlock()
		select { // don't let a held-back batch delay Close
		case s.wake <- struct{}{}:
		default:
		}
	})
	<-s.done
	s.bg.Wait()
	s.dropUnwritten()
	if s.ids != nil {
		_ = s.ids.save(s.nextID.Load(), s.nextJob.Load(), true)
		s.ids.f.Close()
	}
	if s.broken.Load() != nil {
		// bbolt's writer lock is lost with a damaged freelist (see
		// updateDB): db.Close would wait for it for ever.
		if s.starts != nil {
			s.starts.close(false)
		}
		return *s.broken.Load()
	}
	err := s.db.Close()
	if s.starts != nil {
		// Every record is committed now (the committer drained the
		// queue), unless a commit failed.
		s.starts.close(err == nil)
	}
	return err
}

// asyncDelay bounds how long a write that nobody waits for may be held back
// to share the next commit. Under a flood of ignored events it sets the
// commit rate, so each fsync carries hundreds of them; a crash loses at most
// this much of their history, never an acknowledged event.
const asyncDelay = 25 * time.Millisecond

// maxBatch bounds one transaction, so a flood cannot make one huge commit.
const maxBatch = 1024

func (s *Store) commitLoop() {
	defer close(s.done)
	batch := make([]*write, 0, maxBatch)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for w := range s.writes {
		batch = append(batch[:0], w)
		waiting := w.urgent() // someone waits for this commit
		open, expired := true, false
		var deadline time.Time
	fill:
		for len(batch) < maxBatch {
			select {
			case w, ok := <-s.writes:
				if !ok {
					open = false
					break fill
				}
				batch = append(batch, w)
				waiting = waiting || w.urgent()
			default:
				if waiting || expired {
					break fill
				}
				// Only writes that nobody waits for (an ignored event, a
				// superseded job): let them ride with the next write that
				// someone does wait for, or go after asyncDelay, rather
				// than spending an fsync on them alone and making the next
				// waited write wait for that one. Meanwhile they queue
				// without waking the committer; a waited write wakes it.
				if deadline.IsZero() {
					deadline = time.Now().Add(asyncDelay)
				}
				timer.Reset(time.Until(deadline))
				select {
				case <-s.wake:
					timer.Stop()
				case <-timer.C:
					expired = true
				}
			}
		}
		s.commit(batch)
		if !open {
			return
		}
	}
}

// commit runs a batch in one transaction. If one write fails, the others are
// committed without it, so that one bad write cannot fail its neighbours.
func (s *Store) commit(batch []*write) {
	start := time.Now()
	failed := -1
	var txid uint64
	err := s.updateDB(func(tx *bolt.Tx) error {
		txid = uint64(tx.ID())
		for i, w := range batch {
			if err := w.apply(tx); err != nil {
				failed = i
				return err
			}
		}
		return nil
	})
	if err == nil {
		s.lastTx.Store(txid)
	}
	if hook := s.commitHook.Load(); hook != nil {
		(*hook)(time.Since(start), len(batch))
	}
	if err != nil && failed < 0 && len(batch) > 1 && errors.Is(err, ErrDamaged) {
		// A damaged page met by one write's path: the others may go
		// elsewhere in the file.
		for _, w := range batch {
			reply(w, s.updateDB(w.apply))
		}
		return
	}
	if err != nil && failed >= 0 {
		reply(batch[failed], err)
		rest := append(batch[:failed:failed], batch[failed+1:]...)
		for _, w := range rest {
			// Rare: run the others one transaction each.
			reply(w, s.updateDB(w.apply))
		}
		return
	}
	for _, w := range batch {
		reply(w, err)
	}
}

func reply(w *write, err error) {
	if w.op != nil {
		w.op.done(err)
	}
	if w.after != nil {
		w.after(err)
	}
	if w.errc != nil {
		w.errc <- err
	}
}

// send queues w for the committer, or reports that the store is closed.
// Senders hold closeMu shared, so Close cannot close the channel under them.
func (s *Store) send(w *write) bool {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed.Load() {
		return false
	}
	s.writes <- w
	if w.urgent() || len(s.writes) >= maxBatch {
		select { // wake the committer if it is holding writes back
		case s.wake <- struct{}{}:
		default:
		}
	}
	return true
}

// update queues fn for the committer and waits until it is durable.
func (s *Store) update(fn func(tx *bolt.Tx) error) error {
	w := &write{fn: fn, errc: make(chan error, 1)}
	if !s.send(w) {
		return ErrClosed
	}
	return <-w.errc
}

// Sync waits until every write queued before it is durable.
func (s *Store) Sync() error { return s.update(func(*bolt.Tx) error { return nil }) }

// appending returns a bucket whose keys are ids that only grow: new keys go
// to its end, so pages are filled (bbolt's default half-fills them on a
// split, which doubles the pages written and the file).
func appending(tx *bolt.Tx, name []byte) *bolt.Bucket {
	b := tx.Bucket(name)
	b.FillPercent = 0.95
	return b
}

func itob(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

func btoi(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func dedupKey(source, delivery string) []byte {
	k := make([]byte, 0, len(source)+1+len(delivery))
	k = append(k, source...)
	k = append(k, 0)
	return append(k, delivery...)
}
