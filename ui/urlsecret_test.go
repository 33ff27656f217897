package ui

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// An http action's URL password is hidden on the rules page as `hookd
// test` hides it (user:[redacted]@), whether the URL is static or has
// templates, and the rest of the URL shows as written.
func TestURLPasswordNotShown(t *testing.T) {
	t.Setenv("UI_API_TOKEN", "api-token-5d1e")
	f := startWith(t, `
sources:
  plain:
    verify: {provider: none}
rules:
  - name: templated
    source: plain
    actions: [{http: {url: "http://user:pw-SECRETPW@127.0.0.1:1/503?api_key=${UI_API_TOKEN}&x={{ body.after }}"}}]
  - name: static
    source: plain
    actions: [{http: {url: "http://bot:static-pw-9@127.0.0.1:1/x"}}]
`)
	_, page := f.get("/rules")
	must(t, page, "user:[redacted]@127.0.0.1:1/<wbr>503?api_key=[redacted]&amp;x={{ body.after }}") // <wbr>: where a long URL may break
	must(t, page, "bot:[redacted]@127.0.0.1:1/<wbr>x")
	for _, s := range []string{"pw-SECRETPW", "static-pw-9", "api-token-5d1e"} {
		mustNot(t, page, s)
	}
	_, page, _ = f.post("/try", url.Values{"source": {"plain"}, "body": {`{"after":"abc"}`}})
	must(t, page, "user:[redacted]@127.0.0.1:1/<wbr>503?api_key=[redacted]&amp;x=abc")
	resp, err := http.Post(f.url+"/hooks/plain", "application/json", strings.NewReader(`{"after":"abc"}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %v", err, resp)
	}
	resp.Body.Close()
	_, page = f.get("/events/1")
	for _, s := range []string{"pw-SECRETPW", "static-pw-9", "api-token-5d1e"} {
		mustNot(t, page, s)
	}
}
