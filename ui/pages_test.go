package ui

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func push(ref, after string) string {
	return fmt.Sprintf(`{"ref":%q,"after":%q,"repository":{"full_name":"acme/site"}}`, ref, after)
}

// seeded sends four deliveries: 1 deploys, 2 fails, 3 notifies, 4 is ignored.
func seeded(t *testing.T) *fixture {
	f := start(t)
	for i, d := range []struct{ event, body string }{
		{"push", push("refs/heads/main", "abc123")},
		{"push", push("refs/heads/main", "fail")},
		{"issues", `{"action":"opened"}`},
		{"push", push("refs/heads/dev", "zzz")},
	} {
		if code := f.send(d.event, fmt.Sprintf("d-%d", i+1), d.body); code != 202 && code != 200 {
			t.Fatalf("delivery %d: %d", i+1, code)
		}
	}
	f.waitFinal()
	return f
}

var rowRE = regexp.MustCompile(`<tr data-id="(\d+)">`)

func rowIDs(body string) string {
	var ids []string
	for _, m := range rowRE.FindAllStringSubmatch(body, -1) {
		ids = append(ids, m[1])
	}
	return strings.Join(ids, ",")
}

func TestEmptyStateSaysHowToSendAWebhook(t *testing.T) {
	f := start(t)
	code, body := f.get("/events")
	if code != 200 {
		t.Fatal(code)
	}
	must(t, body, "No webhook received yet", "hookd sign -provider github", "/hooks/github", "http://"+f.e.Addr(),
		`href="/events" aria-current="page">Events<`, ">Failed<", ">Rules<", ">Overview<", ">Try<", `data-stream="/events/stream?"`)
	for _, p := range []string{"/failed", "/overview", "/rules", "/try"} {
		if code, body := f.get(p); code != 200 || !strings.Contains(body, `aria-current="page"`) {
			t.Fatalf("%s: %d\n%s", p, code, body)
		}
	}
}

func TestEventsFilters(t *testing.T) {
	f := seeded(t)
	for _, tc := range []struct {
		query, ids string
		code       int
		also       string
	}{
		{"", "4,3,2,1", 200, "d-4"},
		{"source=github", "4,3,2,1", 200, ""},
		{"source=other", "", 200, "No event matches these filters"},
		{"rule=deploy", "2,1", 200, ""},
		{"rule=notify", "3", 200, ""},
		{"state=failed", "2", 200, `<option selected>failed</option>`},
		{"state=done", "3,1", 200, ""},
		{"state=ignored", "4", 200, ""},
		{"state=accepted", "3,2,1", 200, `data-stream="/events/stream?state=accepted"`},
		{"status=failed", "2", 200, `<option selected>failed</option>`}, // the former name, in older links
		{"status=failed&state=failed", "2", 200, ""},
		{"status=done&state=failed", "", 400, "state=failed and status=done disagree"},
		{"since=1h", "4,3,2,1", 200, ""},
		{"until=2000-01-01", "", 200, "No event matches"},
		{"since=2000-01-01&until=1h", "", 200, ""},
		{"delivery=d-2", "2", 200, ""},
		{"delivery=d-2&source=other", "", 200, ""},
		{"delivery=nope", "", 200, ""},
		{"since=yesterday", "", 400, "since: &#34;yesterday&#34; is not a time"},
		{"state=bogus", "", 400, "unknown state &#34;bogus&#34;: the states are accepted, ignored"},
		{"stat=failed", "", 400, "an unknown filter &#34;stat&#34;: the events page filters by source, rule, state, since, until and delivery"},
		{"source=github&utm_source=x&page=2", "", 400, "unknown filters &#34;page&#34;, &#34;utm_source&#34;:"},
		{"before=x", "", 400, "before: &#34;x&#34; is not an event id"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			code, body := f.get("/events?" + tc.query)
			if code != tc.code || rowIDs(body) != tc.ids || !strings.Contains(body, tc.also) {
				t.Fatalf("%d rows %q, want %d %q and %q\n%s", code, rowIDs(body), tc.code, tc.ids, tc.also, body)
			}
		})
	}
}

