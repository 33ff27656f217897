package store

import (
	"encoding/json"
	"errors"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ErrNotFound is returned for an event id that is not stored.
var ErrNotFound = errors.New("no such event")

// Prune deletes the events whose jobs are all final and whose last
// activity (receipt, or a job's last update after a replay) is before
// cutoff, with their jobs and dedup keys: a redelivery after that is new.
// It examines at most batch events per transaction, each one queued to the
// committer like any other write, so intake never waits behind more than
// one small batch. It returns the number of events deleted.
func (s *Store) Prune(cutoff, failedCutoff time.Time, batch int) (int, error) {
	if batch <= 0 {
		batch = 500
	}
	total := 0
	var from uint64 // first key of the next batch
	for {
		var next uint64
		var deleted int
		var end bool
		err := s.update(func(tx *bolt.Tx) error {
			// Runs again if a neighbouring write fails the batch: no
			// state outside survives a first run.
			next, deleted, end = from, 0, false
			eb, jb, db, ob := tx.Bucket(bEvents), tx.Bucket(bJobs), tx.Bucket(bDedup), tx.Bucket(bOpen)
			c := eb.Cursor()
			var victims []eventHead
			k, v := c.Seek(itob(from))
			for n := 0; ; k, v = c.Next() {
				if k == nil {
					end = true
					break
				}
				if n == batch {
					break
				}
				n++
				next = btoi(k) + 1
				var h eventHead
				if decodeHead(v, &h) != nil {
					continue
				}
				if !h.ReceivedAt.Before(cutoff) {
					end = true // ids grow with receipt time: the rest is newer
					break
				}
				if prunable(jb, h, cutoff, failedCutoff) {
					victims = append(victims, h)
				}
			}
			meta := tx.Bucket(bMeta)
			_, topJob := lastIDs(tx)
			top := btoi(meta.Get(kPruned))
			for _, h := range victims {
				top = max(top, h.ID)
				for _, id := range h.Jobs {
					topJob = max(topJob, id)
					if err := jb.Delete(itob(id)); err != nil {
						return err
					}
					if err := ob.Delete(itob(id)); err != nil {
						return err
					}
				}
				dk := dedupKey(h.Source, h.DeliveryID)
				if btoi(db.Get(dk)) == h.ID {
					if err := db.Delete(dk); err != nil {
						return err
					}
				}
				if err := eb.Delete(itob(h.ID)); err != nil {
					return err
				}
			}
			deleted = len(victims)
			if deleted > 0 {
				if err := meta.Put(kPrunedJobs, itob(topJob)); err != nil {
					return err
				}
				return meta.Put(kPruned, itob(top))
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += deleted
		if end {
			if total > 0 {
				s.rebuildFilter() // the filter still holds the deleted keys
			}
			return total, nil
		}
		from = next
	}
}

// prunable reports whether every job of h is final and was last updated
// before cutoff, or before failedCutoff (zero: never) for a failed event,
// received before it too.
func prunable(jb *bolt.Bucket, h eventHead, cutoff, failedCutoff time.Time) bool {
	jobs := make([]JobBrief, 0, len(h.Jobs))
	for _, id := range h.Jobs {
		v := jb.Get(itob(id))
		if v == nil {
			continue
		}
		var j JobBrief
		if json.Unmarshal(v, &j) != nil || !Final(j.State) || !j.Updated.Before(cutoff) {
			return false
		}
		jobs = append(jobs, j)
	}
	if len(jobs) == 0 || Summarize("", jobs) != Failed {
		return true
	}
	if failedCutoff.IsZero() || !h.ReceivedAt.Before(failedCutoff) {
		return false
	}
	for _, j := range jobs {
		if !j.Updated.Before(failedCutoff) {
			return false
		}
	}
	return true
}
