package store

import (
	"context"
	"fmt"
	"io"
	"time"
)

// Backend is the store as the engine uses it, in the engine's own terms.
// The types it speaks (Event, Job, Attempt) live in this package; bbolt,
// the default, is Store (Open). The conformance suite in store/storetest
// holds every backend to this contract. It lives here rather than in the
// engine because the suite and every backend (in packages under store/)
// name it and its types, and nothing under store imports the engine.
//
// A backend may be shared by several processes (a database server): ids
// are unique across all of them, de-duplication holds across them, and a
// job is run by one process at a time (Claim). A backend bounds every call
// itself and returns an error rather than waiting without end.
type Backend interface {
	Reader

	// NextEventID and NextJobID allocate ids. Ids are unique across
	// processes, grow within one process, and are never reused, even after
	// a prune; event ids follow arrival across processes (listings sort by
	// them). An event's id is known before it is matched: rules may read
	// it. An error means the backend cannot be reached (intake answers
	// 503); bbolt never fails.
	NextEventID() (uint64, error)
	NextJobID() (uint64, error)

	// Accept records an event and its jobs atomically and returns once
	// they are durable: only then may intake answer accepted. If the
	// (source, delivery id) is already recorded it writes nothing and
	// returns the earlier event's id with ErrDuplicate; of copies arriving
	// at once, exactly one is accepted.
	Accept(ev *Event, jobs []*Job) (uint64, error)
	// Record records an event that matched nothing, de-duplicated as
	// Accept is, and may return before it is durable (it owes its sender
	// nothing). What it returned is readable at once (Event, ListEvents).
	Record(ev *Event) (uint64, error)
	// Seen returns the id of the event recorded for (source, delivery id),
	// or 0.
	Seen(source, delivery string) uint64
	// SetAnswer records what an event's sender was answered once that is
	// known after the event was recorded (respond.wait), without waiting
	// for durability; a failure goes to failed, if not nil. An event
	// pruned meanwhile is left alone.
	SetAnswer(eventID uint64, a *Answer, failed func(error))

	// Claim returns, oldest first, the jobs not final that no live process
	// holds, and holds them for this process from then on, as it holds
	// the jobs this process writes (Accept, AddJobs, Redeliver, Rematch):
	// a job is never handed to two live processes. A job that was running
	// when its holder died comes back as running, its last attempt without
	// an end: the caller records the interruption and runs it again (at
	// least once). A job waiting for a retry keeps its NextAt.
	Claim() ([]*Job, error)
	// SaveJob writes a job's progress: its state, attempts, and for a
	// retry its NextAt, which the store keeps until the job runs again.
	// how says whether the caller waits for durability (see Save); a write
	// not waited for reports its failure to failed, if not nil. A final
	// job is never claimed again.
	SaveJob(j *Job, how Save, failed func(error)) error

	// Retryable returns the event with id when it has jobs and all of them
	// ended failed or cancelled: what a redelivery may run again. It is a
	// quick look; Redeliver decides.
	Retryable(id uint64) (*Event, bool)
	// Redeliver adds jobs to an event, durably, for a redelivery received
	// at, if all of the event's jobs ended failed or cancelled; it reports
	// whether it did. Of copies arriving at once, exactly one adds them.
	Redeliver(eventID uint64, jobs []*Job, at time.Time) (bool, error)
	// AddJobs adds new jobs to an existing event, durably (replay).
	AddJobs(eventID uint64, jobs []*Job) error
	// Rematch adds, durably and atomically, jobs for rules an event now
	// matches: the rules join the event's rules and its rematched list.
	// Unless force, a rule already rematched for the event is left out (of
	// rematches racing, one queues it). It returns the jobs written.
	Rematch(eventID uint64, jobs []*Job, force bool) ([]*Job, error)

	// Prune deletes the events received before cutoff whose jobs are all
	// final and were last updated before cutoff, with their jobs and
	// de-duplication keys (a redelivery after that is a new event). A
	// failed event (as Summarize says: a rule's newest job failed) goes
	// by failedCutoff instead, and is kept when failedCutoff is zero. batch
	// bounds one transaction. It returns the number of events deleted.
	Prune(cutoff, failedCutoff time.Time, batch int) (int, error)

	// Sync returns once every write made before it is durable.
	Sync() error
	// Close makes queued writes durable and releases the store; writes
	// after it fail with ErrClosed.
	Close() error
}

