package pgstore

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"hookd/internal/pgtest"
	"hookd/store"
)

// processRows returns the ids in the processes table, sorted.
func processRows(t *testing.T, conn *pgx.Conn) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(), `SELECT id FROM processes ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func sorted(ids ...string) []string { slices.Sort(ids); return ids }

// TestPruneProcesses: the pruner deletes the rows of processes whose lease
// was given back or ended more than a day ago, unless a job names them as
// its holder; a live process whose row went registers again at its next
// renewal.
func TestPruneProcesses(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	endLease := func(s *Store, ago string) {
		t.Helper()
		// A lease length of zero too: the grace a server restart gives
		// (leaseOver) would otherwise hold the job for a lease after this
		// test's server started.
		if _, err := conn.Exec(ctx, `UPDATE processes SET lease_until = now() - $2::interval, lease = interval '0' WHERE id = $1`, s.Process(), ago); err != nil {
			t.Fatal(err)
		}
	}
	pruner := openT(t, url)
	pruner.procPruneEvery = 0 // every Prune looks

	// holder died two days ago holding a job, which outlives it.
	holder := openT(t, url)
	j := laneJob(t, holder, "r")
	j.Lane = ""
	ev := &store.Event{ID: j.EventID, Source: "github", DeliveryID: "d1", ReceivedAt: time.Now().UTC(), Status: "accepted"}
	if _, err := holder.Accept(ev, []*store.Job{j}); err != nil {
		t.Fatal(err)
	}
	if got, err := holder.ClaimRunnable(1, nil); err != nil || len(got) != 1 {
		t.Fatalf("claimed %d (%v)", len(got), err)
	}
	holder.Abandon()
	endLease(holder, "2 days")

	closed := openT(t, url)
	closed.Close() // gave its lease back a moment ago, holds nothing
	old := openT(t, url)
	old.Abandon()
	endLease(old, "25 hours")
	recent := openT(t, url)
	recent.Abandon()
	endLease(recent, "23 hours")

	if _, err := pruner.Prune(time.Now().Add(-time.Hour), time.Now().Add(-time.Hour), 10); err != nil {
		t.Fatal(err)
	}
	if got, want := processRows(t, conn), sorted(pruner.Process(), holder.Process(), recent.Process()); !slices.Equal(got, want) {
		t.Fatalf("processes after prune: %v, want %v (pruner, holder, recent)", got, want)
	}

	// Once another process holds the job, the dead holder's row goes.
	if got, err := pruner.ClaimRunnable(1, nil); err != nil || len(got) != 1 {
		t.Fatalf("took over %d (%v)", len(got), err)
	}
	if _, err := pruner.Prune(time.Now().Add(-time.Hour), time.Now().Add(-time.Hour), 10); err != nil {
		t.Fatal(err)
	}
	if got, want := processRows(t, conn), sorted(pruner.Process(), recent.Process()); !slices.Equal(got, want) {
		t.Fatalf("processes after the job changed holder: %v, want %v", got, want)
	}

	// A live process cut off for more than a day, its row pruned, renews
	// as a new row, before it could claim again.
	live, err := Open(ctx, Options{URL: url, Lease: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	endLease(live, "2 days")
	if _, err := pruner.Prune(time.Now().Add(-time.Hour), time.Now().Add(-time.Hour), 10); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(processRows(t, conn), live.Process()) {
		t.Fatal("the row of a process whose lease ended two days ago was kept")
	}
	deadline := time.Now().Add(5 * time.Second)
	for !slices.Contains(processRows(t, conn), live.Process()) {
		if time.Now().After(deadline) {
			t.Fatal("a live process whose row was pruned did not register again")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
