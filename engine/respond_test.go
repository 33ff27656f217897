package engine

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"hookd/store"
	"hookd/verify"
)

// slashCommand signs a Slack slash command (a form post) as Slack does.
func slashCommand(t *testing.T, text, trigger string) (http.Header, []byte) {
	t.Helper()
	body := []byte(url.Values{"command": {"/deploy"}, "text": {text}, "user_name": {"ada"}, "trigger_id": {trigger}}.Encode())
	h, err := verify.Sign(verify.Config{Provider: "slack", Secrets: []string{secret}}, body, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	return h, body
}

func slackRules(rulesYAML string) string {
	return `
sources:
  slack:
    verify: {provider: slack, secret: "${TEST_SECRET}"}
rules:
` + rulesYAML
}

func TestRespondImmediateAndDuplicate(t *testing.T) {
	te := startEngine(t, "", slackRules(`
  - name: deploy
    source: slack
    when: body.command == "/deploy"
    respond:
      json: {response_type: ephemeral, text: "Deploying {{ body.text }}..."}
    actions:
      - shell: {command: [/bin/sh, -c, 'printf "%s\n" "$1" >> "$DIR/ran"', sh, "{{ body.text }}"]}
`), nil)
	h, body := slashCommand(t, "prod", "t1")
	a := te.send("POST", "/hooks/slack", h, body)
	want := `{"response_type":"ephemeral","text":"Deploying prod..."}`
	if a.code != 200 || a.raw != want || a.header.Get("Content-Type") != "application/json" {
		t.Fatalf("answer %d %q %q, want %s", a.code, a.header.Get("Content-Type"), a.raw, want)
	}
	jobs := te.waitJobs(1)
	if jobs[0].State != store.Done {
		t.Fatalf("job %+v", jobs[0])
	}
	ev, err := te.store.Event(jobs[0].EventID)
	if err != nil || ev.Answer == nil || ev.Answer.Body != want || ev.Answer.Status != 200 {
		t.Fatalf("recorded answer %+v (%v)", ev, err)
	}
	// A redelivery gets the answer the original got, and runs nothing.
	a = te.send("POST", "/hooks/slack", h, body)
	if a.code != 200 || a.raw != want {
		t.Fatalf("duplicate answer %d %q", a.code, a.raw)
	}
	te.waitJobs(1)
	if got := readLines(t, te.dir+"/ran"); len(got) != 1 || got[0] != "prod" {
		t.Fatalf("ran %q", got)
	}
}

func TestRespondStatusHeadersTextAndSourceDefault(t *testing.T) {
	te := startEngine(t, "", `
sources:
  slack:
    verify: {provider: slack, secret: "${TEST_SECRET}"}
    respond: {body: "Unknown command {{ body.command }}"}
rules:
  - name: deploy
    source: slack
    when: body.text == "prod"
    respond:
      status: 202
      headers: {X-Event: "{{ event_id }}"}
      body: "queued as {{ event_id }}"
    actions: [{shell: {command: ["true"]}}]
  - name: plain
    source: slack
    when: body.text == "staging"
    actions: [{shell: {command: ["true"]}}]
`, nil)
	h, body := slashCommand(t, "prod", "t1")
	a := te.send("POST", "/hooks/slack", h, body)
	if a.code != 202 || a.raw != "queued as 1" || a.header.Get("X-Event") != "1" || a.header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatalf("rule answer %d %v %q", a.code, a.header, a.raw)
	}
	// A rule without respond, and an event no rule matches, get the
	// source's; the ignored event is recorded durably first.
	for _, text := range []string{"staging", "nothing"} {
		h, body = slashCommand(t, text, "t-"+text)
		a = te.send("POST", "/hooks/slack", h, body)
		if a.code != 200 || a.raw != "Unknown command /deploy" {
			t.Fatalf("%s: source answer %d %q", text, a.code, a.raw)
		}
	}
	ev, err := te.store.Event(3)
	if err != nil || ev.Status != "ignored" || ev.Answer == nil {
		t.Fatalf("ignored event %+v (%v)", ev, err)
	}
	te.waitJobs(2)
}

