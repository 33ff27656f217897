package systest

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"hookd/store"
)

var (
	crashCycles = flag.Int("crash.cycles", 20, "SIGKILL cycles of TestCrashSafety")
	crashSeed   = flag.Uint64("crash.seed", 0, "seed of TestCrashSafety (0: from the clock)")
)

const crashRules = `
sources:
  github:
    verify: {provider: github, secret: "${WEBHOOK_SECRET}"}
rules:
  - name: effect
    source: github
    actions:
      - shell:
          env: {OUT: "${OUT}"}
          script: 'printf "%s %s\n" "$HOOKD_DELIVERY_ID" "$HOOKD_ATTEMPT" >> "$OUT"; sleep 0.02'
`

// TestCrashSafety sends signed webhooks concurrently while hookd is
// SIGKILLed at random moments and restarted on the same data dir. Every
// delivery answered 2xx must have run at least once; a re-sent delivery
// that was acknowledged must be a duplicate; a delivery that ran twice must
// be a job the store shows as interrupted while running.
func TestCrashSafety(t *testing.T) {
	seed := *crashSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -crash.seed %d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1))
	s := newSite(t, crashRules, "workers: 8\nshutdown_timeout: 5s\n")

	var (
		mu         sync.Mutex
		next       int
		acked      = map[string]bool{}
		unanswered = map[string]bool{}
		reaccepted []string
		sent       int
		history    = map[string][]string{}
		cycleNow   int
	)
	body := func(id string) []byte { return []byte(`{"ref":"refs/heads/main","after":"` + id + `"}`) }
	send := func(id string) {
		mu.Lock()
		// Only a delivery acknowledged before this request left must be a
		// duplicate: two copies in flight at once may answer in any order.
		wasAcked := acked[id]
		mu.Unlock()
		r, err := s.post(id, body(id))
		mu.Lock()
		defer mu.Unlock()
		sent++
		if err != nil {
			history[id] = append(history[id], fmt.Sprintf("c%d:err", cycleNow))
		} else {
			history[id] = append(history[id], fmt.Sprintf("c%d:%d/%s/%d", cycleNow, r.code, r.Status, r.ID))
		}
		if err != nil || r.code == 503 {
			if !acked[id] {
				unanswered[id] = true
			}
			return
		}
		if r.code != 200 {
			t.Errorf("delivery %s: status %d %+v", id, r.code, r)
			return
		}
		if r.Status == "accepted" && wasAcked {
			reaccepted = append(reaccepted, id)
		}
		acked[id] = true
		delete(unanswered, id)
	}
	for cycle := 0; cycle < *crashCycles; cycle++ {
		mu.Lock()
		cycleNow = cycle
		mu.Unlock()
		d := s.start()
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for g := 0; g < 6; g++ {
			wg.Add(1)
			go func(r *rand.Rand) {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					mu.Lock()
					var id string
					if len(unanswered) > 0 && r.IntN(2) == 0 {
						for k := range unanswered {
							id = k
							break
						}
					} else if len(acked) > 0 && r.IntN(5) == 0 {
						// Re-send an acknowledged delivery, as a provider does.
						keys := make([]string, 0, 8)
						for k := range acked {
							keys = append(keys, k)
							if len(keys) == 8 {
								break
							}
						}
						id = keys[r.IntN(len(keys))]
					} else {
						next++
						id = fmt.Sprintf("d%05d", next)
					}
					mu.Unlock()
					send(id)
					time.Sleep(time.Duration(r.IntN(8)) * time.Millisecond)
				}
			}(rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64())))
		}
		time.Sleep(time.Duration(100+rng.IntN(300)) * time.Millisecond)
		d.kill()
		close(stop)
		wg.Wait()
	}
	// A last start: the unanswered deliveries are sent again, as providers
	// retry, and everything queued runs.
	d := s.start()
	mu.Lock()
	retry := make([]string, 0, len(unanswered))
	for id := range unanswered {
		retry = append(retry, id)
	}
	mu.Unlock()
	for _, id := range retry {
		send(id)
	}
	mu.Lock()
	if len(unanswered) > 0 {
		t.Fatalf("%d deliveries still unanswered with the daemon up", len(unanswered))
	}
	mu.Unlock()
	ran := waitRuns(t, filepath.Join(s.dir, "ran"), acked, 90*time.Second)
	d.stop(t)

	st, err := store.Open(filepath.Join(s.dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	interrupted := map[string]int{}
	var open int
	for id := uint64(1); id <= st.LastJobID(); id++ {
		j, err := st.Job(id)
		if err != nil {
			continue
		}
		if !store.Final(j.State) {
			open++
		}
		ev, err := st.Event(j.EventID)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range j.Attempts {
			if strings.HasPrefix(a.Error, "interrupted") {
				interrupted[ev.DeliveryID]++
			}
		}
	}
	lost, twice := 0, 0
	for id := range acked {
		runs := ran[id]
		if len(runs) == 0 {
			lost++
			t.Errorf("delivery %s was acknowledged and never ran", id)
			continue
		}
		if len(runs) > 1 {
			twice++
			if len(runs)-1 > interrupted[id] {
				t.Errorf("delivery %s ran %d times (attempts %v) but only %d attempts were interrupted by a kill", id, len(runs), runs, interrupted[id])
			}
			seen := map[string]bool{}
			for _, a := range runs {
				if seen[a] {
					t.Errorf("delivery %s ran twice as attempt %s: a run was not recorded", id, a)
				}
				seen[a] = true
			}
		}
	}
	for id := range ran {
		if !acked[id] {
			// Ran without an acknowledgement: the answer was lost in a kill.
			continue
		}
	}
	if len(reaccepted) > 0 {
		t.Errorf("acknowledged deliveries accepted again instead of duplicate: %v", reaccepted)
		for _, id := range reaccepted {
			t.Logf("%s: %v", id, history[id])
		}
	}
	if open > 0 {
		t.Errorf("%d jobs still open after the final run", open)
	}
	t.Logf("cycles %d, sent %d, acknowledged %d, ran %d, ran twice %d, lost %d", *crashCycles, sent, len(acked), len(ran), twice, lost)
}

// waitRuns waits until every acknowledged delivery has a line in the file
// of side effects, and returns delivery -> attempts seen.
func waitRuns(t *testing.T, path string, want map[string]bool, timeout time.Duration) map[string][]string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ran := readRuns(t, path)
		missing := 0
		for id := range want {
			if len(ran[id]) == 0 {
				missing++
			}
		}
		if missing == 0 {
			// Let the last jobs record themselves.
			time.Sleep(300 * time.Millisecond)
			return readRuns(t, path)
		}
		if time.Now().After(deadline) {
			var ids []string
			for id := range want {
				if len(ran[id]) == 0 {
					ids = append(ids, id)
				}
			}
			sort.Strings(ids)
			if len(ids) > 10 {
				ids = ids[:10]
			}
			t.Fatalf("%d acknowledged deliveries never ran, e.g. %v", missing, ids)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func readRuns(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return map[string][]string{}
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ran := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		id, attempt, ok := strings.Cut(sc.Text(), " ")
		if ok {
			ran[id] = append(ran[id], attempt)
		}
	}
	return ran
}
