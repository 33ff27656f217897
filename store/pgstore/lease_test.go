package pgstore

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"hookd/internal/pgtest"
	"hookd/store"
)

// TestLeaseLost: a process that cannot renew its lease counts it lost one
// renewal interval before it ends, claims nothing from then on, and,
// once it can renew again, Rejoin gives back the jobs it held (a running
// one comes back running, to be recorded interrupted) and it claims again.
func TestLeaseLost(t *testing.T) {
	url := pgtest.URL(t)
	const lease = 1500 * time.Millisecond
	a, err := Open(context.Background(), Options{URL: url, Lease: lease})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	j := laneJob(t, a, "r")
	ev := &store.Event{ID: j.EventID, Source: "github", DeliveryID: "d1", ReceivedAt: time.Now().UTC(), Status: "accepted"}
	if _, err := a.Accept(ev, []*store.Job{j}); err != nil {
		t.Fatal(err)
	}
	got, err := a.ClaimRunnable(1, nil)
	if err != nil || len(got) != 1 {
		t.Fatalf("claimed %d (%v)", len(got), err)
	}
	got[0].State, got[0].Attempts = store.Running, []store.Attempt{{N: 1, Start: time.Now().UTC()}}
	if err := a.SaveJob(got[0], store.Wait, nil); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	a.StopRenewing()
	select {
	case <-a.LeaseLost():
	case <-time.After(2 * lease):
		t.Fatal("the lease was never counted lost")
	}
	// Lost lease - lease/3 after the last renewal, which was sent before
	// StopRenewing, at most a renewal interval (lease/10, and a tick,
	// lease/60) before it.
	if d := time.Since(stopped); d > lease-lease/3+250*time.Millisecond || d < lease/5 {
		t.Fatalf("lost %v after renewing stopped (lease %v)", d, lease)
	}
	if _, err := a.ClaimRunnable(1, nil); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("claim after the lease was lost: %v", err)
	}
	if err := a.Rejoin(nil); err == nil {
		t.Fatal("Rejoin renewed while renewing is stopped")
	}
	a.ResumeRenewing()
	if err := a.Rejoin(nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.LeaseLost():
		t.Fatal("LeaseLost still closed after Rejoin")
	default:
	}
	got, err = a.ClaimRunnable(1, nil)
	if err != nil || len(got) != 1 || got[0].State != store.Running || !got[0].Attempts[0].End.IsZero() {
		t.Fatalf("after Rejoin: claimed %+v (%v), want the running job back", got, err)
	}
}

// TestLeaseOutlivesHalfALeaseOutage: renewals start about a tenth of a
// lease apart. The lease counts lost two thirds of a lease after the start
// of the last renewal that succeeded, so an outage that begins up to a gap
// after it is survived for two thirds of a lease less the gap: about half
// a lease. What matters is when renewals start (the database dates the
// lease from then on), so the test measures the gaps between their starts,
// with room for a loaded machine; renewing every third of a lease, as
// hookd once did, leaves gaps of a third.
func TestLeaseOutlivesHalfALeaseOutage(t *testing.T) {
	const lease = 3 * time.Second
	s, err := Open(context.Background(), Options{URL: pgtest.URL(t), Lease: lease})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var gaps []time.Duration
	last := s.lease.renewed.Load()
	for end := time.Now().Add(lease + lease/2); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if r := s.lease.renewed.Load(); r != last {
			if last != 0 {
				gaps = append(gaps, time.Duration(r-last))
			}
			last = r
		}
	}
	if len(gaps) == 0 {
		t.Fatalf("no renewal in %v (lease %v)", lease+lease/2, lease)
	}
	if widest := slices.Max(gaps); widest > lease/4 {
		t.Fatalf("renewals started up to %v apart (lease %v, gaps %v): an outage that began then would kill actions after %v; want at most %v apart",
			widest, lease, gaps, s.leaseMargin()-widest, lease/4)
	}
	if len(gaps) < 5 {
		t.Fatalf("%d renewals in %v (lease %v): %v", len(gaps)+1, lease+lease/2, lease, gaps)
	}
}

// A job whose action a process killed for its lost lease, written back by
// Rejoin as a retry due at once, runs again: a newer job of its latest lane
// does not supersede it, as it would a waiting (queued) job, and as it
// does not supersede a running job that another process takes over. The
// job is written only while the process still holds it.
func TestRejoinWritesTheKilledJobs(t *testing.T) {
	const lease = 1500 * time.Millisecond
	a, err := Open(context.Background(), Options{URL: pgtest.URL(t), Lease: lease})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	accept := func(delivery string) *store.Job {
		t.Helper()
		j := laneJob(t, a, "deploy")
		j.Latest = true
		ev := &store.Event{ID: j.EventID, Source: "github", DeliveryID: delivery, ReceivedAt: time.Now().UTC(), Status: "accepted", Jobs: []uint64{j.ID}}
		if _, err := a.Accept(ev, []*store.Job{j}); err != nil {
			t.Fatal(err)
		}
		return j
	}
	accept("d1")
	got, err := a.ClaimRunnable(1, nil)
	if err != nil || len(got) != 1 {
		t.Fatalf("claimed %d (%v)", len(got), err)
	}
	killed := got[0]
	start := time.Now().UTC()
	killed.State, killed.Attempts = store.Running, []store.Attempt{{N: 1, Start: start}}
	if err := a.SaveJob(killed, store.Wait, nil); err != nil {
		t.Fatal(err)
	}
	a.StopRenewing()
	<-a.LeaseLost()
	end := time.Now().UTC()
	killed.Attempts[0].End, killed.Attempts[0].Error = end, "interrupted: killed"
	killed.State, killed.NextAt, killed.Updated = store.Retrying, end, end
	a.ResumeRenewing()
	if err := a.Rejoin([]*store.Job{killed}); err != nil {
		t.Fatal(err)
	}
	newer := accept("d2")
	j, err := a.Job(killed.ID)
	if err != nil {
		t.Fatal(err)
	}
	if j.State != store.Retrying || len(j.Attempts) != 1 || j.Attempts[0].Error != "interrupted: killed" || !j.Attempts[0].End.Equal(end) {
		t.Fatalf("the killed job reads %s %+v; want retrying, its attempt ended %v", j.State, j.Attempts, end)
	}
	if n, _ := a.Job(newer.ID); n.State != store.Queued {
		t.Fatalf("the newer job is %s", n.State)
	}
	got, err = a.ClaimRunnable(2, nil)
	if err != nil || len(got) != 1 || got[0].ID != killed.ID {
		t.Fatalf("claimed %+v (%v); want the killed job first, alone in its lane", got, err)
	}
}
