package systest

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// clusterRules: `load` runs a short script that appends "DELIVERY
// ATTEMPT" to $OUT; `serial` and `latest` write their start and end times
// (date +%s%N) into a file of their own per run, named after the rule, the
// delivery and the attempt.
const clusterRules = `
sources:
  github:
    verify: {provider: github, secret: "${WEBHOOK_SECRET}"}
rules:
  - name: load
    source: github
    when: body.kind == "load"
    actions:
      - shell:
          env: {OUT: "${OUT}"}
          script: 'printf "%s %s\n" "$HOOKD_DELIVERY_ID" "$HOOKD_ATTEMPT" >> "$OUT"; sleep 0.02'
  - name: serial
    source: github
    when: body.kind == "serial"
    concurrency: serial
    actions:
      - shell:
          env: {RUNS: "${RUNS}"}
          script: 'f="$RUNS/serial.$HOOKD_DELIVERY_ID.$HOOKD_ATTEMPT"; date +%s%N > "$f"; sleep 0.03; date +%s%N >> "$f"'
  - name: latest
    source: github
    when: body.kind == "latest"
    concurrency: latest
    actions:
      - shell:
          env: {RUNS: "${RUNS}"}
          script: 'f="$RUNS/latest.$HOOKD_DELIVERY_ID.$HOOKD_ATTEMPT"; date +%s%N > "$f"; sleep 1.5; date +%s%N >> "$f"'
`

// TestClusterCrashSafety: three nodes on one database under concurrent
// load, one of them SIGKILLed at random and restarted, 20 times (5 with
// -short). Every delivery answered 200 runs; a re-sent one is duplicate on
// any node; a delivery that ran twice had its interrupted attempt
// recorded, by the node that took the job over when the lease ran out.
func TestClusterCrashSafety(t *testing.T) {
	cycles := *crashCycles
	if testing.Short() {
		cycles = 5
	}
	seed := *crashSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -crash.seed %d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed>>2))
	c := newCluster(t, 3, "", clusterRules, "2s")
	l := newLedger()
	stop := make(chan struct{})
	wg := l.load(c, 6, rng, stop)
	for cycle := 0; cycle < cycles; cycle++ {
		time.Sleep(time.Duration(150+rng.IntN(300)) * time.Millisecond)
		nd := c.any(rng)
		nd.kill()
		nd.start()
	}
	close(stop)
	wg.Wait()
	ran, twice := l.settle(t, c)
	t.Logf("cycles %d, sent %d, acknowledged %d, ran %d, ran twice %d", cycles, l.sent, len(l.acked), ran, twice)
}

// TestClusterSameDeliveryEverywhere sends each delivery to the three nodes
// at the same moment: one accepted, two duplicates, one run.
func TestClusterSameDeliveryEverywhere(t *testing.T) {
	c := newCluster(t, 3, "", clusterRules, "2s")
	const rounds = 30
	for i := 0; i < rounds; i++ {
		id := fmt.Sprintf("same-%03d", i)
		var (
			mu     sync.Mutex
			status []string
			ids    = map[uint64]bool{}
			wg     sync.WaitGroup
			start  = make(chan struct{})
		)
		for _, nd := range c.nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				r, err := nd.post(id, pushBody("load", id))
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					status = append(status, err.Error())
					return
				}
				status = append(status, fmt.Sprintf("%d %s", r.code, r.Status))
				ids[r.ID] = true
			}()
		}
		close(start)
		wg.Wait()
		sort.Strings(status)
		if want := []string{"200 accepted", "200 duplicate", "200 duplicate"}; strings.Join(status, ",") != strings.Join(want, ",") {
			t.Errorf("%s sent to 3 nodes at once: %v, want %v", id, status, want)
		}
		if len(ids) != 1 {
			t.Errorf("%s: the answers name events %v, want one", id, ids)
		}
	}
	want := map[string]bool{}
	for i := 0; i < rounds; i++ {
		want[fmt.Sprintf("same-%03d", i)] = true
	}
	ran := waitRuns(t, filepath.Join(c.out, "ran"), want, 30*time.Second)
	for id, runs := range ran {
		if len(runs) != 1 {
			t.Errorf("%s ran %d times: %v", id, len(runs), runs)
		}
	}
}

// TestClusterSerialLane sends a serial rule's events to the three nodes
// in turn: its runs never overlap in time, wherever they run, and run in
// arrival order.
func TestClusterSerialLane(t *testing.T) {
	c := newCluster(t, 3, "", clusterRules, "2s")
	const n = 24
	order := make([]string, 0, n)
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("ser-%03d", i)
		r, err := c.nodes[i%3].post(id, pushBody("serial", id))
		if err != nil || r.code != 200 || r.Status != "accepted" {
			t.Fatalf("%s: %+v %v", id, r, err)
		}
		order = append(order, id)
	}
	var got []span
	eventually(t, "every serial run ended", 60*time.Second, func() bool {
		got = spans(t, c.out, "serial")
		if len(got) < n {
			return false
		}
		for _, s := range got {
			if s.end == 0 {
				return false
			}
		}
		return true
	})
	if len(got) != n {
		t.Fatalf("%d serial runs, want %d", len(got), n)
	}
	sort.Slice(got, func(i, j int) bool { return got[i].start < got[j].start })
	for i := range got {
		if want := order[i] + ".1"; got[i].name != want {
			t.Errorf("run %d is %s, want %s (arrival order)", i, got[i].name, want)
		}
		if i > 0 && got[i].start < got[i-1].end {
			t.Errorf("%s started %v before %s ended: the lane ran two jobs at once", got[i].name, time.Duration(got[i-1].end-got[i].start), got[i-1].name)
		}
	}
}

