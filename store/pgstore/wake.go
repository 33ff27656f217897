package pgstore

import (
	"context"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// Wake receives when jobs may have become runnable: a NOTIFY from any
// process's write, a released job's NextAt come due, and every Lease/2 (a
// lease may have run out). It never blocks a sender: one signal waits at
// most.
func (s *Store) Wake() <-chan struct{} { return s.wake }

func (s *Store) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// at asks timerLoop to wake at t.
func (s *Store) at(t time.Time) {
	select {
	case s.due <- t:
	default:
	}
}

// SetMaxQueued bounds the jobs not final in the whole cluster (0: no
// bound).
func (s *Store) SetMaxQueued(n int) { s.maxQueued.Store(int64(n)) }

// Queued is the number of jobs not final in the cluster, as counted at
// most a second ago.
func (s *Store) Queued() int { return int(s.queued.Load()) }

// listenLoop holds a connection of its own that LISTENs, reconnecting
// with a backoff when it is lost.
func (s *Store) listenLoop() {
	cc := s.pool.Config().ConnConfig
	backoff := 100 * time.Millisecond
	for s.bgctx.Err() == nil {
		err := s.listen(cc)
		if s.bgctx.Err() != nil {
			return
		}
		s.log.Warn("listening for job notifications", "err", s.clean(err))
		select {
		case <-s.bgctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

func (s *Store) listen(cc *pgx.ConnConfig) error {
	ctx, cancel := context.WithTimeout(s.bgctx, s.opt.Timeout)
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err == nil {
		_, err = conn.Exec(ctx, "LISTEN "+channel)
	}
	cancel()
	if conn != nil {
		defer conn.Close(context.Background())
	}
	if err != nil {
		return err
	}
	s.signal() // what was written while this was not listening
	for {
		ctx, cancel := context.WithTimeout(s.bgctx, s.opt.Lease)
		n, err := conn.WaitForNotification(ctx)
		cancel()
		if err != nil {
			if s.bgctx.Err() != nil || conn.IsClosed() {
				return err
			}
			// Quiet for a lease: is the connection still there?
			ctx, cancel := context.WithTimeout(s.bgctx, s.opt.Timeout)
			_, err = conn.Exec(ctx, "SELECT 1")
			cancel()
			if err != nil {
				return err
			}
			continue
		}
		if ms, err := strconv.ParseInt(n.Payload, 10, 64); err == nil {
			s.at(time.UnixMilli(ms))
		}
		s.signal()
	}
}

// timerLoop wakes every Lease/2 (leases that ran out) and at the earliest
// NextAt it was told of (by NOTIFY payloads and refreshLoop).
func (s *Store) timerLoop() {
	lease := time.NewTicker(s.opt.Lease / 2)
	defer lease.Stop()
	due := time.NewTimer(time.Hour)
	defer due.Stop()
	var dueAt time.Time
	set := func(t time.Time) {
		// A little after: the payload is in whole milliseconds, and the
		// claim compares with the database's clock.
		t = t.Add(5 * time.Millisecond)
		if dueAt.IsZero() || t.Before(dueAt) || time.Now().After(dueAt) {
			dueAt = t
			due.Reset(time.Until(t))
		}
	}
	for {
		select {
		case <-s.bgctx.Done():
			return
		case <-lease.C:
			s.signal()
		case t := <-s.due:
			set(t)
		case <-due.C:
			dueAt = time.Time{}
			s.signal()
		}
	}
}

// refreshLoop counts the open jobs every second (Queued) and tells
// timerLoop the next NextAt to come due, apart from it so that a slow
// database never delays a due wake.
func (s *Store) refreshLoop() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		s.refresh()
		select {
		case <-s.bgctx.Done():
			return
		case <-t.C:
		}
	}
}

// refresh's count becomes the base of the open jobs' bound only if it
// got the admission lock (queued.go) at once; else, an insert in flight,
// it is the metric's alone.
func (s *Store) refresh() {
	ctx, cancel := context.WithTimeout(s.bgctx, s.opt.Timeout)
	defer cancel()
	var n, seq int64
	var base bool
	var next pgtype.Timestamptz
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	b.Queue(admitTry, nsAdmit).QueryRow(func(r pgx.Row) error { return r.Scan(&base) })
	b.Queue(seqNow).QueryRow(func(r pgx.Row) error { return r.Scan(&seq) })
	b.Queue(`SELECT count(*), min(next_at) FILTER (WHERE next_at > now()) FROM jobs WHERE open`).
		QueryRow(func(r pgx.Row) error { return r.Scan(&n, &next) })
	b.Queue(`COMMIT`)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return
	}
	if base {
		s.open.set(n, seq)
	}
	s.queued.Store(n)
	if next.Valid {
		s.at(next.Time)
	}
}
