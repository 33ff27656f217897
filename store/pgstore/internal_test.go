package pgstore

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"hookd/internal/pgtest"
	"hookd/store"
)

// A password in an error's message is masked, wherever it came from.
func TestRedact(t *testing.T) {
	for _, tc := range []struct{ url, err, want string }{
		{"postgres://u:s3cr%ZZet@h/db", "bad url postgres://u:s3cr%ZZet@h/db", "bad url postgres://u:xxxxx@h/db"},
		{"postgresql://u:pw:x@h@host/db", "at u:pw:x@h", "at u:xxxxx"},
		{"host=h password='s3cret' user=u", "cannot parse host=h password='s3cret'", "cannot parse host=h password='xxxxx'"},
		{"postgres://u@h/db", "no password here", "no password here"},
		{"postgres://u@h/db", "failed to connect to `user=u`:\n\thostname resolving error: x\n\tlookup h: no such host",
			"failed to connect to `user=u`; hostname resolving error: x; lookup h: no such host"},
		{"postgres://u:pw9@h/db", "as u:pw9:\n\tdenied\r\n", "as u:xxxxx; denied"},
	} {
		err := redact(errors.New(tc.err), passwordOf(tc.url))
		if err.Error() != tc.want {
			t.Errorf("%s: %q, want %q", tc.url, err, tc.want)
		}
	}
}

