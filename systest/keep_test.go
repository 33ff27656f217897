package systest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestKeepIgnoredShowAndRematch: what a source does not keep of an ignored
// event, hookd show says, and replay -rematch says it cannot match the
// event again (exit 1 for one event; counted for a filter) instead of
// matching an empty body.
func TestKeepIgnoredShowAndRematch(t *testing.T) {
	keep := func(rules ...string) string {
		return strings.Replace(rematchRules(rules...), "\nrules:", "\n    keep_ignored: headers\nrules:", 1)
	}
	s := newSite(t, keep("a", `body.ref == "refs/heads/main"`), "")
	s.start()
	body := []byte(`{"ref":"refs/heads/dev","after":"` + strings.Repeat("ab", 20) + `"}`)
	sum := sha256.Sum256(body)
	for _, d := range []string{"d1", "d2"} {
		if r, err := s.post(d, body); err != nil || r.code != 200 {
			t.Fatalf("post %s: %v %+v", d, err, r)
		}
	}
	id := eventID(t, s, "d1")
	out, errOut, code := s.cli(t, "", "show", id)
	want := fmt.Sprintf("body (%d bytes, SHA-256 %s): not kept (source github has keep_ignored: headers)", len(body), hex.EncodeToString(sum[:]))
	if code != 0 || !strings.Contains(out, want) || !strings.Contains(out, "x-github-delivery: d1") || strings.Contains(out, "refs/heads/dev") {
		t.Fatalf("show %s: exit %d, want %q in\n%s%s", id, code, want, out, errOut)
	}

	writeFile(t, filepath.Join(s.dir, "rules", "rules.yaml"), keep("a", `body.ref == "refs/heads/main"`, "b", "true"))
	eventually(t, "the new rules load", 20*time.Second, func() bool { return strings.Contains(s.logs.String(), "rules=2") })
	out, errOut, code = s.cli(t, "", "replay", id, "-rematch")
	want = "hookd replay: event " + id + " cannot be rematched: its body (" + fmt.Sprint(len(body)) + " bytes) not kept: source github has keep_ignored: headers"
	if code != 1 || !strings.Contains(errOut, want) || strings.Contains(out, "queued") {
		t.Fatalf("rematch %s: exit %d, want %q in\n%s%s", id, code, want, out, errOut)
	}
	out, errOut, code = s.cli(t, "", "replay", "-rematch", "-status", "ignored")
	if code != 0 || strings.Count(out, "cannot rematch: its body") != 2 || !strings.Contains(out, "2 events not matched: their sources keep only part") ||
		strings.Contains(out, "queued as job") {
		t.Fatalf("rematch by filter: exit %d\n%s%s", code, out, errOut)
	}
}
