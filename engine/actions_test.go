package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"hookd/rules"
	"hookd/store"
)

// recorded is one request a test server received.
type recorded struct {
	at     time.Time
	method string
	path   string
	header http.Header
	body   []byte
}

// recorder is a real HTTP server that keeps every request and answers with
// reply, called with the request's number (1, 2, ...).
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []recorded
}

func newRecorder(t *testing.T, reply func(n int, w http.ResponseWriter, r *http.Request)) *recorder {
	rec := &recorder{}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, recorded{time.Now(), r.Method, r.URL.Path, r.Header.Clone(), body})
		n := len(rec.reqs)
		rec.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body)) // for reply to read again
		reply(n, w, r)
	}))
	t.Cleanup(rec.Close)
	return rec
}

func (rec *recorder) requests() []recorded {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]recorded(nil), rec.reqs...)
}

func status(codes ...int) func(int, http.ResponseWriter, *http.Request) {
	return func(n int, w http.ResponseWriter, r *http.Request) {
		code := codes[len(codes)-1]
		if n <= len(codes) {
			code = codes[n-1]
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, "answer %d", n)
	}
}

// deliver sends one signed GitHub push with body and waits for its jobs.
func (te *testEngine) deliver(body string, jobs int) []*store.Job {
	te.t.Helper()
	a := te.send("POST", "/hooks/github", githubHeaders([]byte(body), "push", fmt.Sprintf("d-%d", time.Now().UnixNano())), []byte(body))
	if a.code != 200 || a.body["status"] != "accepted" {
		te.t.Fatalf("delivery: %d %s", a.code, a.raw)
	}
	return te.waitJobs(jobs)
}

// withRules fills a rule body into a github source, replacing $URL.
func withRules(url, rulesYAML string) string {
	return `
sources:
  github:
    verify: {provider: github, secret: "${TEST_SECRET}"}
rules:
` + strings.ReplaceAll(rulesYAML, "$URL", url)
}

func TestHTTPActionSendsRenderedRequest(t *testing.T) {
	srv := newRecorder(t, status(200))
	te := startEngine(t, "", withRules(srv.URL, `
  - name: notify
    source: github
    actions:
      - http:
          url: "$URL/deploys/{{ body.repository.full_name }}"
          method: PUT
          headers: {X-Sha: "{{ body.after }}", X-Event: "{{ event }}"}
          json:
            sha: "{{ body.after }}"
            count: "{{ body.count }}"
            ok: "{{ body.ok }}"
            repo: "{{ body.repository }}"
            label: "sha {{ body.after }} #{{ body.count }}"
            fixed: [1, true, null]
      - http:
          url: "$URL/text"
          headers: {Content-Type: text/plain}
          body: "{{ body.after }} by {{ body.pusher.name }}\n"
`), nil)
	jobs := te.deliver(`{"after":"abc123","count":7,"ok":true,"repository":{"full_name":"o/r","private":false},"pusher":{"name":"<ann & bob>"}}`, 1)
	if jobs[0].State != store.Done {
		t.Fatalf("job %+v", jobs[0])
	}
	reqs := srv.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.method != "PUT" || r.path != "/deploys/o/r" || r.header.Get("X-Sha") != "abc123" || r.header.Get("X-Event") != "push" || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("request %s %s %v", r.method, r.path, r.header)
	}
	// Keys in the order written; a lone {{ }} keeps its JSON type.
	want := `{"sha":"abc123","count":7,"ok":true,"repo":{"full_name":"o/r","private":false},"label":"sha abc123 #7","fixed":[1,true,null]}`
	if string(r.body) != want {
		t.Fatalf("json body\n got %s\nwant %s", r.body, want)
	}
	r = reqs[1]
	if r.method != "POST" || r.path != "/text" || string(r.body) != "abc123 by <ann & bob>\n" || r.header.Get("Content-Type") != "text/plain" {
		t.Fatalf("second request %s %s %q %v", r.method, r.path, r.body, r.header)
	}
	if st := jobs[0].Attempts[0].Steps; len(st) != 2 || st[0].Status != 200 || st[0].Kind != "http" || st[1].Output != "answer 2" {
		t.Fatalf("steps %+v", st)
	}
}