func openT(t testing.TB, url string) *Store {
	s, err := Open(context.Background(), Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Two processes never hold jobs of one lane at once, even when their
// claims see different snapshots. Job X of lane L is inserted first but
// committed last; job Y, after it, is committed at once. Process a's
// claim sees only Y; X commits while a is paused, after reading its
// candidates (stage 1) or after checking their lane (stage 2); then b
// claims. Paused at 1, a must find Y no longer the lane's oldest (b has
// X); paused at 2, a holds the lane's lock, so b takes nothing. Either
// way one process holds the lane.
func TestLaneClaimSnapshotsDiffer(t *testing.T) {
	for _, stage := range []int{1, 2} {
		aGot, bGot, x, y := claimRace(t, stage)
		want := map[int][2][]uint64{1: {nil, {x}}, 2: {{y}, nil}}[stage]
		if got := [2][]uint64{ids(aGot), ids(bGot)}; !slices.Equal(got[0], want[0]) || !slices.Equal(got[1], want[1]) {
			t.Errorf("paused at %d: a claimed %v, b %v; want %v, %v", stage, got[0], got[1], want[0], want[1])
		}
	}
}

func ids(jobs []*store.Job) []uint64 {
	var out []uint64
	for _, j := range jobs {
		out = append(out, j.ID)
	}
	return out
}

// claimRace sets up X and Y, pauses a's claim at stage while X commits
// and b claims, and returns what each claimed and X's and Y's ids.
func claimRace(t *testing.T, stage int) (aGot, bGot []*store.Job, x, y uint64) {
	url := pgtest.URL(t)
	a, b := openT(t, url), openT(t, url)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	xj := laneJob(t, a, "x")
	ev, _ := encodeEvent(&store.Event{ID: xj.EventID, Source: "github", DeliveryID: "x", Status: "accepted"})
	if _, err := tx.Exec(ctx, `INSERT INTO events (id, source, delivery_id, event, received_at, status, doc) VALUES ($1, 'github', 'x', 'push', now(), 'accepted', $2)`,
		int64(xj.EventID), ev.doc); err != nil {
		t.Fatal(err)
	}
	xr, _ := encodeJob(xj)
	if _, err := tx.Exec(ctx, insertJob, xr.insertArgs(xj.EventID)...); err != nil {
		t.Fatal(err)
	}
	yj := laneJob(t, a, "y")
	yev := &store.Event{ID: yj.EventID, Source: "github", DeliveryID: "y", Status: "accepted", Jobs: []uint64{yj.ID}}
	if _, err := a.Accept(yev, []*store.Job{yj}); err != nil {
		t.Fatal(err)
	}
	paused, resume, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	a.claimPause = func(at int) {
		if at == stage {
			close(paused)
			<-resume
		}
	}
	var aErr error
	go func() {
		defer close(done)
		aGot, aErr = a.ClaimRunnable(5, nil)
	}()
	<-paused
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	bGot, err = b.ClaimRunnable(5, nil)
	close(resume)
	<-done
	if err != nil || aErr != nil {
		t.Fatal(err, aErr)
	}
	return aGot, bGot, xj.ID, yj.ID
}

// laneJob allocates an event and its job in lane "L" on s.
func laneJob(t *testing.T, s *Store, rule string) *store.Job {
	evID, err := s.NextEventID()
	if err != nil {
		t.Fatal(err)
	}
	jobID, err := s.NextJobID()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	return &store.Job{ID: jobID, EventID: evID, Rule: rule, Lane: "L", State: store.Queued, Created: now, Updated: now}
}

// One process prunes at a time: while another holds the pruner's lock,
// Prune deletes nothing and returns at once.
func TestOnePruner(t *testing.T) {
	url := pgtest.URL(t)
	s := openT(t, url)
	old := time.Now().Add(-time.Hour).UTC()
	id, err := s.NextEventID()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Record(&store.Event{ID: id, Source: "github", DeliveryID: "old", ReceivedAt: old, Status: "ignored"}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1, 0)`, nsPrune); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Prune(time.Now(), time.Now(), 10); n != 0 || err != nil {
		t.Fatalf("pruned %d (%v) while another process prunes", n, err)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock($1, 0)`, nsPrune); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Prune(time.Now(), time.Now(), 10); n != 1 || err != nil {
		t.Fatalf("pruned %d (%v), want 1", n, err)
	}
}

// A commit that only replaces the waiting job of a latest lane wakes no
// claimer: the lane had a waiting job already. One that adds a job that
// nothing waited before does.
func TestWakesOnlyForNewWork(t *testing.T) {
	url := pgtest.URL(t)
	s := openT(t, url)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `LISTEN `+channel); err != nil {
		t.Fatal(err)
	}
	notified := func() bool {
		ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		_, err := conn.WaitForNotification(ctx)
		return err == nil
	}
	accept := func(delivery, lane string, latest, hold bool) {
		t.Helper()
		evID, _ := s.NextEventID()
		jobID, _ := s.NextJobID()
		ev := &store.Event{ID: evID, Source: "github", DeliveryID: delivery, Event: "push", Status: "accepted", ReceivedAt: time.Now(), Jobs: []uint64{jobID}}
		j := &store.Job{ID: jobID, EventID: evID, Rule: "deploy", Lane: lane, Latest: latest, State: store.Queued, Created: time.Now(), Updated: time.Now(), Hold: hold}
		if _, err := s.Accept(ev, []*store.Job{j}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		delivery, lane     string
		latest, hold, wake bool
	}{
		{"first", "deploy", true, false, true},   // the lane's first waiting job
		{"second", "deploy", true, false, false}, // replaces it
		{"third", "deploy", true, false, false},
		{"free", "", false, false, true}, // a job without a lane
		{"held", "", false, true, false}, // a job its writer runs
		{"other", "docs", true, false, true},
	} {
		accept(tc.delivery, tc.lane, tc.latest, tc.hold)
		if got := notified(); got != tc.wake {
			t.Errorf("%s: notified %v, want %v", tc.delivery, got, tc.wake)
		}
	}
}

// Each node's connections carry its name, unless the URL names them.
func TestApplicationName(t *testing.T) {
	for _, tc := range []struct{ query, want string }{
		{"", "hookd web-9"},
		{"application_name=mine", "mine"},
	} {
		url := pgtest.URL(t)
		if tc.query != "" {
			sep := "?"
			if strings.Contains(url, "?") {
				sep = "&"
			}
			url += sep + tc.query
		}
		s, err := Open(context.Background(), Options{URL: url, Node: "web-9"})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		rows, err := s.pool.Query(context.Background(), `SELECT DISTINCT application_name FROM pg_stat_activity WHERE datname = current_database()`)
		if err == nil {
			names, err = pgx.CollectRows(rows, pgx.RowTo[string])
		}
		s.Close()
		if err != nil || !slices.Equal(names, []string{tc.want}) {
			t.Errorf("%q: application names %q (%v), want %q", tc.query, names, err, tc.want)
		}
	}
}