func TestEventsPagesByCursor(t *testing.T) {
	f := start(t)
	for i := range 53 {
		f.send("ping", fmt.Sprintf("p-%d", i), `{}`)
	}
	_, body := f.get("/events")
	if n := len(rowRE.FindAllString(body, -1)); n != 50 {
		t.Fatalf("%d rows on the first page", n)
	}
	m := regexp.MustCompile(`href="(/events\?before=\d+)" rel="next"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no next link:\n%s", body)
	}
	_, body = f.get(strings.ReplaceAll(m[1], "&amp;", "&"))
	if rowIDs(body) != "3,2,1" || strings.Contains(body, `rel="next"`) || strings.Contains(body, "data-stream") {
		t.Fatalf("second page %q:\n%s", rowIDs(body), body)
	}
}

func TestEventPageExplainsAndShowsJobs(t *testing.T) {
	f := seeded(t)
	code, body := f.get("/events/4")
	if code != 200 {
		t.Fatal(code)
	}
	// The rule that did not match: the false part of when, and the value seen.
	must(t, body, "✗ not matched", "<code>deploy</code>", "body.ref is &#34;refs/heads/dev&#34;",
		`<span class="k">&#34;ref&#34;</span>: <span class="s">&#34;refs/heads/dev&#34;</span>`, `/events/4/body`, "x-github-delivery")
	mustNot(t, body, "Replay all matched rules") // it matched nothing

	_, body = f.get("/events/2")
	must(t, body, "✓ matched", ">failed<", "deploying fail", "exit 1", "on_failure action 1 (shell)", "cleaning up after deploy", "Replay all matched rules", "/events/2/replay?rule=deploy")

	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, httptest.NewRequest("GET", "/events/1/body", nil))
	if w.Code != 200 || w.Body.String() != push("refs/heads/main", "abc123") || !strings.Contains(w.Header().Get("Content-Disposition"), "event-1.json") {
		t.Fatalf("body download: %d %q %v", w.Code, w.Body.String(), w.Header())
	}
	for _, p := range []string{"/events/99", "/events/99/body"} {
		if code, _ := f.get(p); code != 404 {
			t.Fatalf("%s: %d", p, code)
		}
	}
	if code, _ := f.get("/events/x"); code != 400 {
		t.Fatalf("/events/x: %d", code)
	}
}

func TestReplayAsksThenQueues(t *testing.T) {
	f := seeded(t)
	code, body := f.get("/events/1/replay?rule=deploy")
	must(t, body, `action="/events/1/replay"`, `name="rule" value="deploy"`, "Yes, run again")
	if code != 200 || len(f.jobsOf(1)) != 1 {
		t.Fatalf("the confirmation page ran something: %d jobs", len(f.jobsOf(1)))
	}
	code, body, loc := f.post("/events/1/replay", url.Values{"rule": {"deploy"}})
	if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/events/1?replayed=") {
		t.Fatalf("%d %q\n%s", code, loc, body)
	}
	f.waitFinal()
	if jobs := f.jobsOf(1); len(jobs) != 2 || jobs[1].State != "done" {
		t.Fatalf("jobs after replay: %+v", jobs)
	}
	_, body = f.get(loc)
	must(t, body, "Replayed: queued job 4 for deploy", "Attempt 1")
	// The message names only jobs of the event: a link cannot put words there.
	_, body = f.get("/events/1?replayed=1,xyz,99")
	must(t, body, "Replayed: queued job 1 for deploy</p>")

	code, body, _ = f.post("/events/4/replay", nil)
	if code != http.StatusConflict || !strings.Contains(body, "matched no rule") {
		t.Fatalf("replay of an ignored event: %d\n%s", code, body)
	}
	code, body, _ = f.post("/events/1/replay", url.Values{"rule": {"notify"}})
	if code != http.StatusConflict || !strings.Contains(body, "did not match rule") {
		t.Fatalf("replay of a rule the event did not match: %d\n%s", code, body)
	}
}

