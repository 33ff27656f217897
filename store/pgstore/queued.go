package pgstore

import (
	"context"
	"sync"

	"github.com/jackc/pgx/v5"
)

// Counting the cluster's open jobs (count(*) over jobs_open) costs a
// visit to every index entry of a job that ended since the last vacuum,
// milliseconds under load: too much for every intake commit. So a commit
// counts exactly only when a cheap upper bound comes near max_queued: the
// last exact count plus every job inserted since, anywhere, read from the
// jobs' seq sequence (jobs that ended meanwhile are still counted).
//
// A count must not miss the jobs of a transaction in flight, whose seq
// values are taken but whose rows it cannot see: the bound built on it
// would stay short of them until the next count, and the node would
// accept past max_queued. So every transaction that inserts jobs holds
// the admission lock shared, and a count that becomes a base holds it
// exclusive, when no insert is in flight.

// The admission lock (key 0 of nsAdmit, passed as $1).
const (
	admitShared    = `SELECT pg_advisory_xact_lock_shared($1, 0)`
	admitExclusive = `SELECT pg_advisory_xact_lock($1, 0)`
	admitTry       = `SELECT pg_try_advisory_xact_lock($1, 0)`
)

// seqNow is the last value the jobs' seq sequence handed out, to any
// process (0 before the first).
const seqNow = `SELECT ` + seqValue + ` FROM jobs_seq_seq`

const seqValue = `CASE WHEN is_called THEN last_value ELSE last_value - 1 END`

// openBase is an exact count of the open jobs and the seq value read just
// before it.
type openBase struct {
	mu     sync.Mutex
	ok     bool
	n, seq int64
}

func (b *openBase) set(n, seq int64) {
	b.mu.Lock()
	b.ok, b.n, b.seq = true, n, seq
	b.mu.Unlock()
}

// bound is an upper bound of the open jobs once the sequence reached seq.
func (b *openBase) bound(seq int64) (int64, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n + max(seq-b.seq, 0), b.ok
}

// upto is the highest value of the jobs' sequence at which the bound
// leaves room for room open jobs, if there is one.
func (b *openBase) upto(room int64) (int64, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.ok || b.n > room {
		return 0, false
	}
	return b.seq + room - b.n, true
}

// countOpen counts the open jobs of the cluster exactly, in q's
// transaction, which it makes hold the admission lock exclusive (after
// the transaction's lanes, before any row), and keeps the count as the
// base of later bounds.
func (s *Store) countOpen(ctx context.Context, q interface {
	SendBatch(context.Context, *pgx.Batch) pgx.BatchResults
}) (int64, error) {
	b := &pgx.Batch{}
	b.Queue(admitExclusive, nsAdmit)
	b.Queue(seqNow)
	b.Queue(`SELECT count(*) FROM jobs WHERE open`)
	br := q.SendBatch(ctx, b)
	defer br.Close()
	var seq, n int64
	if _, err := br.Exec(); err != nil {
		return 0, err
	}
	if err := br.QueryRow().Scan(&seq); err != nil {
		return 0, err
	}
	if err := br.QueryRow().Scan(&n); err != nil {
		return 0, err
	}
	if err := br.Close(); err != nil {
		return 0, err
	}
	s.open.set(n, seq)
	s.queued.Store(n)
	return n, nil
}

// lockLanesSeq is lockLanes, then the admission lock shared, and reads
// seqNow after the locks, in one round trip.
func lockLanesSeq(ctx context.Context, tx pgx.Tx, lanes []string) (int64, error) {
	b := &pgx.Batch{}
	queueLocks(b, nsLatest, lanes)
	b.Queue(admitShared, nsAdmit)
	b.Queue(seqNow)
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	for range len(lanes) + 1 {
		if _, err := br.Exec(); err != nil {
			return 0, err
		}
	}
	var seq int64
	if err := br.QueryRow().Scan(&seq); err != nil {
		return 0, err
	}
	return seq, br.Close()
}

// OpenJobs counts the cluster's jobs not final by state: running,
// waiting for a retry, and queued (any other state not final). It is a
// full count (see above): for a page a person opens, not for intake.
func (s *Store) OpenJobs() (queued, running, retrying int, err error) {
	ctx, cancel := s.ctx()
	defer cancel()
	err = s.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE state NOT IN ('running', 'retrying')),
		count(*) FILTER (WHERE state = 'running'), count(*) FILTER (WHERE state = 'retrying')
		FROM jobs WHERE open`).Scan(&queued, &running, &retrying)
	return queued, running, retrying, s.clean(err)
}
