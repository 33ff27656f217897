package pgstore

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"hookd/store"
)

// settleHeld keeps, of the laned jobs this process ($2) wrote held ($1),
// each that is the oldest open job of its lane while no other open job of
// the lane is held by a live process, and gives back the others. The
// process's other jobs of the call do not count as held: of them, only the
// oldest of a lane can be kept. It runs under the lanes' claim locks, in a
// statement of its own, so it sees every claim committed on those lanes,
// and claims wait (or skip the lane) until it commits.
var settleHeld = `UPDATE jobs j SET holder = CASE WHEN
	    j.seq = (SELECT min(o.seq) FROM jobs o WHERE o.lane = j.lane AND o.lane <> '' AND o.open)
	    AND NOT EXISTS (SELECT 1 FROM jobs o WHERE o.lane = j.lane AND o.lane <> '' AND o.open AND o.id <> j.id
	      AND o.holder IS NOT NULL AND NOT (o.holder = $2 AND o.id = ANY($1)) AND NOT ` + fmt.Sprintf(holderDead, "o") + `)
	  THEN $2 ELSE NULL END
	WHERE j.id = ANY($1) AND j.holder = $2 AND j.open
	RETURNING j.id, j.holder IS NOT NULL`

// TakeHeld settles the jobs this process wrote held (see store.Shared):
// one without a lane is this process's at once; laned ones are settled in
// one transaction under their lanes' claim locks, those given back are
// superseded in their latest lane as any waiting job, and every process
// is told.
func (s *Store) TakeHeld(jobs []*store.Job) ([]*store.Job, error) {
	var run, laned []*store.Job
	for _, j := range jobs {
		if j.Lane == "" {
			run = append(run, j)
		} else {
			laned = append(laned, j)
		}
	}
	if len(laned) == 0 {
		return run, nil
	}
	var kept map[int64]bool
	var released bool
	err := s.txn(func(ctx context.Context, tx pgx.Tx) error {
		var err error
		kept, released, err = s.settleTx(ctx, tx, laned)
		return err
	})
	if err != nil {
		return nil, err
	}
	if released {
		s.notify("")
	}
	for _, j := range laned {
		if kept[int64(j.ID)] {
			run = append(run, j)
		}
	}
	return run, nil
}

// settleTx settles laned held jobs and returns which this process keeps,
// and whether it gave any back.
func (s *Store) settleTx(ctx context.Context, tx pgx.Tx, jobs []*store.Job) (map[int64]bool, bool, error) {
	ids := make([]int64, len(jobs))
	var lanes, latest []string
	for i, j := range jobs {
		ids[i] = int64(j.ID)
		lanes = append(lanes, j.Lane)
		if j.Latest {
			latest = append(latest, j.Lane)
		}
	}
	slices.Sort(lanes)
	lanes = slices.Compact(lanes)
	slices.Sort(latest)
	latest = slices.Compact(latest)
	b := &pgx.Batch{}
	queueLocks(b, nsClaim, lanes)
	b.Queue(settleHeld, ids, s.id)
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	for range lanes {
		if _, err := br.Exec(); err != nil {
			return nil, false, err
		}
	}
	rows, err := br.Query()
	if err != nil {
		return nil, false, err
	}
	kept := map[int64]bool{}
	released := false
	var id int64
	var keep bool
	if _, err := pgx.ForEachRow(rows, []any{&id, &keep}, func() error {
		kept[id] = keep
		released = released || !keep
		return nil
	}); err != nil {
		return nil, false, err
	}
	if err := br.Close(); err != nil || !released {
		return kept, false, err
	}
	// A job given back waits in its lane: a latest lane keeps only the
	// newest waiting job, as for any job written there.
	if err := lockLanes(ctx, tx, latest); err != nil {
		return nil, false, err
	}
	return kept, true, supersede(ctx, tx, latest)
}