func TestFailedAndReplayAllSince(t *testing.T) {
	f := seeded(t)
	_, body := f.get("/failed")
	must(t, body, `href="/events/2">d-2<`, "<code>deploy</code>", "exit status 1")
	mustNot(t, body, "d-1<")
	code, body := f.get("/failed/replay?since=1h")
	must(t, body, "Run these 1 failed jobs again", "event 2 (github d-2): deploy", `name="since"`)
	if code != 200 {
		t.Fatal(code)
	}
	since := regexp.MustCompile(`name="since" value="([^"]+)"`).FindStringSubmatch(body)[1]
	code, _, loc := f.post("/failed/replay", url.Values{"since": {since}})
	if code != http.StatusSeeOther || loc != "/failed?replayed=1" {
		t.Fatalf("%d %q", code, loc)
	}
	_, body = f.get(loc)
	must(t, body, "1 jobs queued again.")
	f.waitFinal()
	if jobs := f.jobsOf(2); len(jobs) != 2 || jobs[1].State != "failed" {
		t.Fatalf("jobs %+v", jobs)
	}
	// Both failed, but only the newest job of the rule counts: one replay.
	_, body = f.get("/failed/replay?since=1h")
	must(t, body, "Run these 1 failed jobs again")
	if code, body := f.get("/failed/replay?since=soon"); code != 400 || !strings.Contains(body, "is not a time") {
		t.Fatalf("%d %s", code, body)
	}
}

func TestRulesPage(t *testing.T) {
	f := seeded(t)
	// A replay that fails again is the same failed event, not a second one.
	if code, _, _ := f.post("/events/2/replay", url.Values{"rule": {"deploy"}}); code != http.StatusSeeOther {
		t.Fatalf("replay: %d", code)
	}
	f.waitFinal()
	_, body := f.get("/rules")
	rulesFile := filepath.Join(f.e.Config().RulesDir, "rules.yaml")
	must(t, body, "<code>/<wbr>hooks/<wbr>github</code>", ">github<", ">none<", "anyone",
		`<code>event == &#34;push&#34; &amp;&amp; body.ref == &#34;refs/heads/main&#34;</code>`,
		`class="num">2</td><td data-label="Failed 24 h" class="num bad-text">1</td>`, // deploy: 2 events matched, 1 failed
		`<span class="badge ok">loaded</span>`, `<code class="brief">shell sh -c echo deploying $0; test &#34;$0&#34; != fail {{ body.after }}</code>`,
		// Where each is defined: relative to the rules directory, in full on hover.
		`<td data-label="Defined at" class="at" title="`+rulesFile+`">rules.yaml:3</td>`, `<td data-label="Defined at" class="at" title="`+rulesFile+`">rules.yaml:10</td>`)
}

func TestOverviewPage(t *testing.T) {
	f := seeded(t)
	if code, _, _ := f.post("/events/2/replay", url.Values{"rule": {"deploy"}}); code != http.StatusSeeOther {
		t.Fatalf("replay: %d", code)
	}
	f.waitFinal()
	_, body := f.get("/overview")
	must(t, body, `href="/events?rule=deploy&amp;state=failed">deploy</a></th><td class="num bad-text">1</td>`, "<svg", "<polyline", "github: 4", "4 deliveries", `href="/events?rule=deploy&amp;state=failed">deploy</a>`, `href="/events?state=failed&amp;since=24h">1</a>`,
		">waiting to retry<", "deploy #1 (shell)")
	for _, state := range []string{"done", "failed", "ignored"} {
		must(t, body, `<span class="badge `+stateClass(state)+`">`+state+`</span>`)
	}
}

func TestTryPage(t *testing.T) {
	f := seeded(t)
	code, body, _ := f.post("/try", url.Values{"source": {"github"}, "headers": {"Content-Type: application/json\nX-GitHub-Event: push"},
		"body": {push("refs/heads/dev", "x")}})
	if code != 200 {
		t.Fatal(code, body)
	}
	must(t, body, "✗ not matched", "body.ref is &#34;refs/heads/dev&#34;", "event <code>push</code>")
	_, body, _ = f.post("/try", url.Values{"source": {"github"}, "headers": {"X-GitHub-Event: push\nContent-Type: application/json"},
		"body": {push("refs/heads/main", "x")}})
	must(t, body, "✓ matched", `would run action 1: <code>{&#34;command&#34;:[&#34;sh&#34;,<wbr>&#34;-c&#34;,<wbr>&#34;echo deploying $0; test \&#34;$0\&#34; != fail&#34;,<wbr>&#34;x&#34;],<wbr>&#34;kind&#34;:&#34;shell&#34;}</code>`)
	if n := len(f.jobsOf(1)); n != 1 {
		t.Fatalf("a dry run queued something: %d jobs", n)
	}
	code, body, _ = f.post("/try", url.Values{"source": {"github"}, "headers": {"no colon"}})
	if code != 400 || !strings.Contains(body, "write one header a line") {
		t.Fatalf("%d %s", code, body)
	}
	code, body, _ = f.post("/try", url.Values{"source": {"nope"}})
	if code != 400 || !strings.Contains(body, "no source") {
		t.Fatalf("%d %s", code, body)
	}
}

