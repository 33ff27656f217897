package pgstore_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hookd/internal/pgtest"
	"hookd/store"
	"hookd/store/pgstore"
)

// ownServer starts a throwaway PostgreSQL server of the test's own with
// .ci/postgres (one it may stop) and returns its URL and a function that
// stops it and starts it again after down.
func ownServer(t *testing.T) (string, func(down time.Duration)) {
	t.Helper()
	pgtest.URL(t) // skips, with its message, where there is no server at all
	script, _ := filepath.Abs("../../.ci/postgres")
	out, err := exec.Command("bash", script, "start").Output()
	if err != nil {
		t.Skipf("cannot start a PostgreSQL server of this test's own: %v", err)
	}
	env := map[string]string{}
	for _, l := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(strings.TrimPrefix(l, "export "), "="); ok {
			env[k] = strings.Trim(v, "'")
		}
	}
	dir, bin := env["HOOKD_PG_DIR"], env["HOOKD_PG_BIN"]
	t.Cleanup(func() { exec.Command("bash", script, "stop", dir).Run() })
	pgctl := func(args ...string) {
		cmd := exec.Command(filepath.Join(bin, "pg_ctl"), append([]string{"-D", filepath.Join(dir, "data")}, args...)...)
		if os.Geteuid() == 0 {
			cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", cmd.Path}, cmd.Args[1:]...)...)
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("pg_ctl %v: %v\n%s", args, err, out)
		}
	}
	restart := func(down time.Duration) {
		pgctl("-m", "fast", "-w", "stop")
		time.Sleep(down)
		pgctl("-l", filepath.Join(dir, "server.log"), "-w", "-o", "-k "+dir+" -c listen_addresses=", "start")
	}
	return env["HOOKD_TEST_POSTGRES"], restart
}

// A database outage longer than the lease does not hand the jobs of live
// processes to others: after the restart every process has a whole lease
// to renew before its jobs count as abandoned.
func TestRestartLongerThanLease(t *testing.T) {
	u, restart := ownServer(t)
	o := pgstore.Options{Lease: 3 * time.Second, Timeout: time.Second}
	a, b := open(t, u, o), open(t, u, o)
	ev := newEvent(t, a, "long-outage")
	jid, err := a.NextJobID()
	if err != nil {
		t.Fatal(err)
	}
	ev.Status, ev.Jobs = "accepted", []uint64{jid}
	if _, err := a.Accept(ev, []*store.Job{{ID: jid, EventID: ev.ID, Rule: "deploy", State: store.Queued}}); err != nil {
		t.Fatal(err)
	}
	got, err := a.ClaimRunnable(1, nil)
	if err != nil || len(got) != 1 {
		t.Fatalf("claim: %d jobs, %v", len(got), err)
	}
	j := got[0]
	j.State, j.Attempts = store.Running, []store.Attempt{{N: 1, Start: time.Now()}}
	if err := a.SaveJob(j, store.Wait, nil); err != nil {
		t.Fatal(err)
	}
	restart(4 * time.Second)
	for end := time.Now().Add(2500 * time.Millisecond); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if got, err := b.ClaimRunnable(1, nil); err == nil && len(got) > 0 {
			t.Fatalf("another process claimed job %d, running on a live process, right after the database came back", got[0].ID)
		}
	}
	j.State = store.Done
	j.Attempts[0].End = time.Now()
	if err := a.SaveJob(j, store.Wait, nil); err != nil {
		t.Fatalf("the live holder cannot record its job's end: %v", err)
	}
}
