package systest

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// metric returns the value of an unlabelled metric from /metrics.
func (s *site) metric(t *testing.T, name string) string {
	t.Helper()
	v := s.metricLine(t, name)
	if v == "" {
		t.Fatalf("/metrics has no %s", name)
	}
	return v
}

// Deleting the last rules file (an rsync --delete, a careless rm) keeps
// the daemon serving the rules it has, and says the reload failed.
func TestDeleteLastRulesFile(t *testing.T) {
	s := newSite(t, fmt.Sprintf(reloadValid, "v1"), "")
	d := s.start()
	if err := os.Remove(filepath.Join(s.dir, "rules", "rules.yaml")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the refused reload is logged", 20*time.Second, func() bool {
		return strings.Contains(s.logs.String(), "no sources left: reload refused")
	})
	if v := s.metric(t, "hookd_config_last_reload_successful"); v != "0" {
		t.Fatalf("hookd_config_last_reload_successful %s, want 0", v)
	}
	// The unit's ExecReload, hookd check -reload, agrees: it fails with
	// the reason serve logged; plain check (a fresh install with no
	// source) still passes with a warning.
	rulesDir := filepath.Join(s.dir, "rules")
	code, out, errOut := run(t, nil, "check", "-reload", "-config", filepath.Join(s.dir, "hookd.yaml"), "-rules", rulesDir)
	if want := rulesDir + ": no sources left: reload refused, the sources in force keep serving"; code != 1 || !strings.Contains(errOut, want) {
		t.Fatalf("hookd check -reload on an empty rules directory: exit %d\n%s%s\nwant %q", code, out, errOut, want)
	}
	if code, out, errOut := run(t, nil, "check", "-config", filepath.Join(s.dir, "hookd.yaml"), "-rules", rulesDir); code != 0 {
		t.Fatalf("hookd check on an empty rules directory: exit %d\n%s%s", code, out, errOut)
	}
	r, err := s.post("after-rm", []byte(`{"ref":"refs/heads/main"}`))
	if err != nil || r.code != 200 || r.Status != "accepted" {
		t.Fatalf("after deleting the last rules file: %v %+v", err, r)
	}
	eventually(t, "the accepted delivery runs", 20*time.Second, func() bool { return len(lines(t, filepath.Join(s.dir, "ran"))) == 1 })
	d.stop(t)
}

// A scan of unknown paths leaves a bounded trace in the log: some lines,
// then one summary with the count of the others.
func TestScanDoesNotFloodTheLog(t *testing.T) {
	s := newSite(t, fmt.Sprintf(reloadValid, "v1"), "")
	d := s.start()
	const scan = 500
	for i := range scan {
		resp, err := client.Get(fmt.Sprintf("http://%s/.env%d", s.addr, i))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	d.stop(t)
	logs := s.logs.String()
	logged := strings.Count(logs, "outcome=not_found")
	m := regexp.MustCompile(`rate limit\)" suppressed=(\d+) not_found=(\d+)`).FindAllStringSubmatch(logs, -1)
	suppressed := 0
	for _, g := range m {
		n, _ := strconv.Atoi(g[1])
		suppressed += n
	}
	if logged == 0 || logged > 60 || logged+suppressed != scan {
		t.Fatalf("%d refusals: %d lines and %d counted in summaries, want a few lines and the rest counted", scan, logged, suppressed)
	}
}