func TestHTTPServerErrorThenSuccessRetries(t *testing.T) {
	srv := newRecorder(t, status(500, 200))
	te := startEngine(t, "", withRules(srv.URL, `
  - name: flaky
    source: github
    retry: {attempts: 3, backoff: 10ms}
    actions:
      - shell:
          command: [/bin/sh, -c, 'echo "$HOOKD_ATTEMPT" >> "$OUT"']
          env: {OUT: "$DIR/attempts"}
      - http: {url: "$URL/hook", json: {sha: "{{ body.after }}"}}
`), nil)
	jobs := te.deliver(`{"after":"abc"}`, 1)
	j := jobs[0]
	if j.State != store.Done || len(j.Attempts) != 2 {
		t.Fatalf("job state %s, %d attempts", j.State, len(j.Attempts))
	}
	if got := readLines(t, filepath.Join(te.dir, "attempts")); strings.Join(got, ",") != "1,2" {
		t.Fatalf("HOOKD_ATTEMPT seen: %q", got)
	}
	a1, a2 := j.Attempts[0], j.Attempts[1]
	if a1.N != 1 || a2.N != 2 || a1.Steps[1].Status != 500 || !strings.Contains(a1.Error, "500") || a2.Steps[1].Status != 200 || a2.Error != "" {
		t.Fatalf("attempts %+v", j.Attempts)
	}
	if n := len(srv.requests()); n != 2 {
		t.Fatalf("%d requests, want 2", n)
	}
}

func TestHTTPClientErrorIsNotRetried(t *testing.T) {
	srv := newRecorder(t, status(400))
	te := startEngine(t, "", withRules(srv.URL, `
  - name: bad
    source: github
    retry: {attempts: 5, backoff: 10ms}
    actions:
      - http: {url: "$URL/hook", body: x}
`), nil)
	j := te.deliver(`{}`, 1)[0]
	if j.State != store.Failed || len(j.Attempts) != 1 || j.Attempts[0].Steps[0].Status != 400 || !strings.Contains(j.Error, "400 Bad Request") {
		t.Fatalf("job %+v", j)
	}
	time.Sleep(50 * time.Millisecond) // a wrongly scheduled retry would land here
	if n := len(srv.requests()); n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}
}

func TestTemplateFailureFailsAttemptWithoutRetry(t *testing.T) {
	srv := newRecorder(t, status(200))
	te := startEngine(t, "", withRules(srv.URL, `
  - name: tpl
    source: github
    retry: {attempts: 3, backoff: 10ms}
    actions:
      - http: {url: "$URL/hook", body: "{{ body.a.b.c + 1 }}"}
`), nil)
	j := te.deliver(`{"a":"not an object"}`, 1)[0]
	if j.State != store.Failed || len(j.Attempts) != 1 || !strings.Contains(j.Error, "template") {
		t.Fatalf("job %+v", j)
	}
	if n := len(srv.requests()); n != 0 {
		t.Fatalf("%d requests sent", n)
	}
}

// A shell action whose template fails never started: it has no exit status.
func TestShellTemplateFailureHasNoExit(t *testing.T) {
	te := startEngine(t, "", withRules("http://127.0.0.1:1", `
  - name: tpl
    source: github
    actions:
      - shell: {command: [/bin/true, "{{ body.a.b.c + 1 }}"]}
`), nil)
	j := te.deliver(`{"a":"not an object"}`, 1)[0]
	if j.State != store.Failed || len(j.Attempts) != 1 || len(j.Attempts[0].Steps) != 1 {
		t.Fatalf("job %+v", j)
	}
	if st := j.Attempts[0].Steps[0]; st.Exit != nil {
		t.Errorf("step has exit status %d, though nothing started", *st.Exit)
	}
}

