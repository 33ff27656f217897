package pgstore_test

import (
	"fmt"
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
