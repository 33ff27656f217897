package systest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"hookd/internal/pgtest"
)

// cluster is three `hookd serve` processes on one PostgreSQL database,
// each with its own data dir, port and admin socket, sharing one rules
// text and one directory where actions write what they did.
type cluster struct {
	t     *testing.T
	dbURL string
	out   string // the shared directory actions write to (RUNS; OUT is out/ran)
	nodes []*clusterNode
}

type clusterNode struct {
	name string
	site *site
	mu   sync.Mutex
	d    *daemon
}

// newCluster writes n nodes' files for rulesYAML on the database at dbURL
// (pgtest.URL's when ""), with the given store lease, and starts them.
func newCluster(t *testing.T, n int, dbURL, rulesYAML, lease string) *cluster {
	t.Helper()
	if dbURL == "" {
		dbURL = pgtest.URL(t)
	}
	c := &cluster{t: t, dbURL: dbURL, out: t.TempDir()}
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("node%d", i)
		cfg := fmt.Sprintf(`node: %s
workers: 4
shutdown_timeout: 5s
store:
  driver: postgres
  url: ${HOOKD_DATABASE_URL}
  max_conns: 8
  lease: %s
`, name, lease)
		s := newSite(t, rulesYAML, cfg)
		s.env = append(s.env, "HOOKD_DATABASE_URL="+dbURL, "OUT="+filepath.Join(c.out, "ran"), "RUNS="+c.out)
		c.nodes = append(c.nodes, &clusterNode{name: name, site: s})
	}
	// All at once, as after a deployment: the schema is made once.
	var wg sync.WaitGroup
	for _, nd := range c.nodes {
		wg.Add(1)
		go func() { defer wg.Done(); nd.start() }()
	}
	wg.Wait()
	if t.Failed() {
		// A node's start failed in its goroutine, where Fatal ends only it.
		t.FailNow()
	}
	return c
}

// start runs the node's hookd and waits until it is ready. A failure to
// start ends the test (from another goroutine too: start's Fatal).
func (nd *clusterNode) start() {
	d := nd.site.start()
	nd.mu.Lock()
	nd.d = d
	nd.mu.Unlock()
}

func (nd *clusterNode) kill() {
	nd.mu.Lock()
	d := nd.d
	nd.mu.Unlock()
	if d != nil {
		d.kill()
	}
}

// post sends a signed push with body to the node.
func (nd *clusterNode) post(delivery string, body []byte) (reply, error) {
	return nd.site.post(delivery, body)
}

// any returns a node at random.
func (c *cluster) any(r *rand.Rand) *clusterNode { return c.nodes[r.IntN(len(c.nodes))] }

// ready reports the status of the node's /readyz (0 when it does not answer).
func (nd *clusterNode) ready() int {
	resp, err := readyClient.Get("http://" + nd.site.addr + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// eventView is what the admin API's GET /events/{id} shows of an event.
type eventView struct {
	ID         uint64 `json:"id"`
	DeliveryID string `json:"delivery_id"`
	Jobs       []struct {
		ID       uint64 `json:"id"`
		Rule     string `json:"rule"`
		State    string `json:"state"`
		Attempts []struct {
			N     int    `json:"n"`
			Error string `json:"error"`
		} `json:"attempts"`
	} `json:"jobs"`
}

// show reads an event through the node's admin API (its unix socket).
func (nd *clusterNode) show(id uint64) (*eventView, error) {
	sock := filepath.Join(nd.site.dir, "data", "admin.sock")
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get(fmt.Sprintf("http://admin/events/%d", id))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("GET /events/%d: %d %s", id, resp.StatusCode, raw)
	}
	var v eventView
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// interrupted counts the attempts of an event's jobs recorded as
// interrupted (their process died while they ran).
func (v *eventView) interrupted() int {
	n := 0
	for _, j := range v.Jobs {
		for _, a := range j.Attempts {
			if strings.HasPrefix(a.Error, "interrupted") {
				n++
			}
		}
	}
	return n
}

// pushBody is a push whose kind selects the rule and whose after is id.
func pushBody(kind, id string) []byte {
	return []byte(`{"ref":"refs/heads/main","kind":"` + kind + `","after":"` + id + `"}`)
}

// span is one run of an action: the times, in ns since the epoch, its
// script wrote when it started and ended, and its file's name.
type span struct {
	name       string
	start, end int64
}

// spans reads the files that runs of kind wrote into dir: each is named
// kind.DELIVERY.ATTEMPT and holds a start and an end line (date +%s%N).
func spans(t *testing.T, dir, kind string) []span {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, kind+".*"))
	if err != nil {
		t.Fatal(err)
	}
	var out []span
	for _, f := range files {
		ls := lines(t, f)
		sp := span{name: strings.TrimPrefix(filepath.Base(f), kind+".")}
		if len(ls) > 0 {
			fmt.Sscan(ls[0], &sp.start)
		}
		if len(ls) > 1 {
			fmt.Sscan(ls[1], &sp.end)
		}
		out = append(out, sp)
	}
	return out
}

// postgresServer is a PostgreSQL server of the test's own (.ci/postgres),
// which it may stop and start: never the shared one.
type postgresServer struct {
	t        *testing.T
	dir, bin string
	url      string
}

// startPostgres starts a throwaway server. Without PostgreSQL's programs
// it skips, or fails under CI (CI installs them).
func startPostgres(t *testing.T) *postgresServer {
	t.Helper()
	if _, err := pgBinDir(); err != nil {
		msg := "PostgreSQL: " + err.Error() + " (apt-get install postgresql, or run .ci/run)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	script, err := filepath.Abs("../.ci/postgres")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(script, "start").Output()
	if err != nil {
		t.Fatalf(".ci/postgres start: %v %s", err, stderrOf(err))
	}
	p := &postgresServer{t: t}
	for _, line := range strings.Split(string(out), "\n") {
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok {
			continue
		}
		v = strings.Trim(v, "'")
		switch k {
		case "HOOKD_PG_DIR":
			p.dir = v
		case "HOOKD_PG_BIN":
			p.bin = v
		case "HOOKD_TEST_POSTGRES":
			p.url = v
		}
	}
	if p.dir == "" || p.bin == "" || p.url == "" {
		t.Fatalf(".ci/postgres start printed no server:\n%s", out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command(script, "stop", p.dir).CombinedOutput(); err != nil {
			t.Logf(".ci/postgres stop: %v %s", err, out)
		}
	})
	return p
}

// pgBinDir finds PostgreSQL's programs as .ci/postgres does.
func pgBinDir() (string, error) {
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		d := strings.TrimSpace(string(out))
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(dirs) == 0 {
		return "", fmt.Errorf("no initdb found")
	}
	return filepath.Dir(dirs[len(dirs)-1]), nil
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// pgCtl runs pg_ctl on the server as its owner.
func (p *postgresServer) pgCtl(args ...string) {
	p.t.Helper()
	args = append([]string{filepath.Join(p.bin, "pg_ctl"), "-D", filepath.Join(p.dir, "data")}, args...)
	if os.Geteuid() == 0 {
		args = append([]string{"runuser", "-u", "postgres", "--"}, args...)
	}
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		p.t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// stop stops the server (fast: sessions are ended, as in a restart).
func (p *postgresServer) stop() { p.pgCtl("-m", "fast", "-w", "stop") }

// start starts it again with .ci/postgres's options.
func (p *postgresServer) start() {
	p.pgCtl("-l", filepath.Join(p.dir, "server.log"), "-w", "-t", "60",
		"-o", "-k "+p.dir+" -c listen_addresses= -c max_connections=400 -c shared_buffers=128MB", "start")
}
