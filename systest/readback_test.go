package systest

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestShowAnsweredIgnoredEvent is the report `id=$(curl …); hookd show
// "$id"` as a user runs it: every ignored delivery, shown by the hookd
// binary right after its answer, is found.
func TestShowAnsweredIgnoredEvent(t *testing.T) {
	s := newSite(t, `
sources:
  github:
    verify: {provider: github, secret: "${WEBHOOK_SECRET}"}
rules:
  - name: never
    source: github
    when: event == "release"
    actions: [{shell: {command: ["true"]}}]
`, "")
	s.start()
	for i := range 100 {
		r, err := s.post(fmt.Sprint("show-", i), []byte(fmt.Sprintf(`{"n":%d}`, i)))
		if err != nil || r.Status != "ignored" {
			t.Fatalf("delivery %d: %+v %v", i, r, err)
		}
		id := fmt.Sprint(r.ID)
		out, err := exec.Command(bin, "show", "-config", filepath.Join(s.dir, "hookd.yaml"), "-data", filepath.Join(s.dir, "data"), id).CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), "event "+id+" ") {
			t.Fatalf("hookd show %s right after its answer (delivery %d): %v\n%s", id, i, err, out)
		}
	}
}