func TestLiveStreamSendsNewRows(t *testing.T) {
	f := seeded(t)
	srv := httptest.NewServer(f.h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/events/stream?source=github&after=4")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatal(resp.Header)
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		f.send("issues", "live-1", `{"action":"closed"}`)
	}()
	got := readSSE(t, resp.Body, "live-1")
	must(t, got, "event: row", "id: 5", `data: <tr data-id="5">`)
	mustNot(t, got, `data-id="4"`)

	if code, _ := f.get("/events/stream?until=1h"); code != 400 {
		t.Fatalf("a stream for a closed range: %d", code)
	}
}

func TestRulesPageShowsWarningsAndAFailedReload(t *testing.T) {
	f := start(t)
	_, body := f.get("/rules")
	must(t, body, "<h3>Warnings</h3>", "rules.yaml:8:", "accepts unsigned requests (provider: none)")
	rulesFile := filepath.Join(f.e.Config().RulesDir, "rules.yaml")
	if err := os.WriteFile(rulesFile, []byte(rulesYAML+"  - name: broken\n    source: github\n    when: body.ref ==\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := f.e.Reload(); err == nil {
		t.Fatal("the reload of a broken file succeeded")
	}
	_, body = f.get("/rules")
	must(t, body, `<span class="badge bad">failed</span> the previous configuration stays in force`, "rules.yaml:22:", `/events?rule=deploy">deploy</a>`)
}

// A sender without event types (provider none here, Slack slash commands in
// life) shows a dash that says why, not an empty cell.
func TestNoEventTypeShowsADash(t *testing.T) {
	f := start(t)
	resp, err := http.Post(f.url+"/hooks/other", "application/x-www-form-urlencoded", strings.NewReader("command=%2Fuptime&text="))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	f.waitFinal()
	const dash = `<span class="none" title="This sender sends no event type (Slack slash commands send none); a source's event: expression can derive one">—</span>`
	_, body := f.get("/events")
	must(t, body, `<td class="ev">`+dash+`</td>`)
	_, body = f.get("/events/1")
	must(t, body, `<dt>Event</dt><dd>`+dash+`</dd>`)
	_, body, _ = f.post("/try", url.Values{"source": {"other"}, "body": {"command=%2Fuptime"}})
	must(t, body, "Source other: event "+dash+", delivery id")

	f.send("push", "d-1", push("refs/heads/dev", "x"))
	_, body = f.get("/events")
	must(t, body, `<td class="ev">push</td>`)
}

func TestBreakableEscapes(t *testing.T) {
	for in, want := range map[string]string{
		"/etc/hookd/rules.d/a.yaml:3": "/<wbr>etc/<wbr>hookd/<wbr>rules.d/<wbr>a.yaml:3",
		`<b a="1">,x&y`:               `&lt;b a=&#34;1&#34;&gt;,<wbr>x&amp;y`,
		"APPLICATION_COMMAND":         "APPLICATION_COMMAND",
	} {
		if got := string(breakable(in)); got != want {
			t.Errorf("breakable(%q) = %q, want %q", in, got, want)
		}
	}
}

// The event page and Try show values as sent: <, > and & escaped for HTML
// only, never as json.Marshal's \u003c, \u003e and \u0026.
func TestValuesShowAsSent(t *testing.T) {
	f := start(t)
	b := `{"ref":"refs/heads/a&b<c>","head_commit":{"message":"<script>alert(1)</script> & \"quote\""}}`
	f.send("push", "d-1", b)
	f.waitFinal()
	_, body := f.get("/events/1")
	must(t, body, "body.ref is &#34;refs/heads/a&amp;b&lt;c&gt;&#34;",
		`<span class="s">&#34;&lt;script&gt;alert(1)&lt;/script&gt; &amp; \&#34;quote\&#34;&#34;</span>`)
	mustNot(t, body, `\u00`, "<script>alert")
	_, body, _ = f.post("/try", url.Values{"source": {"github"}, "headers": {"X-GitHub-Event: push"}, "body": {b}})
	must(t, body, "body.ref is &#34;refs/heads/a&amp;b&lt;c&gt;&#34;")
	mustNot(t, body, `\u00`, "<script>alert")
}
