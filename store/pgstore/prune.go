package pgstore

import (
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// processKeep is how long a process's row outlives its lease. A process
// whose lease ran out stops claiming and stops its actions (the engine's
// lease watch), and registers again if it renews after its row is gone:
// a day leaves a wide margin over any lease, and the rows of a cluster that
// restarts often do not pile up. A process that gave its lease back
// (Close) wrote its last before, so its row goes at the next prune.
const processKeep = 24 * time.Hour

// goneProcess is true of a process row p whose lease was given back or
// ended more than processKeep ($2 seconds) ago, but this process's ($1).
const goneProcess = `p.id <> $1 AND (p.lease_until = '-infinity' OR p.lease_until < now() - make_interval(secs => $2))`

// pruneProcesses deletes the rows of gone processes that no job names as
// its holder, so that a holder id never becomes unknown while a job
// references it: those jobs keep the row until they are pruned with their
// event. It reads the jobs' holders once (a hashed subplan): a full scan
// of the jobs, so it runs only when some row is gone.
const pruneProcesses = `DELETE FROM processes p WHERE ` + goneProcess + `
	AND p.id NOT IN (SELECT DISTINCT holder FROM jobs WHERE holder IS NOT NULL)`

// processPruneEvery is how often a process runs pruneProcesses at most:
// the rows are small, the scan is not.
const processPruneEvery = 6 * time.Hour

// pruneGone runs pruneProcesses if some process is gone, at most every
// processPruneEvery (the first prune of a process runs it).
func (s *Store) pruneGone(conn *pgxpool.Conn) error {
	last := s.procPruned.Load()
	if last != 0 && time.Since(time.Unix(0, last)) < s.procPruneEvery {
		return nil
	}
	s.procPruned.Store(time.Now().UnixNano())
	ctx, cancel := s.ctx()
	defer cancel()
	var gone bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM processes p WHERE `+goneProcess+`)`,
		s.id, processKeep.Seconds()).Scan(&gone); err != nil || !gone {
		return err
	}
	tag, err := conn.Exec(ctx, pruneProcesses, s.id, processKeep.Seconds())
	if err != nil {
		return err
	}
	if n := tag.RowsAffected(); n > 0 {
		s.log.Info("pruned the rows of processes long gone", "processes", n)
	}
	return nil
}

// Prune deletes the events received before cutoff whose jobs are all final
// and were last updated before cutoff, with their jobs and so their
// de-duplication keys, batch events a transaction;
// then the rows of processes long gone that no job names (pruneProcesses).
// One process prunes at a time: while another holds the pruner's lock it
// returns 0 at once.
func (s *Store) Prune(cutoff, failedCutoff time.Time, batch int) (int, error) {
	if batch <= 0 {
		batch = 500
	}
	ctx, cancel := s.ctx()
	conn, err := s.pool.Acquire(ctx)
	cancel()
	if err != nil {
		return 0, s.clean(err)
	}
	defer conn.Release()
	ctx, cancel = s.ctx()
	var locked bool
	err = conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, 0)`, nsPrune).Scan(&locked)
	cancel()
	if err != nil || !locked {
		return 0, s.clean(err)
	}
	defer func() {
		ctx, cancel := s.ctx()
		defer cancel()
		conn.Exec(ctx, `SELECT pg_advisory_unlock($1, 0)`, nsPrune)
	}()
	total := 0
	var from int64
	for {
		n, last, deleted, err := s.pruneBatch(conn, from, cutoff, failedCutoff, batch)
		if err != nil {
			return total, s.clean(err)
		}
		total += deleted
		if n < batch {
			break
		}
		from = last
	}
	return total, s.clean(s.pruneGone(conn))
}

// pruneBatch deletes, in one transaction, the prunable events among the
// first batch received before cutoff with an id above from. n is how many
// it looked at, last the highest id of them, deleted how many went.
func (s *Store) pruneBatch(conn *pgxpool.Conn, from int64, cutoff, failedCutoff time.Time, batch int) (n int, last int64, deleted int, err error) {
	// A failed event (a rule's newest job failed: store.Summarize) is kept
	// until failedCutoff, for ever when it is zero (NULL).
	var fc *time.Time
	if !failedCutoff.IsZero() {
		fc = &failedCutoff
	}
	ctx, cancel := s.ctx()
	defer cancel()
	last = from
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		n, last, deleted = 0, from, 0
		rows, err := tx.Query(ctx, `SELECT id FROM events WHERE id > $1 AND received_at < $2 ORDER BY id LIMIT $3 FOR UPDATE`,
			from, cutoff, batch)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil || len(ids) == 0 {
			return err
		}
		n, last = len(ids), ids[len(ids)-1]
		// A statement after the rows are locked: it sees every job a
		// replay added to them before.
		return tx.QueryRow(ctx, `WITH d AS (DELETE FROM events e WHERE e.id = ANY($1)
			AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.event_id = e.id AND (j.open OR j.updated >= $2))
			AND NOT (EXISTS (SELECT 1 FROM jobs j WHERE j.event_id = e.id AND j.state = 'failed'
					AND NOT EXISTS (SELECT 1 FROM jobs n WHERE n.event_id = e.id AND n.rule = j.rule AND n.id > j.id))
				AND ($3::timestamptz IS NULL OR e.received_at >= $3
					OR EXISTS (SELECT 1 FROM jobs j WHERE j.event_id = e.id AND j.updated >= $3)))
			RETURNING e.id), j AS (DELETE FROM jobs WHERE event_id IN (SELECT id FROM d))
			SELECT count(*) FROM d`, ids, cutoff, fc).Scan(&deleted)
	})
	return n, last, deleted, err
}
