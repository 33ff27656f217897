package pgstore

import (
	"context"
	"errors"
	"slices"
	"time"

	"hookd/store"
)

type idResult struct {
	id  uint64
	err error
}

// maxIDs bounds the event ids one round trip allocates.
const maxIDs = 1024

// NextEventID allocates an event id from the database's sequence, so ids
// follow arrival across processes. Callers asking at once share one round
// trip; an unreachable database gives an error.
func (s *Store) NextEventID() (uint64, error) {
	r := make(chan idResult, 1)
	select {
	case s.idReqs <- r:
	case <-s.bgctx.Done():
		return 0, store.ErrClosed
	}
	res := <-r
	return res.id, res.err
}

// idFresh is how long ids taken ahead stay usable. Under load the loop
// takes, with the ids asked for, as many as were handed out since its
// last round trip, so most calls need none; ids not handed out within
// idFresh are dropped (the sequence has gaps anyway), which bounds how far
// one process's ids can lag behind another's in arrival order.
const idFresh = 50 * time.Millisecond

// idLoop serves NextEventID: it hands out ids taken ahead while they are
// fresh, and otherwise takes every request waiting and asks the sequence
// for that many ids, and the ones it expects next, at once.
func (s *Store) idLoop() {
	reqs := make([]chan idResult, 0, maxIDs)
	var (
		ahead   []uint64  // ids taken ahead, lowest first
		fetched time.Time // when ahead was taken
		served  int       // ids handed out since
	)
	for {
		select {
		case <-s.bgctx.Done():
			return
		case r := <-s.idReqs:
			reqs = append(reqs[:0], r)
		}
	more:
		for len(reqs) < maxIDs {
			select {
			case r := <-s.idReqs:
				reqs = append(reqs, r)
			default:
				break more
			}
		}
		if time.Since(fetched) > idFresh {
			ahead = ahead[:0]
		}
		n := min(len(reqs), len(ahead))
		for i, r := range reqs[:n] {
			r <- idResult{id: ahead[i]}
		}
		ahead, served = ahead[n:], served+n
		rest := reqs[n:]
		if len(rest) == 0 {
			continue
		}
		extra := 0
		if time.Since(fetched) < 2*idFresh {
			extra = min(served, maxIDs-len(rest))
		}
		ids, err := s.eventIDs(len(rest) + extra)
		for i, r := range rest {
			if err != nil {
				r <- idResult{err: err}
			} else {
				r <- idResult{id: ids[i]}
			}
		}
		if err == nil {
			ahead, fetched, served = ids[len(rest):], time.Now(), len(rest)
		}
	}
}

// eventIDs allocates n event ids, trying a second connection if the first
// was ended while idle (see begin) and the first failed fast (so that the
// call stays bounded); ids a failed try took are skipped.
func (s *Store) eventIDs(n int) ([]uint64, error) {
	start := time.Now()
	ids, err := s.eventIDsOnce(n)
	for try := 0; err != nil && !errors.Is(err, store.ErrClosed) && s.retry(start, try); try++ {
		ids, err = s.eventIDsOnce(n)
	}
	return ids, err
}

func (s *Store) eventIDsOnce(n int) ([]uint64, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT nextval('event_ids') FROM generate_series(1, $1)`, n)
	if err != nil {
		return nil, s.clean(err)
	}
	ids := make([]uint64, 0, n)
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, s.clean(err)
		}
		ids = append(ids, uint64(id))
	}
	if err := rows.Err(); err != nil {
		return nil, s.clean(err)
	}
	if len(ids) != n {
		return nil, context.DeadlineExceeded
	}
	slices.Sort(ids) // the first caller gets the lowest
	return ids, nil
}

// jobBlock is how many job ids one round trip takes: the job_ids
// sequence's increment.
const jobBlock = 100

// NextJobID allocates a job id from a block this process took from the
// database's sequence: unique across processes, growing in this one.
// Arrival order across processes is the jobs' seq column, not their id.
func (s *Store) NextJobID() (uint64, error) {
	s.jobMu.Lock()
	defer s.jobMu.Unlock()
	if s.closed.Load() {
		return 0, store.ErrClosed
	}
	if s.jobNext == s.jobEnd {
		ctx, cancel := s.ctx()
		defer cancel()
		var first int64
		if err := s.pool.QueryRow(ctx, `SELECT nextval('job_ids')`).Scan(&first); err != nil {
			return 0, s.clean(err)
		}
		s.jobNext, s.jobEnd = uint64(first), uint64(first)+jobBlock
	}
	id := s.jobNext
	s.jobNext++
	return id, nil
}