func TestRespondFirstRuleInLoadOrderAnswers(t *testing.T) {
	te := startEngine(t, "", slackRules(`
  - name: a
    source: slack
    respond: {body: "from a"}
    actions: [{shell: {command: ["true"]}}]
  - name: b
    source: slack
    respond: {body: "from b"}
    actions: [{shell: {command: ["true"]}}]
`), nil)
	h, body := slashCommand(t, "x", "t1")
	if a := te.send("POST", "/hooks/slack", h, body); a.raw != "from a" {
		t.Fatalf("answer %q", a.raw)
	}
	te.waitJobs(2)
	if !strings.Contains(te.logs.String(), `rule \"b\": its respond never answers`) {
		t.Fatalf("no warning about rule b: %s", te.logs.String())
	}
}

func TestRespondWaitAnswersWithOutput(t *testing.T) {
	te := startEngine(t, "", slackRules(`
  - name: status
    source: slack
    when: body.text == "json"
    respond:
      wait: 2s
      json: {text: "still working"}
    actions:
      - shell: {script: 'echo "{\"text\":\"all green, $HOOKD_EVENT_ID\"}"; echo noise >&2'}
      - shell: {command: ["true"]}
  - name: text
    source: slack
    when: body.text == "text"
    respond: {wait: 2s, body: "still working"}
    actions:
      - shell: {command: [printf, "secret is ${TEST_SECRET}"]}
  - name: lines
    source: slack
    when: body.text == "lines"
    respond: {wait: 2s, body: "still working"}
    actions:
      - shell: {script: 'echo "fast answer for Steve"; echo'}
  - name: blank
    source: slack
    when: body.text == "blank"
    respond: {wait: 2s, body: "still working"}
    actions:
      - shell: {script: 'echo'}
`), nil)
	h, body := slashCommand(t, "json", "t1")
	a := te.send("POST", "/hooks/slack", h, body)
	if a.code != 200 || a.raw != "{\"text\":\"all green, 1\"}\n" || a.header.Get("Content-Type") != "application/json" {
		t.Fatalf("answer %d %q %q", a.code, a.header.Get("Content-Type"), a.raw)
	}
	h2, body2 := slashCommand(t, "text", "t2")
	a = te.send("POST", "/hooks/slack", h2, body2)
	if a.raw != "secret is [redacted]" || a.header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatalf("text answer %q %q", a.header.Get("Content-Type"), a.raw)
	}
	// Text output loses one trailing newline, as $(...) would, and no more.
	h3, body3 := slashCommand(t, "lines", "t3")
	if a = te.send("POST", "/hooks/slack", h3, body3); a.raw != "fast answer for Steve\n" {
		t.Fatalf("text answer %q", a.raw)
	}
	// A lone newline is no answer: the fallback.
	h4, body4 := slashCommand(t, "blank", "t4")
	if a = te.send("POST", "/hooks/slack", h4, body4); a.raw != "still working" {
		t.Fatalf("blank answer %q", a.raw)
	}
	te.waitJobs(4)
	// The output, not the fallback, is what a duplicate gets.
	if err := te.store.Sync(); err != nil {
		t.Fatal(err)
	}
	if a := te.send("POST", "/hooks/slack", h, body); a.raw != "{\"text\":\"all green, 1\"}\n" {
		t.Fatalf("duplicate answer %q", a.raw)
	}
}

