package pgstore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"hookd/store"
)

// A job's holder is dead when its process row says its lease ran out. A
// holder whose row this statement cannot see is taken for live: a process
// registers before it claims anything, and its row is deleted only once no
// job names it (pruneProcesses).
//
// A lease that ran out while the database itself was down does not count
// until the database has been up for that lease's length: every live
// process renews within it, so an outage longer than a lease does not hand
// the jobs still running on live nodes to others. (A promoted standby keeps
// its own start time: after a failover, leases count at once.) A lease
// given back (-infinity) counts at once.
const holderDead = `EXISTS (SELECT 1 FROM processes p WHERE p.id = %s.holder AND ` + leaseOver + `)`

// leaseOver is true of a process row p whose lease no longer holds.
const leaseOver = `p.lease_until <= now() AND (p.lease_until = '-infinity' OR pg_postmaster_start_time() <= now() - p.lease)`

// candidates are the jobs runnable now by this statement's snapshot, in
// arrival order, locked with SKIP LOCKED so that concurrent claimers take
// different rows. A laned job must be the oldest open job of its lane,
// and no other open job of the lane held by a live process; claimTx checks
// that again under the lane's lock.
var candidates = `SELECT j.id, j.lane FROM jobs j
	WHERE j.open AND (j.next_at IS NULL OR j.next_at <= now())
	  AND ($2::text[] IS NULL OR j.rule = ANY($2))
	  AND (j.holder IS NULL OR ` + fmt.Sprintf(holderDead, "j") + `)
	  AND (j.lane = '' OR (
	    NOT EXISTS (SELECT 1 FROM jobs o WHERE o.lane = j.lane AND o.lane <> '' AND o.open AND o.seq < j.seq)
	    AND NOT EXISTS (SELECT 1 FROM jobs o WHERE o.lane = j.lane AND o.lane <> '' AND o.open AND o.id <> j.id
	      AND o.holder IS NOT NULL AND NOT ` + fmt.Sprintf(holderDead, "o") + `)))
	ORDER BY j.seq LIMIT $1
	FOR UPDATE OF j SKIP LOCKED`

// laneCheck runs after the lanes' claim locks are taken, so its snapshot
// holds every claim another process committed on those lanes: a candidate
// stays only if it is still its lane's oldest open job and no other job of
// the lane is held by a live process.
var laneCheck = `SELECT c.id FROM unnest($1::bigint[], $2::text[]) AS c(id, lane)
	WHERE c.id = (SELECT o.id FROM jobs o WHERE o.lane = c.lane AND o.lane <> '' AND o.open ORDER BY o.seq LIMIT 1)
	  AND NOT EXISTS (SELECT 1 FROM jobs o WHERE o.lane = c.lane AND o.lane <> '' AND o.open AND o.id <> c.id
	    AND o.holder IS NOT NULL AND NOT ` + fmt.Sprintf(holderDead, "o") + `)`

// ClaimRunnable holds for this process at most n runnable jobs, in arrival
// order (see store.Shared). A job whose holder died while it ran comes
// back as running, its last attempt without an end.
func (s *Store) ClaimRunnable(n int, rules []string) ([]*store.Job, error) {
	if n <= 0 {
		return nil, nil
	}
	if s.lease.lost.Load() {
		return nil, ErrLeaseLost
	}
	var jobs []*store.Job
	err := s.txn(func(ctx context.Context, tx pgx.Tx) error {
		var err error
		jobs, err = s.claimTx(ctx, tx, n, rules)
		return err
	})
	if err != nil {
		return nil, err
	}
	return jobs, nil
}

