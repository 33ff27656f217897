package store

import (
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// EventQuery selects events for the dashboard: ListOptions, and a rule
// and a time range. The zero value lists the newest 50.
type EventQuery struct {
	Before  uint64 // only events with smaller ids: the cursor of the previous page
	After   uint64 // only events with larger ids (the live stream)
	Source  string
	Rule    string // only events that matched this rule
	Status  string // as ListOptions.Status
	Since   time.Time
	Until   time.Time // exclusive
	Limit   int       // default 50, at most 1000
	MaxScan int       // default 10000: a rare filter stays cheap, and the cursor continues it
	// NoWait reads what is on disk without waiting for ignored events
	// still queued (a poller sees them at its next read, and forces no
	// early commit on intake).
	NoWait bool
}

// QueryEvents returns events newest first and the cursor of the next page
// (0 when there are no more). Ids grow with time, so Until starts the scan
// at the first event before it (a binary search on ids) and Since ends it.
// The read transaction ends before the caller writes anything to anyone.
func (s *Store) QueryEvents(q EventQuery) ([]EventBrief, uint64, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	q.Limit = min(q.Limit, 1000)
	if q.MaxScan <= 0 {
		q.MaxScan = 10000
	}
	if !q.NoWait {
		s.fresh()
	}
	var out []EventBrief
	var next uint64
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bEvents).Cursor()
		start := q.Before
		if !q.Until.IsZero() {
			if u := firstAt(c, q.Until); start == 0 || (u != 0 && u < start) {
				start = u
			}
		}
		var k, v []byte
		if start == 0 {
			k, v = c.Last()
		} else if k, _ = c.Seek(itob(start)); k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
		for scanned := 0; k != nil && btoi(k) > q.After; k, v = c.Prev() {
			if len(out) == q.Limit || scanned == q.MaxScan {
				next = btoi(k) + 1
				return nil
			}
			scanned++
			var h eventHead
			if decodeHead(v, &h) != nil {
				continue
			}
			if !q.Since.IsZero() && h.ReceivedAt.Before(q.Since) {
				return nil
			}
			if (q.Source != "" && h.Source != q.Source) || (q.Rule != "" && !slices.Contains(h.Rules, q.Rule)) ||
				(!q.Until.IsZero() && !h.ReceivedAt.Before(q.Until)) {
				continue
			}
			b := s.brief(tx, &h)
			if q.Status != "" && q.Status != b.Status && !(q.Status == "accepted" && h.Status == "accepted") {
				continue
			}
			out = append(out, b)
		}
		return nil
	})
	return out, next, err
}

// firstAt returns the id of the oldest event received at or after t (0:
// none), by a binary search over the ids, which grow with time.
func firstAt(c *bolt.Cursor, t time.Time) uint64 {
	fk, _ := c.First()
	lk, _ := c.Last()
	if fk == nil {
		return 0
	}
	lo, hi := btoi(fk), btoi(lk)+1
	for lo < hi {
		mid := lo + (hi-lo)/2
		k, v := c.Seek(itob(mid))
		var h eventHead
		if k == nil || decodeHead(v, &h) != nil || !h.ReceivedAt.Before(t) {
			hi = mid
		} else {
			lo = btoi(k) + 1
		}
	}
	if lo > btoi(lk) {
		return 0
	}
	return lo
}
