package engine

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"hookd/verify"
)

// Slack's deprecated verification token, sent in slash commands,
// interactivity payloads and Events API bodies, is neither stored nor seen
// by rules; the signature still covers the bytes Slack sent.
func TestSlackVerificationTokenRedacted(t *testing.T) {
	const tok = "gIkuvaNzQIHg97ATvDxqgjtO"
	te := startEngine(t, "", slackRules(`
  - name: seen
    source: slack
    respond: {body: "token={{ body.token ?? fromJSON(body.payload ?? \"{}\")?.token }} raw={{ raw contains \"`+tok+`\" }}"}
    actions: [{shell: {script: 'cat > "$DIR/stdin-$HOOKD_EVENT_ID"'}}]
`), nil)
	bodies := []struct{ ctype, body string }{
		{"application/x-www-form-urlencoded", url.Values{"token": {tok}, "team_id": {"T0001"}, "command": {"/deploy"}, "text": {"prod"}, "trigger_id": {"1"}}.Encode()},
		{"application/x-www-form-urlencoded", "payload=" + url.QueryEscape(`{"type":"block_actions","token":"`+tok+`","trigger_id":"2","actions":[{"value":"ok"}]}`)},
		{"application/json", `{"token":"` + tok + `","team_id":"T1","event_id":"Ev3","event":{"type":"app_mention","text":"hi"},"type":"event_callback"}`},
	}
	for i, b := range bodies {
		h, err := verify.Sign(verify.Config{Provider: "slack", Secrets: []string{secret}}, []byte(b.body), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		h.Set("Content-Type", b.ctype)
		a := te.send("POST", "/hooks/slack", h, []byte(b.body))
		if a.code != 200 || a.raw != "token=[redacted] raw=false" {
			t.Fatalf("body %d: answer %d %q", i+1, a.code, a.raw)
		}
	}
	jobs := te.waitJobs(len(bodies))
	for _, j := range jobs {
		ev, err := te.store.Event(j.EventID)
		if err != nil || strings.Contains(string(ev.Body), tok) || !strings.Contains(string(ev.Body), "redacted") {
			t.Fatalf("stored body %q (%v)", ev.Body, err)
		}
		if got := readLines(t, te.dir+"/stdin-"+strconv.FormatUint(j.EventID, 10)); strings.Contains(strings.Join(got, "\n"), tok) {
			t.Fatalf("the action read the token: %q", got)
		}
	}
}
