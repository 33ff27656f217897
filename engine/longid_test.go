package engine

import (
	"fmt"
	"strings"
	"testing"
)

const longIDRules = `
sources:
  github:
    verify: {provider: github, secret: "${TEST_SECRET}"}
rules:
  - {name: push, source: github, when: 'event == "push"', actions: [{shell: {command: ["true"]}}]}
`

// A delivery id longer than MaxDeliveryID is refused for good (400,
// bad_request), whether its event would be accepted or ignored, every time
// it comes, with a log line of bounded length; one of exactly the limit is
// taken.
func TestLongDeliveryIDRefused(t *testing.T) {
	te := startEngine(t, "", longIDRules, nil)
	body := []byte(`{"ref":"refs/heads/main"}`)
	for i, tc := range []struct {
		event  string
		length int
		code   int
		status string
	}{
		{"push", MaxDeliveryID, 200, "accepted"},
		{"push", MaxDeliveryID, 200, "duplicate"},
		{"issues", MaxDeliveryID - 1, 200, "ignored"},
		{"push", MaxDeliveryID + 1, 400, ""},
		{"push", 40001, 400, ""},
		{"push", 40001, 400, ""}, // a retry: the same answer, not 503
		{"issues", 40001, 400, ""},
	} {
		id := fmt.Sprint(i%3) + strings.Repeat("d", tc.length-1)
		if tc.status == "duplicate" {
			id = "0" + strings.Repeat("d", tc.length-1)
		}
		a := te.send("POST", "/hooks/github", githubHeaders(body, tc.event, id), body)
		if a.code != tc.code {
			t.Fatalf("%d: %s with a %d-byte id: answer %d %s, want %d", i, tc.event, tc.length, a.code, a.raw, tc.code)
		}
		if tc.code == 400 {
			want := fmt.Sprintf("delivery id is %d bytes, longer than hookd's limit of %d bytes", tc.length, MaxDeliveryID)
			if a.body["error"] != want {
				t.Fatalf("%d: error %q, want %q", i, a.body["error"], want)
			}
			continue
		}
		if a.body["status"] != tc.status {
			t.Fatalf("%d: status %v, want %s", i, a.body["status"], tc.status)
		}
	}
	refused := 0
	for _, line := range strings.Split(te.logs.String(), "\n") {
		if len(line) > 1000 {
			t.Errorf("a log line of %d bytes: %.300s", len(line), line)
		}
		if strings.Contains(line, "webhook refused") && strings.Contains(line, "outcome=bad_request") {
			refused++
		}
	}
	if refused != 4 {
		t.Errorf("%d webhook refused lines with outcome=bad_request, want 4:\n%s", refused, te.logs.String())
	}
	if got := metricValue(te.scrape(), "hookd_requests_total", "source", "github", "outcome", "bad_request"); got != 4 {
		t.Errorf("bad_request count %v, want 4", got)
	}
}
