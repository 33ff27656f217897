package pgstore

import (
	"context"
	"slices"
)

// A commit that makes jobs runnable tells every process with a NOTIFY
// sent after it, in a statement of its own, rather than inside it:
// PostgreSQL lets one notifying transaction at a time commit, server wide,
// holding a lock until its commit is flushed, so notifying commits of
// several processes could not share a flush. A NOTIFY alone writes no WAL
// and waits for no flush. Notices queued while one is sent go together in
// the next. A notice lost (the process died after its commit, the
// database did not answer) delays a job by at most the claimers' slow
// interval, never loses it.

// notify queues a notice with payload (see duePayload) for notifyLoop,
// and wakes this process's claimer at once rather than when its own
// notice comes back.
func (s *Store) notify(payload string) {
	s.signal()
	s.noteMu.Lock()
	if !slices.Contains(s.notes, payload) {
		s.notes = append(s.notes, payload)
	}
	s.noteMu.Unlock()
	select {
	case s.noteC <- struct{}{}:
	default:
	}
}

// notifyLoop sends the notices queued, all of them in one statement.
func (s *Store) notifyLoop() {
	for {
		select {
		case <-s.bgctx.Done():
			return
		case <-s.noteC:
		}
		s.noteMu.Lock()
		notes := s.notes
		s.notes = nil
		s.noteMu.Unlock()
		ctx, cancel := context.WithTimeout(s.bgctx, s.opt.Timeout)
		_, err := s.pool.Exec(ctx, `SELECT pg_notify('`+channel+`', p) FROM unnest($1::text[]) AS p`, notes)
		cancel()
		if err != nil && s.bgctx.Err() == nil {
			s.log.Debug("notifying the other processes failed; they claim at their next interval", "err", s.clean(err))
		}
	}
}
