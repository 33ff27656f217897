package pgstore

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"hookd/store"
)

// A group commit of accepts takes two round trips on its usual path
// rather than one per statement: BEGIN, the latest lanes' locks, the
// jobs' sequence, the insert and the read of the lanes' waiting jobs go
// in one pipelined batch; the superseded jobs' writes and COMMIT in a
// second. Measured under intake on 2 cores, each round trip took about a
// millisecond (the server's backend waits its turn for a core), so the
// five of the plain transaction were most of a commit. The batch falls
// back to the plain transaction (commit.go) when the open jobs' bound
// comes near max_queued, which needs an exact count first.

// errPlain says that a batch must be tried again in a plain transaction,
// nothing of it having been written: the bound of queued.go came near
// max_queued, or the connection failed before the batch was answered
// (the plain transaction tries another one).
var errPlain = errors.New("try the plain transaction")

// tryPipelined runs try's transaction for a batch of accepts in two
// round trips. It returns errPlain when the plain transaction must try
// the batch.
func (s *Store) tryPipelined(batch []*op, ahead bool) error {
	ctx, cancel := s.ctx()
	defer cancel()
	for _, o := range batch {
		o.res, o.id = nil, 0
	}
	skip := make([]bool, len(batch))
	lanes, adding := plan(batch)
	var sup map[*jobRow]*jobRow
	var keep map[string]keeper
	var err error
	if ahead {
		if sup, keep, err = presupersede(batch, skip); err != nil {
			return err
		}
	}
	args, jobs, err := acceptArgs(batch, skip, sup)
	if err != nil {
		return err
	}
	if args == nil {
		return nil
	}
	limit := s.maxQueued.Load()
	counting := limit > 0 && adding > 0
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	queueLocks(b, nsLatest, lanes)
	if counting {
		b.Queue(seqNow)
	}
	b.Queue(insertEvents, args...)
	queueWaiting(b, lanes)

	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer release(conn)
	br := conn.SendBatch(ctx, b)
	written, drop, err := readPipelined(br, lanes, counting, func(seq int64) bool {
		n, ok := s.open.bound(seq)
		return ok && n+int64(adding) <= limit
	})
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil && !isPgError(err) && ctx.Err() == nil {
		return errPlain
	}
	if err != nil {
		return err
	}
	if err := settleDuplicates(ctx, conn, batch, skip, written); err != nil {
		return err
	}
	if keptDuplicate(keep) {
		return errKeeperDup
	}
	b = &pgx.Batch{}
	if err := queueDrops(b, drop); err != nil {
		return err
	}
	b.Queue(`COMMIT`)
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	if jobs && wakes(batch, written, sup, drop) {
		s.notify("")
	}
	return nil
}

// wakes tells whether a batch written made a job runnable that no
// claimer could take before: a waiting job of a latest lane that replaced
// another (drop) is not, as the lane had a waiting job already, which is
// either running soon or behind the lane's running job, whose end wakes
// the claimers; nor is a job this process holds (held.go settles it).
// Under a burst of pushes to one latest lane, most commits
// wake nobody, and so cost no claim on any node.
func wakes(batch []*op, written map[int64]bool, sup map[*jobRow]*jobRow, drop []*store.Job) bool {
	replaced := map[string]bool{}
	for _, j := range drop {
		replaced[j.Lane] = true
	}
	for _, o := range batch {
		if !written[int64(o.ev.id)] {
			continue
		}
		for _, j := range o.jobs {
			if _, ok := sup[j]; ok || j.state != store.Queued || j.holder.Valid {
				continue
			}
			if !j.latest || j.lane == "" || !replaced[j.lane] {
				return true
			}
		}
	}
	return false
}

// readPipelined reads the first batch of tryPipelined: the events written
// and the lanes' waiting jobs to supersede. within tells whether the jobs'
// sequence, when read, leaves the bound under max_queued.
func readPipelined(br pgx.BatchResults, lanes []string, counting bool, within func(seq int64) bool) (map[int64]bool, []*store.Job, error) {
	if _, err := br.Exec(); err != nil { // BEGIN
		return nil, nil, err
	}
	for range lanes {
		if _, err := br.Exec(); err != nil {
			return nil, nil, err
		}
	}
	if counting {
		var seq int64
		if err := br.QueryRow().Scan(&seq); err != nil {
			return nil, nil, err
		}
		if !within(seq) {
			return nil, nil, errPlain
		}
	}
	rows, err := br.Query()
	if err != nil {
		return nil, nil, err
	}
	written, err := readWritten(rows)
	if err != nil {
		return nil, nil, err
	}
	drop, err := readWaiting(br, lanes)
	return written, drop, err
}

// release gives conn back to the pool after rolling back what a failed
// batch left open; a connection still in a transaction would be closed by
// the pool instead.
func release(conn *pgxpool.Conn) {
	if conn.Conn().PgConn().TxStatus() != 'I' && !conn.Conn().IsClosed() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, _ = conn.Exec(ctx, `ROLLBACK`)
		cancel()
	}
	conn.Release()
}

// plan returns the latest lanes a batch of accepts writes to, sorted, and
// how many jobs it adds.
func plan(batch []*op) (lanes []string, adding int) {
	for _, o := range batch {
		if o.kind != opAccept {
			continue
		}
		adding += len(o.jobs)
		for _, j := range o.jobs {
			if j.latest && j.lane != "" {
				lanes = append(lanes, j.lane)
			}
		}
	}
	slices.Sort(lanes)
	return slices.Compact(lanes), adding
}

// isPgError tells a database's answer from a failure to reach it.
func isPgError(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe)
}
