package pgstore

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"hookd/store"
)

// ErrLeaseLost is a claim refused because this process could not renew its
// lease in time (see LeaseLost): others may run its jobs now.
var ErrLeaseLost = errors.New("this node's lease on its jobs ran out: it claims nothing until it has given them back")

var errRenewOff = errors.New("renewing the lease is stopped (StopRenewing)")

// leaseState tracks this process's lease by the local monotonic clock.
// The database sets lease_until to its now() plus the lease at each
// renewal, and its now() is no earlier than the moment this process sent
// the renewal: so the lease holds at least Lease from that moment.
type leaseState struct {
	born    time.Time
	renewed atomic.Int64 // since born, when the last successful renewal was sent
	lost    atomic.Bool
	mu      sync.Mutex
	lostC   chan struct{} // closed once lost; a new one after Rejoin
}

func (l *leaseState) init() {
	l.born = time.Now()
	l.lostC = make(chan struct{})
}

func (l *leaseState) sent(at time.Time) { l.renewed.Store(int64(at.Sub(l.born))) }

func (l *leaseState) age() time.Duration {
	return time.Since(l.born) - time.Duration(l.renewed.Load())
}

// leaseMargin is how much of the lease a process gives itself up to
// before it counts the lease lost: a third short of the whole, so that it
// has stopped its actions well before another process may claim its jobs.
func (s *Store) leaseMargin() time.Duration { return s.opt.Lease - s.opt.Lease/3 }

// LeaseLost is closed when this process has not renewed its lease for
// two thirds of it (leaseMargin): cut off from the
// database, it must stop claiming and stop the actions it runs, since
// another process may run its jobs once the lease is over. The store
// renews nothing after that until Rejoin.
func (s *Store) LeaseLost() <-chan struct{} {
	s.lease.mu.Lock()
	defer s.lease.mu.Unlock()
	return s.lease.lostC
}

// leaseWatch closes LeaseLost when the lease is nearly over.
func (s *Store) leaseWatch() {
	step := max(s.opt.Lease/30, 5*time.Millisecond)
	t := time.NewTicker(step)
	defer t.Stop()
	for {
		select {
		case <-s.bgctx.Done():
			return
		case <-t.C:
		}
		if !s.lease.lost.Load() && s.lease.age() > s.leaseMargin() {
			s.lease.mu.Lock()
			s.lease.lost.Store(true)
			close(s.lease.lostC)
			s.lease.mu.Unlock()
		}
	}
}

// Rejoin, after LeaseLost, gives back every job this process still holds
// and renews its lease, in one transaction: the caller has stopped running
// them and dropped them. The jobs in ended are the ones whose action the
// caller killed, their attempt ended and recorded as interrupted: each is
// written as it is, if this process still holds it (no other process took
// it over meanwhile, which records the attempt itself). Any other job that
// was running comes back to whichever process claims it first as an
// interrupted attempt. It fails while the database cannot be reached; then
// the caller tries again.
func (s *Store) Rejoin(ended []*store.Job) error {
	if !s.lease.lost.Load() {
		return nil
	}
	if s.renewOff.Load() {
		return errRenewOff
	}
	rows, err := encodeJobs(ended)
	if err != nil {
		return err
	}
	start := time.Now()
	err = s.txn(func(ctx context.Context, tx pgx.Tx) error {
		for _, j := range rows {
			if _, err := tx.Exec(ctx, `UPDATE jobs SET state = $2, next_at = $3, updated = $4, data = $5, holder = NULL
				WHERE id = $1 AND holder = $6`, int64(j.id), j.state, j.nextAt, j.updated, j.data, s.id); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE jobs SET holder = NULL WHERE holder = $1 AND open`, s.id); err != nil {
			return err
		}
		var again bool
		if err := tx.QueryRow(ctx, renew, s.id, s.opt.Node, s.opt.Lease.Seconds()).Scan(&again); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `SELECT pg_notify('`+channel+`', '')`)
		return err
	})
	if err != nil {
		return err
	}
	s.lease.mu.Lock()
	s.lease.sent(start)
	s.lease.lostC = make(chan struct{})
	s.lease.lost.Store(false)
	s.lease.mu.Unlock()
	return nil
}