// Shared is a backend that several processes share (a database server).
// Jobs it stores are held by no process until one claims them, so that a
// free worker anywhere runs the oldest runnable job: the engine does not
// queue the jobs it writes, it claims them back (ClaimRunnable), woken by
// Wake; but for a job written with Hold, which its writer keeps (TakeHeld).
// Claim (of Backend) returns nothing on a Shared backend.
//
// A process holds what it claimed under a lease made at each open, which
// it renews while it lives; jobs whose holder's lease ran out are runnable
// again. Leases belong to a process, never to a node name.
type Shared interface {
	Backend
	// ClaimRunnable holds for this process at most n jobs that may run
	// now, in arrival order: not final, NextAt zero or past, held by no
	// live process, and, for a job with a Lane, the oldest job of its lane
	// that is not final, while no job of the lane is held. So a lane runs
	// one job at a time across all processes, in arrival order. A job
	// whose holder died while it ran comes back as running, its last
	// attempt without an end (the caller records the interruption).
	// rules, unless nil, limits the claim to jobs of those rules: a
	// process whose configuration lacks a rule (a rolling deploy of the
	// rules) leaves its jobs to the processes that have it. An empty, not
	// nil, rules claims nothing.
	ClaimRunnable(n int, rules []string) ([]*Job, error)
	// TakeHeld settles jobs this process wrote held (Job.Hold, Accept): it
	// returns those this process runs now, and gives the others back to
	// every process. A job without a Lane is returned at once. A laned job
	// is returned only if, under the lane's claim, it is the oldest job of
	// its lane not final and no other job of the lane is held by a live
	// process, as ClaimRunnable would; else it waits its turn in the lane
	// (a latest lane keeps the newest waiting job, as ever). A job already
	// final (superseded within its own commit) is neither. Until settled,
	// a held job also keeps the other processes off its lane. If this
	// process dies first, its jobs are claimed once its lease runs out.
	TakeHeld(jobs []*Job) ([]*Job, error)
	// Wake receives (best effort, never blocking the sender) when jobs may
	// have become runnable: written or ended by any process, a lease run
	// out, a retry come due. Callers also claim at a slow interval.
	Wake() <-chan struct{}
	// Release gives back jobs this process holds but has not started
	// (shutdown), so that others claim them at once.
	Release(jobs []*Job) error
	// SetMaxQueued bounds the jobs not final in the whole cluster: Accept,
	// Redeliver, AddJobs and Rematch refuse with ErrFull beyond it. The
	// count is exact near the bound, but for the jobs of other processes'
	// transactions committing at that very moment: processes writing at
	// once may pass it by what they commit together (a group commit each).
	SetMaxQueued(n int)
	// Queued is the number of jobs not final in the cluster as last seen
	// (at most a second old): admission decided before any work.
	Queued() int
	// Ping returns nil when the backend can commit now (readiness).
	Ping(ctx context.Context) error
	// Node is this process's node name and Process its lease holder id.
	Node() string
	Process() string
}

// Reader is the part of a store that listings and pages read (the admin
// API, the CLI while no daemon runs).
type Reader interface {
	// Event reads one event; an unknown id gives an error matching
	// ErrNotFound.
	Event(id uint64) (*Event, error)
	// Job reads one job.
	Job(id uint64) (*Job, error)
	// EventJobs reads an event and its jobs, oldest job first.
	EventJobs(id uint64) (*Event, []*Job, error)
	// ListEvents returns events newest first, and the cursor for the next
	// page (0 when there are no more).
	ListEvents(o ListOptions) ([]EventBrief, uint64, error)

	// The dashboard's reads.

	// QueryEvents is ListEvents with a rule, a time range and a lower id
	// bound (the live stream).
	QueryEvents(q EventQuery) ([]EventBrief, uint64, error)
	// NewestEventID returns the id of the newest event recorded (0: none),
	// by any process: a poller compares it with the last it showed.
	NewestEventID() uint64
	// FailedJobs returns jobs that ended failed, newest first, with ids
	// below before (0: from the newest), and the cursor of the next page.
	FailedJobs(before uint64, since time.Time, limit, maxScan int) ([]FailedJob, uint64, error)
	// Stats summarises the events received from since to now.
	Stats(since, now time.Time, slowest int) (*Stats, error)
}

// Backuper is a backend that streams a consistent copy of itself (bbolt's
// hot backup). A database server's own tools back up the others.
type Backuper interface {
	Backup(w io.Writer, size func(int64)) (int64, error)
}

// OpenCounter is a backend that counts the jobs not final of every process
// sharing it, by state (the dashboard's queue on a cluster).
type OpenCounter interface {
	OpenJobs() (queued, running, retrying int, err error)
}

// CommitObserver is a backend that groups writes into commits and reports
// each commit's duration and number of writes (for metrics).
type CommitObserver interface {
	SetCommitHook(f func(d time.Duration, writes int))
}

// notFound is an unknown event id: its message names the id, and it
// matches ErrNotFound.
type notFound uint64

func (id notFound) Error() string        { return fmt.Sprintf("no event %d", uint64(id)) }
func (id notFound) Is(target error) bool { return target == ErrNotFound }

var (
	_ Backend        = (*Store)(nil)
	_ Backuper       = (*Store)(nil)
	_ CommitObserver = (*Store)(nil)
)