// A server's Retry-After is honoured, up to max_backoff: a retrying job
// holds its lane, so a server cannot hold a rule's deploys for an hour.
func TestRetryAfterIsHonoured(t *testing.T) {
	for _, tc := range []struct {
		name, retryAfter, retry string
		status                  int
		min, max                time.Duration
	}{
		{"honoured", "1", "{attempts: 2, backoff: 10ms}", http.StatusTooManyRequests, 900 * time.Millisecond, time.Hour},
		{"bounded by max_backoff", "3600", "{attempts: 2, backoff: 10ms, max_backoff: 1s}", http.StatusServiceUnavailable,
			900 * time.Millisecond, 5 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newRecorder(t, func(n int, w http.ResponseWriter, r *http.Request) {
				if n == 1 {
					w.Header().Set("Retry-After", tc.retryAfter)
					w.WriteHeader(tc.status)
					return
				}
				w.WriteHeader(200)
			})
			te := startEngine(t, "", withRules(srv.URL, `
  - name: limited
    source: github
    retry: `+tc.retry+`
    actions:
      - http: {url: "$URL/hook"}
`), nil)
			j := te.deliver(`{}`, 1)[0]
			reqs := srv.requests()
			if j.State != store.Done || len(reqs) != 2 {
				t.Fatalf("job %s, %d requests", j.State, len(reqs))
			}
			if gap := reqs[1].at.Sub(reqs[0].at); gap < tc.min || gap > tc.max {
				t.Fatalf("retried after %v, Retry-After said %ss, want %v to %v", gap, tc.retryAfter, tc.min, tc.max)
			}
		})
	}
}

func TestHTTPTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := newRecorder(t, func(n int, w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	te := startEngine(t, "", withRules(srv.URL, `
  - name: slow
    source: github
    actions:
      - http: {url: "$URL/hook", timeout: 200ms}
`), nil)
	start := time.Now()
	j := te.deliver(`{}`, 1)[0]
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %v", d)
	}
	st := j.Attempts[0].Steps[0]
	if j.State != store.Failed || st.Duration < 200*time.Millisecond || !strings.Contains(st.Error, "timeout") && !strings.Contains(st.Error, "deadline") {
		t.Fatalf("job %s step %+v", j.State, st)
	}
}

func TestOnFailureRunsOnceWithErrorRuleAttempt(t *testing.T) {
	srv := newRecorder(t, status(503))
	alerts := newRecorder(t, status(200))
	te := startEngine(t, "", withRules(srv.URL, strings.ReplaceAll(`
  - name: doomed
    source: github
    retry: {attempts: 3, backoff: 10ms}
    actions:
      - http: {url: "$URL/hook"}
    on_failure:
      - http:
          url: "$ALERT/alert"
          json: {error: "{{ error }}", rule: "{{ rule }}", attempt: "{{ attempt }}", sha: "{{ body.after }}"}
`, "$ALERT", alerts.URL)), nil)
	j := te.deliver(`{"after":"abc"}`, 1)[0]
	if j.State != store.Failed || len(j.Attempts) != 3 || len(j.OnFailure) != 1 || j.OnFailure[0].Status != 200 {
		t.Fatalf("job %+v", j)
	}
	var got struct {
		Error   string `json:"error"`
		Rule    string `json:"rule"`
		Attempt any    `json:"attempt"`
		Sha     string `json:"sha"`
	}
	raw := alerts.decodeOnly(t, &got)
	if got.Rule != "doomed" || got.Attempt != 3.0 || got.Sha != "abc" || !strings.Contains(got.Error, "503 Service Unavailable") || got.Error != j.Error {
		t.Fatalf("on_failure saw %s (job error %q)", raw, j.Error)
	}
	if n := len(srv.requests()); n != 3 {
		t.Fatalf("%d attempts reached the server", n)
	}
}