// TestClusterLatestLane: ten pushes to a latest rule, to the three nodes
// in turn, while its first run runs, give exactly one more run, of the
// newest.
func TestClusterLatestLane(t *testing.T) {
	c := newCluster(t, 3, "", clusterRules, "2s")
	if r, err := c.nodes[0].post("lat-first", pushBody("latest", "lat-first")); err != nil || r.Status != "accepted" {
		t.Fatalf("first push: %+v %v", r, err)
	}
	eventually(t, "the first run started", 10*time.Second, func() bool { return len(spans(t, c.out, "latest")) == 1 })
	for i := 0; i < 10; i++ {
		id := fmt.Sprintf("lat-%02d", i)
		if r, err := c.nodes[i%3].post(id, pushBody("latest", id)); err != nil || r.code != 200 || r.Status != "accepted" {
			t.Fatalf("%s: %+v %v", id, r, err)
		}
	}
	if s := spans(t, c.out, "latest"); len(s) != 1 || s[0].end != 0 {
		t.Fatalf("the ten pushes were not sent during the first run (runs %v): the test is too slow", s)
	}
	eventually(t, "two runs ended", 30*time.Second, func() bool {
		s := spans(t, c.out, "latest")
		return len(s) >= 2 && s[0].end != 0 && s[1].end != 0
	})
	// Time for a wrong third run to start.
	time.Sleep(time.Second)
	s := spans(t, c.out, "latest")
	sort.Slice(s, func(i, j int) bool { return s[i].start < s[j].start })
	var names []string
	for _, sp := range s {
		names = append(names, sp.name)
	}
	if want := "lat-first.1,lat-09.1"; strings.Join(names, ",") != want {
		t.Errorf("runs %v, want %s", names, want)
	}
}

// TestClusterPostgresRestart stops the database under load and starts it
// again: while it is down, intake answers 503 with Retry-After within a few
// seconds, never 200, and /readyz is 503 on every node; after it is back,
// every delivery answered 200 runs, and, the outage being shorter than the
// lease, none runs twice.
func TestClusterPostgresRestart(t *testing.T) {
	pg := startPostgres(t)
	c := newCluster(t, 3, pg.url, clusterRules, "30s")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	l := newLedger()
	stop := make(chan struct{})
	wg := l.load(c, 4, rng, stop)
	time.Sleep(time.Second)
	pg.stop()
	down := time.Now()
	// Requests sent from now until the server is started again can commit
	// nothing: each must be a bounded 503 with Retry-After.
	eventually(t, "/readyz 503 on every node", 10*time.Second, func() bool {
		for _, nd := range c.nodes {
			if nd.ready() != 503 {
				return false
			}
		}
		return true
	})
	t.Logf("every /readyz 503 %v after the database stopped", time.Since(down).Round(time.Millisecond))
	l.mu.Lock()
	ackedBefore := len(l.acked)
	l.mu.Unlock()
	for i, nd := range c.nodes {
		id := fmt.Sprintf("outage-%d", i)
		t0 := time.Now()
		r, err := nd.site.postTo("/hooks/github", githubHeaders(id, pushBody("load", id)), pushBody("load", id))
		took := time.Since(t0)
		if err != nil {
			t.Fatalf("%s during the outage: %v after %v", nd.name, err, took)
		}
		if r.code != 503 || r.header.Get("Retry-After") == "" {
			t.Errorf("%s during the outage: %d %+v Retry-After %q, want 503 with Retry-After", nd.name, r.code, r.reply, r.header.Get("Retry-After"))
		}
		if took > 10*time.Second {
			t.Errorf("%s took %v to refuse during the outage", nd.name, took)
		}
		l.mu.Lock()
		l.unanswered[id] = true
		l.mu.Unlock()
	}
	time.Sleep(time.Second)
	l.mu.Lock()
	if n := len(l.acked) - ackedBefore; n > 0 {
		t.Errorf("%d deliveries acknowledged while the database was down", n)
	}
	l.mu.Unlock()
	pg.start()
	eventually(t, "/readyz 200 on every node", 30*time.Second, func() bool {
		for _, nd := range c.nodes {
			if nd.ready() != 200 {
				return false
			}
		}
		return true
	})
	t.Logf("ready again %v after the database stopped", time.Since(down).Round(time.Millisecond))
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	ran, twice := l.settle(t, c)
	t.Logf("sent %d, acknowledged %d, ran %d, ran twice %d", l.sent, len(l.acked), ran, twice)
}
