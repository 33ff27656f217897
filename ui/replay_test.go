package ui

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// twoRulesYAML: every push runs two rules that fail; dropping "drop" from
// the file leaves "keep".
const twoRulesYAML = `
sources:
  github:
    path: /hooks/github
    verify: {provider: github, secret: ` + secret + `}
rules:
  - name: keep
    source: github
    when: event == "push"
    actions:
      - shell: {command: [sh, -c, 'exit 1']}
`
const dropRuleYAML = `  - name: drop
    source: github
    when: event == "push"
    actions:
      - shell: {command: [sh, -c, 'exit 1']}
`

// A rule no longer configured is not offered for replay, and the pages say
// why; a replay that is refused says why on the page, not only in the log.
func TestReplayOfARuleNoLongerConfigured(t *testing.T) {
	f := startWith(t, twoRulesYAML+dropRuleYAML)
	f.send("push", "d-1", push("refs/heads/main", "x"))
	f.waitFinal()
	writeRulesYAML(t, f.e.Config().RulesDir, twoRulesYAML)
	if err := f.e.Reload(); err != nil {
		t.Fatal(err)
	}
	gone := "rule drop is no longer in the configuration, so it cannot run again"

	_, body := f.get("/events/1")
	must(t, body, `/events/1/replay?rule=keep`, "Replay all matched rules still configured",
		"No replay of <code>drop</code>: the rule is no longer in the configuration.")
	mustNot(t, body, `/events/1/replay?rule=drop`)

	code, body := f.get("/events/1/replay")
	must(t, body, "<li>keep</li>", "Not run:", "<li>"+gone+"</li>")
	mustNot(t, body, "<li>drop</li>")
	if code != http.StatusOK {
		t.Fatal(code)
	}
	code, body = f.get("/events/1/replay?rule=drop")
	must(t, body, "Event 1 cannot be replayed: "+gone)
	mustNot(t, body, `action="/events/1/replay"`)
	if code != http.StatusConflict {
		t.Fatal(code)
	}

	_, body = f.get("/failed/replay?since=1h")
	must(t, body, "Run these 1 failed jobs again", "event 1 (github d-1): keep</li>", "event 1 (github d-1): drop: "+gone)
	since := regexp.MustCompile(`name="since" value="([^"]+)"`).FindStringSubmatch(body)[1]
	code, body, loc := f.post("/failed/replay", url.Values{"since": {since}})
	if code != http.StatusOK || loc != "" {
		t.Fatalf("%d %q", code, loc)
	}
	must(t, body, "1 jobs queued again; 1 refused:", "<li>event 1, rule drop: "+gone+"</li>")
	mustNot(t, body, "the log says why")
	f.waitFinal()

	// Nothing left to run: said at once, with the reason.
	if err := os.Remove(filepath.Join(f.e.Config().RulesDir, "rules.yaml")); err != nil {
		t.Fatal(err)
	}
	writeRulesYAML(t, f.e.Config().RulesDir, "sources:\n  github:\n    path: /hooks/github\n    verify: {provider: github, secret: "+secret+"}\n")
	if err := f.e.Reload(); err != nil {
		t.Fatal(err)
	}
	code, body = f.get("/failed/replay?since=1h")
	must(t, body, "can run again: ", "rule keep is no longer in the configuration")
	if code != http.StatusConflict {
		t.Fatal(code)
	}
}