// jsonKeys decodes a JSON object keeping values raw.
func jsonKeys(t *testing.T, b []byte) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not a JSON object: %s", b)
	}
	return m
}

func expectFields(t *testing.T, got map[string]json.RawMessage, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("fields %v, want %v", got, want)
	}
	for k, v := range want {
		if string(got[k]) != v {
			t.Errorf("field %s = %s, want %s", k, got[k], v)
		}
	}
}

// Incoming webhooks: POST application/json {text, blocks, ...}, answer
// 200 "ok" (https://api.slack.com/messaging/webhooks).
func TestSlackWebhookRequestShape(t *testing.T) {
	srv := newRecorder(t, func(n int, w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	te := startEngine(t, "", withRules(srv.URL, `
  - name: tell
    source: github
    actions:
      - slack:
          url: "$URL/services/T0/B0/abcdefsecret"
          text: "pushed {{ body.after }} to {{ body.repository.full_name }}"
          username: hookd
          icon_emoji: ":rocket:"
          blocks:
            - type: section
              text: {type: mrkdwn, text: "*{{ body.repository.full_name }}* at `+"`{{ body.after }}`"+`"}
`), nil)
	j := te.deliver(`{"after":"abc","repository":{"full_name":"o/r"}}`, 1)[0]
	if j.State != store.Done {
		t.Fatalf("job %+v", j)
	}
	reqs := srv.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.method != "POST" || r.path != "/services/T0/B0/abcdefsecret" || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Fatalf("request %s %s %v", r.method, r.path, r.header)
	}
	expectFields(t, jsonKeys(t, r.body), map[string]string{
		"text":       `"pushed abc to o/r"`,
		"username":   `"hookd"`,
		"icon_emoji": `":rocket:"`,
		"blocks":     "[{\"type\":\"section\",\"text\":{\"type\":\"mrkdwn\",\"text\":\"*o/r* at `abc`\"}}]",
	})
}

// chat.postMessage: POST JSON with "Authorization: Bearer", answer
// {"ok":true} or {"ok":false,"error":...}
// (https://docs.slack.dev/reference/methods/chat.postMessage).
func TestSlackPostMessageRequestShapeAndOKFalse(t *testing.T) {
	const token = "xoxb-1111-2222-tokensecret"
	srv := newRecorder(t, func(n int, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		var m map[string]any
		_ = json.NewDecoder(r.Body).Decode(&m)
		if m["channel"] == "#missing" {
			io.WriteString(w, `{"ok":false,"error":"channel_not_found"}`)
			return
		}
		io.WriteString(w, `{"ok":true,"channel":"C1","ts":"1.2","message":{}}`)
	})
	te := startEngine(t, "", withRules(srv.URL, `
  - name: bot
    source: github
    when: body.channel == "#deploys"
    actions:
      - slack:
          token: `+token+`
          channel: "{{ body.channel }}"
          api_url: "$URL/api"
          text: "sha {{ body.after }}"
          blocks: [{type: divider}]
  - name: lost
    source: github
    when: body.channel == "#missing"
    retry: {attempts: 3, backoff: 10ms}
    actions:
      - slack: {token: `+token+`, channel: "{{ body.channel }}", api_url: "$URL/api/", text: hi}
`), nil)
	j := te.deliver(`{"after":"abc","channel":"#deploys"}`, 1)[0]
	if j.State != store.Done {
		t.Fatalf("job %+v", j)
	}
	r := srv.requests()[0]
	if r.method != "POST" || r.path != "/api/chat.postMessage" || r.header.Get("Authorization") != "Bearer "+token || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Fatalf("request %s %s %v", r.method, r.path, r.header)
	}
	expectFields(t, jsonKeys(t, r.body), map[string]string{
		"channel": `"#deploys"`,
		"text":    `"sha abc"`,
		"blocks":  `[{"type":"divider"}]`,
	})

	jobs := te.deliver(`{"channel":"#missing"}`, 2)
	j = jobs[1]
	if j.State != store.Failed || len(j.Attempts) != 1 || !strings.Contains(j.Error, "channel_not_found") {
		t.Fatalf("ok:false job %+v", j)
	}
}

