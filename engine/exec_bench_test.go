package engine

import (
	"io"
	"log/slog"
	"net/http"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"hookd/rules"
)

// The execution benchmarks: how fast hookd runs commands, against Go
// spawning the same command at the same parallelism (the default workers),
// and, while pushes arrive, against a handler that spawns one per request
// with no bound and nothing recorded. Interleave them:
//
//	go test ./engine -run '^$' -bench 'Execution$|SpawnDirect' -benchtime 10000x -count 5
//	go test ./engine -run '^$' -bench 'UnderIntake' -benchtime 10000x -count 5

const execRules = benchSource + `
  - name: run
    source: github
    actions: [{shell: {command: [/bin/true]}}]
`

// BenchmarkExecution: b.N accepted events whose rule runs /bin/true, with
// the default configuration, from the engine's start until all are done.
func BenchmarkExecution(b *testing.B) {
	dir := b.TempDir()
	// Record every event and its job first, then time the execution alone.
	recordJobs(b, dir, b.N)
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	te := startEngine(b, dir, execRules, func(c *rules.Config) { c.MaxQueued = 1 << 30 })
	te.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	waitDone(te, "run", b.N)
	b.StopTimer()
	reportExec(b, start, cpu0)
}

// reportExec reports commands/s since start and this process's CPU per
// command since cpu0 (the commands' own CPU is their children's, not
// counted; under intake, the clients' is): on a VM whose speed drifts,
// the steadier of the two.
func reportExec(b *testing.B, start time.Time, cpu0 time.Duration) {
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "commands/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/command")
}

// BenchmarkSpawnDirect spawns /bin/true b.N times from Go, as many at a
// time as hookd's default workers: the floor.
func BenchmarkSpawnDirect(b *testing.B) {
	sem := make(chan struct{}, rules.DefaultConfig().Workers)
	var wg sync.WaitGroup
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for i := 0; i < b.N; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := exec.Command("/bin/true").Run(); err != nil {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	reportExec(b, start, cpu0)
}

// BenchmarkExecutionUnderIntake: b.N signed pushes from drive's 64
// clients, each recorded and matched by a rule running /bin/true, with the
// default configuration but a max_queued that refuses none. commands/s is
// b.N over the time from the first request to the last job done.
func BenchmarkExecutionUnderIntake(b *testing.B) {
	te := benchEngine(b, execRules, func(c *rules.Config) { c.MaxQueued = 1 << 30 })
	reqs := signedPushes(b.N)
	cpu0 := cpuTime()
	start := driveFrom(b, te.url+"/hooks/github", reqs, 200)
	b.StartTimer()
	waitDone(te, "run", b.N)
	b.StopTimer()
	reportExec(b, start, cpu0)
}

// BenchmarkSpawnerUnderIntake: the unbounded spawner, a minimal handler
// that verifies the HMAC, starts /bin/true in a goroutine and answers 200
// at once; commands/s is measured as for hookd.
func BenchmarkSpawnerUnderIntake(b *testing.B) {
	var ran atomic.Int64
	var wg sync.WaitGroup
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, ok := verifiedBody(w, r)
		if !ok {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if exec.Command("/bin/true").Run() == nil {
				ran.Add(1)
			}
		}()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"accepted"}`))
	})
	url := serveCeiling(b, h)
	reqs := signedPushes(b.N)
	cpu0 := cpuTime()
	start := driveFrom(b, url, reqs, 200)
	b.StartTimer()
	wg.Wait()
	b.StopTimer()
	if n := ran.Load(); n != int64(b.N) {
		b.Fatalf("%d of %d commands ran", n, b.N)
	}
	reportExec(b, start, cpu0)
}

// waitDone waits until n jobs of rule are done.
func waitDone(te *testEngine, rule string, n int) {
	done := te.met.jobOutcomes.WithLabelValues(rule, "done")
	for {
		var m dto.Metric
		_ = done.Write(&m)
		if m.GetCounter().GetValue() >= float64(n) {
			return
		}
		time.Sleep(time.Millisecond)
	}
}
