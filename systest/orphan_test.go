package systest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const longRules = `
sources:
  github:
    verify: {provider: github, secret: "${WEBHOOK_SECRET}"}
rules:
  - name: long
    source: github
    concurrency: serial
    actions:
      - shell:
          env: {RUNS: "${RUNS}"}
          script: 'f="$RUNS/long.$HOOKD_ATTEMPT"; echo $$ > "$f.tmp"; mv "$f.tmp" "$f"; exec sleep 60'
`

// procAlive is whether pid runs (a zombie does not), and its parent.
func procAlive(pid int) (bool, int) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false, 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	f := strings.Fields(s[i+1:])
	ppid, _ := strconv.Atoi(f[1])
	return f[0] != "Z", ppid
}

// A node SIGKILLed outside systemd takes its running action with it: when
// the other node runs the serial job again after the lease, the first
// attempt's process is long gone, and the lane never runs twice at once.
func TestClusterKilledNodesActionEnds(t *testing.T) {
	c := newCluster(t, 2, "", longRules, "2s")
	if r, err := c.nodes[0].post("long-1", pushBody("long", "long-1")); err != nil || r.Status != "accepted" {
		t.Fatalf("push: %+v %v", r, err)
	}
	pidOf := func(attempt int) int {
		b, _ := os.ReadFile(filepath.Join(c.out, fmt.Sprintf("long.%d", attempt)))
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return pid
	}
	eventually(t, "the first attempt to start", 10*time.Second, func() bool { return pidOf(1) > 0 })
	first := pidOf(1)
	_, parent := procAlive(first)
	var holder, other *clusterNode
	pid := func(nd *clusterNode) int {
		nd.mu.Lock()
		defer nd.mu.Unlock()
		return nd.d.cmd.Process.Pid
	}
	for i, nd := range c.nodes {
		if pid(nd) == parent {
			holder, other = nd, c.nodes[1-i]
		}
	}
	if holder == nil {
		t.Fatalf("the action's parent %d is no node", parent)
	}
	holder.kill()
	killed := time.Now()
	eventually(t, "the first attempt's process to end", 3*time.Second, func() bool { ok, _ := procAlive(first); return !ok })
	t.Logf("the action ended %v after its node was killed", time.Since(killed))
	eventually(t, "the other node to run the job again", 20*time.Second, func() bool { return pidOf(2) > 0 })
	if _, p := procAlive(pidOf(2)); p != pid(other) {
		t.Errorf("the second attempt's parent is %d, want the other node %d", p, pid(other))
	}
}