func TestRespondWaitFallsBack(t *testing.T) {
	te := startEngine(t, "", slackRules(`
  - name: slow
    source: slack
    when: body.text == "slow"
    concurrency: serial
    respond: {wait: 300ms, json: {text: "working on {{ body.text }}"}}
    actions:
      - shell: {script: 'sleep 1; echo done'}
  - name: fails
    source: slack
    when: body.text == "fails"
    respond: {wait: 2s, body: "it failed"}
    actions:
      - shell: {script: 'echo partial; exit 3'}
`), nil)
	// Too slow: the fallback at the deadline; the job goes on.
	h, body := slashCommand(t, "slow", "t1")
	start := time.Now()
	a := te.send("POST", "/hooks/slack", h, body)
	took := time.Since(start)
	if a.raw != `{"text":"working on slow"}` || took < 250*time.Millisecond || took > 900*time.Millisecond {
		t.Fatalf("answer %q after %s", a.raw, took)
	}
	// Waiting in its lane behind the first: the fallback too.
	h2, body2 := slashCommand(t, "slow", "t2")
	if a := te.send("POST", "/hooks/slack", h2, body2); a.raw != `{"text":"working on slow"}` {
		t.Fatalf("queued answer %q", a.raw)
	}
	// A failed first action answers the fallback at once.
	h3, body3 := slashCommand(t, "fails", "t3")
	start = time.Now()
	if a := te.send("POST", "/hooks/slack", h3, body3); a.raw != "it failed" || time.Since(start) > time.Second {
		t.Fatalf("failed answer %q after %s", a.raw, time.Since(start))
	}
	jobs := te.waitJobs(3)
	for _, j := range jobs[:2] {
		if j.State != store.Done || j.Attempts[0].Steps[0].Output != "done\n" {
			t.Fatalf("slow job %+v", j)
		}
	}
}

// A rule's respond that fails to render falls back to the source's
// respond, then to the provider's own answer, then to the status JSON; the
// failures are recorded with the event.
func TestRespondRenderErrorFallsBack(t *testing.T) {
	te := startEngine(t, "", `
sources:
  slack:
    verify: {provider: slack, secret: "${TEST_SECRET}"}
  slack-default:
    verify: {provider: slack, secret: "${TEST_SECRET}"}
    respond: {body: "Working on {{ body.command }}"}
  slack-bad-default:
    verify: {provider: slack, secret: "${TEST_SECRET}"}
    respond: {body: "{{ body.nope.deeper }}"}
  discord:
    verify: {provider: discord, public_key: `+discordPub+`}
    respond: {json: {type: 4, data: {content: "{{ body.nope.deeper }}"}}}
rules:
  - name: r
    source: slack
    respond: {json: {text: "{{ body.nope.deeper }}"}}
    actions: [{shell: {command: ["true"]}}]
  - name: r2
    source: slack-default
    respond: {json: {text: "{{ body.nope.deeper }}"}}
    actions: [{shell: {command: ["true"]}}]
  - name: r3
    source: slack-bad-default
    respond: {json: {text: "{{ body.nope.deeper }}"}}
    actions: [{shell: {command: ["true"]}}]
  - name: events
    source: discord
    respond: {json: {type: 4, data: {content: "{{ body.member.user.username }}"}}}
    actions: [{shell: {command: ["true"]}}]
`, nil)
	event := `{"version":1,"application_id":"1234567890","type":1,"event":{"type":"ENTITLEMENT_CREATE","timestamp":"2024-10-18T14:42:53.064834","data":{}}}`
	for i, tc := range []struct {
		path, trigger, body string
		code                int
		want                string // the answer; "" for the status JSON
		errs                int
	}{
		{path: "/hooks/slack", trigger: "t1", code: 200, errs: 1},
		{path: "/hooks/slack-default", trigger: "t2", code: 200, want: "Working on /deploy", errs: 1},
		{path: "/hooks/slack-bad-default", trigger: "t3", code: 200, errs: 2},
		{path: "/hooks/discord", body: event, code: 204, want: "-", errs: 2},
	} {
		var h http.Header
		var body []byte
		if tc.body != "" {
			body = []byte(tc.body)
			h = signedAs(t, verify.Config{Provider: "discord", PrivateKey: discordSeed}, tc.body, nil)
		} else {
			h, body = slashCommand(t, "x", tc.trigger)
		}
		a := te.send("POST", tc.path, h, body)
		switch {
		case tc.want == "" && (a.code != 200 || a.body["status"] != "accepted"),
			tc.want == "-" && (a.code != tc.code || a.raw != ""),
			tc.want != "" && tc.want != "-" && (a.code != tc.code || a.raw != tc.want):
			t.Fatalf("%s: answer %d %q", tc.path, a.code, a.raw)
		}
		jobs := te.waitJobs(i + 1)
		ev, _ := te.store.Event(jobs[i].EventID)
		if len(ev.Errors) != tc.errs || !strings.Contains(ev.Errors[0], "respond.") || (ev.Answer != nil) != (tc.want != "" && tc.want != "-") {
			t.Fatalf("%s: event errors %q, answer %+v", tc.path, ev.Errors, ev.Answer)
		}
	}
}

