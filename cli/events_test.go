package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The more: line of events is the command of the next page, flags and
// all: following it from the first page lists every event once, newest
// first, and the last page has none.
func TestEventsPagesWithBefore(t *testing.T) {
	dir := t.TempDir()
	rd := filepath.Join(dir, "rules")
	os.MkdirAll(rd, 0o755)
	os.WriteFile(filepath.Join(rd, "r.yaml"), []byte(strings.ReplaceAll(cliRules, "%DIR%", dir)), 0o644)
	data := filepath.Join(dir, "data")
	e := startDaemon(t, rd, data)
	const n = 5
	for i := 1; i <= n; i++ {
		signedPush(t, "http://"+e.Addr(), fmt.Sprintf("p-%d", i), []byte(`{}`))
	}
	row := regexp.MustCompile(`(?m)^\d+ .* (p-\d)$`)
	var seen []string
	args := []string{"events", "-data", data, "-limit", "2", "-source", "github"}
	for page := 0; ; page++ {
		if page > n {
			t.Fatalf("more pages than events: %v", seen)
		}
		code, out, stderr := hookdCLI(t, args...)
		if code != 0 {
			t.Fatalf("%v: %d %s", args, code, stderr)
		}
		for _, m := range row.FindAllStringSubmatch(out, -1) {
			seen = append(seen, m[1])
		}
		more := regexp.MustCompile(`(?m)^more: hookd (.*)$`).FindStringSubmatch(out)
		if more == nil {
			break
		}
		args = strings.Fields(more[1]) // the temporary paths need no quotes
	}
	if got := strings.Join(seen, " "); got != "p-5 p-4 p-3 p-2 p-1" {
		t.Fatalf("pages listed %q", got)
	}
	if code, _, stderr := hookdCLI(t, "events", "-data", data, "-before", "x"); code != 2 || !strings.Contains(stderr, `invalid value "x" for flag -before`) {
		t.Fatalf("-before x: %d %q", code, stderr)
	}
}
