package ui

import (
	"net/url"
	"strings"
	"testing"
)

// A sender's handshake pasted into Try is reported as serve answers it,
// not matched against the rules.
func TestTryHandshake(t *testing.T) {
	f := startWith(t, `
sources:
  slack: {verify: {provider: slack, secret: slack-S3CRET}}
  graph: {verify: {provider: graph, secret: graph-ST4TE}}
rules:
  - name: all
    sources: [slack, graph]
    actions: [{shell: {command: ["true"]}}]
`)
	const head = "a handshake of provider <code>%s</code>, answered before any rule: no rule runs, nothing is recorded."
	code, body, _ := f.post("/try", url.Values{"source": {"slack"}, "headers": {"Content-Type: application/json"},
		"body": {`{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`}})
	if code != 200 {
		t.Fatal(code, body)
	}
	must(t, body, strings.Replace(head, "%s", "slack", 1), "Answered once its signature verifies",
		"status 200\nContent-Type: application/json\n\n{&#34;challenge&#34;:&#34;3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P&#34;}</pre>")
	_, body, _ = f.post("/try", url.Values{"source": {"graph"}, "query": {"validationToken=a%0Ab"}})
	must(t, body, strings.Replace(head, "%s", "graph", 1), "Refused: bad request: validationToken is empty",
		"status 400\nContent-Type: application/json\n\n{&#34;error&#34;:&#34;bad request&#34;}</pre>")
	for _, no := range []string{"matched", "S3CRET", "ST4TE"} {
		if strings.Contains(body, no) {
			t.Errorf("%q in the page", no)
		}
	}
	// An event still meets the rules.
	_, body, _ = f.post("/try", url.Values{"source": {"slack"}, "headers": {"Content-Type: application/json"},
		"body": {`{"type":"event_callback","event":{"type":"message"}}`}})
	must(t, body, "✓ matched")
}
