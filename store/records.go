package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Event is one received webhook as recorded. Secrets are redacted from
// Headers and Query before it gets here.
type Event struct {
	ID         uint64            `json:"id"`
	Source     string            `json:"source"`
	DeliveryID string            `json:"delivery_id"`
	Event      string            `json:"event"`
	ReceivedAt time.Time         `json:"received_at"`
	Method     string            `json:"method"`
	Path       string            `json:"path"`
	RemoteAddr string            `json:"remote_addr"`
	Headers    map[string]string `json:"headers"`
	Query      map[string]string `json:"query,omitempty"`
	Body       []byte            `json:"body"`
	Status     string            `json:"status"` // accepted or ignored
	Rules      []string          `json:"rules,omitempty"`
	Jobs       []uint64          `json:"jobs,omitempty"`
	Errors     []string          `json:"errors,omitempty"`    // when/id/event failures
	Rematched  []string          `json:"rematched,omitempty"` // rules queued by replay -rematch
	// Redeliveries that ran the event's rules again (redelivery: retry_failed).
	Redeliveries []Redelivery `json:"redeliveries,omitempty"`
	// Answer is what the sender was answered when a respond block set it
	// (nil: the status JSON), for a duplicate to get the same.
	Answer *Answer `json:"answer,omitempty"`
	// Kept, when set, says that the event is an ignored one of which only
	// part was kept (its source's keep_ignored); nil: all of it.
	Kept *Kept `json:"kept,omitempty"`
}

// Kept is what an ignored event kept of its request, when not all of it.
type Kept struct {
	// What is headers (headers, query, remote address and BodySHA256) or
	// delivery_id (nothing of the request but the event's outline:
	// source, delivery id, event type, time, method, path).
	What string `json:"what"`
	// BodyBytes is the length of the body that was not kept.
	BodyBytes int `json:"body_bytes"`
	// BodySHA256 is the SHA-256 of that body, in hex (headers only).
	BodySHA256 string `json:"body_sha256,omitempty"`
}

// Answer is an HTTP answer as sent: secrets already redacted, a body of at
// most 64 KiB (text: bytes that are not UTF-8 are stored as U+FFFD).
type Answer struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    string            `json:"body,omitempty"`
}

// Job states.
const (
	Queued     = "queued"
	Running    = "running"
	Retrying   = "retrying"
	Done       = "done"
	Failed     = "failed"
	Superseded = "superseded"
	Cancelled  = "cancelled"
)

// Final reports whether a job in this state will not run again by itself.
func Final(state string) bool {
	return state == Done || state == Failed || state == Superseded || state == Cancelled
}

// Job is one matched rule of one event.
type Job struct {
	ID        uint64    `json:"id"`
	EventID   uint64    `json:"event_id"`
	Rule      string    `json:"rule"`
	Lane      string    `json:"lane,omitempty"` // serial/latest lane; "" runs in parallel
	Latest    bool      `json:"latest,omitempty"`
	State     string    `json:"state"`
	Attempts  []Attempt `json:"attempts,omitempty"`
	NextAt    time.Time `json:"next_at,omitzero"`
	Error     string    `json:"error,omitempty"`
	OnFailure []Step    `json:"on_failure,omitempty"`
	// Failing says that the last attempt failed for good and the rule's
	// on_failure has not ended: the job stays running (open) until it has,
	// and a job recovered so runs its on_failure, not its actions.
	Failing bool      `json:"failing,omitempty"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`

	// Hold asks Accept to write the job held by the writing process, which
	// means to run it itself (a request waits for its output): no other
	// live process claims it. Not stored. A Shared backend's writer then
	// settles it with TakeHeld; any other backend's jobs are all their
	// writer's anyway.
	Hold bool `json:"-"`
	// HolderRenewed is, for a running job claimed from a process that
	// died or whose lease ran out, the last moment that process is known
	// to have been alive (its last lease renewal; on bbolt, the start
	// log's last heartbeat), where its interrupted attempt ends. Zero when
	// unknown (no such holder, or a lease given back). Not stored.
	HolderRenewed time.Time `json:"-"`
}

