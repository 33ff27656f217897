package systest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// HOOKD_BODY_FILE lives in a private directory under the data directory,
// and the files a killed daemon left there are removed at the next start.
func TestBodyFilesStayPrivateAndAreCleanedAtStart(t *testing.T) {
	s := newSite(t, githubSource+`
  - name: deploy
    source: github
    actions:
      - shell:
          env: {OUT: "${OUT}"}
          script: |
            echo "$HOOKD_BODY_FILE" >> "$OUT"
            [ -e "$OUT.again" ] || { touch "$OUT.again"; sleep 5; }
`, "")
	d := s.start()
	if r, err := s.post("body-1", []byte(`{"n":1}`)); err != nil || r.Status != "accepted" {
		t.Fatalf("post: %v %+v", err, r)
	}
	out := filepath.Join(s.dir, "ran")
	eventually(t, "the action to start", 10*time.Second, func() bool { return len(lines(t, out)) == 1 })
	first := lines(t, out)[0]
	dir := filepath.Join(s.dir, "data", "tmp")
	if filepath.Dir(first) != dir {
		t.Fatalf("HOOKD_BODY_FILE is %s, want it in %s", first, dir)
	}
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("%s: %v %v, want mode 0700", dir, fi.Mode(), err)
	}
	d.kill() // mid-action: the body file stays behind
	if _, err := os.Stat(first); err != nil {
		t.Fatalf("the killed daemon's body file is gone already: %v", err)
	}
	s.start() // the interrupted job runs again, with a new body file
	eventually(t, "the job to run again", 10*time.Second, func() bool { return len(lines(t, out)) == 2 })
	if _, err := os.Stat(first); !os.IsNotExist(err) {
		t.Fatalf("the stale body file %s survived a start: %v", first, err)
	}
	if second := lines(t, out)[1]; second == first || !strings.HasPrefix(second, dir) {
		t.Fatalf("second attempt's body file %s", second)
	}
}
