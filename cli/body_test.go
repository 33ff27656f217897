package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hookd/engine"
)

// `hookd show` says why a body could not be read, for an event no rule
// read the body of as well.
func TestShowSaysWhyTheBodyIsUnreadable(t *testing.T) {
	dir := t.TempDir()
	rd := filepath.Join(dir, "rules")
	os.MkdirAll(rd, 0o755)
	rulesYAML := "sources:\n  github:\n    verify: {provider: github, secret: cli-test-secret}\n" +
		"rules:\n  - {name: main, source: github, when: 'body.ref == \"refs/heads/main\"', actions: [{shell: {command: [\"true\"]}}]}\n"
	if err := os.WriteFile(filepath.Join(rd, "r.yaml"), []byte(rulesYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	e := startDaemon(t, rd, data)
	a := signedPush(t, "http://"+e.Addr(), "d-1", []byte(`{"ref":"refs/heads/main",`))
	id := fmt.Sprint(a["id"])
	const reason = "body: invalid JSON at byte 25: unexpected end of input"
	var code int
	var out, stderr string
	poll(t, "the ignored event to be written", func() bool {
		code, out, stderr = hookdCLI(t, "show", id, "-data", data)
		return code == 0
	})
	for _, want := range []string{"error     " + reason, "error     rule main: when: " + reason} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("show lacks %q: %d\n%s%s", want, code, out, stderr)
		}
	}
	_, out, _ = hookdCLI(t, "show", id, "-json", "-data", data)
	var view engine.EventView
	if err := json.Unmarshal([]byte(out), &view); err != nil || view.BodyError != reason {
		t.Fatalf("show -json body_error %q (%v)", view.BodyError, err)
	}
}