// An http first action answers with its answer's body; a failed one (a
// 500) leaves the fallback.
func TestRespondWaitHTTPAnswerBody(t *testing.T) {
	rec := newRecorder(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if strings.Contains(mustRead(r), "down") {
			w.WriteHeader(500)
			_, _ = w.Write([]byte(`{"text":"internal detail"}`))
			return
		}
		_, _ = w.Write([]byte(`{"text":"service up"}`))
	})
	te := startEngine(t, "", slackRules(`
  - name: ask
    source: slack
    respond: {wait: 2s, body: "asking"}
    actions:
      - http: {url: "`+rec.URL+`/status", json: {q: "{{ body.text }}"}}
`), nil)
	h, body := slashCommand(t, "up", "t1")
	if a := te.send("POST", "/hooks/slack", h, body); a.raw != `{"text":"service up"}` || a.header.Get("Content-Type") != "application/json" {
		t.Fatalf("answer %q %q", a.header.Get("Content-Type"), a.raw)
	}
	h, body = slashCommand(t, "down", "t2")
	if a := te.send("POST", "/hooks/slack", h, body); a.raw != "asking" {
		t.Fatalf("failed answer %q", a.raw)
	}
	te.waitJobs(2)
}

// A secret of the configuration never reaches the sender in a rendered
// answer, header or body.
func TestRespondRedactsSecrets(t *testing.T) {
	te := startEngine(t, "", slackRules(`
  - name: echo
    source: slack
    respond: {headers: {X-Echo: "{{ body.text }}"}, body: "you said {{ body.text }}"}
    actions: [{shell: {command: ["true"]}}]
`), nil)
	h, body := slashCommand(t, "key "+secret, "t1")
	a := te.send("POST", "/hooks/slack", h, body)
	if a.raw != "you said key [redacted]" || a.header.Get("X-Echo") != "key [redacted]" {
		t.Fatalf("answer %q, X-Echo %q", a.raw, a.header.Get("X-Echo"))
	}
	te.waitJobs(1)
}

// Precedence: a rule's respond, then the source's, then the provider's own
// answer (Discord's 204 for a Webhook Event), then the status JSON.
func TestRespondBeforeProviderAnswer(t *testing.T) {
	te := startEngine(t, "", `
sources:
  discord:
    verify: {provider: discord, public_key: `+discordPub+`}
rules:
  - name: command
    source: discord
    when: event == "APPLICATION_COMMAND"
    respond: {json: {type: 4, data: {content: "Deploying {{ body.data.name }}", flags: 64}}}
    actions: [{shell: {command: ["true"]}}]
  - name: events
    source: discord
    when: event == "ENTITLEMENT_CREATE"
    actions: [{shell: {command: ["true"]}}]
`, nil)
	c := verify.Config{Provider: "discord", PrivateKey: discordSeed}
	command := `{"id":"1301239862939893822","token":"aW50ZXJhY3Rpb24","type":2,"data":{"name":"site"},"version":1}`
	h := signedAs(t, c, command, nil)
	want := `{"type":4,"data":{"content":"Deploying site","flags":64}}`
	for i := 0; i < 2; i++ { // the original, then a duplicate
		if a := te.send("POST", "/hooks/discord", h, []byte(command)); a.code != 200 || a.raw != want {
			t.Fatalf("interaction %d: %d %q", i+1, a.code, a.raw)
		}
	}
	event := `{"version":1,"application_id":"1234567890","type":1,"event":{"type":"ENTITLEMENT_CREATE","timestamp":"2024-10-18T14:42:53.064834","data":{}}}`
	if a := te.send("POST", "/hooks/discord", signedAs(t, c, event, nil), []byte(event)); a.code != 204 || a.raw != "" {
		t.Fatalf("webhook event: %d %q", a.code, a.raw)
	}
	te.waitJobs(2)
}
