package engine

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hookd/internal/pgtest"
	"hookd/rules"
	"hookd/store"
	"hookd/store/pgstore"
)

// The cluster benchmarks run hookd nodes in this process on one
// PostgreSQL database (pgtest's server), against the ceiling and the
// bbolt figures measured in the same run:
//
//	go test ./engine -run '^$' -bench 'Postgres' -benchtime 20000x
//	go test ./engine -run '^$' -bench 'QueueToStart' -benchtime 300x
//	go test ./engine -run '^$' -bench 'Execution' -benchtime 10000x

// onPostgres makes a node of the database at url.
func onPostgres(url, node string) func(*rules.Config) {
	return func(c *rules.Config) {
		c.Node = node
		c.Store = rules.DefaultStore
		c.Store.Driver, c.Store.URL = rules.DriverPostgres, url
	}
}

// then runs mods in turn.
func then(mods ...func(*rules.Config)) func(*rules.Config) {
	return func(c *rules.Config) {
		for _, m := range mods {
			if m != nil {
				m(c)
			}
		}
	}
}

const latestRule = benchSource + `
  - name: deploy
    source: github
    when: event == "push" && body.ref == "refs/heads/main"
    concurrency: latest
    actions: [{shell: {command: [sleep, "10"]}}]
`

// BenchmarkIntakeAcceptedPostgres is BenchmarkIntakeAcceptedRandomIDs on
// one node whose store is PostgreSQL, with the default max_conns; compare
// it with BenchmarkCeilingPostgres.
func BenchmarkIntakeAcceptedPostgres(b *testing.B) {
	dbURL := pgtest.URL(b)
	te := benchEngine(b, latestRule, then(onPostgres(dbURL, "bench-1"),
		func(c *rules.Config) { c.ShutdownTimeout = time.Second; c.MaxQueued = 1 << 30 }))
	reqs := randomPushes(b.N)
	withPostgresCPU(b, dbURL, func() { drive(b, te.url+"/hooks/github", reqs, 200) })
}

const trueRule = benchSource + `
  - name: run
    source: github
    actions: [{shell: {command: [/bin/true]}}]
`

// BenchmarkQueueToStartCluster sends b.N pushes, one at a time, to three
// idle nodes in turn, and reports the time from each job's creation (when
// its request arrived: the intake commit is included) to the start of its
// attempt, wherever it ran. BenchmarkQueueToStart is the same on one bbolt
// node.
func BenchmarkQueueToStartCluster(b *testing.B) {
	url := pgtest.URL(b)
	var nodes []*testEngine
	for i := 1; i <= 3; i++ {
		nodes = append(nodes, benchEngine(b, trueRule, onPostgres(url, fmt.Sprintf("bench-%d", i))))
	}
	queueToStart(b, nodes)
}

func BenchmarkQueueToStart(b *testing.B) {
	queueToStart(b, []*testEngine{benchEngine(b, trueRule, nil)})
}

func queueToStart(b *testing.B, nodes []*testEngine) {
	reqs := randomPushes(b.N)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i, r := range reqs {
		te := nodes[i%len(nodes)]
		id := te.accept(r.body, r.hdr.Get("X-Github-Delivery"))
		var j *store.Job
		deadline := time.Now().Add(10 * time.Second)
		for {
			_, jobs, err := te.Store().EventJobs(id)
			if err != nil {
				b.Fatal(err)
			}
			if len(jobs) == 1 && store.Final(jobs[0].State) {
				j = jobs[0]
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("event %d: its job did not end within 10s", id)
			}
			time.Sleep(time.Millisecond)
		}
		if len(j.Attempts) == 0 || j.State != store.Done {
			b.Fatalf("job %d: %s, attempts %+v", j.ID, j.State, j.Attempts)
		}
		lat = append(lat, j.Attempts[0].Start.Sub(j.Created))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkExecutionCluster is BenchmarkExecution on three nodes of one
// PostgreSQL database, 8 workers each: b.N events with one /bin/true job
// each are recorded first, then the nodes start and the time until the
// last job ended is measured.
func BenchmarkExecutionCluster(b *testing.B) {
	dbURL := pgtest.URL(b)
	ctx := context.Background()
	st, err := pgstore.Open(ctx, pgstore.Options{URL: dbURL, Node: "loader"})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	jobIDs := make([]uint64, b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= b.N {
					return
				}
				evID, err := st.NextEventID()
				if err != nil {
					b.Error(err)
					return
				}
				jobID, err := st.NextJobID()
				if err != nil {
					b.Error(err)
					return
				}
				now := time.Now()
				ev := &store.Event{ID: evID, Source: "github", DeliveryID: fmt.Sprint(i), Event: "push", Status: "accepted", Body: []byte(`{}`), ReceivedAt: now, Jobs: []uint64{jobID}}
				j := &store.Job{ID: jobID, EventID: evID, Rule: "run", State: store.Queued, Created: now, Updated: now}
				if _, err := st.Accept(ev, []*store.Job{j}); err != nil {
					b.Error(err)
					return
				}
				jobIDs[i] = jobID
			}
		}()
	}
	wg.Wait()
	if b.Failed() {
		return
	}
	b.ResetTimer()
	start := time.Now()
	withPostgresCPU(b, dbURL, func() {
		for i := 1; i <= 3; i++ {
			benchEngine(b, trueRule, then(onPostgres(dbURL, fmt.Sprintf("bench-%d", i)),
				func(c *rules.Config) { c.Workers = 8; c.MaxQueued = 1 << 30 }))
		}
		// Poll the last job first: jobs run in arrival order, so when it has
		// ended nearly all have.
		for i := b.N - 1; i >= 0; {
			j, err := st.Job(jobIDs[i])
			if err != nil {
				b.Fatal(err)
			}
			if !store.Final(j.State) {
				time.Sleep(20 * time.Millisecond)
				continue
			}
			i--
		}
	})
	b.StopTimer()
	var last time.Time
	for _, id := range jobIDs {
		j, _ := st.Job(id)
		if j.State != store.Done || len(j.Attempts) == 0 {
			b.Fatalf("job %d: %s", id, j.State)
		}
		if e := j.Attempts[len(j.Attempts)-1].End; e.After(last) {
			last = e
		}
	}
	b.ReportMetric(float64(last.Sub(start).Microseconds())/1000/float64(b.N), "ms/job")
}
