package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hookd/internal/pgtest"
	"hookd/store"
	"hookd/store/pgstore"
)

// A node that cannot renew its lease (a partition, a long pause) stops its
// running action before another node may claim the job: nothing of the
// attempt is written by it; the other node records the attempt as
// interrupted and runs the job again. So a job never runs on two nodes at
// once, even when a node is cut off. Once it can renew again, it gives
// back what it held and claims again.
func TestClusterLeaseLost(t *testing.T) {
	url, shared := pgtest.URL(t), t.TempDir()
	const lease = 3 * time.Second
	a := startLeased(t, url, shared, "a", 1, lease)
	hold := filepath.Join(shared, "hold-lost")
	if err := os.WriteFile(hold, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	id := a.accept(push("refs/heads/main", "lost"), "d-lost")
	starts := func() int {
		n := 0
		for _, l := range sharedLines(t, shared) {
			if strings.HasPrefix(l, "start lost ") {
				n++
			}
		}
		return n
	}
	waitFor(t, "a to start the job", func() bool { return starts() == 1 })
	a.store.(*pgstore.Store).StopRenewing()
	b := startLeased(t, url, shared, "b", 1, lease)
	killed := "msg=\"job killed: this node lost its lease"
	waitFor(t, "b to run the job again", func() bool {
		if starts() < 2 {
			return false
		}
		// By the time b could claim it, a had killed it already.
		if !strings.Contains(a.logs.String(), killed) {
			t.Fatalf("b runs the job while a's action was not killed:\n%s", a.logs.String())
		}
		return true
	})
	if n := strings.Count(a.logs.String(), "this node cannot renew its lease on the database"); n != 1 {
		t.Fatalf("a logged the lost lease %d times, want once:\n%s", n, a.logs.String())
	}
	os.Remove(hold)
	j := b.waitDone(id)[0]
	want := "interrupted: its node stopped, or lost its lease on the database, while this attempt ran"
	if j.State != store.Done || len(j.Attempts) != 2 || j.Attempts[0].Error != want || j.Attempts[1].Error != "" ||
		j.Attempts[0].Node != "a" || j.Attempts[1].Node != "b" {
		t.Fatalf("job %s, attempts %+v", j.State, j.Attempts)
	}
	// The interrupted attempt ends at a's last renewal, a whole lease
	// before b could take the job, not at the takeover.
	if gap := j.Attempts[1].Start.Sub(j.Attempts[0].End); gap < lease-200*time.Millisecond {
		t.Errorf("attempt 1 ends %v before attempt 2 starts, want about a lease (%v): %+v", gap, lease, j.Attempts)
	}
	taken := fmt.Sprintf(`msg="job taken over: its attempt was interrupted on another process" job=%d rule=run attempt=1 from_node=a`, j.ID)
	if !strings.Contains(b.logs.String(), taken) {
		t.Errorf("b's log lacks %s:\n%s", taken, b.logs.String())
	}
	if got := sharedLines(t, shared); len(got) != 3 {
		t.Fatalf("lines %q: want two starts and b's end only (a's action killed)", got)
	}

	// a renews again: it gives back what it held and runs jobs again.
	a.store.(*pgstore.Store).ResumeRenewing()
	waitFor(t, "a to claim again", func() bool {
		return strings.Contains(a.logs.String(), "this node renewed its lease: it gave back the jobs it held and claims jobs again")
	})
	// a's record of the attempt it killed is not written over b's.
	if after, err := a.store.Job(j.ID); err != nil || after.State != store.Done || len(after.Attempts) != 2 {
		t.Fatalf("after a rejoined, the job is %+v (%v); want b's record, done in 2 attempts", after, err)
	}
	b.stop()
	next := a.accept(push("refs/heads/main", "after"), "d-after")
	if j := a.waitDone(next)[0]; j.State != store.Done || j.Attempts[0].Node != "a" {
		t.Fatalf("after rejoining, a's job: %s %+v", j.State, j.Attempts)
	}
}

// A node whose lease ran out while the database was unreachable to all
// (an outage longer than two thirds of the lease) and that reaches it
// again before any other node took its job over records the killed
// attempt itself: interrupted when it was killed, with what it did, by
// this node; then the job runs again with HOOKD_ATTEMPT raised.
func TestClusterLeaseLostRecordedByItsNode(t *testing.T) {
	url, shared := pgtest.URL(t), t.TempDir()
	const lease = 3 * time.Second
	a := startLeased(t, url, shared, "a", 1, lease)
	hold := filepath.Join(shared, "hold-outage")
	if err := os.WriteFile(hold, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	id := a.accept(push("refs/heads/main", "outage"), "d-outage")
	waitFor(t, "a to start the job", func() bool { return len(sharedLines(t, shared)) == 1 })
	a.store.(*pgstore.Store).StopRenewing()
	killed := "msg=\"job killed: this node lost its lease"
	waitFor(t, "a to kill the action", func() bool { return strings.Contains(a.logs.String(), killed) })
	at := time.Now()
	os.Remove(hold)
	a.store.(*pgstore.Store).ResumeRenewing()
	j := a.waitDone(id)[0]
	if j.State != store.Done || len(j.Attempts) != 2 || j.Attempts[0].Error != errKilledForLease ||
		j.Attempts[0].Node != "a" || j.Attempts[1].Node != "a" || j.Attempts[1].N != 2 || len(j.Attempts[0].Steps) != 1 {
		t.Fatalf("job %s, attempts %+v", j.State, j.Attempts)
	}
	if end := j.Attempts[0].End; end.After(at) || at.Sub(end) > time.Second {
		t.Errorf("attempt 1 ends at %v; want when it was killed, just before %v", end, at)
	}
	if strings.Contains(a.logs.String(), "job taken over") {
		t.Errorf("a says it took the job over from another process:\n%s", a.logs.String())
	}
}

// A node that loses its lease while a claim hangs on its connection (a
// partition: the claim waits out its call timeout) kills its actions at
// once, not after the claim: another node may take them a third of a
// lease later.
func TestLeaseLostKillsWithAClaimInFlight(t *testing.T) {
	url, shared := pgtest.URL(t), t.TempDir()
	a := startLeased(t, url, shared, "a", 2, 3*time.Second)
	hold := filepath.Join(shared, "hold-lost")
	if err := os.WriteFile(hold, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	a.accept(push("refs/heads/main", "lost"), "d-lost")
	waitFor(t, "a to start the job", func() bool { return len(sharedLines(t, shared)) == 1 })
	c := a.disp.shared
	c.claimMu.Lock() // a claim in flight that does not come back
	defer c.claimMu.Unlock()
	a.store.(*pgstore.Store).StopRenewing()
	waitFor(t, "a to kill its action", func() bool {
		return strings.Contains(a.logs.String(), `msg="job killed: this node lost its lease`)
	})
}
