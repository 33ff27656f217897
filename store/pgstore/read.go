package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"hookd/store"
)

// Event reads one event; an unknown id matches store.ErrNotFound.
func (s *Store) Event(id uint64) (*store.Event, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	ev, err := readEvent(ctx, s.pool, id)
	return ev, s.clean(err)
}

type querier interface {
	QueryRow(context.Context, string, ...any) pgx.Row
	Query(context.Context, string, ...any) (pgx.Rows, error)
}

func readEvent(ctx context.Context, q querier, id uint64) (*store.Event, error) {
	var doc, body, answer []byte
	err := q.QueryRow(ctx, `SELECT doc, body, answer FROM events WHERE id = $1`, int64(id)).Scan(&doc, &body, &answer)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, err
	}
	return decodeEvent(doc, body, answer)
}

// Job reads one job.
func (s *Store) Job(id uint64) (*store.Job, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	var data []byte
	err := s.pool.QueryRow(ctx, `SELECT data FROM jobs WHERE id = $1`, int64(id)).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("no job %d", id)
	}
	if err != nil {
		return nil, s.clean(err)
	}
	return decodeJob(data)
}

// EventJobs reads an event and its jobs, in arrival order, from one
// snapshot.
func (s *Store) EventJobs(id uint64) (*store.Event, []*store.Job, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	var ev *store.Event
	var jobs []*store.Job
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		if ev, err = readEvent(ctx, tx, id); err != nil {
			return err
		}
		jobs, err = eventJobs(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, nil, s.clean(err)
	}
	return ev, jobs, nil
}

func eventJobs(ctx context.Context, q querier, id uint64) ([]*store.Job, error) {
	rows, err := q.Query(ctx, `SELECT data FROM jobs WHERE event_id = $1 ORDER BY seq`, int64(id))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var jobs []*store.Job
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			return nil, err
		}
		j, err := decodeJob(data)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, j)
	}
	return jobs, rows.Err()
}

// Seen returns the id of the event recorded for (source, delivery id) by
// any process, or 0 (also when the database cannot be reached).
func (s *Store) Seen(source, delivery string) uint64 {
	ctx, cancel := s.ctx()
	defer cancel()
	var id int64
	if s.pool.QueryRow(ctx, `SELECT id FROM events WHERE source = $1 AND delivery_id = $2`, source, delivery).Scan(&id) != nil {
		return 0
	}
	return uint64(id)
}

// Retryable returns the event with id when it has jobs and all of them
// ended failed or cancelled (false also when the database cannot be
// reached). Redeliver decides.
func (s *Store) Retryable(id uint64) (*store.Event, bool) {
	ctx, cancel := s.ctx()
	defer cancel()
	ev, err := readEvent(ctx, s.pool, id)
	if err != nil {
		return nil, false
	}
	ok, err := retryable(ctx, s.pool, ev)
	return ev, ok && err == nil
}

// NewestEventID returns the id of the newest event recorded by any
// process (0: none, or the database cannot be reached).
func (s *Store) NewestEventID() uint64 {
	ctx, cancel := s.ctx()
	defer cancel()
	var id int64
	if s.pool.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM events`).Scan(&id) != nil {
		return 0
	}
	return uint64(id)
}
