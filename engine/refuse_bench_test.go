package engine

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"hookd/rules"
	"hookd/store"
)

// The refusal benchmarks: what a 503 for a full queue costs, and what the
// refusals take from the workers.
//
//	go test ./engine -run '^$' -bench 'Refus' -benchtime 3000x -count 5

const refuseRules = benchSource + `
  - name: run
    source: github
    when: event == "push" && body.ref == "refs/heads/main"
    actions: [{shell: {command: [/bin/true]}}]
`

// BenchmarkRefusal: the intake handler alone, answering GitHub-sized
// pushes (7.5 KB) that match a rule with 503 because the queue is full.
// ns/op and allocs/op are the handler's own (no client, no loopback, no
// pause).
func BenchmarkRefusal(b *testing.B) {
	dir := b.TempDir()
	recordJobs(b, dir, 1)
	te := startEngine(b, dir, refuseRules, func(c *rules.Config) { c.MaxQueued = 1; c.Workers = 1 })
	te.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	te.disp.mu.Lock()
	te.disp.pending = 1 << 30 // full whatever the worker finishes
	te.disp.mu.Unlock()
	reqs := fullPushes(b.N)
	hreqs := make([]*http.Request, b.N)
	// A client already gone: the 503 is not held for refusalPause, so
	// ns/op is the handler's work.
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	for i, r := range reqs {
		hreqs[i] = httptest.NewRequestWithContext(gone, "POST", "/hooks/github", bytes.NewReader(r.body))
		hreqs[i].Header = r.hdr
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w := httptest.NewRecorder()
		te.intake(w, hreqs[i])
		if w.Code != http.StatusServiceUnavailable {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	b.StopTimer()
	te.disp.mu.Lock()
	te.disp.pending = 1
	te.disp.mu.Unlock()
}

// BenchmarkRefusalDrain: b.N recorded jobs running /bin/true with the
// default workers, drained twice in one run: with no intake, then with 64
// clients sending matching pushes that are all refused (max_queued: 1, so
// the queue stays full until it is empty). cmd/s-ratio is the second rate
// over the first.
func BenchmarkRefusalDrain(b *testing.B) {
	quiet := drainRate(b, false)
	hammered := drainRate(b, true)
	b.ReportMetric(quiet, "quiet-cmd/s")
	b.ReportMetric(hammered, "refusing-cmd/s")
	b.ReportMetric(hammered/quiet, "cmd/s-ratio")
}

// recordJobs stores n accepted events, each with one queued job of rule run.
func recordJobs(b *testing.B, dir string, n int) {
	st, err := store.Open(filepath.Join(dir, "data"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	for i := 0; i < n; i++ {
		ev := &store.Event{ID: st.NewEventID(), Source: "github", DeliveryID: fmt.Sprint("queued-", i), Event: "push", Status: "accepted", Body: []byte(`{}`)}
		j := &store.Job{ID: st.NewJobID(), EventID: ev.ID, Rule: "run", State: store.Queued}
		ev.Jobs = []uint64{j.ID}
		if _, err := st.Accept(ev, []*store.Job{j}); err != nil {
			b.Fatal(err)
		}
	}
}

// drainRate starts an engine on b.N recorded jobs and returns the
// commands run per second until they are all done, with or without
// clients being refused meanwhile.
func drainRate(b *testing.B, refuse bool) float64 {
	b.StopTimer()
	dir := b.TempDir()
	recordJobs(b, dir, b.N)
	var reqs []signedReq
	if refuse {
		reqs = fullPushes(4096)
	}
	b.StartTimer()
	start := time.Now()
	te := startEngine(b, dir, refuseRules, func(c *rules.Config) { c.MaxQueued = 1 })
	te.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	var stop atomic.Bool
	var refused atomic.Int64
	var wg sync.WaitGroup
	if refuse {
		tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients, DisableCompression: true}
		defer tr.CloseIdleConnections()
		client := &http.Client{Transport: tr}
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func(c int) {
				defer wg.Done()
				for i := c; !stop.Load(); i += clients {
					r := reqs[i%len(reqs)]
					req, _ := http.NewRequest("POST", te.url+"/hooks/github", bytes.NewReader(r.body))
					req.Header = r.hdr.Clone()
					resp, err := client.Do(req)
					if err != nil {
						continue
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode == http.StatusServiceUnavailable {
						refused.Add(1)
					}
				}
			}(c)
		}
	}
	done := te.met.jobOutcomes.WithLabelValues("run", "done")
	count := func() float64 {
		var m dto.Metric
		_ = done.Write(&m)
		return m.GetCounter().GetValue()
	}
	for count() < float64(b.N) {
		time.Sleep(2 * time.Millisecond)
	}
	elapsed := time.Since(start)
	stop.Store(true)
	wg.Wait()
	b.StopTimer()
	te.stop()
	if refuse {
		b.ReportMetric(float64(refused.Load())/elapsed.Seconds(), "refusals/s")
	}
	return float64(b.N) / elapsed.Seconds()
}
