package pgstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"hookd/store"
)

// A group commit of accepts takes one round trip on its usual path:
// BEGIN, the latest lanes' locks, the insert, the supersede in those
// lanes and COMMIT go in one pipelined batch. Measured under intake on 2
// cores, each round trip took about a millisecond (the server's backend
// waits its turn for a core), so the round trips were most of a commit.
// What the node used to decide between them is decided by the statements
// themselves: a delivery recorded before comes back with its event's id
// (ON CONFLICT DO UPDATE locks and returns the row, even one another
// transaction committed while this one waited for it), the open jobs'
// bound is checked against the jobs' sequence inside the insert, which
// writes nothing past it, and a batch whose kept job of a latest lane
// turned out a duplicate fails (keeperCheck) and is tried again without
// superseding in advance. The batch falls back to the plain transaction
// (commit.go) when the bound comes near max_queued, which needs an exact
// count first.

// errPlain says that a batch must be tried again in a plain transaction,
// nothing of it having been written but perhaps all of it (the plain
// transaction finds such events its own, see settleDuplicates): the bound
// of queued.go came near max_queued, or the connection failed before the
// batch was answered (the plain transaction tries another one).
var errPlain = errors.New("try the plain transaction")

// acceptBatch is insertEvents for the one round trip: $23 is the highest
// value of the jobs' sequence at which the batch stays within max_queued
// (past it nothing is written and a row of id -1 says so), $24 the events
// whose jobs the batch keeps waiting in latest lanes (presupersede). It
// returns the id, source and delivery id of every event written, and of
// the event recorded before for every delivery that conflicted.
const acceptBatch = `WITH s AS (SELECT ` + seqValue + ` AS seq FROM jobs_seq_seq), e AS (
	INSERT INTO events (id, source, delivery_id, event, received_at, status, rules, body, answer, doc)
	` + eventsIn + `
	WHERE (SELECT seq FROM s) <= $23::bigint
	ON CONFLICT (source, delivery_id) DO UPDATE SET delivery_id = excluded.delivery_id
	RETURNING id, source, delivery_id
), j AS (
	` + jobsIn + `
	WHERE y.owner IN (SELECT id FROM e) AND ` + keeperCheck + `
	ORDER BY y.n
)
SELECT id, source, delivery_id FROM e
UNION ALL SELECT -1, '', '' FROM s WHERE seq > $23::bigint`

// keeperCheck divides by zero, failing the transaction with SQLSTATE
// 22012, when an event of $24 was not written (a duplicate): the jobs that
// presupersede wrote superseded by its job would be superseded by nothing.
const keeperCheck = `1 / (CASE WHEN (SELECT seq FROM s) > $23::bigint
	OR (SELECT count(*) FROM e WHERE id = ANY($24::bigint[])) = cardinality($24::bigint[]) THEN 1 ELSE 0 END) = 1`

// tryPipelined runs try's transaction for a batch of accepts in one round
// trip. It returns errPlain when the plain transaction must try the batch,
// errKeeperDup when it must be tried again without ahead.
func (s *Store) tryPipelined(batch []*op, ahead bool) error {
	ctx, cancel := s.ctx()
	defer cancel()
	for _, o := range batch {
		o.res, o.id = nil, 0
	}
	skip, twins := twinsOf(batch)
	lanes, adding := plan(batch)
	upto := int64(math.MaxInt64)
	if limit := s.maxQueued.Load(); limit > 0 && adding > 0 {
		var ok bool
		if upto, ok = s.open.upto(limit - int64(adding)); !ok {
			return errPlain
		}
	}
	var sup map[*jobRow]*jobRow
	var keep map[string]keeper
	var err error
	if ahead {
		if sup, keep, err = presupersede(batch, skip); err != nil {
			return err
		}
	}
	args, jobs, err := acceptArgs(batch, skip, sup)
	if err != nil || args == nil {
		return err
	}
	kept := make([]int64, 0, len(keep))
	for _, k := range keep {
		kept = append(kept, int64(k.op.ev.id))
	}
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	queueLocks(b, nsLatest, lanes)
	if adding > 0 {
		b.Queue(admitShared, nsAdmit)
	}
	b.Queue(acceptBatch, append(args, upto, kept)...)
	if len(lanes) > 0 {
		queueSupersede(b, lanes)
	}
	b.Queue(`COMMIT`)

	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer release(conn)
	br := conn.SendBatch(ctx, b)
	got, replaced, err := readPipelined(br, lanes, adding > 0)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &pe) && pe.Code == "22012" && len(kept) > 0:
		return errKeeperDup
	case err != nil && !isPgError(err) && ctx.Err() == nil:
		return errPlain
	case err != nil:
		return err
	case got.over:
		return errPlain
	}
	if err := got.settle(batch, skip, twins); err != nil {
		return err
	}
	if jobs && (!ahead || wakes(batch, got.written, sup, replaced)) {
		s.notify("")
	}
	return nil
}

