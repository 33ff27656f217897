package pgstore

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"hookd/store"
)

// An event is stored as columns that listings filter on, its body as
// bytes, its answer, and the rest as JSON (doc).
type eventRow struct {
	id                      uint64
	source, delivery, event string
	received                time.Time
	status                  string
	rules                   []string
	body, answer, doc       []byte
}

func encodeEvent(ev *store.Event) (*eventRow, error) {
	c := *ev
	c.Body, c.Answer = nil, nil
	doc := store.AppendEventJSON(make([]byte, 0, docSize(ev)), &c)
	r := &eventRow{id: ev.ID, source: ev.Source, delivery: ev.DeliveryID, event: ev.Event, received: ev.ReceivedAt,
		status: ev.Status, rules: ev.Rules, body: ev.Body, doc: doc}
	if r.rules == nil {
		r.rules = []string{}
	}
	if ev.Answer != nil {
		var err error
		if r.answer, err = json.Marshal(ev.Answer); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// docSize is room for ev's document in one allocation: GitHub's delivery
// headers alone take it past the 512 bytes it started from.
func docSize(ev *store.Event) int {
	n := 384 + len(ev.Path) + len(ev.RemoteAddr) + 32*len(ev.Jobs)
	for k, v := range ev.Headers {
		n += len(k) + len(v) + 8
	}
	for k, v := range ev.Query {
		n += len(k) + len(v) + 8
	}
	for _, r := range ev.Rules {
		n += len(r) + 4
	}
	return n
}

func decodeEvent(doc, body, answer []byte) (*store.Event, error) {
	ev := new(store.Event)
	if err := json.Unmarshal(doc, ev); err != nil {
		return nil, fmt.Errorf("stored event: %w", err)
	}
	ev.Body = body
	if answer != nil {
		ev.Answer = new(store.Answer)
		if err := json.Unmarshal(answer, ev.Answer); err != nil {
			return nil, fmt.Errorf("stored answer: %w", err)
		}
	}
	return ev, nil
}

// A job is stored as the columns claims and listings read, and the whole
// job as JSON (data).
type jobRow struct {
	id, eventID      uint64
	rule, lane       string
	latest           bool
	state            string
	nextAt           pgtype.Timestamptz
	created, updated time.Time
	data             []byte
	job              *store.Job  // what data encodes
	holder           pgtype.Text // the writer's id for a job written held (store.Job.Hold), else NULL
}

func encodeJob(j *store.Job) (*jobRow, error) {
	data := store.AppendJobJSON(make([]byte, 0, 256), j)
	r := &jobRow{id: j.ID, eventID: j.EventID, rule: j.Rule, lane: j.Lane, latest: j.Latest, state: j.State,
		created: j.Created, updated: j.Updated, data: data, job: j}
	if !j.NextAt.IsZero() {
		r.nextAt = pgtype.Timestamptz{Time: j.NextAt, Valid: true}
	}
	return r, nil
}

func encodeJobs(jobs []*store.Job) ([]*jobRow, error) {
	out := make([]*jobRow, 0, len(jobs))
	for _, j := range jobs {
		r, err := encodeJob(j)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func decodeJob(data []byte) (*store.Job, error) {
	j := new(store.Job)
	if err := json.Unmarshal(data, j); err != nil {
		return nil, fmt.Errorf("stored job: %w", err)
	}
	return j, nil
}

const insertJob = `INSERT INTO jobs (id, event_id, rule, lane, latest, state, next_at, created, updated, data, holder)
	SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $12 WHERE EXISTS (SELECT 1 FROM events WHERE id = $11)`

// insertArgs are insertJob's arguments; the job is written only if the
// event ev is stored (a duplicate's is not).
func (r *jobRow) insertArgs(ev uint64) []any {
	return []any{int64(r.id), int64(r.eventID), r.rule, r.lane, r.latest, r.state, r.nextAt, r.created, r.updated, r.data, int64(ev), r.holder}
}

// notFound is an unknown event id, as store's: its message names the id
// and it matches store.ErrNotFound.
type notFound uint64

func (id notFound) Error() string        { return fmt.Sprintf("no event %d", uint64(id)) }
func (id notFound) Is(target error) bool { return target == store.ErrNotFound }
