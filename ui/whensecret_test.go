package ui

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// A secret written in a rule's `when` (a shared key compared with the
// query) is shown as [redacted] on the rules page, on an event's page with
// the reasons the rule did not match, and in the playground.
func TestSecretInWhenNotShown(t *testing.T) {
	const key = "when-secret-7f3a9c"
	t.Setenv("UI_WHEN_KEY", key)
	f := startWith(t, `
sources:
  plain:
    verify: {provider: none}
rules:
  - name: gated
    source: plain
    when: query.key == "${UI_WHEN_KEY}"
    actions: [{shell: {command: ["true"]}}]
`)
	resp, err := http.Post(f.url+"/hooks/plain?key=wrong", "application/json", strings.NewReader(`{"a":1}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %v", err, resp)
	}
	resp.Body.Close()
	for _, path := range []string{"/rules", "/events/1"} {
		code, page := f.get(path)
		if code != 200 {
			t.Fatalf("%s: %d", path, code)
		}
		must(t, page, "[redacted]")
		mustNot(t, page, key)
	}
	_, page, _ := f.post("/try", url.Values{"source": {"plain"}, "query": {"key=x"}, "body": {`{"a":1}`}})
	must(t, page, "[redacted]")
	mustNot(t, page, key)
}
