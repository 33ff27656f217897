package ui

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
)

// An ignored event whose source keeps only part of it: the page says what
// was not kept, shows no rule verdicts (they would match an empty body),
// and the body download says it is gone.
func TestEventPageOfAnEventNotKept(t *testing.T) {
	f := startWith(t, `
sources:
  quiet:
    verify: {provider: none}
    keep_ignored: headers
  bare:
    verify: {provider: none}
    keep_ignored: delivery_id
rules:
  - name: deploy
    sources: [quiet, bare]
    when: body.ref == "refs/heads/main"
    actions: [{shell: {command: ["true"]}}]
`)
	body := `{"ref":"refs/heads/dev","secret_looking":"s3kr1t-in-body"}`
	for _, src := range []string{"quiet", "bare"} {
		resp, err := http.Post(f.url+"/hooks/"+src+"?tag=x", "application/json", strings.NewReader(body))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %v", src, err, resp)
		}
		resp.Body.Close()
	}
	sum := sha256.Sum256([]byte(body))
	code, page := f.get("/events/1")
	if code != 200 {
		t.Fatal(code)
	}
	must(t, page, "Not kept", "keep_ignored: headers", hex.EncodeToString(sum[:]), "Not matched again: the body was not kept", "content-type", "tag")
	mustNot(t, page, "s3kr1t-in-body", "not matched</strong>", "/events/1/body")
	if code, msg := f.get("/events/1/body"); code != http.StatusGone || !strings.Contains(msg, "keep_ignored: headers") {
		t.Errorf("body download: %d %q", code, msg)
	}
	_, page = f.get("/events/2")
	must(t, page, "Headers and query not kept", "keep_ignored: delivery_id", "the headers, query and body were not kept")
	mustNot(t, page, "s3kr1t-in-body", "content-type", "not matched</strong>")
}