// A Slack token, a webhook URL and an Authorization header never reach the
// log or the store, even when servers echo them back in errors.
func TestActionSecretsStayOutOfLogsAndStore(t *testing.T) {
	const (
		token    = "xoxb-9999-tokensecret987"
		hookPath = "/services/T9/B9/hooksecretpath123"
		bearer   = "httpbearersecret456"
	)
	t.Setenv("ACT_HTTP_TOKEN", bearer)
	echo := newRecorder(t, func(n int, w http.ResponseWriter, r *http.Request) {
		// Everything we were sent, back in the answer.
		msg := fmt.Sprintf("no_service %s %s %s", r.URL.Path, r.Header.Get("Authorization"), mustRead(r))
		switch {
		case strings.HasSuffix(r.URL.Path, "/chat.postMessage"):
			b, _ := json.Marshal(map[string]any{"ok": false, "error": "invalid_auth " + msg})
			w.Write(b)
		case r.URL.Path == "/http":
			io.WriteString(w, msg) // a 200 whose body is kept as output
		case strings.HasPrefix(r.URL.Path, "/services/"):
			w.WriteHeader(404)
			io.WriteString(w, msg)
		default:
			w.WriteHeader(500)
			io.WriteString(w, msg)
		}
	})
	te := startEngine(t, "", withRules(echo.URL, `
  - name: leaky
    source: github
    actions:
      - slack: {url: "$URL`+hookPath+`", text: "hi {{ body.after }}"}
    on_failure:
      - http:
          url: "$URL/http"
          headers: {Authorization: "Bearer ${ACT_HTTP_TOKEN}"}
          body: "{{ error }}"
      - slack: {token: "`+token+`", channel: "#ops", api_url: "$URL/api", text: "failed: {{ error }}"}
  - name: leaky2
    source: github
    retry: {attempts: 2, backoff: 10ms}
    actions:
      - http:
          url: "$URL/other"
          headers: {Authorization: "Bearer ${ACT_HTTP_TOKEN}"}
          body: x
`), nil)
	jobs := te.deliver(`{"after":"abc"}`, 2)
	for _, j := range jobs {
		if j.State != store.Failed {
			t.Fatalf("job %+v", j)
		}
	}
	// webhook (404, final), postMessage and http on_failure, 2 attempts of leaky2
	if len(echo.requests()) != 5 {
		t.Fatalf("only %d requests: the secrets were not exercised", len(echo.requests()))
	}
	// The secrets did reach the servers, so their absence below means
	// something.
	sent := fmt.Sprint(echo.requests())
	for _, s := range []string{"tokensecret987", "hooksecretpath123", bearer} {
		if !strings.Contains(sent, s) {
			t.Fatalf("%s never sent", s)
		}
	}
	records, _ := json.Marshal(jobs)
	te.stop()
	var files []byte
	_ = filepath.Walk(filepath.Join(te.dir, "data"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			files = append(files, b...)
		}
		return nil
	})
	if len(files) == 0 || !strings.Contains(string(files), `"rule":"leaky2"`) {
		t.Fatal("the store holds no job records to scan")
	}
	for _, s := range []string{"tokensecret987", "hooksecretpath123", bearer} {
		for what, text := range map[string]string{"log": te.logs.String(), "job records": string(records), "store files": string(files)} {
			if strings.Contains(text, s) {
				t.Errorf("%s holds the secret %q", what, s)
			}
		}
	}
}

func mustRead(r *http.Request) string {
	b, _ := io.ReadAll(r.Body)
	return string(b)
}