func (s *Store) claimTx(ctx context.Context, tx pgx.Tx, n int, rules []string) ([]*store.Job, error) {
	rows, err := tx.Query(ctx, candidates, n, rules)
	if err != nil {
		return nil, err
	}
	var ids []int64
	var laneIDs []int64
	var lanes []string
	for rows.Next() {
		var id int64
		var lane string
		if err := rows.Scan(&id, &lane); err != nil {
			return nil, err
		}
		if lane == "" {
			ids = append(ids, id)
		} else {
			laneIDs, lanes = append(laneIDs, id), append(lanes, lane)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	s.pause(1)
	if len(lanes) > 0 {
		ok, err := checkLanes(ctx, tx, laneIDs, lanes)
		if err != nil {
			return nil, err
		}
		ids = append(ids, ok...)
	}
	s.pause(2)
	if len(ids) == 0 {
		return nil, nil
	}
	// The old holder's last renewal, read from the row before the update.
	rows, err = tx.Query(ctx, `UPDATE jobs j SET holder = $2 FROM jobs o LEFT JOIN processes p ON p.id = o.holder
		WHERE j.id = ANY($1) AND o.id = j.id
		RETURNING j.seq, j.data, CASE WHEN p.lease_until > '-infinity' THEN p.lease_until - p.lease END`, ids, s.id)
	if err != nil {
		return nil, err
	}
	type claimed struct {
		seq int64
		job *store.Job
	}
	var got []claimed
	for rows.Next() {
		var c claimed
		var data []byte
		var renewed *time.Time
		if err := rows.Scan(&c.seq, &data, &renewed); err != nil {
			return nil, err
		}
		if c.job, err = decodeJob(data); err != nil {
			return nil, err
		}
		if renewed != nil {
			c.job.HolderRenewed = renewed.UTC()
		}
		got = append(got, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(got, func(a, b claimed) int { return int(a.seq - b.seq) })
	out := make([]*store.Job, len(got))
	for i, c := range got {
		out[i] = c.job
	}
	return out, nil
}

func (s *Store) pause(stage int) {
	if s.claimPause != nil {
		s.claimPause(stage)
	}
}

// checkLanes tries each candidate lane's claim lock (held to the end of
// the transaction, never waited for: a lane another claimer holds is left
// to it) and then checks the lanes locked, in one round trip. It returns
// the candidates that may run.
func checkLanes(ctx context.Context, tx pgx.Tx, ids []int64, lanes []string) ([]int64, error) {
	order := slices.Clone(lanes)
	slices.Sort(order)
	order = slices.Compact(order)
	b := &pgx.Batch{}
	for _, l := range order {
		b.Queue(`SELECT pg_try_advisory_xact_lock($1, hashtext($2))`, nsClaim, l)
	}
	b.Queue(laneCheck, ids, lanes)
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	locked := map[string]bool{}
	for _, l := range order {
		var ok bool
		if err := br.QueryRow().Scan(&ok); err != nil {
			return nil, err
		}
		locked[l] = ok
	}
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	pass := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		pass[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []int64
	for i, id := range ids {
		if pass[id] && locked[lanes[i]] {
			out = append(out, id)
		}
	}
	return out, br.Close()
}

// Release gives back jobs this process holds and has not started, so that
// any process claims them at once.
func (s *Store) Release(jobs []*store.Job) error {
	if len(jobs) == 0 {
		return nil
	}
	ids := make([]int64, len(jobs))
	for i, j := range jobs {
		ids[i] = int64(j.ID)
	}
	return s.txn(func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `WITH r AS (UPDATE jobs SET holder = NULL WHERE id = ANY($1) AND holder = $2 AND open)
			SELECT pg_notify('`+channel+`', '')`, ids, s.id)
		return err
	})
}

// Claim is bbolt's restart recovery; on a shared store jobs are claimed
// with ClaimRunnable, so it returns nothing.
func (s *Store) Claim() ([]*store.Job, error) { return nil, nil }

// renew extends this process's lease, and registers it again if the
// pruner deleted its row (a lease over for a day, no job held): the
// process never claims under an id the others cannot see. It returns
// whether the row was made anew.
const renew = `INSERT INTO processes AS p (id, node, lease_until, lease)
	VALUES ($1, $2, now() + make_interval(secs => $3), make_interval(secs => $3))
	ON CONFLICT (id) DO UPDATE SET lease_until = EXCLUDED.lease_until
	RETURNING p.xmax = 0`

// renewLoop renews this process's lease every Lease/10, by the database's
// clock, and tries a failed renewal again sooner (every Lease/60). The
// lease counts lost two thirds of a lease after the last renewal
// (LeaseLost), so a database outage of up to half a lease, whenever it
// starts, costs no running action; renewing every Lease/3 made that a
// third. Once the lease is lost it renews nothing until Rejoin.
func (s *Store) renewLoop() {
	every, step := s.opt.Lease/10, max(s.opt.Lease/60, 5*time.Millisecond)
	t := time.NewTicker(step)
	defer t.Stop()
	next := time.Now().Add(every)
	for {
		select {
		case <-s.bgctx.Done():
			return
		case <-t.C:
		}
		if s.renewOff.Load() || s.lease.lost.Load() || time.Now().Before(next) {
			continue
		}
		start := time.Now()
		// A slow answer still counts while the lease holds: wait for it
		// up to a third of a lease, not only until the next renewal.
		ctx, cancel := context.WithTimeout(s.bgctx, s.opt.Lease/3)
		var again bool
		err := s.pool.QueryRow(ctx, renew, s.id, s.opt.Node, s.opt.Lease.Seconds()).Scan(&again)
		cancel()
		if err != nil {
			next = time.Now().Add(step)
			if s.bgctx.Err() == nil {
				s.log.Warn("renewing the job lease failed", "err", s.clean(err))
			}
			continue
		}
		s.lease.sent(start)
		next = start.Add(every)
		if again {
			s.log.Warn("this process's row was pruned while it could not renew its lease: registered again")
		}
	}
}
