package systest

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// ledger keeps what senders were answered, as TestCrashSafety does, for
// deliveries sent to any node of a cluster.
type ledger struct {
	mu         sync.Mutex
	next       int
	acked      map[string]uint64 // delivery -> event id, once answered 200
	unanswered map[string]bool   // sent, no 200 yet: the sender retries
	reaccepted []string
	sent       int
	failures   []string
}

func newLedger() *ledger {
	return &ledger{acked: map[string]uint64{}, unanswered: map[string]bool{}}
}

// pick chooses a delivery to send: an unanswered one, a redelivery of an
// acknowledged one, or a new one.
func (l *ledger) pick(r *rand.Rand) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.unanswered) > 0 && r.IntN(2) == 0 {
		for k := range l.unanswered {
			return k
		}
	}
	if len(l.acked) > 0 && r.IntN(5) == 0 {
		keys := make([]string, 0, 8)
		for k := range l.acked {
			keys = append(keys, k)
			if len(keys) == 8 {
				break
			}
		}
		return keys[r.IntN(len(keys))]
	}
	l.next++
	return fmt.Sprintf("d%05d", l.next)
}

// send posts delivery id to nd and records the answer. It returns the
// answer's status code (0: no answer).
func (l *ledger) send(nd *clusterNode, id string) int {
	l.mu.Lock()
	// Only a delivery acknowledged before this request left must be a
	// duplicate: copies in flight at once may answer in any order.
	_, wasAcked := l.acked[id]
	l.mu.Unlock()
	r, err := nd.post(id, pushBody("load", id))
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sent++
	if err != nil || r.code == 503 {
		if _, ok := l.acked[id]; !ok {
			l.unanswered[id] = true
		}
		if err != nil {
			return 0
		}
		return r.code
	}
	if r.code != 200 {
		l.failures = append(l.failures, fmt.Sprintf("%s to %s: status %d %+v", id, nd.name, r.code, r))
		return r.code
	}
	if r.Status == "accepted" && wasAcked {
		l.reaccepted = append(l.reaccepted, id)
	}
	if _, ok := l.acked[id]; !ok || r.Status == "accepted" {
		l.acked[id] = r.ID
	}
	delete(l.unanswered, id)
	return 200
}

// load sends from g goroutines to random nodes until stop is closed.
func (l *ledger) load(c *cluster, g int, rng *rand.Rand, stop chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	for i := 0; i < g; i++ {
		wg.Add(1)
		go func(r *rand.Rand) {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				l.send(c.any(r), l.pick(r))
				time.Sleep(time.Duration(r.IntN(8)) * time.Millisecond)
			}
		}(rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64())))
	}
	return &wg
}

// settle resends every unanswered delivery, as providers retry, until all
// are answered, then waits until every acknowledged one has run and checks
// that a delivery that ran more than once had as many attempts recorded
// as interrupted. It returns (ran, ran twice).
func (l *ledger) settle(t *testing.T, c *cluster) (int, int) {
	t.Helper()
	eventually(t, "every delivery answered", 60*time.Second, func() bool {
		l.mu.Lock()
		retry := make([]string, 0, len(l.unanswered))
		for id := range l.unanswered {
			retry = append(retry, id)
		}
		l.mu.Unlock()
		for i, id := range retry {
			l.send(c.nodes[i%len(c.nodes)], id)
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		return len(l.unanswered) == 0
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, f := range l.failures {
		t.Error(f)
	}
	want := map[string]bool{}
	for id := range l.acked {
		want[id] = true
	}
	ran := waitRuns(t, filepath.Join(c.out, "ran"), want, 60*time.Second)
	twice := 0
	for id, ev := range l.acked {
		runs := ran[id]
		if len(runs) <= 1 {
			continue
		}
		twice++
		seen := map[string]bool{}
		for _, a := range runs {
			if seen[a] {
				t.Errorf("delivery %s ran twice as attempt %s: a run was not recorded", id, a)
			}
			seen[a] = true
		}
		v, err := c.nodes[0].show(ev)
		if err != nil {
			t.Errorf("delivery %s: %v", id, err)
			continue
		}
		if v.DeliveryID != id {
			t.Errorf("event %d is delivery %s, not %s", ev, v.DeliveryID, id)
		}
		if len(runs)-1 > v.interrupted() {
			t.Errorf("delivery %s ran %d times (attempts %v) but only %d attempts were recorded as interrupted", id, len(runs), runs, v.interrupted())
		}
	}
	if len(l.reaccepted) > 0 {
		t.Errorf("acknowledged deliveries accepted again instead of duplicate: %v", l.reaccepted)
	}
	return len(ran), twice
}