// Payload text passed to argv and env arrives as one argument, verbatim,
// and runs nothing; script never expands templates.
func TestShellPayloadNeverBecomesCode(t *testing.T) {
	dir := t.TempDir()
	script := "#!/bin/sh\nfor a do printf '%s\\0' \"$a\"; done > \"$OUT\"\nprintf '%s\\0' \"$A\" \"$B\" \"$C\" \"$D\" \"$E\" > \"$OUT.env\"\n"
	if err := os.WriteFile(filepath.Join(dir, "argv.sh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	te := startEngine(t, dir, withRules("", `
  - name: argv
    source: github
    actions:
      - shell:
          command: [$DIR/argv.sh, "{{ body.a }}", "{{ body.b }}", "{{ body.c }}", "{{ body.d }}", "{{ body.e }}", "{{ body.f }}"]
          env: {OUT: "$DIR/argv", A: "{{ body.a }}", B: "{{ body.b }}", C: "{{ body.c }}", D: "{{ body.d }}", E: "{{ body.e }}"}
      - shell:
          script: 'printf "%s" "{{ body.a }}" > "$OUT"; printf "%s" "$A" > "$OUT.env"'
          env: {OUT: "$DIR/script", A: "{{ body.a }}"}
`), nil)
	payload := []string{
		"$(touch " + dir + "/pwned1)",
		"`touch " + dir + "/pwned2`",
		"x; touch " + dir + "/pwned3",
		"line\ntouch " + dir + "/pwned4\n",
		"-rf",
		"--output=" + dir + "/pwned5 | touch " + dir + "/pwned6 && touch pwned7",
	}
	body, _ := json.Marshal(map[string]string{"a": payload[0], "b": payload[1], "c": payload[2], "d": payload[3], "e": payload[4], "f": payload[5]})
	j := te.deliver(string(body), 1)[0]
	if j.State != store.Done {
		t.Fatalf("job %+v", j)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if got, want := read("argv"), strings.Join(payload, "\x00")+"\x00"; got != want {
		t.Fatalf("argv\n got %q\nwant %q", got, want)
	}
	if got, want := read("argv.env"), strings.Join(payload[:5], "\x00")+"\x00"; got != want {
		t.Fatalf("env\n got %q\nwant %q", got, want)
	}
	if got := read("script"); got != "{{ body.a }}" {
		t.Fatalf("script expanded a template: %q", got)
	}
	if got := read("script.env"); got != payload[0] {
		t.Fatalf("script env %q", got)
	}
	entries, _ := filepath.Glob(filepath.Join(dir, "pwned*"))
	cwd, _ := filepath.Glob("pwned*")
	if len(entries)+len(cwd) > 0 {
		t.Fatalf("payload ran as code: %v %v", entries, cwd)
	}
	if !strings.Contains(te.logs.String(), "not expanded inside a script") {
		t.Fatal("no load warning for {{ }} in script")
	}
}

// Processes get an allow-list of the daemon's environment (less any value
// holding a secret), HOOKD_* and their env:, nothing else: hookd cannot know
// which other inherited variables are secrets, such as an env-file line no
// rule names.
func TestActionEnvironmentIsAllowListed(t *testing.T) {
	t.Setenv("ACT_PLAIN_VAR", "plain-value")
	t.Setenv("GITHUB_WEBHOOK_SECRET", "s3cret-gh-unused") // left in the env file, named by no rule
	t.Setenv("ACT_SLACK_TOKEN", "xoxb-env-token-5555")
	t.Setenv("LC_TIME", "C")
	t.Setenv("LC_LEAKY", "prefix-"+secret)
	t.Setenv("TZ", "UTC")
	t.Setenv("CREDENTIALS_DIRECTORY", t.TempDir())
	te := startEngine(t, "", withRules("", `
  - name: env
    source: github
    actions:
      - shell:
          script: 'env > "$OUT"'
          env: {OUT: "$DIR/env", MINE: "{{ body.after }}", PASSED: "${ACT_PLAIN_VAR}"}
  - name: never
    source: github
    when: "false"
    actions:
      - slack: {token: "${ACT_SLACK_TOKEN}", channel: c, text: x}
`), nil)
	te.deliver(`{"after":"abc"}`, 1)
	env := map[string]string{}
	for _, kv := range readLines(t, filepath.Join(te.dir, "env")) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	if env["PASSED"] != "plain-value" || env["MINE"] != "abc" || env["HOOKD_ATTEMPT"] != "1" || env["HOOKD_RULE"] != "env" ||
		env["PATH"] != os.Getenv("PATH") || env["LC_TIME"] != "C" || env["TZ"] != "UTC" {
		t.Fatalf("expected variables missing: %v", env)
	}
	for k := range env {
		if !rules.Inherited(k) && !strings.HasPrefix(k, "HOOKD_") && k != "OUT" && k != "MINE" && k != "PASSED" && k != "PWD" {
			t.Errorf("%s reached the process: only the allow-list, HOOKD_* and env: should", k)
		}
	}
	for _, k := range []string{"TEST_SECRET", "ACT_PLAIN_VAR", "GITHUB_WEBHOOK_SECRET", "ACT_SLACK_TOKEN", "LC_LEAKY", "CREDENTIALS_DIRECTORY"} {
		if _, ok := env[k]; ok {
			t.Errorf("%s reached the process", k)
		}
	}
}

// hookd.yaml's retry applies to rules without their own; a rule's retry
// replaces it.
func TestGlobalRetryDefaultAndRuleOverride(t *testing.T) {
	srv := newRecorder(t, status(500))
	te := startEngine(t, "", withRules(srv.URL, `
  - name: inherits
    source: github
    actions:
      - http: {url: "$URL/a"}
  - name: own
    source: github
    retry: {attempts: 1}
    actions:
      - http: {url: "$URL/b"}
`), func(c *rules.Config) {
		c.Rules.Retry = rules.Retry{Attempts: 3, Backoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}
	})
	jobs := te.deliver(`{}`, 2)
	byRule := map[string]*store.Job{}
	for _, j := range jobs {
		byRule[j.Rule] = j
	}
	if j := byRule["inherits"]; j.State != store.Failed || len(j.Attempts) != 3 {
		t.Fatalf("inherits: %s after %d attempts, want 3 from hookd.yaml", j.State, len(j.Attempts))
	}
	if j := byRule["own"]; j.State != store.Failed || len(j.Attempts) != 1 {
		t.Fatalf("own: %s after %d attempts, want 1", j.State, len(j.Attempts))
	}
}

// A job waiting to retry is stored with its time; after a restart it runs
// then, its attempt counted.
func TestRetryScheduleSurvivesRestart(t *testing.T) {
	srv := newRecorder(t, status(500, 200))
	dir := t.TempDir()
	rulesYAML := withRules(srv.URL, `
  - name: later
    source: github
    retry: {attempts: 2, backoff: 700ms}
    actions:
      - http: {url: "$URL/hook"}
`)
	te := startEngine(t, dir, rulesYAML, nil)
	body := `{}`
	if a := te.send("POST", "/hooks/github", githubHeaders([]byte(body), "push", "d-restart"), []byte(body)); a.body["status"] != "accepted" {
		t.Fatalf("answer %s", a.raw)
	}
	for deadline := time.Now().Add(5 * time.Second); len(srv.requests()) == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no first attempt")
		}
	}
	time.Sleep(50 * time.Millisecond) // let the attempt be recorded
	te.stop()
	if n := len(srv.requests()); n != 1 {
		t.Fatalf("%d requests before restart", n)
	}
	te2 := startEngine(t, dir, "", nil)
	j := te2.waitJobs(1)[0]
	reqs := srv.requests()
	if j.State != store.Done || len(j.Attempts) != 2 || len(reqs) != 2 {
		t.Fatalf("job %s, %d attempts, %d requests", j.State, len(j.Attempts), len(reqs))
	}
	if gap := reqs[1].at.Sub(reqs[0].at); gap < 500*time.Millisecond {
		t.Fatalf("retried %v after the first attempt: the stored schedule was not kept", gap)
	}
}
