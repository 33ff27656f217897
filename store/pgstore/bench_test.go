package pgstore_test

import (
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"hookd/internal/pgtest"
	"hookd/store"
	"hookd/store/pgstore"
)

// BenchmarkAccept measures intake: an event id, a job id and an accepted
// event with one job, from many goroutines at once (group commit).
func BenchmarkAccept(b *testing.B) {
	s := open(b, pgtest.URL(b), pgstore.Options{MaxConns: 20})
	body := []byte(`{"ref":"refs/heads/main","repository":{"full_name":"o/r"}}`)
	var n, commits, writes, took atomic.Int64
	s.SetCommitHook(func(d time.Duration, w int) { commits.Add(1); writes.Add(int64(w)); took.Add(int64(d)) })
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id, err := s.NextEventID()
			if err != nil {
				b.Error(err)
				return
			}
			now := time.Now().UTC()
			ev := &store.Event{ID: id, Source: "github", DeliveryID: fmt.Sprint("d", n.Add(1)), Event: "push", ReceivedAt: now,
				Method: "POST", Path: "/hooks/github", Headers: map[string]string{"x-github-event": "push"}, Body: body, Status: "accepted"}
			j := &store.Job{EventID: id, Rule: "deploy", State: store.Queued, Created: now, Updated: now}
			if j.ID, err = s.NextJobID(); err != nil {
				b.Error(err)
				return
			}
			ev.Rules, ev.Jobs = []string{"deploy"}, []uint64{j.ID}
			if _, err := s.Accept(ev, []*store.Job{j}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "accepts/s")
	if c := commits.Load(); c > 0 {
		b.ReportMetric(float64(writes.Load())/float64(c), "writes/commit")
		b.ReportMetric(float64(took.Load())/float64(c)/1e6, "ms/commit")
	}
}

// acceptJob accepts an event with one job of lane on s.
func acceptJob(b *testing.B, s *pgstore.Store, d, lane string) {
	id, err := s.NextEventID()
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC()
	j := &store.Job{EventID: id, Rule: "deploy", Lane: lane, State: store.Queued, Created: now, Updated: now}
	if j.ID, err = s.NextJobID(); err != nil {
		b.Fatal(err)
	}
	ev := &store.Event{ID: id, Source: "github", DeliveryID: d, Event: "push", ReceivedAt: now, Status: "accepted",
		Rules: []string{"deploy"}, Jobs: []uint64{j.ID}}
	if _, err := s.Accept(ev, []*store.Job{j}); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkClaim measures jobs claimed and saved done by four workers on
// each of two processes (no lanes): the store's share of running a job.
func BenchmarkClaim(b *testing.B) {
	url := pgtest.URL(b)
	p := []*pgstore.Store{open(b, url, pgstore.Options{}), open(b, url, pgstore.Options{})}
	for i := range b.N {
		acceptJob(b, p[i%2], fmt.Sprint("c", i), "")
	}
	b.ResetTimer()
	var left atomic.Int64
	left.Store(int64(b.N))
	done := make(chan struct{})
	for w := range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			s := p[w%2]
			for left.Load() > 0 {
				jobs, err := s.ClaimRunnable(1, nil)
				if err != nil {
					b.Error(err)
					return
				}
				for _, j := range jobs {
					j.State = store.Done
					if err := s.SaveJob(j, store.Wait, nil); err != nil {
						b.Error(err)
						return
					}
					left.Add(-1)
				}
			}
		}()
	}
	for range 8 {
		<-done
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
}

// BenchmarkWakeToClaim measures, on an idle pair of processes, the time
// from an accept on one to the other holding the job, woken by NOTIFY.
func BenchmarkWakeToClaim(b *testing.B) {
	url := pgtest.URL(b)
	a, o := open(b, url, pgstore.Options{}), open(b, url, pgstore.Options{})
	lat := make([]time.Duration, 0, b.N)
	for i := range b.N {
		drain(o.Wake())
		start := time.Now()
		acceptJob(b, a, fmt.Sprint("w", i), "")
		for got := false; !got; {
			<-o.Wake()
			jobs, err := o.ClaimRunnable(1, nil)
			if err != nil {
				b.Fatal(err)
			}
			got = len(jobs) == 1
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
