package pgstore

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"hookd/internal/pgtest"
	"hookd/store"
)

// acceptOp makes an accept of delivery d with a job, in latest lane lane
// if one is named.
func acceptOp(t *testing.T, s *Store, d, lane string) *op {
	t.Helper()
	id, err := s.NextEventID()
	if err != nil {
		t.Fatal(err)
	}
	jid, err := s.NextJobID()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	e, err := encodeEvent(&store.Event{ID: id, Source: "github", DeliveryID: d, Event: "push", ReceivedAt: now,
		Status: "accepted", Rules: []string{"deploy"}, Jobs: []uint64{jid}})
	if err != nil {
		t.Fatal(err)
	}
	j, err := encodeJob(&store.Job{ID: jid, EventID: id, Rule: "deploy", Lane: lane, Latest: lane != "",
		State: store.Queued, Created: now, Updated: now})
	if err != nil {
		t.Fatal(err)
	}
	return &op{kind: opAccept, ev: e, jobs: []*jobRow{j}, queued: now}
}

// commitOps commits ops as one group and fails t on a write's error.
func commitOps(t *testing.T, s *Store, ops ...*op) {
	t.Helper()
	for _, o := range ops {
		o.errc = make(chan error, 1)
	}
	s.commit(ops)
	for _, o := range ops {
		if err := <-o.errc; err != nil && !errors.Is(err, store.ErrDuplicate) {
			t.Fatalf("delivery %s: %v", o.ev.delivery, err)
		}
	}
}

// One round trip settles a batch that holds a delivery twice and one
// recorded by an earlier commit: each copy after the first, and the
// redelivery, are duplicates of the event first recorded.
func TestPipelinedDuplicates(t *testing.T) {
	s := openT(t, pgtest.URL(t))
	before := acceptOp(t, s, "d0", "")
	commitOps(t, s, before)
	a, b, c, d := acceptOp(t, s, "d1", ""), acceptOp(t, s, "d2", ""), acceptOp(t, s, "d1", ""), acceptOp(t, s, "d0", "")
	if err := s.tryPipelined([]*op{a, b, c, d}, true); err != nil {
		t.Fatalf("the batch: %v", err)
	}
	for _, tc := range []struct {
		o    *op
		id   uint64
		dup  bool
		name string
	}{
		{a, a.ev.id, false, "first d1"},
		{b, b.ev.id, false, "d2"},
		{c, a.ev.id, true, "second d1"},
		{d, before.ev.id, true, "d0 again"},
	} {
		if tc.o.id != tc.id || errors.Is(tc.o.res, store.ErrDuplicate) != tc.dup {
			t.Errorf("%s: event %d, %v; want %d, duplicate %v", tc.name, tc.o.id, tc.o.res, tc.id, tc.dup)
		}
	}
	if n := s.Seen("github", "d1"); n != a.ev.id {
		t.Errorf("d1 is recorded as event %d, want %d", n, a.ev.id)
	}
}

