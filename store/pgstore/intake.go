package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"hookd/store"
)

// insertEvents writes a group commit's events and their jobs in one
// statement, from arrays, rather than three statements an event: the
// jobs of an event that conflicts on (source, delivery_id) are left out,
// and it returns the ids of the events written. Jobs take their seq in
// the order given.
const insertEvents = `WITH e AS (
	INSERT INTO events (id, source, delivery_id, event, received_at, status, rules, body, answer, doc)
	` + eventsIn + `
	ON CONFLICT (source, delivery_id) DO NOTHING
	RETURNING id
), j AS (
	` + jobsIn + `
	WHERE y.owner IN (SELECT id FROM e)
	ORDER BY y.n
)
SELECT id FROM e`

// eventsIn and jobsIn select the rows of a batch's events and jobs from
// acceptArgs' arrays ($1 to $22).
const (
	eventsIn = `SELECT x.id, x.source, x.delivery, x.event, x.received, x.status,
		x.rules::text[], x.body, x.answer::json, x.doc::json
	FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::text[], $8::bytea[], $9::text[], $10::text[])
		AS x(id, source, delivery, event, received, status, rules, body, answer, doc)`
	jobsIn = `INSERT INTO jobs (id, event_id, rule, lane, latest, state, next_at, created, updated, data, holder)
	SELECT y.id, y.event_id, y.rule, y.lane, y.latest, y.state, y.next_at, y.created, y.updated, y.data::json, y.holder
	FROM unnest($11::bigint[], $12::bigint[], $13::text[], $14::text[], $15::bool[], $16::text[], $17::timestamptz[],
		$18::timestamptz[], $19::timestamptz[], $20::text[], $21::bigint[], $22::text[]) WITH ORDINALITY
		AS y(id, event_id, rule, lane, latest, state, next_at, created, updated, data, owner, holder, n)`
)

// accepts writes the batch of accepts not skipped, the jobs in sup
// written as sup has them, and records each one's result: its event's id,
// and store.ErrDuplicate for a delivery recorded before. It reports
// whether the batch had jobs to write.
func accepts(ctx context.Context, tx pgx.Tx, batch []*op, skip []bool, sup map[*jobRow]*jobRow) (bool, error) {
	args, jobs, err := acceptArgs(batch, skip, sup)
	if err != nil || args == nil {
		return false, err
	}
	rows, err := tx.Query(ctx, insertEvents, args...)
	if err != nil {
		return false, err
	}
	written, err := readWritten(rows)
	if err != nil {
		return false, err
	}
	return jobs, settleDuplicates(ctx, tx, batch, skip, written)
}

// acceptArgs returns insertEvents' arguments for the batch's accepts not
// skipped (nil when there are none), and whether they have jobs.
func acceptArgs(batch []*op, skip []bool, sup map[*jobRow]*jobRow) ([]any, bool, error) {
	n, nj := 0, 0
	for i, o := range batch {
		if !skip[i] {
			n, nj = n+1, nj+len(o.jobs)
		}
	}
	// Slices of their final size, and the JSON documents as the bytes
	// they are: under load, growing the slices and copying each event's
	// document into a string was a tenth of the node's cost of a commit.
	var (
		eid                             = make([]int64, 0, n)
		source, delivery, event, status = make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
		rules, body, doc                = make([][]byte, 0, n), make([][]byte, 0, n), make([][]byte, 0, n)
		received                        = make([]pgtype.Timestamptz, 0, n)
		answer                          = make([]*string, 0, n)
		jid, jev, owner                 = make([]int64, 0, nj), make([]int64, 0, nj), make([]int64, 0, nj)
		rule, lane, state               = make([]string, 0, nj), make([]string, 0, nj), make([]string, 0, nj)
		data                            = make([][]byte, 0, nj)
		latest                          = make([]bool, 0, nj)
		nextAt, created, updated        = make([]pgtype.Timestamptz, 0, nj), make([]pgtype.Timestamptz, 0, nj), make([]pgtype.Timestamptz, 0, nj)
		holder                          = make([]pgtype.Text, 0, nj)
	)
	for i, o := range batch {
		if skip[i] {
			continue
		}
		e := o.ev
		r := appendTextArray(nil, e.rules)
		eid, source, delivery, event = append(eid, int64(e.id)), append(source, e.source), append(delivery, e.delivery), append(event, e.event)
		received = append(received, pgtype.Timestamptz{Time: e.received, Valid: true})
		status, rules, body = append(status, e.status), append(rules, r), append(body, e.body)
		var a *string
		if e.answer != nil {
			s := string(e.answer)
			a = &s
		}
		answer, doc = append(answer, a), append(doc, e.doc)
		for _, j := range o.jobs {
			if r, ok := sup[j]; ok {
				j = r
			}
			jid, jev, owner = append(jid, int64(j.id)), append(jev, int64(j.eventID)), append(owner, int64(e.id))
			rule, lane, state, data = append(rule, j.rule), append(lane, j.lane), append(state, j.state), append(data, j.data)
			latest, nextAt = append(latest, j.latest), append(nextAt, j.nextAt)
			created = append(created, pgtype.Timestamptz{Time: j.created, Valid: true})
			updated = append(updated, pgtype.Timestamptz{Time: j.updated, Valid: true})
			holder = append(holder, j.holder)
		}
	}
	if len(eid) == 0 {
		return nil, false, nil
	}
	return []any{eid, source, delivery, event, received, status, rules, body, answer, doc,
		jid, jev, rule, lane, latest, state, nextAt, created, updated, data, owner, holder}, len(jid) > 0, nil
}

