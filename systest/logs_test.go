package systest

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

const twoRules = githubSource + `
  - name: build
    source: github
    actions: [{shell: {command: ["true"]}}]
  - name: notify
    source: github
    actions: [{shell: {command: ["true"]}}]
`

// JSON logs carry lists as lists and durations as numbers of seconds; the
// text format stays readable.
func TestLogFieldTypes(t *testing.T) {
	t.Run("json", func(t *testing.T) {
		s := newSite(t, twoRules, "log: {format: json}\n")
		s.start()
		if r, err := s.post("logs-1", []byte(`{}`)); err != nil || r.Status != "accepted" {
			t.Fatalf("post: %v %+v", err, r)
		}
		var received, action map[string]any
		eventually(t, "the log lines", 10*time.Second, func() bool {
			for _, line := range strings.Split(s.logs.String(), "\n") {
				var m map[string]any
				if json.Unmarshal([]byte(line), &m) != nil {
					continue
				}
				switch m["msg"] {
				case "webhook received":
					received = m
				case "action done":
					action = m
				}
			}
			return received != nil && action != nil
		})
		rules, ok := received["rules"].([]any)
		if !ok || len(rules) != 2 || rules[0] != "build" || rules[1] != "notify" {
			t.Fatalf("rules logged as %#v, want the list [build notify]", received["rules"])
		}
		if d, ok := action["duration"].(float64); !ok || d < 0 || d > 10 {
			t.Fatalf("duration logged as %#v, want a number of seconds", action["duration"])
		}
	})
	t.Run("text", func(t *testing.T) {
		s := newSite(t, twoRules, "")
		s.start()
		if r, err := s.post("logs-2", []byte(`{}`)); err != nil || r.Status != "accepted" {
			t.Fatalf("post: %v %+v", err, r)
		}
		want := regexp.MustCompile(`(?s)msg="webhook received".* rules="\[build notify\]".*msg="action done".* duration=\d+(\.\d+)?m?s `)
		eventually(t, "readable text lines", 10*time.Second, func() bool { return want.MatchString(s.logs.String()) })
	})
}