// wakes tells whether a batch written made a job runnable that no
// claimer could take before: a waiting job of a latest lane that replaced
// another (replaced) is not, as the lane had a waiting job already, which is
// either running soon or behind the lane's running job, whose end wakes
// the claimers; nor is a job this process holds (held.go settles it).
// Under a burst of pushes to one latest lane, most commits
// wake nobody, and so cost no claim on any node.
func wakes(batch []*op, written map[int64]bool, sup map[*jobRow]*jobRow, replaced map[string]bool) bool {
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

// accepted is what acceptBatch returned: the events written, the
// earlier events of the deliveries that conflicted, and whether the
// batch went past the open jobs' bound (nothing written).
type accepted struct {
	written map[int64]bool
	earlier map[delivery]uint64
	over    bool
}

type delivery struct{ source, id string }

// readPipelined reads tryPipelined's batch (admitted: with the admission
// lock): what acceptBatch returned and the lanes in which a waiting job
// was superseded.
func readPipelined(br pgx.BatchResults, lanes []string, admitted bool) (accepted, map[string]bool, error) {
	got := accepted{written: map[int64]bool{}}
	if _, err := br.Exec(); err != nil { // BEGIN
		return got, nil, err
	}
	locks := len(lanes)
	if admitted {
		locks++
	}
	for range locks {
		if _, err := br.Exec(); err != nil {
			return got, nil, err
		}
	}
	rows, err := br.Query()
	if err != nil {
		return got, nil, err
	}
	var id int64
	var d delivery
	_, err = pgx.ForEachRow(rows, []any{&id, &d.source, &d.id}, func() error {
		got.record(id, d)
		return nil
	})
	if err != nil {
		return got, nil, err
	}
	var replaced map[string]bool
	if len(lanes) > 0 {
		if replaced, err = readSuperseded(br, lanes); err != nil {
			return got, nil, err
		}
	}
	_, err = br.Exec() // COMMIT
	return got, replaced, err
}

// record notes a row of acceptBatch: an event of the batch if written,
// else the one recorded before for delivery d.
func (a *accepted) record(id int64, d delivery) {
	if id < 0 {
		a.over = true
		return
	}
	if a.earlier == nil {
		a.earlier = map[delivery]uint64{}
	}
	a.earlier[d] = uint64(id)
}

// settle records each accept's result, as settleDuplicates does: a
// delivery whose event is not the one written is a duplicate of it, and
// a second copy of a delivery in the batch (twins) one of the first's.
func (a *accepted) settle(batch []*op, skip []bool, twins map[*op]*op) error {
	for i, o := range batch {
		if skip[i] {
			continue
		}
		id, ok := a.earlier[delivery{o.ev.source, o.ev.delivery}]
		switch {
		case !ok:
			return fmt.Errorf("delivery %s/%s: recorded and gone", o.ev.source, o.ev.delivery)
		case id != o.ev.id:
			o.res = store.ErrDuplicate
		default:
			a.written[int64(id)] = true
		}
		o.id = id
	}
	for t, first := range twins {
		t.id, t.res = first.id, store.ErrDuplicate
	}
	return nil
}

// twinsOf marks (skip) the accepts of a batch whose delivery came earlier
// in the same batch, and maps each to that first copy: one statement
// cannot write a row and then update it as a conflict.
func twinsOf(batch []*op) ([]bool, map[*op]*op) {
	skip := make([]bool, len(batch))
	var twins map[*op]*op
	seen := make(map[delivery]*op, len(batch))
	for i, o := range batch {
		d := delivery{o.ev.source, o.ev.delivery}
		if first, ok := seen[d]; ok {
			if twins == nil {
				twins = map[*op]*op{}
			}
			skip[i], twins[o] = true, first
			continue
		}
		seen[d] = o
	}
	return skip, twins
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
