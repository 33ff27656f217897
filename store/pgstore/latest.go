package pgstore

import (
	"errors"
	"fmt"
	"time"

	"hookd/store"
)

// Within one group commit, of the jobs written to a latest lane only the
// last can stay waiting (supersede keeps the job written last, and the
// batch's jobs are written in arrival order): the others are written
// superseded at once, rather than inserted waiting and updated in the same transaction,
// which cost an UPDATE, a foreign-key check and two index entries each.
// supersede then settles the lane's newest job against the waiting ones
// other transactions wrote.

// errKeeperDup says that the job a batch kept waiting in a latest lane
// belongs to a duplicate delivery, so it was not written: the batch is
// tried again without superseding in advance.
var errKeeperDup = errors.New("the kept job of a latest lane was a duplicate")

// keeper is the job a batch keeps waiting in a latest lane.
type keeper struct {
	op  *op
	job *jobRow
}

// presupersede returns the rows to write instead of the batch's jobs that
// a newer job of the batch supersedes in their latest lane, and the jobs
// kept.
func presupersede(batch []*op, skip []bool) (map[*jobRow]*jobRow, map[string]keeper, error) {
	keep := map[string]keeper{}
	for i, o := range batch {
		if skip[i] || o.kind != opAccept {
			continue
		}
		for _, j := range o.jobs {
			if !j.latest || j.lane == "" || j.job == nil || j.state != store.Queued {
				continue
			}
			keep[j.lane] = keeper{o, j} // the batch is in arrival order
		}
	}
	var out map[*jobRow]*jobRow
	now := time.Now().UTC()
	for i, o := range batch {
		if skip[i] || o.kind != opAccept {
			continue
		}
		for _, j := range o.jobs {
			k, ok := keep[j.lane]
			if !ok || k.job == j || !j.latest || j.job == nil || j.state != store.Queued {
				continue
			}
			c := *j.job
			c.State, c.Updated = store.Superseded, now
			c.Error = fmt.Sprintf("superseded by job %d of event %d", k.job.id, k.op.ev.id)
			r, err := encodeJob(&c)
			if err != nil {
				return nil, nil, err
			}
			if out == nil {
				out = map[*jobRow]*jobRow{}
			}
			out[j] = r
		}
	}
	return out, keep, nil
}

// keptDuplicate reports whether a kept job's event turned out a duplicate.
func keptDuplicate(keep map[string]keeper) bool {
	for _, k := range keep {
		if errors.Is(k.op.res, store.ErrDuplicate) {
			return true
		}
	}
	return false
}