// Attempt is one run of a job's actions.
type Attempt struct {
	N     int       `json:"n"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end,omitzero"`
	Steps []Step    `json:"steps,omitempty"`
	Error string    `json:"error,omitempty"`
	// Node is the node that ran the attempt, on a store that several nodes
	// share (empty on a single node's).
	Node string `json:"node,omitempty"`
}

// Step is one action within an attempt.
type Step struct {
	Action   int           `json:"action"`
	Kind     string        `json:"kind"`
	Start    time.Time     `json:"start"`
	Duration time.Duration `json:"duration"`
	Exit     *int          `json:"exit,omitempty"`
	Status   int           `json:"status,omitempty"`
	Output   string        `json:"output,omitempty"`
	Error    string        `json:"error,omitempty"`
}

// Accept records an event and its jobs in one transaction and waits until
// it is durable. If the delivery is already recorded it returns the earlier
// event's id and ErrDuplicate, and writes nothing.
func (s *Store) Accept(ev *Event, jobs []*Job) (uint64, error) {
	rec := encode(dedupKey(ev.Source, ev.DeliveryID), ev, jobs)
	defer rec.release()
	var dupOf uint64
	err := s.update(func(tx *bolt.Tx) error {
		dupOf = 0
		if v := s.recorded(tx, rec.dedup); v != nil {
			dupOf = btoi(v)
			return nil
		}
		return s.write(tx, rec)
	})
	if err != nil {
		return 0, err
	}
	if dupOf != 0 {
		return dupOf, ErrDuplicate
	}
	return ev.ID, nil
}

// Record writes an event with no jobs without waiting for the disk: an
// ignored event owes its sender nothing. A delivery already recorded, or
// still on its way to the disk, is not written again: Record returns the
// earlier event's id and ErrDuplicate.
func (s *Store) Record(ev *Event) (uint64, error) {
	dk := dedupKey(ev.Source, ev.DeliveryID)
	if prev := s.seen(dk); prev != 0 {
		return prev, ErrDuplicate
	}
	key := string(dk)
	if prev, loaded := s.inflight.LoadOrStore(key, ev.ID); loaded {
		return prev.(uint64), ErrDuplicate // a copy is on its way to the disk
	}
	// seen asks the filter before the in-flight keys, so the key goes in
	// now, not only when the committer writes it. (A copy arriving in
	// between is caught by LoadOrStore above.)
	s.remember(dk)
	s.pending.Add(1)
	r := &recordOp{s: s, rec: encode(dk, ev, nil), key: key}
	r.w.op = r
	if !s.send(&r.w) {
		r.done(ErrClosed)
	}
	return ev.ID, nil
}

// recordOp writes an ignored event unless its delivery got recorded first.
type recordOp struct {
	w   write
	s   *Store
	rec *encoded
	key string
	// held: its write failed and it is kept (see unwritten); queued: a
	// write of it again is on its way. Both under unwritten.mu.
	held, queued bool
}

func (r *recordOp) id() uint64 { return btoi(r.rec.id) }

func (r *recordOp) apply(tx *bolt.Tx) error {
	if r.s.recorded(tx, r.rec.dedup) != nil {
		return nil
	}
	return r.s.write(tx, r.rec)
}

// done settles the write: a failed one is kept for a later write while
// memory allows (see unwritten), so that the id intake answered stays
// findable and its delivery a duplicate.
func (r *recordOp) done(err error) {
	s := r.s
	if !r.held {
		s.pending.Add(-1)
	}
	if err != nil && s.failed(r, err) {
		return
	}
	if !s.settled(r, err) {
		return
	}
	s.inflight.Delete(r.key)
	r.rec.release()
}

// encoded is an event and its jobs marshalled by the request's goroutine, so
// the committer only copies bytes.
type encoded struct {
	dedup, id, event []byte
	jobIDs, jobs     [][]byte
	buf              *[]byte // event's pooled buffer, if it has one
}

// release returns the event's buffer to the pool: only once the write has
// committed or failed for good.
func (rec *encoded) release() {
	if rec.buf != nil && cap(rec.event) <= maxPooledBuf {
		*rec.buf = rec.event[:0]
		eventBufs.Put(rec.buf)
	}
	rec.buf, rec.event = nil, nil
}