// appendTextArray appends ss to b as a PostgreSQL array literal: each
// element quoted, its quotes and backslashes escaped.
func appendTextArray(b []byte, ss []string) []byte {
	b = append(b, '{')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		for j := 0; j < len(s); j++ {
			if s[j] == '"' || s[j] == '\\' {
				b = append(b, '\\')
			}
			b = append(b, s[j])
		}
		b = append(b, '"')
	}
	return append(b, '}')
}

// readWritten reads the ids insertEvents returns: the events written.
func readWritten(rows pgx.Rows) (map[int64]bool, error) {
	written := map[int64]bool{}
	var id int64
	_, err := pgx.ForEachRow(rows, []any{&id}, func() error { written[id] = true; return nil })
	return written, err
}

// settleDuplicates records each accept's result: its event's id, and for
// a delivery not written (recorded before), store.ErrDuplicate and the
// earlier event's id, read in q's transaction. A delivery recorded under
// its own event's id was written by an earlier try of the batch, whose
// COMMIT went through though its answer was lost (tryPipelined): it is
// accepted.
func settleDuplicates(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, batch []*op, skip []bool, written map[int64]bool) error {
	var dupSource, dupDelivery []string
	for i, o := range batch {
		if skip[i] {
			continue
		}
		if written[int64(o.ev.id)] {
			o.id = o.ev.id
			continue
		}
		dupSource, dupDelivery = append(dupSource, o.ev.source), append(dupDelivery, o.ev.delivery)
	}
	if len(dupSource) == 0 {
		return nil
	}
	// A statement of its own: its snapshot sees the events that concurrent
	// transactions committed while the insert waited for them.
	rows, err := q.Query(ctx, `SELECT x.source, x.delivery, e.id FROM unnest($1::text[], $2::text[]) AS x(source, delivery)
		JOIN events e ON e.source = x.source AND e.delivery_id = x.delivery`, dupSource, dupDelivery)
	if err != nil {
		return err
	}
	type key struct{ source, delivery string }
	earlier := map[key]uint64{}
	var k key
	var id int64
	if _, err := pgx.ForEachRow(rows, []any{&k.source, &k.delivery, &id}, func() error { earlier[k] = uint64(id); return nil }); err != nil {
		return err
	}
	for i, o := range batch {
		if skip[i] || written[int64(o.ev.id)] {
			continue
		}
		id, ok := earlier[key{o.ev.source, o.ev.delivery}]
		if !ok {
			return fmt.Errorf("delivery %s/%s: recorded and gone", o.ev.source, o.ev.delivery)
		}
		o.id = id
		if id != o.ev.id { // else an earlier try of this batch wrote it and committed, its answer lost
			o.res = store.ErrDuplicate
		}
	}
	return nil
}