// When the job a batch keeps waiting in a latest lane belongs to a
// delivery recorded before, the lane keeps the batch's newest job that
// was written, and the job that waited before it is superseded by that
// one.
func TestPipelinedKeeperDuplicate(t *testing.T) {
	s := openT(t, pgtest.URL(t))
	old := acceptOp(t, s, "k0", "deploy")
	commitOps(t, s, old)
	mid, dup := acceptOp(t, s, "k1", "deploy"), acceptOp(t, s, "k0", "deploy")
	if err := s.tryPipelined([]*op{mid, dup}, true); !errors.Is(err, errKeeperDup) {
		t.Fatalf("the batch ahead: %v, want errKeeperDup", err)
	}
	commitOps(t, s, mid, dup)
	if !errors.Is(dup.res, store.ErrDuplicate) || dup.id != old.ev.id {
		t.Errorf("k0 again: event %d, %v; want a duplicate of %d", dup.id, dup.res, old.ev.id)
	}
	want := map[uint64]string{old.jobs[0].id: store.Superseded, mid.jobs[0].id: store.Queued}
	for id, state := range want {
		j, err := s.Job(id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State != state {
			t.Errorf("job %d: %s (%s), want %s", id, j.State, j.Error, state)
		}
	}
	if j, _ := s.Job(old.jobs[0].id); j != nil && j.Error != "superseded by job "+itoa(mid.jobs[0].id)+" of event "+itoa(mid.ev.id) {
		t.Errorf("the superseded job says %q", j.Error)
	}
}

// A delivery already recorded under the accept's own event id was written
// by an earlier try of the same batch whose answer was lost: accepted.
func TestSettleOwnEvent(t *testing.T) {
	s := openT(t, pgtest.URL(t))
	o := acceptOp(t, s, "own", "")
	commitOps(t, s, o)
	again := *o
	again.id, again.res = 0, nil
	ctx := context.Background()
	if err := settleDuplicates(ctx, s.pool, []*op{&again}, []bool{false}, map[int64]bool{}); err != nil {
		t.Fatal(err)
	}
	if again.id != o.ev.id || again.res != nil {
		t.Errorf("event %d, %v; want %d accepted", again.id, again.res, o.ev.id)
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// The open jobs' bound is checked inside the round trip, against the jobs'
// sequence as the batch is written: jobs another process wrote since this
// one's last count make a batch past max_queued write nothing, for the
// plain transaction to count exactly.
func TestPipelinedBound(t *testing.T) {
	url := pgtest.URL(t)
	a, b := openT(t, url), openT(t, url)
	ctx := context.Background()
	var seq int64
	if err := a.pool.QueryRow(ctx, seqNow).Scan(&seq); err != nil {
		t.Fatal(err)
	}
	a.SetMaxQueued(2)
	a.open.set(0, seq)
	commitOps(t, b, acceptOp(t, b, "b1", ""), acceptOp(t, b, "b2", ""))
	o := acceptOp(t, a, "a1", "")
	if err := a.tryPipelined([]*op{o}, true); !errors.Is(err, errPlain) {
		t.Fatalf("a batch past max_queued: %v, want errPlain", err)
	}
	if id := a.Seen("github", "a1"); id != 0 {
		t.Errorf("the batch past max_queued wrote event %d", id)
	}
	if err := a.tryPipelined([]*op{acceptOp(t, a, "a2", "")}, true); !errors.Is(err, errPlain) {
		t.Fatalf("again: %v, want errPlain", err)
	}
	a.SetMaxQueued(3)
	if err := a.tryPipelined([]*op{acceptOp(t, a, "a3", "")}, true); err != nil {
		t.Fatalf("a batch within max_queued: %v", err)
	}
}

// An event's document is written into one allocation: docSize leaves
// room for GitHub's delivery headers.
func TestDocSize(t *testing.T) {
	h := map[string]string{"accept": "*/*", "content-type": "application/json", "user-agent": "GitHub-Hookshot/0a1b2c3",
		"x-github-delivery": "0b989ba4-242f-11e5-81e1-c7b6966d2516", "x-github-event": "push", "x-github-hook-id": "123456789",
		"x-github-hook-installation-target-id": "987654321", "x-github-hook-installation-target-type": "repository",
		"x-hub-signature":     "sha1=0123456789abcdef0123456789abcdef01234567",
		"x-hub-signature-256": "sha256=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}
	for _, ev := range []*store.Event{
		{ID: 1 << 40, Source: "github", DeliveryID: h["x-github-delivery"], Event: "push", ReceivedAt: time.Now(), Method: "POST",
			Path: "/hooks/github", RemoteAddr: "192.0.2.10:54321", Headers: h, Status: "accepted", Rules: []string{"deploy", "notify"},
			Jobs: []uint64{1 << 40, 1<<40 + 1}},
		{ID: 7, Source: "s", DeliveryID: "d", Event: "e", Status: "ignored"},
	} {
		r, err := encodeEvent(ev)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.doc) > docSize(ev) {
			t.Errorf("a document of %d bytes, %d made room for", len(r.doc), docSize(ev))
		}
	}
}

// A replay takes its lanes' locks before its event's row, in the order a
// group commit of accepts takes them (the lanes, then the row of an event
// it finds a redelivery of): a batch holding the lane never waits for a
// replay that holds the row and waits for the lane, which PostgreSQL
// would end as a deadlock after a second.
func TestReplayLockOrder(t *testing.T) {
	s := openT(t, pgtest.URL(t))
	o := acceptOp(t, s, "r0", "deploy")
	commitOps(t, s, o)
	jid, err := s.NextJobID()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tx, err := s.pool.Begin(ctx) // another node's group commit
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if err := lockLanes(ctx, tx, []string{"deploy"}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- s.AddJobs(o.ev.id, []*store.Job{{ID: jid, EventID: o.ev.id, Rule: "deploy", Lane: "deploy", Latest: true,
			State: store.Queued, Created: time.Now(), Updated: time.Now()}})
	}()
	time.Sleep(300 * time.Millisecond) // the replay waits for the lane
	start := time.Now()
	if _, err := tx.Exec(ctx, `SELECT 1 FROM events WHERE id = $1 FOR UPDATE`, int64(o.ev.id)); err != nil {
		t.Fatalf("the group commit's lock of the event: %v", err)
	}
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Errorf("the group commit waited %v for the event's row", took)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("the replay: %v", err)
	}
}

// A count taken while another process's insert is in flight (its jobs'
// seq values taken, its rows not yet visible) is no base for the open
// jobs' bound: the bound would stay short of those jobs, and the process
// would accept past max_queued until its next count.
func TestCountWithAnInsertInFlight(t *testing.T) {
	url := pgtest.URL(t)
	a, b := openT(t, url), openT(t, url)
	a.SetMaxQueued(100)
	b.SetMaxQueued(2)
	first := acceptOp(t, a, "w0", "deploy")
	commitOps(t, a, first)

	// Holding the waiting job's row, the other process's next commit
	// to its lane inserts, then waits to supersede it.
	ctx := context.Background()
	tx, err := a.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT 1 FROM jobs WHERE id = $1 FOR UPDATE`, first.jobs[0].id); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		commitOps(t, a, acceptOp(t, a, "w1", ""), acceptOp(t, a, "w2", "deploy"))
	}()
	for waiting := 0; waiting == 0; {
		if err := a.pool.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.refresh() // the count sees only w0's job
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	<-done // two jobs open: w1's and w2's

	o := acceptOp(t, b, "b1", "")
	o.errc = make(chan error, 1)
	b.commit([]*op{o})
	if err := <-o.errc; !errors.Is(err, store.ErrFull) {
		t.Fatalf("a third job past max_queued 2: %v, want store.ErrFull", err)
	}
}