// eventBufs recycles encoding buffers once their transaction has committed
// (bbolt reads a value until then): a busy intake otherwise allocates one
// per request.
var eventBufs = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledBuf = 16 << 10

func encode(dk []byte, ev *Event, jobs []*Job) *encoded {
	rec := &encoded{dedup: dk, id: itob(ev.ID)}
	need := 512 + packRoom(len(ev.Body)) + 64*len(ev.Headers)
	if need <= maxPooledBuf {
		rec.buf = eventBufs.Get().(*[]byte)
		rec.event = appendEvent((*rec.buf)[:0], ev)
	} else {
		rec.event = appendEvent(make([]byte, 0, need), ev)
	}
	for _, j := range jobs {
		data := appendJob(nil, j)
		rec.jobIDs = append(rec.jobIDs, itob(j.ID))
		rec.jobs = append(rec.jobs, data)
	}
	return rec
}

func (s *Store) write(tx *bolt.Tx, rec *encoded) error {
	s.remember(rec.dedup)
	if err := tx.Bucket(bDedup).Put(rec.dedup, rec.id); err != nil {
		return err
	}
	if err := appending(tx, bEvents).Put(rec.id, rec.event); err != nil {
		return err
	}
	if len(rec.jobIDs) == 0 {
		return nil
	}
	jb, open := appending(tx, bJobs), appending(tx, bOpen)
	for i, id := range rec.jobIDs {
		if err := jb.Put(id, rec.jobs[i]); err != nil {
			return err
		}
		if err := open.Put(id, nil); err != nil {
			return err
		}
	}
	return nil
}

// surelyNew reports whether the filter is sure dk was never recorded.
func (s *Store) surelyNew(dk []byte) bool {
	f := s.filter.Load()
	return f.ready.Load() && !f.mayContain(dk)
}

// recorded returns the event id stored under dk in tx, or nil.
func (s *Store) recorded(tx *bolt.Tx, dk []byte) []byte {
	if s.surelyNew(dk) {
		return nil
	}
	return tx.Bucket(bDedup).Get(dk)
}

// Seen returns the event id recorded for (source, delivery id), or 0.
func (s *Store) Seen(source, delivery string) uint64 {
	return s.seen(dedupKey(source, delivery))
}

func (s *Store) seen(dk []byte) uint64 {
	if s.surelyNew(dk) { // in-flight keys are in the filter too (Record)
		return 0
	}
	if v, ok := s.inflight.Load(string(dk)); ok {
		return v.(uint64)
	}
	var id uint64
	_ = s.view(func(tx *bolt.Tx) error {
		id = btoi(tx.Bucket(bDedup).Get(dk))
		return nil
	})
	return id
}

// Event reads one event, one that intake has only queued included.
func (s *Store) Event(id uint64) (*Event, error) {
	var ev *Event
	read := func(tx *bolt.Tx) (err error) { ev, err = getEvent(tx, id); return err }
	err := s.view(read)
	if errors.Is(err, ErrNotFound) && s.fresh() {
		err = s.view(read)
	}
	if errors.Is(err, ErrNotFound) {
		if ev := s.unwrittenEvent(id); ev != nil {
			return ev, nil
		}
		return nil, notFound(id)
	}
	return ev, err
}

// fresh makes what intake has answered readable: while ignored events are
// queued (Record), it waits for their commit and reports true. Intake never
// waits for it; a reader waits for one commit, and only while some are
// queued, so reading an event already on disk costs nothing more.
func (s *Store) fresh() bool {
	if s.pending.Load() == 0 {
		return false
	}
	_ = s.Sync() // failing or closed: read what is on disk
	return true
}

// Job reads one job.
func (s *Store) Job(id uint64) (*Job, error) {
	var j *Job
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		j, err = getJob(tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.marked(j), nil
}

func getJob(tx *bolt.Tx, id uint64) (*Job, error) {
	v := tx.Bucket(bJobs).Get(itob(id))
	if v == nil {
		return nil, fmt.Errorf("no job %d", id)
	}
	j := new(Job)
	return j, json.Unmarshal(v, j)
}
